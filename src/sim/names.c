/* names.c - the preferred friendly names Alexa proposes for a new device.
 *
 * Alexa knows every device in a home, so it proposes a name nobody uses yet:
 * "First Switch", then "Second Switch". We take the device's first naming
 * category, turn it into a word, and pick the first ordinal whose name is not
 * taken by another association or discovered endpoint of the same customer.
 * Past "Tenth" the name becomes "Switch 11". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "sim/internal.h"

static const struct {
    const char *category;
    const char *word;
} words[] = {
    {"LIGHT", "Light"},
    {"SWITCH", "Switch"},
    {"SMARTPLUG", "Plug"},
    {"THERMOSTAT", "Thermostat"},
    {"TEMPERATURE_SENSOR", "Sensor"},
    {"CONTACT_SENSOR", "Sensor"},
    {"MOTION_SENSOR", "Sensor"},
    {"SMARTLOCK", "Lock"},
    {"CAMERA", "Camera"},
    {"DOORBELL", "Doorbell"},
    {"FAN", "Fan"},
    {"SPEAKER", "Speaker"},
    {"TV", "TV"},
    {"INTERIOR_BLIND", "Blind"},
    {"EXTERIOR_BLIND", "Blind"},
    {"GARAGE_DOOR", "Garage Door"},
    {"DOOR", "Door"},
    {"AIR_PURIFIER", "Air Purifier"},
    {"COFFEE_MAKER", "Coffee Maker"},
    {"VACUUM_CLEANER", "Vacuum"},
    {"AIR_CONDITIONER", "Air Conditioner"},
    {"WATER_HEATER", "Water Heater"},
    {"OVEN", "Oven"},
    {"MICROWAVE", "Microwave"},
    {"PRINTER", "Printer"},
    {"ROUTER", "Router"},
    {"HUB", "Hub"},
};

static const char *const ordinals[] = {"First", "Second",  "Third",  "Fourth", "Fifth",
                                       "Sixth", "Seventh", "Eighth", "Ninth",  "Tenth"};

static const char *category_word(const char *category)
{
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcmp(words[i].category, category) == 0)
            return words[i].word;
    return "Device";
}

const char *sim_names_locale(const char *marketplace)
{
    static const struct {
        const char *mp, *locale;
    } map[] = {{"US", "en-US"}, {"CA", "en-CA"}, {"UK", "en-GB"}, {"GB", "en-GB"}, {"IE", "en-IE"},
               {"AU", "en-AU"}, {"IN", "en-IN"}, {"DE", "de-DE"}, {"FR", "fr-FR"}, {"IT", "it-IT"},
               {"ES", "es-ES"}, {"MX", "es-MX"}, {"BR", "pt-BR"}, {"JP", "ja-JP"}};
    for (size_t i = 0; marketplace && i < sizeof map / sizeof *map; i++)
        if (strcmp(map[i].mp, marketplace) == 0)
            return map[i].locale;
    return "en-US";
}

/* Every friendly name in use in the customer's home, as a JSON object used as a set. */
static json_t *names_in_use(sim *s, const char *customer_id)
{
    json_t *set = json_object();
    sqlite3_stmt *st = wss_db_prepare(s->db,
                                      "SELECT friendly_name FROM associations WHERE customer_id = ?"
                                      " AND friendly_name IS NOT NULL AND state NOT IN ('expired', 'refused', 'failed')"
                                      " UNION SELECT friendly_name FROM alexa_endpoints WHERE customer_id = ?",
                                      "tt", customer_id, customer_id);
    while (st && sqlite3_step(st) == SQLITE_ROW)
        json_object_set_new(set, (const char *)sqlite3_column_text(st, 0), json_true());
    sqlite3_finalize(st);
    return set;
}

char *sim_names_next(sim *s, const char *customer_id, const char *category)
{
    const char *word = category_word(category);
    json_t *taken = names_in_use(s, customer_id);
    char name[128];
    char *out = NULL;
    for (int i = 0; !out && i <= (int)json_object_size(taken); i++) {
        if (i < 10)
            snprintf(name, sizeof name, "%s %s", ordinals[i], word);
        else
            snprintf(name, sizeof name, "%s %d", word, i + 1);
        if (!json_object_get(taken, name))
            out = strdup(name);
    }
    json_decref(taken);
    return out;
}

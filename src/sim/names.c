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
    {"LIGHT", "Light"}, {"SWITCH", "Switch"}, {"SMARTPLUG", "Plug"}, {"THERMOSTAT", "Thermostat"},
    {"TEMPERATURE_SENSOR", "Sensor"}, {"CONTACT_SENSOR", "Sensor"}, {"MOTION_SENSOR", "Sensor"},
    {"SMARTLOCK", "Lock"}, {"CAMERA", "Camera"}, {"DOORBELL", "Doorbell"}, {"FAN", "Fan"},
    {"SPEAKER", "Speaker"}, {"TV", "TV"}, {"INTERIOR_BLIND", "Blind"}, {"EXTERIOR_BLIND", "Blind"},
    {"GARAGE_DOOR", "Garage Door"}, {"DOOR", "Door"}, {"AIR_PURIFIER", "Air Purifier"},
    {"COFFEE_MAKER", "Coffee Maker"}, {"VACUUM_CLEANER", "Vacuum"}, {"AIR_CONDITIONER", "Air Conditioner"},
    {"WATER_HEATER", "Water Heater"}, {"OVEN", "Oven"}, {"MICROWAVE", "Microwave"}, {"PRINTER", "Printer"},
    {"ROUTER", "Router"}, {"HUB", "Hub"},
};

static const char *const ordinals[] = {"First", "Second", "Third", "Fourth", "Fifth",
                                       "Sixth", "Seventh", "Eighth", "Ninth", "Tenth"};

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

static int name_taken(sim *s, const char *customer_id, const char *name)
{
    sqlite3_stmt *st = wss_db_prepare(s->db,
                                      "SELECT 1 FROM associations WHERE customer_id = ? AND friendly_name = ?"
                                      " AND state NOT IN ('expired', 'refused', 'failed')"
                                      " UNION ALL SELECT 1 FROM alexa_endpoints WHERE customer_id = ? AND friendly_name = ?",
                                      "tttt", customer_id, name, customer_id, name);
    int taken = !st || sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return taken;
}

char *sim_names_next(sim *s, const char *customer_id, const char *category)
{
    const char *word = category_word(category);
    char name[128];
    for (int i = 0; i < 1000; i++) {
        if (i < 10)
            snprintf(name, sizeof name, "%s %s", ordinals[i], word);
        else
            snprintf(name, sizeof name, "%s %d", word, i + 1);
        if (!name_taken(s, customer_id, name))
            return strdup(name);
    }
    return NULL;
}

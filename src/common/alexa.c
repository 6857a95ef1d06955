/* alexa.c - the identifiers and vocabularies of Alexa messages that both the
 * emulator and the maker cloud check: endpoint and device ids, message ids,
 * display categories and ErrorResponse types. */
#include "common/alexa.h"

#include <string.h>

static const char *const display_categories[] = {
    /* The 34 of the public message schema. */
    "ACTIVITY_TRIGGER",
    "CAMERA",
    "COMPUTER",
    "CONTACT_SENSOR",
    "DOOR",
    "DOORBELL",
    "EXTERIOR_BLIND",
    "FAN",
    "GAME_CONSOLE",
    "GARAGE_DOOR",
    "INTERIOR_BLIND",
    "LAPTOP",
    "LIGHT",
    "MICROWAVE",
    "MOBILE_PHONE",
    "MOTION_SENSOR",
    "MUSIC_SYSTEM",
    "NETWORK_HARDWARE",
    "OTHER",
    "OVEN",
    "PHONE",
    "SCENE_TRIGGER",
    "SCREEN",
    "SECURITY_PANEL",
    "SMARTLOCK",
    "SMARTPLUG",
    "SPEAKER",
    "STREAMING_DEVICE",
    "SWITCH",
    "TABLET",
    "TEMPERATURE_SENSOR",
    "THERMOSTAT",
    "TV",
    "WEARABLE",
    /* The 15 more of the discovery documentation. */
    "AIR_CONDITIONER",
    "AIR_FRESHENER",
    "AIR_PURIFIER",
    "AUTO_ACCESSORY",
    "CHRISTMAS_TREE",
    "COFFEE_MAKER",
    "HEADPHONES",
    "HUB",
    "PRINTER",
    "REMOTE",
    "ROUTER",
    "SECURITY_SYSTEM",
    "SLOW_COOKER",
    "VACUUM_CLEANER",
    "WATER_HEATER",
};

static const char *const alexa_error_types[] = {
    "ALREADY_IN_OPERATION",
    "BRIDGE_UNREACHABLE",
    "CLOUD_CONTROL_DISABLED",
    "ENDPOINT_BUSY",
    "ENDPOINT_LOW_POWER",
    "ENDPOINT_UNREACHABLE",
    "EXPIRED_AUTHORIZATION_CREDENTIAL",
    "FIRMWARE_OUT_OF_DATE",
    "HARDWARE_MALFUNCTION",
    "HDMI_CEC_DISABLED_ON_DEVICE",
    "HDMI_CEC_NOT_PRESENT",
    "INSUFFICIENT_PERMISSIONS",
    "INTERNAL_ERROR",
    "INVALID_AUTHORIZATION_CREDENTIAL",
    "INVALID_DIRECTIVE",
    "INVALID_VALUE",
    "NO_SUCH_ENDPOINT",
    "NOT_CALIBRATED",
    "NOT_IN_OPERATION",
    "NOT_SUPPORTED_IN_CURRENT_MODE",
    "PARTNER_OUTAGE",
    "POWER_LEVEL_NOT_SUPPORTED",
    "RATE_LIMIT_EXCEEDED",
    "TEMPERATURE_VALUE_OUT_OF_RANGE",
    "TOO_MANY_FAILED_ATTEMPTS",
    "VALUE_OUT_OF_RANGE",
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static int ascii_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int wss_alexa_id_char(unsigned char c) { return ascii_alnum(c) || (c != '\0' && strchr(" _-=#;:?@&", c) != NULL); }

static int message_id_char(unsigned char c) { return ascii_alnum(c) || c == '-' || c == '_' || c == '.'; }

static int in_list(const char *s, const char *const *list, size_t count)
{
    if (!s)
        return 0;
    for (size_t i = 0; i < count; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

int wss_alexa_id_valid(const char *id)
{
    size_t n;
    if (!id)
        return 0;
    for (n = 0; id[n]; n++)
        if (n >= WSS_ALEXA_ID_MAX || !wss_alexa_id_char((unsigned char)id[n]))
            return 0;
    return n > 0;
}

int wss_alexa_message_id_valid(const char *id)
{
    size_t n;
    if (!id)
        return 0;
    for (n = 0; id[n]; n++)
        if (n >= WSS_ALEXA_MESSAGE_ID_MAX || !message_id_char((unsigned char)id[n]))
            return 0;
    return n > 0;
}

int wss_alexa_display_category_known(const char *category)
{
    return in_list(category, display_categories, COUNT_OF(display_categories));
}

int wss_alexa_error_type_known(const char *type)
{
    return in_list(type, alexa_error_types, COUNT_OF(alexa_error_types));
}

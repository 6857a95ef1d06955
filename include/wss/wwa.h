/* wwa.h - the Works with Alexa compliance engine: events in, badge state out.
 *
 * One engine watches one product: the WWA-certified devices and the ASINs
 * that share its badge. It is fed timestamped events (availability probe
 * samples, directive outcomes per skill, security incidents, audits and
 * reinstatement requests, product checklist attestations) in any order, and
 * answers "what is the state at instant t" from the events at or before t
 * only. The engine is pure and deterministic: the same set of events gives
 * the same answers whatever order they were added in. Times are milliseconds
 * since 1970-01-01T00:00:00Z (UTC); years 1970 to 9999 are accepted.
 *
 * The rules and our precise definitions of the seed's words are in
 * docs/wwa.md; the comments below name them briefly. */
#ifndef WSS_WWA_H
#define WSS_WWA_H

#include <stddef.h>

#include "wss/err.h"

/* The seed's fixed numbers. */
#define WSS_WWA_TARGET_PERMYRIAD 9993  /* 99.93 % availability per calendar year and month */
#define WSS_WWA_MAX_OUTAGES 5          /* outages per calendar year */
#define WSS_WWA_ISRE_MAX_PERMYRIAD 300 /* INVALID_SKILL_RESPONSE_EXCEPTION share: 3 % */
#define WSS_WWA_ISRE_WINDOW_MS (30LL * 86400000)
#define WSS_WWA_ISRE_MITIGATE_MS (90LL * 86400000)
#define WSS_WWA_HIGH_AFFECTED 10000        /* "more than 10,000 devices or customers" */
#define WSS_WWA_HIGH_DURATION_MS 3600000LL /* "lasting for over one hour" */
#define WSS_WWA_REINSTATE_MONTHS 3

/* Bounds of the identifiers an event carries (bytes, NUL included). */
#define WSS_WWA_ID_MAX 128
#define WSS_WWA_ASIN_MAX 16
#define WSS_WWA_MARKET_MAX 16
#define WSS_WWA_NOTE_MAX 256

/* ------------------------------------------------------------ configuration */

typedef struct wss_wwa_config {
    /* Two stretches of downtime whose up gap is shorter than this are one
     * outage (default 300000: five minutes). 0 merges nothing. */
    long long outage_merge_gap_ms;
    /* Warn when the year's downtime reaches this share of the allowance, in
     * 1/10000 (default 8000: 80 %). */
    int warn_downtime_permyriad;
    /* Warn when the year's outages reach this count (default 4 of 5). */
    int warn_outages;
    /* Warn when a skill's 30-day invalid share reaches this, in 1/10000
     * (default 250: 2.5 %). */
    int warn_isre_permyriad;
    /* Timely-fix deadlines after a low and a medium incident (defaults 90
     * and 30 days; docs/wwa.md says why). */
    long long fix_low_ms;
    long long fix_medium_ms;
} wss_wwa_config;

/* Fills c with the defaults above. */
void wss_wwa_config_default(wss_wwa_config *c);

/* ------------------------------------------------------------ events */

typedef enum wss_wwa_event_kind {
    WSS_WWA_PROBE = 0,         /* an availability sample: up or down */
    WSS_WWA_DIRECTIVE,         /* one directive outcome of a skill: valid or invalid */
    WSS_WWA_INCIDENT,          /* a security incident and its facts */
    WSS_WWA_INCIDENT_FIXED,    /* the fix of an incident was applied */
    WSS_WWA_AUDIT,             /* an independent lab's full security audit confirmed the remediation */
    WSS_WWA_REINSTATE_REQUEST, /* the maker asked Amazon to reinstate the badge */
    WSS_WWA_ATTESTATION,       /* someone attested one product check of one ASIN */
    WSS_WWA_EVENT__COUNT
} wss_wwa_event_kind;

/* How far unauthorized access went (the seed's severity words). */
typedef enum wss_wwa_access {
    WSS_WWA_ACCESS_NONE = 0,    /* no unauthorized access possible */
    WSS_WWA_ACCESS_POTENTIAL,   /* "could potentially lead to unauthorized access" */
    WSS_WWA_ACCESS_LIMITED,     /* unauthorized access to individual device settings or preferences */
    WSS_WWA_ACCESS_SIGNIFICANT, /* "significant unauthorized access to sensitive user data ... or device controls" */
} wss_wwa_access;

/* What customer data was exposed. */
typedef enum wss_wwa_data {
    WSS_WWA_DATA_NONE = 0,
    WSS_WWA_DATA_MINOR,     /* "minor data exposure": device settings, user preferences */
    WSS_WWA_DATA_SENSITIVE, /* "sensitive user data, including personal information" */
} wss_wwa_data;

typedef struct wss_wwa_incident_facts {
    wss_wwa_access access;
    wss_wwa_data data;
    long long affected;    /* devices or customers affected (the larger count) */
    long long duration_ms; /* how long the exposure lasted */
    int remote_control;    /* complete remote control of devices by unauthorized parties */
    int safety_risk;       /* posed significant safety risks */
    int surveillance;      /* allowed surveillance or manipulation of smart home systems */
} wss_wwa_incident_facts;

typedef enum wss_wwa_severity {
    WSS_WWA_LOW = 0,
    WSS_WWA_MEDIUM,
    WSS_WWA_HIGH,
    WSS_WWA_CRITICAL,
} wss_wwa_severity;

/* The product checks of one ASIN (seed, "Product requirements"). */
typedef enum wss_wwa_check {
    WSS_WWA_CHECK_ASIN_AVAILABLE = 0, /* the ASIN is available in the marketplace requested */
    WSS_WWA_CHECK_BRAND,              /* the detail page's brand matches the certified device */
    WSS_WWA_CHECK_MODEL,              /* the detail page's model number matches */
    WSS_WWA_CHECK_IMAGE,              /* the detail page's product image matches */
    WSS_WWA_CHECK_HUB,                /* the hub ASIN is the one certified (n/a without a hub) */
    WSS_WWA_CHECK_SKILL_AVAILABLE,    /* the skill is in the marketplace's skill store (n/a without a skill) */
    WSS_WWA_CHECK__COUNT
} wss_wwa_check;

typedef enum wss_wwa_result {
    WSS_WWA_PASS = 0,
    WSS_WWA_FAIL,
    WSS_WWA_NOT_APPLICABLE, /* only for the hub and skill checks */
} wss_wwa_result;

/* One event. Only the fields of its kind are read; strings are NUL-terminated. */
typedef struct wss_wwa_event {
    wss_wwa_event_kind kind;
    long long at_ms;
    int up;                          /* PROBE: 1 up, 0 down */
    int valid;                       /* DIRECTIVE: 1 valid, 0 INVALID_SKILL_RESPONSE_EXCEPTION */
    char skill[WSS_WWA_ID_MAX];      /* DIRECTIVE: the skill id */
    char id[WSS_WWA_ID_MAX];         /* INCIDENT, INCIDENT_FIXED: the incident id */
    wss_wwa_incident_facts facts;    /* INCIDENT */
    char who[WSS_WWA_ID_MAX];        /* ATTESTATION: who attested; AUDIT: the lab; REINSTATE_REQUEST: who asked */
    char asin[WSS_WWA_ASIN_MAX];     /* ATTESTATION */
    char market[WSS_WWA_MARKET_MAX]; /* ATTESTATION: the marketplace ("US", "DE"...) */
    wss_wwa_check check;             /* ATTESTATION */
    wss_wwa_result result;           /* ATTESTATION */
    char note[WSS_WWA_NOTE_MAX];     /* ATTESTATION, INCIDENT: free text, may be empty */
} wss_wwa_event;

/* ------------------------------------------------------------ the engine */

typedef struct wss_wwa wss_wwa;

/* A new, empty engine; cfg NULL means the defaults. WSS_ERR_INVALID when a
 * configured value is out of range (negative gaps or deadlines, shares
 * outside 0..10000, warn_outages outside 1..5). */
wss_err wss_wwa_new(const wss_wwa_config *cfg, wss_wwa **out);
void wss_wwa_free(wss_wwa *e);

/* Adds one event. WSS_ERR_INVALID for a time outside 1970..9999, an empty or
 * unterminated identifier, an out-of-range enum, a negative count or
 * duration, or n/a on a check other than hub and skill; WSS_ERR_EXISTS for a
 * second incident with the same id; WSS_ERR_NOMEM. Nothing is added on failure. */
wss_err wss_wwa_add(wss_wwa *e, const wss_wwa_event *ev);

/* Shorthands for the two high-volume kinds. */
wss_err wss_wwa_probe(wss_wwa *e, long long at_ms, int up);
wss_err wss_wwa_directive(wss_wwa *e, long long at_ms, const char *skill, int valid);

/* The severity the seed's definitions give these facts (docs/wwa.md). */
wss_wwa_severity wss_wwa_classify(const wss_wwa_incident_facts *f);

/* ------------------------------------------------------------ the state at an instant */

typedef enum wss_wwa_reason_kind {
    WSS_WWA_REASON_AVAILABILITY = 0, /* yearly downtime or outages crossed */
    WSS_WWA_REASON_ISRE,             /* a skill's breach not mitigated within 90 days */
    WSS_WWA_REASON_SECURITY,         /* a second high incident in a year, or a critical one */
} wss_wwa_reason_kind;

/* Why the badge is removed, one per active cause. */
typedef struct wss_wwa_reason {
    wss_wwa_reason_kind kind;
    long long since_ms;           /* when it was removed for this cause */
    char subject[WSS_WWA_ID_MAX]; /* ISRE: the skill; SECURITY: the incident id; else "" */
    char text[256];               /* one line for people: what happened and what lifts it */
} wss_wwa_reason;

typedef struct wss_wwa_warning {
    char text[256];
} wss_wwa_warning;

/* Availability in the calendar year of the instant. */
typedef struct wss_wwa_availability {
    int year;
    long long year_ms;      /* length of the year: 365 or 366 days */
    long long allowance_ms; /* (1 - 0.9993) x year_ms */
    long long downtime_ms;  /* downtime from 1 January 00:00 to the instant */
    long long left_ms;      /* allowance_ms - downtime_ms, 0 when spent */
    double percent;         /* availability so far in the year: 100 x (1 - downtime / elapsed) */
    int outages;            /* outages overlapping the year, up to the instant */
    int down_now;           /* the latest sample says down */
    int warn_downtime, warn_outages;
    int breach_downtime, breach_outages;
    long long breach_downtime_at_ms, breach_outages_at_ms; /* crossing instants, -1 when none */
    int compliant_months;       /* while removed for availability: consecutive compliant months counted so far */
    long long reinstated_at_ms; /* the last reinstatement after an availability removal, -1 when none */
} wss_wwa_availability;

/* One skill's INVALID_SKILL_RESPONSE_EXCEPTION share over the rolling 30 days. */
typedef struct wss_wwa_skill_state {
    char skill[WSS_WWA_ID_MAX];
    long long total, invalid;  /* directives in (t - 30 days, t] */
    double percent;            /* 100 x invalid / total, 0 without traffic */
    int breach;                /* invalid x 100 > 3 x total */
    int warn;                  /* share at or above warn_isre_permyriad, or in breach */
    long long breach_start_ms; /* start of the breach in progress, -1 when none */
    long long deadline_ms;     /* breach_start_ms + 90 days, -1 when none */
    int removed;               /* the deadline passed with the breach in progress */
} wss_wwa_skill_state;

typedef struct wss_wwa_incident_state {
    char id[WSS_WWA_ID_MAX];
    long long at_ms;
    wss_wwa_severity severity;
    long long fix_deadline_ms; /* low and medium: at_ms + the configured delay; else -1 */
    long long fixed_at_ms;     /* the first fix recorded at or before the instant, -1 when none */
    int overdue;               /* low or medium, not fixed by its deadline, deadline passed */
    int removal;               /* this incident removed the badges (second high in its year, or critical) */
    int cleared;               /* that removal has been lifted (audit, and for critical a request after it) */
} wss_wwa_incident_state;

typedef struct wss_wwa_check_state {
    int attested; /* 0: nobody attested this check yet */
    wss_wwa_result result;
    long long at_ms;
    char who[WSS_WWA_ID_MAX];
    char note[WSS_WWA_NOTE_MAX];
} wss_wwa_check_state;

typedef struct wss_wwa_asin_state {
    char asin[WSS_WWA_ASIN_MAX];
    char market[WSS_WWA_MARKET_MAX];
    wss_wwa_check_state checks[WSS_WWA_CHECK__COUNT];
    int gaps; /* checks unattested or failing */
} wss_wwa_asin_state;

typedef struct wss_wwa_state {
    long long at_ms;
    int badge_held;         /* no removal reason is active */
    int requests_suspended; /* new badge requests suspended (availability removal) */
    int checklist_ok;       /* at least one ASIN, and every ASIN has all checks attested and none failing */
    wss_wwa_reason *reasons;
    size_t nreasons;
    wss_wwa_warning *warnings;
    size_t nwarnings;
    wss_wwa_availability availability;
    wss_wwa_skill_state *skills; /* sorted by skill id */
    size_t nskills;
    wss_wwa_incident_state *incidents; /* by time, then id */
    size_t nincidents;
    int high_this_year;        /* high incidents in the calendar year of the instant */
    wss_wwa_asin_state *asins; /* sorted by ASIN, then marketplace */
    size_t nasins;
    size_t checklist_gaps;
} wss_wwa_state;

/* The state at instant t from the events at or before t. The engine sorts
 * its events on the first query after additions (hence not const). out is
 * filled on success and must be released with wss_wwa_state_free(); on
 * failure (WSS_ERR_NOMEM, WSS_ERR_INVALID for t outside 1970..9999) it is
 * left empty. */
wss_err wss_wwa_state_at(wss_wwa *e, long long t, wss_wwa_state *out);
void wss_wwa_state_free(wss_wwa_state *s);

/* ------------------------------------------------------------ names and times */

const char *wss_wwa_severity_name(wss_wwa_severity s);  /* "low", "medium", "high", "critical" */
const char *wss_wwa_check_name(wss_wwa_check c);        /* "asin_available", "brand", ... */
const char *wss_wwa_result_name(wss_wwa_result r);      /* "pass", "fail", "n/a" */
const char *wss_wwa_reason_name(wss_wwa_reason_kind k); /* "availability", "isre", "security" */

/* Parses "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DDTHH:MM:SS.fffZ" (UTC only,
 * 1 to 3 fraction digits, years 1970..9999). WSS_ERR_INVALID otherwise. */
wss_err wss_wwa_parse_time(const char *text, long long *ms);
/* Writes "YYYY-MM-DDTHH:MM:SS.fffZ" (25 bytes with the NUL) into buf. */
void wss_wwa_format_time(long long ms, char buf[32]);

#endif

/* validate.h - the emulator's structural checks of Alexa messages.
 *
 * Pure functions over parsed JSON (jansson), with no state and no I/O, so that
 * they can be unit-tested exhaustively and fuzzed. They check shape, types,
 * lengths and character sets exactly as the seed documents and the public Alexa
 * message schema say; checks that need the emulator's state (is this token
 * known, was this session token issued, does the signature verify) are made by
 * the gateway after these pass.
 *
 * Every validator returns 1 when the message is acceptable and 0 when not; on
 * 0 it writes a one-line English reason into `why` (always NUL-terminated,
 * truncated to whylen). Pointers placed in an output view borrow from `root`
 * and live as long as it does. */
#ifndef WSS_SIM_VALIDATE_H
#define WSS_SIM_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

#include "common/alexa.h"

/* What kind of event a /v3/events body carries, from event.header.namespace and name. */
typedef enum sim_event_kind {
    SIM_EVENT_UNKNOWN = 0,
    SIM_EVENT_DEVICE_ASSOCIATION_REPORT, /* Alexa.SimpleSetup AddOrUpdateDeviceAssociationReport (SDAE) */
    SIM_EVENT_DISCOVERY_ADD_OR_UPDATE,   /* Alexa.Discovery AddOrUpdateReport */
    SIM_EVENT_DISCOVERY_DELETE,          /* Alexa.Discovery DeleteReport */
} sim_event_kind;

/* Classifies an event without validating the rest of it. */
sim_event_kind sim_event_classify(const json_t *root);

/* A validated SDAE, borrowed from the JSON it was read from. */
typedef struct sim_sdae {
    const char *message_id;
    const char *scope_token;         /* payload.scope.token */
    const char *session_token;       /* payload.device.sessionToken */
    const char *signature;           /* payload.device.signature (base64, not yet decoded) */
    const char *device_id;           /* payload.device.id */
    const json_t *naming_categories; /* payload.device.namingCategories, a non-empty array of known categories */
} sim_sdae;

/* Checks an AddOrUpdateDeviceAssociationReport:
 * - root is an object with "event" {"header","payload"};
 * - header: namespace "Alexa.SimpleSetup", name "AddOrUpdateDeviceAssociationReport",
 *   payloadVersion the string "3", messageId valid;
 * - payload.scope: type "BearerToken", token a non-empty string;
 * - payload.device is an object (an array or a "devices" list is refused: the
 *   gateway takes exactly one device per event) with sessionToken (1..1024 chars),
 *   signature (1..1024 chars of standard base64 alphabet), id (wss_alexa_id_valid),
 *   namingCategories (1..16 unique known display categories).
 * Unknown extra keys are ignored, as Alexa does. */
int sim_validate_sdae(const json_t *root, sim_sdae *out, char *why, size_t whylen);

/* A validated Alexa.Discovery AddOrUpdateReport or DeleteReport. */
typedef struct sim_discovery_report {
    sim_event_kind kind;
    const char *message_id;
    const char *scope_token;
    const json_t *endpoints; /* array, 1..300 entries, each validated */
} sim_discovery_report;

/* Checks an AddOrUpdateReport (each endpoint: endpointId valid; manufacturerName,
 * friendlyName, description 1..128 chars; displayCategories 1.. unique known
 * values; capabilities 1..100 objects each with type "AlexaInterface", a
 * non-empty interface and a version string or number, one of them the bare
 * "Alexa" interface; endpointIds unique within the report) or a DeleteReport
 * (each endpoint needs only a valid endpointId). Header namespace
 * "Alexa.Discovery", payloadVersion "3", messageId valid; payload.scope as in
 * the SDAE. */
int sim_validate_discovery_report(const json_t *root, sim_discovery_report *out, char *why, size_t whylen);

/* The directive a skill answered, so the judge knows what a right answer is. */
typedef enum sim_directive_kind {
    SIM_DIRECTIVE_ASSOCIATE_CUSTOMER_DEVICE, /* Alexa.SimpleSetup AssociateCustomerDevice */
    SIM_DIRECTIVE_ACCEPT_GRANT,              /* Alexa.Authorization AcceptGrant */
} sim_directive_kind;

typedef enum sim_skill_verdict {
    SIM_SKILL_RESPONSE_OK = 0,  /* well-formed success for that directive */
    SIM_SKILL_RESPONSE_ERROR,   /* well-formed error response: valid, but the skill refused */
    SIM_SKILL_RESPONSE_INVALID, /* counts as INVALID_SKILL_RESPONSE_EXCEPTION */
} sim_skill_verdict;

/* Judges the body of a skill's synchronous answer the way Alexa does (the HTTP
 * status and timeouts are judged by the caller). body need not be
 * NUL-terminated. A right answer is:
 * - for AssociateCustomerDevice: {"event":{"header":{"namespace":"Alexa",
 *   "name":"Response","payloadVersion":"3","messageId":valid,"correlationToken":
 *   equal to `correlation_token`}, "payload":{object}, "endpoint": optional
 *   object whose endpointId is valid}} with an optional top-level "context" object;
 * - for AcceptGrant: header namespace "Alexa.Authorization", name
 *   "AcceptGrant.Response", payloadVersion "3", messageId valid, payload {}.
 * A well-formed error is:
 * - for AssociateCustomerDevice: header namespace "Alexa", name "ErrorResponse",
 *   payloadVersion "3", messageId valid, correlationToken equal when present,
 *   payload {"type": one of the Alexa error types, "message": string};
 * - for AcceptGrant: header namespace "Alexa.Authorization", name "ErrorResponse",
 *   payload {"type":"ACCEPT_GRANT_FAILED","message":string}.
 * Anything else (not JSON, not an object, a wrong name, a wrong correlation
 * token, a missing field) is SIM_SKILL_RESPONSE_INVALID with the reason in why.
 * On SIM_SKILL_RESPONSE_ERROR, why holds "<type>: <message>". */
sim_skill_verdict sim_judge_skill_response(sim_directive_kind kind, const char *body, size_t len,
                                           const char *correlation_token, char *why, size_t whylen);

#endif

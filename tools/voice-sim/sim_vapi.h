/*
 * sim_vapi.h — the provider's wire format (Vapi's HTTP API), as the
 * simulator speaks it: the POST /call body it accepts, the call object it
 * answers with, its error bodies, and the server messages (webhooks) it
 * sends. docs/provider-protocol.md describes every field.
 *
 * Pure functions over plain structs and JSON: no I/O, no locks.
 */
#ifndef OUTDIAL_SIM_VAPI_H
#define OUTDIAL_SIM_VAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "sim_calls.h"
#include "sim_rules.h"

/* The id of the simulated organization, in every call object. */
#define SIM_VAPI_ORG_ID "5a4c0de0-0000-4000-8000-00000000516d"

/* A validated POST /call body. Strings are owned copies; NULL when absent. */
typedef struct sim_call_request {
    char *number;          /* customer.number, E.164 */
    char *customer_name;   /* customer.name */
    char *assistant_id;    /* assistantId (NULL with an inline assistant) */
    char *phone_number_id; /* phoneNumberId */
    char *from_number;     /* the calling number (Retell's from_number) */
    char *attempt_id;      /* metadata.attempt_id (or attemptId) */
    char *lead_id;         /* metadata.lead_id (or leadId) */
    char *campaign_id;     /* metadata.campaign_id (or campaignId) */
    char *server_url;      /* assistantOverrides.server.url, ...serverUrl, assistant.server.url */
    char *server_secret;   /* the matching secret, when the request gives one */
    json_t *metadata;      /* owned reference, or NULL */
    json_t *overrides;     /* assistantOverrides, owned reference, or NULL */
} sim_call_request_t;

/*
 * Parses and validates a POST /call body. On success fills req (free with
 * sim_call_request_clear()). On bad input returns OD_ERR_INVALID and sets
 * *problems to a JSON array of messages, one per problem found (caller
 * json_decref()s), for the 400 body.
 */
int sim_vapi_request_parse(const char *body, size_t len, sim_call_request_t *req,
                           json_t **problems) OD_WUR;
void sim_vapi_request_clear(sim_call_request_t *req);

/* Request parsing shared by the protocols: a message appended to the
 * problems array; an optional string property (NULL when absent; a wrong
 * type is a problem; the value is an owned copy); an id from metadata (a
 * string or a whole number, under its snake_case or camelCase name). */
void sim_request_problem(json_t *problems, const char *fmt, ...) OD_PRINTF(2, 3);
char *sim_request_string(const json_t *obj, const char *key, const char *path, json_t *problems);
char *sim_request_metadata_id(const json_t *metadata, const char *snake, const char *camel,
                              json_t *problems);
/* The frame of every create-call parser: parses body (req zeroed), refuses
 * a non-object and any property not in allowed (NULL-terminated), then
 * lets reader fill req from the object, adding a message to problems for
 * each problem it finds. OD_OK, or OD_ERR_INVALID with *problems_out
 * (caller json_decref()s; req cleared). sim_request_metadata reads the
 * metadata object (our attempt's ids) for a reader. */
typedef void (*sim_request_read_fn)(const json_t *root, sim_call_request_t *req, json_t *problems);
int sim_request_parse(const char *body, size_t len, const char *const *allowed,
                      sim_request_read_fn reader, sim_call_request_t *req,
                      json_t **problems_out) OD_WUR;
void sim_request_metadata(const json_t *root, sim_call_request_t *req, json_t *problems);

/* Whether s is an E.164 number: '+', a non-zero digit, 1..14 more digits. */
bool sim_vapi_e164_ok(const char *s);

/* Compares two secrets in time that depends only on the expected one's
 * length, so a timing probe learns nothing of its content. */
bool sim_secret_equal(const char *given, const char *expected);

/* Whether an Authorization header carries "Bearer <api_key>". */
bool sim_vapi_bearer_ok(const char *authorization, const char *api_key);

/* The provider's error body:
 *   {"message":<message>,"error":"Bad Request","statusCode":400}
 * message is a string or an array of strings (stolen). Caller frees. */
char *sim_vapi_error_body(int status, json_t *message);

/* The call object (answer of POST /call and GET /call/{id}, and "call" in
 * every message) with the given status; ended calls carry endedReason,
 * endedAt, cost, and analysis. Caller json_decref()s. */
json_t *sim_vapi_call_object(const sim_call_t *call, const char *status, const sim_rules_t *rules);

/* The body of one server message about call, as it was at campaign time
 * at_us (see docs/provider-protocol.md). Caller frees. */
char *sim_vapi_message(const sim_call_t *call, sim_hook_kind_t kind, int64_t at_us,
                       const sim_rules_t *rules);

/* Every JSON text the simulator writes: compact, reals with 12 significant
 * digits so that 0.36 prints as 0.36. */
#define SIM_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))

/* JSON text of a value (stolen), freed by the caller with free(). */
char *sim_json_text(json_t *value);

#endif

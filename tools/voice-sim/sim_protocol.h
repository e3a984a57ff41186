/*
 * sim_protocol.h — the provider protocols the simulator speaks, one table
 * each: Vapi's (sim_vapi.c, POST /call) and Retell's (sim_retell.c, POST
 * /v2/create-phone-call). A call remembers the protocol it was placed with;
 * everything it produces (the call object, the webhooks, their proof of
 * origin, error bodies) is in that protocol. What happens on a call (the
 * rules: outcomes, durations, variables, cost; the faults) is the same for
 * both: sim_rules.c decides it once.
 *
 * Pure functions over the call record and the rules: no I/O, no locks.
 */
#ifndef OUTDIAL_SIM_PROTOCOL_H
#define OUTDIAL_SIM_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sim_calls.h"
#include "sim_rules.h"

typedef struct sim_protocol {
    const char *name; /* "vapi", "retell": in /sim/calls */

    /* The call object (create answer, lookup answer, and in webhooks) in
     * state status ("queued", "ringing", "in-progress", "ended"). Caller
     * json_decref()s. */
    json_t *(*call_object)(const sim_call_t *call, const char *status, const sim_rules_t *rules);

    /* The webhook body for one step of the call at campaign time at_us, or
     * NULL when the protocol has no message for that step. Caller frees. */
    char *(*message)(const sim_call_t *call, sim_hook_kind_t kind, int64_t at_us,
                     const sim_rules_t *rules);

    /* The name of a step's webhook, for /sim/calls. */
    const char *(*hook_name)(sim_hook_kind_t kind);

    /* An error answer's body; message is a string or an array of strings
     * (stolen). Caller frees. */
    char *(*error_body)(int status, json_t *message);

    /* The header line ("Name: value") that proves a webhook's origin, or
     * NULL for none. api_key: the simulator's key; now_ms: real time. Caller
     * frees. */
    char *(*webhook_auth)(const sim_call_t *call, const char *api_key, const char *body,
                          int64_t now_ms);
} sim_protocol_t;

extern const sim_protocol_t sim_protocol_vapi;
extern const sim_protocol_t sim_protocol_retell;

/* What both protocols say about a call the same way. */

/* The post-call variables of a call: the rules' data for a conversation,
 * the goal variable for one with a goal; {} otherwise. */
json_t *sim_post_call_variables(const sim_call_t *call, const sim_rules_t *rules);
/* A one-line summary and a transcript of the call's outcome. */
const char *sim_summary_text(const sim_call_t *call);
const char *sim_transcript_text(const sim_call_t *call);

#endif

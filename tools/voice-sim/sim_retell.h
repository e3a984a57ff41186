/*
 * sim_retell.h — Retell AI's wire format as the simulator speaks it: the
 * POST /v2/create-phone-call body it accepts, the call object of that
 * answer and of GET /v2/get-call/{call_id}, and the signed webhooks
 * (call_started, call_ended, call_analyzed). docs/provider-protocol.md,
 * section 9, describes every field and the pages of Retell's documentation
 * they come from. The table is sim_protocol_retell (sim_protocol.h).
 *
 * Pure functions over plain structs and JSON: no I/O, no locks.
 */
#ifndef OUTDIAL_SIM_RETELL_H
#define OUTDIAL_SIM_RETELL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "sim_vapi.h"

/*
 * Parses and validates a create-phone-call body into req (to_number is
 * req->number, override_agent_id req->assistant_id, the dynamic variables
 * req->overrides.variableValues, as a Vapi request holds them). On bad input OD_ERR_INVALID and
 * *problems, a JSON array of messages (caller json_decref()s); req is then cleared.
 */
int sim_retell_request_parse(const char *body, size_t len, sim_call_request_t *req,
                             json_t **problems) OD_WUR;

/* The disconnection_reason of a call's outcome. */
const char *sim_retell_disconnection_reason(const sim_call_t *call);

/* The x-retell-signature value of body at real time now_ms:
 * "v=<now_ms>,d=<hex HMAC-SHA256(api_key, body || now_ms)>". Caller frees. */
char *sim_retell_signature(const char *api_key, const char *body, int64_t now_ms);

#endif

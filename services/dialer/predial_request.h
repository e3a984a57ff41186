/*
 * predial_request.h — the pre-dial check's HTTP request and the reading of
 * its answer (docs/dialer.md, "The pre-dial check"). The decision over the
 * answer is lib/rules/predial.h's; jobs.c sends the request on the dial
 * loop's libcurl multi handle (transfer.h) and acts on the decision.
 */
#ifndef OUTDIAL_DIALER_PREDIAL_REQUEST_H
#define OUTDIAL_DIALER_PREDIAL_REQUEST_H

#include <curl/curl.h>

#include "codec.h"
#include "predial.h"
#include "provider.h"

/* Fills req (cleared first; free with provider_request_clear()) with
 * POST job->predial->url and the body
 *   {"attempt_id", "lead_id", "campaign_id", "account_id",
 *    "attempt_number", "e164", "name", "variables": {...}}
 * (the job's variables as strings, as the assistant gets them). */
void predial_request_build(const dialjob_t *job, provider_request_t *req);

/* The answer as predial_decide() reads it, from libcurl's result crc, the
 * HTTP status and the body (borrowed into out). */
void predial_response_read(CURLcode crc, long http_status, const char *body, size_t body_len,
                           long long timeout_ms, predial_response_t *out);

#endif

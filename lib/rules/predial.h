/*
 * predial.h — the pre-dial check: a campaign's optional last question to
 * the user's own system (a CRM's consent or suppression list) before each
 * call (docs/dialer.md, "The pre-dial check"). Pure: the settings' ranges
 * and the decision over an answer; the dialer does the HTTP.
 *
 * Settings (campaign columns predial_url, predial_timeout_ms,
 * predial_on_error; db/migrations/014):
 *   - url: https://..., or http://... only to a loopback host (localhost,
 *     127.0.0.0/8, [::1]); a lead's number and variables must not cross a
 *     network in clear text. No URL: no check.
 *   - timeout_ms: PREDIAL_TIMEOUT_MS_MIN..MAX, default 2000. The whole
 *     request, connection included; every call waits up to this long.
 *   - on_error: skip (default: no call without the user's yes) or call.
 *
 * The names of the answers and policies are model.h's
 * (model_predial_result_t, model_predial_on_error_t).
 *
 * The decision, predial_decide():
 *
 *   | answer                                            | result   | call?        |
 *   |---------------------------------------------------|----------|--------------|
 *   | 2xx, {"eligible": true}                           | eligible | yes          |
 *   | 2xx, {"eligible": false[, "reason": "<text>"]}    | refused  | no (skip)    |
 *   | timed out                                         | error    | by on_error  |
 *   | no answer (connection refused, DNS, reset)        | error    | by on_error  |
 *   | any status but 2xx                                | error    | by on_error  |
 *   | 2xx, not JSON, not an object, eligible missing or |          |              |
 *   |   not a boolean, reason present but not a string  | error    | by on_error  |
 *
 * Members other than eligible and reason are ignored (room for the user's
 * own). A refusal's reason is kept as sent, cut at PREDIAL_REASON_MAX - 1
 * bytes (on a UTF-8 boundary); an error's reason says what went wrong.
 */
#ifndef OUTDIAL_PREDIAL_H
#define OUTDIAL_PREDIAL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "model.h"

/* The request's timeout: from 100 ms (a CRM lookup on the same network)
 * to 10 s (beyond, a call waits longer for the check than it rings). */
#define PREDIAL_TIMEOUT_MS_MIN     100
#define PREDIAL_TIMEOUT_MS_MAX     10000
#define PREDIAL_TIMEOUT_MS_DEFAULT 2000
/* The longest URL accepted (the column's CHECK says the same). */
#define PREDIAL_URL_MAX 2048
/* The longest reason kept, with its NUL. */
#define PREDIAL_REASON_MAX 256

/* What came back from the request (the dialer fills it from libcurl). */
typedef struct predial_response {
    bool timed_out;        /* the timeout ended it */
    const char *transport; /* no HTTP answer: why ("Couldn't connect"); else NULL */
    long http_status;      /* when transport is NULL and not timed out */
    const char *body;      /* the answer's body (need not be NUL-terminated) */
    size_t body_len;
    long long timeout_ms; /* the timeout, for the error's text */
} predial_response_t;

typedef struct predial_decision {
    model_predial_result_t result;
    bool place_call; /* eligible, or an error with on_error call */
    char reason[PREDIAL_REASON_MAX];
} predial_decision_t;

/* The decision over resp under on_error (table above). Pure; never fails. */
void predial_decide(const predial_response_t *resp, model_predial_on_error_t on_error,
                    predial_decision_t *out);

/* OD_OK when url is a URL the check may call (see above); OD_ERR_INVALID
 * with errbuf saying what is wrong otherwise. */
int predial_url_check(const char *url, char *errbuf, size_t errlen) OD_WUR;

#endif

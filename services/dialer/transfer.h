/*
 * transfer.h — provider requests (and the pre-dial checks) on one libcurl multi handle, driven by
 * the dial loop's thread: thousands at once, no thread per request.
 *
 * A transfer (xfer_t) carries the request the provider adapter built and
 * collects the answer (bounded) and its Retry-After header. The dial loop
 * starts transfers, polls the handle, and takes each finished one back with
 * transfers_done_next() to hand it to its owner: a job's create-call answer
 * (jobs.h) or a call lookup (reconcile.h). Nothing here knows either.
 */
#ifndef OUTDIAL_DIALER_TRANSFER_H
#define OUTDIAL_DIALER_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "clock.h"
#include "err.h"
#include "metrics.h"
#include "provider.h"
#include "uuid.h"

struct dial_job;

typedef enum xfer_kind {
    XFER_CREATE = 0, /* POST /call of a job */
    XFER_LOOKUP,     /* GET /call/{id} of a call being reconciled */
    XFER_PREDIAL,    /* a job's pre-dial check (predial_request.h) */
} xfer_kind_t;

/* One provider request. The owner fills req, kind, ops and job or
 * attempt_id before xfer_start(). */
typedef struct xfer {
    struct xfer *next, *prev; /* every transfer in flight (transfers_t.head) */
    xfer_kind_t kind;
    CURL *easy;
    struct curl_slist *headers;
    provider_request_t req;
    char *resp;
    size_t resp_len;
    char retry_after[32];
    struct dial_job *job;          /* XFER_CREATE, XFER_PREDIAL */
    char attempt_id[UUID_STR_LEN]; /* XFER_LOOKUP */
    const provider_ops_t *ops;
    int64_t started_real_us;
    /* When send_before_us is not 0, the request is not sent once clk reads
     * that campaign instant: libcurl's pre-request callback looks at the
     * moment the request would leave, after any wait in libcurl's queue
     * (all connections busy) or in a stalled dial loop, and aborts it then;
     * refused_late says so, and nothing reached the provider. */
    int64_t send_before_us;
    const od_clock_t *clk;
    bool refused_late;
} xfer_t;

typedef struct transfers {
    CURLM *multi;
    xfer_t *head; /* in flight */
    size_t in_flight;
    int64_t connect_timeout_ms;
    metrics_gauge_t *gauge; /* requests in flight */
} transfers_t;

/* Creates the multi handle: at most max_connections to the provider
 * (requests beyond wait in libcurl's queue). Free with transfers_destroy(). */
int transfers_init(transfers_t *tr, int64_t max_connections, int64_t connect_timeout_ms,
                   metrics_gauge_t *gauge, char *errbuf, size_t errlen) OD_WUR;
/* Frees the transfers still in flight (an aborted drain) and the handle.
 * A zeroed tr is a no-op. */
void transfers_destroy(transfers_t *tr);

/* Starts x with a total timeout; tr owns it until transfers_done_next()
 * gives it back. OD_ERR_INTERNAL when libcurl refuses (x is then not
 * started; the caller frees it). */
int xfer_start(transfers_t *tr, xfer_t *x, int64_t timeout_ms) OD_WUR;
/* Frees x and its easy handle. NULL is a no-op. */
void xfer_free(xfer_t *x);
/* The answer's HTTP status (0 when none came). */
long xfer_http_status(const xfer_t *x);
/* Whether a failed transfer (crc) sent nothing, so that the provider
 * cannot have acted on it. */
bool xfer_never_sent(const xfer_t *x, CURLcode crc);

/* Waits up to timeout_ms for socket activity or transfers_wakeup(). */
void transfers_poll(transfers_t *tr, int timeout_ms);
/* Any thread: ends the dial loop's transfers_poll() early. */
void transfers_wakeup(transfers_t *tr);
/* Moves every transfer forward; then transfers_done_next() returns the
 * finished ones, one at a time, with libcurl's result in *crc, until NULL.
 * The caller frees each with xfer_free(). */
void transfers_perform(transfers_t *tr);
xfer_t *transfers_done_next(transfers_t *tr, CURLcode *crc);

#endif

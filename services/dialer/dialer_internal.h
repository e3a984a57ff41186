/*
 * dialer_internal.h — what the dial loop's files share (dialer.c,
 * reconcile.c, transfer.c, dialer_metrics.c); not an interface for
 * anything else. Everything here runs on the dial loop's thread unless it
 * says otherwise.
 */
#ifndef OUTDIAL_DIALER_INTERNAL_H
#define OUTDIAL_DIALER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "clock.h"
#include "dialer.h"
#include "provider.h"
#include "uuid.h"

typedef enum note_kind {
    NOTE_JOB_ACK = 0, /* a job's event: delivered or failed */
    NOTE_INIT_DONE,   /* a webhook thread published a call's "initiated" */
    NOTE_RECONCILED,  /* a lookup's terminal event: delivered or failed */
} note_kind_t;

/* A message to the dial loop from another thread. */
struct dial_note {
    dial_note_t *next;
    note_kind_t kind;
    dial_job_t *job;
    int rc;
    char attempt_id[UUID_STR_LEN];
    char err[200];
};

typedef enum xfer_kind {
    XFER_CREATE = 0, /* POST /call of a job */
    XFER_LOOKUP,     /* GET /call/{id} of a call being reconciled */
} xfer_kind_t;

/* One provider request on the multi handle. */
typedef struct xfer {
    struct xfer *next, *prev; /* every transfer in flight (dialer_t.xfers) */
    xfer_kind_t kind;
    CURL *easy;
    struct curl_slist *headers;
    provider_request_t req;
    char *resp;
    size_t resp_len;
    char retry_after[32];
    dial_job_t *job;               /* XFER_CREATE */
    char attempt_id[UUID_STR_LEN]; /* XFER_LOOKUP */
    const provider_ops_t *ops;
    int64_t started_real_us;
} xfer_t;

static inline int64_t dialer_now_real(void)
{
    return od_clock_real_us();
}

/* Records whether a Redis command worked (readiness, error counter). */
void dialer_redis_result(dialer_t *d, int rc);

/* Queues n for the dial loop and wakes it. Any thread; n is taken. */
void dialer_note_push(dialer_t *d, dial_note_t *n);

/* Compare-and-delete of a line lock held with attempt_id as its token
 * (dial loop). When Redis cannot be reached, the release is queued and
 * retried, so that a Redis restart does not leave the number busy for the
 * rest of the lock's lease. */
void dialer_line_release(dialer_t *d, const char *line_key, const char *attempt_id);

/* transfer.c: starts x (its req, kind and owner set) on the multi handle
 * with a total timeout; x is linked into d->xfers. OD_ERR_INTERNAL when
 * libcurl refuses (x is then not linked; the caller frees it). */
int xfer_start(dialer_t *d, xfer_t *x, int64_t timeout_ms) OD_WUR;
/* Unlinks x from d->xfers (after curl_multi_remove_handle). */
void xfer_unlink(dialer_t *d, xfer_t *x);
/* Frees x and its easy handle. NULL is a no-op. */
void xfer_free(xfer_t *x);

/* reconcile.c */
/* Every DIALER_SWEEP_US: forget finished calls, extend line locks of calls
 * still running, look up calls whose end is overdue. */
void reconcile_sweep(dialer_t *d);
/* A lookup finished (crc: libcurl's result). */
void reconcile_lookup_done(dialer_t *d, xfer_t *x, CURLcode crc);
/* A NOTE_RECONCILED: the lookup's terminal event delivered or failed. */
void reconcile_note(dialer_t *d, const dial_note_t *n);

/* registry.c (registry.h): the keys of this instance. */
void registry_init(dialer_t *d);
/* Every loop turn: writes the registrations and removals queued in the
 * call table; every second the heartbeat; every 2 s takes over the calls
 * of dialers whose heartbeat expired. */
void registry_tick(dialer_t *d);
/* At the end of a shutdown: removes this instance from the registry when
 * none of its calls is still open, else stops the heartbeat so that
 * another dialer takes them over. */
void registry_leave(dialer_t *d);

/* dialer_metrics.c: registers every metric of dialer_metrics_t in reg. */
int dialer_metrics_setup(dialer_metrics_t *m, metrics_registry_t *reg, char *err,
                         size_t errlen) OD_WUR;

#endif

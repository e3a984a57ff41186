/*
 * jobs.h — the dial jobs: each from Kafka through the checks to the
 * provider, its event to Kafka, and its offset stored once it is done, in
 * offset order per partition. Runs on the dial loop's thread; it needs only
 * what jobs_env_t lists.
 *
 * A job moves through these stages:
 *
 *   CHECKING ──► POSTING ──► (placed) ─► "initiated" ─► DONE
 *      │  ▲         │  ▲           │
 *      │  └ Redis   │  └ BACKOFF (429, while not_after allows)
 *      │    error   ├─► UNCONFIRMED (no answer): a webhook confirms it, or
 *      │            │   after the grace "failed transient (unconfirmed)"
 *      │            └─► refused: "failed" (transient or permanent)
 *      └─► refused: "skipped"; duplicate: nothing
 *
 * A campaign with a pre-dial check puts PREDIAL between CHECKING and
 * POSTING: its request in flight; eligible (or failed, policy call) goes
 * on to POSTING after the window and legal rules are looked at again,
 * refused (or failed, policy skip) is "skipped".
 *
 * A job is DONE when its event is acknowledged (or it needs none); the
 * partition's offset then advances over every leading DONE job.
 */
#ifndef OUTDIAL_DIALER_JOBS_H
#define OUTDIAL_DIALER_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "calls.h"
#include "dialer_config.h"
#include "dialer_metrics.h"
#include "kafka.h"
#include "line_locks.h"
#include "loop_redis.h"
#include "notes.h"
#include "offsets.h"
#include "publisher.h"
#include "transfer.h"

typedef struct dial_job dial_job_t;

typedef struct jobs_env {
    const dialer_config_t *cfg;
    call_table_t *calls;
    loop_redis_t *lr;           /* the checks */
    line_locks_t *lines;        /* released when a call is not placed */
    transfers_t *xfers;         /* the create-call requests */
    publisher_t *pub;           /* the jobs' events */
    note_queue_t *notes;        /* their acknowledgements (NOTE_JOB_ACK) */
    kafka_consumer_t *consumer; /* the offsets stored (offsets.h) */
    const dialer_metrics_t *m;
} jobs_env_t;

typedef struct jobs {
    jobs_env_t env;
    offsets_t offsets;   /* every job taken, by partition, until its offset is past */
    dial_job_t *waiting; /* jobs with a wake-up time */
    size_t active;       /* taken, not finished */
    bool stopping;       /* draining: jobs not placed yet are given back */
} jobs_t;

void jobs_init(jobs_t *js, const jobs_env_t *env);
/* Frees every job still held (their offsets are not stored). */
void jobs_destroy(jobs_t *js);

/* A message from the jobs topic; js owns it from here. */
void jobs_take(jobs_t *js, rd_kafka_message_t *msg);
/* The timed stages whose time has come. When stopping, a job not placed
 * yet is given back (its Redis keys freed, its offset not stored). */
void jobs_wake(jobs_t *js);
/* A create-call request (XFER_CREATE) finished with libcurl's result crc;
 * x stays the caller's. */
void jobs_create_done(jobs_t *js, const xfer_t *x, CURLcode crc);
/* A pre-dial check's request (XFER_PREDIAL) finished: the decision
 * (lib/rules/predial.h) places the call or skips the job; x stays the
 * caller's. */
void jobs_predial_done(jobs_t *js, const xfer_t *x, CURLcode crc);
/* A NOTE_JOB_ACK (the job's event delivered or failed) or a NOTE_INIT_DONE
 * (a webhook thread published the call's "initiated"). */
void jobs_note(jobs_t *js, const dial_note_t *n);

#endif

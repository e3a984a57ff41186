/*
 * dialer.c — the dial loop: jobs from Kafka through the checks to the
 * provider, their events to Kafka, their offsets stored in order; the
 * reconciliation of calls whose end was not reported.
 *
 * A job moves through these stages (one thread, no locks but the call
 * table's and the note queue's):
 *
 *   CHECKING ──► POSTING ──► (placed) ─► "initiated" ─► DONE
 *      │  ▲         │  ▲           │
 *      │  └ Redis   │  └ BACKOFF (429, while not_after allows)
 *      │    error   ├─► UNCONFIRMED (no answer): a webhook confirms it, or
 *      │            │   after the grace "failed transient (unconfirmed)"
 *      │            └─► refused: "failed" (transient or permanent)
 *      └─► refused: "skipped"; duplicate: nothing
 *
 * A job is DONE when its event is acknowledged (or it needs none); the
 * partition's offset then advances over every leading DONE job.
 */
#include "dialer_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "checks.h"
#include "clock.h"
#include "dial_event.h"
#include "log.h"
#include "rkeys.h"
#include "xmalloc.h"

/* Jobs taken from Kafka per loop iteration: bounds the time the loop spends
 * on Redis checks before it serves libcurl again. */
#define DIALER_CONSUME_BATCH 100
/* The loop sleeps at most this long in curl_multi_poll; notes wake it
 * earlier. Also the resolution of back-off and retry timers. */
#define DIALER_POLL_MS 10
/* After a Redis error, the job's checks run again this much later. */
#define DIALER_RECHECK_US (1000 * 1000)
/* After a failed Kafka delivery, the event is sent again this much later. */
#define DIALER_REPUBLISH_US (1000 * 1000)

typedef enum job_stage {
    JOB_CHECKING = 0, /* the checks run at wake_real_us (again, after a Redis error) */
    JOB_POSTING,      /* the create-call request is in flight */
    JOB_BACKOFF,      /* 429: the request is repeated at wake_real_us */
    JOB_UNCONFIRMED,  /* no answer: waiting until wake_real_us for a webhook */
    JOB_WAIT_INIT,    /* a webhook thread is publishing "initiated" */
    JOB_PUBLISHING,   /* our event is submitted; waiting for its ack */
    JOB_REPUBLISH,    /* the ack failed: sent again at wake_real_us */
    JOB_DONE,
} job_stage_t;

struct dial_part {
    dial_part_t *next;
    char *topic;
    int32_t partition;
    dial_job_t *head, *tail;
    bool blocked; /* an abandoned job heads it: no later offset may be stored */
};

struct dial_job {
    dialer_t *d;
    dial_job_t *pnext;         /* partition FIFO */
    dial_job_t *wnext, *wprev; /* waiting list */
    bool waiting;
    dial_part_t *part;
    rd_kafka_message_t *msg;
    dialjob_t *dj; /* NULL when undecodable */
    provider_attempt_t attempt;
    const provider_ops_t *ops;
    job_stage_t stage;
    check_state_t cst;
    char line_key[RKEYS_KEY_MAX];
    int64_t lease_ms;     /* line lock lease, real */
    int64_t max_call_us;  /* longest call, real */
    int posts;            /* create-call requests sent */
    int check_retries;    /* checks repeated after Redis errors */
    int64_t wake_real_us; /* for the timed stages */
    dial_call_t *call;    /* our record in the call table, while we have one */
    dial_event_t ev;      /* the event being published */
    bool ev_is_init;
    bool placed;  /* the provider accepted the call */
    bool counted; /* calls_placed counted */
    bool store;   /* store the offset once DONE (false: abandoned, re-delivered) */
};

static void job_publish(dialer_t *d, dial_job_t *job);
static void job_after_init(dialer_t *d, dial_job_t *job);

/* ---- shared with the other files of the loop ---- */

void dialer_redis_result(dialer_t *d, int rc)
{
    bool ok = rc == OD_OK || rc == OD_ERR_CONFLICT || rc == OD_ERR_NOT_FOUND;
    atomic_store(&d->redis_ok, ok);
    if (!ok)
        metrics_counter_add(d->m.redis_errors, 1);
}

void dialer_note_push(dialer_t *d, dial_note_t *n)
{
    pthread_mutex_lock(&d->note_mu);
    n->next = d->notes;
    d->notes = n;
    pthread_mutex_unlock(&d->note_mu);
    curl_multi_wakeup(d->multi);
}

void dialer_note_init_done(dialer_t *d, const char *attempt_id)
{
    dial_note_t *n = xcalloc(1, sizeof(*n));
    n->kind = NOTE_INIT_DONE;
    snprintf(n->attempt_id, sizeof(n->attempt_id), "%s", attempt_id);
    dialer_note_push(d, n);
}

struct line_retry {
    struct line_retry *next;
    char key[RKEYS_KEY_MAX];
    char attempt_id[UUID_STR_LEN];
};

/* Retries of failed releases: once a second while Redis fails. */
#define LINE_RETRY_US (1000 * 1000)

void dialer_line_release_later(dialer_t *d, const char *line_key, const char *attempt_id)
{
    struct line_retry *lr = xcalloc(1, sizeof(*lr));
    snprintf(lr->key, sizeof(lr->key), "%s", line_key);
    snprintf(lr->attempt_id, sizeof(lr->attempt_id), "%s", attempt_id);
    pthread_mutex_lock(&d->note_mu);
    lr->next = d->line_retries;
    d->line_retries = lr;
    pthread_mutex_unlock(&d->note_mu);
}

void dialer_line_release(dialer_t *d, const char *line_key, const char *attempt_id)
{
    char err[256];
    int rc = redis_lock_release(d->redis, line_key, attempt_id, err, sizeof(err));
    dialer_redis_result(d, rc);
    if (rc && rc != OD_ERR_CONFLICT) {
        log_warn("line_lock", "release %s: %s (tried again every second)", line_key, err);
        dialer_line_release_later(d, line_key, attempt_id);
    }
}

/* The queued releases, when their time has come; those that fail again
 * stay queued. */
static void line_retries_run(dialer_t *d)
{
    int64_t now = dialer_now_real();
    if (now < d->line_retry_real_us)
        return;
    pthread_mutex_lock(&d->note_mu);
    struct line_retry *list = d->line_retries;
    d->line_retries = NULL;
    pthread_mutex_unlock(&d->note_mu);
    if (!list)
        return;
    d->line_retry_real_us = now + LINE_RETRY_US;
    while (list) {
        struct line_retry *lr = list;
        list = lr->next;
        char err[256];
        int rc = redis_lock_release(d->redis, lr->key, lr->attempt_id, err, sizeof(err));
        dialer_redis_result(d, rc);
        if (rc && rc != OD_ERR_CONFLICT) {
            pthread_mutex_lock(&d->note_mu);
            lr->next = d->line_retries;
            d->line_retries = lr;
            pthread_mutex_unlock(&d->note_mu);
        } else {
            free(lr);
        }
    }
}

/* ---- waiting list ---- */

static void wait_add(dialer_t *d, dial_job_t *job, int64_t wake_real_us)
{
    job->wake_real_us = wake_real_us;
    if (job->waiting)
        return;
    job->waiting = true;
    job->wprev = NULL;
    job->wnext = d->waiting;
    if (d->waiting)
        d->waiting->wprev = job;
    d->waiting = job;
}

static void wait_remove(dialer_t *d, dial_job_t *job)
{
    if (!job->waiting)
        return;
    if (job->wprev)
        job->wprev->wnext = job->wnext;
    else
        d->waiting = job->wnext;
    if (job->wnext)
        job->wnext->wprev = job->wprev;
    job->waiting = false;
    job->wnext = job->wprev = NULL;
}

/* ---- partitions and offsets ---- */

static dial_part_t *part_of(dialer_t *d, const rd_kafka_message_t *msg)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);
    for (dial_part_t *p = d->parts; p; p = p->next)
        if (p->partition == msg->partition && strcmp(p->topic, topic) == 0)
            return p;
    dial_part_t *p = xcalloc(1, sizeof(*p));
    p->topic = xstrdup(topic);
    p->partition = msg->partition;
    p->next = d->parts;
    d->parts = p;
    return p;
}

static void job_free(dial_job_t *job)
{
    kafka_message_free(job->msg);
    dialjob_free(job->dj);
    dial_event_clear(&job->ev);
    free(job);
}

/* Stores the offsets of the leading finished jobs of a partition. */
static void part_advance(dialer_t *d, dial_part_t *p)
{
    char err[512];
    while (p->head && p->head->stage == JOB_DONE && !p->blocked) {
        dial_job_t *job = p->head;
        if (!job->store) {
            p->blocked = true;
            break;
        }
        int rc = kafka_consumer_store(d->consumer, job->msg, err, sizeof(err));
        if (rc == OD_ERR_CONFLICT)
            log_info("offset_store", "%s", err);
        else if (rc)
            log_warn("offset_store", "%s", err);
        p->head = job->pnext;
        if (!p->head)
            p->tail = NULL;
        job_free(job);
    }
}

/* The job needs nothing more: its offset may be stored (store) or must not
 * be (an abandoned job, re-delivered after a restart). */
static void job_finish(dialer_t *d, dial_job_t *job, bool store)
{
    wait_remove(d, job);
    if (job->call) {
        pthread_mutex_lock(&d->calls.mu);
        if (job->call->job == job)
            job->call->job = NULL;
        pthread_mutex_unlock(&d->calls.mu);
        job->call = NULL;
    }
    job->stage = JOB_DONE;
    job->store = store;
    d->jobs_active--;
    metrics_gauge_set(d->m.jobs_in_progress, (double)d->jobs_active);
    part_advance(d, job->part);
}

/* ---- publishing a job's event ---- */

/* Publisher thread: hand the outcome to the loop. */
static void job_event_done(void *arg, int rc, const char *err)
{
    dial_job_t *job = arg;
    dial_note_t *n = xcalloc(1, sizeof(*n));
    n->kind = NOTE_JOB_ACK;
    n->job = job;
    n->rc = rc;
    snprintf(n->err, sizeof(n->err), "%s", err ? err : "");
    dialer_note_push(job->d, n);
}

/* Submits job->ev; the job waits in PUBLISHING for the note. */
static void job_publish(dialer_t *d, dial_job_t *job)
{
    char err[512];
    wait_remove(d, job);
    job->stage = JOB_PUBLISHING;
    int rc = publisher_send(d->pub, &job->ev, job_event_done, job, err, sizeof(err));
    if (rc) {
        /* Our own event does not encode: a bug, never bad input (the job
         * decoded). Leave the offset for a fixed dialer. */
        log_error("event_encode", "attempt %s: %s; the job is left for re-delivery",
                  job->attempt.attempt_id, err);
        job_finish(d, job, false);
    }
}

static void job_skip(dialer_t *d, dial_job_t *job, model_skip_reason_t reason, const char *detail)
{
    metrics_counter_add(d->m.skipped[reason], 1);
    log_info("job_skipped", "attempt %s lead %s: skipped %s: %s", job->attempt.attempt_id,
             job->attempt.lead_id, model_skip_reason_name(reason), detail);
    dial_event_skipped(&job->ev, &job->attempt, reason, detail, od_clock_now_us(&d->cfg->clk));
    job_publish(d, job);
}

/* Forgets the job's call record (the call was not placed). */
static void call_drop(dialer_t *d, dial_job_t *job)
{
    if (!job->call)
        return;
    pthread_mutex_lock(&d->calls.mu);
    job->call->init = CALL_INIT_ABANDONED;
    call_table_remove(&d->calls, job->call);
    pthread_cond_broadcast(&d->calls.cond);
    pthread_mutex_unlock(&d->calls.mu);
    job->call = NULL;
    metrics_gauge_set(d->m.calls_in_flight, (double)d->calls.count);
}

/* The create-call request was refused (or could not be made): publish
 * failed. A webhook that already proved the call placed wins over the
 * refusal. The line lock is released unless the call may exist. */
static void job_fail(dialer_t *d, dial_job_t *job, const char *kind, bool permanent,
                     const char *reason, const char *detail, bool release_line)
{
    if (job->call) {
        pthread_mutex_lock(&d->calls.mu);
        call_init_t init = job->call->init;
        job->call->posting = false;
        pthread_cond_broadcast(&d->calls.cond);
        pthread_mutex_unlock(&d->calls.mu);
        if (init == CALL_INIT_PUBLISHING || init == CALL_INIT_DONE) {
            log_warn("create_call", "attempt %s: %s, but a webhook shows the call placed",
                     job->attempt.attempt_id, reason);
            job->placed = true;
            job_after_init(d, job);
            return;
        }
        call_drop(d, job);
    }
    if (release_line && job->cst.holds_line)
        dialer_line_release(d, job->line_key, job->attempt.attempt_id);
    log_info("call_failed", "attempt %s lead %s: failed (%s) %s: %s", job->attempt.attempt_id,
             job->attempt.lead_id, permanent ? "permanent" : "transient", reason, detail);
    dial_event_failed(&job->ev, &job->attempt, kind, permanent, reason, "",
                      od_clock_now_us(&d->cfg->clk));
    job_publish(d, job);
}

/* Gives a job back unprocessed (shutdown, before anything was placed):
 * frees what it holds in Redis so that the re-delivered job can be dialed,
 * and leaves its offset unstored. */
static void job_abandon(dialer_t *d, dial_job_t *job)
{
    char err[256], key[RKEYS_KEY_MAX];
    call_drop(d, job);
    if (job->cst.holds_line)
        dialer_line_release(d, job->line_key, job->attempt.attempt_id);
    if (job->cst.holds_attempt_key) {
        rkeys_attempt(d->cfg->redis_prefix, job->attempt.attempt_id, key);
        /* Compare-and-delete with our instance id: a fence written by the
         * scheduler meanwhile stays. */
        int rc = redis_lock_release(d->redis, key, d->cfg->instance_id, err, sizeof(err));
        if (rc && rc != OD_ERR_CONFLICT)
            log_warn("shutdown", "attempt %s: attempt key not released: %s",
                     job->attempt.attempt_id, err);
    }
    log_info("shutdown", "attempt %s: not placed; left for re-delivery", job->attempt.attempt_id);
    job_finish(d, job, false);
}

/* ---- the create-call request ---- */

static void job_post(dialer_t *d, dial_job_t *job)
{
    char err[512];
    wait_remove(d, job);
    /* Last look at the window: the checks took time, and so will the
     * request; a call that would reach the provider after not_after is not
     * placed (the attempt key stays ours: nothing was dialed, the scheduler
     * takes the lead back on the skip). */
    int64_t now = od_clock_now_us(&d->cfg->clk);
    int64_t guard_us = (int64_t)((double)d->cfg->window_guard_ms * 1000.0 * d->cfg->clk.scale);
    if (now + guard_us >= job->dj->not_after_us) {
        char until[40];
        od_time_format_rfc3339(job->dj->not_after_us, until, sizeof(until));
        snprintf(err, sizeof(err),
                 "the calling window closes at %s, within the %" PRId64
                 " ms a create-call request is given to reach the provider",
                 until, d->cfg->window_guard_ms);
        call_drop(d, job);
        dialer_line_release(d, job->line_key, job->attempt.attempt_id);
        job_skip(d, job, MODEL_SKIP_OUTSIDE_WINDOW, err);
        return;
    }
    xfer_t *x = xcalloc(1, sizeof(*x));
    x->kind = XFER_CREATE;
    x->job = job;
    x->ops = job->ops;
    int rc = job->ops->call_request_build(&d->cfg->provider, job->dj, &x->req, err, sizeof(err));
    if (rc) {
        xfer_free(x);
        metrics_counter_add(d->m.provider_errors[DIALER_PERR_PERMANENT], 1);
        job_fail(d, job, DIAL_KIND_END, true, "invalid-request", err, true);
        return;
    }
    rc = xfer_start(d, x, d->cfg->request_timeout_ms);
    if (rc) {
        xfer_free(x);
        job_fail(d, job, DIAL_KIND_END, false, "dialer-internal-error", "libcurl refused", true);
        return;
    }
    job->posts++;
    job->stage = JOB_POSTING;
}

/* ---- checks ---- */

static void job_check(dialer_t *d, dial_job_t *job)
{
    checks_env_t env = {d->redis, d->cfg->redis_prefix, d->cfg->instance_id, &d->cfg->clk};
    check_result_t res;
    checks_run(&env, job->dj, job->lease_ms, &job->cst, &res);
    switch (res.verdict) {
    case CHECK_RETRY:
        dialer_redis_result(d, OD_ERR_UNAVAILABLE);
        /* Once, then every minute: Redis down means every job says so. */
        if (job->check_retries++ % 60 == 0)
            log_warn("checks", "attempt %s: %s; checking again every second",
                     job->attempt.attempt_id, res.detail);
        job->stage = JOB_CHECKING;
        wait_add(d, job, dialer_now_real() + DIALER_RECHECK_US);
        return;
    case CHECK_DUPLICATE:
        dialer_redis_result(d, OD_OK);
        metrics_counter_add(d->m.jobs_duplicate, 1);
        log_info("job_duplicate", "attempt %s: %s; nothing to do", job->attempt.attempt_id,
                 res.detail);
        job_finish(d, job, true);
        return;
    case CHECK_SKIP:
        dialer_redis_result(d, OD_OK);
        if (job->cst.holds_line) /* not after a skip, but keep the rule local */
            dialer_line_release(d, job->line_key, job->attempt.attempt_id);
        job_skip(d, job, res.reason, res.detail);
        return;
    case CHECK_DIAL:
        dialer_redis_result(d, OD_OK);
        break;
    }
    /* Every check passed: the call record, then the request. */
    pthread_mutex_lock(&d->calls.mu);
    dial_call_t *c = call_table_find(&d->calls, job->attempt.attempt_id);
    if (c) {
        /* Our own attempt key let a second copy through: impossible unless
         * the key was deleted by hand. Never dial twice. */
        pthread_mutex_unlock(&d->calls.mu);
        log_error("job_duplicate", "attempt %s is already being dialed here",
                  job->attempt.attempt_id);
        metrics_counter_add(d->m.jobs_duplicate, 1);
        job_finish(d, job, true);
        return;
    }
    c = call_table_add(&d->calls, &job->attempt);
    snprintf(c->e164, sizeof(c->e164), "%s", job->dj->e164);
    c->posting = true;
    c->reconcile_after_us = job->max_call_us + d->cfg->reconcile_margin_ms * 1000;
    c->lock_held = true;
    c->lock_lease_ms = job->lease_ms;
    c->lock_renew_real_us = dialer_now_real() + job->lease_ms * 1000 / 2;
    c->job = job;
    pthread_mutex_unlock(&d->calls.mu);
    metrics_gauge_set(d->m.calls_in_flight, (double)d->calls.count);
    job->call = c;
    job_post(d, job);
}

/* A message from the jobs topic. */
static void job_take(dialer_t *d, rd_kafka_message_t *msg)
{
    char err[512];
    dial_job_t *job = xcalloc(1, sizeof(*job));
    job->d = d;
    job->msg = msg;
    job->part = part_of(d, msg);
    if (job->part->tail)
        job->part->tail->pnext = job;
    else
        job->part->head = job;
    job->part->tail = job;
    d->jobs_active++;
    metrics_gauge_set(d->m.jobs_in_progress, (double)d->jobs_active);
    metrics_counter_add(d->m.jobs_consumed, 1);

    if (dialjob_decode(msg->payload, msg->len, &job->dj, err, sizeof(err))) {
        /* No retry can fix it: log where it is and move on. */
        metrics_counter_add(d->m.jobs_undecodable, 1);
        log_error("job_rejected", "%s [%" PRId32 "] offset %" PRId64 ": %s",
                  rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset, err);
        job_finish(d, job, true);
        return;
    }
    dial_attempt_from_job(job->dj, &job->attempt);
    job->ops = provider_find(job->dj->provider);
    if (!job->ops) {
        metrics_counter_add(d->m.provider_errors[DIALER_PERR_TRANSIENT], 1);
        char detail[160];
        snprintf(detail, sizeof(detail), "provider '%.40s' is not served by this dialer",
                 job->dj->provider);
        job_fail(d, job, DIAL_KIND_END, false, "provider-unsupported", detail, false);
        return;
    }
    int64_t max_call_s =
        job->dj->max_call_duration_s ? job->dj->max_call_duration_s : d->cfg->default_max_call_s;
    job->max_call_us = od_clock_real_duration_us(&d->cfg->clk, max_call_s * OD_USEC_PER_SEC);
    job->lease_ms = job->max_call_us / 1000 + d->cfg->line_margin_ms;
    checks_env_t env = {d->redis, d->cfg->redis_prefix, d->cfg->instance_id, &d->cfg->clk};
    checks_line_key(&env, job->dj->e164, job->line_key);
    job_check(d, job);
}

/* ---- "initiated" ---- */

/* After the create-call answer (or its absence): publish "initiated"
 * unless a webhook thread does or did, then finish. */
static void job_after_init(dialer_t *d, dial_job_t *job)
{
    dial_call_t *c = job->call;
    pthread_mutex_lock(&d->calls.mu);
    call_init_t init = c->init;
    if (init == CALL_INIT_NONE && job->placed) {
        c->init = CALL_INIT_PUBLISHING;
        c->job = job;
    } else if (init == CALL_INIT_NONE || init == CALL_INIT_PUBLISHING) {
        c->job = job;
    }
    char call_id[PROVIDER_CALL_ID_MAX];
    snprintf(call_id, sizeof(call_id), "%s", c->provider_call_id);
    pthread_mutex_unlock(&d->calls.mu);

    switch (init) {
    case CALL_INIT_DONE:
        if (!job->counted) {
            job->counted = true;
            metrics_counter_add(d->m.calls_placed, 1);
        }
        job_finish(d, job, true);
        return;
    case CALL_INIT_ABANDONED: /* not reached: abandoned records are dropped at once */
        job_finish(d, job, true);
        return;
    case CALL_INIT_PUBLISHING:
        wait_remove(d, job);
        job->stage = JOB_WAIT_INIT;
        return;
    case CALL_INIT_NONE:
        break;
    }
    if (!job->placed) {
        /* No answer: a webhook may still prove the call placed. */
        if (job->stage != JOB_UNCONFIRMED) {
            job->stage = JOB_UNCONFIRMED;
            wait_add(d, job, dialer_now_real() + d->cfg->unconfirmed_grace_ms * 1000);
        }
        return;
    }
    if (!job->counted) {
        job->counted = true;
        metrics_counter_add(d->m.calls_placed, 1);
    }
    dial_event_initiated(&job->ev, &job->attempt, call_id, od_clock_now_us(&d->cfg->clk));
    job->ev_is_init = true;
    job_publish(d, job);
}

/* The grace for an unanswered create-call request is over. */
static void job_unconfirmed_expired(dialer_t *d, dial_job_t *job)
{
    pthread_mutex_lock(&d->calls.mu);
    call_init_t init = job->call->init;
    if (init == CALL_INIT_NONE)
        job->call->init = CALL_INIT_ABANDONED;
    pthread_mutex_unlock(&d->calls.mu);
    if (init != CALL_INIT_NONE) {
        job->placed = true;
        job_after_init(d, job);
        return;
    }
    /* It may exist all the same: keep the line lock until its lease ends. */
    call_drop(d, job);
    log_warn("create_call",
             "attempt %s: no answer to the create-call request and no webhook "
             "within %" PRId64 " ms; reporting a transient failure",
             job->attempt.attempt_id, d->cfg->unconfirmed_grace_ms);
    dial_event_failed(&job->ev, &job->attempt, DIAL_KIND_UNCONFIRMED, false, "provider-no-answer",
                      "", od_clock_now_us(&d->cfg->clk));
    job_publish(d, job);
}

/* ---- create-call answers ---- */

static bool curl_never_sent(CURL *easy, CURLcode rc)
{
    if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
        rc == CURLE_COULDNT_CONNECT || rc == CURLE_URL_MALFORMAT ||
        rc == CURLE_UNSUPPORTED_PROTOCOL)
        return true;
    long sent = 0;
    curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &sent);
    return sent == 0;
}

static void create_done(dialer_t *d, xfer_t *x, CURLcode crc)
{
    dial_job_t *job = x->job;
    metrics_histogram_observe(d->m.create_call_seconds,
                              (double)(dialer_now_real() - x->started_real_us) / 1e6);
    if (crc != CURLE_OK) {
        bool never = curl_never_sent(x->easy, crc);
        metrics_counter_add(
            d->m.provider_errors[crc == CURLE_OPERATION_TIMEDOUT ? DIALER_PERR_TIMEOUT
                                                                 : DIALER_PERR_CONNECTION],
            1);
        if (never) {
            job_fail(d, job, DIAL_KIND_END, false, "provider-unreachable", curl_easy_strerror(crc),
                     true);
            return;
        }
        log_warn("create_call", "attempt %s: %s after the request was sent: the call may exist",
                 job->attempt.attempt_id, curl_easy_strerror(crc));
        pthread_mutex_lock(&d->calls.mu);
        job->call->posting = false;
        pthread_cond_broadcast(&d->calls.cond);
        pthread_mutex_unlock(&d->calls.mu);
        job_after_init(d, job);
        return;
    }
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    provider_place_result_t res;
    x->ops->call_response_parse(status, x->resp, x->resp_len,
                                x->retry_after[0] ? x->retry_after : NULL, &res);
    switch (res.outcome) {
    case PROVIDER_PLACE_OK:
        job->placed = true;
        pthread_mutex_lock(&d->calls.mu);
        call_set_provider_id(&d->calls, job->call, res.provider_call_id);
        job->call->posting = false;
        pthread_cond_broadcast(&d->calls.cond);
        pthread_mutex_unlock(&d->calls.mu);
        if (res.detail[0])
            log_warn("create_call", "attempt %s: %s", job->attempt.attempt_id, res.detail);
        job_after_init(d, job);
        return;
    case PROVIDER_PLACE_RATE_LIMITED: {
        metrics_counter_add(d->m.provider_errors[DIALER_PERR_RATE_LIMITED], 1);
        int64_t wait_ms = d->cfg->rate_limit_backoff_ms << (job->posts > 6 ? 5 : job->posts - 1);
        if (res.retry_after_ms > wait_ms)
            wait_ms = res.retry_after_ms;
        int64_t resume_us =
            od_clock_now_us(&d->cfg->clk) + (int64_t)((double)wait_ms * 1000.0 * d->cfg->clk.scale);
        if (job->posts > d->cfg->rate_limit_retries || atomic_load(&d->stopping) ||
            resume_us >= job->dj->not_after_us) {
            job_fail(d, job, DIAL_KIND_END, false, res.ended_reason,
                     job->posts > d->cfg->rate_limit_retries ? "rate limited on every try"
                                                             : "rate limited; no time left",
                     true);
            return;
        }
        log_info("create_call", "attempt %s: rate limited (%s); again in %" PRId64 " ms",
                 job->attempt.attempt_id, res.detail, wait_ms);
        job->stage = JOB_BACKOFF;
        wait_add(d, job, dialer_now_real() + wait_ms * 1000);
        return;
    }
    case PROVIDER_PLACE_TRANSIENT:
        metrics_counter_add(d->m.provider_errors[DIALER_PERR_TRANSIENT], 1);
        if (strcmp(res.ended_reason, "provider-unauthorized") == 0)
            log_error("create_call",
                      "the provider refused our key (%s): check OUTDIAL_DIALER_PROVIDER_API_KEY",
                      res.detail);
        job_fail(d, job, DIAL_KIND_END, false, res.ended_reason, res.detail, true);
        return;
    case PROVIDER_PLACE_PERMANENT:
        metrics_counter_add(d->m.provider_errors[DIALER_PERR_PERMANENT], 1);
        job_fail(d, job, DIAL_KIND_END, true, res.ended_reason, res.detail, true);
        return;
    }
}

/* A 429 back-off is over: check the window and the campaign again, then
 * repeat the request. */
static void job_backoff_over(dialer_t *d, dial_job_t *job)
{
    checks_env_t env = {d->redis, d->cfg->redis_prefix, d->cfg->instance_id, &d->cfg->clk};
    check_result_t res;
    checks_recheck(&env, job->dj, &res);
    if (res.verdict == CHECK_RETRY) {
        dialer_redis_result(d, OD_ERR_UNAVAILABLE);
        wait_add(d, job, dialer_now_real() + DIALER_RECHECK_US);
        return;
    }
    dialer_redis_result(d, OD_OK);
    if (res.verdict == CHECK_SKIP && res.reason == MODEL_SKIP_OUTSIDE_WINDOW) {
        job_fail(d, job, DIAL_KIND_END, false, "provider-rate-limited", res.detail, true);
        return;
    }
    if (res.verdict == CHECK_SKIP) {
        call_drop(d, job);
        dialer_line_release(d, job->line_key, job->attempt.attempt_id);
        job_skip(d, job, res.reason, res.detail);
        return;
    }
    job_post(d, job);
}

/* ---- notes ---- */

static void notes_run(dialer_t *d)
{
    pthread_mutex_lock(&d->note_mu);
    dial_note_t *list = d->notes;
    d->notes = NULL;
    pthread_mutex_unlock(&d->note_mu);
    /* Pushed newest first: reverse to handle them in order. */
    dial_note_t *ordered = NULL;
    while (list) {
        dial_note_t *next = list->next;
        list->next = ordered;
        ordered = list;
        list = next;
    }
    while (ordered) {
        dial_note_t *n = ordered;
        ordered = n->next;
        if (n->kind == NOTE_JOB_ACK) {
            dial_job_t *job = n->job;
            if (n->rc) {
                log_warn("event_publish", "attempt %s event %s: %s; sending it again",
                         job->attempt.attempt_id, job->ev.event_id, n->err);
                job->stage = JOB_REPUBLISH;
                wait_add(d, job, dialer_now_real() + DIALER_REPUBLISH_US);
            } else if (job->ev_is_init) {
                pthread_mutex_lock(&d->calls.mu);
                call_mark_initiated(job->call, dialer_now_real());
                pthread_cond_broadcast(&d->calls.cond);
                pthread_mutex_unlock(&d->calls.mu);
                job_finish(d, job, true);
            } else {
                job_finish(d, job, true);
            }
        } else if (n->kind == NOTE_INIT_DONE) {
            pthread_mutex_lock(&d->calls.mu);
            dial_call_t *c = call_table_find(&d->calls, n->attempt_id);
            dial_job_t *job = c ? c->job : NULL;
            pthread_mutex_unlock(&d->calls.mu);
            if (job && (job->stage == JOB_WAIT_INIT || job->stage == JOB_UNCONFIRMED)) {
                if (job->stage == JOB_UNCONFIRMED)
                    wait_remove(d, job);
                job->placed = true;
                job_after_init(d, job);
            }
        } else {
            reconcile_note(d, n);
        }
        free(n);
    }
}

/* ---- the loop ---- */

static void transfers_run(dialer_t *d)
{
    int running = 0;
    curl_multi_perform(d->multi, &running);
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read(d->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        xfer_t *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode crc = m->data.result;
        curl_multi_remove_handle(d->multi, m->easy_handle);
        xfer_unlink(d, x);
        d->requests_in_flight--;
        metrics_gauge_set(d->m.requests_in_flight, (double)d->requests_in_flight);
        if (x->kind == XFER_CREATE)
            create_done(d, x, crc);
        else
            reconcile_lookup_done(d, x, crc);
        xfer_free(x);
    }
}

/* Timed stages whose time has come. */
static void waiting_run(dialer_t *d)
{
    int64_t now = dialer_now_real();
    bool stopping = atomic_load(&d->stopping);
    dial_job_t *job = d->waiting;
    while (job) {
        dial_job_t *next = job->wnext;
        bool due = now >= job->wake_real_us;
        if (stopping && (job->stage == JOB_CHECKING || job->stage == JOB_BACKOFF)) {
            job_abandon(d, job); /* nothing placed: let another dialer have it */
        } else if (due) {
            wait_remove(d, job);
            switch (job->stage) {
            case JOB_CHECKING:
                job_check(d, job);
                break;
            case JOB_BACKOFF:
                job_backoff_over(d, job);
                break;
            case JOB_UNCONFIRMED:
                job_unconfirmed_expired(d, job);
                break;
            case JOB_REPUBLISH:
                job_publish(d, job);
                break;
            default:
                break;
            }
        }
        job = next;
    }
}

static void consume(dialer_t *d)
{
    char err[512];
    for (int i = 0; i < DIALER_CONSUME_BATCH && d->jobs_active < (size_t)d->cfg->max_inflight;
         i++) {
        rd_kafka_message_t *msg = NULL;
        if (kafka_consumer_poll(d->consumer, 0, &msg, err, sizeof(err))) {
            /* Fatal: the consumer must be recreated; stop, drain, exit 1 so
             * that the supervisor restarts the process. */
            log_error("consume", "%s", err);
            d->consumer_failed = true;
            return;
        }
        if (!msg)
            return;
        job_take(d, msg);
    }
}

/* One turn: take jobs (unless stopping), serve timers, notes, transfers. */
static void loop_turn(dialer_t *d, bool take_jobs)
{
    if (take_jobs)
        consume(d);
    waiting_run(d);
    notes_run(d);
    reconcile_sweep(d);
    registry_tick(d);
    line_retries_run(d);
    curl_multi_poll(d->multi, NULL, 0, DIALER_POLL_MS, NULL);
    transfers_run(d);
    notes_run(d);
}

int dialer_run(dialer_t *d, const atomic_bool *stop, char *errbuf, size_t errlen)
{
    log_info("startup", "dialer %s taking jobs from %s (at most %" PRId64 " at once)",
             d->cfg->instance_id, d->cfg->jobs_topic, d->cfg->max_inflight);
    while (!atomic_load(stop) && !d->consumer_failed)
        loop_turn(d, true);

    /* Drain: no new jobs; requests in flight finish, events are acked. */
    atomic_store(&d->stopping, true);
    int64_t deadline = dialer_now_real() + d->cfg->drain_ms * 1000;
    log_info("shutdown", "stopping: %zu job(s) in progress, %zu request(s) in flight",
             d->jobs_active, d->requests_in_flight);
    while (d->jobs_active > 0 && dialer_now_real() < deadline)
        loop_turn(d, false);
    size_t left = d->jobs_active;
    if (left)
        log_warn("shutdown", "%zu job(s) unfinished after %" PRId64 " ms: left for re-delivery",
                 left, d->cfg->drain_ms);

    /* Stored offsets are committed by the close, which leaves the group. */
    char err[512];
    atomic_store(&d->consumer_ready, false);
    if (kafka_consumer_close(d->consumer, err, sizeof(err)))
        log_warn("shutdown", "consumer close: %s", err);
    log_info("shutdown", "consumer closed; answering webhooks for %" PRId64 " ms more",
             d->cfg->webhook_drain_ms);
    int64_t hooks_until = dialer_now_real() + d->cfg->webhook_drain_ms * 1000;
    while (dialer_now_real() < hooks_until)
        loop_turn(d, false);
    registry_leave(d);
    if (d->consumer_failed)
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL,
                       "the dial-job consumer failed (see the log); restart the dialer");
    return OD_OK;
}

/* ---- setup ---- */

void dialer_ready(http_readiness_t *rd, void *arg)
{
    dialer_t *d = arg;
    if (atomic_load(&d->stopping))
        http_readiness_fail(rd, "dialer", "stopping: no new jobs are taken");
    else if (!atomic_load(&d->consumer_ready))
        http_readiness_fail(rd, "kafka", "the dial-job consumer is not running");
    if (!atomic_load(&d->redis_ok))
        http_readiness_fail(rd, "redis", "the last Redis command failed");
}

int dialer_new(const dialer_config_t *cfg, metrics_registry_t *reg, dialer_t **out, char *errbuf,
               size_t errlen)
{
    *out = NULL;
    dialer_t *d = xcalloc(1, sizeof(*d));
    d->cfg = cfg;
    d->webhook_ops = &provider_vapi;
    call_table_init(&d->calls);
    registry_init(d);
    pthread_mutex_init(&d->note_mu, NULL);
    atomic_store(&d->redis_ok, true);
    int rc = dialer_metrics_setup(&d->m, reg, errbuf, errlen);
    if (rc)
        goto fail;
    d->multi = curl_multi_init();
    if (!d->multi) {
        rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL, "curl_multi_init failed");
        goto fail;
    }
    curl_multi_setopt(d->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)cfg->max_connections);
    curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, (long)cfg->max_connections);
    rc = redis_new_from_env(&d->redis, errbuf, errlen);
    if (!rc)
        rc = redis_new_from_env(&d->hook_redis, errbuf, errlen);
    if (rc)
        goto fail;
    /* linger 2 ms: a webhook waits for its event's ack before answering,
     * and the provider sends a call's next message only after that. */
    static const kafka_prop_t pprops[] = {{"linger.ms", "2"}, {"message.timeout.ms", "30000"}};
    kafka_producer_opts_t popts = {.client_id = "outdial-dialer", .props = pprops, .prop_cnt = 2};
    rc = publisher_new(&popts, cfg->events_topic, &d->pub, errbuf, errlen);
    if (rc)
        goto fail;
    /* The deployment's group prefix + "dialer" ("outdial-dialer"). */
    char group[TOPIC_NAME_MAX + 1];
    rc = topic_group_from_env("dialer", group, sizeof(group), errbuf, errlen);
    if (rc)
        goto fail;
    kafka_consumer_opts_t copts = {.group_id = group, .client_id = "outdial-dialer"};
    const char *topics[] = {cfg->jobs_topic};
    rc = kafka_consumer_new(&copts, &d->consumer, errbuf, errlen);
    if (!rc)
        rc = kafka_consumer_subscribe(d->consumer, topics, 1, errbuf, errlen);
    if (rc)
        goto fail;
    atomic_store(&d->consumer_ready, true);
    *out = d;
    return OD_OK;
fail:
    dialer_free(d);
    return rc;
}

void dialer_free(dialer_t *d)
{
    if (!d)
        return;
    /* Requests still in flight (an aborted drain). */
    while (d->xfers) {
        xfer_t *x = d->xfers;
        xfer_unlink(d, x);
        curl_multi_remove_handle(d->multi, x->easy);
        xfer_free(x);
    }
    /* The publisher may still call back into jobs and notes: free it first. */
    publisher_free(d->pub, 10000);
    dial_note_t *n = d->notes;
    while (n) {
        dial_note_t *next = n->next;
        free(n);
        n = next;
    }
    while (d->line_retries) {
        struct line_retry *lr = d->line_retries;
        d->line_retries = lr->next;
        log_warn("line_lock", "release %s not done at exit (it expires with its lease)", lr->key);
        free(lr);
    }
    dial_part_t *p = d->parts;
    while (p) {
        dial_part_t *next = p->next;
        dial_job_t *job = p->head;
        while (job) {
            dial_job_t *jn = job->pnext;
            job_free(job);
            job = jn;
        }
        free(p->topic);
        free(p);
        p = next;
    }
    kafka_consumer_free(d->consumer);
    if (d->multi)
        curl_multi_cleanup(d->multi);
    redis_free(d->redis);
    redis_free(d->hook_redis);
    call_table_destroy(&d->calls);
    pthread_mutex_destroy(&d->note_mu);
    free(d);
}

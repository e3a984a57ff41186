/*
 * jobs.c — the dial jobs' stages, from the Redis checks to the acknowledged
 * event and the stored offset (jobs.h). One thread, no locks but the call
 * table's.
 */
#include "jobs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "clock.h"
#include "dial_event.h"
#include "dlist.h"
#include "job_legal.h"
#include "log.h"
#include "predial_request.h"
#include "rkeys.h"
#include "xmalloc.h"

/* After a Redis error, the job's checks run again this much later. */
#define JOB_RECHECK_US (1000 * 1000)
/* After a failed Kafka delivery, the event is sent again this much later. */
#define JOB_REPUBLISH_US (1000 * 1000)

typedef enum job_stage {
    JOB_CHECKING = 0, /* the checks run at wake_real_us (again, after a Redis error) */
    JOB_PREDIAL,      /* the pre-dial check's request is in flight */
    JOB_POSTING,      /* the create-call request is in flight */
    JOB_BACKOFF,      /* 429: the request is repeated at wake_real_us */
    JOB_UNCONFIRMED,  /* no answer: waiting until wake_real_us for a webhook */
    JOB_WAIT_INIT,    /* a webhook thread is publishing "initiated" */
    JOB_PUBLISHING,   /* our event is submitted; waiting for its ack */
    JOB_REPUBLISH,    /* the ack failed: sent again at wake_real_us */
    JOB_DONE,
} job_stage_t;

struct dial_job {
    offset_slot_t slot; /* first: its message and its place in the partition */
    jobs_t *js;
    dial_job_t *wnext, *wprev; /* waiting list */
    bool waiting;
    dialjob_t *dj; /* NULL when undecodable */
    provider_attempt_t attempt;
    const provider_ops_t *ops;
    const provider_conf_t *conf; /* ops' settings in this deployment */
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
    /* The pre-dial check's answer (NONE until asked), on every event. */
    model_predial_result_t predial_result;
    int64_t predial_latency_ms;
    char predial_reason[PREDIAL_REASON_MAX];
};

static void job_publish(jobs_t *js, dial_job_t *job);
static void job_after_init(jobs_t *js, dial_job_t *job);

/* What the checks (checks.h) need of the dialer. */
static checks_env_t job_checks_env(const jobs_t *js)
{
    checks_env_t env = {js->env.lr->redis, js->env.cfg->redis_prefix, js->env.cfg->instance_id,
                        &js->env.cfg->clk};
    return env;
}

/* The job's frequency-cap slot back: it was certainly not placed. */
static void job_slot_release(jobs_t *js, dial_job_t *job)
{
    checks_env_t env = job_checks_env(js);
    checks_slot_release(&env, job->dj, &job->cst);
}

/* The job's create-call request was answered, or failed after it was
 * sent: its frequency-cap slot counts from now, when the call was placed. */
static void job_slot_placed(jobs_t *js, dial_job_t *job)
{
    checks_env_t env = job_checks_env(js);
    checks_slot_placed(&env, job->dj, &job->cst);
}

/* ---- waiting list ---- */

static void wait_add(jobs_t *js, dial_job_t *job, int64_t wake_real_us)
{
    job->wake_real_us = wake_real_us;
    if (job->waiting)
        return;
    job->waiting = true;
    DLIST_PUSH(js->waiting, job, wprev, wnext);
}

static void wait_remove(jobs_t *js, dial_job_t *job)
{
    if (!job->waiting)
        return;
    DLIST_REMOVE(js->waiting, job, wprev, wnext);
    job->waiting = false;
    job->wnext = job->wprev = NULL;
}

/* ---- finishing ---- */

/* Frees a job once its offset is past (offsets.h). */
static void job_free(offset_slot_t *slot)
{
    dial_job_t *job = (dial_job_t *)slot; /* slot is the job's first member */
    kafka_message_free(job->slot.msg);
    dialjob_free(job->dj);
    dial_event_clear(&job->ev);
    free(job);
}

/* The job needs nothing more: its offset may be stored (store) or must not
 * be (an abandoned job, re-delivered after a restart). */
static void job_finish(jobs_t *js, dial_job_t *job, bool store)
{
    wait_remove(js, job);
    if (job->call) {
        pthread_mutex_lock(&js->env.calls->mu);
        if (job->call->job == job)
            job->call->job = NULL;
        pthread_mutex_unlock(&js->env.calls->mu);
        job->call = NULL;
    }
    job->stage = JOB_DONE;
    js->active--;
    metrics_gauge_set(js->env.m->jobs_in_progress, (double)js->active);
    offsets_finish(&js->offsets, &job->slot, store); /* may free job */
}

/* ---- publishing a job's event ---- */

/* Publisher thread: hand the outcome to the loop. */
static void job_event_done(void *arg, int rc, const char *err)
{
    dial_job_t *job = arg;
    note_queue_push(job->js->env.notes, NOTE_JOB_ACK, job, NULL, rc, err);
}

/* Submits job->ev; the job waits in PUBLISHING for the note. */
static void job_publish(jobs_t *js, dial_job_t *job)
{
    char err[512];
    wait_remove(js, job);
    job->stage = JOB_PUBLISHING;
    dial_event_predial_set(&job->ev, job->predial_result, job->predial_reason,
                           job->predial_latency_ms);
    if (job->cst.holds_caller &&
        job->ev.ev.status != OUTDIAL__V1__CALL_STATUS__CALL_STATUS_SKIPPED) {
        const char *e164, *number_id;
        checks_caller_id(job->dj, &job->cst, &e164, &number_id);
        dial_event_caller_id_set(&job->ev, e164);
    }
    int rc = publisher_send(js->env.pub, &job->ev, job_event_done, job, err, sizeof(err));
    if (rc) {
        /* Our own event does not encode: a bug, never bad input (the job
         * decoded). Leave the offset for a fixed dialer. */
        log_error("event_encode", "attempt %s: %s; the job is left for re-delivery",
                  job->attempt.attempt_id, err);
        job_finish(js, job, false);
    }
}

/* not_before_us: caller_id_exhausted's wake (CallEvent.not_before_us); 0
 * for the other reasons. */
static void job_skip(jobs_t *js, dial_job_t *job, model_skip_reason_t reason, const char *detail,
                     int64_t not_before_us)
{
    metrics_counter_add(js->env.m->skipped[reason], 1);
    log_info("job_skipped", "attempt %s lead %s: skipped %s: %s", job->attempt.attempt_id,
             job->attempt.lead_id, model_skip_reason_name(reason), detail);
    dial_event_skipped(&job->ev, &job->attempt, reason, detail, od_clock_now_us(&js->env.cfg->clk));
    job->ev.ev.not_before_us = not_before_us;
    job_publish(js, job);
}

/* Forgets the job's call record (the call was not placed). */
static void call_drop(jobs_t *js, dial_job_t *job)
{
    if (!job->call)
        return;
    pthread_mutex_lock(&js->env.calls->mu);
    job->call->init = CALL_INIT_ABANDONED;
    call_table_remove(js->env.calls, job->call);
    pthread_cond_broadcast(&js->env.calls->cond);
    pthread_mutex_unlock(&js->env.calls->mu);
    job->call = NULL;
    metrics_gauge_set(js->env.m->calls_in_flight, (double)js->env.calls->count);
}

/* The create-call request was refused (or could not be made): publish
 * failed. A webhook that already proved the call placed wins over the
 * refusal. The line lock is released unless the call may exist. */
static void job_fail(jobs_t *js, dial_job_t *job, const char *kind, bool permanent,
                     const char *reason, const char *detail, bool release_line)
{
    if (job->call) {
        pthread_mutex_lock(&js->env.calls->mu);
        call_init_t init = job->call->init;
        job->call->posting = false;
        pthread_cond_broadcast(&js->env.calls->cond);
        pthread_mutex_unlock(&js->env.calls->mu);
        if (init == CALL_INIT_PUBLISHING || init == CALL_INIT_DONE) {
            log_warn("create_call", "attempt %s: %s, but a webhook shows the call placed",
                     job->attempt.attempt_id, reason);
            job->placed = true;
            job_after_init(js, job);
            return;
        }
        call_drop(js, job);
    }
    if (release_line && job->cst.holds_line)
        line_locks_release(js->env.lines, job->line_key, job->attempt.attempt_id);
    if (release_line)
        job_slot_release(js, job);
    log_info("call_failed", "attempt %s lead %s: failed (%s) %s: %s", job->attempt.attempt_id,
             job->attempt.lead_id, permanent ? "permanent" : "transient", reason, detail);
    dial_event_failed(&job->ev, &job->attempt, kind, permanent, reason, "",
                      od_clock_now_us(&js->env.cfg->clk));
    job_publish(js, job);
}

/* Gives a job back unprocessed (shutdown, before anything was placed):
 * frees what it holds in Redis so that the re-delivered job can be dialed,
 * and leaves its offset unstored. */
static void job_abandon(jobs_t *js, dial_job_t *job)
{
    char err[256], key[RKEYS_KEY_MAX];
    call_drop(js, job);
    if (job->cst.holds_line)
        line_locks_release(js->env.lines, job->line_key, job->attempt.attempt_id);
    job_slot_release(js, job);
    if (job->cst.holds_attempt_key) {
        rkeys_attempt(js->env.cfg->redis_prefix, job->attempt.attempt_id, key);
        /* Compare-and-delete with the job's token: a fence written by the
         * scheduler meanwhile stays. */
        int rc =
            redis_lock_release(js->env.lr->redis, key, job->cst.attempt_token, err, sizeof(err));
        if (rc && rc != OD_ERR_CONFLICT)
            log_warn("shutdown", "attempt %s: attempt key not released: %s",
                     job->attempt.attempt_id, err);
    }
    log_info("shutdown", "attempt %s: not placed; left for re-delivery", job->attempt.attempt_id);
    job_finish(js, job, false);
}

/* ---- the create-call request ---- */

/* The last campaign instant at which a create-call request may leave: the
 * window's end less the guard, the time given to the request's own trip. */
static int64_t job_send_before(const jobs_t *js, const dial_job_t *job)
{
    int64_t guard_us =
        (int64_t)((double)js->env.cfg->window_guard_ms * 1000.0 * js->env.cfg->clk.scale);
    return job->dj->not_after_us - guard_us;
}

/* A create-call request that would leave too late is not sent: the call is
 * not placed (the attempt key stays ours: nothing was dialed, the scheduler
 * takes the lead back on the skip). */
static void job_skip_late(jobs_t *js, dial_job_t *job)
{
    char err[512], until[40];
    od_time_format_rfc3339(job->dj->not_after_us, until, sizeof(until));
    snprintf(err, sizeof(err),
             "the calling window closes at %s, within the %" PRId64
             " ms a create-call request is given to reach the provider",
             until, js->env.cfg->window_guard_ms);
    call_drop(js, job);
    line_locks_release(js->env.lines, job->line_key, job->attempt.attempt_id);
    job_slot_release(js, job);
    job_skip(js, job, MODEL_SKIP_OUTSIDE_WINDOW, err, 0);
}

static void job_predial_start(jobs_t *js, dial_job_t *job);

static void job_post(jobs_t *js, dial_job_t *job)
{
    char err[512];
    wait_remove(js, job);
    /* Last look at the window here (the checks took time), and again by
     * libcurl the moment the request leaves (send_before_us): a request
     * can wait for a free connection, or for a dial loop stalled on Redis,
     * long after this. */
    int64_t send_before = job_send_before(js, job);
    int64_t now = od_clock_now_us(&js->env.cfg->clk);
    if (now >= send_before) {
        job_skip_late(js, job);
        return;
    }
    /* And at the callee's legal rules, over the span the request is given. */
    int64_t guard_us = job->dj->not_after_us - send_before;
    bool allowed = true;
    char why[PROVIDER_DETAIL_MAX];
    if (job_legal_check(job->dj, now, guard_us, &allowed, why, sizeof(why), err, sizeof(err))) {
        allowed = false;
        snprintf(why, sizeof(why), "the job's legal rules cannot be read: %.200s", err);
    }
    if (!allowed) {
        call_drop(js, job);
        line_locks_release(js->env.lines, job->line_key, job->attempt.attempt_id);
        job_slot_release(js, job); /* not placed: its frequency-cap slot back */
        job_skip(js, job, MODEL_SKIP_LEGAL_RULES, why, 0);
        return;
    }
    /* Every check of ours passed: now the user's own, once per job (a
     * request repeated after a 429 does not ask again). */
    if (job->dj->predial->url && job->dj->predial->url[0] &&
        job->predial_result == MODEL_PREDIAL_NONE) {
        job_predial_start(js, job);
        return;
    }
    xfer_t *x = xcalloc(1, sizeof(*x));
    x->kind = XFER_CREATE;
    x->job = job;
    x->ops = job->ops;
    x->send_before_us = send_before;
    x->clk = &js->env.cfg->clk;
    /* The job as the provider sees it: from the caller-ID pool's pick (a
     * shallow copy; the strings stay the decoded job's). */
    dialjob_t from = *job->dj;
    const char *e164, *number_id;
    checks_caller_id(job->dj, &job->cst, &e164, &number_id);
    from.caller_id = (char *)e164;
    from.provider_phone_number_id = (char *)number_id;
    if (job->call) {
        pthread_mutex_lock(&js->env.calls->mu);
        snprintf(job->call->caller_id, sizeof(job->call->caller_id), "%s", e164);
        pthread_mutex_unlock(&js->env.calls->mu);
    }
    int rc = job->ops->call_request_build(job->conf, &from, &x->req, err, sizeof(err));
    if (rc) {
        xfer_free(x);
        metrics_counter_add(js->env.m->provider_errors[DIALER_PERR_PERMANENT], 1);
        job_fail(js, job, DIAL_KIND_END, true, "invalid-request", err, true);
        return;
    }
    rc = xfer_start(js->env.xfers, x, js->env.cfg->request_timeout_ms);
    if (rc) {
        xfer_free(x);
        job_fail(js, job, DIAL_KIND_END, false, "dialer-internal-error", "libcurl refused", true);
        return;
    }
    job->posts++;
    job->stage = JOB_POSTING;
}

/* ---- the pre-dial check ---- */

/* Acts on the check's answer: records it (job, call record, metrics),
 * then places the call (job_post looks at the window and the legal rules
 * again: the check took time) or skips the job, giving back what the
 * checks took. A job answered while the dialer stops is given back. */
static void job_predial_decided(jobs_t *js, dial_job_t *job, const predial_response_t *resp,
                                int64_t latency_ms)
{
    predial_decision_t d;
    predial_decide(resp,
                   job->dj->predial->call_on_error ? MODEL_PREDIAL_ON_ERROR_CALL
                                                   : MODEL_PREDIAL_ON_ERROR_SKIP,
                   &d);
    metrics_counter_add(js->env.m->predial_results[d.result], 1);
    job->predial_result = d.result;
    job->predial_latency_ms = latency_ms;
    snprintf(job->predial_reason, sizeof(job->predial_reason), "%s", d.reason);
    if (job->call) {
        pthread_mutex_lock(&js->env.calls->mu);
        job->call->predial_result = d.result;
        job->call->predial_latency_ms = latency_ms;
        snprintf(job->call->predial_reason, sizeof(job->call->predial_reason), "%s", d.reason);
        pthread_mutex_unlock(&js->env.calls->mu);
    }
    log_info("predial", "attempt %s lead %s: %s in %" PRId64 " ms%s%s", job->attempt.attempt_id,
             job->attempt.lead_id, model_predial_result_name(d.result), latency_ms,
             d.reason[0] ? ": " : "", d.reason);
    if (js->stopping) {
        job_abandon(js, job);
        return;
    }
    if (!d.place_call) {
        call_drop(js, job);
        line_locks_release(js->env.lines, job->line_key, job->attempt.attempt_id);
        job_slot_release(js, job); /* not placed: its frequency-cap slot back */
        bool refused = d.result == MODEL_PREDIAL_REFUSED;
        char detail[PREDIAL_REASON_MAX + 64];
        snprintf(detail, sizeof(detail), "%s", d.reason[0] ? d.reason : "no reason given");
        job_skip(js, job, refused ? MODEL_SKIP_PREDIAL_REFUSED : MODEL_SKIP_PREDIAL_ERROR, detail,
                 0);
        return;
    }
    job_post(js, job);
}

/* Sends the job's pre-dial check on the dial loop's multi handle: the
 * loop goes on, and jobs_predial_done() takes the answer. */
static void job_predial_start(jobs_t *js, dial_job_t *job)
{
    xfer_t *x = xcalloc(1, sizeof(*x));
    x->kind = XFER_PREDIAL;
    x->job = job;
    predial_request_build(job->dj, &x->req);
    job->stage = JOB_PREDIAL;
    if (xfer_start(js->env.xfers, x, job->dj->predial->timeout_ms)) {
        xfer_free(x);
        predial_response_t resp;
        predial_response_read(CURLE_FAILED_INIT, 0, NULL, 0, job->dj->predial->timeout_ms, &resp);
        job_predial_decided(js, job, &resp, 0);
    }
}

void jobs_predial_done(jobs_t *js, const xfer_t *x, CURLcode crc)
{
    dial_job_t *job = x->job;
    int64_t latency_us = od_clock_real_us() - x->started_real_us;
    metrics_histogram_observe(js->env.m->predial_seconds, (double)latency_us / 1e6);
    predial_response_t resp;
    predial_response_read(crc, xfer_http_status(x), x->resp, x->resp_len,
                          job->dj->predial->timeout_ms, &resp);
    job_predial_decided(js, job, &resp, latency_us / 1000);
}

/* ---- checks ---- */

static void job_check(jobs_t *js, dial_job_t *job)
{
    checks_env_t env = job_checks_env(js);
    check_result_t res;
    checks_run(&env, job->dj, job->lease_ms, &job->cst, &res);
    switch (res.verdict) {
    case CHECK_RETRY:
        loop_redis_result(js->env.lr, OD_ERR_UNAVAILABLE);
        /* Once, then every minute: Redis down means every job says so. */
        if (job->check_retries++ % 60 == 0)
            log_warn("checks", "attempt %s: %s; checking again every second",
                     job->attempt.attempt_id, res.detail);
        job->stage = JOB_CHECKING;
        wait_add(js, job, od_clock_real_us() + JOB_RECHECK_US);
        return;
    case CHECK_DUPLICATE:
        loop_redis_result(js->env.lr, OD_OK);
        metrics_counter_add(js->env.m->jobs_duplicate, 1);
        log_info("job_duplicate", "attempt %s: %s; nothing to do", job->attempt.attempt_id,
                 res.detail);
        job_finish(js, job, true);
        return;
    case CHECK_SKIP:
        loop_redis_result(js->env.lr, OD_OK);
        if (job->cst.holds_line) /* not after a skip, but keep the rule local */
            line_locks_release(js->env.lines, job->line_key, job->attempt.attempt_id);
        job_slot_release(js, job); /* caller_id_exhausted: its frequency-cap slot back */
        job_skip(js, job, res.reason, res.detail, res.not_before_us);
        return;
    case CHECK_DIAL:
        loop_redis_result(js->env.lr, OD_OK);
        break;
    }
    /* Every check passed: the call record, then the request. */
    pthread_mutex_lock(&js->env.calls->mu);
    dial_call_t *c = call_table_find(js->env.calls, job->attempt.attempt_id);
    if (c) {
        /* Our own attempt key let a second copy through: impossible unless
         * the key was deleted by hand. Never dial twice. */
        pthread_mutex_unlock(&js->env.calls->mu);
        log_error("job_duplicate", "attempt %s is already being dialed here",
                  job->attempt.attempt_id);
        metrics_counter_add(js->env.m->jobs_duplicate, 1);
        job_finish(js, job, true);
        return;
    }
    c = call_table_add(js->env.calls, &job->attempt);
    snprintf(c->e164, sizeof(c->e164), "%s", job->dj->e164);
    c->ops = job->ops;
    c->posting = true;
    c->reconcile_after_us = job->max_call_us + js->env.cfg->reconcile_margin_ms * 1000;
    c->lock_held = true;
    c->lock_lease_ms = job->lease_ms;
    c->lock_renew_real_us = od_clock_real_us() + job->lease_ms * 1000 / 2;
    c->job = job;
    pthread_mutex_unlock(&js->env.calls->mu);
    metrics_gauge_set(js->env.m->calls_in_flight, (double)js->env.calls->count);
    job->call = c;
    job_post(js, job);
}

/* A message from the jobs topic. */
void jobs_take(jobs_t *js, rd_kafka_message_t *msg)
{
    char err[512];
    dial_job_t *job = xcalloc(1, sizeof(*job));
    job->js = js;
    offsets_add(&js->offsets, &job->slot, msg);
    js->active++;
    metrics_gauge_set(js->env.m->jobs_in_progress, (double)js->active);
    metrics_counter_add(js->env.m->jobs_consumed, 1);

    if (dialjob_decode(msg->payload, msg->len, &job->dj, err, sizeof(err))) {
        /* No retry can fix it: log where it is and move on. */
        metrics_counter_add(js->env.m->jobs_undecodable, 1);
        log_error("job_rejected", "%s [%" PRId32 "] offset %" PRId64 ": %s",
                  rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset, err);
        job_finish(js, job, true);
        return;
    }
    dial_attempt_from_job(job->dj, &job->attempt);
    const dialer_provider_t *provider = dialer_config_provider(js->env.cfg, job->dj->provider);
    if (!provider) {
        metrics_counter_add(js->env.m->provider_errors[DIALER_PERR_TRANSIENT], 1);
        char detail[160];
        snprintf(detail, sizeof(detail), "provider '%.40s' is not served by this dialer",
                 job->dj->provider);
        job_fail(js, job, DIAL_KIND_END, false, "provider-unsupported", detail, false);
        return;
    }
    job->ops = provider->ops;
    job->conf = &provider->conf;
    int64_t max_call_s = job->dj->max_call_duration_s ? job->dj->max_call_duration_s
                                                      : js->env.cfg->default_max_call_s;
    job->max_call_us = od_clock_real_duration_us(&js->env.cfg->clk, max_call_s * OD_USEC_PER_SEC);
    job->lease_ms = job->max_call_us / 1000 + js->env.cfg->line_margin_ms;
    checks_env_t env = job_checks_env(js);
    checks_line_key(&env, job->dj->e164, job->line_key);
    job_check(js, job);
}

/* ---- "initiated" ---- */

/* After the create-call answer (or its absence): publish "initiated"
 * unless a webhook thread does or did, then finish. */
static void job_after_init(jobs_t *js, dial_job_t *job)
{
    dial_call_t *c = job->call;
    pthread_mutex_lock(&js->env.calls->mu);
    call_init_t init = c->init;
    if (init == CALL_INIT_NONE && job->placed) {
        c->init = CALL_INIT_PUBLISHING;
        c->job = job;
    } else if (init == CALL_INIT_NONE || init == CALL_INIT_PUBLISHING) {
        c->job = job;
    }
    char call_id[PROVIDER_CALL_ID_MAX];
    snprintf(call_id, sizeof(call_id), "%s", c->provider_call_id);
    pthread_mutex_unlock(&js->env.calls->mu);

    switch (init) {
    case CALL_INIT_DONE:
        if (!job->counted) {
            job->counted = true;
            metrics_counter_add(js->env.m->calls_placed, 1);
        }
        job_finish(js, job, true);
        return;
    case CALL_INIT_ABANDONED: /* not reached: abandoned records are dropped at once */
        job_finish(js, job, true);
        return;
    case CALL_INIT_PUBLISHING:
        wait_remove(js, job);
        job->stage = JOB_WAIT_INIT;
        return;
    case CALL_INIT_NONE:
        break;
    }
    if (!job->placed) {
        /* No answer: a webhook may still prove the call placed. */
        if (job->stage != JOB_UNCONFIRMED) {
            job->stage = JOB_UNCONFIRMED;
            wait_add(js, job, od_clock_real_us() + js->env.cfg->unconfirmed_grace_ms * 1000);
        }
        return;
    }
    if (!job->counted) {
        job->counted = true;
        metrics_counter_add(js->env.m->calls_placed, 1);
    }
    dial_event_initiated(&job->ev, &job->attempt, call_id, od_clock_now_us(&js->env.cfg->clk));
    job->ev_is_init = true;
    job_publish(js, job);
}

/* The grace for an unanswered create-call request is over. */
static void job_unconfirmed_expired(jobs_t *js, dial_job_t *job)
{
    pthread_mutex_lock(&js->env.calls->mu);
    call_init_t init = job->call->init;
    if (init == CALL_INIT_NONE)
        job->call->init = CALL_INIT_ABANDONED;
    pthread_mutex_unlock(&js->env.calls->mu);
    if (init != CALL_INIT_NONE) {
        job->placed = true;
        job_after_init(js, job);
        return;
    }
    /* It may exist all the same: keep the line lock until its lease ends. */
    call_drop(js, job);
    log_warn("create_call",
             "attempt %s: no answer to the create-call request and no webhook "
             "within %" PRId64 " ms; reporting a transient failure",
             job->attempt.attempt_id, js->env.cfg->unconfirmed_grace_ms);
    dial_event_failed(&job->ev, &job->attempt, DIAL_KIND_UNCONFIRMED, false, "provider-no-answer",
                      "", od_clock_now_us(&js->env.cfg->clk));
    job_publish(js, job);
}

/* ---- create-call answers ---- */

void jobs_create_done(jobs_t *js, const xfer_t *x, CURLcode crc)
{
    dial_job_t *job = x->job;
    metrics_histogram_observe(js->env.m->create_call_seconds,
                              (double)(od_clock_real_us() - x->started_real_us) / 1e6);
    if (x->refused_late) {
        job_skip_late(js, job);
        return;
    }
    if (crc != CURLE_OK) {
        bool never = xfer_never_sent(x, crc);
        metrics_counter_add(
            js->env.m->provider_errors[crc == CURLE_OPERATION_TIMEDOUT ? DIALER_PERR_TIMEOUT
                                                                       : DIALER_PERR_CONNECTION],
            1);
        if (never) {
            job_fail(js, job, DIAL_KIND_END, false, "provider-unreachable", curl_easy_strerror(crc),
                     true);
            return;
        }
        log_warn("create_call", "attempt %s: %s after the request was sent: the call may exist",
                 job->attempt.attempt_id, curl_easy_strerror(crc));
        job_slot_placed(js, job);
        pthread_mutex_lock(&js->env.calls->mu);
        job->call->posting = false;
        pthread_cond_broadcast(&js->env.calls->cond);
        pthread_mutex_unlock(&js->env.calls->mu);
        job_after_init(js, job);
        return;
    }
    long status = xfer_http_status(x);
    provider_place_result_t res;
    x->ops->call_response_parse(status, x->resp, x->resp_len,
                                x->retry_after[0] ? x->retry_after : NULL, &res);
    switch (res.outcome) {
    case PROVIDER_PLACE_OK:
        job->placed = true;
        job_slot_placed(js, job);
        pthread_mutex_lock(&js->env.calls->mu);
        call_set_provider_id(js->env.calls, job->call, res.provider_call_id);
        job->call->posting = false;
        pthread_cond_broadcast(&js->env.calls->cond);
        pthread_mutex_unlock(&js->env.calls->mu);
        if (res.detail[0])
            log_warn("create_call", "attempt %s: %s", job->attempt.attempt_id, res.detail);
        job_after_init(js, job);
        return;
    case PROVIDER_PLACE_RATE_LIMITED: {
        metrics_counter_add(js->env.m->provider_errors[DIALER_PERR_RATE_LIMITED], 1);
        int64_t wait_ms = js->env.cfg->rate_limit_backoff_ms
                          << (job->posts > 6 ? 5 : job->posts - 1);
        if (res.retry_after_ms > wait_ms)
            wait_ms = res.retry_after_ms;
        int64_t resume_us = od_clock_now_us(&js->env.cfg->clk) +
                            (int64_t)((double)wait_ms * 1000.0 * js->env.cfg->clk.scale);
        if (job->posts > js->env.cfg->rate_limit_retries || js->stopping ||
            resume_us >= job->dj->not_after_us) {
            job_fail(js, job, DIAL_KIND_END, false, res.ended_reason,
                     job->posts > js->env.cfg->rate_limit_retries ? "rate limited on every try"
                                                                  : "rate limited; no time left",
                     true);
            return;
        }
        log_info("create_call", "attempt %s: rate limited (%s); again in %" PRId64 " ms",
                 job->attempt.attempt_id, res.detail, wait_ms);
        job->stage = JOB_BACKOFF;
        wait_add(js, job, od_clock_real_us() + wait_ms * 1000);
        return;
    }
    case PROVIDER_PLACE_TRANSIENT:
        metrics_counter_add(js->env.m->provider_errors[DIALER_PERR_TRANSIENT], 1);
        if (strcmp(res.ended_reason, "provider-unauthorized") == 0)
            log_error("create_call", "the provider refused our key (%s): check %s", res.detail,
                      job->ops->env.api_key);
        job_fail(js, job, DIAL_KIND_END, false, res.ended_reason, res.detail, true);
        return;
    case PROVIDER_PLACE_PERMANENT:
        metrics_counter_add(js->env.m->provider_errors[DIALER_PERR_PERMANENT], 1);
        job_fail(js, job, DIAL_KIND_END, true, res.ended_reason, res.detail, true);
        return;
    }
}

/* A 429 back-off is over: check the window and the campaign again, then
 * repeat the request. */
static void job_backoff_over(jobs_t *js, dial_job_t *job)
{
    checks_env_t env = job_checks_env(js);
    check_result_t res;
    checks_recheck(&env, job->dj, &res);
    if (res.verdict == CHECK_RETRY) {
        loop_redis_result(js->env.lr, OD_ERR_UNAVAILABLE);
        wait_add(js, job, od_clock_real_us() + JOB_RECHECK_US);
        return;
    }
    loop_redis_result(js->env.lr, OD_OK);
    if (res.verdict == CHECK_SKIP && res.reason == MODEL_SKIP_OUTSIDE_WINDOW) {
        job_fail(js, job, DIAL_KIND_END, false, "provider-rate-limited", res.detail, true);
        return;
    }
    if (res.verdict == CHECK_SKIP) {
        call_drop(js, job);
        line_locks_release(js->env.lines, job->line_key, job->attempt.attempt_id);
        job_slot_release(js, job);
        job_skip(js, job, res.reason, res.detail, res.not_before_us);
        return;
    }
    job_post(js, job);
}

/* ---- notes and timers ---- */

void jobs_note(jobs_t *js, const dial_note_t *n)
{
    if (n->kind == NOTE_JOB_ACK) {
        dial_job_t *job = n->job;
        if (n->rc) {
            log_warn("event_publish", "attempt %s event %s: %s; sending it again",
                     job->attempt.attempt_id, job->ev.event_id, n->err);
            job->stage = JOB_REPUBLISH;
            wait_add(js, job, od_clock_real_us() + JOB_REPUBLISH_US);
        } else if (job->ev_is_init) {
            pthread_mutex_lock(&js->env.calls->mu);
            call_mark_initiated(job->call, od_clock_real_us());
            pthread_cond_broadcast(&js->env.calls->cond);
            pthread_mutex_unlock(&js->env.calls->mu);
            job_finish(js, job, true);
        } else {
            job_finish(js, job, true);
        }
    } else if (n->kind == NOTE_INIT_DONE) {
        pthread_mutex_lock(&js->env.calls->mu);
        dial_call_t *c = call_table_find(js->env.calls, n->attempt_id);
        dial_job_t *job = c ? c->job : NULL;
        pthread_mutex_unlock(&js->env.calls->mu);
        if (job && (job->stage == JOB_WAIT_INIT || job->stage == JOB_UNCONFIRMED)) {
            if (job->stage == JOB_UNCONFIRMED)
                wait_remove(js, job);
            job->placed = true;
            job_after_init(js, job);
        }
    }
}

/* What each timed stage does when its wake_real_us comes; NULL for the
 * stages that wait on a request or an ack instead. */
static void (*const on_wake[JOB_DONE + 1])(jobs_t *js, dial_job_t *job) = {
    [JOB_CHECKING] = job_check,
    [JOB_BACKOFF] = job_backoff_over,
    [JOB_UNCONFIRMED] = job_unconfirmed_expired,
    [JOB_REPUBLISH] = job_publish,
};

void jobs_wake(jobs_t *js)
{
    int64_t now = od_clock_real_us();
    bool stopping = js->stopping;
    dial_job_t *job = js->waiting;
    while (job) {
        dial_job_t *next = job->wnext;
        bool due = now >= job->wake_real_us;
        if (stopping && (job->stage == JOB_CHECKING || job->stage == JOB_BACKOFF)) {
            job_abandon(js, job); /* nothing placed: let another dialer have it */
        } else if (due) {
            wait_remove(js, job);
            if (on_wake[job->stage])
                on_wake[job->stage](js, job);
        }
        job = next;
    }
}

void jobs_init(jobs_t *js, const jobs_env_t *env)
{
    memset(js, 0, sizeof(*js));
    js->env = *env;
    offsets_init(&js->offsets, env->consumer, job_free);
}

void jobs_destroy(jobs_t *js)
{
    offsets_destroy(&js->offsets);
}

/*
 * webhook.c — POST /webhooks/<provider>: the provider's messages about the
 * calls, turned into call events.
 *
 *   1. the provider's proof of origin (a shared secret compared in
 *      constant time, or a signature of the body), before anything in
 *      the body is used                                        else 401
 *   2. the body parsed by the provider (call and metadata required)
 *                                                              else 400
 *   3. for a call this dialer is placing: wait (bounded) until its
 *      "initiated" event is out, or publish it ourselves when the webhook
 *      is the first sign that the call exists
 *   4. the event published and acknowledged by Kafka           else 503
 *   5. for the terminal report: the line lock released (compare-and-delete
 *      with the attempt id as the token)
 *   6. 200 {"status":"ok","event_id":...}
 *
 * Stateless beyond the call table: a webhook for a call another dialer
 * placed (or this one before a restart) carries everything in its metadata.
 */
#include "webhook.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "dial_event.h"
#include "log.h"
#include "rkeys.h"

/* How long a webhook waits for Kafka's acknowledgement. Under the
 * provider's own 10 s timeout, so that it gets our 503 rather than none. */
#define WEBHOOK_ACK_TIMEOUT_MS 8000

static void count(webhook_t *w, dialer_hook_t hook)
{
    metrics_counter_add(w->m->webhooks[hook], 1);
}

/* Step 3. Returns after "initiated" is acknowledged (by whoever sent it),
 * when the call is not ours, or when the wait ran out. */
static void initiated_first(webhook_t *w, const provider_msg_t *m)
{
    int64_t deadline = od_clock_real_us() + w->cfg->webhook_wait_ms * 1000;
    if (!call_table_init_claim(w->calls, m->attempt.attempt_id, m->provider_call_id, deadline))
        return;

    char err[512];
    dial_event_t ev;
    int64_t at = m->occurred_at_us > 0 ? m->occurred_at_us : od_clock_now_us(&w->cfg->clk);
    dial_event_initiated(&ev, &m->attempt, m->provider_call_id, at);
    /* The job's pre-dial answer, which its own "initiated" would carry. */
    pthread_mutex_lock(&w->calls->mu);
    const dial_call_t *c = call_table_find(w->calls, m->attempt.attempt_id);
    if (c) {
        dial_event_predial_set(&ev, c->predial_result, c->predial_reason, c->predial_latency_ms);
        dial_event_caller_id_set(&ev, c->caller_id);
    }
    pthread_mutex_unlock(&w->calls->mu);
    int rc = publisher_send_sync(w->pub, &ev, WEBHOOK_ACK_TIMEOUT_MS, err, sizeof(err));
    dial_event_clear(&ev);
    call_table_init_settle(w->calls, m->attempt.attempt_id, rc == OD_OK, od_clock_real_us());
    if (rc)
        log_warn("webhook", "attempt %s: initiated event: %s", m->attempt.attempt_id, err);
    note_queue_push(w->notes, NOTE_INIT_DONE, NULL, m->attempt.attempt_id, OD_OK, NULL);
}

/* Step 5: release the number for the next call. */
static void line_release(webhook_t *w, const provider_msg_t *m)
{
    char e164[PROVIDER_E164_MAX];
    snprintf(e164, sizeof(e164), "%s", m->e164);
    call_table_mark_terminal(w->calls, m->attempt.attempt_id, e164);
    if (!e164[0]) {
        log_warn("line_lock",
                 "attempt %s: the report names no number; its line lock expires "
                 "with its lease",
                 m->attempt.attempt_id);
        return;
    }
    char key[RKEYS_KEY_MAX], err[256];
    rkeys_line(w->cfg->redis_prefix, e164, key);
    int rc = redis_lock_release(w->redis, key, m->attempt.attempt_id, err, sizeof(err));
    if (rc && rc != OD_ERR_CONFLICT) {
        log_warn("line_lock", "release %s: %s (the dial loop tries again every second)", key, err);
        line_locks_release_later(w->lines, key, m->attempt.attempt_id);
    }
}

static void webhook(http_request_t *req, http_response_t *resp, void *arg)
{
    webhook_t *w = arg;
    const provider_ops_t *ops = w->ops;
    char err[512];

    /* 1. Nothing about the body is used before its origin is proven. */
    size_t len = 0;
    const char *body = http_request_body(req, &len);
    if (ops->webhook_verify(w->conf, http_request_header(req, ops->auth_header), body, len,
                            od_clock_real_us() / 1000, err, sizeof(err))) {
        count(w, DIALER_HOOK_UNAUTHORIZED);
        log_warn("webhook_unauthorized", "%s webhook from %s refused: %s", ops->name,
                 http_request_remote_addr(req), err);
        http_response_error(resp, 401, "unauthorized", err, NULL);
        return;
    }
    provider_msg_t m;
    if (ops->webhook_parse(body, len, &m, err, sizeof(err))) {
        count(w, DIALER_HOOK_MALFORMED);
        log_warn("webhook_malformed", "webhook from %s refused: %s", http_request_remote_addr(req),
                 err);
        http_response_error(resp, 400, "invalid", err, NULL);
        return;
    }
    dial_event_t ev;
    memset(&ev, 0, sizeof(ev));
    switch (m.kind) {
    case PROVIDER_MSG_IGNORED:
        count(w, DIALER_HOOK_IGNORED);
        http_response_json(resp, 200, "{\"status\":\"ignored\"}");
        goto out;
    case PROVIDER_MSG_ENDED:
        count(w, DIALER_HOOK_ENDED);
        /* The report should follow; if it does not, the dial loop looks
         * the call up after the grace period. */
        call_table_ended_seen(w->calls, m.attempt.attempt_id, od_clock_real_us());
        http_response_json(resp, 200, "{\"status\":\"ok\"}");
        goto out;
    case PROVIDER_MSG_RINGING:
        count(w, DIALER_HOOK_RINGING);
        break;
    case PROVIDER_MSG_IN_PROGRESS:
        count(w, DIALER_HOOK_IN_PROGRESS);
        break;
    case PROVIDER_MSG_REPORT:
        count(w, DIALER_HOOK_REPORT);
        if (!m.result.reason_known)
            log_warn("ended_reason",
                     "attempt %s: unknown %s ended reason '%s' taken as a transient "
                     "failure",
                     m.attempt.attempt_id, ops->name, m.result.ended_reason);
        break;
    }

    initiated_first(w, &m);
    /* A message that came late, after the report, is not published: it
     * would only be noise. */
    if (m.kind != PROVIDER_MSG_REPORT && call_table_terminal_done(w->calls, m.attempt.attempt_id)) {
        http_response_json(resp, 200, "{\"status\":\"stale\"}");
        goto out;
    }
    if (dial_event_from_msg(&ev, &m, od_clock_now_us(&w->cfg->clk)) != OD_OK) {
        http_response_json(resp, 200, "{\"status\":\"ignored\"}");
        goto out;
    }
    /* The number the call came from, when this dialer placed it (another
     * dialer's call: the event names none; its "initiated" did). */
    pthread_mutex_lock(&w->calls->mu);
    const dial_call_t *placed = call_table_find(w->calls, m.attempt.attempt_id);
    if (placed)
        dial_event_caller_id_set(&ev, placed->caller_id);
    pthread_mutex_unlock(&w->calls->mu);
    int rc = publisher_send_sync(w->pub, &ev, WEBHOOK_ACK_TIMEOUT_MS, err, sizeof(err));
    if (rc == OD_ERR_INVALID) {
        /* The message's values do not make a valid event (a codec check). */
        count(w, DIALER_HOOK_MALFORMED);
        log_warn("webhook_malformed", "attempt %s: %s", m.attempt.attempt_id, err);
        http_response_error(resp, 400, "invalid", err, NULL);
        goto out;
    }
    if (rc) {
        count(w, DIALER_HOOK_UNAVAILABLE);
        log_warn("webhook", "attempt %s: %s event not published: %s", m.attempt.attempt_id, ev.kind,
                 err);
        http_response_header_add(resp, "Retry-After", "1");
        http_response_error(resp, 503, "unavailable",
                            "the event could not be recorded; send the message again", NULL);
        goto out;
    }
    if (m.kind == PROVIDER_MSG_REPORT)
        line_release(w, &m);
    char answer[96];
    snprintf(answer, sizeof(answer), "{\"status\":\"ok\",\"event_id\":\"%s\"}", ev.event_id);
    http_response_json(resp, 200, answer);
out:
    dial_event_clear(&ev);
    provider_msg_clear(&m);
}

int webhook_routes_add(webhook_t *w, http_server_t *srv, char *errbuf, size_t errlen)
{
    char path[64];
    snprintf(path, sizeof(path), "/webhooks/%s", w->ops->name);
    return http_route_add(srv, "POST", path, webhook, w, errbuf, errlen);
}

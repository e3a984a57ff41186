#include "sim_engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "dlist.h"
#include "log.h"
#include "sim_logfile.h"
#include "sim_protocol.h"
#include "xmalloc.h"

/* Steps fire when due within this many µs: the poll timeout has
 * millisecond resolution, so waiting for the exact µs would spin. */
#define ENGINE_EARLY_US 500
/* Steps fired per hold of the lock: a burst of thousands of calls due at
 * once (instant mode) must not keep POST /call waiting for the lock. */
#define ENGINE_BATCH 256
/* The engine wakes at least this often even with nothing to do, so a stop
 * request is seen promptly even if a wake-up were lost. */
#define ENGINE_IDLE_MS 1000

struct sim_msg {
    sim_call_t *call;
    size_t hook; /* index into call->hooks */
    char *body;
    sim_msg_t *next;                      /* in the call's queue or held list */
    sim_msg_t *active_prev, *active_next; /* on the wire */
    CURL *easy;
    struct curl_slist *headers;
    int64_t started_real_us;
};

struct sim_engine {
    sim_t *sim;
    CURLM *multi;
    pthread_t thread;
    bool started;
    bool stopped;
    atomic_bool quit;
    int64_t drain_ms;
    size_t aborted;
    size_t active;          /* transfers on the wire */
    sim_msg_t *active_head; /* the same, as a list */
    sim_call_t *wait_head;  /* calls with messages waiting for a free slot */
    sim_call_t *wait_tail;
};

static void msg_free(sim_msg_t *msg)
{
    if (!msg)
        return;
    free(msg->body);
    curl_slist_free_all(msg->headers);
    free(msg);
}

static void msgs_free(sim_msg_t *msg)
{
    while (msg) {
        sim_msg_t *next = msg->next;
        msg_free(msg);
        msg = next;
    }
}

/* --- scheduling (sim->lock held) --- */

static int64_t step_campaign_us(const sim_call_t *call)
{
    switch (call->next_step) {
    case 0:
        return call->received_us;
    case 1:
        return call->answer_plan_us;
    default:
        return call->end_plan_us;
    }
}

void sim_engine_schedule(sim_t *sim, sim_call_t *call)
{
    int64_t offset = step_campaign_us(call) - call->received_us;
    int64_t due = call->received_real_us + od_clock_real_duration_us(&sim->clk, offset);
    sim_heap_push(&sim->heap, due, call);
}

/* Makes the message(s) for one hook of a call: none when the lost fault
 * hits, two when the duplicate fault does. Appends them to *list. */
static void message_make(sim_engine_t *e, sim_call_t *call, sim_hook_kind_t kind, int64_t at_us,
                         sim_msg_t **list)
{
    sim_t *sim = e->sim;
    char *body = call->protocol->message(call, kind, at_us, sim->rules);
    if (!body)
        return; /* no such message in this protocol (Retell does not ring) */
    sim_message_faults_t mf;
    sim_faults_decide_message(&sim->faults, sim->cfg.seed, call->fault_key, call->attempt_nth,
                              (int)kind, &mf);
    if (mf.lost) {
        free(body);
        sim_call_hook_add(call, kind, false, SIM_HOOK_DROPPED, at_us);
        metrics_counter_add(sim->metrics.hooks_dropped, 1);
        return;
    }
    while (*list)
        list = &(*list)->next;
    for (int copy = 0; copy < (mf.duplicate ? 2 : 1); copy++) {
        sim_msg_t *msg = xcalloc(1, sizeof(*msg));
        msg->call = call;
        msg->hook = sim_call_hook_add(call, kind, copy == 1, SIM_HOOK_PENDING, at_us);
        msg->body = copy == 0 ? body : xstrdup(body);
        *list = msg;
        list = &msg->next;
        if (copy == 1)
            metrics_counter_add(sim->metrics.hooks_duplicated, 1);
    }
}

static void queue_append(sim_call_t *call, sim_msg_t *chain)
{
    if (!chain)
        return;
    if (call->q_tail)
        call->q_tail->next = chain;
    else
        call->q_head = chain;
    sim_msg_t *last = chain;
    while (last->next)
        last = last->next;
    call->q_tail = last;
}

static void hook_settle(sim_t *sim, sim_call_t *call, size_t hook, sim_hook_result_t result,
                        long http_status, const char *error)
{
    sim_hook_t *h = &call->hooks[hook];
    h->result = result;
    h->http_status = http_status;
    if (error)
        snprintf(h->error, sizeof(h->error), "%s", error);
    metrics_counter_add(
        result == SIM_HOOK_SENT ? sim->metrics.hooks_sent : sim->metrics.hooks_failed, 1);
}

static void call_maybe_finish(sim_engine_t *e, sim_call_t *call)
{
    if (call->finished || call->aborted || call->next_step < 3 || call->q_head || call->sending ||
        call->held)
        return;
    sim_call_finish(e->sim, call);
}

static void wait_add(sim_engine_t *e, sim_call_t *call)
{
    if (call->waiting)
        return;
    call->waiting = true;
    call->wait_next = NULL;
    if (e->wait_tail)
        e->wait_tail->wait_next = call;
    else
        e->wait_head = call;
    e->wait_tail = call;
}

static size_t discard(char *data, size_t size, size_t nmemb, void *arg)
{
    (void)data;
    (void)arg;
    return size * nmemb;
}

/* Puts msg on the wire. Returns false (msg settled as failed) when curl
 * cannot take it. */
static bool transfer_start(sim_engine_t *e, sim_msg_t *msg)
{
    sim_t *sim = e->sim;
    sim_call_t *call = msg->call;
    msg->easy = curl_easy_init();
    if (!msg->easy)
        goto fail;
    msg->headers = curl_slist_append(msg->headers, "Content-Type: application/json");
    /* No "Expect: 100-continue" round trip for bodies over 1 KiB. */
    msg->headers = curl_slist_append(msg->headers, "Expect:");
    char *auth =
        call->protocol->webhook_auth(call, sim->cfg.api_key, msg->body, od_clock_real_us() / 1000);
    if (auth) {
        msg->headers = curl_slist_append(msg->headers, auth);
        free(auth);
    }
    CURL *easy = msg->easy;
    curl_easy_setopt(easy, CURLOPT_URL, call->webhook_url);
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, msg->body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(msg->body));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, msg->headers);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "outdial-voice-sim/0.1");
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, sim->cfg.webhook_timeout_ms);
    /* A receiver that does not accept within 5 s is down, not slow. */
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     sim->cfg.webhook_timeout_ms < 5000 ? sim->cfg.webhook_timeout_ms : 5000L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    /* Straight to the receiver, whatever proxy the environment names. */
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, msg);
    if (curl_multi_add_handle(e->multi, easy) != CURLM_OK)
        goto fail;
    msg->started_real_us = od_clock_real_us();
    DLIST_PUSH(e->active_head, msg, active_prev, active_next);
    e->active++;
    return true;
fail:
    hook_settle(sim, call, msg->hook, SIM_HOOK_FAILED, 0, "could not start the request");
    if (msg->easy)
        curl_easy_cleanup(msg->easy);
    msg_free(msg);
    return false;
}

/* Sends the call's next message if none of its messages is on the wire;
 * waits for a slot when all are taken. */
static void call_kick(sim_engine_t *e, sim_call_t *call)
{
    sim_t *sim = e->sim;
    while (!call->sending && call->q_head && !atomic_load(&e->quit)) {
        if (e->active >= sim->cfg.webhook_parallel) {
            wait_add(e, call);
            return;
        }
        sim_msg_t *msg = call->q_head;
        call->q_head = msg->next;
        if (!call->q_head)
            call->q_tail = NULL;
        msg->next = NULL;
        sim_hook_t *hook = &call->hooks[msg->hook];
        hook->order = ++call->hooks_sent;
        hook->sent_us = od_clock_now_us(&sim->clk);
        if (!call->webhook_url) {
            hook_settle(sim, call, msg->hook, SIM_HOOK_FAILED, 0,
                        "no server URL (give --webhook-url or assistantOverrides.server.url)");
            msg_free(msg);
            continue;
        }
        if (transfer_start(e, msg))
            call->sending = true;
    }
    call_maybe_finish(e, call);
}

static void waiting_kick(sim_engine_t *e)
{
    while (e->wait_head && e->active < e->sim->cfg.webhook_parallel && !atomic_load(&e->quit)) {
        sim_call_t *call = e->wait_head;
        e->wait_head = call->wait_next;
        if (!e->wait_head)
            e->wait_tail = NULL;
        call->waiting = false;
        call->wait_next = NULL;
        call_kick(e, call);
    }
}

/* The call's next step: ringing, answered, or ended. */
static void step_fire(sim_engine_t *e, sim_call_t *call)
{
    sim_t *sim = e->sim;
    sim_msg_t *chain = NULL;
    switch (call->next_step) {
    case 0:
        call->ringing_us = call->received_us;
        call->status = "ringing";
        message_make(e, call, SIM_HOOK_RINGING, call->ringing_us, &chain);
        call->next_step = sim_outcome_answered(call->decision.outcome) ? 1 : 2;
        break;
    case 1:
        call->answered_us = call->answer_plan_us;
        call->status = "in-progress";
        if (call->faults.disorder == SIM_DISORDER_LATE_ANSWER)
            message_make(e, call, SIM_HOOK_IN_PROGRESS, call->answered_us, &call->held);
        else
            message_make(e, call, SIM_HOOK_IN_PROGRESS, call->answered_us, &chain);
        call->next_step = 2;
        break;
    case 2:
        call->ended_us = call->end_plan_us;
        call->status = "ended";
        sim->in_flight--;
        metrics_gauge_set(sim->metrics.in_flight, (double)sim->in_flight);
        if (call->faults.disorder == SIM_DISORDER_REPORT_FIRST) {
            message_make(e, call, SIM_HOOK_REPORT, call->ended_us, &chain);
            message_make(e, call, SIM_HOOK_ENDED, call->ended_us, &chain);
        } else {
            message_make(e, call, SIM_HOOK_ENDED, call->ended_us, &chain);
            message_make(e, call, SIM_HOOK_REPORT, call->ended_us, &chain);
        }
        queue_append(call, chain);
        chain = call->held; /* a late in-progress goes out last */
        call->held = NULL;
        call->next_step = 3;
        break;
    default:
        return;
    }
    queue_append(call, chain);
    if (call->next_step < 3)
        sim_engine_schedule(sim, call);
    call_kick(e, call);
}

/* --- transfers --- */

static void active_remove(sim_engine_t *e, sim_msg_t *msg)
{
    DLIST_REMOVE(e->active_head, msg, active_prev, active_next);
    e->active--;
}

/* A transfer ended (sim->lock held): settle its hook, send the call's next
 * message. */
static void transfer_done(sim_engine_t *e, sim_msg_t *msg, CURLcode res, long status,
                          const char *abort_reason)
{
    sim_t *sim = e->sim;
    sim_call_t *call = msg->call;
    active_remove(e, msg);
    curl_multi_remove_handle(e->multi, msg->easy);
    curl_easy_cleanup(msg->easy);
    msg->easy = NULL;
    metrics_histogram_observe(sim->metrics.hook_seconds,
                              (double)(od_clock_real_us() - msg->started_real_us) / 1e6);
    if (abort_reason) {
        hook_settle(sim, call, msg->hook, SIM_HOOK_FAILED, 0, abort_reason);
    } else if (res != CURLE_OK) {
        hook_settle(sim, call, msg->hook, SIM_HOOK_FAILED, 0, curl_easy_strerror(res));
    } else if (status < 200 || status > 299) {
        char error[64];
        snprintf(error, sizeof(error), "the receiver answered %ld", status);
        hook_settle(sim, call, msg->hook, SIM_HOOK_FAILED, status, error);
    } else {
        hook_settle(sim, call, msg->hook, SIM_HOOK_SENT, status, NULL);
    }
    msg_free(msg);
    call->sending = false;
    call_kick(e, call);
}

static void transfers_reap(sim_engine_t *e)
{
    sim_t *sim = e->sim;
    pthread_mutex_lock(&sim->lock);
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read(e->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *easy = m->easy_handle;
        CURLcode res = m->data.result;
        sim_msg_t *msg = NULL;
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&msg);
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (msg)
            transfer_done(e, msg, res, status, NULL);
    }
    waiting_kick(e);
    pthread_mutex_unlock(&sim->lock);
}

/* --- the thread --- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Settles and frees messages that will never be sent. */
static void msgs_unsent(sim_call_t *call, sim_msg_t *msg)
{
    for (sim_msg_t *m = msg; m; m = m->next) {
        sim_hook_t *h = &call->hooks[m->hook];
        h->result = SIM_HOOK_FAILED;
        snprintf(h->error, sizeof(h->error), "%s", "not sent: the simulator stopped");
    }
    msgs_free(msg);
}

/* After a stop: let what is on the wire finish for drain_ms, cancel the
 * rest, and log every call that will not finish now. */
static void engine_wind_down(sim_engine_t *e)
{
    sim_t *sim = e->sim;
    int64_t deadline = mono_ms() + e->drain_ms;
    for (;;) {
        pthread_mutex_lock(&sim->lock);
        size_t active = e->active;
        pthread_mutex_unlock(&sim->lock);
        int64_t left = deadline - mono_ms();
        if (active == 0 || left <= 0)
            break;
        int running = 0;
        curl_multi_perform(e->multi, &running);
        transfers_reap(e);
        curl_multi_poll(e->multi, NULL, 0, (int)(left < 100 ? left : 100), NULL);
    }
    pthread_mutex_lock(&sim->lock);
    while (e->active_head)
        transfer_done(e, e->active_head, CURLE_OK, 0, "cancelled: the simulator stopped");
    for (size_t i = 0; i < sim->log.n; i++) {
        sim_call_t *call = sim->log.calls[i];
        if (!call->placed || call->finished)
            continue;
        msgs_unsent(call, call->q_head);
        msgs_unsent(call, call->held);
        call->q_head = call->q_tail = call->held = NULL;
        call->aborted = true;
        sim_call_finish(sim, call);
        e->aborted++;
    }
    e->wait_head = e->wait_tail = NULL;
    pthread_mutex_unlock(&sim->lock);
}

static void *engine_main(void *arg)
{
    sim_engine_t *e = arg;
    sim_t *sim = e->sim;
    while (!atomic_load(&e->quit)) {
        pthread_mutex_lock(&sim->lock);
        int64_t now = od_clock_real_us();
        const sim_timer_t *top;
        int fired = 0;
        while (fired < ENGINE_BATCH && (top = sim_heap_peek(&sim->heap)) &&
               top->due_us <= now + ENGINE_EARLY_US) {
            sim_timer_t t;
            sim_heap_pop(&sim->heap, &t);
            step_fire(e, t.item);
            fired++;
        }
        waiting_kick(e);
        top = sim_heap_peek(&sim->heap);
        int64_t next_due = top ? top->due_us : -1;
        pthread_mutex_unlock(&sim->lock);

        int running = 0;
        curl_multi_perform(e->multi, &running);
        transfers_reap(e);

        long timeout_ms = ENGINE_IDLE_MS;
        if (next_due >= 0) {
            int64_t wait_us = next_due - od_clock_real_us();
            long ms = wait_us <= 0 ? 0 : (long)((wait_us + 999) / 1000);
            if (ms < timeout_ms)
                timeout_ms = ms;
        }
        long curl_ms = -1;
        curl_multi_timeout(e->multi, &curl_ms);
        if (curl_ms >= 0 && curl_ms < timeout_ms)
            timeout_ms = curl_ms;
        if (timeout_ms > 0)
            curl_multi_poll(e->multi, NULL, 0, (int)timeout_ms, NULL);
    }
    engine_wind_down(e);
    return NULL;
}

/* --- lifecycle --- */

int sim_engine_new(sim_t *sim, sim_engine_t **out, char *errbuf, size_t errlen)
{
    sim_engine_t *e = xcalloc(1, sizeof(*e));
    e->sim = sim;
    atomic_init(&e->quit, false);
    e->multi = curl_multi_init();
    if (!e->multi) {
        free(e);
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "curl_multi_init failed");
    }
    /* One connection per transfer slot, to any one receiver: no queueing
     * inside curl (where request timeouts would already run), and no more
     * connections than a receiver's per-address limit allows. */
    long slots = (long)sim->cfg.webhook_parallel;
    curl_multi_setopt(e->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, slots);
    curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, slots);
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, slots);
    *out = e;
    return OD_OK;
}

int sim_engine_start(sim_engine_t *e, char *errbuf, size_t errlen)
{
    if (e->started)
        return od_fail(errbuf, errlen, OD_ERR_CONFLICT, "the engine runs already");
    int err = pthread_create(&e->thread, NULL, engine_main, e);
    if (err)
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "cannot start the engine thread: %s",
                       strerror(err));
    e->started = true;
    return OD_OK;
}

void sim_engine_wake(sim_engine_t *e)
{
    curl_multi_wakeup(e->multi);
}

size_t sim_engine_stop(sim_engine_t *e, int64_t drain_ms)
{
    if (!e->started || e->stopped)
        return e->aborted;
    e->drain_ms = drain_ms;
    atomic_store(&e->quit, true);
    curl_multi_wakeup(e->multi);
    pthread_join(e->thread, NULL);
    e->stopped = true;
    return e->aborted;
}

void sim_engine_free(sim_engine_t *e)
{
    if (!e)
        return;
    sim_engine_stop(e, 0);
    curl_multi_cleanup(e->multi);
    free(e);
}

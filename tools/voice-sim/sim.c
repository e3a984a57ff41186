#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "sim_engine.h"
#include "sim_logfile.h"
#include "sim_protocol.h"
#include "xmalloc.h"

/* --- metrics --- */

/* A counter of a family with one label, and that label's value. */
typedef struct labelled_counter {
    const char *value;
    metrics_counter_t **out;
} labelled_counter_t;

/* Registers the counter family name with one label, and makes its counter
 * for each of the n values into that value's out. */
static int counter_family(metrics_registry_t *reg, const char *name, const char *help,
                          const char *const *label, const labelled_counter_t *counters, size_t n,
                          char *errbuf, size_t errlen)
{
    metrics_family_t *fam = NULL;
    int rc = metrics_family_register(reg, METRICS_COUNTER, name, help, label, NULL, 0, &fam, errbuf,
                                     errlen);
    for (size_t i = 0; !rc && i < n; i++) {
        const char *values[] = {counters[i].value, NULL};
        rc = metrics_counter_with(fam, values, counters[i].out, errbuf, errlen);
    }
    return rc;
}

static int metrics_setup(sim_metrics_t *m, metrics_registry_t *reg, char *errbuf, size_t errlen)
{
    static const char *const outcome_label[] = {"outcome", NULL};
    static const char *const reason_label[] = {"reason", NULL};
    static const char *const result_label[] = {"result", NULL};
    labelled_counter_t outcomes[SIM_OUTCOME_COUNT];
    for (int o = 0; o < SIM_OUTCOME_COUNT; o++)
        outcomes[o] = (labelled_counter_t){sim_outcome_name((sim_outcome_t)o), &m->calls[o]};
    const labelled_counter_t reasons[] = {{"capacity", &m->rejected_capacity},
                                          {"fault-5xx", &m->rejected_5xx},
                                          {"transient-failure", &m->rejected_transient},
                                          {"unauthorized", &m->rejected_auth},
                                          {"bad-request", &m->rejected_invalid}};
    const labelled_counter_t results[] = {{"sent", &m->hooks_sent},
                                          {"failed", &m->hooks_failed},
                                          {"dropped", &m->hooks_dropped},
                                          {"duplicated", &m->hooks_duplicated}};
    const struct {
        const char *name, *help;
        const char *const *label;
        const labelled_counter_t *counters;
        size_t n;
    } families[] = {
        {"outdial_sim_calls_total", "Calls the simulator decided, by outcome.", outcome_label,
         outcomes, OD_COUNT(outcomes)},
        {"outdial_sim_rejections_total", "POST /call requests not placed, by reason.", reason_label,
         reasons, OD_COUNT(reasons)},
        {"outdial_sim_webhooks_total", "Server messages, by what became of them.", result_label,
         results, OD_COUNT(results)},
    };
    int rc = OD_OK;
    for (size_t i = 0; !rc && i < OD_COUNT(families); i++)
        rc = counter_family(reg, families[i].name, families[i].help, families[i].label,
                            families[i].counters, families[i].n, errbuf, errlen);
    const metrics_def_t defs[] = {
        {"outdial_sim_calls_in_flight", "Calls placed and not yet ended.", .gauge = &m->in_flight},
        {"outdial_sim_webhook_duration_seconds",
         "Time the receiver took to answer a server message.", .histogram = &m->hook_seconds},
    };
    if (!rc)
        rc = metrics_register_all(reg, defs, OD_COUNT(defs), errbuf, errlen);
    return rc;
}

/* --- lifecycle --- */

int sim_new(const sim_config_t *cfg, const od_clock_t *clk, sim_rules_t *rules,
            metrics_registry_t *reg, sim_t **out, char *errbuf, size_t errlen)
{
    int rc = OD_OK;
    sim_t *sim = xcalloc(1, sizeof(*sim));
    sim->cfg = *cfg;
    sim->clk = *clk;
    sim->rules = rules;
    rules = NULL; /* now the simulator's */
    sim->log_fd = -1;
    pthread_mutex_init(&sim->lock, NULL);
    od_cond_init_clock(&sim->stop_cond, CLOCK_MONOTONIC);
    sim_calls_init(&sim->log);
    sim_heap_init(&sim->heap);
    if (sim->cfg.instant)
        sim->rules->instant = true;
    sim->faults = sim->rules->faults;
    if (sim->cfg.max_concurrent >= 0)
        sim->faults.max_concurrent = sim->cfg.max_concurrent;
    if (sim->cfg.webhook_timeout_ms <= 0)
        sim->cfg.webhook_timeout_ms = SIM_WEBHOOK_TIMEOUT_MS_DEFAULT;
    if (sim->cfg.webhook_parallel == 0)
        sim->cfg.webhook_parallel = SIM_WEBHOOK_PARALLEL_DEFAULT;

    rc = metrics_setup(&sim->metrics, reg, errbuf, errlen);
    if (rc)
        goto fail;
    rc = sim_logfile_open(sim, cfg->log_file, errbuf, errlen);
    if (rc)
        goto fail;
    rc = sim_engine_new(sim, &sim->engine, errbuf, errlen);
    if (rc)
        goto fail;
    *out = sim;
    return OD_OK;
fail:
    sim_free(sim);
    return rc;
}

int sim_start(sim_t *sim, char *errbuf, size_t errlen)
{
    return sim_engine_start(sim->engine, errbuf, errlen);
}

void sim_begin_stop(sim_t *sim)
{
    pthread_mutex_lock(&sim->lock);
    sim->stopping = true;
    pthread_cond_broadcast(&sim->stop_cond);
    pthread_mutex_unlock(&sim->lock);
}

size_t sim_stop(sim_t *sim, int64_t drain_ms)
{
    sim_begin_stop(sim);
    return sim_engine_stop(sim->engine, drain_ms);
}

void sim_free(sim_t *sim)
{
    if (!sim)
        return;
    if (sim->engine) {
        sim_stop(sim, 0);
        sim_engine_free(sim->engine);
    }
    sim_logfile_close(sim);
    sim_heap_clear(&sim->heap);
    sim_calls_clear(&sim->log);
    sim_rules_free(sim->rules);
    pthread_cond_destroy(&sim->stop_cond);
    pthread_mutex_destroy(&sim->lock);
    free(sim);
}

void sim_delay(sim_t *sim, int64_t delay_ms)
{
    if (delay_ms <= 0)
        return;
    struct timespec deadline = od_timespec_after_ms(CLOCK_MONOTONIC, delay_ms);
    pthread_mutex_lock(&sim->lock);
    while (!sim->stopping &&
           pthread_cond_timedwait(&sim->stop_cond, &sim->lock, &deadline) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&sim->lock);
}

/* --- placing calls --- */

/* A UUID-shaped id from the seed and the arrival number. */
static void call_id_make(uint64_t seed, uint64_t seq, char out[40])
{
    uint64_t hi = sim_hash64(seed, "call-id", NULL, seq, "hi");
    uint64_t lo = sim_hash64(seed, "call-id", NULL, seq, "lo");
    hi = (hi & ~0xf000ULL) | 0x4000ULL;                         /* version 4 */
    lo = (lo & ~0xc000000000000000ULL) | 0x8000000000000000ULL; /* RFC 4122 variant */
    snprintf(out, 40, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
             (unsigned)((hi >> 16) & 0xffff), (unsigned)(hi & 0xffff), (unsigned)(lo >> 48),
             (unsigned long long)(lo & 0xffffffffffffULL));
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void answer_error(const sim_protocol_t *proto, sim_answer_t *out, int status,
                         const char *message)
{
    out->status = status;
    out->body = proto->error_body(status, json_string(message));
}

/* Whether no call to number was decided before (the log holds every call
 * so far). Looked up only when the rules have `data-first` lines: it reads
 * the whole log. */
static bool first_to_number(const sim_t *sim, const char *number)
{
    if (!number || json_array_size(sim->rules->first_data) == 0)
        return false;
    for (size_t i = 0; i < sim->log.n; i++)
        if (sim->log.calls[i]->decided && sim->log.calls[i]->number &&
            strcmp(sim->log.calls[i]->number, number) == 0)
            return false;
    return true;
}

void sim_call_place(sim_t *sim, const sim_protocol_t *proto, sim_call_request_t *req,
                    sim_answer_t *out)
{
    memset(out, 0, sizeof(*out));
    sim_call_t *call = sim_call_new();
    call->protocol = proto;
    /* Move the request's fields into the record. */
    call->number = req->number;
    call->customer_name = req->customer_name;
    call->attempt_id = req->attempt_id;
    call->lead_id = req->lead_id;
    call->campaign_id = req->campaign_id;
    call->assistant_id = req->assistant_id;
    call->phone_number_id = req->phone_number_id;
    call->from_number = req->from_number;
    call->metadata = req->metadata;
    call->overrides = req->overrides;
    /* Retell's webhooks go to the agent's URL (the simulator's option);
     * Vapi's to the request's server URL, else the default. */
    const char *default_url =
        proto == &sim_protocol_retell ? sim->cfg.retell_webhook_url : sim->cfg.webhook_url;
    call->webhook_url = req->server_url ? req->server_url : dup_or_null(default_url);
    call->webhook_secret = req->server_secret            ? req->server_secret
                           : proto == &sim_protocol_vapi ? dup_or_null(sim->cfg.webhook_secret)
                                                         : NULL;
    memset(req, 0, sizeof(*req)); /* everything it held is the record's now */

    bool wake = false;
    pthread_mutex_lock(&sim->lock);
    call->seq = ++sim->next_seq;
    call_id_make(sim->cfg.seed, call->seq, call->id);
    call->fault_key = xstrdup(call->attempt_id ? call->attempt_id : call->id);
    call->attempt_nth = sim_calls_key_bump(&sim->log, call->fault_key);
    call->received_real_us = od_clock_real_us();
    call->received_us = od_clock_at(&sim->clk, call->received_real_us);
    sim_faults_decide_request(&sim->faults, sim->cfg.seed, call->fault_key, call->attempt_nth,
                              &call->faults);

    if (sim->stopping) {
        call->rejected = "shutting-down";
        call->http_status = 503;
        answer_error(proto, out, 503, "the provider is shutting down; try again");
        out->retry_after = "1";
    } else if (call->faults.http_5xx) {
        call->rejected = "fault-5xx";
        call->http_status = 500;
        answer_error(proto, out, 500, "simulated provider error (fault http_5xx)");
        metrics_counter_add(sim->metrics.rejected_5xx, 1);
    } else if (sim->faults.max_concurrent > 0 && sim->in_flight >= sim->faults.max_concurrent) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "concurrency limit reached: %lld calls in flight (limit %lld); retry when one "
                 "ends",
                 (long long)sim->in_flight, (long long)sim->faults.max_concurrent);
        call->rejected = "capacity";
        call->http_status = 429;
        answer_error(proto, out, 429, msg);
        out->retry_after = "1";
        metrics_counter_add(sim->metrics.rejected_capacity, 1);
    } else {
        sim_rules_decide_for(sim->rules, sim->cfg.seed, call->number, call->assistant_id,
                             call->attempt_id, &call->decision);
        call->decided = true;
        call->first_to_number = first_to_number(sim, call->number);
        metrics_counter_add(sim->metrics.calls[call->decision.outcome], 1);
        if (call->decision.outcome == SIM_OUTCOME_FAIL_TRANSIENT) {
            call->rejected = "transient-failure";
            call->http_status = 503;
            answer_error(proto, out, 503,
                         "the carrier is temporarily unavailable; try again later");
            out->retry_after = "5";
            metrics_counter_add(sim->metrics.rejected_transient, 1);
        }
    }

    if (call->rejected) {
        call->faults.delay_ms = 0;
        call->faults.timeout = false;
        call->faults.disorder = SIM_DISORDER_NONE;
        call->status = "rejected"; /* never a provider call: GET /call/{id} says 404 */
        sim_calls_add(&sim->log, call);
        sim_call_finish(sim, call);
        pthread_mutex_unlock(&sim->lock);
        return;
    }

    /* Placed: plan the call in campaign time. */
    call->placed = true;
    call->http_status = 201;
    sim_outcome_t o = call->decision.outcome;
    if (sim_outcome_answered(o))
        call->answer_plan_us = call->received_us + call->decision.ring_us;
    else if (call->faults.disorder == SIM_DISORDER_LATE_ANSWER)
        call->faults.disorder = SIM_DISORDER_REPORT_FIRST; /* nothing to hold back */
    call->end_plan_us = call->received_us + call->decision.ring_us + call->decision.talk_us;
    call->next_step = sim_outcome_rings(o) ? 0 : 2;
    sim->in_flight++;
    if (sim->in_flight > sim->max_in_flight)
        sim->max_in_flight = sim->in_flight;
    metrics_gauge_set(sim->metrics.in_flight, (double)sim->in_flight);
    sim_calls_add(&sim->log, call);
    sim_engine_schedule(sim, call);
    wake = true;

    out->status = 201;
    out->body = sim_json_text(proto->call_object(call, "queued", sim->rules));
    out->delay_ms = call->faults.delay_ms;
    pthread_mutex_unlock(&sim->lock);
    if (wake)
        sim_engine_wake(sim->engine);
}

void sim_call_get(sim_t *sim, const sim_protocol_t *proto, const char *id, sim_answer_t *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&sim->lock);
    const sim_call_t *call = sim_calls_find(&sim->log, id);
    if (call && call->placed && call->protocol == proto) {
        out->status = 200;
        out->body = sim_json_text(proto->call_object(call, call->status, sim->rules));
    } else {
        char msg[128];
        snprintf(msg, sizeof(msg), "no call with id '%.60s'", id);
        answer_error(proto, out, 404, msg);
    }
    pthread_mutex_unlock(&sim->lock);
}

void sim_count_refusal(sim_t *sim, int status)
{
    pthread_mutex_lock(&sim->lock);
    if (status == 401) {
        sim->unauthorized++;
        metrics_counter_add(sim->metrics.rejected_auth, 1);
    } else {
        sim->bad_requests++;
        metrics_counter_add(sim->metrics.rejected_invalid, 1);
    }
    pthread_mutex_unlock(&sim->lock);
}

/* --- the /sim endpoints --- */

char *sim_calls_json(sim_t *sim, const char *number, const char *campaign_id,
                     const char *attempt_id)
{
    pthread_mutex_lock(&sim->lock);
    json_t *v = sim_calls_query(&sim->log, number, campaign_id, attempt_id);
    pthread_mutex_unlock(&sim->lock);
    return sim_json_text(v);
}

char *sim_stats_json(sim_t *sim)
{
    pthread_mutex_lock(&sim->lock);
    json_t *v = sim_calls_counts(&sim->log);
    json_object_set_new(v, "in_flight", json_integer(sim->in_flight));
    json_object_set_new(v, "max_concurrent_seen", json_integer(sim->max_in_flight));
    json_object_set_new(v, "max_concurrent_limit",
                        sim->faults.max_concurrent ? json_integer(sim->faults.max_concurrent)
                                                   : json_null());
    json_t *rejected = json_object_get(v, "rejected");
    json_object_set_new(rejected, "unauthorized", json_integer((json_int_t)sim->unauthorized));
    json_object_set_new(rejected, "bad-request", json_integer((json_int_t)sim->bad_requests));
    json_object_set_new(v, "seed", json_integer((json_int_t)sim->cfg.seed));
    json_object_set_new(v, "instant", json_boolean(sim->rules->instant));
    json_object_set_new(v, "clock_scale", json_real(sim->clk.scale));
    pthread_mutex_unlock(&sim->lock);
    return sim_json_text(v);
}

char *sim_invariants_json(sim_t *sim)
{
    pthread_mutex_lock(&sim->lock);
    json_t *v = sim_calls_invariants(&sim->log, NULL, NULL);
    pthread_mutex_unlock(&sim->lock);
    return sim_json_text(v);
}

char *sim_faults_json(sim_t *sim)
{
    pthread_mutex_lock(&sim->lock);
    json_t *v = sim_faults_to_json(&sim->faults);
    pthread_mutex_unlock(&sim->lock);
    return sim_json_text(v);
}

int sim_faults_update(sim_t *sim, const char *body, size_t len, char *errbuf, size_t errlen)
{
    json_error_t jerr;
    json_t *update = json_loadb(body, len, 0, &jerr);
    if (!update)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the body is not JSON: %s", jerr.text);
    pthread_mutex_lock(&sim->lock);
    int rc = sim_faults_update_json(&sim->faults, update, errbuf, errlen);
    pthread_mutex_unlock(&sim->lock);
    json_decref(update);
    if (rc == OD_OK)
        log_info("faults", "faults changed: %.*s", (int)(len > 400 ? 400 : len), body);
    return rc;
}

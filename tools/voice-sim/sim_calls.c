#include "sim_calls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "sim_protocol.h"
#include "xmalloc.h"

const char *sim_hook_type(sim_hook_kind_t kind)
{
    return kind == SIM_HOOK_REPORT ? "end-of-call-report" : "status-update";
}

static const char *const hook_statuses[] = {
    [SIM_HOOK_RINGING] = "ringing",
    [SIM_HOOK_IN_PROGRESS] = "in-progress",
    [SIM_HOOK_ENDED] = "ended",
};

const char *sim_hook_status(sim_hook_kind_t kind)
{
    return OD_ENUM_NAME(hook_statuses, kind, NULL);
}

static const char *const hook_result_names[] = {
    [SIM_HOOK_PENDING] = "pending",
    [SIM_HOOK_SENT] = "sent",
    [SIM_HOOK_FAILED] = "failed",
    [SIM_HOOK_DROPPED] = "dropped",
};

const char *sim_hook_result_name(sim_hook_result_t result)
{
    return OD_ENUM_NAME(hook_result_names, result, "pending");
}

/* --- records --- */

sim_call_t *sim_call_new(void)
{
    sim_call_t *call = xcalloc(1, sizeof(*call));
    call->status = "queued";
    return call;
}

void sim_call_free(sim_call_t *call)
{
    if (!call)
        return;
    free(call->number);
    free(call->customer_name);
    free(call->attempt_id);
    free(call->lead_id);
    free(call->campaign_id);
    free(call->assistant_id);
    free(call->phone_number_id);
    free(call->from_number);
    json_decref(call->metadata);
    json_decref(call->overrides);
    free(call->webhook_url);
    free(call->webhook_secret);
    free(call->fault_key);
    free(call->hooks);
    free(call);
}

size_t sim_call_hook_add(sim_call_t *call, sim_hook_kind_t kind, bool duplicate,
                         sim_hook_result_t result, int64_t created_us)
{
    /* A call has at most 8 hooks (4 kinds, each possibly duplicated). */
    call->hooks = xrealloc(call->hooks, (call->nhooks + 1) * sizeof(*call->hooks));
    sim_hook_t *hook = &call->hooks[call->nhooks];
    memset(hook, 0, sizeof(*hook));
    hook->kind = kind;
    hook->duplicate = duplicate;
    hook->result = result;
    hook->created_us = created_us;
    return call->nhooks++;
}

static json_t *json_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* "…_at": RFC 3339 and "…_at_us": µs, both null when the moment is 0. */
static void json_set_time(json_t *obj, const char *name, int64_t us)
{
    char key[64];
    snprintf(key, sizeof(key), "%s_us", name);
    if (!us) {
        json_object_set_new(obj, name, json_null());
        json_object_set_new(obj, key, json_null());
        return;
    }
    char text[40];
    od_time_format_rfc3339(us, text, sizeof(text));
    json_object_set_new(obj, name, json_string(text));
    json_object_set_new(obj, key, json_integer(us));
}

static const char *disorder_name(sim_disorder_t d)
{
    switch (d) {
    case SIM_DISORDER_REPORT_FIRST:
        return "report-first";
    case SIM_DISORDER_LATE_ANSWER:
        return "late-answer";
    default:
        return "none";
    }
}

static json_t *goal_json(const sim_call_t *call)
{
    if (call->decided && call->decision.outcome == SIM_OUTCOME_HUMAN_GOAL)
        return json_true();
    if (call->decided && call->decision.outcome == SIM_OUTCOME_HUMAN_NO_GOAL)
        return json_false();
    return json_null();
}

json_t *sim_call_to_json(const sim_call_t *call)
{
    json_t *rec = json_object();
    json_object_set_new(rec, "id", json_string(call->id));
    json_object_set_new(rec, "seq", json_integer((json_int_t)call->seq));
    json_object_set_new(rec, "protocol",
                        json_string(call->protocol ? call->protocol->name : "vapi"));
    json_object_set_new(rec, "number", json_str_or_null(call->number));
    json_object_set_new(rec, "customer_name", json_str_or_null(call->customer_name));
    json_object_set_new(rec, "attempt_id", json_str_or_null(call->attempt_id));
    json_object_set_new(rec, "lead_id", json_str_or_null(call->lead_id));
    json_object_set_new(rec, "campaign_id", json_str_or_null(call->campaign_id));
    json_object_set_new(rec, "assistant_id", json_str_or_null(call->assistant_id));
    json_object_set_new(rec, "phone_number_id", json_str_or_null(call->phone_number_id));
    json_object_set_new(rec, "from_number", json_str_or_null(call->from_number));
    json_t *vars = call->overrides ? json_object_get(call->overrides, "variableValues") : NULL;
    json_object_set_new(rec, "variable_values", vars ? json_deep_copy(vars) : json_null());
    json_object_set_new(rec, "metadata",
                        call->metadata ? json_deep_copy(call->metadata) : json_null());
    json_object_set_new(rec, "webhook_url", json_str_or_null(call->webhook_url));
    json_object_set_new(rec, "placed", json_boolean(call->placed));
    json_object_set_new(rec, "http_status", json_integer(call->http_status));
    json_object_set_new(rec, "rejected", json_str_or_null(call->rejected));
    json_object_set_new(rec, "outcome",
                        call->decided ? json_string(sim_outcome_name(call->decision.outcome))
                                      : json_null());
    json_object_set_new(rec, "rule_line",
                        call->decided ? json_integer(call->decision.rule_line) : json_null());
    json_object_set_new(rec, "ended_reason",
                        json_str_or_null(call->decided ? call->decision.ended_reason : NULL));
    json_object_set_new(rec, "goal", goal_json(call));
    json_object_set_new(rec, "ring_ms", json_integer(call->decision.ring_us / 1000));
    json_object_set_new(rec, "talk_ms", json_integer(call->decision.talk_us / 1000));
    json_object_set_new(rec, "cost_cents", json_integer(call->decision.cost_cents));
    json_set_time(rec, "received_at", call->received_us);
    json_set_time(rec, "ringing_at", call->ringing_us);
    json_set_time(rec, "answered_at", call->answered_us);
    json_set_time(rec, "ended_at", call->ended_us);
    json_object_set_new(rec, "status", json_string(call->status));
    json_object_set_new(rec, "finished", json_boolean(call->finished));
    json_object_set_new(rec, "aborted", json_boolean(call->aborted));
    json_object_set_new(rec, "faults",
                        json_pack("{s:I, s:b, s:s}", "delay_ms", (json_int_t)call->faults.delay_ms,
                                  "timeout", call->faults.timeout, "disorder",
                                  disorder_name(call->faults.disorder)));
    json_t *hooks = json_array();
    for (size_t i = 0; i < call->nhooks; i++) {
        const sim_hook_t *h = &call->hooks[i];
        json_t *hook = json_object();
        json_object_set_new(hook, "type",
                            json_string(call->protocol ? call->protocol->hook_name(h->kind)
                                                       : sim_hook_type(h->kind)));
        json_object_set_new(hook, "status", json_str_or_null(sim_hook_status(h->kind)));
        json_object_set_new(hook, "result", json_string(sim_hook_result_name(h->result)));
        json_object_set_new(hook, "duplicate", json_boolean(h->duplicate));
        json_object_set_new(hook, "order", h->order ? json_integer(h->order) : json_null());
        json_object_set_new(hook, "http_status",
                            h->http_status ? json_integer(h->http_status) : json_null());
        json_object_set_new(hook, "error", json_str_or_null(h->error[0] ? h->error : NULL));
        json_set_time(hook, "sent_at", h->sent_us);
        json_array_append_new(hooks, hook);
    }
    json_object_set_new(rec, "webhooks", hooks);
    return rec;
}

/* --- string map (chained, grows at load 1) --- */

struct sim_map_entry {
    char *key;
    void *ptr;
    uint64_t count;
    sim_map_entry_t *next;
};

static uint64_t map_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void map_free(sim_map_t *map)
{
    for (size_t i = 0; i < map->nbuckets; i++) {
        sim_map_entry_t *e = map->buckets[i];
        while (e) {
            sim_map_entry_t *next = e->next;
            free(e->key);
            free(e);
            e = next;
        }
    }
    free(map->buckets);
    memset(map, 0, sizeof(*map));
}

static sim_map_entry_t *map_get(const sim_map_t *map, const char *key)
{
    if (!map->nbuckets)
        return NULL;
    for (sim_map_entry_t *e = map->buckets[map_hash(key) & (map->nbuckets - 1)]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void map_grow(sim_map_t *map)
{
    size_t n = map->nbuckets ? map->nbuckets * 2 : 64;
    sim_map_entry_t **buckets = xcalloc(n, sizeof(*buckets));
    for (size_t i = 0; i < map->nbuckets; i++) {
        sim_map_entry_t *e = map->buckets[i];
        while (e) {
            sim_map_entry_t *next = e->next;
            size_t b = map_hash(e->key) & (n - 1);
            e->next = buckets[b];
            buckets[b] = e;
            e = next;
        }
    }
    free(map->buckets);
    map->buckets = buckets;
    map->nbuckets = n;
}

static sim_map_entry_t *map_upsert(sim_map_t *map, const char *key)
{
    sim_map_entry_t *e = map_get(map, key);
    if (e)
        return e;
    if (map->count >= map->nbuckets)
        map_grow(map);
    e = xcalloc(1, sizeof(*e));
    e->key = xstrdup(key);
    size_t b = map_hash(key) & (map->nbuckets - 1);
    e->next = map->buckets[b];
    map->buckets[b] = e;
    map->count++;
    return e;
}

/* --- the log --- */

void sim_calls_init(sim_calls_t *log)
{
    memset(log, 0, sizeof(*log));
}

void sim_calls_clear(sim_calls_t *log)
{
    for (size_t i = 0; i < log->n; i++)
        sim_call_free(log->calls[i]);
    free(log->calls);
    map_free(&log->by_id);
    map_free(&log->by_key);
    memset(log, 0, sizeof(*log));
}

void sim_calls_add(sim_calls_t *log, sim_call_t *call)
{
    if (log->n == log->cap) {
        log->cap = log->cap ? log->cap * 2 : 256;
        log->calls = xrealloc(log->calls, log->cap * sizeof(*log->calls));
    }
    log->calls[log->n++] = call;
    map_upsert(&log->by_id, call->id)->ptr = call;
}

sim_call_t *sim_calls_find(const sim_calls_t *log, const char *id)
{
    sim_map_entry_t *e = map_get(&log->by_id, id);
    return e ? e->ptr : NULL;
}

uint64_t sim_calls_key_bump(sim_calls_t *log, const char *key)
{
    sim_map_entry_t *e = map_upsert(&log->by_key, key);
    return e->count++;
}

static bool str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

json_t *sim_calls_query(const sim_calls_t *log, const char *number, const char *campaign_id,
                        const char *attempt_id)
{
    json_t *calls = json_array();
    for (size_t i = 0; i < log->n; i++) {
        const sim_call_t *call = log->calls[i];
        if (number && !str_eq(call->number, number))
            continue;
        if (campaign_id && !str_eq(call->campaign_id, campaign_id))
            continue;
        if (attempt_id && !str_eq(call->attempt_id, attempt_id))
            continue;
        json_array_append_new(calls, sim_call_to_json(call));
    }
    return json_pack("{s:I, s:o}", "count", (json_int_t)json_array_size(calls), "calls", calls);
}

/* --- invariants --- */

static int by_attempt(const void *a, const void *b)
{
    const sim_call_t *x = *(const sim_call_t *const *)a;
    const sim_call_t *y = *(const sim_call_t *const *)b;
    int c = strcmp(x->attempt_id, y->attempt_id);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_number_received(const void *a, const void *b)
{
    const sim_call_t *x = *(const sim_call_t *const *)a;
    const sim_call_t *y = *(const sim_call_t *const *)b;
    int c = strcmp(x->number, y->number);
    if (c)
        return c;
    if (x->received_us != y->received_us)
        return x->received_us < y->received_us ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int64_t call_end(const sim_call_t *call)
{
    return call->ended_us ? call->ended_us : call->end_plan_us;
}

json_t *sim_calls_invariants(const sim_calls_t *log, uint64_t *double_dials,
                             uint64_t *concurrent_same_number)
{
    sim_call_t **placed = xmalloc((log->n + 1) * sizeof(*placed));
    json_t *dialed = json_array();
    json_t *overlapping = json_array();
    uint64_t dd = 0, overlaps = 0;

    /* Attempts placed more than once. */
    size_t n = 0;
    for (size_t i = 0; i < log->n; i++)
        if (log->calls[i]->placed && log->calls[i]->attempt_id)
            placed[n++] = log->calls[i];
    qsort(placed, n, sizeof(*placed), by_attempt);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && strcmp(placed[j]->attempt_id, placed[i]->attempt_id) == 0)
            j++;
        if (j - i > 1) {
            dd += j - i - 1;
            json_t *ids = json_array();
            for (size_t k = i; k < j; k++)
                json_array_append_new(ids, json_string(placed[k]->id));
            json_array_append_new(
                dialed, json_pack("{s:s, s:o}", "attempt_id", placed[i]->attempt_id, "calls", ids));
        }
        i = j;
    }

    /* Calls to one number overlapping in time: sorted by start, a call
     * overlaps every later one that starts before it ends. */
    n = 0;
    for (size_t i = 0; i < log->n; i++)
        if (log->calls[i]->placed && log->calls[i]->number)
            placed[n++] = log->calls[i];
    qsort(placed, n, sizeof(*placed), by_number_received);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n && strcmp(placed[j]->number, placed[i]->number) == 0; j++) {
            if (placed[j]->received_us >= call_end(placed[i]))
                continue;
            overlaps++;
            json_array_append_new(overlapping,
                                  json_pack("{s:s, s:[s, s]}", "number", placed[i]->number, "calls",
                                            placed[i]->id, placed[j]->id));
        }
    }
    free(placed);
    if (double_dials)
        *double_dials = dd;
    if (concurrent_same_number)
        *concurrent_same_number = overlaps;
    return json_pack("{s:b, s:I, s:I, s:o, s:o}", "ok", dd == 0 && overlaps == 0, "double_dials",
                     (json_int_t)dd, "concurrent_same_number", (json_int_t)overlaps,
                     "double_dialed", dialed, "overlapping", overlapping);
}

json_t *sim_calls_counts(const sim_calls_t *log)
{
    json_int_t outcomes[SIM_OUTCOME_COUNT] = {0};
    json_int_t placed = 0, finished = 0, aborted = 0;
    json_int_t capacity = 0, fault_5xx = 0, transient = 0;
    json_int_t sent = 0, failed = 0, dropped = 0, duplicated = 0, pending = 0, disordered = 0;
    for (size_t i = 0; i < log->n; i++) {
        const sim_call_t *call = log->calls[i];
        if (call->decided)
            outcomes[call->decision.outcome]++;
        placed += call->placed;
        finished += call->finished;
        aborted += call->aborted;
        capacity += str_eq(call->rejected, "capacity");
        fault_5xx += str_eq(call->rejected, "fault-5xx");
        transient += str_eq(call->rejected, "transient-failure");
        disordered += call->placed && call->faults.disorder != SIM_DISORDER_NONE;
        for (size_t k = 0; k < call->nhooks; k++) {
            const sim_hook_t *h = &call->hooks[k];
            duplicated += h->duplicate;
            sent += h->result == SIM_HOOK_SENT;
            failed += h->result == SIM_HOOK_FAILED;
            dropped += h->result == SIM_HOOK_DROPPED;
            pending += h->result == SIM_HOOK_PENDING;
        }
    }
    json_t *by_outcome = json_object();
    for (int o = 0; o < SIM_OUTCOME_COUNT; o++)
        json_object_set_new(by_outcome, sim_outcome_name((sim_outcome_t)o),
                            json_integer(outcomes[o]));
    return json_pack("{s:I, s:I, s:I, s:I, s:o, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I},"
                     " s:I}",
                     "received", (json_int_t)log->n, "placed", placed, "finished", finished,
                     "aborted", aborted, "outcomes", by_outcome, "rejected", "capacity", capacity,
                     "fault-5xx", fault_5xx, "transient-failure", transient, "webhooks", "sent",
                     sent, "failed", failed, "dropped", dropped, "duplicated", duplicated,
                     "pending", pending, "out_of_order_calls", disordered);
}

/*
 * outdial-audit — checks the invariants of docs/architecture.md §6 from the
 * provider's side (the simulator's call log) cross-checked with the
 * database, for one campaign.
 *
 *   outdial-audit --sim-url http://127.0.0.1:PORT --campaign ID
 *
 * OUTDIAL_PG_DSN names the database. Prints one key=value line per count
 * and exits 1 if any is not zero:
 *   double_dials            calls beyond the first for one attempt id
 *   concurrent_same_number  calls that started while another call to the
 *                           same number was still in progress
 *   outside_window          calls that started when the lead's calling
 *                           window (campaign window + quiet hours) was closed
 *   dnc_calls               calls to a number on the account's DNC list (but
 *                           for entries an opt-out added: called_after_opt_out)
 *   lost_results            calls the simulator finished whose result the
 *                           database does not hold
 *   duplicate_results       calls whose terminal result the database
 *                           recorded more than once
 *   attempts_over_limit     leads called more than 1 + max_retries times, not
 *                           counting the callbacks their callees asked for
 *                           (call.callback: they use no attempt)
 *   over_frequency_cap      calls to a number that made more than its cap in 24
 *                           hours, counted over every campaign of the account:
 *                           the account's calls_per_24h, or the callee's state
 *                           cap when that is smaller, the state of each call's
 *                           own lead, else of its number (docs/compliance.md)
 *   called_after_opt_out    calls to a number placed after the end of the call on
 *                           which its callee opted out (DNC source call), over
 *                           every campaign of the account
 *   outside_legal_hours     calls that started when the callee's legal rules
 *                           (the account's profile, the lead's state or its
 *                           number's, docs/compliance.md) forbade a call by
 *                           their hours or a closed day (Sunday)
 *   on_holiday              calls that started on a holiday of those rules
 *   stats_counters_differ   statistics counters of the campaign that differ
 *                           from a recount of its leads and calls (migrations
 *                           012 and 020, the A/B arms' and hours' included;
 *                           each difference is named on stderr, an arm's or
 *                           hour's with its arm or hour)
 * The legal counts judge by the account's profile and overrides as they are
 * when the audit runs.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_legal.h"
#include "config.h"
#include "freqcap.h"
#include "log.h"
#include "pg.h"
#include "sched_campaign.h"
#include "uuid.h"
#include "window.h"
#include "xmalloc.h"

typedef struct buf {
    char *data;
    size_t len;
} buf_t;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    buf_t *b = arg;
    size_t n = size * nmemb;
    xbuf_append(&b->data, &b->len, ptr, n);
    return n;
}

/* GET url → parsed JSON (caller json_decref) or NULL with a message. */
static json_t *http_get_json(const char *url, char *err, size_t errlen)
{
    buf_t b = {0};
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    CURLcode cc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    json_t *j = NULL;
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "GET %.200s: %s", url, curl_easy_strerror(cc));
    } else if (status != 200) {
        snprintf(err, errlen, "GET %.200s: HTTP %ld", url, status);
    } else {
        json_error_t jerr;
        j = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
        if (!j)
            snprintf(err, errlen, "GET %.200s: bad JSON: %s", url, jerr.text);
    }
    free(b.data);
    return j;
}

/* A sorted table of strings (lead ids, DNC numbers, attempt ids) with a
 * value each. */
typedef struct entry {
    char *key;
    int64_t a, b;
    char *s1, *s2;
} entry_t;

static int entry_cmp(const void *x, const void *y)
{
    return strcmp(((const entry_t *)x)->key, ((const entry_t *)y)->key);
}

static entry_t *entry_find(entry_t *t, size_t n, const char *key)
{
    entry_t probe = {.key = (char *)key};
    return key ? bsearch(&probe, t, n, sizeof(*t), entry_cmp) : NULL;
}

static entry_t *table_load(pg_conn_t *db, const char *sql, const char *param, size_t *n_out)
{
    char err[512];
    PGresult *res = NULL;
    const char *p[] = {param};
    if (pg_exec_params(db, sql, 1, p, &res, err, sizeof(err))) {
        fprintf(stderr, "outdial-audit: %s\n", err);
        exit(2);
    }
    size_t n = (size_t)PQntuples(res);
    entry_t *t = xcalloc(n ? n : 1, sizeof(*t));
    for (size_t i = 0; i < n; i++) {
        t[i].key = xstrdup(PQgetvalue(res, (int)i, 0));
        int nf = PQnfields(res);
        if (nf > 1)
            t[i].s1 = xstrdup(PQgetvalue(res, (int)i, 1));
        if (nf > 2)
            t[i].s2 = xstrdup(PQgetvalue(res, (int)i, 2));
        if (nf > 3)
            t[i].a = strtoll(PQgetvalue(res, (int)i, 3), NULL, 10);
    }
    PQclear(res);
    qsort(t, n, sizeof(*t), entry_cmp);
    *n_out = n;
    return t;
}

static void table_free(entry_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].key);
        free(t[i].s1);
        free(t[i].s2);
    }
    free(t);
}

typedef struct sim_call {
    const char *number, *attempt_id, *lead_id;
    int64_t received_us, ended_us;
    bool finished;
} sim_call_t;

static int by_number_time(const void *x, const void *y)
{
    const sim_call_t *a = x, *b = y;
    int c = strcmp(a->number, b->number);
    if (c)
        return c;
    return a->received_us < b->received_us ? -1 : a->received_us > b->received_us;
}

static int by_attempt(const void *x, const void *y)
{
    return strcmp(((const sim_call_t *)x)->attempt_id, ((const sim_call_t *)y)->attempt_id);
}

static int by_lead(const void *x, const void *y)
{
    return strcmp(((const sim_call_t *)x)->lead_id, ((const sim_call_t *)y)->lead_id);
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* A call of the simulator's log (GET /sim/calls); its strings point into o. */
static void sim_call_read(json_t *o, sim_call_t *s)
{
    s->number = jstr(o, "number");
    s->attempt_id = jstr(o, "attempt_id");
    s->lead_id = jstr(o, "lead_id");
    s->received_us = json_integer_value(json_object_get(o, "received_at_us"));
    s->ended_us = json_integer_value(json_object_get(o, "ended_at_us"));
    s->finished = json_is_true(json_object_get(o, "finished")) &&
                  !json_is_true(json_object_get(o, "aborted"));
}

/* The cap on calls to a number in 24 hours that applied to one call, as
 * the scheduler put it in the call's job: the account's, or the callee's
 * legal cap when smaller, the callee's jurisdiction being the state of the
 * call's own lead (whichever campaign of the account it is in), else the
 * number called (legal_number_cap: no campaign setting enters it). A call
 * whose lead is no longer stored (deleted: its call rows went with it, but
 * the provider placed it and it counts for the number) is judged by its
 * number. 0: no cap. */
static int call_cap(const legal_account_t *acct, int account_cap, const entry_t *lead,
                    const char *number)
{
    char err[256];
    int cap;
    if (legal_number_cap(acct, account_cap, lead ? lead->s1 : NULL, number, &cap, err,
                         sizeof(err)) == OD_OK)
        return cap;
    fprintf(stderr, "outdial-audit: cap of %s: %s; judged by its number\n", number, err);
    if (legal_number_cap(acct, account_cap, NULL, number, &cap, err, sizeof(err)) != OD_OK)
        fprintf(stderr, "outdial-audit: cap of %s: %s; the account's cap\n", number, err);
    return cap;
}

/* The account's counts, over every campaign of the account (the cap and
 * an opt-out hold across campaigns): over_frequency_cap and
 * called_after_opt_out (see the top). Reads the simulator's whole log. */
static int account_counts(pg_conn_t *db, const char *sim_url, const sched_campaign_t *camp,
                          const legal_account_t *acct, long *over_cap, long *after_opt_out,
                          char *err, size_t errlen)
{
    size_t n_camps, n_opt, n_leads;
    entry_t *camps = table_load(db, "SELECT id::text FROM campaign WHERE account_id = $1::uuid",
                                camp->account_id, &n_camps);
    entry_t *leads = table_load(db,
                                "SELECT l.id::text, coalesce(l.state, '')"
                                " FROM lead l JOIN campaign c ON c.id = l.campaign_id"
                                " WHERE c.account_id = $1::uuid",
                                camp->account_id, &n_leads);
    entry_t *opt = table_load(db,
                              "SELECT call_id::text, e164 FROM dnc WHERE account_id = $1::uuid"
                              " AND source = 'call'",
                              camp->account_id, &n_opt);
    char url[1024];
    snprintf(url, sizeof(url), "%s/sim/calls", sim_url);
    json_t *log = http_get_json(url, err, errlen);
    if (!log) {
        table_free(camps, n_camps);
        table_free(opt, n_opt);
        table_free(leads, n_leads);
        return -1;
    }
    json_t *arr = json_object_get(log, "calls");
    size_t n = json_array_size(arr), k = 0;
    sim_call_t *sc = xcalloc(n ? n : 1, sizeof(*sc));
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        if (!json_is_true(json_object_get(o, "placed")) ||
            !entry_find(camps, n_camps, jstr(o, "campaign_id")))
            continue;
        sim_call_read(o, &sc[k++]);
    }
    qsort(sc, k, sizeof(*sc), by_number_time);
    /* Each call judged against the calls to its number before it. */
    for (size_t i = 0; i < k; i++) {
        int cap = call_cap(acct, camp->calls_per_24h, entry_find(leads, n_leads, sc[i].lead_id),
                           sc[i].number);
        if (cap <= 0)
            continue;
        int64_t times[FREQCAP_TIMES_MAX];
        size_t m = 0;
        for (size_t j = i; j-- > 0 && m < FREQCAP_TIMES_MAX;) {
            if (strcmp(sc[j].number, sc[i].number) != 0)
                break;
            times[m++] = sc[j].received_us;
        }
        freqcap_verdict_t v;
        freqcap_check(cap, times, m, sc[i].received_us, &v);
        if (!v.allowed) {
            (*over_cap)++;
            fprintf(stderr, "over_frequency_cap: attempt %s to %s (%d before it in 24 h, cap %d)\n",
                    sc[i].attempt_id, sc[i].number, v.counted, cap);
        }
    }
    for (size_t e = 0; e < n_opt; e++) {
        int64_t opted_at = INT64_MAX;
        for (size_t i = 0; i < k; i++)
            if (strcmp(sc[i].attempt_id, opt[e].key) == 0)
                opted_at = sc[i].ended_us ? sc[i].ended_us : sc[i].received_us;
        for (size_t i = 0; i < k; i++) {
            if (strcmp(sc[i].number, opt[e].s1) == 0 && sc[i].received_us > opted_at) {
                (*after_opt_out)++;
                fprintf(stderr, "called_after_opt_out: attempt %s to %s\n", sc[i].attempt_id,
                        sc[i].number);
            }
        }
    }
    free(sc);
    json_decref(log);
    table_free(camps, n_camps);
    table_free(opt, n_opt);
    table_free(leads, n_leads);
    return 0;
}

int main(int argc, char **argv)
{
    const char *sim_url = NULL, *campaign_id = NULL;
    static const struct option opts[] = {
        {"sim-url", required_argument, NULL, 's'}, {"campaign", required_argument, NULL, 'c'}, {0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's')
            sim_url = optarg;
        else if (c == 'c')
            campaign_id = optarg;
        else
            return 2;
    }
    if (!sim_url || !campaign_id || !uuid_str_valid(campaign_id)) {
        fprintf(stderr, "usage: outdial-audit --sim-url URL --campaign ID (OUTDIAL_PG_DSN set)\n");
        return 2;
    }
    char err[1024];
    if (log_init("audit", err, sizeof(err)))
        log_set_level(LOG_LEVEL_WARN);
    const char *dsn = NULL;
    if (config_get_required("OUTDIAL_PG_DSN", &dsn, err, sizeof(err))) {
        fprintf(stderr, "outdial-audit: %s\n", err);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char url[1024];
    snprintf(url, sizeof(url), "%s/sim/calls?campaign_id=%s", sim_url, campaign_id);
    json_t *log = http_get_json(url, err, sizeof(err));
    if (!log) {
        fprintf(stderr, "outdial-audit: %s\n", err);
        return 2;
    }
    pg_conn_t *db = NULL;
    if (pg_conn_new(dsn, "outdial-audit", NULL, &db, err, sizeof(err))) {
        fprintf(stderr, "outdial-audit: %s\n", err);
        return 2;
    }
    sched_campaign_t camp;
    if (sched_campaign_load(db, campaign_id, SCHED_LOCK_NONE, &camp, err, sizeof(err))) {
        fprintf(stderr, "outdial-audit: %s\n", err);
        return 2;
    }
    size_t n_leads, n_dnc, n_calls;
    entry_t *leads = table_load(db,
                                "SELECT id::text, coalesce(e164, ''), coalesce(timezone, '')"
                                " FROM lead WHERE campaign_id = $1::uuid",
                                campaign_id, &n_leads);
    entry_t *dnc = table_load(db,
                              "SELECT e164 FROM dnc WHERE account_id = $1::uuid"
                              " AND source <> 'call'",
                              camp.account_id, &n_dnc);
    entry_t *calls = table_load(
        db,
        "SELECT attempt_id::text, status::text, status_history::text, (SELECT count(*) FROM"
        " jsonb_array_elements(status_history) e WHERE e->>'status' IN"
        " ('completed', 'busy', 'unanswered', 'failed')"
        " AND NOT coalesce((e->>'synthetic')::boolean, false))"
        " FROM call WHERE campaign_id = $1::uuid",
        campaign_id, &n_calls);

    size_t n_callbacks; /* the callee's callbacks: no attempt of the budget */
    entry_t *callbacks = table_load(db,
                                    "SELECT attempt_id::text FROM call"
                                    " WHERE campaign_id = $1::uuid AND callback",
                                    campaign_id, &n_callbacks);
    size_t n_states;
    entry_t *states = table_load(db,
                                 "SELECT id::text, coalesce(state, '') FROM lead"
                                 " WHERE campaign_id = $1::uuid",
                                 campaign_id, &n_states);
    legal_account_t acct;
    if (campaign_legal_load(db, &camp, &acct, err, sizeof(err))) {
        fprintf(stderr, "outdial-audit: %s\n", err);
        return 2;
    }
    long outside_legal = 0, on_holiday = 0;

    json_t *arr = json_object_get(log, "calls");
    size_t n = json_array_size(arr), placed = 0;
    sim_call_t *sc = xcalloc(n ? n : 1, sizeof(*sc));
    long outside_window = 0, dnc_calls = 0, lost_results = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        if (!json_is_true(json_object_get(o, "placed")))
            continue; /* refused at POST (5xx, 429): no call */
        sim_call_t *s = &sc[placed++];
        sim_call_read(o, s);
        entry_t *lead = entry_find(leads, n_leads, s->lead_id);
        lead_window_t lw;
        bool open = false;
        if (lead &&
            sched_lead_window(&camp, lead->s2, lead->s1, s->received_us, &lw, err, sizeof(err)) ==
                OD_OK &&
            window_is_open(lw.rules, lw.n_rules, s->received_us, &open, err, sizeof(err)) ==
                OD_OK &&
            !open) {
            outside_window++;
            fprintf(stderr, "outside_window: attempt %s to %s\n", s->attempt_id, s->number);
        }
        /* The callee's legal rules at the instant the provider got the call. */
        entry_t *st = entry_find(states, n_states, s->lead_id);
        lead_legal_t legal;
        legal_gate_t gate;
        if (lead && st &&
            campaign_lead_legal(&camp, &acct, lead->s2, lead->s1, st->s1, s->received_us, &legal,
                                err, sizeof(err)) == OD_OK &&
            legal_gate_check(&legal.rules, legal.callee_tz.zones, legal.callee_tz.n_zones,
                             s->received_us, &gate, err, sizeof(err)) == OD_OK &&
            !gate.allowed) {
            char why[512];
            legal_gate_describe(&gate, why, sizeof(why));
            if (legal_gate_on_holiday(&gate))
                on_holiday++;
            else
                outside_legal++;
            fprintf(stderr, "%s: attempt %s to %s: %s\n",
                    legal_gate_on_holiday(&gate) ? "on_holiday" : "outside_legal_hours",
                    s->attempt_id, s->number, why);
        }
        if (entry_find(dnc, n_dnc, s->number)) {
            dnc_calls++;
            fprintf(stderr, "dnc_call: attempt %s to %s\n", s->attempt_id, s->number);
        }
        entry_t *row = entry_find(calls, n_calls, s->attempt_id);
        if (s->finished && (!row || row->a == 0)) {
            lost_results++;
            fprintf(stderr, "lost_result: attempt %s to %s\n", s->attempt_id, s->number);
        }
    }
    long duplicate_results = 0;
    for (size_t i = 0; i < n_calls; i++) {
        if (calls[i].a > 1) {
            duplicate_results += calls[i].a - 1;
            fprintf(stderr, "duplicate_result: attempt %s: %s\n", calls[i].key, calls[i].s2);
        }
    }

    long double_dials = 0, concurrent = 0, over_limit = 0;
    qsort(sc, placed, sizeof(*sc), by_attempt);
    for (size_t i = 1; i < placed; i++)
        if (sc[i].attempt_id[0] && strcmp(sc[i].attempt_id, sc[i - 1].attempt_id) == 0)
            double_dials++;
    qsort(sc, placed, sizeof(*sc), by_number_time);
    for (size_t i = 1; i < placed; i++) {
        if (strcmp(sc[i].number, sc[i - 1].number) != 0)
            continue;
        int64_t prev_end = sc[i - 1].ended_us ? sc[i - 1].ended_us : INT64_MAX;
        if (sc[i].received_us < prev_end)
            concurrent++;
    }
    qsort(sc, placed, sizeof(*sc), by_lead);
    for (size_t i = 0; i < placed;) {
        size_t j = i;
        long counted = 0;
        for (; j < placed && strcmp(sc[j].lead_id, sc[i].lead_id) == 0; j++)
            counted += entry_find(callbacks, n_callbacks, sc[j].attempt_id) == NULL;
        if (counted > 1 + camp.retry.max_retries)
            over_limit++;
        i = j;
    }

    long over_cap = 0, after_opt_out = 0;
    if (account_counts(db, sim_url, &camp, &acct, &over_cap, &after_opt_out, err, sizeof(err))) {
        fprintf(stderr, "outdial-audit: %s\n", err);
        return 2;
    }

    /* The statistics' counters against their recount, in one snapshot. */
    size_t counters_differ;
    entry_t *diffs = table_load(db,
                                "SELECT name, stored::text, recounted::text"
                                " FROM campaign_counter_recount($1::uuid)",
                                campaign_id, &counters_differ);
    for (size_t i = 0; i < counters_differ; i++)
        fprintf(stderr, "outdial-audit: counter %s stored %s, recounted %s\n", diffs[i].key,
                diffs[i].s1, diffs[i].s2);
    table_free(diffs, counters_differ);

    printf("calls_placed=%zu\n", placed);
    printf("double_dials=%ld\n", double_dials);
    printf("concurrent_same_number=%ld\n", concurrent);
    printf("outside_window=%ld\n", outside_window);
    printf("dnc_calls=%ld\n", dnc_calls);
    printf("lost_results=%ld\n", lost_results);
    printf("duplicate_results=%ld\n", duplicate_results);
    printf("attempts_over_limit=%ld\n", over_limit);
    printf("over_frequency_cap=%ld\n", over_cap);
    printf("called_after_opt_out=%ld\n", after_opt_out);
    printf("outside_legal_hours=%ld\n", outside_legal);
    printf("on_holiday=%ld\n", on_holiday);
    printf("stats_counters_differ=%zu\n", counters_differ);

    free(sc);
    table_free(leads, n_leads);
    table_free(dnc, n_dnc);
    table_free(calls, n_calls);
    table_free(states, n_states);
    table_free(callbacks, n_callbacks);
    legal_account_clear(&acct);
    json_decref(log);
    pg_conn_free(db);
    curl_global_cleanup();
    return double_dials || concurrent || outside_window || dnc_calls || lost_results ||
                   duplicate_results || over_limit || over_cap || after_opt_out || outside_legal ||
                   on_holiday || counters_differ
               ? 1
               : 0;
}

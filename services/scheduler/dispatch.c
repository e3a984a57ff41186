#include "dispatch.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "uuid.h"
#include "xmalloc.h"

static const pg_stmt_t running_stmt = {
    "dispatch_running", "SELECT id FROM campaign WHERE status = 'in_progress' ORDER BY id", 0};

/* The due-lead claim; served by lead_due_idx (campaign_id, next_attempt_at). */
static const pg_stmt_t claim_stmt = {
    "dispatch_claim",
    "SELECT id, e164, coalesce(timezone, ''), name, variables::text, attempts"
    " FROM lead WHERE campaign_id = $1::uuid AND status IN ('created', 'rescheduled')"
    " AND next_attempt_at <= od_ts($2::bigint) AND invalid_reason IS NULL"
    " ORDER BY next_attempt_at LIMIT $3::int FOR UPDATE SKIP LOCKED",
    3};

/* The claim when one window serves the whole campaign: no lead needs a
 * look of its own, so claiming and scheduling are one statement, the
 * attempt ids made by Postgres. Columns as claim_stmt, plus the attempt id. */
static const pg_stmt_t claim_shared_stmt = {
    "dispatch_claim_shared",
    "WITH due AS (SELECT id FROM lead WHERE campaign_id = $1::uuid"
    "  AND status IN ('created', 'rescheduled') AND next_attempt_at <= od_ts($2::bigint)"
    "  AND invalid_reason IS NULL ORDER BY next_attempt_at LIMIT $3::int FOR UPDATE SKIP LOCKED)"
    " UPDATE lead l SET status = 'scheduled', current_attempt_id = gen_random_uuid(),"
    " status_changed_at = od_ts($2::bigint), reissues = 0, updated_at = now()"
    " FROM due WHERE l.id = due.id"
    " RETURNING l.id, l.e164, coalesce(l.timezone, ''), l.name, l.variables::text, l.attempts,"
    " l.current_attempt_id",
    3};

static const pg_stmt_t schedule_stmt = {
    "dispatch_schedule",
    "UPDATE lead l SET status = 'scheduled', current_attempt_id = v.attempt_id,"
    " status_changed_at = od_ts($3::bigint), reissues = 0, updated_at = now()"
    " FROM unnest($1::uuid[], $2::uuid[]) AS v(id, attempt_id) WHERE l.id = v.id",
    3};

static const pg_stmt_t defer_stmt = {
    "dispatch_defer",
    "UPDATE lead l SET next_attempt_at = od_ts(v.due), updated_at = now()"
    " FROM unnest($1::uuid[], $2::bigint[]) AS v(id, due) WHERE l.id = v.id",
    2};

static const pg_stmt_t cpm_stmt = {
    "dispatch_cpm",
    "UPDATE campaign SET cpm_tokens = $2::double precision, cpm_refilled_at = od_ts($3::bigint)"
    " WHERE id = $1::uuid",
    3};

void dispatch_stats_init(dispatch_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    st->next_wake_us = INT64_MAX;
}

/* A growing Postgres array literal: {a,b,c}. Elements are UUIDs or integers
 * we produced ourselves, so no quoting is needed. */
typedef struct pg_array {
    char *buf;
    size_t len, cap;
    size_t n;
} pg_array_t;

static void pg_array_add(pg_array_t *a, const char *item)
{
    size_t need = a->len + strlen(item) + 3;
    if (need > a->cap) {
        a->cap = need * 2;
        a->buf = xrealloc(a->buf, a->cap);
    }
    a->buf[a->len++] = a->n ? ',' : '{';
    size_t l = strlen(item);
    memcpy(a->buf + a->len, item, l);
    a->len += l;
    a->buf[a->len] = '\0';
    a->n++;
}

static const char *pg_array_text(pg_array_t *a)
{
    if (a->n == 0)
        return "{}";
    a->buf[a->len] = '}';
    a->buf[a->len + 1] = '\0';
    return a->buf;
}

static void pg_array_reset(pg_array_t *a)
{
    a->len = 0;
    a->n = 0;
}

int dispatch_job_encode(const sched_campaign_t *c, const char *lead_id, const char *attempt_id,
                        int attempt_number, const char *e164, const char *lead_name,
                        const char *variables_json, int64_t not_after_us, int64_t now_us,
                        uint8_t **out, size_t *out_len, char *errbuf, size_t errlen)
{
    dialjob_t job;
    dialjob_init(&job);
    job.attempt_id = (char *)attempt_id;
    job.lead_id = (char *)lead_id;
    job.campaign_id = (char *)c->id;
    job.account_id = (char *)c->account_id;
    job.attempt_number = (uint32_t)attempt_number;
    job.e164 = (char *)e164;
    job.caller_id = (char *)c->caller_id;
    job.provider = (char *)c->provider;
    job.provider_assistant_id = (char *)c->provider_assistant_id;
    job.provider_phone_number_id = (char *)c->provider_phone_number_id;
    job.lead_name = (char *)lead_name;
    job.max_call_duration_s = (uint32_t)c->max_call_duration_s;
    job.not_after_us = not_after_us;
    job.issued_at_us = now_us;

    /* The lead's variables (a JSON object) become string pairs: strings as
     * they are, other values as their JSON text. */
    json_error_t jerr;
    json_t *vars = json_loads(variables_json ? variables_json : "{}", 0, &jerr);
    size_t n = json_is_object(vars) ? json_object_size(vars) : 0;
    dialjob_variable_t *entries = n ? xcalloc(n, sizeof(*entries)) : NULL;
    dialjob_variable_t **ptrs = n ? xcalloc(n, sizeof(*ptrs)) : NULL;
    char **owned = n ? xcalloc(n, sizeof(*owned)) : NULL;
    size_t i = 0;
    const char *key;
    json_t *value;
    if (n) {
        json_object_foreach(vars, key, value)
        {
            outdial__v1__dial_job__variables_entry__init(&entries[i]);
            entries[i].key = (char *)key;
            if (json_is_string(value)) {
                entries[i].value = (char *)json_string_value(value);
            } else {
                owned[i] = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
                entries[i].value = owned[i] ? owned[i] : (char *)"";
            }
            ptrs[i] = &entries[i];
            i++;
        }
    }
    job.n_variables = i;
    job.variables = ptrs;
    int rc = dialjob_encode(&job, out, out_len, errbuf, errlen);
    for (size_t k = 0; k < i; k++)
        free(owned[k]);
    free(owned);
    free(ptrs);
    free(entries);
    json_decref(vars);
    return rc;
}

/* A job encoded during the claim, produced after the commit. */
typedef struct pending_job {
    char lead_id[UUID_STR_LEN];
    uint8_t *payload;
    size_t len;
} pending_job_t;

/* The token bucket of calls_per_minute: refills at cpm per minute up to a
 * burst of cpm / 6 (ten seconds' worth, at least 1), so a campaign limited
 * to 60 calls a minute starts at most 10 at once instead of 60. */
static double cpm_tokens_now(const sched_campaign_t *c, int64_t now_us)
{
    double burst = c->calls_per_minute / 6.0;
    if (burst < 1)
        burst = 1;
    if (c->cpm_refilled_us == INT64_MIN)
        return burst;
    double elapsed_min = (double)(now_us - c->cpm_refilled_us) / (60.0 * 1e6);
    if (elapsed_min < 0)
        elapsed_min = 0;
    double tokens = c->cpm_tokens + elapsed_min * c->calls_per_minute;
    return tokens > burst ? burst : tokens;
}

int dispatch_campaign(pg_conn_t *db, kafka_producer_t *producer, const char *dial_topic,
                      const char *campaign_id, int64_t now_us, int batch_size, dispatch_stats_t *st,
                      char *errbuf, size_t errlen)
{
    sched_campaign_t c;
    PGresult *res = NULL;
    pg_array_t ids = {0}, attempts = {0}, defer_ids = {0}, defer_due = {0};
    pending_job_t *jobs = NULL;
    size_t n_jobs = 0, cap_jobs = 0;
    char now[24], limit[16];
    snprintf(now, sizeof(now), "%" PRId64, now_us);

    int rc = pg_tx_begin(db, errbuf, errlen);
    if (rc)
        return rc;
    rc = sched_campaign_load(db, campaign_id, SCHED_LOCK_SKIP_LOCKED, &c, errbuf, errlen);
    if (rc == OD_ERR_NOT_FOUND) { /* another replica has it, or it is gone */
        rc = OD_OK;
        goto fail;
    }
    if (rc || c.status != MODEL_CAMPAIGN_IN_PROGRESS)
        goto fail;
    st->campaigns++;

    int64_t free_slots = c.max_concurrent_calls - c.in_flight;
    double tokens = 0;
    if (c.calls_per_minute > 0) {
        tokens = cpm_tokens_now(&c, now_us);
        if ((double)free_slots > floor(tokens))
            free_slots = (int64_t)floor(tokens);
        if (free_slots <= 0) {
            /* The next token arrives in (1 - tokens) minutes. */
            int64_t wait = (int64_t)((1.0 - tokens) * 60e6 / c.calls_per_minute) + 1;
            if (now_us + wait < st->next_wake_us)
                st->next_wake_us = now_us + wait;
        }
    }
    if (free_slots <= 0)
        goto commit;

    /* One window for the whole campaign: check it once. */
    bool shared = sched_window_is_shared(&c);
    int64_t shared_close = 0;
    lead_window_t lw;
    if (shared) {
        rc = sched_lead_window(&c, NULL, NULL, now_us, &lw, errbuf, errlen);
        if (rc)
            goto fail;
        window_slot_t slot;
        rc = window_slot_find(lw.rules, lw.n_rules, now_us, &slot, errbuf, errlen);
        if (rc == OD_ERR_NOT_FOUND) { /* never opens: nothing to do, nothing to wait for */
            rc = OD_OK;
            goto commit;
        }
        if (rc)
            goto fail;
        if (slot.open_us > now_us) {
            if (slot.open_us < st->next_wake_us)
                st->next_wake_us = slot.open_us;
            goto commit;
        }
        shared_close = slot.close_us;
    }

    while (free_slots > 0) {
        int64_t want = free_slots < batch_size ? free_slots : batch_size;
        snprintf(limit, sizeof(limit), "%" PRId64, want);
        const char *claim_params[] = {c.id, now, limit};
        rc = pg_stmt_exec(db, shared ? &claim_shared_stmt : &claim_stmt, claim_params, &res, errbuf,
                          errlen);
        if (rc)
            goto fail;
        int rows = PQntuples(res);
        pg_array_reset(&ids);
        pg_array_reset(&attempts);
        pg_array_reset(&defer_ids);
        pg_array_reset(&defer_due);
        for (int i = 0; i < rows; i++) {
            const char *lead_id = PQgetvalue(res, i, 0);
            const char *e164 = PQgetvalue(res, i, 1);
            const char *lead_tz = PQgetvalue(res, i, 2);
            int64_t not_after = shared_close;
            if (!shared) {
                char werr[256];
                window_slot_t slot;
                int wrc = sched_lead_window(&c, lead_tz, e164, now_us, &lw, werr, sizeof(werr));
                if (wrc == OD_OK)
                    wrc = window_slot_find(lw.rules, lw.n_rules, now_us, &slot, werr, sizeof(werr));
                if (wrc == OD_ERR_NOT_FOUND) {
                    /* The window never opens for this person (quiet hours and
                     * campaign window never overlap in their zones): look again
                     * in a day rather than spin on it. */
                    log_warn("window_never_open", "campaign %s lead %s: %s", c.id, lead_id, werr);
                    slot.open_us = now_us + 86400LL * 1000000;
                    slot.close_us = 0;
                } else if (wrc) {
                    rc = od_fail(errbuf, errlen, wrc, "lead %s: %s", lead_id, werr);
                    goto fail;
                }
                if (slot.open_us > now_us) {
                    char due[24];
                    snprintf(due, sizeof(due), "%" PRId64, slot.open_us);
                    pg_array_add(&defer_ids, lead_id);
                    pg_array_add(&defer_due, due);
                    if (slot.open_us < st->next_wake_us)
                        st->next_wake_us = slot.open_us;
                    continue;
                }
                not_after = slot.close_us;
            }
            char attempt_id[UUID_STR_LEN];
            if (shared)
                snprintf(attempt_id, sizeof(attempt_id), "%s", PQgetvalue(res, i, 6));
            else
                uuid_str_new(attempt_id);
            if (n_jobs == cap_jobs) {
                cap_jobs = cap_jobs ? cap_jobs * 2 : 64;
                jobs = xrealloc(jobs, cap_jobs * sizeof(*jobs));
            }
            pending_job_t *job = &jobs[n_jobs];
            snprintf(job->lead_id, sizeof(job->lead_id), "%s", lead_id);
            rc = dispatch_job_encode(&c, lead_id, attempt_id, atoi(PQgetvalue(res, i, 5)) + 1, e164,
                                     PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), not_after,
                                     now_us, &job->payload, &job->len, errbuf, errlen);
            if (rc)
                goto fail;
            n_jobs++;
            if (!shared) { /* the shared claim scheduled its rows already */
                pg_array_add(&ids, lead_id);
                pg_array_add(&attempts, attempt_id);
            }
        }
        if (shared) {
            free_slots -= rows;
            tokens -= rows;
        }
        PQclear(res);
        res = NULL;
        if (ids.n) {
            const char *p[] = {pg_array_text(&ids), pg_array_text(&attempts), now};
            rc = pg_stmt_exec(db, &schedule_stmt, p, NULL, errbuf, errlen);
            if (rc)
                goto fail;
            free_slots -= (int64_t)ids.n;
            tokens -= (double)ids.n;
        }
        if (defer_ids.n) {
            const char *p[] = {pg_array_text(&defer_ids), pg_array_text(&defer_due)};
            rc = pg_stmt_exec(db, &defer_stmt, p, NULL, errbuf, errlen);
            if (rc)
                goto fail;
            st->leads_deferred += defer_ids.n;
        }
        if (rows < want)
            break; /* no more due leads */
    }

commit:
    if (c.calls_per_minute > 0 && rc == OD_OK) {
        char tok[32];
        snprintf(tok, sizeof(tok), "%.6f", tokens < 0 ? 0 : tokens);
        const char *p[] = {c.id, tok, now};
        rc = pg_stmt_exec(db, &cpm_stmt, p, NULL, errbuf, errlen);
        if (rc)
            goto fail;
    }
    rc = pg_tx_commit(db, errbuf, errlen);
    if (rc)
        goto out;
    for (size_t i = 0; i < n_jobs; i++) {
        char perr[256];
        int prc =
            kafka_producer_send(producer, dial_topic, jobs[i].lead_id, strlen(jobs[i].lead_id),
                                jobs[i].payload, jobs[i].len, NULL, 0, NULL, perr, sizeof(perr));
        if (prc) /* the lead stays scheduled; recovery re-issues its job */
            log_warn("dial_job_produce", "lead %s: %s", jobs[i].lead_id, perr);
        else
            st->jobs_issued++;
    }
    goto out;
fail:
    PQclear(res);
    pg_tx_rollback(db);
out:
    for (size_t i = 0; i < n_jobs; i++)
        free(jobs[i].payload);
    free(jobs);
    free(ids.buf);
    free(attempts.buf);
    free(defer_ids.buf);
    free(defer_due.buf);
    return rc;
}

int dispatch_all(pg_conn_t *db, kafka_producer_t *producer, const char *dial_topic, int64_t now_us,
                 int batch_size, dispatch_stats_t *st, char *errbuf, size_t errlen)
{
    PGresult *res = NULL;
    int rc = pg_stmt_exec(db, &running_stmt, NULL, &res, errbuf, errlen);
    if (rc)
        return rc;
    int n = PQntuples(res);
    for (int i = 0; i < n && rc == OD_OK; i++) {
        rc = dispatch_campaign(db, producer, dial_topic, PQgetvalue(res, i, 0), now_us, batch_size,
                               st, errbuf, errlen);
        /* Serve delivery reports as we go: left to the end of a pass over
         * many campaigns they pile up by the hundred thousand. */
        kafka_producer_poll(producer, 0);
    }
    PQclear(res);
    return rc;
}

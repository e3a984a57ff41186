#include "dispatch.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callslots.h"
#include "campaign_arms.h"
#include "clock.h"
#include "codec.h"
#include "dispatch_plan.h"
#include "freqcap.h"
#include "log.h"
#include "rkeys.h"
#include "uuid.h"
#include "xmalloc.h"

static const pg_stmt_t running_stmt = {
    "dispatch_running", "SELECT id FROM campaign WHERE status = 'in_progress' ORDER BY id", 0};

/* The due-lead claim; served by lead_due_idx (campaign_id, next_attempt_at).
 * Column 7 of both claims: the lead's A/B arm, -1 when it has none yet. */
static const pg_stmt_t claim_stmt = {
    "dispatch_claim",
    "SELECT id, e164, coalesce(timezone, ''), name, variables::text, attempts,"
    " coalesce(state, ''), coalesce(ab_arm, -1), coalesce(sticky_caller_id, '')"
    " FROM lead WHERE campaign_id = $1::uuid"
    " AND status IN ('created', "
    "'rescheduled')"
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
    " l.current_attempt_id, coalesce(l.ab_arm, -1), coalesce(l.sticky_caller_id, '')",
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

/* The arms picked at the leads' first dispatch (campaign_arms.h). */
static const pg_stmt_t arm_stmt = {
    "dispatch_arm",
    "UPDATE lead l SET ab_arm = v.arm FROM unnest($1::uuid[], $2::smallint[]) AS v(id, arm)"
    " WHERE l.id = v.id",
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

/* The job's caller-ID pool (dispatch.h) into entries/ptrs (CALLER_ID_POOL_MAX
 * each); returns how many. Strings are borrowed from c. */
static size_t job_caller_ids(const sched_campaign_t *c, dialjob_caller_id_t *entries,
                             dialjob_caller_id_t **ptrs)
{
    const sched_caller_pool_t *pool = &c->caller_pool;
    size_t n = 0;
    if (c->caller_strategy == CALLER_ID_SINGLE || pool->n == 0) {
        outdial__v1__dial_job__caller_id__init(&entries[0]);
        entries[0].e164 = (char *)c->caller_id;
        entries[0].provider_phone_number_id = (char *)c->provider_phone_number_id;
        entries[0].timezone = (char *)c->assistant_tz;
        for (size_t i = 0; i < pool->n; i++)
            if (strcmp(pool->numbers[i].e164, c->caller_id) == 0) {
                entries[0].daily_cap = (uint32_t)pool->numbers[i].daily_cap;
                entries[0].timezone = (char *)pool->numbers[i].timezone;
            }
        ptrs[0] = &entries[0];
        return 1;
    }
    for (size_t i = 0; i < pool->n && n < CALLER_ID_POOL_MAX; i++, n++) {
        const sched_caller_number_t *num = &pool->numbers[i];
        outdial__v1__dial_job__caller_id__init(&entries[n]);
        entries[n].e164 = (char *)num->e164;
        entries[n].provider_phone_number_id = (char *)num->provider_phone_number_id;
        entries[n].daily_cap = (uint32_t)num->daily_cap;
        entries[n].timezone = (char *)num->timezone;
        ptrs[n] = &entries[n];
    }
    return n;
}

int dispatch_job_encode(const sched_campaign_t *c, const char *lead_id, const char *attempt_id,
                        int attempt_number, const char *e164, const char *lead_name,
                        const char *variables_json, const char *sticky_caller_id,
                        const legal_account_t *acct, const lead_legal_t *legal,
                        int64_t not_after_us, int64_t now_us, uint8_t **out, size_t *out_len,
                        char *errbuf, size_t errlen)
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

    /* The caller-ID pool the dialer picks the call's number from. */
    dialjob_caller_id_t cid_entries[CALLER_ID_POOL_MAX];
    dialjob_caller_id_t *cid_ptrs[CALLER_ID_POOL_MAX];
    job.n_caller_ids =
        c->caller_id[0] || c->caller_pool.n ? job_caller_ids(c, cid_entries, cid_ptrs) : 0;
    job.caller_ids = cid_ptrs;
    job.caller_id_strategy = (char *)caller_id_strategy_name(c->caller_strategy);
    job.sticky_caller_id = (char *)(sticky_caller_id ? sticky_caller_id : "");

    /* The callee's legal rules, for the dialer's last check. */
    dialjob_legal_t jl;
    dialjob_legal_init(&jl);
    bool with_rules = acct && legal && acct->profile != LEGAL_PROFILE_NONE;
    int cap = dispatch_lead_cap(c, with_rules ? legal : NULL);
    job.calls_per_24h = cap > 0 ? (uint32_t)cap : DIALJOB_NO_FREQUENCY_CAP;
    jl.profile = (char *)legal_profile_name(with_rules ? acct->profile : LEGAL_PROFILE_NONE);
    if (with_rules) {
        jl.jurisdiction = (char *)legal->jurisdiction;
        jl.zones = (char **)legal->callee_tz.zones;
        jl.n_zones = legal->callee_tz.n_zones;
        jl.overrides_json = acct->overrides_json;
    }
    job.legal = &jl;

    /* The campaign's pre-dial check, if any (the default is none). */
    dialjob_predial_t jp;
    if (c->predial_url[0]) {
        dialjob_predial_init(&jp);
        jp.url = (char *)c->predial_url;
        jp.timeout_ms = (uint32_t)c->predial_timeout_ms;
        jp.call_on_error = c->predial_on_error == MODEL_PREDIAL_ON_ERROR_CALL;
        job.predial = &jp;
    }

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

/* What one campaign's pass claims: the jobs to produce after the commit,
 * and the writes of the batch at hand. Owns every buffer; claim_free frees. */
typedef struct dispatch_claim {
    pending_job_t *jobs;
    size_t n_jobs, cap_jobs;
    pg_array_t ids, attempts;        /* leads to schedule, with their new attempt ids */
    pg_array_t defer_ids, defer_due; /* leads whose window is closed, with when it opens */
    pg_array_t arm_ids, arm_values;  /* leads given their A/B arm, with the arm */
    const campaign_arms_t *arms;     /* the campaign's arms (borrowed; n 0: none) */
} dispatch_claim_t;

static void claim_free(dispatch_claim_t *cl)
{
    for (size_t i = 0; i < cl->n_jobs; i++)
        free(cl->jobs[i].payload);
    free(cl->jobs);
    free(cl->ids.buf);
    free(cl->attempts.buf);
    free(cl->defer_ids.buf);
    free(cl->defer_due.buf);
    free(cl->arm_ids.buf);
    free(cl->arm_values.buf);
}

/* The next free job slot (not yet counted in n_jobs). */
static pending_job_t *claim_job_slot(dispatch_claim_t *cl, const char *lead_id)
{
    if (cl->n_jobs == cl->cap_jobs) {
        cl->cap_jobs = cl->cap_jobs ? cl->cap_jobs * 2 : 64;
        cl->jobs = xrealloc(cl->jobs, cl->cap_jobs * sizeof(*cl->jobs));
    }
    pending_job_t *job = &cl->jobs[cl->n_jobs];
    snprintf(job->lead_id, sizeof(job->lead_id), "%s", lead_id);
    job->payload = NULL;
    job->len = 0;
    return job;
}

/* What one lead may do now (dispatch_plan.h), its number's frequency cap
 * read from the calls placed to it (callslots.h) when it has one. */
static int lead_step(const sched_campaign_t *c, const lead_legal_t *legal,
                     const dispatch_caps_t *caps, const char *lead_tz, const char *e164,
                     int64_t now_us, dispatch_lead_step_t *step, char *errbuf, size_t errlen)
{
    int cap = dispatch_lead_cap(c, legal);
    if (cap == 0)
        return dispatch_lead_decide(c, legal, lead_tz, e164, now_us, step, errbuf, errlen);
    callslots_answer_t calls = {0};
    if (caps && caps->redis) {
        char key[RKEYS_KEY_MAX], err[256];
        rkeys_calls(caps->prefix, c->account_id, e164, key);
        if (callslots_read(caps->redis, key, now_us - FREQCAP_PERIOD_US, &calls, err, sizeof(err)))
            log_warn("frequency_cap", "campaign %s: calls to %s not read (%s); the dialer checks",
                     c->id, e164, err);
    }
    return dispatch_lead_cap_decide(c, legal, lead_tz, e164, cap, calls.times_us, calls.n_times,
                                    now_us, step, errbuf, errlen);
}

/* The campaign as lead_id's job dials it: c itself, or, with A/B arms, c
 * with the lead's arm's assistant in *armed (the arm stored in column 7 of
 * row i, else picked now and queued to be stored). */
static const sched_campaign_t *claim_row_arm(const sched_campaign_t *c, const PGresult *res, int i,
                                             const char *lead_id, dispatch_claim_t *cl,
                                             sched_campaign_t *armed)
{
    int stored = atoi(PQgetvalue(res, i, 7));
    int arm = campaign_arms_lead_arm(cl->arms, lead_id, stored);
    if (arm < 0)
        return c;
    if (arm != stored) {
        char value[16];
        snprintf(value, sizeof(value), "%d", arm);
        pg_array_add(&cl->arm_ids, lead_id);
        pg_array_add(&cl->arm_values, value);
    }
    campaign_arm_apply(&cl->arms->arms[arm], c, armed);
    return armed;
}

/* Row i of a claim (columns as claim_stmt): deferred when its own window is
 * closed or its number's cap full, else encoded as a job (placed by its A/B
 * arm's assistant, if any), and (window per lead) queued to be scheduled
 * with a new attempt id. The shared claim has scheduled its rows already,
 * with the attempt id in column 6. */
static int claim_row(const sched_campaign_t *c, const legal_account_t *acct,
                     const dispatch_caps_t *caps, const dispatch_plan_t *plan, const PGresult *res,
                     int i, int64_t now_us, dispatch_claim_t *cl, dispatch_stats_t *st,
                     char *errbuf, size_t errlen)
{
    const char *lead_id = PQgetvalue(res, i, 0), *e164 = PQgetvalue(res, i, 1);
    dispatch_lead_step_t step = {.claim = true, .not_after_us = plan->not_after_us};
    char attempt_id[UUID_STR_LEN];
    lead_legal_t legal, *lead_legal = NULL;
    if (plan->shared_window) {
        snprintf(attempt_id, sizeof(attempt_id), "%s", PQgetvalue(res, i, 6));
    } else {
        char werr[256];
        int wrc = OD_OK;
        if (acct->profile != LEGAL_PROFILE_NONE) {
            wrc = campaign_lead_legal(c, acct, PQgetvalue(res, i, 2), e164, PQgetvalue(res, i, 6),
                                      now_us, &legal, werr, sizeof(werr));
            lead_legal = &legal;
        }
        if (wrc == OD_OK)
            wrc = lead_step(c, lead_legal, caps, PQgetvalue(res, i, 2), e164, now_us, &step, werr,
                            sizeof(werr));
        if (wrc)
            return od_fail(errbuf, errlen, wrc, "lead %s: %s", lead_id, werr);
        if (step.never_opens)
            log_warn("window_never_open", "campaign %s lead %s: %s", c->id, lead_id, werr);
        if (!step.claim) {
            char due[24];
            snprintf(due, sizeof(due), "%" PRId64, step.defer_to_us);
            pg_array_add(&cl->defer_ids, lead_id);
            pg_array_add(&cl->defer_due, due);
            if (step.defer_to_us < st->next_wake_us)
                st->next_wake_us = step.defer_to_us;
            st->deferred_by_rule[step.rule]++;
            return OD_OK;
        }
        uuid_str_new(attempt_id);
    }
    sched_campaign_t armed;
    const sched_campaign_t *dialing = claim_row_arm(c, res, i, lead_id, cl, &armed);
    pending_job_t *job = claim_job_slot(cl, lead_id);
    int rc = dispatch_job_encode(dialing, lead_id, attempt_id, atoi(PQgetvalue(res, i, 5)) + 1,
                                 e164, PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
                                 PQgetvalue(res, i, 8), acct, lead_legal, step.not_after_us, now_us,
                                 &job->payload, &job->len, errbuf, errlen);
    if (rc)
        return rc;
    cl->n_jobs++;
    if (!plan->shared_window) {
        pg_array_add(&cl->ids, lead_id);
        pg_array_add(&cl->attempts, attempt_id);
    }
    return OD_OK;
}

/* Writes a batch's decisions: its leads scheduled (they take their slots
 * and tokens) and its deferred leads' new next_attempt_at. */
static int claim_batch_write(pg_conn_t *db, const char *now, dispatch_plan_t *plan,
                             dispatch_claim_t *cl, dispatch_stats_t *st, char *errbuf,
                             size_t errlen)
{
    int rc = OD_OK;
    if (cl->ids.n) {
        const char *p[] = {pg_array_text(&cl->ids), pg_array_text(&cl->attempts), now};
        rc = pg_stmt_exec(db, &schedule_stmt, p, NULL, errbuf, errlen);
        if (rc)
            return rc;
        dispatch_plan_take(plan, (int64_t)cl->ids.n);
    }
    if (cl->defer_ids.n) {
        const char *p[] = {pg_array_text(&cl->defer_ids), pg_array_text(&cl->defer_due)};
        rc = pg_stmt_exec(db, &defer_stmt, p, NULL, errbuf, errlen);
        if (rc)
            return rc;
        st->leads_deferred += cl->defer_ids.n;
    }
    if (cl->arm_ids.n) {
        const char *p[] = {pg_array_text(&cl->arm_ids), pg_array_text(&cl->arm_values)};
        rc = pg_stmt_exec(db, &arm_stmt, p, NULL, errbuf, errlen);
    }
    return rc;
}

/* Claims one batch of due leads of c (dispatch_plan_want of them at most)
 * and writes what becomes of each. *more: the batch was full, so more may
 * be due. */
static int claim_batch(pg_conn_t *db, const sched_campaign_t *c, const legal_account_t *acct,
                       const dispatch_caps_t *caps, dispatch_plan_t *plan, int64_t now_us,
                       dispatch_claim_t *cl, dispatch_stats_t *st, bool *more, char *errbuf,
                       size_t errlen)
{
    char now[24], limit[24];
    snprintf(now, sizeof(now), "%" PRId64, now_us);
    int64_t want = dispatch_plan_want(plan);
    snprintf(limit, sizeof(limit), "%" PRId64, want);
    const char *p[] = {c->id, now, limit};
    PGresult *res = NULL;
    int rc = pg_stmt_exec(db, plan->shared_window ? &claim_shared_stmt : &claim_stmt, p, &res,
                          errbuf, errlen);
    if (rc)
        return rc;
    int rows = PQntuples(res);
    pg_array_reset(&cl->ids);
    pg_array_reset(&cl->attempts);
    pg_array_reset(&cl->defer_ids);
    pg_array_reset(&cl->defer_due);
    pg_array_reset(&cl->arm_ids);
    pg_array_reset(&cl->arm_values);
    for (int i = 0; i < rows && rc == OD_OK; i++)
        rc = claim_row(c, acct, caps, plan, res, i, now_us, cl, st, errbuf, errlen);
    PQclear(res);
    if (rc)
        return rc;
    if (plan->shared_window) /* every row claimed was scheduled by the claim itself */
        dispatch_plan_take(plan, rows);
    *more = rows == want;
    return claim_batch_write(db, now, plan, cl, st, errbuf, errlen);
}

/* Produces the committed pass's jobs; a job that cannot be queued leaves
 * its lead scheduled, and recovery re-issues it. */
static void produce_jobs(kafka_producer_t *producer, const char *dial_topic,
                         const dispatch_claim_t *cl, dispatch_stats_t *st)
{
    for (size_t i = 0; i < cl->n_jobs; i++) {
        const pending_job_t *job = &cl->jobs[i];
        char perr[256];
        int prc = kafka_producer_send(producer, dial_topic, job->lead_id, strlen(job->lead_id),
                                      job->payload, job->len, NULL, 0, NULL, perr, sizeof(perr));
        if (prc)
            log_warn("dial_job_produce", "lead %s: %s", job->lead_id, perr);
        else
            st->jobs_issued++;
    }
}

/* Stores the calls-per-minute bucket as the pass leaves it. */
static int store_tokens(pg_conn_t *db, const sched_campaign_t *c, const dispatch_plan_t *plan,
                        int64_t now_us, char *errbuf, size_t errlen)
{
    char tok[32], now[24];
    snprintf(tok, sizeof(tok), "%.6f", dispatch_plan_tokens_left(plan));
    snprintf(now, sizeof(now), "%" PRId64, now_us);
    const char *p[] = {c->id, tok, now};
    return pg_stmt_exec(db, &cpm_stmt, p, NULL, errbuf, errlen);
}

/* The pass: lock the campaign, plan it (dispatch_plan.h), claim batch by
 * batch while slots are left and leads are due, store the bucket, commit,
 * then produce. */
int dispatch_campaign(pg_conn_t *db, kafka_producer_t *producer, const char *dial_topic,
                      const dispatch_caps_t *caps, const char *campaign_id, int64_t now_us,
                      int batch_size, dispatch_stats_t *st, char *errbuf, size_t errlen)
{
    sched_campaign_t c;
    dispatch_plan_t plan;
    dispatch_claim_t cl = {0};
    legal_account_t acct = {0};
    campaign_arms_t arms = {0};
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
    rc = dispatch_plan_make(&c, now_us, batch_size, &plan, errbuf, errlen);
    if (rc)
        goto fail;
    if (plan.wake_us < st->next_wake_us)
        st->next_wake_us = plan.wake_us;
    if (plan.verdict == DISPATCH_CLAIM) {
        rc = campaign_legal_load(db, &c, &acct, errbuf, errlen);
        if (rc == OD_OK)
            rc = campaign_arms_load(db, c.id, &arms, errbuf, errlen);
        if (rc)
            goto fail;
    }
    cl.arms = &arms;
    for (bool more = plan.verdict == DISPATCH_CLAIM; more && plan.slots > 0;) {
        rc = claim_batch(db, &c, &acct, caps, &plan, now_us, &cl, st, &more, errbuf, errlen);
        if (rc)
            goto fail;
    }
    if (plan.store_tokens) {
        rc = store_tokens(db, &c, &plan, now_us, errbuf, errlen);
        if (rc)
            goto fail;
    }
    rc = pg_tx_commit(db, errbuf, errlen);
    if (rc == OD_OK)
        produce_jobs(producer, dial_topic, &cl, st);
    goto out;
fail:
    pg_tx_rollback(db);
out:
    claim_free(&cl);
    legal_account_clear(&acct);
    return rc;
}

int dispatch_all(pg_conn_t *db, kafka_producer_t *producer, const char *dial_topic,
                 const dispatch_caps_t *caps, int64_t now_us, int batch_size, item_backoff_t *skip,
                 dispatch_stats_t *st, char *errbuf, size_t errlen)
{
    PGresult *res = NULL;
    int rc = pg_stmt_exec(db, &running_stmt, NULL, &res, errbuf, errlen);
    if (rc)
        return rc;
    int n = PQntuples(res);
    for (int i = 0; i < n && rc == OD_OK; i++) {
        const char *id = PQgetvalue(res, i, 0);
        int64_t real_now = od_clock_real_us();
        if (item_backoff_held(skip, id, real_now)) {
            st->campaigns_held++;
            continue;
        }
        char cerr[512];
        rc = dispatch_campaign(db, producer, dial_topic, caps, id, now_us, batch_size, st, cerr,
                               sizeof(cerr));
        if (rc == OD_OK) {
            item_backoff_ok(skip, id);
        } else if (item_backoff_pass_fails(rc)) {
            od_fail(errbuf, errlen, rc, "campaign %s: %s", id, cerr);
        } else {
            /* This campaign alone: the others go on. */
            int64_t held_us = item_backoff_fail(skip, id, real_now);
            st->campaigns_failed++;
            log_warn("dispatch_campaign_failed",
                     "campaign %s skipped, next try in %" PRId64 " ms: %s", id, held_us / 1000,
                     cerr);
            rc = OD_OK;
        }
        /* Serve delivery reports as we go: left to the end of a pass over
         * many campaigns they pile up by the hundred thousand. */
        kafka_producer_poll(producer, 0);
    }
    PQclear(res);
    return rc;
}

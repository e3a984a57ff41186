#include "recovery.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_arms.h"
#include "codec.h"
#include "dispatch.h"
#include "dispatch_plan.h"
#include "lifecycle.h"
#include "log.h"
#include "recovery_decide.h"
#include "results.h"
#include "rkeys.h"
#include "sched_campaign.h"
#include "uuid.h"
#include "xmalloc.h"

/* The leads past the scheduled timeout, lightly: which of them may be acted
 * on is decided from the id and the time alone (recovery_decide.h). */
static const pg_stmt_t stuck_scheduled_stmt = {
    "recovery_stuck_scheduled",
    "SELECT id, od_us(status_changed_at), reissues FROM lead"
    " WHERE status = 'scheduled' AND status_changed_at < od_ts($1::bigint)"
    " AND id <> ALL($3::uuid[]) ORDER BY status_changed_at LIMIT $2::int",
    3};

/* The rows of the leads to re-issue or fence; one touched since the scan
 * (an event moved it, another replica re-issued it) drops out. */
static const pg_stmt_t scheduled_rows_stmt = {
    "recovery_scheduled_rows",
    "SELECT id, campaign_id, current_attempt_id, reissues, attempts, coalesce(e164, ''),"
    " coalesce(timezone, ''), name, variables::text, coalesce(state, ''), coalesce(ab_arm, -1),"
    " coalesce(sticky_caller_id, '')"
    " FROM lead WHERE id = ANY($1::uuid[]) AND status = 'scheduled'"
    " AND status_changed_at < od_ts($2::bigint) ORDER BY status_changed_at",
    2};

static const pg_stmt_t stuck_processing_stmt = {
    "recovery_stuck_processing",
    "SELECT l.id, l.campaign_id, l.current_attempt_id, l.attempts, c.account_id,"
    " coalesce(l.e164, '') FROM lead l"
    " JOIN campaign c ON c.id = l.campaign_id WHERE l.status = 'processing'"
    " AND l.status_changed_at < od_ts($1::bigint) - make_interval(secs => c.max_call_duration_s)"
    " AND l.id <> ALL($3::uuid[]) ORDER BY l.status_changed_at LIMIT $2::int",
    3};

static const pg_stmt_t reissue_stmt = {
    "recovery_reissue",
    "UPDATE lead SET reissues = reissues + 1, status_changed_at = od_ts($3::bigint),"
    " updated_at = now() WHERE id = $1::uuid AND status = 'scheduled'"
    " AND current_attempt_id = $2::uuid RETURNING reissues",
    3};

static const pg_stmt_t to_processing_stmt = {
    "recovery_to_processing",
    "UPDATE lead SET status = 'processing', status_changed_at = od_ts($3::bigint),"
    " updated_at = now() WHERE id = $1::uuid AND status = 'scheduled'"
    " AND current_attempt_id = $2::uuid",
    3};

static const pg_stmt_t completable_stmt = {
    "recovery_completable",
    "SELECT c.id, c.account_id FROM campaign c WHERE c.status = 'in_progress'"
    " AND NOT EXISTS (SELECT 1 FROM lead l WHERE l.campaign_id = c.id"
    "   AND l.status IN ('created', 'scheduled', 'processing', 'rescheduled')"
    "   AND l.invalid_reason IS NULL)",
    0};

static const pg_stmt_t complete_lock_stmt = {
    "recovery_complete_lock",
    "SELECT 1 FROM campaign c WHERE c.id = $1::uuid AND c.status = 'in_progress'"
    " AND NOT EXISTS (SELECT 1 FROM lead l WHERE l.campaign_id = c.id"
    "   AND l.status IN ('created', 'scheduled', 'processing', 'rescheduled')"
    "   AND l.invalid_reason IS NULL) FOR UPDATE OF c",
    1};

static const pg_stmt_t outbox_take_stmt = {
    "recovery_outbox_take",
    "SELECT id, topic, key, encode(payload, 'hex') FROM outbox ORDER BY id LIMIT $1::int"
    " FOR UPDATE SKIP LOCKED",
    1};

static const pg_stmt_t outbox_delete_stmt = {"recovery_outbox_delete",
                                             "DELETE FROM outbox WHERE id = ANY($1::bigint[])", 1};

static const pg_stmt_t mirror_stmt = {"recovery_mirror",
                                      "SELECT id, status FROM campaign WHERE status <> 'draft'", 0};

/* Closes the lead's current attempt as a transient failure through the
 * normal result path, as if the provider had reported it. */
static int close_attempt(pg_conn_t *db, redis_t *r, const recovery_cfg_t *cfg, const char *lead_id,
                         const char *campaign_id, const char *account_id, const char *attempt_id,
                         int attempts, const char *reason, int64_t now_us, char *errbuf,
                         size_t errlen)
{
    char event_id[UUID_STR_LEN];
    uuid_str_new(event_id);
    callevent_t ev;
    callevent_init(&ev);
    ev.event_id = event_id;
    ev.attempt_id = (char *)attempt_id;
    ev.lead_id = (char *)lead_id;
    ev.campaign_id = (char *)campaign_id;
    ev.account_id = (char *)account_id;
    ev.attempt_number = (uint32_t)(attempts + 1);
    ev.status = OUTDIAL__V1__CALL_STATUS__CALL_STATUS_FAILED;
    ev.failure_class = OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_TRANSIENT;
    ev.ended_reason = (char *)reason;
    ev.ended_at_us = now_us;
    ev.occurred_at_us = now_us;
    results_outcome_t out;
    int rc = results_apply(db, r, cfg->redis_prefix, &ev, now_us, &out, errbuf, errlen);
    if (rc == OD_OK)
        log_warn("attempt_closed", "lead %s attempt %s closed as failed: %s", lead_id, attempt_id,
                 reason);
    return rc;
}

/* Re-issues the job of a scheduled lead with its attempt id. */
static int reissue(pg_conn_t *db, kafka_producer_t *producer, const recovery_cfg_t *cfg,
                   PGresult *row, int i, int64_t now_us, recovery_stats_t *st, char *errbuf,
                   size_t errlen)
{
    const char *lead_id = PQgetvalue(row, i, 0);
    const char *attempt_id = PQgetvalue(row, i, 2);
    sched_campaign_t c;
    int rc = sched_campaign_load(db, PQgetvalue(row, i, 1), SCHED_LOCK_NONE, &c, errbuf, errlen);
    if (rc)
        return rc;
    dispatch_lead_step_t step; /* would dispatch dial this lead now? */
    legal_account_t acct;
    lead_legal_t legal;
    rc = campaign_legal_load(db, &c, &acct, errbuf, errlen);
    if (rc)
        return rc;
    rc = campaign_lead_legal(&c, &acct, PQgetvalue(row, i, 6), PQgetvalue(row, i, 5),
                             PQgetvalue(row, i, 9), now_us, &legal, errbuf, errlen);
    if (rc == OD_OK)
        rc = dispatch_lead_decide(&c, &legal, PQgetvalue(row, i, 6), PQgetvalue(row, i, 5), now_us,
                                  &step, errbuf, errlen);
    if (rc == OD_OK && !step.claim)
        rc = OD_ERR_CONFLICT; /* closed now: the job would be refused; fence instead */
    if (rc)
        goto out;
    char now[24];
    snprintf(now, sizeof(now), "%" PRId64, now_us);
    const char *p[] = {lead_id, attempt_id, now};
    PGresult *res = NULL;
    rc = pg_stmt_exec(db, &reissue_stmt, p, &res, errbuf, errlen);
    if (rc)
        goto out;
    bool updated = PQntuples(res) == 1;
    PQclear(res);
    if (!updated)
        goto out; /* an event moved it meanwhile */
    /* The job of the lead's A/B arm, as dispatch issued it. */
    campaign_arms_t arms;
    sched_campaign_t armed;
    const sched_campaign_t *dialing = &c;
    rc = campaign_arms_load(db, c.id, &arms, errbuf, errlen);
    if (rc)
        goto out;
    int arm = campaign_arms_lead_arm(&arms, lead_id, atoi(PQgetvalue(row, i, 10)));
    if (arm >= 0) {
        campaign_arm_apply(&arms.arms[arm], &c, &armed);
        dialing = &armed;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = dispatch_job_encode(dialing, lead_id, attempt_id, atoi(PQgetvalue(row, i, 4)) + 1,
                             PQgetvalue(row, i, 5), PQgetvalue(row, i, 7), PQgetvalue(row, i, 8),
                             PQgetvalue(row, i, 11), &acct, &legal, step.not_after_us, now_us, &buf,
                             &len, errbuf, errlen);
    if (rc)
        goto out;
    rc = kafka_producer_send(producer, cfg->dial_topic, lead_id, strlen(lead_id), buf, len, NULL, 0,
                             NULL, errbuf, errlen);
    free(buf);
    if (rc == OD_OK) {
        st->reissued++;
        log_info("dial_job_reissued", "lead %s attempt %s re-issued", lead_id, attempt_id);
    }
out:
    legal_account_clear(&acct);
    return rc;
}

/* Whether the attempt key holds the fence of an earlier pass: the close
 * after it failed (the lead was skipped), or the SET's answer was lost. */
static bool fenced_before(redis_t *r, const char *key)
{
    char *value = NULL, gerr[256];
    bool ours = redis_get(r, key, &value, NULL, gerr, sizeof(gerr)) == OD_OK &&
                strcmp(value, RECOVERY_FENCE_VALUE) == 0;
    free(value);
    return ours;
}

/* A scheduled lead out of re-issues (or whose window closed): take the
 * attempt away from every dialer, or learn that one placed the call. */
static int fence(pg_conn_t *db, redis_t *r, const recovery_cfg_t *cfg, PGresult *row, int i,
                 int64_t now_us, recovery_stats_t *st, char *errbuf, size_t errlen)
{
    const char *lead_id = PQgetvalue(row, i, 0);
    const char *campaign_id = PQgetvalue(row, i, 1);
    const char *attempt_id = PQgetvalue(row, i, 2);
    char key[RKEYS_KEY_MAX];
    rkeys_attempt(cfg->redis_prefix, attempt_id, key);
    int rc = redis_set_nx(r, key, RECOVERY_FENCE_VALUE, cfg->fence_ttl_ms, errbuf, errlen);
    if (rc == OD_ERR_CONFLICT && fenced_before(r, key))
        rc = OD_OK; /* ours, from a pass whose close failed: close it now */
    if (rc == OD_ERR_CONFLICT) {
        /* A dialer placed the call: wait for its events like any call. */
        char now[24];
        snprintf(now, sizeof(now), "%" PRId64, now_us);
        const char *p[] = {lead_id, attempt_id, now};
        return pg_stmt_exec(db, &to_processing_stmt, p, NULL, errbuf, errlen);
    }
    if (rc)
        return rc;
    sched_campaign_t c;
    rc = sched_campaign_load(db, campaign_id, SCHED_LOCK_NONE, &c, errbuf, errlen);
    if (rc)
        return rc;
    rc = close_attempt(db, r, cfg, lead_id, campaign_id, c.account_id, attempt_id,
                       atoi(PQgetvalue(row, i, 4)), RESULTS_REASON_NEVER_PLACED, now_us, errbuf,
                       errlen);
    if (rc == OD_OK)
        st->closed_scheduled++;
    return rc;
}

/* After lead_id's recovery returned rc: OD_OK clears its backoff; an
 * error of the lead alone is logged, counted and held back (returns OD_OK:
 * the loop goes on); a dependency away is returned, ending the pass. */
static int row_done(const recovery_cfg_t *cfg, const char *lead_id, int rc, const char *why,
                    recovery_stats_t *st, char *errbuf, size_t errlen)
{
    if (rc == OD_OK) {
        item_backoff_ok(cfg->skip, lead_id);
        return OD_OK;
    }
    if (item_backoff_pass_fails(rc))
        return od_fail(errbuf, errlen, rc, "lead %s: %s", lead_id, why);
    int64_t held_us = item_backoff_fail(cfg->skip, lead_id, od_clock_real_us());
    st->leads_failed++;
    log_warn("recovery_lead_failed", "lead %s skipped, next try in %" PRId64 " ms: %s", lead_id,
             held_us / 1000, why);
    return OD_OK;
}

/* The job state of the lead of a stuck_scheduled_stmt row. */
static recovery_job_t scanned_job(const recovery_cfg_t *cfg, const PGresult *res, int i)
{
    const recovery_backlog_t *b = cfg->backlog;
    if (!b || b->partitions <= 0)
        return RECOVERY_JOB_UNREAD;
    const char *lead_id = PQgetvalue(res, i, 0);
    int partition = kafka_key_partition(lead_id, strlen(lead_id), b->partitions);
    return recovery_job_state(b, partition, strtoll(PQgetvalue(res, i, 1), NULL, 10),
                              cfg->job_settle_us);
}

/* Scans the leads scheduled before `before` (held leads left out): those
 * whose job may still be waiting in Kafka stay as they are, counted in
 * st->waiting; the ids of the others, RECOVERY_BATCH at most, go into
 * *act as a Postgres array literal (the caller frees it; NULL: none). */
static int scheduled_scan(pg_conn_t *db, const recovery_cfg_t *cfg, const char *before,
                          const char *held, recovery_stats_t *st, char **act, char *errbuf,
                          size_t errlen)
{
    char limit[16];
    snprintf(limit, sizeof(limit), "%d", RECOVERY_SCAN_MAX);
    const char *p[] = {before, limit, held};
    PGresult *res = NULL;
    *act = NULL;
    int rc = pg_stmt_exec(db, &stuck_scheduled_stmt, p, &res, errbuf, errlen);
    if (rc)
        return rc;
    size_t cap = (size_t)RECOVERY_BATCH * UUID_STR_LEN + 3, len = 0;
    int n = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        recovery_job_t job = scanned_job(cfg, res, i);
        if (recovery_verdict(job, atoi(PQgetvalue(res, i, 2))) == RECOVERY_WAIT) {
            st->waiting[job]++;
            log_debug("recovery_waiting", "lead %s stays scheduled: its job is %s",
                      PQgetvalue(res, i, 0), recovery_job_name(job));
            continue;
        }
        if (n == RECOVERY_BATCH)
            continue; /* the next pass takes it; the scan goes on to count */
        if (!*act)
            *act = xmalloc(cap);
        len +=
            (size_t)snprintf(*act + len, cap - len, "%s%s", n ? "," : "{", PQgetvalue(res, i, 0));
        n++;
    }
    if (*act)
        snprintf(*act + len, cap - len, "}");
    PQclear(res);
    return OD_OK;
}

int recovery_run(pg_conn_t *db, redis_t *r, kafka_producer_t *producer, const recovery_cfg_t *cfg,
                 int64_t now_us, recovery_stats_t *st, char *errbuf, size_t errlen)
{
    PGresult *res = NULL;
    char before[24], limit[16], why[512];
    char *act = NULL;
    snprintf(limit, sizeof(limit), "%d", RECOVERY_BATCH);
    snprintf(before, sizeof(before), "%" PRId64, now_us - cfg->scheduled_timeout_us);
    char *held = item_backoff_held_array(cfg->skip, od_clock_real_us());
    const char *p[] = {before, limit, held};
    int rc = scheduled_scan(db, cfg, before, held, st, &act, errbuf, errlen);
    if (rc == OD_OK && act) {
        const char *rp[] = {act, before};
        rc = pg_stmt_exec(db, &scheduled_rows_stmt, rp, &res, errbuf, errlen);
    }
    if (rc)
        goto out;
    /* Each job here is proven finished (recovery_decide.h): re-issue it,
     * or fence when it is out of re-issues or its window has closed. */
    for (int i = 0; res && i < PQntuples(res) && rc == OD_OK; i++) {
        int row_rc = OD_ERR_CONFLICT;
        if (recovery_verdict(RECOVERY_JOB_FINISHED, atoi(PQgetvalue(res, i, 3))) ==
            RECOVERY_REISSUE)
            row_rc = reissue(db, producer, cfg, res, i, now_us, st, why, sizeof(why));
        if (row_rc == OD_ERR_CONFLICT)
            row_rc = fence(db, r, cfg, res, i, now_us, st, why, sizeof(why));
        rc = row_done(cfg, PQgetvalue(res, i, 0), row_rc, why, st, errbuf, errlen);
    }
    PQclear(res);
    res = NULL;
    if (rc)
        goto out;

    snprintf(before, sizeof(before), "%" PRId64, now_us - cfg->processing_margin_us);
    rc = pg_stmt_exec(db, &stuck_processing_stmt, p, &res, errbuf, errlen);
    if (rc)
        goto out;
    for (int i = 0; i < PQntuples(res) && rc == OD_OK; i++) {
        const char *lead_id = PQgetvalue(res, i, 0);
        const char *attempt_id = PQgetvalue(res, i, 2), *e164 = PQgetvalue(res, i, 5);
        int row_rc = close_attempt(db, r, cfg, lead_id, PQgetvalue(res, i, 1),
                                   PQgetvalue(res, i, 4), attempt_id, atoi(PQgetvalue(res, i, 3)),
                                   RESULTS_REASON_END_NOT_REPORTED, now_us, why, sizeof(why));
        rc = row_done(cfg, lead_id, row_rc, why, st, errbuf, errlen);
        if (row_rc != OD_OK)
            continue;
        st->closed_processing++;
        /* The call has ended (it cannot outlast its maximum duration): free
         * the number's line lock if this attempt still holds it, rather than
         * keep it busy until its lease runs out (a dialer that died holding
         * it would otherwise block the lead's next attempts for minutes).
         * Compare-and-delete: a lock of a newer attempt is left alone. */
        if (r && e164[0]) {
            char key[RKEYS_KEY_MAX], lerr[256];
            rkeys_line(cfg->redis_prefix, e164, key);
            int lrc = redis_lock_release(r, key, attempt_id, lerr, sizeof(lerr));
            if (lrc && lrc != OD_ERR_CONFLICT)
                log_warn("line_lock", "release %s: %s (it expires with its lease)", key, lerr);
        }
    }
out:
    PQclear(res);
    free(act);
    free(held);
    return rc;
}

/* complete_lock_stmt found the campaign still with nothing to call. */
static bool still_completes(const PGresult *lock)
{
    return PQntuples(lock) == 1;
}

int recovery_complete_campaigns(pg_conn_t *db, redis_t *r, const char *redis_prefix, int64_t now_us,
                                recovery_stats_t *st, char *errbuf, size_t errlen)
{
    int n = 0;
    int rc = lifecycle_campaigns_move(db, r, redis_prefix, &completable_stmt, &complete_lock_stmt,
                                      still_completes, MODEL_CAMPAIGN_IN_PROGRESS,
                                      MODEL_CAMPAIGN_COMPLETED, NULL, "campaign_completed", now_us,
                                      &n, errbuf, errlen);
    st->completed_campaigns += n;
    return rc;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int recovery_outbox_drain(pg_conn_t *db, kafka_producer_t *producer, int limit,
                          recovery_stats_t *st, char *errbuf, size_t errlen)
{
    PGresult *res = NULL;
    char *ids = NULL;
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", limit);
    int rc = pg_tx_begin(db, errbuf, errlen);
    if (rc)
        return rc;
    const char *p[] = {lim};
    rc = pg_stmt_exec(db, &outbox_take_stmt, p, &res, errbuf, errlen);
    if (rc)
        goto fail;
    int n = PQntuples(res);
    if (n == 0)
        goto commit;
    size_t ids_cap = (size_t)n * 24 + 4; /* bigint: at most 20 digits and a comma */
    size_t used = 0;
    ids = xmalloc(ids_cap);
    used += (size_t)snprintf(ids, ids_cap, "{");
    for (int i = 0; i < n; i++) {
        const char *hex = PQgetvalue(res, i, 3);
        size_t len = strlen(hex) / 2;
        uint8_t *payload = xmalloc(len ? len : 1);
        for (size_t k = 0; k < len; k++)
            payload[k] = (uint8_t)(hex_value(hex[2 * k]) << 4 | hex_value(hex[2 * k + 1]));
        const char *key = PQgetvalue(res, i, 2);
        rc = kafka_producer_send(producer, PQgetvalue(res, i, 1), key, strlen(key), payload, len,
                                 NULL, 0, NULL, errbuf, errlen);
        free(payload);
        if (rc)
            goto fail;
        used += (size_t)snprintf(ids + used, ids_cap - used, "%s%s", i ? "," : "",
                                 PQgetvalue(res, i, 0));
    }
    snprintf(ids + used, ids_cap - used, "}");
    /* Delete only what Kafka acknowledged: a failed flush keeps the rows. */
    rc = kafka_producer_flush(producer, 10000, errbuf, errlen);
    if (rc)
        goto fail;
    const char *d[] = {ids};
    rc = pg_stmt_exec(db, &outbox_delete_stmt, d, NULL, errbuf, errlen);
    if (rc)
        goto fail;
    st->outbox_published += (uint64_t)n;
commit:
    PQclear(res);
    free(ids);
    return pg_tx_commit(db, errbuf, errlen);
fail:
    PQclear(res);
    free(ids);
    pg_tx_rollback(db);
    return rc;
}

int recovery_mirror_sync(pg_conn_t *db, redis_t *r, const char *redis_prefix, recovery_stats_t *st,
                         char *errbuf, size_t errlen)
{
    PGresult *res = NULL;
    int rc = pg_stmt_exec(db, &mirror_stmt, NULL, &res, errbuf, errlen);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(res) && rc == OD_OK; i++) {
        model_campaign_status_t status;
        rc = model_campaign_status_parse(PQgetvalue(res, i, 1), &status, errbuf, errlen);
        if (rc == OD_OK)
            rc = lifecycle_mirror_write(r, redis_prefix, PQgetvalue(res, i, 0), status, errbuf,
                                        errlen);
        if (rc == OD_OK)
            st->mirrored++;
    }
    PQclear(res);
    return rc;
}

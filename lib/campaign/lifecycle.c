#include "lifecycle.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "rkeys.h"
#include "topics.h"
#include "uuid.h"
#include "xmalloc.h"

/* Locks the campaign row and reads everything the requirements need, in one
 * round trip (column 7: the A/B arms whose assistant has no outbound
 * number, or is gone; null when none). Callable leads: waiting for a call (created with a due time,
 * rescheduled) or in flight; a secondary contact waiting for its primary
 * (created, no due time) is not callable on its own. */
static const pg_stmt_t campaign_lock_stmt = {
    "lifecycle_campaign_lock",
    "SELECT c.status, a.outbound_e164 IS NOT NULL, acc.balance_minor,"
    " (SELECT count(*) FROM lead l WHERE l.campaign_id = c.id AND l.invalid_reason IS NULL"
    "   AND (l.status IN ('rescheduled', 'scheduled', 'processing')"
    "        OR (l.status = 'created' AND l.next_attempt_at IS NOT NULL))),"
    " (SELECT count(*) FROM lead l WHERE l.campaign_id = c.id AND l.invalid_reason IS NOT NULL),"
    " acc.currency, c.archived_at IS NOT NULL,"
    " (SELECT string_agg(format('arms[%s] (assistant %s)', t.ord - 1, t.e->>'assistant_id'),"
    "   ', ' ORDER BY t.ord) FROM jsonb_array_elements(coalesce(c.arms, '[]'))"
    "   WITH ORDINALITY AS t(e, ord) LEFT JOIN assistant x"
    "   ON x.id = (t.e->>'assistant_id')::uuid AND x.account_id = c.account_id"
    "   WHERE x.outbound_e164 IS NULL)"
    " FROM campaign c JOIN assistant a ON a.id = c.assistant_id"
    " JOIN account acc ON acc.id = c.account_id"
    " WHERE c.id = $1::uuid AND c.account_id = $2::uuid FOR UPDATE OF c",
    2};

static const pg_stmt_t status_write_stmt = {
    "lifecycle_status_write",
    "UPDATE campaign SET status = $2::campaign_status, pause_reason = $3,"
    " status_changed_at = od_ts($4::bigint), updated_at = now()"
    " WHERE id = $1::uuid",
    4};

static const pg_stmt_t notify_stmt = {"lifecycle_notify", "SELECT pg_notify($1, $2)", 2};

static void problem_add(lifecycle_result_t *res, const char *code, const char *fmt, ...)
    OD_PRINTF(3, 4);

static void problem_add(lifecycle_result_t *res, const char *code, const char *fmt, ...)
{
    if (res->n_problems >= LIFECYCLE_PROBLEMS_MAX)
        return;
    lifecycle_problem_t *p = &res->problems[res->n_problems++];
    p->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof(p->message), fmt, ap);
    va_end(ap);
}

/* Indexed by model_campaign_status_t. */
static const Outdial__V1__CampaignStatus proto_statuses[MODEL_CAMPAIGN_STATUS_COUNT] = {
    [MODEL_CAMPAIGN_DRAFT] = OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_DRAFT,
    [MODEL_CAMPAIGN_IN_PROGRESS] = OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_IN_PROGRESS,
    [MODEL_CAMPAIGN_PAUSED] = OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_PAUSED,
    [MODEL_CAMPAIGN_COMPLETED] = OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_COMPLETED,
};

static Outdial__V1__CampaignStatus proto_status(model_campaign_status_t s)
{
    return (size_t)s < OD_COUNT(proto_statuses)
               ? proto_statuses[s]
               : OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_UNSPECIFIED;
}

void lifecycle_outbox_item_init(lifecycle_outbox_item_t *item, const char *topic, const char *key,
                                const uint8_t *payload, size_t len)
{
    outbox_item_init(item, topic, key, payload, len);
}

void lifecycle_outbox_item_free(lifecycle_outbox_item_t *item)
{
    outbox_item_free(item);
}

int lifecycle_outbox_add_tx(pg_conn_t *db, const char *topic, const char *key,
                            const uint8_t *payload, size_t len, char *errbuf, size_t errlen)
{
    return outbox_add_tx(db, topic, key, payload, len, errbuf, errlen);
}

int lifecycle_status_write_tx(pg_conn_t *db, const char *account_id, const char *campaign_id,
                              model_campaign_status_t old_status,
                              model_campaign_status_t new_status, const char *reason,
                              int64_t now_us, char *errbuf, size_t errlen)
{
    char now[32];
    snprintf(now, sizeof(now), "%" PRId64, now_us);
    const char *params[] = {campaign_id, model_campaign_status_name(new_status),
                            new_status == MODEL_CAMPAIGN_PAUSED ? (reason ? reason : "user") : NULL,
                            now};
    int rc = pg_stmt_exec(db, &status_write_stmt, params, NULL, errbuf, errlen);
    if (rc)
        return rc;

    char event_id[UUID_STR_LEN];
    campaignevent_t ev;
    campaignevent_start(&ev, event_id, campaign_id, account_id,
                        OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_STATUS_CHANGED);
    ev.old_status = proto_status(old_status);
    ev.new_status = proto_status(new_status);
    ev.reason = (char *)(reason ? reason : "");
    ev.occurred_at_us = now_us;
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = campaignevent_encode(&ev, &buf, &len, errbuf, errlen);
    if (rc)
        return rc;
    char topic[TOPIC_NAME_MAX + 1];
    rc = topic_name_from_env(TOPIC_CAMPAIGN_EVENTS, topic, sizeof(topic), errbuf, errlen);
    if (rc == OD_OK)
        rc = lifecycle_outbox_add_tx(db, topic, campaign_id, buf, len, errbuf, errlen);
    free(buf);
    if (rc)
        return rc;
    const char *notify[] = {LIFECYCLE_NOTIFY_CHANNEL, campaign_id};
    return pg_stmt_exec(db, &notify_stmt, notify, NULL, errbuf, errlen);
}

int lifecycle_mirror_write(redis_t *r, const char *redis_prefix, const char *campaign_id,
                           model_campaign_status_t status, char *errbuf, size_t errlen)
{
    char key[RKEYS_KEY_MAX];
    rkeys_campaign(redis_prefix, campaign_id, key);
    const char *argv[] = {"SET", key, model_campaign_status_name(status)};
    redisReply *reply = NULL;
    int rc = redis_command_argv(r, true, 3, argv, NULL, &reply, errbuf, errlen);
    if (reply)
        freeReplyObject(reply);
    return rc;
}

/* The requirements of start and resume (docs/architecture.md §4; docs/product.md,
 * "Before a campaign can start"), every unmet one. */
static void requirements_check(PGresult *row, lifecycle_result_t *res)
{
    bool has_phone = strcmp(PQgetvalue(row, 0, 1), "t") == 0;
    long long balance = strtoll(PQgetvalue(row, 0, 2), NULL, 10);
    long long callable = strtoll(PQgetvalue(row, 0, 3), NULL, 10);
    long long invalid = strtoll(PQgetvalue(row, 0, 4), NULL, 10);
    if (!has_phone)
        problem_add(res, "no_phone_number",
                    "the campaign's assistant has no phone number for outbound calls: set its "
                    "outbound phone number");
    if (!PQgetisnull(row, 0, 7))
        problem_add(res, "no_phone_number",
                    "%s of the campaign %s no phone number for outbound calls: set %s outbound "
                    "phone number",
                    PQgetvalue(row, 0, 7), strchr(PQgetvalue(row, 0, 7), ',') ? "have" : "has",
                    strchr(PQgetvalue(row, 0, 7), ',') ? "their" : "its");
    /* The sign apart: -5 minor units is -0.05, and -5 / 100 is 0. */
    long long units = llabs(balance);
    if (balance <= 0)
        problem_add(res, "insufficient_balance",
                    "the account's balance is %s%lld.%02lld %s: add credit to pay for calls",
                    balance < 0 ? "-" : "", units / 100, units % 100, PQgetvalue(row, 0, 5));
    if (callable == 0)
        problem_add(res, "no_leads",
                    "the campaign has no lead left to call: add leads (manually, by CSV import "
                    "or an integration) or set leads back to created");
    if (invalid > 0)
        problem_add(res, "invalid_leads",
                    "%lld lead%s of the campaign %s no valid phone number: correct or remove "
                    "them",
                    invalid, invalid == 1 ? "" : "s", invalid == 1 ? "has" : "have");
}

int lifecycle_campaign_apply(pg_conn_t *db, redis_t *r, const char *redis_prefix,
                             const char *account_id, const char *campaign_id,
                             lifecycle_action_t action, const char *reason, int64_t now_us,
                             lifecycle_result_t *res, char *errbuf, size_t errlen)
{
    memset(res, 0, sizeof(*res));
    if (!uuid_str_valid(campaign_id) || !uuid_str_valid(account_id))
        return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "campaign %s not found", campaign_id);

    PGresult *row = NULL;
    int rc = pg_tx_begin(db, errbuf, errlen);
    if (rc)
        return rc;
    const char *params[] = {campaign_id, account_id};
    rc = pg_stmt_exec(db, &campaign_lock_stmt, params, &row, errbuf, errlen);
    if (rc)
        goto fail;
    if (PQntuples(row) == 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "campaign %s not found", campaign_id);
        goto fail;
    }
    model_campaign_status_t status;
    rc = model_campaign_status_parse(PQgetvalue(row, 0, 0), &status, errbuf, errlen);
    if (rc)
        goto fail;
    res->old_status = status;
    res->new_status = status;

    model_campaign_status_t target = status;
    switch (action) {
    case LIFECYCLE_START:
        if (status != MODEL_CAMPAIGN_DRAFT)
            problem_add(res, "invalid_state",
                        "the campaign is %s: only a draft campaign can be started (use resume "
                        "for a paused or completed one)",
                        model_campaign_status_name(status));
        else
            requirements_check(row, res);
        target = MODEL_CAMPAIGN_IN_PROGRESS;
        break;
    case LIFECYCLE_RESUME:
        if (PQgetvalue(row, 0, 6)[0] == 't')
            problem_add(res, "invalid_state",
                        "the campaign is archived: an archived campaign cannot be resumed");
        else if (status != MODEL_CAMPAIGN_PAUSED && status != MODEL_CAMPAIGN_COMPLETED)
            problem_add(res, "invalid_state",
                        "the campaign is %s: only a paused or completed campaign can be resumed",
                        model_campaign_status_name(status));
        else
            requirements_check(row, res);
        target = MODEL_CAMPAIGN_IN_PROGRESS;
        break;
    case LIFECYCLE_PAUSE:
        if (status == MODEL_CAMPAIGN_PAUSED)
            goto done; /* pausing twice is not an error */
        if (status != MODEL_CAMPAIGN_IN_PROGRESS)
            problem_add(res, "invalid_state",
                        "the campaign is %s: only a campaign in progress can be paused",
                        model_campaign_status_name(status));
        target = MODEL_CAMPAIGN_PAUSED;
        if (!reason)
            reason = "user";
        break;
    }
    if (res->n_problems > 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_CONFLICT, "%s", res->problems[0].message);
        goto fail;
    }
    rc = lifecycle_status_write_tx(db, account_id, campaign_id, status, target, reason, now_us,
                                   errbuf, errlen);
    if (rc)
        goto fail;
    res->new_status = target;
done:
    PQclear(row);
    row = NULL;
    rc = pg_tx_commit(db, errbuf, errlen);
    if (rc)
        return rc;
    if (r) {
        char rerr[256];
        if (lifecycle_mirror_write(r, redis_prefix, campaign_id, res->new_status, rerr,
                                   sizeof(rerr)))
            log_warn("campaign_mirror",
                     "campaign %s: Redis mirror not written (%s); the "
                     "scheduler repairs it on its next tick",
                     campaign_id, rerr);
    }
    log_info("campaign_status", "campaign %s: %s -> %s", campaign_id,
             model_campaign_status_name(res->old_status),
             model_campaign_status_name(res->new_status));
    return OD_OK;
fail:
    PQclear(row);
    pg_tx_rollback(db);
    return rc;
}

int lifecycle_campaigns_move(pg_conn_t *db, redis_t *r, const char *redis_prefix,
                             const pg_stmt_t *candidates, const pg_stmt_t *lock,
                             lifecycle_still_fn still, model_campaign_status_t from,
                             model_campaign_status_t to, const char *reason, const char *log_event,
                             int64_t now_us, int *n_moved, char *errbuf, size_t errlen)
{
    *n_moved = 0;
    PGresult *res = NULL;
    int rc = pg_stmt_exec(db, candidates, NULL, &res, errbuf, errlen);
    if (rc)
        return rc;
    for (int i = 0; i < PQntuples(res) && rc == OD_OK; i++) {
        const char *id = PQgetvalue(res, i, 0);
        PGresult *locked = NULL;
        rc = pg_tx_begin(db, errbuf, errlen);
        if (rc)
            break;
        const char *p[] = {id};
        rc = pg_stmt_exec(db, lock, p, &locked, errbuf, errlen);
        bool moves = rc == OD_OK && still(locked);
        PQclear(locked);
        if (rc == OD_OK && moves)
            rc = lifecycle_status_write_tx(db, PQgetvalue(res, i, 1), id, from, to, reason, now_us,
                                           errbuf, errlen);
        if (rc) {
            pg_tx_rollback(db);
            break;
        }
        rc = pg_tx_commit(db, errbuf, errlen);
        if (rc || !moves)
            continue;
        (*n_moved)++;
        log_info(log_event, "campaign %s: %s -> %s (%s)", id, model_campaign_status_name(from),
                 model_campaign_status_name(to), reason ? reason : "no lead left to call");
        char rerr[256];
        if (r && lifecycle_mirror_write(r, redis_prefix, id, to, rerr, sizeof(rerr)))
            log_warn("campaign_mirror", "campaign %s: %s", id, rerr);
    }
    PQclear(res);
    return rc;
}

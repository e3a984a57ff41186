#include "lead_finish.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "contacts.h"
#include "uuid.h"

const pg_stmt_t lead_finish_group_stmt = {
    "lead_finish_group",
    "SELECT id, status, next_attempt_at IS NOT NULL AS due, contact_order FROM lead"
    " WHERE id = $1::uuid OR parent_lead_id = $1::uuid ORDER BY contact_order FOR UPDATE",
    1};

static const pg_stmt_t make_due_stmt = {
    "lead_finish_make_due",
    "UPDATE lead SET next_attempt_at = od_ts($2::bigint), updated_at = now()"
    " WHERE id = $1::uuid",
    2};

static const pg_stmt_t complete_stmt = {
    "lead_finish_complete",
    "UPDATE lead SET status = 'completed', outcome = $3::lead_outcome, current_attempt_id = NULL,"
    " callback_status = CASE WHEN callback_status = 'pending' THEN 'cancelled'::callback_status"
    "   ELSE callback_status END,"
    " status_changed_at = od_ts($2::bigint), updated_at = now() WHERE id = $1::uuid",
    3};

int lead_finish_event_init(lead_finish_event_t *fe, const lead_finish_t *lf, char *errbuf,
                           size_t errlen)
{
    memset(fe, 0, sizeof(*fe));
    char event_id[UUID_STR_LEN];
    campaignevent_t ev;
    campaignevent_start(&ev, event_id, lf->campaign_id, lf->account_id,
                        OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_LEAD_FINISHED);
    ev.lead_id = (char *)lf->lead_id;
    ev.lead_status = lf->status == MODEL_LEAD_COMPLETED
                         ? OUTDIAL__V1__LEAD_FINAL_STATUS__LEAD_FINAL_STATUS_COMPLETED
                         : OUTDIAL__V1__LEAD_FINAL_STATUS__LEAD_FINAL_STATUS_MAX_RETRIES;
    /* Numbered alike (campaign_event.proto): NONE is UNSPECIFIED. */
    ev.outcome = (Outdial__V1__LeadOutcome)lf->outcome;
    ev.goal_result = (Outdial__V1__GoalResult)lf->goal;
    ev.occurred_at_us = lf->at_us;
    int rc =
        topic_name_from_env(TOPIC_CAMPAIGN_EVENTS, fe->topic, sizeof(fe->topic), errbuf, errlen);
    if (rc)
        return rc;
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = campaignevent_encode(&ev, &buf, &len, errbuf, errlen);
    if (rc == OD_OK)
        lifecycle_outbox_item_init(&fe->item, fe->topic, lf->campaign_id, buf, len);
    free(buf);
    return rc;
}

void lead_finish_event_free(lead_finish_event_t *fe)
{
    lifecycle_outbox_item_free(&fe->item);
}

int lead_finish_event_tx(pg_conn_t *db, const lead_finish_t *lf, char *errbuf, size_t errlen)
{
    lead_finish_event_t fe;
    int rc = lead_finish_event_init(&fe, lf, errbuf, errlen);
    if (rc == OD_OK)
        rc = pg_stmt_exec(db, fe.item.stmt, fe.item.params, NULL, errbuf, errlen);
    lead_finish_event_free(&fe);
    return rc;
}

int lead_finish_completed_tx(pg_conn_t *db, const char *account_id, const char *campaign_id,
                             const char *lead_id, model_outcome_t outcome, int64_t at_us,
                             char *errbuf, size_t errlen)
{
    char at[24];
    snprintf(at, sizeof(at), "%" PRId64, at_us);
    const char *q[] = {lead_id, at, model_outcome_name(outcome)};
    int rc = pg_stmt_exec(db, &complete_stmt, q, NULL, errbuf, errlen);
    lead_finish_t lf = {.account_id = account_id,
                        .campaign_id = campaign_id,
                        .lead_id = lead_id,
                        .status = MODEL_LEAD_COMPLETED,
                        .outcome = outcome,
                        .goal = MODEL_GOAL_ABSENT,
                        .at_us = at_us};
    if (rc == OD_OK)
        rc = lead_finish_event_tx(db, &lf, errbuf, errlen);
    return rc;
}

int lead_finish_group_apply_tx(pg_conn_t *db, const char *account_id, const char *campaign_id,
                               const PGresult *group, int64_t at_us, char *errbuf, size_t errlen)
{
    int n = PQntuples(group);
    if (n <= 1) /* a lead without secondary contacts */
        return OD_OK;
    int col_id = PQfnumber(group, "id"), col_status = PQfnumber(group, "status");
    int col_due = PQfnumber(group, "due"), col_order = PQfnumber(group, "contact_order");
    if (col_id < 0 || col_status < 0 || col_due < 0 || col_order < 0)
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL,
                       "contact group: a result without id, status, due and contact_order");
    contacts_member_t members[128];
    contacts_action_t actions[128];
    if (n > 128)
        n = 128; /* contact_order is at most 100 (schema CHECK) */
    int rc;
    for (int i = 0; i < n; i++) {
        rc = model_lead_status_parse(PQgetvalue(group, i, col_status), &members[i].status, errbuf,
                                     errlen);
        if (rc)
            return rc;
        members[i].due = PQgetvalue(group, i, col_due)[0] == 't';
        members[i].contact_order = atoi(PQgetvalue(group, i, col_order));
    }
    size_t changed = 0;
    rc = contacts_group_step(members, (size_t)n, actions, &changed, errbuf, errlen);
    char at[24];
    snprintf(at, sizeof(at), "%" PRId64, at_us);
    for (int i = 0; rc == OD_OK && i < n && changed; i++) {
        const char *id = PQgetvalue(group, i, col_id);
        const char *q[] = {id, at};
        if (actions[i] == CONTACTS_ACTION_MAKE_DUE)
            rc = pg_stmt_exec(db, &make_due_stmt, q, NULL, errbuf, errlen);
        else if (actions[i] == CONTACTS_ACTION_COMPLETE)
            rc = lead_finish_completed_tx(db, account_id, campaign_id, id, MODEL_OUTCOME_ANSWERED,
                                          at_us, errbuf, errlen);
    }
    return rc;
}

int lead_finish_group_step_tx(pg_conn_t *db, const char *account_id, const char *campaign_id,
                              const char *primary_id, int64_t at_us, char *errbuf, size_t errlen)
{
    PGresult *group = NULL;
    const char *p[] = {primary_id};
    int rc = pg_stmt_exec(db, &lead_finish_group_stmt, p, &group, errbuf, errlen);
    if (rc == OD_OK)
        rc = lead_finish_group_apply_tx(db, account_id, campaign_id, group, at_us, errbuf, errlen);
    PQclear(group);
    return rc;
}

/*
 * test_proto_messages.h — one valid message of each protocol type with
 * every field set (to values that are not defaults), for the codec's unit
 * tests (test_proto.c) and the fuzz seeds (tests/fuzz/proto_seeds.c).
 * Header-only. The builders point the messages into this file's static
 * arrays (job_vars, job_legal, job_predial, job_cids, lead_vars, mapping),
 * which a test may change to make one field bad; each builder call sets
 * them again.
 */
#ifndef OUTDIAL_TEST_PROTO_MESSAGES_H
#define OUTDIAL_TEST_PROTO_MESSAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"

#define ATTEMPT_ID  "0b9e3c52-5a7e-4a43-9d0c-6f1d2e3a4b5c"
#define LEAD_ID     "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
#define CAMPAIGN_ID "2d3e4f5a-6b7c-4d8e-9fa0-1b2c3d4e5f60"
#define ACCOUNT_ID  "3e4f5a6b-7c8d-4e9f-a0b1-2c3d4e5f6071"
#define EVENT_ID    "4f5a6b7c-8d9e-4fa0-b1c2-3d4e5f607182"
#define IMPORT_ID   "5a6b7c8d-9eaf-4b01-c2d3-4e5f60718293"

static dialjob_variable_t job_vars[2];
static dialjob_variable_t *job_var_ptrs[2];
static dialjob_legal_t job_legal;
static dialjob_predial_t job_predial;
static dialjob_caller_id_t job_cids[2];
static dialjob_caller_id_t *job_cid_ptrs[2];
static char *job_zones[] = {"America/New_York", "America/Chicago"};

static inline void dialjob_full(dialjob_t *job)
{
    dialjob_init(job);
    job->attempt_id = ATTEMPT_ID;
    job->lead_id = LEAD_ID;
    job->campaign_id = CAMPAIGN_ID;
    job->account_id = ACCOUNT_ID;
    job->attempt_number = 3;
    job->e164 = "+14155550123";
    job->caller_id = "+442071838750";
    job->provider = "vapi";
    job->provider_assistant_id = "asst_7f3a";
    job->provider_phone_number_id = "pn_19c2";
    job->lead_name = "Zoë Müller";
    const char *keys[] = {"company", "plan"};
    const char *values[] = {"Acme \"Rockets\"", "gold\n2"};
    for (int i = 0; i < 2; i++) {
        outdial__v1__dial_job__variables_entry__init(&job_vars[i]);
        job_vars[i].key = (char *)keys[i];
        job_vars[i].value = (char *)values[i];
        job_var_ptrs[i] = &job_vars[i];
    }
    job->variables = job_var_ptrs;
    job->n_variables = 2;
    job->max_call_duration_s = 900;
    job->not_after_us = 1772960400000000LL; /* 2026-03-08T09:00:00Z */
    job->issued_at_us = 1772956800123456LL;
    dialjob_legal_init(&job_legal);
    job_legal.profile = "us_states";
    job_legal.jurisdiction = "FL";
    job_legal.zones = job_zones;
    job_legal.n_zones = 2;
    job_legal.overrides_json = "[{\"code\":\"FL\",\"calls_per_24h\":2}]";
    job->legal = &job_legal;
    job->calls_per_24h = 3;
    dialjob_predial_init(&job_predial);
    job_predial.url = "https://crm.example.com/outdial/check?key=k1";
    job_predial.timeout_ms = 1500;
    job_predial.call_on_error = true;
    job->predial = &job_predial;
    const char *numbers[] = {"+14155550100", "+12125550199"};
    for (int i = 0; i < 2; i++) {
        outdial__v1__dial_job__caller_id__init(&job_cids[i]);
        job_cids[i].e164 = (char *)numbers[i];
        job_cids[i].provider_phone_number_id = i ? "pn_2" : "pn_1";
        job_cids[i].daily_cap = i ? 0 : 40;
        job_cids[i].timezone = i ? "America/New_York" : "America/Los_Angeles";
        job_cid_ptrs[i] = &job_cids[i];
    }
    job->caller_ids = job_cid_ptrs;
    job->n_caller_ids = 2;
    job->sticky_caller_id = "+12125550199";
    job->caller_id_strategy = "local_presence"; /* the last field: required */
}

static inline void callevent_full(callevent_t *event)
{
    callevent_init(event);
    event->event_id = EVENT_ID;
    event->attempt_id = ATTEMPT_ID;
    event->lead_id = LEAD_ID;
    event->campaign_id = CAMPAIGN_ID;
    event->account_id = ACCOUNT_ID;
    event->attempt_number = 2;
    event->status = OUTDIAL__V1__CALL_STATUS__CALL_STATUS_COMPLETED;
    event->answered_by = OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_VOICEMAIL;
    event->provider_call_id = "call_abc123";
    event->started_at_us = 1772956805000000LL;
    event->ended_at_us = 1772956865500000LL;
    event->duration_ms = 60500;
    event->cost_minor = 42;
    event->ended_reason = "voicemail";
    event->failure_class = OUTDIAL__V1__FAILURE_CLASS__FAILURE_CLASS_TRANSIENT;
    event->post_call_variables_json = "{\"interested\":true,\"notes\":\"call back\"}";
    event->skip_reason = OUTDIAL__V1__SKIP_REASON__SKIP_REASON_UNSPECIFIED;
    event->skip_detail = "n/a";
    event->occurred_at_us = 1772956865600000LL;
}

static leadupsert_variable_t lead_vars[3];
static leadupsert_variable_t *lead_var_ptrs[3];
static char *lead_phones[] = {"+1 415 555 0199", "(415) 555-0100"};

static inline void leadupsert_full(leadupsert_t *lead)
{
    leadupsert_init(lead);
    lead->campaign_id = CAMPAIGN_ID;
    lead->account_id = ACCOUNT_ID;
    lead->external_id = "crm-7781";
    lead->name = "Ana Núñez";
    lead->timezone = "America/Chicago";
    const char *keys[] = {"company", "score", "empty"};
    const char *values[] = {"Acme", "7", ""};
    for (int i = 0; i < 3; i++) {
        outdial__v1__lead_upsert__variables_entry__init(&lead_vars[i]);
        lead_vars[i].key = (char *)keys[i];
        lead_vars[i].value = (char *)values[i];
        lead_var_ptrs[i] = &lead_vars[i];
    }
    lead->variables = lead_var_ptrs;
    lead->n_variables = 3;
    lead->secondary_phones = lead_phones;
    lead->n_secondary_phones = 2;
    lead->region = "US";
    lead->phone = "(415) 555-0123";
}

static importrequest_mapping_t mapping[2];
static importrequest_mapping_t *mapping_ptrs[2];

static inline void importrequest_full(importrequest_t *req)
{
    importrequest_init(req);
    req->import_id = IMPORT_ID;
    req->campaign_id = CAMPAIGN_ID;
    req->account_id = ACCOUNT_ID;
    req->region = "GB";
    const char *keys[] = {"phone", "name"};
    const char *values[] = {"Mobile Number", "Full name"};
    for (int i = 0; i < 2; i++) {
        outdial__v1__import_request__column_mapping_entry__init(&mapping[i]);
        mapping[i].key = (char *)keys[i];
        mapping[i].value = (char *)values[i];
        mapping_ptrs[i] = &mapping[i];
    }
    req->column_mapping = mapping_ptrs;
    req->n_column_mapping = 2;
    req->requested_at_us = 1772956800000001LL;
}

/* A lead_finished event carries every field (old/new status are optional
 * for this kind, so they can be set too). */
static inline void campaignevent_full(campaignevent_t *event)
{
    campaignevent_init(event);
    event->event_id = EVENT_ID;
    event->campaign_id = CAMPAIGN_ID;
    event->account_id = ACCOUNT_ID;
    event->kind = OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_LEAD_FINISHED;
    event->old_status = OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_IN_PROGRESS;
    event->new_status = OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_PAUSED;
    event->reason = "insufficient_balance";
    event->lead_id = LEAD_ID;
    event->lead_status = OUTDIAL__V1__LEAD_FINAL_STATUS__LEAD_FINAL_STATUS_COMPLETED;
    event->outcome = OUTDIAL__V1__LEAD_OUTCOME__LEAD_OUTCOME_GOAL_ACHIEVED;
    event->goal_result = OUTDIAL__V1__GOAL_RESULT__GOAL_RESULT_TRUE;
    event->occurred_at_us = 1772956900000000LL;
}

#endif

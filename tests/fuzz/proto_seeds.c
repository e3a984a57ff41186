/*
 * proto_seeds — writes the seed corpus of fuzz_proto: one valid message of
 * each type (with most fields set, so that every field's decoder runs),
 * prefixed by the selector byte fuzz_proto reads. Run after a .proto
 * change: fuzz_proto_seeds tests/fuzz/corpus/fuzz_proto
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define ATTEMPT_ID  "0b9e3c52-5a7e-4a43-9d0c-6f1d2e3a4b5c"
#define LEAD_ID     "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
#define CAMPAIGN_ID "2d3e4f5a-6b7c-4d8e-9fa0-1b2c3d4e5f60"
#define ACCOUNT_ID  "3e4f5a6b-7c8d-4e9f-a0b1-2c3d4e5f6071"
#define EVENT_ID    "4f5a6b7c-8d9e-4fa0-b1c2-3d4e5f607182"
#define IMPORT_ID   "5a6b7c8d-9eaf-4b01-8c2d-4e5f60718293"

/* Writes selector + payload to dir/name; exits on failure. */
static void seed_write(const char *dir, const char *name, uint8_t selector, const void *buf,
                       size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputc(selector, f) == EOF || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "proto_seeds: cannot write %s\n", path);
        exit(1);
    }
}

static void encoded(int rc, const char *what, const char *err)
{
    if (rc != OD_OK) {
        fprintf(stderr, "proto_seeds: %s: %s\n", what, err);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    char err[256];
    uint8_t *buf = NULL;
    size_t len = 0;

    dialjob_variable_t job_var;
    outdial__v1__dial_job__variables_entry__init(&job_var);
    job_var.key = "company";
    job_var.value = "Acme";
    dialjob_variable_t *job_vars[] = {&job_var};
    dialjob_t job;
    dialjob_init(&job);
    job.attempt_id = ATTEMPT_ID;
    job.lead_id = LEAD_ID;
    job.campaign_id = CAMPAIGN_ID;
    job.account_id = ACCOUNT_ID;
    job.attempt_number = 2;
    job.e164 = "+14155550123";
    job.caller_id = "+442071838750";
    job.provider = "vapi";
    job.provider_assistant_id = "asst_7f3a";
    job.provider_phone_number_id = "pn_19c2";
    job.lead_name = "Zoë Müller";
    job.variables = job_vars;
    job.n_variables = 1;
    job.max_call_duration_s = 900;
    job.not_after_us = 1772960400000000LL;
    job.issued_at_us = 1772956800123456LL;
    dialjob_legal_t legal;
    dialjob_legal_init(&legal);
    char *zones[] = {"America/Los_Angeles"};
    legal.profile = "us_states";
    legal.jurisdiction = "CA";
    legal.zones = zones;
    legal.n_zones = 1;
    job.legal = &legal;
    encoded(dialjob_encode(&job, &buf, &len, err, sizeof(err)), "DialJob", err);
    seed_write(dir, "dial_job", 0, buf, len);
    free(buf);

    callevent_t event;
    callevent_init(&event);
    event.event_id = EVENT_ID;
    event.attempt_id = ATTEMPT_ID;
    event.lead_id = LEAD_ID;
    event.campaign_id = CAMPAIGN_ID;
    event.account_id = ACCOUNT_ID;
    event.attempt_number = 2;
    event.status = OUTDIAL__V1__CALL_STATUS__CALL_STATUS_COMPLETED;
    event.answered_by = OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_HUMAN;
    event.provider_call_id = "call_abc123";
    event.started_at_us = 1772956805000000LL;
    event.ended_at_us = 1772956865500000LL;
    event.duration_ms = 60500;
    event.cost_minor = 42;
    event.ended_reason = "customer-ended-call";
    event.post_call_variables_json = "{\"interested\":true}";
    event.occurred_at_us = 1772956865600000LL;
    encoded(callevent_encode(&event, &buf, &len, err, sizeof(err)), "CallEvent", err);
    seed_write(dir, "call_event", 1, buf, len);
    free(buf);

    leadupsert_variable_t lead_var;
    outdial__v1__lead_upsert__variables_entry__init(&lead_var);
    lead_var.key = "plan";
    lead_var.value = "gold";
    leadupsert_variable_t *lead_vars[] = {&lead_var};
    char *phones[] = {"+1 415 555 0199"};
    leadupsert_t lead;
    leadupsert_init(&lead);
    lead.campaign_id = CAMPAIGN_ID;
    lead.account_id = ACCOUNT_ID;
    lead.external_id = "crm-7781";
    lead.name = "Ana Núñez";
    lead.timezone = "America/Chicago";
    lead.variables = lead_vars;
    lead.n_variables = 1;
    lead.secondary_phones = phones;
    lead.n_secondary_phones = 1;
    lead.region = "US";
    lead.phone = "(415) 555-0123";
    encoded(leadupsert_encode(&lead, &buf, &len, err, sizeof(err)), "LeadUpsert", err);
    seed_write(dir, "lead_upsert", 2, buf, len);
    free(buf);

    static const char lead_json[] =
        "{\"campaignId\":\"" CAMPAIGN_ID "\",\"account_id\":\"" ACCOUNT_ID "\","
        "\"phone\":\"+14155550123\",\"name\":\"Ana\",\"timezone\":\"America/Chicago\","
        "\"variables\":{\"plan\":\"gold\",\"score\":7,\"vip\":true,\"tags\":[1,2],\"x\":null},"
        "\"secondary_phones\":[\"+14155550199\"],\"region\":\"US\",\"external_id\":null}";
    seed_write(dir, "lead_upsert_json", 3, lead_json, strlen(lead_json));

    importrequest_mapping_t mapping;
    outdial__v1__import_request__column_mapping_entry__init(&mapping);
    mapping.key = "phone";
    mapping.value = "Mobile Number";
    importrequest_mapping_t *mappings[] = {&mapping};
    importrequest_t req;
    importrequest_init(&req);
    req.import_id = IMPORT_ID;
    req.campaign_id = CAMPAIGN_ID;
    req.account_id = ACCOUNT_ID;
    req.region = "GB";
    req.column_mapping = mappings;
    req.n_column_mapping = 1;
    req.requested_at_us = 1772956800000001LL;
    encoded(importrequest_encode(&req, &buf, &len, err, sizeof(err)), "ImportRequest", err);
    seed_write(dir, "import_request", 4, buf, len);
    free(buf);

    campaignevent_t cev;
    campaignevent_init(&cev);
    cev.event_id = EVENT_ID;
    cev.campaign_id = CAMPAIGN_ID;
    cev.account_id = ACCOUNT_ID;
    cev.kind = OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_LEAD_FINISHED;
    cev.old_status = OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_IN_PROGRESS;
    cev.new_status = OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_PAUSED;
    cev.reason = "insufficient_balance";
    cev.lead_id = LEAD_ID;
    cev.lead_status = OUTDIAL__V1__LEAD_FINAL_STATUS__LEAD_FINAL_STATUS_COMPLETED;
    cev.outcome = OUTDIAL__V1__LEAD_OUTCOME__LEAD_OUTCOME_GOAL_ACHIEVED;
    cev.goal_result = OUTDIAL__V1__GOAL_RESULT__GOAL_RESULT_TRUE;
    cev.occurred_at_us = 1772956900000000LL;
    encoded(campaignevent_encode(&cev, &buf, &len, err, sizeof(err)), "CampaignEvent", err);
    seed_write(dir, "campaign_event", 5, buf, len);
    free(buf);
    return 0;
}

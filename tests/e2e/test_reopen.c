/*
 * End to end: leads that arrive after a campaign stopped (issue 20, item 4),
 * through the real services, the importer's leads-in consumer and the
 * voice simulator.
 *
 *   - a campaign that completed by itself gets a lead through leads-in:
 *     the scheduler reopens it (in_progress), the lead is called, and the
 *     campaign completes again, with a CampaignEvent completed ->
 *     in_progress, reason lead_arrived, on campaign-events;
 *   - a campaign completed and then archived by a person gets a lead
 *     through leads-in too: it stays completed, the lead is never called,
 *     and the statistics show it waiting with the reason. The absence is
 *     proven with a marker: the reopened campaign's lead is sent after the
 *     archived campaign's lead was stored, so once the reopened campaign
 *     has called its lead and completed again, the scheduler's reopen pass
 *     has seen the archived campaign's lead too;
 *   - outdial-audit reports every invariant at 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codec.h"
#include "e2e/e2e_support.h"
#include "kafka.h"
#include "kafka_support.h"
#include "topics.h"
#include "test_main.h"

static const char rules[] = "seed 5\n"
                            "ring 30s\n"
                            "talk human 2m\n"
                            "default human\n";

#define AUTO_FIRST   "+16465550301"
#define AUTO_LATE    "+16465550302"
#define CLOSED_FIRST "+16465550311"
#define CLOSED_LATE  "+16465550312"

/* A campaign with one lead, run until it completes by itself. */
static void campaign_run_once(const e2e_stack_t *st, const char *assistant, const char *phone,
                              char campaign[37])
{
    char lead[37], body[96];
    e2e_campaign_create(st, assistant, E2E_WINDOW_ALWAYS, campaign);
    snprintf(body, sizeof(body), "{\"phone\":\"%s\",\"name\":\"First\"}", phone);
    e2e_lead_add(st, campaign, body, lead);
    e2e_campaign_must(st, campaign, "start");
    e2e_wait_lead(st, lead, "completed", "answered", 60000);
    e2e_wait_campaign(st, campaign, "completed", 60000);
}

/* A LeadUpsert as JSON on leads-in, as a CRM sends it. */
static void leads_in_send(kafka_producer_t *p, const e2e_stack_t *st, const char *campaign,
                          const char *phone)
{
    char err[512], topic[TOPIC_NAME_MAX + 1], json[256];
    if (topic_name_from_env(TOPIC_LEADS_IN, topic, sizeof(topic), err, sizeof(err)) != OD_OK)
        fail_msg("leads-in topic: %s", err);
    snprintf(json, sizeof(json),
             "{\"campaignId\":\"%s\",\"accountId\":\"%s\",\"phone\":\"%s\",\"name\":\"Late\"}",
             campaign, st->account_id, phone);
    kafka_header_t h = {"content-type", "application/json; charset=utf-8", 31};
    if (kafka_producer_send(p, topic, campaign, strlen(campaign), (const uint8_t *)json,
                            strlen(json), &h, 1, NULL, err, sizeof(err)) != OD_OK ||
        kafka_producer_flush(p, 30000, err, sizeof(err)) != OD_OK)
        fail_msg("produce to %s: %s", topic, err);
}

static long long stat_of(const e2e_stack_t *st, const char *campaign, const char *path)
{
    json_t *s = e2e_get_json(st, "/v1/campaigns/%s/stats", campaign);
    long long n = e2e_int(s, path);
    json_decref(s);
    return n;
}

/* The campaign's lead with this number (its id into out); false if none. */
static bool lead_of(const e2e_stack_t *st, const char *campaign, const char *phone, char out[37])
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/campaigns/%s/leads", campaign);
    json_t *leads = e2e_list(st, path);
    size_t i;
    json_t *l;
    bool found = false;
    json_array_foreach(leads, i, l) if (strcmp(e2e_str(l, "phone"), phone) == 0)
    {
        snprintf(out, 37, "%s", e2e_str(l, "id"));
        found = true;
    }
    json_decref(leads);
    return found;
}

/* Whether msg is the CampaignEvent completed -> in_progress, with the
 * reason lead_arrived, of the campaign (arg). */
static bool is_reopen_event(const rd_kafka_message_t *msg, void *arg)
{
    const char *campaign = arg;
    char err[512];
    campaignevent_t *ev = NULL;
    if (campaignevent_decode(msg->payload, msg->len, &ev, err, sizeof(err)) != OD_OK)
        return false;
    bool seen = strcmp(ev->campaign_id, campaign) == 0 &&
                ev->old_status == OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_COMPLETED &&
                ev->new_status == OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_IN_PROGRESS &&
                strcmp(ev->reason, "lead_arrived") == 0;
    campaignevent_free(ev);
    return seen;
}

/* Waits for the campaign's CampaignEvent completed -> in_progress with the
 * reason lead_arrived on campaign-events (read from the start). */
static void wait_reopen_event(const char *campaign)
{
    char err[512], topic[TOPIC_NAME_MAX + 1], group[64];
    if (topic_name_from_env(TOPIC_CAMPAIGN_EVENTS, topic, sizeof(topic), err, sizeof(err)) != OD_OK)
        fail_msg("campaign-events topic: %s", err);
    snprintf(group, sizeof(group), "test-reopen-%d", (int)getpid());
    kafka_consumer_t *consumer = kafka_support_subscribe(group, topic);
    bool seen = kafka_support_wait_for(consumer, 60000, is_reopen_event, (void *)campaign);
    kafka_consumer_free(consumer);
    if (!seen)
        fail_msg("no CampaignEvent completed -> in_progress (lead_arrived) for %s", campaign);
}

static void test_reopen(void **state)
{
    (void)state;
    static e2e_stack_t st; /* static: the teardown reads it after a failure */
    e2e_opts_t opts = {.tag = "e2ereopen", .rules = rules, .balance = 1000000};
    e2e_stack_start(&st, &opts);

    char assistant[37], auto_c[37], closed_c[37];
    e2e_assistant_create(&st, "+12125550100", assistant);
    campaign_run_once(&st, assistant, AUTO_FIRST, auto_c);
    campaign_run_once(&st, assistant, CLOSED_FIRST, closed_c);
    e2e_campaign_must(&st, closed_c, "archive");
    assert_int_equal(stat_of(&st, auto_c, "leads_waiting.count"), 0);
    assert_int_equal(stat_of(&st, closed_c, "leads_waiting.count"), 0);

    char err[512];
    kafka_producer_t *producer = NULL;
    assert_int_equal(kafka_producer_new(NULL, &producer, err, sizeof(err)), OD_OK);

    /* The archived campaign's lead first, stored before the marker is sent. */
    char closed_late[37];
    leads_in_send(producer, &st, closed_c, CLOSED_LATE);
    HARNESS_WAIT(lead_of(&st, closed_c, CLOSED_LATE, closed_late), 60000,
                 "the archived campaign's lead to be stored from leads-in");

    /* The campaign that completed by itself: reopened, called, completed. */
    char auto_late[37];
    leads_in_send(producer, &st, auto_c, AUTO_LATE);
    HARNESS_WAIT(lead_of(&st, auto_c, AUTO_LATE, auto_late), 60000,
                 "the completed campaign's lead to be stored from leads-in");
    e2e_wait_lead(&st, auto_late, "completed", "answered", 60000);
    e2e_wait_campaign(&st, auto_c, "completed", 60000);
    assert_int_equal(e2e_sim_placed_to(&st, AUTO_LATE), 1);
    assert_int_equal(e2e_sim_placed_to(&st, AUTO_FIRST), 1);
    assert_int_equal(stat_of(&st, auto_c, "leads.by_status.completed"), 2);
    assert_int_equal(stat_of(&st, auto_c, "leads_waiting.count"), 0);
    wait_reopen_event(auto_c);

    /* The archived one stayed as it was; its lead waits, and says why. */
    assert_true(e2e_campaign_is(&st, closed_c, "completed"));
    assert_true(e2e_lead_is(&st, closed_late, "created", NULL));
    assert_int_equal(e2e_sim_placed_to(&st, CLOSED_LATE), 0);
    json_t *s = e2e_get_json(&st, "/v1/campaigns/%s/stats", closed_c);
    assert_int_equal(e2e_int(s, "leads_waiting.count"), 1);
    assert_string_equal(e2e_str(s, "leads_waiting.reason"), "campaign_completed");
    assert_non_null(strstr(e2e_str(s, "leads_waiting.message"), "completed"));
    json_decref(s);

    kafka_producer_free(producer);
    e2e_audit(&st, auto_c);
    e2e_stack_stop(&st);
}

OD_TEST_MAIN_EACH(NULL, NULL, NULL, e2e_teardown, test_reopen)

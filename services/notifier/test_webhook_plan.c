/* The notifier's pure parts: the full-jitter backoff and the plan after a
 * try (delivery_plan.h), the event filter (webhook_filter.h) and which
 * events become webhooks with what JSON (event_map.h). */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delivery_plan.h"
#include "event_map.h"
#include "test_main.h"
#include "webhook_filter.h"

#define SEC  ((int64_t)1000)
#define HOUR (3600 * SEC)

static void test_backoff_ceiling_doubles_to_the_cap(void **state)
{
    (void)state;
    static const struct {
        int attempts;
        int64_t first, cap, want;
    } cases[] = {
        {0, 5 * SEC, HOUR, 0},        /* no try yet: no wait */
        {-3, 5 * SEC, HOUR, 0},       /* nonsense: no wait */
        {1, 5 * SEC, HOUR, 5 * SEC},  /* first */
        {2, 5 * SEC, HOUR, 10 * SEC}, /* doubles */
        {5, 5 * SEC, HOUR, 80 * SEC}, /* 5 s x 2^4 */
        {10, 5 * SEC, HOUR, 2560 * SEC},
        {11, 5 * SEC, HOUR, HOUR},       /* 5120 s capped */
        {1000, 5 * SEC, HOUR, HOUR},     /* no overflow however many */
        {1, 10 * SEC, 3 * SEC, 3 * SEC}, /* cap below first: cap */
        {4, 0, HOUR, 0},                 /* no first: never waits */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = delivery_backoff_ceiling_ms(cases[i].attempts, cases[i].first, cases[i].cap);
        if (got != cases[i].want)
            fail_msg("case %zu: got %lld, want %lld", i, (long long)got, (long long)cases[i].want);
    }
}

static void test_full_jitter_spans_zero_to_the_ceiling(void **state)
{
    (void)state;
    /* random % (ceiling + 1): the ends and the middle are reachable. */
    assert_int_equal(delivery_backoff_ms(1, 5 * SEC, HOUR, 0), 0);
    assert_int_equal(delivery_backoff_ms(1, 5 * SEC, HOUR, 5000), 5000);
    assert_int_equal(delivery_backoff_ms(1, 5 * SEC, HOUR, 5001), 0);
    assert_int_equal(delivery_backoff_ms(2, 5 * SEC, HOUR, UINT64_MAX), UINT64_MAX % 10001);
    /* Over many randoms, never above the ceiling and spread over it. */
    int64_t lo = INT64_MAX, hi = 0;
    uint64_t r = 88172645463325252ULL;
    for (int i = 0; i < 10000; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17; /* xorshift64 */
        int64_t d = delivery_backoff_ms(3, 5 * SEC, HOUR, r);
        assert_true(d >= 0 && d <= 20 * SEC);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    assert_true(lo < 1 * SEC);
    assert_true(hi > 19 * SEC);
}

static void test_plan_after_each_answer(void **state)
{
    (void)state;
    const delivery_policy_t p = {5 * SEC, HOUR, 24 * HOUR};
    static const struct {
        int status, attempts;
        int64_t age_ms;
        uint64_t random;
        delivery_next_t next;
        int64_t delay_ms;
    } cases[] = {
        {200, 1, 0, 7, DELIVERY_DELIVERED, 0},
        {204, 9, 23 * HOUR, 7, DELIVERY_DELIVERED, 0},
        {299, 1, 0, 7, DELIVERY_DELIVERED, 0},
        {410, 1, 0, 7, DELIVERY_GONE, 0},                /* gone for good: disable */
        {500, 1, 0, 4000, DELIVERY_RETRY, 4000},         /* in [0, 5 s] */
        {503, 2, 0, 10001, DELIVERY_RETRY, 0},           /* 10001 % 10001 */
        {404, 1, 0, 3, DELIVERY_RETRY, 3},               /* a 4xx is retried too */
        {301, 1, 0, 3, DELIVERY_RETRY, 3},               /* no redirects followed */
        {0, 1, 0, 3, DELIVERY_RETRY, 3},                 /* timeout, refused, TLS */
        {500, 30, 24 * HOUR - 10, 9, DELIVERY_RETRY, 9}, /* still fits in 24 h */
        {500, 30, 24 * HOUR - 10, 11, DELIVERY_DEAD, 0}, /* would come after 24 h */
        {0, 3, 25 * HOUR, 0, DELIVERY_DEAD, 0},          /* past 24 h already */
        {410, 3, 25 * HOUR, 0, DELIVERY_GONE, 0},
        {200, 3, 25 * HOUR, 0, DELIVERY_DELIVERED, 0}, /* an answer is an answer */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        delivery_plan_t got = delivery_plan_after(cases[i].status, cases[i].attempts,
                                                  cases[i].age_ms, &p, cases[i].random);
        if (got.next != cases[i].next || got.delay_ms != cases[i].delay_ms)
            fail_msg("case %zu (HTTP %d): got %d after %lld ms, want %d after %lld ms", i,
                     cases[i].status, got.next, (long long)got.delay_ms, cases[i].next,
                     (long long)cases[i].delay_ms);
    }
    assert_string_equal(delivery_result_name(200), "delivered");
    assert_string_equal(delivery_result_name(410), "gone");
    assert_string_equal(delivery_result_name(429), "client_error");
    assert_string_equal(delivery_result_name(502), "server_error");
    assert_string_equal(delivery_result_name(0), "no_answer");
}

static void test_filter_names_and_matching(void **state)
{
    (void)state;
    char err[256];
    unsigned f = 0;
    assert_int_equal(webhook_filter_add(&f, "call.ended", err, sizeof(err)), OD_OK);
    assert_int_equal(webhook_filter_add(&f, "import.finished", err, sizeof(err)), OD_OK);
    assert_int_equal(webhook_filter_add(&f, "call.ended", err, sizeof(err)), OD_OK); /* twice */
    assert_int_equal(webhook_filter_add(&f, "call.started", err, sizeof(err)), OD_ERR_INVALID);
    assert_non_null(strstr(err, "unknown event 'call.started'"));
    assert_non_null(strstr(err, "campaign.status_changed"));
    assert_int_equal(webhook_filter_add(&f, "", err, sizeof(err)), OD_ERR_INVALID);
    assert_int_equal(webhook_filter_add(&f, NULL, err, sizeof(err)), OD_ERR_INVALID);
    assert_int_equal(webhook_filter_add(&f, "Call.Ended", err, sizeof(err)), OD_ERR_INVALID);
    static const struct {
        webhook_event_t type;
        bool wanted;
    } cases[] = {
        {WEBHOOK_EVENT_CALL_ENDED, true},     {WEBHOOK_EVENT_IMPORT_FINISHED, true},
        {WEBHOOK_EVENT_LEAD_FINISHED, false}, {WEBHOOK_EVENT_CAMPAIGN_STATUS_CHANGED, false},
        {WEBHOOK_EVENT_NONE, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(webhook_filter_matches(f, cases[i].type), cases[i].wanted);
    assert_true(webhook_filter_matches(WEBHOOK_EVENT_ALL, WEBHOOK_EVENT_LEAD_FINISHED));
    assert_false(webhook_filter_matches(0, WEBHOOK_EVENT_CALL_ENDED));
    /* Every name parses back to its type. */
    for (unsigned bit = 1; bit <= WEBHOOK_EVENT_ALL; bit <<= 1) {
        const char *name = webhook_event_name((webhook_event_t)bit);
        assert_non_null(name);
        assert_true(strlen(name) < WEBHOOK_EVENT_NAME_MAX);
        assert_int_equal(webhook_event_parse(name), bit);
    }
    assert_null(webhook_event_name(WEBHOOK_EVENT_ALL));
}

#define EVENT_ID    "6f1c1b7e-1c55-4c5a-9b1e-3d1f0a000001"
#define ACCOUNT_ID  "6f1c1b7e-1c55-4c5a-9b1e-3d1f0a000002"
#define CAMPAIGN_ID "6f1c1b7e-1c55-4c5a-9b1e-3d1f0a000003"
#define LEAD_ID     "6f1c1b7e-1c55-4c5a-9b1e-3d1f0a000004"

/* A call event of the account with status, fields set as a dialer would. */
static callevent_t call_event(Outdial__V1__CallStatus status)
{
    callevent_t ev;
    callevent_init(&ev);
    ev.event_id = EVENT_ID;
    ev.attempt_id = ev.lead_id = LEAD_ID;
    ev.campaign_id = CAMPAIGN_ID;
    ev.account_id = ACCOUNT_ID;
    ev.status = status;
    ev.answered_by = OUTDIAL__V1__ANSWERED_BY__ANSWERED_BY_VOICEMAIL;
    ev.occurred_at_us = 1700000000000000LL;
    ev.post_call_variables_json = "{\"booked\":true}";
    ev.caller_id = "+12125550199";
    return ev;
}

/* A campaign event of kind with every kind's fields set: the mapping must
 * read only those of its kind. */
static campaignevent_t campaign_event(Outdial__V1__CampaignEventKind kind)
{
    campaignevent_t ev;
    campaignevent_init(&ev);
    ev.event_id = EVENT_ID;
    ev.campaign_id = CAMPAIGN_ID;
    ev.account_id = ACCOUNT_ID;
    ev.kind = kind;
    ev.old_status = OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_IN_PROGRESS;
    ev.new_status = OUTDIAL__V1__CAMPAIGN_STATUS__CAMPAIGN_STATUS_COMPLETED;
    ev.lead_id = ev.import_id = LEAD_ID;
    ev.reason = "completed";
    ev.lead_status = OUTDIAL__V1__LEAD_FINAL_STATUS__LEAD_FINAL_STATUS_COMPLETED;
    ev.outcome = OUTDIAL__V1__LEAD_OUTCOME__LEAD_OUTCOME_GOAL_ACHIEVED;
    ev.occurred_at_us = 1700000000000000LL;
    return ev;
}

/* Which call statuses are a call.ended webhook. */
static void test_call_events_that_become_webhooks(void **state)
{
    (void)state;
    char err[256];
    static const struct {
        Outdial__V1__CallStatus status;
        bool webhook;
        const char *name;
    } cases[] = {
        {OUTDIAL__V1__CALL_STATUS__CALL_STATUS_INITIATED, false, NULL},
        {OUTDIAL__V1__CALL_STATUS__CALL_STATUS_RINGING, false, NULL},
        {OUTDIAL__V1__CALL_STATUS__CALL_STATUS_IN_PROGRESS, false, NULL},
        {OUTDIAL__V1__CALL_STATUS__CALL_STATUS_COMPLETED, true, "completed"},
        {OUTDIAL__V1__CALL_STATUS__CALL_STATUS_BUSY, true, "busy"},
        {OUTDIAL__V1__CALL_STATUS__CALL_STATUS_UNANSWERED, true, "unanswered"},
        {OUTDIAL__V1__CALL_STATUS__CALL_STATUS_FAILED, true, "failed"},
        {OUTDIAL__V1__CALL_STATUS__CALL_STATUS_SKIPPED, false, NULL}, /* no call happened */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        callevent_t ev = call_event(cases[i].status);
        webhook_msg_t msg;
        assert_int_equal(webhook_msg_from_call(&ev, &msg, err, sizeof(err)), OD_OK);
        assert_int_equal(msg.type != WEBHOOK_EVENT_NONE, cases[i].webhook);
        if (cases[i].webhook) {
            json_t *root = json_loads(msg.body, 0, NULL);
            assert_non_null(root);
            assert_string_equal(json_string_value(json_object_get(root, "id")), EVENT_ID);
            assert_string_equal(json_string_value(json_object_get(root, "type")), "call.ended");
            assert_string_equal(json_string_value(json_object_get(root, "created_at")),
                                "2023-11-14T22:13:20.000Z");
            json_t *data = json_object_get(root, "data");
            assert_string_equal(json_string_value(json_object_get(data, "status")), cases[i].name);
            assert_string_equal(json_string_value(json_object_get(data, "answered_by")),
                                "voicemail");
            assert_true(json_is_true(
                json_object_get(json_object_get(data, "post_call_variables"), "booked")));
            assert_string_equal(json_string_value(json_object_get(data, "caller_id")),
                                "+12125550199");
            assert_string_equal(msg.event_id, EVENT_ID);
            assert_string_equal(msg.account_id, ACCOUNT_ID);
            json_decref(root);
        }
        webhook_msg_clear(&msg);
    }
}

/* An event that does not name its number (a skipped job's, an older
 * dialer's): caller_id is null, not "". */
static void test_call_event_without_caller_id(void **state)
{
    (void)state;
    char err[256];
    callevent_t ev = call_event(OUTDIAL__V1__CALL_STATUS__CALL_STATUS_COMPLETED);
    ev.caller_id = "";
    webhook_msg_t msg;
    assert_int_equal(webhook_msg_from_call(&ev, &msg, err, sizeof(err)), OD_OK);
    json_t *root = json_loads(msg.body, 0, NULL);
    assert_non_null(root);
    json_t *caller_id = json_object_get(json_object_get(root, "data"), "caller_id");
    assert_non_null(caller_id);
    assert_true(json_is_null(caller_id));
    json_decref(root);
    webhook_msg_clear(&msg);
}

static void test_campaign_events_map_to_their_types(void **state)
{
    (void)state;
    char err[256];
    static const struct {
        Outdial__V1__CampaignEventKind kind;
        webhook_event_t type;
        const char *member, *value;
    } cases[] = {
        {OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_STATUS_CHANGED,
         WEBHOOK_EVENT_CAMPAIGN_STATUS_CHANGED, "new_status", "completed"},
        {OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_LEAD_FINISHED,
         WEBHOOK_EVENT_LEAD_FINISHED, "outcome", "goal_achieved"},
        {OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_IMPORT_FINISHED,
         WEBHOOK_EVENT_IMPORT_FINISHED, "import_id", LEAD_ID},
        {OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_UNSPECIFIED, WEBHOOK_EVENT_NONE,
         NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        campaignevent_t ev = campaign_event(cases[i].kind);
        webhook_msg_t msg;
        assert_int_equal(webhook_msg_from_campaign(&ev, &msg, err, sizeof(err)), OD_OK);
        assert_int_equal(msg.type, cases[i].type);
        if (cases[i].member) {
            json_t *root = json_loads(msg.body, 0, NULL);
            assert_non_null(root);
            assert_string_equal(json_string_value(json_object_get(root, "type")),
                                webhook_event_name(cases[i].type));
            json_t *data = json_object_get(root, "data");
            assert_string_equal(json_string_value(json_object_get(data, cases[i].member)),
                                cases[i].value);
            assert_string_equal(json_string_value(json_object_get(data, "campaign_id")),
                                CAMPAIGN_ID);
            json_decref(root);
        } else {
            assert_null(msg.body);
        }
        webhook_msg_clear(&msg);
    }
}

OD_TEST_MAIN(NULL, NULL, test_backoff_ceiling_doubles_to_the_cap,
             test_full_jitter_spans_zero_to_the_ceiling, test_plan_after_each_answer,
             test_filter_names_and_matching, test_call_events_that_become_webhooks,
             test_call_event_without_caller_id, test_campaign_events_map_to_their_types)

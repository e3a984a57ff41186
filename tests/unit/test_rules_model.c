/* The shared enums: every value has its wire name and parses back; unknown
 * names are errors that list the allowed ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"
#include "test_main.h"

static void test_names(void **state)
{
    (void)state;
    static const char *const lead[] = {"created",   "scheduled",   "processing",
                                       "completed", "rescheduled", "max_retries"};
    for (int i = 0; i < MODEL_LEAD_STATUS_COUNT; i++) {
        model_lead_status_t s = MODEL_LEAD_STATUS_COUNT;
        assert_string_equal(model_lead_status_name((model_lead_status_t)i), lead[i]);
        assert_int_equal(model_lead_status_parse(lead[i], &s, NULL, 0), OD_OK);
        assert_int_equal(s, i);
    }
    static const char *const outcome[] = {NULL,        "goal_achieved",     "answered", "voicemail",
                                          "exhausted", "permanent_failure", "dnc",      "manual",
                                          "opted_out", "predial_refused"};
    for (int i = 0; i < MODEL_OUTCOME_COUNT; i++) {
        model_outcome_t o = MODEL_OUTCOME_COUNT;
        const char *name = model_outcome_name((model_outcome_t)i);
        if (!outcome[i])
            assert_null(name);
        else
            assert_string_equal(name, outcome[i]);
        assert_int_equal(model_outcome_parse(outcome[i], &o, NULL, 0), OD_OK);
        assert_int_equal(o, i);
    }
    static const char *const call[] = {"initiated", "ringing",    "in_progress", "completed",
                                       "busy",      "unanswered", "failed",      "skipped"};
    for (int i = 0; i < MODEL_CALL_STATUS_COUNT; i++) {
        model_call_status_t s = MODEL_CALL_STATUS_COUNT;
        assert_string_equal(model_call_status_name((model_call_status_t)i), call[i]);
        assert_int_equal(model_call_status_parse(call[i], &s, NULL, 0), OD_OK);
        assert_int_equal(s, i);
        assert_int_equal(model_call_status_is_terminal(s), i >= MODEL_CALL_COMPLETED);
    }
    static const char *const by[] = {"human", "voicemail", "unknown"};
    for (int i = 0; i < MODEL_ANSWERED_BY_COUNT; i++) {
        model_answered_by_t a = MODEL_ANSWERED_BY_COUNT;
        assert_string_equal(model_answered_by_name((model_answered_by_t)i), by[i]);
        assert_int_equal(model_answered_by_parse(by[i], &a, NULL, 0), OD_OK);
        assert_int_equal(a, i);
    }
    model_tz_mode_t mode = MODEL_TZ_MODE_COUNT;
    assert_int_equal(model_tz_mode_parse("lead", &mode, NULL, 0), OD_OK);
    assert_int_equal(mode, MODEL_TZ_MODE_LEAD);
    assert_string_equal(model_tz_mode_name(MODEL_TZ_MODE_ASSISTANT), "assistant");
    model_campaign_status_t cs = MODEL_CAMPAIGN_STATUS_COUNT;
    assert_int_equal(model_campaign_status_parse("in_progress", &cs, NULL, 0), OD_OK);
    assert_int_equal(cs, MODEL_CAMPAIGN_IN_PROGRESS);
    model_skip_reason_t sr = MODEL_SKIP_REASON_COUNT;
    assert_int_equal(model_skip_reason_parse("frequency_cap", &sr, NULL, 0), OD_OK);
    assert_int_equal(sr, MODEL_SKIP_FREQUENCY_CAP);
    assert_int_equal(model_skip_reason_parse("number_busy", &sr, NULL, 0), OD_OK);
    assert_int_equal(sr, MODEL_SKIP_NUMBER_BUSY);
    model_var_type_t vt = MODEL_VAR_TYPE_COUNT;
    assert_int_equal(model_var_type_parse("boolean", &vt, NULL, 0), OD_OK);
    assert_int_equal(vt, MODEL_VAR_BOOLEAN);
    assert_null(model_lead_status_name(MODEL_LEAD_STATUS_COUNT));
    assert_null(model_call_status_name((model_call_status_t)-1));
}

static void test_errors(void **state)
{
    (void)state;
    char err[256];
    model_lead_status_t s = MODEL_LEAD_COMPLETED;
    assert_int_equal(model_lead_status_parse("Created", &s, err, sizeof(err)), OD_ERR_INVALID);
    assert_string_equal(err, "'Created' is not a valid lead status (allowed: created, scheduled, "
                             "processing, completed, rescheduled, max_retries)");
    assert_int_equal(s, MODEL_LEAD_COMPLETED); /* untouched */
    assert_int_equal(model_lead_status_parse(NULL, &s, err, sizeof(err)), OD_ERR_INVALID);
    model_outcome_t o;
    assert_int_equal(model_outcome_parse("", &o, err, sizeof(err)), OD_ERR_INVALID);
    assert_string_equal(err, "'' is not a valid lead outcome (allowed: goal_achieved, answered, "
                             "voicemail, exhausted, permanent_failure, dnc, manual, opted_out, "
                             "predial_refused)");
    model_answered_by_t a;
    assert_int_equal(model_answered_by_parse("machine", &a, err, sizeof(err)), OD_ERR_INVALID);
    assert_string_equal(err,
                        "'machine' is not a valid answered_by value (allowed: human, voicemail, "
                        "unknown)");
    model_tz_mode_t m;
    assert_int_equal(model_tz_mode_parse("callee", &m, err, sizeof(err)), OD_ERR_INVALID);
    assert_string_equal(err, "'callee' is not a valid timezone mode (allowed: assistant, lead)");
}

OD_TEST_MAIN(NULL, NULL, test_names, test_errors)

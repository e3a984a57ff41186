/*
 * Unit tests of the registry entry (registry.h): a round trip of every
 * field, and each way a stored entry can be unreadable. No network; the
 * takeover itself is exercised by integration.dialer_kill.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "registry_entry.h"
#include "test_main.h"

#define ATTEMPT "6f1c0b5e-1111-4aaa-8bbb-000000000001"
#define LEAD    "6f1c0b5e-2222-4aaa-8bbb-000000000002"
#define CAMP    "6f1c0b5e-3333-4aaa-8bbb-000000000003"
#define ACCT    "6f1c0b5e-4444-4aaa-8bbb-000000000004"

static registry_entry_t sample(void)
{
    registry_entry_t e;
    memset(&e, 0, sizeof(e));
    snprintf(e.attempt.attempt_id, sizeof(e.attempt.attempt_id), ATTEMPT);
    snprintf(e.attempt.lead_id, sizeof(e.attempt.lead_id), LEAD);
    snprintf(e.attempt.campaign_id, sizeof(e.attempt.campaign_id), CAMP);
    snprintf(e.attempt.account_id, sizeof(e.attempt.account_id), ACCT);
    e.attempt.attempt_number = 3;
    snprintf(e.provider_call_id, sizeof(e.provider_call_id), "call-77");
    snprintf(e.e164, sizeof(e.e164), "+14155552671");
    e.lease_ms = 1500000;
    return e;
}

static void test_round_trip(void **state)
{
    (void)state;
    registry_entry_t e = sample(), back;
    char text[REGISTRY_ENTRY_MAX], err[256];
    assert_int_equal(registry_entry_format(&e, text, sizeof(text), err, sizeof(err)), OD_OK);
    assert_string_equal(text, "1\tcall-77\t+14155552671\t" LEAD "\t" CAMP "\t" ACCT "\t3\t1500000");
    assert_int_equal(registry_entry_parse(ATTEMPT, text, strlen(text), &back, err, sizeof(err)),
                     OD_OK);
    assert_memory_equal(&back.attempt, &e.attempt, sizeof(e.attempt));
    assert_string_equal(back.provider_call_id, "call-77");
    assert_string_equal(back.e164, "+14155552671");
    assert_int_equal(back.lease_ms, 1500000);
    assert_string_equal(back.provider, ""); /* version 1: the first provider's */

    /* Version 2 names the provider that placed the call. */
    snprintf(e.provider, sizeof(e.provider), "retell");
    assert_int_equal(registry_entry_format(&e, text, sizeof(text), err, sizeof(err)), OD_OK);
    assert_string_equal(text, "2\tcall-77\t+14155552671\t" LEAD "\t" CAMP "\t" ACCT
                              "\t3\t1500000\tretell");
    assert_int_equal(registry_entry_parse(ATTEMPT, text, strlen(text), &back, err, sizeof(err)),
                     OD_OK);
    assert_string_equal(back.provider, "retell");
    assert_string_equal(back.provider_call_id, "call-77");
}

static void test_format_refuses(void **state)
{
    (void)state;
    char text[REGISTRY_ENTRY_MAX], err[256];
    registry_entry_t e = sample();
    snprintf(e.provider_call_id, sizeof(e.provider_call_id), "call\t77");
    assert_int_equal(registry_entry_format(&e, text, sizeof(text), err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_non_null(strstr(err, "provider call id"));
    e = sample();
    e.e164[0] = '\0';
    assert_int_equal(registry_entry_format(&e, text, sizeof(text), err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_non_null(strstr(err, "e164 is empty"));
    e = sample();
    e.lease_ms = 0;
    assert_int_equal(registry_entry_format(&e, text, sizeof(text), err, sizeof(err)),
                     OD_ERR_INVALID);
    e = sample();
    assert_int_equal(registry_entry_format(&e, text, 20, err, sizeof(err)), OD_ERR_INVALID);
    assert_non_null(strstr(err, "longer than"));
}

static void test_parse_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *attempt;
        const char *text;
        const char *says;
    } cases[] = {
        {"not-a-uuid", "1\tc\t+1\t" LEAD "\t" CAMP "\t" ACCT "\t1\t5", "attempt id"},
        {ATTEMPT, "", "unknown version"},
        {ATTEMPT, "3\tc\t+1\t" LEAD "\t" CAMP "\t" ACCT "\t1\t5", "unknown version"},
        {ATTEMPT, "2\tc\t+1\t" LEAD "\t" CAMP "\t" ACCT "\t1\t5", "8 fields, not 9"},
        {ATTEMPT, "2\tc\t+1\t" LEAD "\t" CAMP "\t" ACCT "\t1\t5\t", "provider is empty"},
        {ATTEMPT, "2\tc\t+1\t" LEAD "\t" CAMP "\t" ACCT "\t1\t5\tvapi\tx", "more than 9"},
        {ATTEMPT, "1\tc\t+1\t" LEAD "\t" CAMP "\t" ACCT "\t1", "7 fields"},
        {ATTEMPT, "1\tc\t+1\t" LEAD "\t" CAMP "\t" ACCT "\t1\t5\tx", "9 fields, not 8"},
        {ATTEMPT, "1\t\t+1\t" LEAD "\t" CAMP "\t" ACCT "\t1\t5", "provider call id is empty"},
        {ATTEMPT, "1\tc\t+1\t" LEAD "\t" CAMP "\t" ACCT "\tx\t5", "attempt number 'x'"},
        {ATTEMPT, "1\tc\t+1\t" LEAD "\t" CAMP "\t" ACCT "\t1\t0", "lease 0 is outside"},
        {ATTEMPT, "1\tc\t+1\t" LEAD "\t" CAMP "\t" ACCT "\t99999999999\t5", "attempt number"},
        {ATTEMPT, "1\tc\t+1\tlead\t" CAMP "\t" ACCT "\t1\t5", "not a UUID"},
        {ATTEMPT, "1\tc\t+1234567890123456789012\t" LEAD "\t" CAMP "\t" ACCT "\t1\t5",
         "e164 is longer"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        registry_entry_t out;
        char err[256] = "";
        int rc = registry_entry_parse(cases[i].attempt, cases[i].text, strlen(cases[i].text), &out,
                                      err, sizeof(err));
        if (rc != OD_ERR_INVALID || !strstr(err, cases[i].says))
            fail_msg("case %zu (%s): rc %d, '%s'", i, cases[i].text, rc, err);
    }
    /* A NUL inside the stored bytes. */
    static const char nul[] = "1\tc\0x\t+1\t" LEAD "\t" CAMP "\t" ACCT "\t1\t5";
    registry_entry_t out;
    char err[256];
    assert_int_equal(registry_entry_parse(ATTEMPT, nul, sizeof(nul) - 1, &out, err, sizeof(err)),
                     OD_ERR_INVALID);
}

OD_TEST_MAIN(NULL, NULL, test_round_trip, test_format_refuses, test_parse_refuses)

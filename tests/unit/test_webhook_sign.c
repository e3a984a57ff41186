/* lib/web/sign.h: the signature of outbound webhooks against known
 * answers (computed independently with `openssl dgst -sha256 -hmac`), and
 * a receiver's check: tolerance both ways, tampering, bad headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sign.h"
#include "test_main.h"

/* printf '%s' '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test */
#define KAT_SECRET "whsec_test"
#define KAT_TS     1700000000
#define KAT_BODY   "{\"id\":\"evt_1\"}"
#define KAT_SIG    "v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"

static void test_known_answers(void **state)
{
    (void)state;
    static const struct {
        const char *secret;
        int64_t ts;
        const char *body;
        const char *want;
    } cases[] = {
        {KAT_SECRET, KAT_TS, KAT_BODY, KAT_SIG},
        /* printf '%s' '0.' | openssl dgst -sha256 -hmac key: an empty body */
        {"key", 0, "", "v1=85841b4efc3cd7776c3c8f9b7cca9e281c550e5d19889d78e9e669c6337f000d"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char sig[WEBHOOK_SIGN_HEADER_LEN];
        assert_int_equal(
            webhook_sign(cases[i].secret, cases[i].ts, cases[i].body, strlen(cases[i].body), sig),
            OD_OK);
        assert_string_equal(sig, cases[i].want);
    }
    char sig[WEBHOOK_SIGN_HEADER_LEN];
    assert_int_equal(webhook_sign("", KAT_TS, "x", 1, sig), OD_ERR_INVALID);
    assert_int_equal(webhook_sign(NULL, KAT_TS, "x", 1, sig), OD_ERR_INVALID);
}

static void test_verify_accepts_fresh_and_rejects_the_rest(void **state)
{
    (void)state;
    const char *body = KAT_BODY;
    size_t len = strlen(body);
    static const struct {
        const char *secret, *ts, *sig;
        int64_t now;
        int want;
        const char *reason;
    } cases[] = {
        {KAT_SECRET, "1700000000", KAT_SIG, KAT_TS, OD_OK, NULL},
        {KAT_SECRET, "1700000000", KAT_SIG, KAT_TS + 300, OD_OK, NULL}, /* 5 min: still ok */
        {KAT_SECRET, "1700000000", KAT_SIG, KAT_TS - 300, OD_OK, NULL}, /* skew ahead */
        {KAT_SECRET, "1700000000", KAT_SIG, KAT_TS + 301, OD_ERR_INVALID, "301 s old"},
        {KAT_SECRET, "1700000000", KAT_SIG, KAT_TS - 301, OD_ERR_INVALID, "in the future"},
        {"whsec_other", "1700000000", KAT_SIG, KAT_TS, OD_ERR_INVALID, "does not match"},
        {KAT_SECRET, "1700000001", KAT_SIG, KAT_TS, OD_ERR_INVALID, "does not match"},
        {KAT_SECRET, "1700000000", "v1=c89214", KAT_TS, OD_ERR_INVALID, "does not match"},
        {KAT_SECRET, "1700000000", NULL, KAT_TS, OD_ERR_INVALID, "does not match"},
        {KAT_SECRET, "", KAT_SIG, KAT_TS, OD_ERR_INVALID, "not a number"},
        {KAT_SECRET, "-5", KAT_SIG, KAT_TS, OD_ERR_INVALID, "not a number"},
        {KAT_SECRET, "17e8", KAT_SIG, KAT_TS, OD_ERR_INVALID, "not a number"},
        {KAT_SECRET, NULL, KAT_SIG, KAT_TS, OD_ERR_INVALID, "not a number"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        int rc = webhook_sign_verify(cases[i].secret, cases[i].ts, body, len, cases[i].sig,
                                     cases[i].now, WEBHOOK_SIGN_TOLERANCE_S, err, sizeof(err));
        if (rc != cases[i].want || (cases[i].reason && !strstr(err, cases[i].reason)))
            fail_msg("case %zu: rc %d (%s), want %d (%s)", i, rc, err, cases[i].want,
                     cases[i].reason ? cases[i].reason : "ok");
    }
    /* A changed body fails. */
    char err[256];
    assert_int_equal(webhook_sign_verify(KAT_SECRET, "1700000000", "{\"id\":\"evt_2\"}", len,
                                         KAT_SIG, KAT_TS, 300, err, sizeof(err)),
                     OD_ERR_INVALID);
}

OD_TEST_MAIN(NULL, NULL, test_known_answers, test_verify_accepts_fresh_and_rejects_the_rest)

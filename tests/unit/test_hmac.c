/*
 * Unit tests of lib/core/hmac: HMAC-SHA256 against the RFC 4231 test
 * vectors (so that our signatures are everyone's), the split into parts,
 * and the constant-time comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hmac.h"
#include "test_main.h"

static void test_rfc4231(void **state)
{
    (void)state;
    char out[HMAC_SHA256_HEX_LEN];
    /* Test case 2: a short key. */
    hmac_part_t p2 = {"what do ya want for nothing?", 28};
    hmac_sha256_hex("Jefe", 4, &p2, 1, out);
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* Test case 1: a key of 20 bytes 0x0b. */
    char key[20];
    memset(key, 0x0b, sizeof(key));
    hmac_part_t p1 = {"Hi There", 8};
    hmac_sha256_hex(key, sizeof(key), &p1, 1, out);
    assert_string_equal(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* The same text in pieces signs the same. */
    hmac_part_t parts[] = {{"what do ", 8}, {"", 0}, {"ya want for nothing?", 20}};
    hmac_sha256_hex("Jefe", 4, parts, 3, out);
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* An empty key is a key. */
    hmac_sha256_hex("", 0, &p1, 1, out);
    assert_int_equal(strlen(out), 64);
}

static void test_secret_equal(void **state)
{
    (void)state;
    assert_true(hmac_secret_equal("s3cret-s3cret", "s3cret-s3cret"));
    assert_false(hmac_secret_equal("s3cret-s3cre", "s3cret-s3cret"));
    assert_false(hmac_secret_equal("s3cret-s3crett", "s3cret-s3cret"));
    assert_false(hmac_secret_equal(NULL, "s3cret-s3cret"));
    assert_false(hmac_secret_equal("", ""));
    assert_false(hmac_secret_equal("x", NULL));
}

OD_TEST_MAIN(NULL, NULL, test_rfc4231, test_secret_equal)

/* xmalloc: the growing buffer that collects response bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xmalloc.h"

static void test_append_starts_from_null_and_terminates(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    xbuf_append(&buf, &len, "{\"id\":", 6);
    assert_int_equal(len, 6);
    assert_string_equal(buf, "{\"id\":");
    xbuf_append(&buf, &len, "1}", 2);
    assert_int_equal(len, 8);
    assert_string_equal(buf, "{\"id\":1}");
    free(buf);
}

static void test_append_keeps_embedded_nul_and_empty_chunks(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    xbuf_append(&buf, &len, "", 0);
    assert_non_null(buf);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    xbuf_append(&buf, &len, "a\0b", 3);
    assert_int_equal(len, 3);
    assert_memory_equal(buf, "a\0b", 4);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_starts_from_null_and_terminates),
        cmocka_unit_test(test_append_keeps_embedded_nul_and_empty_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

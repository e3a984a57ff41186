/* xmalloc: the growing buffers that collect response bodies and text, and
 * reading a file whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_main.h"
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

static void test_put_grows_by_doubling_and_terminates(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    xbuf_put(&buf, &len, &cap, NULL, 0);
    assert_non_null(buf);
    assert_int_equal(len, 0);
    assert_int_equal(cap, 256);
    assert_string_equal(buf, "");
    char chunk[100];
    memset(chunk, 'x', sizeof(chunk));
    for (int i = 0; i < 10; i++)
        xbuf_put(&buf, &len, &cap, chunk, sizeof(chunk));
    assert_int_equal(len, 1000);
    assert_int_equal(cap, 1024); /* 256 -> 512 -> 1024: room for 1000 and the NUL */
    assert_int_equal(strlen(buf), 1000);
    xbuf_put(&buf, &len, &cap, "a\0b", 3);
    assert_int_equal(len, 1003);
    assert_memory_equal(buf + 1000, "a\0b", 4);
    /* Reserving what is there already keeps the buffer. */
    char *before = buf;
    xbuf_reserve(&buf, &cap, 10);
    assert_ptr_equal(buf, before);
    assert_int_equal(cap, 1024);
    free(buf);
}

static void test_fread_all_reads_to_the_end(void **state)
{
    (void)state;
    /* Larger than a read step, with a NUL inside. */
    size_t want = 3 * 4096 + 17;
    FILE *f = tmpfile();
    assert_non_null(f);
    for (size_t i = 0; i < want; i++)
        fputc(i == 5 ? '\0' : 'a' + (int)(i % 26), f);
    rewind(f);
    size_t len = 0;
    char *text = xfread_all(f, &len);
    assert_non_null(text);
    assert_int_equal(len, want);
    assert_int_equal(text[5], '\0');
    assert_int_equal(text[want - 1], 'a' + (int)((want - 1) % 26));
    assert_int_equal(text[want], '\0');
    free(text);
    fclose(f);

    f = tmpfile();
    assert_non_null(f);
    text = xfread_all(f, NULL); /* empty */
    assert_string_equal(text, "");
    free(text);
    fclose(f);

    /* A stream open only for writing reports a read error. */
    f = fopen("/dev/null", "w");
    assert_non_null(f);
    assert_null(xfread_all(f, &len));
    fclose(f);
}

OD_TEST_MAIN(NULL, NULL, test_append_starts_from_null_and_terminates,
             test_append_keeps_embedded_nul_and_empty_chunks,
             test_put_grows_by_doubling_and_terminates, test_fread_all_reads_to_the_end)

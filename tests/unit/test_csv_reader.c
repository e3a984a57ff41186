/*
 * csv_reader: a table of files as users send them, each read whole, in
 * pieces of every small size (the reader must not care where the bytes are
 * split), and resumed after every row from that row's end_offset (an import
 * restarted there must read exactly the rest).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv_reader.h"
#include "test_main.h"

/* What a read produced, as text: one line per row,
 * "H:a|b" for the header, "3:a|b" for data row 3, flags appended as
 * " !long(5)" (too_long, 5 fields) or " !utf8(1)" (field 1 invalid). */
typedef struct collected {
    csv_buf_t text;
    size_t rows;
    uint64_t ends[64]; /* end_offset of each data row */
    uint64_t numbers[64];
    size_t text_after[64]; /* length of text after each data row */
    int stop_after;        /* stop (return 42) after this many rows; 0 = never */
} collected_t;

static int collect_row(const csv_row_t *row, void *arg)
{
    collected_t *c = arg;
    if (row->header)
        csv_buf_puts(&c->text, "H:");
    else
        csv_buf_printf(&c->text, "%llu:", (unsigned long long)row->number);
    if (row->too_long) {
        csv_buf_printf(&c->text, " !long(%zu)", row->n_fields);
    } else {
        for (size_t i = 0; i < row->n_fields; i++) {
            assert_int_equal(strlen(row->fields[i]) <= row->lens[i], 1);
            if (i)
                csv_buf_putc(&c->text, '|');
            for (size_t k = 0; k < row->lens[i]; k++) {
                if (row->fields[i][k] == '\0')
                    csv_buf_puts(&c->text, "\\0"); /* keeps the text a C string */
                else
                    csv_buf_putc(&c->text, row->fields[i][k]);
            }
        }
    }
    if (row->bad_utf8_field >= 0)
        csv_buf_printf(&c->text, " !utf8(%d)", row->bad_utf8_field);
    if (row->unclosed_quote)
        csv_buf_puts(&c->text, " !unclosed");
    csv_buf_putc(&c->text, '\n');
    if (!row->header && c->rows < 64) {
        c->ends[c->rows] = row->end_offset;
        c->numbers[c->rows] = row->number;
        c->text_after[c->rows] = c->text.len;
    }
    if (!row->header)
        c->rows++;
    if (c->stop_after && (int)c->rows == c->stop_after)
        return 42;
    return 0;
}

/* Reads input in pieces of `piece` bytes (0 = all at once). Returns the
 * rc of the read; *delim gets the delimiter; err the message. */
static int read_all(const char *input, size_t len, size_t piece, const csv_reader_opts_t *opts,
                    collected_t *c, char *delim, char *err, size_t errlen)
{
    csv_reader_t *r = NULL;
    int rc = csv_reader_new(opts, collect_row, c, &r, err, errlen);
    assert_int_equal(rc, OD_OK);
    size_t off = 0;
    while (rc == OD_OK && off < len) {
        size_t n = piece && piece < len - off ? piece : len - off;
        rc = csv_reader_feed(r, input + off, n, err, errlen);
        off += n;
    }
    if (rc == OD_OK)
        rc = csv_reader_finish(r, err, errlen);
    if (delim)
        *delim = csv_reader_delimiter(r);
    csv_reader_free(r);
    return rc;
}

typedef struct csv_case {
    const char *name;
    const char *input;
    size_t len; /* 0: strlen */
    size_t row_max;
    size_t field_max;
    char delimiter; /* expected */
    int rc;         /* expected */
    const char *rows;
    const char *error; /* substring of the message when rc != 0 */
} csv_case_t;

static const csv_case_t cases[] = {
    {"comma LF", "phone,name\n+14155550100,Ann\n+14155550101,Bob\n", 0, 0, 0, ',', OD_OK,
     "H:phone|name\n1:+14155550100|Ann\n2:+14155550101|Bob\n", NULL},
    {"Excel: BOM, semicolons, CRLF",
     "\xEF\xBB\xBFPhone;First Name;Notes\r\n0415 555 0100;Ann;\"a;b\"\r\n0415 555 0101;Bob;x\r\n",
     0, 0, 0, ';', OD_OK,
     "H:Phone|First Name|Notes\n1:0415 555 0100|Ann|a;b\n2:0415 555 0101|Bob|x\n", NULL},
    {"tab", "phone\tname\n1\tAnn, Jr.\n", 0, 0, 0, '\t', OD_OK, "H:phone|name\n1:1|Ann, Jr.\n",
     NULL},
    {"quoted quotes and line breaks",
     "phone,note\r\n1,\"say \"\"hi\"\"\r\nthen, go\"\r\n2,\"multi\nline\"\n3,end\n", 0, 0, 0, ',',
     OD_OK, "H:phone|note\n1:1|say \"hi\"\r\nthen, go\n2:2|multi\nline\n3:3|end\n", NULL},
    {"blank lines keep their number", "phone\n\n1\n\n\n2\n\n", 0, 0, 0, ',', OD_OK,
     "H:phone\n2:1\n5:2\n", NULL},
    {"blank CRLF lines", "phone\r\n\r\n1\r\n\r\n2", 0, 0, 0, ',', OD_OK, "H:phone\n2:1\n4:2\n",
     NULL},
    {"rows of empty cells are blank", "a;b;c\n;;\n1;2;3\n;;\n", 0, 0, 0, ';', OD_OK,
     "H:a|b|c\n2:1|2|3\n", NULL},
    {"blank lines before the header", "\n\nphone,x\n1,2\n", 0, 0, 0, ',', OD_OK,
     "H:phone|x\n1:1|2\n", NULL},
    {"Excel sep= line", "sep=;\r\nphone,name;x\r\n1,5;2\r\n", 0, 0, 0, ';', OD_OK,
     "H:phone,name|x\n1:1,5|2\n", NULL},
    {"no final line break", "phone,name\n1,Ann", 0, 0, 0, ',', OD_OK, "H:phone|name\n1:1|Ann\n",
     NULL},
    {"CR only", "phone,name\r1,Ann\r2,Bob\r", 0, 0, 0, ',', OD_OK,
     "H:phone|name\n1:1|Ann\n2:2|Bob\n", NULL},
    {"spaces around unquoted fields dropped", "phone , name \n 1 ,\" Ann \"\n", 0, 0, 0, ',', OD_OK,
     "H:phone|name\n1:1| Ann \n", NULL},
    {"delimiter inside quotes is not counted", "\"a,b\";c;d\n1;2;3\n", 0, 0, 0, ';', OD_OK,
     "H:a,b|c|d\n1:1|2|3\n", NULL},
    {"second line breaks a tie", "a,b;c\n1,2;3\n4;5;6,7\n", 0, 0, 0, ',', OD_OK,
     "H:a|b;c\n1:1|2;3\n2:4;5;6|7\n", NULL},
    {"single column", "phone\n+14155550100\n", 0, 0, 0, ',', OD_OK, "H:phone\n1:+14155550100\n",
     NULL},
    {"header only", "phone,name\r\n", 0, 0, 0, ',', OD_OK, "H:phone|name\n", NULL},
    {"empty", "", 0, 0, 0, ',', OD_OK, "", NULL},
    {"invalid UTF-8 in a field", "phone,name\n1,Jos\xE9\n2,Jos\xC3\xA9\n", 0, 0, 0, ',', OD_OK,
     "H:phone|name\n1:1|Jos\xE9 !utf8(1)\n2:2|Jos\xC3\xA9\n", NULL},
    {"NUL byte", "phone,name\n1,a\0b\n", 17, 0, 0, ',', OD_OK, "H:phone|name\n1:1|a\\0b !utf8(1)\n",
     NULL},
    {"overlong and surrogate", "p,q\n\xC0\xAF,1\n\xED\xA0\x80,2\n", 0, 0, 0, ',', OD_OK,
     "H:p|q\n1:\xC0\xAF|1 !utf8(0)\n2:\xED\xA0\x80|2 !utf8(0)\n", NULL},
    {"row too long", "phone,note\n1,short\n2,this note is far too long for the limit\n3,ok\n", 0,
     24, 0, ',', OD_OK, "H:phone|note\n1:1|short\n2: !long(2)\n3:3|ok\n", NULL},
    {"runaway quote", "phone,note\n1,\"never closed\n2,x\n3,y\n4,z\n", 0, 0, 16, ',',
     OD_ERR_INVALID, "H:phone|note\n", "row 1 has a field longer than 16 bytes"},
    {"quote never closed", "phone,note\n1,\"open\n2,x\n", 0, 0, 0, ',', OD_OK,
     "H:phone|note\n1:1|open\n2,x\n !unclosed\n", NULL},
    {"quote closed at the very end", "phone,note\n1,\"closed\"", 0, 0, 0, ',', OD_OK,
     "H:phone|note\n1:1|closed\n", NULL},
    {"UTF-16", "\xFF\xFEp\0h\0", 6, 0, 0, 0, OD_ERR_INVALID, "", "UTF-16"},
    {"extra columns are delivered", "a,b\n1,2,3,4\n", 0, 0, 0, ',', OD_OK, "H:a|b\n1:1|2|3|4\n",
     NULL},
};

static void check_case(const csv_case_t *tc, size_t piece)
{
    size_t len = tc->len ? tc->len : strlen(tc->input);
    csv_reader_opts_t opts = {.header = true, .row_max = tc->row_max, .field_max = tc->field_max};
    collected_t c;
    memset(&c, 0, sizeof(c));
    char err[256] = "";
    char delim = 0;
    int rc = read_all(tc->input, len, piece, &opts, &c, &delim, err, sizeof(err));
    const char *got = csv_buf_cstr(&c.text);
    if (rc != tc->rc || strcmp(got, tc->rows) != 0)
        fail_msg("%s (pieces of %zu): rc %d (%s), rows:\n%s\nwant rc %d, rows:\n%s", tc->name,
                 piece, rc, err, got, tc->rc, tc->rows);
    if (tc->rc == OD_OK && tc->delimiter && delim != tc->delimiter)
        fail_msg("%s: delimiter '%c', want '%c'", tc->name, delim, tc->delimiter);
    if (tc->error && !strstr(err, tc->error))
        fail_msg("%s: message '%s' lacks '%s'", tc->name, err, tc->error);

    /* Resumed after each data row, the rest must be read identically. */
    if (tc->rc == OD_OK && piece == 0) {
        for (size_t k = 0; k < c.rows && k < 64; k++) {
            csv_reader_opts_t ropts = {.header = false,
                                       .delimiter = delim,
                                       .offset = c.ends[k],
                                       .first_row = c.numbers[k] + 1,
                                       .row_max = tc->row_max,
                                       .field_max = tc->field_max};
            collected_t rest;
            memset(&rest, 0, sizeof(rest));
            rc = read_all(tc->input + c.ends[k], len - c.ends[k], 3, &ropts, &rest, NULL, err,
                          sizeof(err));
            assert_int_equal(rc, OD_OK);
            /* The expected tail: what the full read gave after row k. */
            const char *p = got + c.text_after[k];
            if (strcmp(csv_buf_cstr(&rest.text), p) != 0)
                fail_msg("%s resumed after row %llu at %llu: got\n%s\nwant\n%s", tc->name,
                         (unsigned long long)c.numbers[k], (unsigned long long)c.ends[k],
                         csv_buf_cstr(&rest.text), p);
            csv_buf_free(&rest.text);
        }
    }
    csv_buf_free(&c.text);
}

static void test_cases(void **state)
{
    (void)state;
    static const size_t pieces[] = {0, 1, 2, 3, 5, 7, 64};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++)
            check_case(&cases[i], pieces[p]);
}

/* A callback's non-zero return stops the reader and comes back. */
static void test_stop(void **state)
{
    (void)state;
    const char *input = "p\n1\n2\n3\n";
    collected_t c;
    memset(&c, 0, sizeof(c));
    c.stop_after = 2;
    char err[128];
    int rc = read_all(input, strlen(input), 0, NULL, &c, NULL, err, sizeof(err));
    assert_int_equal(rc, 42);
    assert_string_equal(csv_buf_cstr(&c.text), "H:p\n1:1\n2:2\n");
    assert_int_equal(c.ends[1], 6); /* "p\n1\n2\n" */
    csv_buf_free(&c.text);
}

static void test_bad_options(void **state)
{
    (void)state;
    csv_reader_t *r = NULL;
    char err[128];
    csv_reader_opts_t opts = {.offset = 10};
    assert_int_equal(csv_reader_new(&opts, collect_row, NULL, &r, err, sizeof(err)),
                     OD_ERR_INVALID);
    opts = (csv_reader_opts_t){.delimiter = 'x'};
    assert_int_equal(csv_reader_new(&opts, collect_row, NULL, &r, err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_null(r);
}

/* Many rows through small and odd pieces: numbering and offsets hold up
 * over more than the sniff buffer. */
static void test_many_rows(void **state)
{
    (void)state;
    csv_buf_t in = {0};
    csv_buf_puts(&in, "phone;name\r\n");
    for (int i = 1; i <= 5000; i++)
        csv_buf_printf(&in, "+1415555%04d;\"Name\r\n%d\"\r\n", i % 10000, i);
    collected_t c;
    memset(&c, 0, sizeof(c));
    char err[128];
    char delim;
    int rc = read_all(in.data, in.len, 4093, NULL, &c, &delim, err, sizeof(err));
    assert_int_equal(rc, OD_OK);
    assert_int_equal(delim, ';');
    assert_int_equal(c.rows, 5000);
    csv_buf_free(&c.text);
    csv_buf_free(&in);
}

static void test_utf8_helpers(void **state)
{
    (void)state;
    assert_int_equal(csv_utf8_valid_prefix("abcdefghijklmnop", 16), 16);
    assert_int_equal(csv_utf8_valid_prefix("abcdefgh\xFFjk", 11), 8);
    assert_int_equal(csv_utf8_valid_prefix("\xF0\x9F\x98\x80!", 5), 5);
    assert_int_equal(csv_utf8_valid_prefix("\xF4\x90\x80\x80", 4), 0); /* > U+10FFFF */
    assert_int_equal(csv_utf8_valid_prefix("\xE2\x82", 2), 0);         /* cut short */
    assert_int_equal(csv_utf8_valid_prefix("abc\0def", 7), 3);

    csv_buf_t b = {0};
    csv_utf8_append_sanitized(&b, "Jos\xE9!", 5);
    assert_string_equal(csv_buf_cstr(&b), "Jos\xEF\xBF\xBD!");
    csv_buf_reset(&b);
    csv_field_append(&b, "plain", 5, ',');
    csv_buf_putc(&b, ',');
    csv_field_append(&b, "a,b", 3, ',');
    csv_buf_putc(&b, ',');
    csv_field_append(&b, "say \"hi\"", 8, ',');
    csv_buf_putc(&b, ',');
    csv_field_append(&b, "two\nlines", 9, ',');
    csv_buf_putc(&b, ',');
    csv_field_append(&b, " pad", 4, ',');
    csv_buf_putc(&b, ',');
    csv_field_append(&b, "a;b", 3, ',');
    assert_string_equal(csv_buf_cstr(&b),
                        "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\" pad\",a;b");
    csv_buf_free(&b);
}

OD_TEST_MAIN(NULL, NULL, test_cases, test_stop, test_bad_options, test_many_rows, test_utf8_helpers)

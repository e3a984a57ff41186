/*
 * lead_map: header mapping (defaults, explicit mappings, errors) and the
 * per-row decision (lead or rejection reason), as tables.
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
#include "lead_map.h"
#include "test_main.h"

#define MAX_COLS 16

/* Splits a '|'-separated list into parts (pointers into a copy). */
typedef struct parts {
    char *copy;
    const char *items[MAX_COLS];
    size_t lens[MAX_COLS];
    size_t n;
} parts_t;

static void parts_split(parts_t *p, const char *text)
{
    memset(p, 0, sizeof(*p));
    p->copy = strdup(text);
    char *s = p->copy;
    for (;;) {
        char *bar = strchr(s, '|');
        if (bar)
            *bar = '\0';
        p->items[p->n] = s;
        p->lens[p->n] = strlen(s);
        p->n++;
        if (!bar)
            break;
        s = bar + 1;
    }
}

static void parts_free(parts_t *p)
{
    free(p->copy);
}

static lead_map_t *map_build(const char *header, const char *spec_text, int want_rc, char *err,
                             size_t errlen)
{
    parts_t h;
    parts_split(&h, header);
    lead_map_spec_t *spec = NULL;
    if (spec_text)
        assert_int_equal(lead_map_spec_parse(spec_text, &spec, err, errlen), OD_OK);
    lead_map_t *map = NULL;
    int rc = lead_map_new(h.items, h.lens, h.n, spec, &map, err, errlen);
    if (rc != want_rc)
        fail_msg("header '%s' spec '%s': rc %d (%s), want %d", header, spec_text ? spec_text : "",
                 rc, err, want_rc);
    lead_map_spec_free(spec);
    parts_free(&h);
    return map;
}

/* What a test of one row needs: the map of header (and spec, or NULL), a
 * context, and the row's cells ('|'-separated) as a well-formed input: valid
 * UTF-8, not too long, its quotes closed. in points into cells: the fixture
 * stays where row_fixture_init put it. row_fixture_free frees it all. */
typedef struct row_fixture {
    lead_map_t *map;
    lead_map_ctx_t *ctx;
    parts_t cells;
    lead_map_input_t in;
} row_fixture_t;

static void row_fixture_init(row_fixture_t *f, const char *header, const char *spec,
                             const char *row)
{
    char err[512];
    f->map = map_build(header, spec, OD_OK, err, sizeof(err));
    f->ctx = lead_map_ctx_new();
    parts_split(&f->cells, row);
    f->in = (lead_map_input_t){.fields = f->cells.items,
                               .lens = f->cells.lens,
                               .n_fields = f->cells.n,
                               .bad_utf8_field = -1};
}

static void row_fixture_free(row_fixture_t *f)
{
    parts_free(&f->cells);
    lead_map_ctx_free(f->ctx);
    lead_map_free(f->map);
}

typedef struct header_case {
    const char *header;
    const char *spec; /* --map text, or NULL */
    int rc;
    const char *want; /* lead_map_describe, or a substring of the error */
} header_case_t;

static const header_case_t header_cases[] = {
    {"phone|name|company", NULL, OD_OK, "phone <- 'phone', name <- 'name'; variables: company"},
    {" Phone Number |First Name|LAST-NAME|E-mail|Time Zone|City", NULL, OD_OK,
     "phone <- 'Phone Number', name <- 'First Name' + 'LAST-NAME', timezone <- 'Time Zone'; "
     "variables: first_name, last_name, email, city"},
    {"Mobile|Phone|Name", NULL, OD_OK, "phone <- 'Phone', name <- 'Name'; variables: mobile"},
    {"phone|secondary_phone|Secondary Phone 2|alt phone|notes", NULL, OD_OK,
     "phone <- 'phone', secondary_phone_1 <- 'secondary_phone', secondary_phone_2 <- 'Secondary "
     "Phone 2', secondary_phone_3 <- 'alt phone'; variables: notes"},
    {"phone 1|phone 2|phone 3", NULL, OD_OK,
     "phone <- 'phone 1', secondary_phone_1 <- 'phone 2', secondary_phone_2 <- 'phone 3'"},
    {"Tel.|Company Name|company name||x", NULL, OD_OK,
     "phone <- 'Tel.'; variables: company_name, company_name_2, column_4, x"},
    {"Nr|Client|Zone|Other", "phone=Nr,name=Client,timezone=Zone,secondary_phone=Other", OD_OK,
     "phone <- 'Nr', name <- 'Client', timezone <- 'Zone', secondary_phone_1 <- 'Other'"},
    {"phone|Mobile Nr|name", "phone=mobile nr", OD_OK,
     "phone <- 'Mobile Nr', name <- 'name'; variables: phone"},
    {"a|b|c", "secondary_phone_2=a,secondary_phone=b,phone=c", OD_OK,
     "phone <- 'c', secondary_phone_1 <- 'b', secondary_phone_2 <- 'a'"},
    {"id|external id|phone", NULL, OD_OK,
     "phone <- 'phone', external_id <- 'external id'; "
     "variables: id"},
    {"name|email", NULL, OD_ERR_INVALID, "no phone column"},
    {"Name|Telefon", NULL, OD_ERR_INVALID, "the columns are 'Name', 'Telefon'"},
    {"phone|name", "phone=Mobile", OD_ERR_INVALID, "the file has no column 'Mobile'"},
    {"phone|name", "phone=phone,name=phone", OD_ERR_INVALID, "mapped to both"},
};

static void test_header_mapping(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
        const header_case_t *tc = &header_cases[i];
        char err[512] = "";
        lead_map_t *map = map_build(tc->header, tc->spec, tc->rc, err, sizeof(err));
        if (tc->rc == OD_OK) {
            char *desc = lead_map_describe(map);
            if (strcmp(desc, tc->want) != 0)
                fail_msg("header '%s': %s\nwant %s", tc->header, desc, tc->want);
            free(desc);
        } else if (!strstr(err, tc->want)) {
            fail_msg("header '%s': error '%s' lacks '%s'", tc->header, err, tc->want);
        }
        lead_map_free(map);
    }
}

static void test_spec_parse(void **state)
{
    (void)state;
    char err[256];
    lead_map_spec_t *spec = NULL;
    assert_int_equal(
        lead_map_spec_parse(" phone = Mobile Nr , Name=Client ", &spec, err, sizeof(err)), OD_OK);
    assert_int_equal(spec->n, 2);
    assert_string_equal(spec->pairs[0].field, "phone");
    assert_string_equal(spec->pairs[0].column, "Mobile Nr");
    char *json = lead_map_spec_to_json(spec);
    assert_string_equal(json, "{\"phone\":\"Mobile Nr\",\"name\":\"Client\"}");
    lead_map_spec_t *back = NULL;
    assert_int_equal(lead_map_spec_from_json(json, &back, err, sizeof(err)), OD_OK);
    assert_int_equal(back->n, 2);
    assert_string_equal(back->pairs[1].column, "Client");
    free(json);
    lead_map_spec_free(back);
    lead_map_spec_free(spec);

    assert_int_equal(lead_map_spec_parse("", &spec, err, sizeof(err)), OD_OK);
    assert_int_equal(spec->n, 0);
    lead_map_spec_free(spec);

    static const char *const bad[] = {"phone", "fone=x", "phone=a,phone=b",
                                      "phone=", "secondary_phone_99=x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        spec = NULL;
        if (lead_map_spec_parse(bad[i], &spec, err, sizeof(err)) != OD_ERR_INVALID)
            fail_msg("'%s' was accepted", bad[i]);
        assert_null(spec);
    }
    assert_int_equal(lead_map_spec_from_json("[1]", &spec, err, sizeof(err)), OD_ERR_INVALID);
    assert_int_equal(lead_map_spec_from_json("{\"phone\":1}", &spec, err, sizeof(err)),
                     OD_ERR_INVALID);
}

/* Rows against the header
 *   phone | first name | last name | Time Zone | company | secondary phone | phone 3
 * with region US. */
#define ROW_HEADER "phone|first name|last name|Time Zone|company|secondary phone|phone 3"

typedef struct row_case {
    const char *row;    /* '|'-separated cells */
    int bad_utf8_field; /* as the reader reports, -1 none */
    bool too_long;
    const char *code;   /* expected reject code, NULL = a lead */
    const char *expect; /* lead: "e164;name;tz;variables;secondaries"; reject: message part */
    const char *cells;  /* a lead's cell rejects, "column(1-based):code,..."; NULL = none */
} row_case_t;

static const row_case_t row_cases[] = {
    {"(415) 555-2671|Ann|Lee|America/Los_Angeles|Acme||", -1, false, NULL,
     "+14155552671;Ann Lee;America/Los_Angeles;"
     "{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"company\":\"Acme\"};",
     NULL},
    {" +44 20 7946 0958 | Bo ||europe/london| ||", -1, false, NULL,
     "+442079460958;Bo;Europe/London;{\"first_name\":\"Bo\",\"last_name\":\"\",\"company\":\"\"};",
     NULL},
    {"4155552671||Lee|US/Eastern|x|415 555 2672|+33 1 42 68 53 00", -1, false, NULL,
     "+14155552671;Lee;America/New_York;"
     "{\"first_name\":\"\",\"last_name\":\"Lee\",\"company\":\"x\"};+14155552672,+33142685300",
     NULL},
    {"4155552671|||||4155552671|(415) 555-2671", -1, false, NULL,
     "+14155552671;;;{\"first_name\":\"\",\"last_name\":\"\",\"company\":\"\"};", NULL},
    {"4155552671|||||+1 415 555 2672|415-555-2672", -1, false, NULL,
     "+14155552671;;;{\"first_name\":\"\",\"last_name\":\"\",\"company\":\"\"};+14155552672", NULL},
    {"4155552671|a|b|||", -1, false, NULL,
     "+14155552671;a b;;{\"first_name\":\"a\",\"last_name\":\"b\",\"company\":\"\"};", NULL},
    {"4155552671|\"quoted\" \\ tab\there||||", -1, false, NULL,
     "+14155552671;\"quoted\" \\ tab\there;;{\"first_name\":\"\\\"quoted\\\" \\\\ "
     "tab\\there\",\"last_name\":\"\",\"company\":\"\"};",
     NULL},
    {"|Ann|||||", -1, false, "missing_phone", "column 'phone'", NULL},
    {"   |Ann", -1, false, "missing_phone", "empty", NULL},
    {"hello|Ann", -1, false, "not_a_number", "'hello'", NULL},
    {"12|Ann", -1, false, "too_short", "'12'", NULL},
    {"+1 415 555 26711|Ann", -1, false, "too_long", "too many digits", NULL},
    {"555-1234|Ann", -1, false, "invalid_number", "'555-1234'", NULL},
    {"+999 123456|Ann", -1, false, "invalid_country", "country", NULL},
    {"4155552671|Ann|Lee|Mars/Base", -1, false, "invalid_timezone", "'Mars/Base'", NULL},
    {"4155552671|Ann|Lee|GMT+05:30", -1, false, "invalid_timezone", "IANA", NULL},
    /* A bad secondary never costs the lead: it is imported without it. */
    {"4155552671|Ann|Lee||Acme|12", -1, false, NULL,
     "+14155552671;Ann Lee;;{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"company\":"
     "\"Acme\"};",
     "6:invalid_secondary_phone"},
    {"4155552671|||||12|415 555 2672", -1, false, NULL,
     "+14155552671;;;{\"first_name\":\"\",\"last_name\":\"\",\"company\":\"\"};+14155552672",
     "6:invalid_secondary_phone"},
    {"4155552671|||||415 555 2672|hello", -1, false, NULL,
     "+14155552671;;;{\"first_name\":\"\",\"last_name\":\"\",\"company\":\"\"};+14155552672",
     "7:invalid_secondary_phone"},
    {"4155552671|||||+999 1|555-1234", -1, false, NULL,
     "+14155552671;;;{\"first_name\":\"\",\"last_name\":\"\",\"company\":\"\"};",
     "6:invalid_secondary_phone,7:invalid_secondary_phone"},
    /* A row rejected as a whole reports its first problem only. */
    {"hello|Ann|||||12", -1, false, "not_a_number", "'hello'", NULL},
    {"4155552671|Ann|Lee|Mars/Base||12", -1, false, "invalid_timezone", "'Mars/Base'", NULL},
    {"4155552671|Ann|Lee||Acme|||extra", -1, false, "too_many_columns", "8 columns", NULL},
    {"4155552671|Ann|Lee||Acme|||||", -1, false, NULL,
     "+14155552671;Ann Lee;;{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"company\":\"Acme\"};",
     NULL},
    {"4155552671|Jos\xE9|Lee", 1, false, "bad_encoding", "column 'first name'", NULL},
    {"", -1, true, "row_too_long", "too long", NULL},
};

static void test_rows(void **state)
{
    (void)state;
    char err[512];
    lead_map_t *map = map_build(ROW_HEADER, NULL, OD_OK, err, sizeof(err));
    lead_map_ctx_t *ctx = lead_map_ctx_new();
    for (size_t i = 0; i < sizeof(row_cases) / sizeof(row_cases[0]); i++) {
        const row_case_t *tc = &row_cases[i];
        parts_t cells;
        parts_split(&cells, tc->row);
        lead_map_input_t in = {
            .fields = tc->too_long ? NULL : cells.items,
            .lens = tc->too_long ? NULL : cells.lens,
            .n_fields = cells.n,
            .bad_utf8_field = tc->bad_utf8_field,
            .too_long = tc->too_long,
        };
        lead_map_row_t out;
        bool ok = lead_map_row(map, ctx, "US", &in, &out);
        if (!tc->code) {
            if (!ok)
                fail_msg("row '%s' rejected: %s: %s", tc->row, out.code, out.message);
            char got[1024];
            int n = snprintf(got, sizeof(got), "%s;%s;%s;%s;", out.e164, out.name,
                             out.timezone ? out.timezone : "", out.variables);
            for (size_t k = 0; k < out.n_secondary; k++)
                n += snprintf(got + n, sizeof(got) - (size_t)n, "%s%s", k ? "," : "",
                              out.secondary[k]);
            if (strcmp(got, tc->expect) != 0)
                fail_msg("row '%s':\n got %s\nwant %s", tc->row, got, tc->expect);
            assert_null(out.code);
            char cells_got[256] = "";
            n = 0;
            for (size_t k = 0; k < out.n_cell_rejects; k++)
                n +=
                    snprintf(cells_got + n, sizeof(cells_got) - (size_t)n, "%s%zu:%s", k ? "," : "",
                             out.cell_rejects[k].column + 1, out.cell_rejects[k].code);
            if (strcmp(cells_got, tc->cells ? tc->cells : "") != 0)
                fail_msg("row '%s': cell rejects\n got %s\nwant %s", tc->row, cells_got,
                         tc->cells ? tc->cells : "");
        } else {
            if (ok)
                fail_msg("row '%s' accepted, want %s", tc->row, tc->code);
            if (strcmp(out.code, tc->code) != 0 || !strstr(out.message, tc->expect))
                fail_msg("row '%s': %s: %s; want %s with '%s'", tc->row, out.code, out.message,
                         tc->code, tc->expect);
        }
        parts_free(&cells);
    }
    lead_map_ctx_free(ctx);
    lead_map_free(map);
}

/* The message of a bad secondary names its column, the value and why, and
 * says the lead was kept, cut to fit at a character boundary whatever the
 * header's length. */
static void test_secondary_message(void **state)
{
    (void)state;
    row_fixture_t f;
    row_fixture_init(&f, ROW_HEADER, NULL, "4155552671|||||12|+999 123456");
    lead_map_row_t out;
    assert_true(lead_map_row(f.map, f.ctx, "US", &f.in, &out));
    assert_int_equal(out.n_cell_rejects, 2);
    assert_string_equal(out.cell_rejects[0].message,
                        "column 'secondary phone', '12': the phone number has too few digits "
                        "for its country; the lead was imported without it");
    assert_non_null(strstr(out.cell_rejects[1].message, "column 'phone 3', '+999 123456'"));
    row_fixture_free(&f);
    /* A header of 300 bytes of 'é', mapped as a secondary phone, is cut in
     * the message at a character boundary: still UTF-8. */
    char long_name[400] = "";
    for (int i = 0; i < 150; i++)
        strcat(long_name, "\xC3\xA9");
    char header[500], spec[500];
    snprintf(header, sizeof(header), "phone|%s", long_name);
    snprintf(spec, sizeof(spec), "secondary_phone=%s", long_name);
    row_fixture_init(&f, header, spec, "4155552671|hello");
    assert_true(lead_map_row(f.map, f.ctx, "US", &f.in, &out));
    assert_int_equal(out.n_cell_rejects, 1);
    size_t mlen = strlen(out.cell_rejects[0].message);
    assert_int_equal(csv_utf8_valid_prefix(out.cell_rejects[0].message, mlen), mlen);
    assert_non_null(strstr(out.cell_rejects[0].message, "the lead was imported without it"));
    row_fixture_free(&f);
}

static void test_external_id_and_name_column(void **state)
{
    (void)state;
    row_fixture_t f;
    row_fixture_init(&f, "Name|Phone|CRM ID|First Name", NULL,
                     "Dr. Ann Lee|+1 415 555 2671| A-17 |Ann");
    lead_map_row_t out;
    assert_true(lead_map_row(f.map, f.ctx, NULL, &f.in, &out));
    assert_string_equal(out.name, "Dr. Ann Lee");
    assert_string_equal(out.external_id, "A-17");
    assert_string_equal(out.variables, "{\"first_name\":\"Ann\"}");
    /* Without a region, a national number has no country. */
    f.cells.items[1] = "415 555 2671";
    f.cells.lens[1] = strlen(f.cells.items[1]);
    assert_false(lead_map_row(f.map, f.ctx, NULL, &f.in, &out));
    assert_string_equal(out.code, "invalid_country");
    row_fixture_free(&f);
}

/* A row whose quote never closed is rejected whatever it holds. */
static void test_unclosed_quote(void **state)
{
    (void)state;
    row_fixture_t f;
    row_fixture_init(&f, "phone|note", NULL, "+1 415 555 2671|never closed\n415 555 2672,next row");
    f.in.unclosed_quote = true;
    lead_map_row_t out;
    assert_false(lead_map_row(f.map, f.ctx, "US", &f.in, &out));
    assert_string_equal(out.code, "unclosed_quote");
    row_fixture_free(&f);
}

static void test_zones(void **state)
{
    (void)state;
    lead_map_ctx_t *ctx = lead_map_ctx_new();
    static const struct {
        const char *in;
        const char *want; /* NULL = invalid */
    } zones[] = {
        {"America/New_York", "America/New_York"},
        {"america/new_york", "America/New_York"},
        {"US/Eastern", "America/New_York"},
        {"UTC", "Etc/UTC"},
        {"Asia/Kolkata", "Asia/Calcutta"},
        {"Mars/Base", NULL},
        {"GMT+05:30", NULL},
        {"New York", NULL},
        {"america/new_york", "America/New_York"}, /* cached */
        {"Mars/Base", NULL},                      /* cached */
    };
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        char out[WINDOW_ZONE_MAX];
        char err[128];
        int rc =
            lead_map_zone_canonical(ctx, zones[i].in, strlen(zones[i].in), out, err, sizeof(err));
        if (zones[i].want) {
            if (rc != OD_OK || strcmp(out, zones[i].want) != 0)
                fail_msg("%s: rc %d '%s', want %s", zones[i].in, rc, out, zones[i].want);
        } else if (rc != OD_ERR_INVALID) {
            fail_msg("%s accepted as %s", zones[i].in, out);
        }
    }
    lead_map_ctx_free(ctx);
}

static void test_normalize(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {" Phone Number ", "phone_number"},
        {"E-Mail", "e_mail"},
        {"__x__", "x"},
        {"Tel. (mobile)", "tel_mobile"},
        {"Straße", "straße"},
        {"", ""},
        {"#", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        lead_map_normalize(cases[i][0], strlen(cases[i][0]), out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
    }
}

OD_TEST_MAIN(NULL, NULL, test_header_mapping, test_spec_parse, test_rows, test_secondary_message,
             test_external_id_and_name_column, test_zones, test_normalize, test_unclosed_quote)

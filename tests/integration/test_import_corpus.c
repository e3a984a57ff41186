/*
 * The files of tests/data/csv imported into fresh campaigns against the
 * stack's Postgres: for each, the outcome, the counts, every rejected row's
 * number and reason code, and the leads that exist afterwards (number,
 * name, timezone, contact order, primary) — what a user would check.
 *
 * Every file is imported twice: in batches of 1000 rows and in batches of
 * one row, so that nothing depends on where a batch ends (duplicates across
 * batches, secondary contacts, row numbers).
 *
 * Also the staging writer both the API and the importer stage bytes with
 * (lib/ingest/import_stage), read back from import_staging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "import_rejects.h"
#include "import_stage.h"
#include "importer.h"
#include "migrate.h"
#include "pg.h"
#include "support.h"
#include "test_import_support.h"
#include "test_main.h"

static char *test_dsn;
static pg_conn_t *db;

typedef struct var_check {
    const char *e164;
    const char *key;
    const char *value;
} var_check_t;

typedef struct corpus_case {
    const char *file;
    const char *map;      /* --map text, or NULL */
    const char *region;   /* import region, or NULL for the account's (US) */
    const char *existing; /* numbers already leads of the campaign, comma-separated */
    const char *dnc;      /* numbers on the account's DNC list, comma-separated */
    importer_outcome_t outcome;
    int read, imported, duplicate, dnc_count, rejected;
    int secondary_rejected; /* secondary phone cells left out of imported rows */
    const char *rejects;    /* "row:code" (a row) or "row.column(header):code" (a cell), in
                             * order, comma-separated; NULL: none */
    const char *error;      /* failed: part of the import's error */
    const char *leads;      /* every lead: "e164|name|timezone|contact_order|primary's e164\n";
                             * NULL: none */
    var_check_t vars[4];
} corpus_case_t;

static const corpus_case_t cases[] = {
    {.file = "excel_bom_semicolon_crlf.csv",
     .read = 4,
     .imported = 4,
     .leads = "+14155552601|Ann Lee||0|\n+14155552602|Bob Marley||0|\n+14155552603|Dan Brown||0|\n"
              "+33612345678|Chloé Durand||0|\n",
     .vars = {{"+14155552601", "notes", "likes \"quotes\"; and semicolons"},
              {"+14155552601", "company", "Acme, Inc."},
              {"+14155552603", "notes", "note on\r\ntwo lines"},
              {"+33612345678", "company", "Société Générale"}}},
    {.file = "excel_sep_line.csv",
     .read = 2,
     .imported = 2,
     .leads = "+14155552611|Eve||0|\n+14155552612|Frank||0|\n"},
    {.file = "quoted_newlines.csv",
     .read = 3,
     .imported = 3,
     .leads = "+14155552621|Gina \"G\" Smith||0|\n+14155552622|Hank||0|\n+14155552623|Ivy||0|\n",
     .vars = {{"+14155552621", "address", "1 Main St\nApt 2\nSpringfield"},
              /* values are trimmed, line breaks too */
              {"+14155552623", "address", "ends with a line break"}}},
    {.file = "empty_lines.csv",
     .read = 3,
     .imported = 2,
     .rejected = 1,
     .rejects = "6:too_short",
     .leads = "+14155552631|Jack||0|\n+14155552632|Kim||0|\n"},
    {.file = "odd_header.csv",
     .read = 1,
     .imported = 1,
     .leads = "+14155552641|Liam Neeson|America/New_York|0|\n",
     .vars = {{"+14155552641", "email", "liam@example.com"},
              {"+14155552641", "first_name", "Liam"},
              {"+14155552641", "last_name", "Neeson"}}},
    {.file = "missing_phone.csv",
     .read = 4,
     .imported = 2,
     .rejected = 2,
     .rejects = "2:missing_phone,3:missing_phone",
     .leads = "+14155552651|Mia||0|\n+14155552652|Pat||0|\n"},
    {.file = "invalid_and_international.csv",
     .read = 10,
     .imported = 4,
     .rejected = 6,
     .rejects =
         "4:not_a_number,5:too_short,6:too_long,7:invalid_number,8:invalid_country,9:too_long",
     .leads = "+18003569377|Vanity||0|\n+442079460958|London||0|\n+493012345678|Berlin||0|\n"
              "+819012345678|Tokyo||0|\n"},
    {.file = "duplicates.csv",
     .existing = "+14155552663",
     .read = 5,
     .imported = 2,
     .duplicate = 3,
     .leads = "+14155552661|Quinn||0|\n+14155552662|Rose||0|\n+14155552663|existing||0|\n"},
    {.file = "dnc.csv",
     .dnc = "+14155552672",
     .read = 3,
     .imported = 2,
     .dnc_count = 1,
     .leads = "+14155552671|Sam||0|\n+14155552673|Tom||0|\n"},
    {.file = "bad_timezone.csv",
     .read = 5,
     .imported = 3,
     .rejected = 2,
     .rejects = "2:invalid_timezone,5:invalid_timezone",
     .leads = "+14155552681|Uma|America/Los_Angeles|0|\n+14155552683|Wes||0|\n"
              "+14155552684|Xia|America/Los_Angeles|0|\n"},
    {.file = "extra_columns.csv",
     .read = 5,
     .imported = 3,
     .rejected = 2,
     .rejects = "2:too_many_columns,5:too_many_columns",
     .leads = "+14155552691|Zoe||0|\n+14155552693|Bea||0|\n+14155552694|Cy, Jr.||0|\n",
     .vars = {{"+14155552693", "company", "Acme"}}},
    {.file = "invalid_utf8.csv",
     .read = 3,
     .imported = 2,
     .rejected = 1,
     .rejects = "2:bad_encoding",
     .leads = "+14155552701|Ana||0|\n+14155552703|José||0|\n",
     .vars = {{"+14155552703", "city", "München"}}},
    {.file = "secondary_phones.csv",
     .dnc = "+14155552672",
     /* A bad secondary never costs a valid lead: rows 4, 6 and 7 are
      * imported with their valid secondaries, each bad cell reported with
      * its row and column; row 8's bad primary rejects it, for that alone. */
     .read = 8,
     .imported = 7,
     .rejected = 1,
     .secondary_rejected = 4,
     .rejects = "4.3(secondary_phone):invalid_secondary_phone,"
                "6.3(secondary_phone):invalid_secondary_phone,"
                "7.3(secondary_phone):invalid_secondary_phone,"
                "7.4(secondary_phone_2):invalid_secondary_phone,8:not_a_number",
     .leads = "+14155552711|Main One||0|\n+14155552712|Main One||1|+14155552711\n"
              "+14155552713|Main One||2|+14155552711\n+14155552714|Main Two||0|\n"
              "+14155552715|Main Two||1|+14155552714\n+14155552716|Main Three||0|\n"
              "+14155552717|Main Four||0|\n"
              "+14155552718|Main Five||0|\n+14155552719|Main Five||1|+14155552718\n"
              "+14155552720|Main Six||0|\n+14155552721|Main Six||1|+14155552720\n"
              "+14155552722|Main Seven||0|\n"},
    {.file = "tab_separated.tsv",
     .read = 3,
     .imported = 3,
     .leads = "+14155552721|Tab One||0|\n+14155552722|Tab Two||0|\n+14155552723|Back\\Slash||0|\n",
     .vars = {{"+14155552721", "note", "has, commas; and semicolons"},
              {"+14155552722", "note", "quoted\ttab"},
              {"+14155552723", "note", "C:\\temp\\new"}}},
    {.file = "no_phone_column.csv", .outcome = IMPORTER_FAILED, .error = "no phone column"},
    {.file = "explicit_mapping.csv",
     .map = "phone=Mobile Nr,name=Client,secondary_phone=Office",
     .read = 1,
     .imported = 1,
     .leads = "+14155552731|Acme Corp||0|\n+14155552732|Acme Corp||1|+14155552731\n",
     .vars = {{"+14155552731", "phone", "not a phone"}}},
    {.file = "utf16.csv", .outcome = IMPORTER_FAILED, .error = "UTF-16"},
    {.file = "unclosed_quote.csv",
     .read = 2,
     .imported = 1,
     .rejected = 1,
     .rejects = "2:unclosed_quote",
     .leads = "+14155552741|Good||0|\n"},
    {.file = "header_only.csv"},
    {.file = "national_gb.csv",
     .region = "GB",
     .read = 2,
     .imported = 2,
     .leads = "+442079460958|London office||0|\n+447911123456|Mobile||0|\n"},
    {.file = "external_ids.csv",
     .read = 3,
     .imported = 2,
     .duplicate = 1,
     .leads = "+14155552751|A||0|\n+14155552752|B||0|\n"},
};

static void exec_ok(const char *sql, int n, const char *const *params, PGresult **res)
{
    char err[512];
    if (pg_exec_params(db, sql, n, params, res, err, sizeof(err)) != OD_OK)
        fail_msg("%s: %s", sql, err);
}

/* The rows of a query as "a|b|c\n" lines. Caller frees. */
static char *query_lines(const char *sql, int n, const char *const *params)
{
    PGresult *res = NULL;
    exec_ok(sql, n, params, &res);
    csv_buf_t out = {0};
    for (int r = 0; r < PQntuples(res); r++) {
        for (int c = 0; c < PQnfields(res); c++) {
            if (c)
                csv_buf_putc(&out, '|');
            csv_buf_puts(&out, PQgetvalue(res, r, c));
        }
        csv_buf_putc(&out, '\n');
    }
    PQclear(res);
    char *text = strdup(csv_buf_cstr(&out));
    csv_buf_free(&out);
    return text;
}

/* An account (default region US), assistant and campaign; the numbers of
 * existing become leads and those of dnc the account's DNC list. Writes the
 * campaign id. */
static void campaign_setup(const corpus_case_t *tc, char campaign_id[37])
{
    PGresult *res = NULL;
    exec_ok("WITH a AS (INSERT INTO account (name, webhook_secret) VALUES ('corpus',"
            " 'corpus-secret-0123456789') RETURNING id),"
            " s AS (INSERT INTO assistant (account_id, name, timezone, provider_assistant_id)"
            " SELECT id, 'assistant', 'America/New_York', 'asst' FROM a RETURNING id, account_id)"
            " INSERT INTO campaign (account_id, assistant_id, name)"
            " SELECT account_id, id, 'corpus' FROM s RETURNING id, account_id",
            0, NULL, &res);
    snprintf(campaign_id, 37, "%s", PQgetvalue(res, 0, 0));
    char account_id[37];
    snprintf(account_id, sizeof(account_id), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    if (tc->existing) {
        const char *params[2] = {campaign_id, tc->existing};
        exec_ok("INSERT INTO lead (campaign_id, e164, name) SELECT $1::uuid, n, 'existing'"
                " FROM unnest(string_to_array($2, ',')) AS n",
                2, params, NULL);
    }
    if (tc->dnc) {
        const char *params[2] = {account_id, tc->dnc};
        exec_ok("INSERT INTO dnc (account_id, e164) SELECT $1::uuid, n"
                " FROM unnest(string_to_array($2, ',')) AS n",
                2, params, NULL);
    }
}

static int reject_collect(const import_reject_t *r, void *arg)
{
    csv_buf_t *out = arg;
    if (out->len)
        csv_buf_putc(out, ',');
    if (r->column_number > 0)
        csv_buf_printf(out, "%lld.%d(%s):%s", (long long)r->row_number, r->column_number,
                       r->column_name, r->code);
    else
        csv_buf_printf(out, "%lld:%s", (long long)r->row_number, r->code);
    return 0;
}

static int write_collect(const char *data, size_t len, void *arg)
{
    csv_buf_append(arg, data, len);
    return 0;
}

static void run_case(const corpus_case_t *tc, int batch_rows, char import_id_out[37])
{
    char err[1024];
    char campaign_id[37];
    campaign_setup(tc, campaign_id);
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/data/csv/%s", support_env("OUTDIAL_SOURCE_DIR"),
             tc->file);
    lead_map_spec_t *spec = NULL;
    if (tc->map)
        assert_int_equal(lead_map_spec_parse(tc->map, &spec, err, sizeof(err)), OD_OK);
    char import_id[37];
    if (importer_file_stage(db, campaign_id, path, tc->region, spec, import_id, err, sizeof(err)) !=
        OD_OK)
        fail_msg("%s: stage: %s", tc->file, err);
    lead_map_spec_free(spec);
    importer_config_t cfg = {.dsn = test_dsn, .workers = 2, .batch_rows = batch_rows};
    importer_result_t result;
    if (importer_run(db, &cfg, import_id, NULL, NULL, &result, err, sizeof(err)) != OD_OK)
        fail_msg("%s: run: %s", tc->file, err);
    const importer_progress_t *p = &result.progress;
    if (result.outcome != tc->outcome || p->rows_read != tc->read ||
        p->rows_imported != tc->imported || p->rows_duplicate != tc->duplicate ||
        p->rows_dnc != tc->dnc_count || p->rows_rejected != tc->rejected ||
        p->secondary_phones_rejected != tc->secondary_rejected)
        fail_msg("%s (batches of %d): outcome %d, read %lld, imported %lld, duplicate %lld, dnc "
                 "%lld, rejected %lld, secondary phones rejected %lld (error '%s'); want %d, %d, "
                 "%d, %d, %d, %d, %d",
                 tc->file, batch_rows, result.outcome, (long long)p->rows_read,
                 (long long)p->rows_imported, (long long)p->rows_duplicate, (long long)p->rows_dnc,
                 (long long)p->rows_rejected, (long long)p->secondary_phones_rejected, result.error,
                 tc->outcome, tc->read, tc->imported, tc->duplicate, tc->dnc_count, tc->rejected,
                 tc->secondary_rejected);
    if (tc->error && !strstr(result.error, tc->error))
        fail_msg("%s: error '%s' lacks '%s'", tc->file, result.error, tc->error);

    /* The import row says the same, and every row ended in one outcome. */
    const char *id_param[1] = {import_id};
    char *row = query_lines("SELECT status, rows_read, rows_imported, rows_duplicate, rows_dnc,"
                            " rows_rejected, secondary_phones_rejected,"
                            " rows_read = rows_imported + rows_duplicate +"
                            " rows_dnc + rows_rejected, bytes_done <= bytes_total,"
                            " (SELECT count(*) FROM import_staging WHERE import_id = $1::uuid)"
                            " FROM import WHERE id = $1::uuid",
                            1, id_param);
    char want_row[256];
    snprintf(want_row, sizeof(want_row), "%s|%d|%d|%d|%d|%d|%d|t|t|0\n",
             tc->outcome == IMPORTER_COMPLETED ? "completed" : "failed", tc->read, tc->imported,
             tc->duplicate, tc->dnc_count, tc->rejected, tc->secondary_rejected);
    if (strcmp(row, want_row) != 0)
        fail_msg("%s: import row %s, want %s", tc->file, row, want_row);
    free(row);

    csv_buf_t rejects = {0};
    assert_int_equal(import_rejects_each(db, import_id, IMPORT_REJECTS_FIRST, 0, reject_collect,
                                         &rejects, err, sizeof(err)),
                     OD_OK);
    const char *want_rejects = tc->rejects ? tc->rejects : "";
    if (strcmp(csv_buf_cstr(&rejects), want_rejects) != 0)
        fail_msg("%s (batches of %d): rejects %s, want %s", tc->file, batch_rows,
                 csv_buf_cstr(&rejects), want_rejects);
    csv_buf_free(&rejects);

    const char *camp_param[1] = {campaign_id};
    char *leads =
        query_lines("SELECT l.e164, l.name, coalesce(l.timezone, ''), l.contact_order,"
                    " coalesce(p.e164, '') FROM lead l LEFT JOIN lead p ON p.id = l.parent_lead_id"
                    " WHERE l.campaign_id = $1::uuid ORDER BY l.e164 COLLATE \"C\"",
                    1, camp_param);
    const char *want_leads = tc->leads ? tc->leads : "";
    if (strcmp(leads, want_leads) != 0)
        fail_msg("%s (batches of %d): leads\n%s\nwant\n%s", tc->file, batch_rows, leads,
                 want_leads);
    free(leads);
    for (size_t i = 0; i < 4 && tc->vars[i].e164; i++) {
        const char *params[3] = {campaign_id, tc->vars[i].e164, tc->vars[i].key};
        char *value = query_lines("SELECT variables->>$3 FROM lead WHERE campaign_id = $1::uuid"
                                  " AND e164 = $2",
                                  3, params);
        char want[256];
        snprintf(want, sizeof(want), "%s\n", tc->vars[i].value);
        if (strcmp(value, want) != 0)
            fail_msg("%s: %s variables.%s = '%s', want '%s'", tc->file, tc->vars[i].e164,
                     tc->vars[i].key, value, want);
        free(value);
    }
    /* Secondary contacts wait for their primary; primaries are due. */
    char *waiting = query_lines("SELECT count(*) FROM lead WHERE campaign_id = $1::uuid AND"
                                " (parent_lead_id IS NULL) = (next_attempt_at IS NULL)",
                                1, camp_param);
    assert_string_equal(waiting, "0\n");
    free(waiting);
    if (import_id_out)
        snprintf(import_id_out, 37, "%s", import_id);
}

static void test_corpus(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(&cases[i], 1000, NULL);
        run_case(&cases[i], 1, NULL);
    }
}

/* The rejects download: the original columns after row, code and reason,
 * ready to fix and upload again; invalid UTF-8 replaced. */
static void test_rejects_csv(void **state)
{
    (void)state;
    char err[512];
    char import_id[37];
    const corpus_case_t *extra = NULL, *utf8 = NULL;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (strcmp(cases[i].file, "extra_columns.csv") == 0)
            extra = &cases[i];
        if (strcmp(cases[i].file, "invalid_utf8.csv") == 0)
            utf8 = &cases[i];
    }
    run_case(extra, 1000, import_id);
    csv_buf_t out = {0};
    assert_int_equal(import_rejects_csv(db, import_id, write_collect, &out, err, sizeof(err)),
                     OD_OK);
    assert_string_equal(csv_buf_cstr(&out),
                        "row,reason_code,reason,phone,name,company\r\n"
                        "2,too_many_columns,the row has 4 columns but the header has 3: a "
                        "delimiter inside a value needs quotes,415 555 2692,Al,Acme,unexpected\r\n"
                        "5,too_many_columns,the row has 4 columns but the header has 3: a "
                        "delimiter inside a value needs quotes,415 555 2695,Di,Jr.,Acme\r\n");
    csv_buf_reset(&out);
    run_case(utf8, 1000, import_id);
    assert_int_equal(import_rejects_csv(db, import_id, write_collect, &out, err, sizeof(err)),
                     OD_OK);
    assert_non_null(strstr(csv_buf_cstr(&out), "2,bad_encoding,\"column 'name' is not valid UTF-8 "
                                               "text: save the file as \"\"CSV UTF-8\"\"\""));
    assert_non_null(strstr(csv_buf_cstr(&out), ",415 555 2702,Jos\xEF\xBF\xBD,M\xEF\xBF\xBDnchen"));
    csv_buf_free(&out);
    assert_int_equal(import_rejects_csv(db, "00000000-0000-0000-0000-000000000000", write_collect,
                                        &out, err, sizeof(err)),
                     OD_ERR_NOT_FOUND);
    csv_buf_free(&out);
}

/* Running a finished import again changes nothing and reports it. */
static void test_run_again(void **state)
{
    (void)state;
    char err[512];
    char import_id[37];
    run_case(&cases[0], 1000, import_id);
    importer_config_t cfg = {.dsn = test_dsn, .workers = 1};
    importer_result_t result;
    assert_int_equal(importer_run(db, &cfg, import_id, NULL, NULL, &result, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(result.outcome, IMPORTER_COMPLETED);
    assert_int_equal(result.progress.rows_imported, cases[0].imported);
    assert_int_equal(importer_run(db, &cfg, "00000000-0000-0000-0000-000000000000", NULL, NULL,
                                  &result, err, sizeof(err)),
                     OD_ERR_NOT_FOUND);
    char id[37];
    assert_int_equal(importer_file_stage(db, "00000000-0000-0000-0000-000000000000", "/dev/null",
                                         NULL, NULL, id, err, sizeof(err)),
                     OD_ERR_NOT_FOUND);
}

/* ---- staging: lib/ingest/import_stage ---------------------------------------
 * Bytes of every value, appended in pieces of odd sizes, come back from
 * import_staging exactly, in rows of 1 MiB and a shorter last one, with
 * bytes_total set; an abandoned stage leaves no row behind and the
 * connection usable; a local file staged by the importer reads back the
 * same, and an empty one leaves no import. */

/* len bytes of every value, '\\', '\t', '\n' and NUL among them. */
static unsigned char *bytes_make(size_t len)
{
    unsigned char *b = malloc(len);
    uint32_t x = 2026;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (unsigned char)(x >> 16);
    }
    return b;
}

/* The import's staged rows: each row's length checked against the 1 MiB
 * split, their bytes against want. */
static void staged_check(const char *import_id, const unsigned char *want, size_t len)
{
    const char *params[1] = {import_id};
    PGresult *res = PQexecParams(pg_conn_get(db),
                                 "SELECT seq, chunk FROM import_staging WHERE import_id = $1::uuid"
                                 " ORDER BY seq",
                                 1, NULL, params, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    size_t rows = (len + IMPORT_STAGE_CHUNK_BYTES - 1) / IMPORT_STAGE_CHUNK_BYTES;
    assert_int_equal(PQntuples(res), (int)rows);
    size_t off = 0;
    for (int k = 0; k < PQntuples(res); k++) {
        size_t n = (size_t)PQgetlength(res, k, 1);
        size_t expect = len - off < IMPORT_STAGE_CHUNK_BYTES ? len - off : IMPORT_STAGE_CHUNK_BYTES;
        assert_int_equal(n, expect);
        if (memcmp(PQgetvalue(res, k, 1), want + off, n) != 0)
            fail_msg("staged row %d differs from the bytes appended", k);
        off += n;
    }
    PQclear(res);
    assert_int_equal(imp_sql_int(pg_conn_get(db),
                                 "SELECT bytes_total FROM import WHERE id = $1::uuid", 1, params),
                     (long long)len);
}

static void test_stage_pieces(void **state)
{
    (void)state;
    char err[512], import_id[37], account_id[37], campaign_id[37];
    imp_campaign_create(pg_conn_get(db), account_id, campaign_id);
    size_t len = 2 * IMPORT_STAGE_CHUNK_BYTES + 12345;
    unsigned char *data = bytes_make(len);
    assert_int_equal(import_stage_create(db, IMPORT_SOURCE_UPLOAD, campaign_id, "p.csv", NULL, NULL,
                                         import_id, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(pg_tx_begin(db, err, sizeof(err)), OD_OK);
    import_stage_t *st = NULL;
    assert_int_equal(import_stage_open(db, import_id, &st, err, sizeof(err)), OD_OK);
    /* Pieces across both hex-buffer and row boundaries, and empty ones. */
    static const size_t pieces[] = {1, 0, 7, 65536, 32767, IMPORT_STAGE_CHUNK_BYTES, 3, 100000};
    size_t off = 0;
    for (size_t i = 0; off < len; i = (i + 1) % (sizeof(pieces) / sizeof(pieces[0]))) {
        size_t n = pieces[i] < len - off ? pieces[i] : len - off;
        assert_int_equal(import_stage_append(st, data + off, n, err, sizeof(err)), OD_OK);
        off += n;
        assert_int_equal(import_stage_bytes(st), (int64_t)off);
    }
    assert_int_equal(import_stage_finish(st, err, sizeof(err)), OD_OK);
    import_stage_free(st);
    assert_int_equal(pg_tx_commit(db, err, sizeof(err)), OD_OK);
    staged_check(import_id, data, len);
    free(data);
}

static void test_stage_abandoned(void **state)
{
    (void)state;
    char err[512], import_id[37], account_id[37], campaign_id[37];
    imp_campaign_create(pg_conn_get(db), account_id, campaign_id);
    unsigned char *data = bytes_make(IMPORT_STAGE_CHUNK_BYTES + 10);
    assert_int_equal(import_stage_create(db, IMPORT_SOURCE_UPLOAD, campaign_id, "a.csv", "GB", NULL,
                                         import_id, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(pg_tx_begin(db, err, sizeof(err)), OD_OK);
    import_stage_t *st = NULL;
    assert_int_equal(import_stage_open(db, import_id, &st, err, sizeof(err)), OD_OK);
    assert_int_equal(import_stage_append(st, data, IMPORT_STAGE_CHUNK_BYTES + 10, err, sizeof(err)),
                     OD_OK);
    import_stage_free(st); /* a client that went away */
    pg_tx_rollback(db);
    const char *params[1] = {import_id};
    PGconn *conn = pg_conn_get(db);
    assert_int_equal(
        imp_sql_int(conn, "SELECT count(*) FROM import_staging WHERE import_id = $1", 1, params),
        0);
    assert_int_equal(imp_sql_int(conn,
                                 "SELECT count(*) FROM import WHERE id = $1::uuid AND"
                                 " bytes_total IS NULL AND region = 'GB' AND source = 'upload'",
                                 1, params),
                     1);
    free(data);
}

static void test_stage_file(void **state)
{
    (void)state;
    char err[512], import_id[37], account_id[37], campaign_id[37];
    char path[] = "/tmp/outdial-stage-XXXXXX";
    imp_campaign_create(pg_conn_get(db), account_id, campaign_id);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    /* Empty: no import is left. */
    assert_int_equal(
        importer_file_stage(db, campaign_id, path, NULL, NULL, import_id, err, sizeof(err)),
        OD_ERR_INVALID);
    assert_non_null(strstr(err, "is empty"));
    assert_string_equal(import_id, "");
    size_t len = IMPORT_STAGE_CHUNK_BYTES * 3 / 2;
    unsigned char *data = bytes_make(len);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    assert_int_equal(
        importer_file_stage(db, campaign_id, path, "US", NULL, import_id, err, sizeof(err)), OD_OK);
    staged_check(import_id, data, len);
    /* One import of that name: the empty attempt left none. */
    const char *params[2] = {import_id, strrchr(path, '/') + 1};
    assert_int_equal(imp_sql_int(pg_conn_get(db),
                                 "SELECT count(*) FROM import WHERE id = $1::uuid AND"
                                 " source = 'file' AND filename = $2 AND status = 'pending'",
                                 2, params),
                     1);
    unlink(path);
    free(data);
}

static int group_setup(void **state)
{
    (void)state;
    test_dsn = imp_db_create("import_corpus", &db);
    if (!test_dsn)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pg_conn_free(db);
    imp_db_drop(test_dsn);
    return 0;
}

OD_TEST_MAIN(group_setup, group_teardown, test_corpus, test_rejects_csv, test_run_again,
             test_stage_pieces, test_stage_abandoned, test_stage_file)

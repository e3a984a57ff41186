/*
 * import_stage: the one writer of an import's raw bytes, against the
 * stack's Postgres. Bytes of every value, appended in pieces of odd sizes,
 * come back from import_staging exactly, in rows of 1 MiB and a shorter
 * last one, with bytes_total set; an abandoned stage leaves no row behind
 * and the connection usable; a local file staged by the importer reads
 * back the same, and an empty one leaves no import.
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

#include "import_stage.h"
#include "importer.h"
#include "migrate.h"
#include "pg.h"
#include "support.h"
#include "test_import_support.h"

static char *test_dsn;
static pg_conn_t *db;
static char account_id[37], campaign_id[37];

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

static void test_pieces(void **state)
{
    (void)state;
    char err[512], import_id[37];
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

static void test_abandoned(void **state)
{
    (void)state;
    char err[512], import_id[37];
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

static void test_file(void **state)
{
    (void)state;
    char err[512], import_id[37], path[] = "/tmp/outdial-stage-XXXXXX";
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
    test_dsn = imp_db_create("import_stage", &db);
    if (!test_dsn)
        return -1;
    imp_campaign_create(pg_conn_get(db), account_id, campaign_id);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pg_conn_free(db);
    imp_db_drop(test_dsn);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_abandoned),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

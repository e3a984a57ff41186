#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"
#include "xmalloc.h"

#ifndef OUTDIAL_MIGRATIONS_DIR_BUILTIN
/* Builds that did not include cmake/migrate.cmake: relative to the cwd. */
#define OUTDIAL_MIGRATIONS_DIR_BUILTIN "db/migrations"
#endif

/* Versions are ints; nine digits keep them far from overflow. */
#define MIGRATE_VERSION_DIGITS_MAX 9

const char *migrate_dir_default(void)
{
    const char *dir = getenv("OUTDIAL_MIGRATIONS_DIR");
    return dir && *dir ? dir : OUTDIAL_MIGRATIONS_DIR_BUILTIN;
}

static void file_clear(migrate_file_t *file)
{
    free(file->name);
    free(file->filename);
    free(file->sql);
}

void migrate_set_free(migrate_set_t *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++)
        file_clear(&set->files[i]);
    free(set->files);
    free(set->dir);
    free(set);
}

/* Splits "001_init.sql" into version 1 and name "init". Returns false for
 * anything else. */
static bool parse_filename(const char *filename, int *version, char **name)
{
    size_t len = strlen(filename);
    size_t digits = strspn(filename, "0123456789");
    if (digits < 3 || digits > MIGRATE_VERSION_DIGITS_MAX || filename[digits] != '_')
        return false;
    if (len < digits + 1 + 1 + 4 || strcmp(filename + len - 4, ".sql") != 0)
        return false;
    const char *start = filename + digits + 1;
    size_t name_len = len - digits - 1 - 4;
    if (strspn(start, "abcdefghijklmnopqrstuvwxyz0123456789_") != name_len)
        return false;
    *version = atoi(filename);
    *name = xstrndup(start, name_len);
    return true;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) || md_len != 32) {
        /* Only out of memory inside OpenSSL; treat like any allocation failure. */
        fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"sha256 failed\"}\n");
        abort();
    }
    for (unsigned int i = 0; i < md_len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[64] = '\0';
}

/* Reads a whole file into a NUL-terminated buffer (caller frees). */
static int read_file(const char *path, char **out, size_t *out_len, char *errbuf, size_t errlen)
{
    int rc = OD_OK;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        rc = od_fail(errbuf, errlen, OD_ERR_IO, "%s: %s", path, strerror(errno));
        goto out;
    }
    buf = xfread_all(f, &len);
    if (!buf) {
        rc = od_fail(errbuf, errlen, OD_ERR_IO, "%s: read failed", path);
        goto out;
    }
    if (memchr(buf, '\0', len)) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: contains a NUL byte, not SQL text", path);
        goto out;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
out:
    if (f)
        fclose(f);
    free(buf);
    return rc;
}

static int by_version(const void *a, const void *b)
{
    const migrate_file_t *fa = a, *fb = b;
    return (fa->version > fb->version) - (fa->version < fb->version);
}

int migrate_set_load(const char *dir, migrate_set_t **out, char *errbuf, size_t errlen)
{
    int rc = OD_OK;
    if (!dir)
        dir = migrate_dir_default();
    migrate_set_t *set = xcalloc(1, sizeof(*set));
    set->dir = xstrdup(dir);
    size_t cap = 0;
    char *path = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        rc = od_fail(errbuf, errlen, errno == ENOENT ? OD_ERR_NOT_FOUND : OD_ERR_IO,
                     "migrations directory %s: %s (set --dir or OUTDIAL_MIGRATIONS_DIR)", dir,
                     strerror(errno));
        goto out;
    }
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        const char *filename = ent->d_name;
        size_t len = strlen(filename);
        if (filename[0] == '.' || len < 4 || strcmp(filename + len - 4, ".sql") != 0)
            continue;
        int version = 0;
        char *name = NULL;
        if (!parse_filename(filename, &version, &name)) {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                         "%s/%s: a migration is named NNN_name.sql (NNN: 3 to %d digits; "
                         "name: a-z, 0-9, _)",
                         dir, filename, MIGRATE_VERSION_DIGITS_MAX);
            goto out;
        }
        if (set->count == cap) {
            cap = cap ? cap * 2 : 8;
            set->files = xrealloc(set->files, cap * sizeof(*set->files));
        }
        migrate_file_t *file = &set->files[set->count++];
        memset(file, 0, sizeof(*file));
        file->version = version;
        file->name = name;
        file->filename = xstrdup(filename);
        free(path);
        path = xasprintf("%s/%s", dir, filename);
        rc = read_file(path, &file->sql, &file->sql_len, errbuf, errlen);
        if (rc)
            goto out;
        sha256_hex(file->sql, file->sql_len, file->checksum);
    }
    if (set->count == 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_NOT_FOUND,
                     "migrations directory %s has no NNN_name.sql file", dir);
        goto out;
    }
    qsort(set->files, set->count, sizeof(*set->files), by_version);
    for (size_t i = 1; i < set->count; i++) {
        if (set->files[i].version == set->files[i - 1].version) {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: %s and %s have the same version", dir,
                         set->files[i - 1].filename, set->files[i].filename);
            goto out;
        }
    }
out:
    if (d)
        closedir(d);
    free(path);
    if (rc) {
        migrate_set_free(set);
        set = NULL;
    }
    *out = set;
    return rc;
}

/* The 1-based line of the character position pos (1-based, counted in
 * characters as the server counts them) of UTF-8 text. */
static int line_of_position(const char *sql, long pos)
{
    int line = 1;
    long chars = 0;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        if ((*p & 0xC0) == 0x80)
            continue; /* a continuation byte is part of the previous character */
        if (++chars >= pos)
            break;
        if (*p == '\n')
            line++;
    }
    return line;
}

static const char create_table_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " version integer PRIMARY KEY,"
                                       " name text NOT NULL,"
                                       " checksum text NOT NULL,"
                                       " applied_at timestamptz NOT NULL DEFAULT now())";

/* Creates schema_migrations if missing. Runs under the lock, so two
 * processes never race on CREATE TABLE IF NOT EXISTS (which is not safe
 * against itself: both may try to create the row type). */
static int ensure_table(pg_conn_t *db, char *errbuf, size_t errlen)
{
    int rc = pg_tx_begin(db, errbuf, errlen);
    if (rc)
        return rc;
    /* Quiet the "already exists, skipping" notice. */
    rc = pg_exec(db, "SET LOCAL client_min_messages = warning", NULL, errbuf, errlen);
    if (rc == OD_OK)
        rc = pg_exec(db, create_table_sql, NULL, errbuf, errlen);
    if (rc == OD_OK)
        rc = pg_tx_commit(db, errbuf, errlen);
    else
        pg_tx_rollback(db);
    return rc;
}

/* Applies one migration and records it, in one transaction. */
static int apply_one(pg_conn_t *db, const migrate_file_t *file, char *errbuf, size_t errlen)
{
    char err[1024] = "";
    int line = 0; /* of the failing statement in the file, when the server says */
    int rc = pg_tx_begin(db, err, sizeof(err));
    if (rc)
        goto out;
    PGresult *r = PQexec(pg_conn_get(db), file->sql);
    const char *pos = r ? PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION) : NULL;
    if (pos)
        line = line_of_position(file->sql, atol(pos));
    rc = pg_result_check(db, r, NULL, NULL, err, sizeof(err));
    r = NULL; /* consumed */
    if (rc)
        goto out;
    char version[16];
    snprintf(version, sizeof(version), "%d", file->version);
    const char *params[] = {version, file->name, file->checksum};
    rc = pg_exec_params(db,
                        "INSERT INTO schema_migrations (version, name, checksum) "
                        "VALUES ($1::integer, $2, $3)",
                        3, params, NULL, err, sizeof(err));
    if (rc)
        goto out;
    rc = pg_tx_commit(db, err, sizeof(err));
out:
    pg_tx_rollback(db);
    if (rc && line > 0)
        return od_fail(errbuf, errlen, rc, "migration %s failed, not applied: line %d: %s",
                       file->filename, line, err);
    if (rc)
        return od_fail(errbuf, errlen, rc, "migration %s failed, not applied: %s", file->filename,
                       err);
    return OD_OK;
}

/* sha256 of sql without its comment lines (lines whose first characters
 * after spaces and tabs are "--"), each line with its line break. */
static void statements_sha256_hex(const char *sql, size_t len, char out[65])
{
    char *kept = xmalloc(len + 1);
    size_t n = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(sql + at, '\n', len - at);
        size_t line_len = nl ? (size_t)(nl - (sql + at)) + 1 : len - at;
        size_t lead = 0;
        while (lead < line_len && (sql[at + lead] == ' ' || sql[at + lead] == '\t'))
            lead++;
        bool comment = line_len - lead >= 2 && sql[at + lead] == '-' && sql[at + lead + 1] == '-';
        if (!comment) {
            memcpy(kept + n, sql + at, line_len);
            n += line_len;
        }
        at += line_len;
    }
    sha256_hex(kept, n, out);
    free(kept);
}

/* Applied files whose comments were corrected after release (citations
 * that pointed outside the repository; a comment that had gone out of
 * date). A database that recorded the released text's checksum accepts the
 * file as long as its statements, the text without comment lines, are
 * still the released ones: a change to a statement is refused as before. */
static const struct {
    int version;
    const char *released;   /* sha256 of the file as released */
    const char *statements; /* sha256 of its statements (statements_sha256_hex) */
} comment_fixes[] = {
    {1, "c1f5e2c0de65a5e4daba690493b1a46d5e7eb8e8de93dfa74f49f9f1e7f432d1",
     "7920aff45c1cdea11030bc83d4de2ec7f619a6b8413f9ae80236dd352378ccab"},
    {2, "11b4a9c38e7207840269e4d47ec7838a31e29079c7e160ed04ace7490fbb3da6",
     "b40b077920d04d0d2ed190c97177e2626facba0ff260ded53c75272357ca0bfc"},
};

/* Whether an applied checksum that differs from the file's is the released
 * text of a file whose comments alone have changed since. */
static bool comments_only_changed(const migrate_file_t *file, const char *applied)
{
    for (size_t i = 0; i < sizeof(comment_fixes) / sizeof(comment_fixes[0]); i++) {
        if (comment_fixes[i].version != file->version ||
            strcmp(comment_fixes[i].released, applied) != 0)
            continue;
        char statements[65];
        statements_sha256_hex(file->sql, file->sql_len, statements);
        return strcmp(statements, comment_fixes[i].statements) == 0;
    }
    return false;
}

/* Compares the recorded migrations with the files and marks the applied
 * ones. Refuses a changed file. */
static int check_applied(pg_conn_t *db, const migrate_set_t *set, bool *applied,
                         migrate_result_t *result, char *errbuf, size_t errlen)
{
    PGresult *res = NULL;
    int rc = pg_exec(db, "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
                     &res, errbuf, errlen);
    if (rc)
        return rc;
    for (int row = 0; row < PQntuples(res); row++) {
        int version = atoi(PQgetvalue(res, row, 0));
        const char *checksum = PQgetvalue(res, row, 2);
        if (version > result->latest)
            result->latest = version;
        const migrate_file_t *file = NULL;
        size_t i;
        for (i = 0; i < set->count; i++) {
            if (set->files[i].version == version) {
                file = &set->files[i];
                break;
            }
        }
        if (!file) {
            result->unknown++;
            continue;
        }
        if (strcmp(file->checksum, checksum) != 0 && !comments_only_changed(file, checksum)) {
            rc = od_fail(errbuf, errlen, OD_ERR_CONFLICT,
                         "%s/%s was changed after it was applied (applied checksum %.12s, file "
                         "now %.12s): restore it and put the change in a new migration",
                         set->dir, file->filename, checksum, file->checksum);
            goto out;
        }
        applied[i] = true;
        result->already++;
    }
out:
    PQclear(res);
    return rc;
}

int migrate_run(pg_conn_t *db, const char *dir, migrate_applied_fn on_applied, void *opaque,
                migrate_result_t *result, char *errbuf, size_t errlen)
{
    migrate_result_t local = {0};
    migrate_result_t *r = result ? result : &local;
    memset(r, 0, sizeof(*r));
    migrate_set_t *set = NULL;
    bool *applied = NULL;
    bool locked = false;
    char key[32];
    snprintf(key, sizeof(key), "%lld", (long long)MIGRATE_LOCK_KEY);
    const char *key_param[] = {key};

    int rc = migrate_set_load(dir, &set, errbuf, errlen);
    if (rc)
        goto out;
    if (pg_tx_open(db)) {
        rc = od_fail(errbuf, errlen, OD_ERR_CONFLICT,
                     "migrate: the connection has a transaction open");
        goto out;
    }
    /* Blocks while another process migrates this database. No timeout: a
     * long migration (an index on a big table) is worth waiting for, and if
     * its process dies the server releases the lock with the session. */
    rc = pg_exec_params(db, "SELECT pg_advisory_lock($1::bigint)", 1, key_param, NULL, errbuf,
                        errlen);
    if (rc)
        goto out;
    locked = true;
    /* The lock belongs to this server session. pg.c reconnects only before
     * a statement that follows an observed failure, and every failure here
     * ends the run, so the session cannot change under us; the backend pid
     * check makes sure of it before each migration. */
    int lock_pid = PQbackendPID(pg_conn_get(db));
    rc = ensure_table(db, errbuf, errlen);
    if (rc)
        goto out;
    applied = xcalloc(set->count, sizeof(*applied));
    rc = check_applied(db, set, applied, r, errbuf, errlen);
    if (rc)
        goto out;
    for (size_t i = 0; i < set->count; i++) {
        if (applied[i])
            continue;
        if (PQbackendPID(pg_conn_get(db)) != lock_pid) {
            locked = false;
            rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                         "migrate: the connection was re-established and the migration lock "
                         "lost; run again");
            goto out;
        }
        rc = apply_one(db, &set->files[i], errbuf, errlen);
        if (rc)
            goto out;
        r->applied++;
        if (set->files[i].version > r->latest)
            r->latest = set->files[i].version;
        if (on_applied)
            on_applied(&set->files[i], opaque);
    }
out:
    if (locked && !pg_conn_lost(db)) {
        /* On failure the lock stays until the session ends; worth a line in
         * the log, not a failed migration. */
        char unlock_err[256];
        if (pg_exec_params(db, "SELECT pg_advisory_unlock($1::bigint)", 1, key_param, NULL,
                           unlock_err, sizeof(unlock_err)) != OD_OK)
            log_warn("migrate_unlock", "releasing the migration lock failed: %s", unlock_err);
    }
    free(applied);
    migrate_set_free(set);
    return rc;
}

int migrate_when_up(deps_t *d, int dep, const atomic_bool *stop, const char *dsn, const char *app,
                    char *errbuf, size_t errlen)
{
    for (;;) {
        pg_conn_t *db = NULL;
        int rc = pg_conn_await(d, dep, stop, dsn, app, &db, errbuf, errlen);
        if (rc)
            return rc;
        migrate_result_t result;
        rc = migrate_run(db, NULL, NULL, NULL, &result, errbuf, errlen);
        pg_conn_free(db);
        if (rc == OD_OK)
            log_info("migrate", "schema at version %d (%d applied now)", result.latest,
                     result.applied);
        if (rc != OD_ERR_UNAVAILABLE)
            return rc;
        deps_failed(d, dep, errbuf);
    }
}

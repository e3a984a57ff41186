/*
 * migrate.h — applies the SQL schema migrations of db/migrations.
 *
 * A migration is a file NNN_name.sql (NNN: three or more digits, the
 * version; name: a-z, 0-9, _). Pending migrations are applied in version
 * order, each in its own transaction together with its row in
 * schema_migrations (version, name, checksum, applied_at), so a migration is
 * either applied and recorded or not at all.
 *
 * Concurrency: migrate_run holds a session-level Postgres advisory lock
 * (MIGRATE_LOCK_KEY) from reading schema_migrations to the last commit, so
 * any number of replicas may start and migrate at once: one applies, the
 * others wait for the lock, then find nothing pending. The lock is per
 * database and is released on return, or by the server if the process dies.
 *
 * Safety: the SHA-256 of every applied file is recorded. If an applied
 * file's contents changed, nothing is applied and OD_ERR_CONFLICT names the
 * file: an applied migration is never edited, a change is a new file.
 * Versions recorded in the database without a file here (a newer
 * deployment's migrations during a rolling update) are counted, not an
 * error.
 *
 * A migration file must not contain BEGIN/COMMIT, nor statements that
 * cannot run inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM).
 */
#ifndef OUTDIAL_MIGRATE_H
#define OUTDIAL_MIGRATE_H

#include <stddef.h>

#include "err.h"
#include "pg.h"

/* The advisory lock key of migrations ("outdial" in ASCII, then 01). Fixed
 * forever, so that every version of every service agrees on it; no other
 * outdial lock may use it. */
#define MIGRATE_LOCK_KEY 0x6f75746469616c01LL

/* One migration file, loaded. */
typedef struct migrate_file {
    int version;       /* NNN */
    char *name;        /* "init" for 001_init.sql */
    char *filename;    /* "001_init.sql" */
    char *sql;         /* the file's contents */
    size_t sql_len;    /* bytes */
    char checksum[65]; /* SHA-256 of the contents, lower-case hex */
} migrate_file_t;

/* The migrations of a directory, in version order. */
typedef struct migrate_set {
    char *dir;
    migrate_file_t *files;
    size_t count;
} migrate_set_t;

/* What a migrate_run did. */
typedef struct migrate_result {
    int applied; /* files applied by this run */
    int already; /* files that were already applied (checksums match) */
    int unknown; /* versions applied in the database that have no file here */
    int latest;  /* highest version applied in the database now, 0 if none */
} migrate_result_t;

/* Called after each migration this run applied and committed. */
typedef void (*migrate_applied_fn)(const migrate_file_t *file, void *opaque);

/* The migrations directory to use when none is given: env
 * OUTDIAL_MIGRATIONS_DIR if set and non-empty, else the source tree's
 * db/migrations (compiled in). Static or environment storage: not freed. */
const char *migrate_dir_default(void);

/* Reads every NNN_name.sql of dir (NULL = migrate_dir_default()). Other
 * files are ignored; a *.sql file with another name, two files of one
 * version, an unreadable file or a directory without migrations is
 * OD_ERR_INVALID / OD_ERR_NOT_FOUND with the path in errbuf. On success
 * *out is a new set the caller frees with migrate_set_free(). */
int migrate_set_load(const char *dir, migrate_set_t **out, char *errbuf, size_t errlen) OD_WUR;

/* Frees a set and its files; NULL is a no-op. */
void migrate_set_free(migrate_set_t *set);

/* Applies the pending migrations of dir (NULL = migrate_dir_default()) to
 * db's database under the advisory lock, creating schema_migrations if
 * needed. on_applied (may be NULL) is called after each migration applied.
 * result (may be NULL) is filled in, also on error with what was done.
 *
 * Errors: those of migrate_set_load; OD_ERR_CONFLICT for a changed applied
 * file or when db has a transaction open; for a failing migration, the
 * error of the statement (pg.h codes) with the file name, line and server
 * message in errbuf; migrations before it stay applied, it and later ones
 * are not. The connection is usable afterwards (unless it was lost). */
int migrate_run(pg_conn_t *db, const char *dir, migrate_applied_fn on_applied, void *opaque,
                migrate_result_t *result, char *errbuf, size_t errlen) OD_WUR;

/* A service's migrations at its start: waits for PostgreSQL (pg_conn_await
 * on dependency dep of d, added by pg_deps_add, until *stop), applies the
 * migrations of migrate_dir_default() on a connection named app, closes it
 * and logs the schema's version. A database lost during the run is marked
 * down (deps_failed) and waited for again. OD_OK once applied; the error of
 * pg_conn_await (OD_ERR_UNAVAILABLE when stopped while waiting); or that of
 * migrate_run with the database up, which a service treats as fatal. */
int migrate_when_up(deps_t *d, int dep, const atomic_bool *stop, const char *dsn, const char *app,
                    char *errbuf, size_t errlen) OD_WUR;

#endif

/*
 * outdial-migrate — applies the pending schema migrations to a database.
 *
 *   outdial-migrate [--dsn DSN] [--dir DIR]
 *
 * Prints one line per migration applied and a summary on stdout; errors
 * are JSON log lines on stderr. Safe to run from several processes at once
 * (lib/store/migrate.h). Exit status: 0 done (also when nothing was pending),
 * 1 error, 2 bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "migrate.h"
#include "pg.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: outdial-migrate [--dsn DSN] [--dir DIR]\n"
            "  --dsn DSN  PostgreSQL connection string (default: env OUTDIAL_PG_DSN)\n"
            "  --dir DIR  migrations directory (default: env OUTDIAL_MIGRATIONS_DIR, else %s)\n",
            migrate_dir_default());
}

static void print_applied(const migrate_file_t *file, void *opaque)
{
    (void)opaque;
    printf("applied %s (checksum %.12s)\n", file->filename, file->checksum);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    char err[1024];
    if (log_init("migrate", err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "outdial-migrate: %s\n", err);
        return 2;
    }
    const char *dsn = config_get_str("OUTDIAL_PG_DSN", NULL);
    const char *dir = NULL;
    static const struct option options[] = {
        {"dsn", required_argument, NULL, 'd'},
        {"dir", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'd':
            dsn = optarg;
            break;
        case 'm':
            dir = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "outdial-migrate: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!dsn) {
        fprintf(stderr, "outdial-migrate: no database: pass --dsn or set OUTDIAL_PG_DSN\n");
        return 2;
    }

    int status = 1;
    pg_conn_t *db = NULL;
    /* A wrong directory is reported at once, not after the connect retries. */
    migrate_set_t *set = NULL;
    if (migrate_set_load(dir, &set, err, sizeof(err)) != OD_OK) {
        log_error("migrate", "%s", err);
        goto out;
    }
    migrate_set_free(set);
    if (pg_conn_new(dsn, "outdial-migrate", NULL, &db, err, sizeof(err)) != OD_OK) {
        log_error("migrate", "%s", err);
        goto out;
    }
    migrate_result_t result;
    int rc = migrate_run(db, dir, print_applied, NULL, &result, err, sizeof(err));
    if (rc != OD_OK) {
        log_error("migrate", "%s", err);
        if (result.applied > 0)
            printf("%d migration(s) applied before the error\n", result.applied);
        goto out;
    }
    printf("schema at version %d: %d applied now, %d already applied", result.latest,
           result.applied, result.already);
    if (result.unknown > 0)
        printf(", %d newer in the database than in %s", result.unknown,
               dir ? dir : migrate_dir_default());
    printf("\n");
    status = 0;
out:
    pg_conn_free(db);
    return status;
}

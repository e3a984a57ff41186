/*
 * cli.c — outdial-importer's command line modes: import a local file,
 * resume an import, print the rejected rows.
 *
 * Progress goes to stderr: a bar redrawn in place when stderr is a
 * terminal, otherwise a plain line every PROGRESS_LINE_S seconds (logs,
 * CI). The summary (counts and the first rejected rows) goes to stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "importer_main.h"
#include "lead_map.h"
#include "log.h"
#include "pg.h"
#include "uuid.h"

/* How often the terminal bar is redrawn, and how often a plain progress
 * line is written when stderr is not a terminal. */
#define PROGRESS_BAR_S  0.1
#define PROGRESS_LINE_S 2.0
/* Rejected rows shown in the summary; the rest is in --rejects. */
#define SUMMARY_REJECTS 10

typedef struct progress_view {
    bool tty;
    double last_s;
    bool drawn;
} progress_view_t;

/* 1234567 -> "1,234,567" */
static const char *thousands(int64_t v, char *buf, size_t len)
{
    char digits[32];
    snprintf(digits, sizeof(digits), "%lld", (long long)(v < 0 ? -v : v));
    size_t n = strlen(digits), k = 0;
    if (v < 0 && k + 1 < len)
        buf[k++] = '-';
    for (size_t i = 0; i < n && k + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = '\0';
    return buf;
}

static int percent(const importer_progress_t *p)
{
    if (p->bytes_total <= 0)
        return 0;
    return (int)(100.0 * (double)p->bytes_done / (double)p->bytes_total);
}

static void progress_draw(const importer_progress_t *p, void *arg)
{
    progress_view_t *view = arg;
    if (p->elapsed_s - view->last_s < (view->tty ? PROGRESS_BAR_S : PROGRESS_LINE_S) &&
        p->bytes_done < p->bytes_total)
        return;
    view->last_s = p->elapsed_s;
    double rate = p->elapsed_s > 0 ? (double)p->rows_read / p->elapsed_s : 0;
    char a[32], b[32], c[32], d[32], e[32], f[32];
    int pct = percent(p);
    if (view->tty) {
        char bar[31];
        int fill = pct * 30 / 100;
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr,
                "\r%3d%% [%s] %s rows | %s imported, %s dup, %s dnc, %s rejected | %s rows/s\033[K",
                pct, bar, thousands(p->rows_read, a, sizeof(a)),
                thousands(p->rows_imported, b, sizeof(b)),
                thousands(p->rows_duplicate, c, sizeof(c)), thousands(p->rows_dnc, d, sizeof(d)),
                thousands(p->rows_rejected, e, sizeof(e)), thousands((int64_t)rate, f, sizeof(f)));
        view->drawn = true;
    } else {
        fprintf(stderr,
                "import %s: %d%%, %lld rows read, %lld imported, %lld duplicate, %lld dnc, %lld "
                "rejected (%.0f rows/s)\n",
                p->import_id, pct, (long long)p->rows_read, (long long)p->rows_imported,
                (long long)p->rows_duplicate, (long long)p->rows_dnc, (long long)p->rows_rejected,
                rate);
    }
    fflush(stderr);
}

static int summary_reject(const import_reject_t *r, void *arg)
{
    (void)arg;
    if (r->column_number > 0)
        printf("  row %lld, column %d: %s: %s\n", (long long)r->row_number, r->column_number,
               r->code, r->reason);
    else
        printf("  row %lld: %s: %s\n", (long long)r->row_number, r->code, r->reason);
    return 0;
}

static void summary_print(pg_conn_t *db, const importer_result_t *result)
{
    const importer_progress_t *p = &result->progress;
    const char *what = result->outcome == IMPORTER_COMPLETED ? "completed"
                       : result->outcome == IMPORTER_FAILED  ? "failed"
                                                             : "stopped";
    printf("import %s: %s", p->import_id, what);
    if (p->elapsed_s > 0)
        printf(" in %.1f s", p->elapsed_s);
    printf("\n");
    if (result->outcome == IMPORTER_FAILED)
        printf("  error: %s\n", result->error);
    printf("  rows read  %10lld\n"
           "  imported   %10lld\n"
           "  duplicate  %10lld\n"
           "  dnc        %10lld\n"
           "  rejected   %10lld\n",
           (long long)p->rows_read, (long long)p->rows_imported, (long long)p->rows_duplicate,
           (long long)p->rows_dnc, (long long)p->rows_rejected);
    if (p->secondary_phones_rejected > 0)
        printf("  secondary phones left out of imported rows %lld\n",
               (long long)p->secondary_phones_rejected);
    if (p->rows_rejected > 0 || p->secondary_phones_rejected > 0) {
        printf("first rejected rows (row 1 is the first row under the header):\n");
        char err[512];
        if (import_rejects_each(db, p->import_id, IMPORT_REJECTS_FIRST, SUMMARY_REJECTS,
                                summary_reject, NULL, err, sizeof(err)) != OD_OK)
            printf("  (cannot list them: %s)\n", err);
        if (p->rows_rejected + p->secondary_phones_rejected > SUMMARY_REJECTS)
            printf("  ... all of them: outdial-importer --rejects %s > rejects.csv\n",
                   p->import_id);
    }
    if (result->outcome == IMPORTER_STOPPED)
        printf("resume with: outdial-importer --resume %s\n", p->import_id);
    fflush(stdout);
}

/* Runs import_id with progress and prints the summary; the exit status. */
static int run_and_report(const importer_settings_t *s, pg_conn_t *db, const char *import_id)
{
    char err[1024];
    importer_config_t cfg = {
        .dsn = s->dsn,
        .workers = s->workers,
        .batch_rows = s->batch_rows,
        .stop = &importer_stop,
    };
    progress_view_t view = {.tty = isatty(STDERR_FILENO) == 1};
    importer_result_t result;
    int rc = importer_run(db, &cfg, import_id, progress_draw, &view, &result, err, sizeof(err));
    if (view.drawn)
        fprintf(stderr, "\n");
    if (rc != OD_OK) {
        fprintf(stderr, "outdial-importer: import %s: %s\n", import_id, err);
        if (rc == OD_ERR_NOT_FOUND || rc == OD_ERR_INVALID)
            return EXIT_FAILED;
        fprintf(stderr, "outdial-importer: the import can go on: outdial-importer --resume %s\n",
                import_id);
        return EXIT_RESUMABLE;
    }
    summary_print(db, &result);
    switch (result.outcome) {
    case IMPORTER_COMPLETED:
        return EXIT_DONE;
    case IMPORTER_FAILED:
        return EXIT_FAILED;
    case IMPORTER_STOPPED:
        return EXIT_RESUMABLE;
    }
    return EXIT_FAILED;
}

static pg_conn_t *connect_db(const importer_settings_t *s)
{
    char err[1024];
    pg_conn_t *db = NULL;
    if (pg_conn_new(s->dsn, "outdial-importer", NULL, &db, err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "outdial-importer: %s\n", err);
        return NULL;
    }
    return db;
}

int cli_import_file(const importer_settings_t *s, const char *campaign_id, const char *map,
                    const char *region, const char *path)
{
    char err[1024];
    lead_map_spec_t *spec = NULL;
    pg_conn_t *db = NULL;
    int status = EXIT_FAILED;
    if (map && lead_map_spec_parse(map, &spec, err, sizeof(err)) != OD_OK) {
        fprintf(stderr, "outdial-importer: --map: %s\n", err);
        status = EXIT_USAGE;
        goto out;
    }
    if (!(db = connect_db(s)))
        goto out;
    char import_id[37];
    int rc = importer_file_stage(db, campaign_id, path, region, spec, import_id, err, sizeof(err));
    if (rc != OD_OK) {
        fprintf(stderr, "outdial-importer: %s\n", err);
        status = rc == OD_ERR_INVALID ? EXIT_USAGE : EXIT_FAILED;
        goto out;
    }
    fprintf(stderr, "import %s: %s staged\n", import_id, path);
    status = run_and_report(s, db, import_id);
out:
    lead_map_spec_free(spec);
    pg_conn_free(db);
    return status;
}

int cli_import_resume(const importer_settings_t *s, const char *import_id)
{
    if (!uuid_str_valid(import_id)) {
        fprintf(stderr, "outdial-importer: '%s' is not an import id (a UUID)\n", import_id);
        return EXIT_USAGE;
    }
    pg_conn_t *db = connect_db(s);
    if (!db)
        return EXIT_FAILED;
    int status = run_and_report(s, db, import_id);
    pg_conn_free(db);
    return status;
}

static int write_stdout(const char *data, size_t len, void *arg)
{
    (void)arg;
    return fwrite(data, 1, len, stdout) == len ? 0 : OD_ERR_IO;
}

int cli_rejects(const importer_settings_t *s, const char *import_id)
{
    char err[1024];
    pg_conn_t *db = connect_db(s);
    if (!db)
        return EXIT_FAILED;
    int rc = import_rejects_csv(db, import_id, write_stdout, NULL, err, sizeof(err));
    if (rc == OD_ERR_IO)
        snprintf(err, sizeof(err), "writing to stdout failed");
    if (rc != OD_OK)
        fprintf(stderr, "outdial-importer: %s\n", err);
    if (fflush(stdout) != 0 && rc == OD_OK) {
        fprintf(stderr, "outdial-importer: writing to stdout failed\n");
        rc = OD_ERR_IO;
    }
    pg_conn_free(db);
    return rc == OD_OK ? EXIT_DONE : EXIT_FAILED;
}

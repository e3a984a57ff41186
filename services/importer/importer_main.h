/*
 * importer_main.h — what main.c hands to the two modes of outdial-importer:
 * the file/resume command line (cli.c) and the service (service.c).
 */
#ifndef OUTDIAL_IMPORTER_MAIN_H
#define OUTDIAL_IMPORTER_MAIN_H

#include <signal.h>
#include <stdatomic.h>

#include "import_rejects.h"
#include "importer.h"

/* Exit statuses. */
#define EXIT_DONE      0 /* completed (rows may have been rejected) */
#define EXIT_FAILED    1 /* the import failed as a whole, or an error */
#define EXIT_USAGE     2 /* bad arguments or configuration */
#define EXIT_RESUMABLE 3 /* stopped or interrupted: resume with --resume ID */

/* Set by SIGINT/SIGTERM. */
extern atomic_bool importer_stop;

/* Settings shared by every mode (environment, overridden by options). */
typedef struct importer_settings {
    const char *dsn; /* OUTDIAL_PG_DSN */
    int workers;     /* OUTDIAL_IMPORTER_WORKERS, 0 = one per CPU */
    int batch_rows;  /* OUTDIAL_IMPORTER_BATCH_ROWS */
} importer_settings_t;

/* `outdial-importer --campaign ID [--map ...] [--region XX] FILE` */
int cli_import_file(const importer_settings_t *s, const char *campaign_id, const char *map,
                    const char *region, const char *path);
/* `outdial-importer --resume IMPORT_ID` */
int cli_import_resume(const importer_settings_t *s, const char *import_id);
/* `outdial-importer --rejects IMPORT_ID`: the rejected rows as CSV on stdout. */
int cli_rejects(const importer_settings_t *s, const char *import_id);

/* The service: runs until importer_stop is set; returns an exit status. */
int service_run(const importer_settings_t *s);

#endif

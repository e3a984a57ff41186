/*
 * importer.h — CSV imports into a campaign's leads (docs/architecture.md §7).
 *
 * An import is a row of `import` plus its raw bytes in `import_staging`
 * (chunks split anywhere), written by lib/ingest/import_stage: the API
 * streams uploads through it, and importer_file_stage a local file.
 * importer_run then reads the staged bytes, parses them
 * (lib/ingest/csv_reader), maps and validates every row
 * (lib/ingest/lead_map, on a pool of worker threads) and merges them into
 * `lead` in bounded transactions of cfg->batch_rows rows:
 *
 *   BEGIN
 *   COPY the batch's leads into a temp table
 *   INSERT INTO lead ... SELECT ... ON CONFLICT DO NOTHING   (primaries; DNC skipped)
 *   INSERT INTO lead ... secondary contacts of the primaries just inserted
 *   COPY the batch's rejected rows into import_reject
 *   UPDATE import SET bytes_done, row_number_done, counters   (the resume point)
 *   COMMIT
 *
 * Because the resume point commits with the rows before it, an importer
 * killed at any moment and run again (importer_run on the same import)
 * continues exactly after the last committed batch: every row ends in
 * exactly one of imported, duplicate, dnc, rejected, once. The counters
 * are visible to anyone reading the import row while it runs.
 *
 * Outcomes per row: imported; duplicate (its number is already a lead of
 * the campaign, from this file or before; or its external_id is); dnc (the
 * number is on the account's dnc list); rejected (import_reject, with the
 * row number, a reason code and a message). A secondary phone cell that is
 * not a valid number does not reject its row: the lead is imported without
 * it and the cell is an import_reject of its own, with its column, counted
 * in secondary_phones_rejected. A row whose primary is a
 * duplicate or DNC brings no secondary contacts; a secondary contact that
 * is DNC or already in the campaign is left out of an imported row.
 *
 * Whole-import failures (status failed, message in import.error): a file
 * that is not CSV text (UTF-16), no header, no phone column, an explicit
 * mapping naming a missing column, a quote that never closes. Rows merged
 * before the failure stay.
 *
 * Concurrency: a Postgres advisory lock per import (two-key form, class
 * IMPORTER_LOCK_CLASS) makes sure only one importer process runs an import
 * at a time; another gets OD_ERR_CONFLICT.
 */
#ifndef OUTDIAL_IMPORTER_H
#define OUTDIAL_IMPORTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "csv_reader.h"
#include "err.h"
#include "lead_map.h"
#include "pg.h"

/* Rows per transaction. Large enough that per-transaction costs (a few
 * round trips, the commit) vanish against the rows, small enough that a
 * batch (~1 MB of text) and a transaction stay small and progress moves
 * every fraction of a second. */
#define IMPORTER_BATCH_ROWS_DEFAULT 5000
#define IMPORTER_BATCH_ROWS_MAX     100000
/* Advisory lock class of imports ("impt"); the second key is
 * hashtext(import id). MIGRATE_LOCK_KEY uses the one-key form, which never
 * collides with the two-key form. */
#define IMPORTER_LOCK_CLASS 0x696d7074
/* Conflicts (deadlock, serialization) with concurrent writers of the same
 * campaign's leads are retried this many times per batch before the run
 * gives up (it can be resumed). */
#define IMPORTER_BATCH_RETRIES 3

typedef struct importer_config {
    const char *dsn;         /* for the staging reader's own connection; required */
    int workers;             /* row-validating threads; 0: one per online CPU */
    int batch_rows;          /* rows per transaction; 0: IMPORTER_BATCH_ROWS_DEFAULT */
    const atomic_bool *stop; /* when set, the run stops after the current batch; may be NULL */
} importer_config_t;

/* Counters of an import (as in its row). */
typedef struct importer_progress {
    char import_id[37];
    int64_t bytes_total;
    int64_t bytes_done;
    int64_t rows_read;
    int64_t rows_imported;
    int64_t rows_duplicate;
    int64_t rows_dnc;
    int64_t rows_rejected;
    int64_t secondary_phones_rejected; /* cells left out of imported rows */
    double elapsed_s;                  /* since this run started */
} importer_progress_t;

/* Called on the caller's thread once when a run starts (with the counters
 * so far: a resumed import's) and after every committed batch. */
typedef void (*importer_progress_fn)(const importer_progress_t *progress, void *arg);

typedef enum importer_outcome {
    IMPORTER_COMPLETED = 0, /* every row merged (now or before) */
    IMPORTER_FAILED,        /* the import failed as a whole; see error */
    IMPORTER_STOPPED,       /* cfg->stop was set; resumable */
} importer_outcome_t;

typedef struct importer_result {
    importer_outcome_t outcome;
    importer_progress_t progress;
    char error[512]; /* IMPORTER_FAILED: the import's error */
} importer_result_t;

/*
 * Creates an import of the local file at path into campaign_id: the import
 * row (source file, status pending, region and mapping as given, both may
 * be NULL) and the file's bytes staged (lib/ingest/import_stage.h), in
 * one transaction, so an import either exists with all its bytes or not at
 * all. Writes the new import's id into import_id.
 * Errors: OD_ERR_NOT_FOUND (no such campaign), OD_ERR_INVALID (empty
 * file, bad region, bad id), OD_ERR_IO (file unreadable), pg.h codes.
 */
int importer_file_stage(pg_conn_t *db, const char *campaign_id, const char *path,
                        const char *region, const lead_map_spec_t *spec, char import_id[37],
                        char *errbuf, size_t errlen) OD_WUR;

/*
 * Runs import_id to its end (or resumes it), calling progress (may be
 * NULL) after each batch. Returns OD_OK with *result filled when the
 * import completed or failed as a whole (result->outcome says which; a
 * failed import is marked so in its row) or was stopped. An import that had
 * already finished is reported as it is. Otherwise an error, with the import
 * left as it was at its last commit (resumable): OD_ERR_NOT_FOUND (no such
 * import), OD_ERR_CONFLICT (another importer runs it, or its upload is not
 * fully staged yet), OD_ERR_UNAVAILABLE and other pg.h codes.
 * db must not be in a transaction; it is used by this thread only.
 */
int importer_run(pg_conn_t *db, const importer_config_t *cfg, const char *import_id,
                 importer_progress_fn progress, void *arg, importer_result_t *result, char *errbuf,
                 size_t errlen) OD_WUR;

/*
 * Prepares the import an ImportRequest names before it is run: checks that
 * it exists and belongs to the request's campaign, and copies the request's
 * column mapping and region onto the import row when the API left those
 * empty there (the import row is what importer_run and a resume read).
 * OD_ERR_NOT_FOUND / OD_ERR_INVALID for a request that names no such
 * import or the wrong campaign (nothing to retry).
 */
int importer_request_prepare(pg_conn_t *db, const importrequest_t *req, char *errbuf,
                             size_t errlen) OD_WUR;

#endif

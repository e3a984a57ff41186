/*
 * import_stage.h — the one writer of an import's raw bytes into
 * import_staging. The API streams an upload through it as the body
 * arrives; outdial-importer stages a local file through it as it reads.
 *
 * The bytes go in rows of IMPORT_STAGE_CHUNK_BYTES (the last one shorter),
 * seq 0, 1, ..., split anywhere: only the importer's CSV parser knows where
 * records end. They travel as one COPY import_staging FROM STDIN in text
 * format (bytea as hex), so nothing holds more than the caller's piece and
 * one IMPORT_STAGE_HEX_BUF buffer in memory, whatever the file's size.
 *
 * Use, on a connection in a transaction the caller began:
 *   import_stage_open   starts the COPY
 *   import_stage_append any number of times, pieces of any size
 *   import_stage_finish ends the COPY and writes import.bytes_total
 * then the caller commits: the import has all its bytes, or (rolled back)
 * none. An import whose bytes_total is NULL is not staged yet, and the
 * importer leaves it alone. import_stage_free on a stage that did not
 * finish aborts the COPY; the transaction has then failed and the caller
 * rolls it back. Nothing else may run on the connection between open and
 * finish.
 */
#ifndef OUTDIAL_IMPORT_STAGE_H
#define OUTDIAL_IMPORT_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "lead_map.h"
#include "pg.h"

/* 1 MiB of raw bytes per staging row: few rows for any file, and one row
 * is nothing in memory. */
#define IMPORT_STAGE_CHUNK_BYTES ((size_t)1024 * 1024)
/* COPY text handed to libpq per call: large enough that the calls cost
 * nothing, small enough to be nothing in memory per upload. */
#define IMPORT_STAGE_HEX_BUF ((size_t)64 * 1024)

/* Where an import's bytes come from (import.source). */
#define IMPORT_SOURCE_UPLOAD "upload"
#define IMPORT_SOURCE_FILE   "file"

/*
 * Inserts an import of campaign_id, status pending and not staged yet:
 * source (IMPORT_SOURCE_*), filename, region (NULL or "": the account's)
 * and spec (may be NULL) as its column mapping. Writes its id into
 * import_id. Runs in the caller's transaction, or on its own outside one.
 * The caller has checked the campaign exists (a missing one fails the
 * foreign key: OD_ERR_INVALID). Errors as pg_stmt_exec.
 */
int import_stage_create(pg_conn_t *db, const char *source, const char *campaign_id,
                        const char *filename, const char *region, const lead_map_spec_t *spec,
                        char import_id[37], char *errbuf, size_t errlen) OD_WUR;

typedef struct import_stage import_stage_t;

/* Starts staging the bytes of import_id (36 characters, copied) on db,
 * which must be in a transaction; db is borrowed until import_stage_free.
 * On success *out is freed with import_stage_free. Errors as
 * pg_stmt_exec. */
int import_stage_open(pg_conn_t *db, const char *import_id, import_stage_t **out, char *errbuf,
                      size_t errlen) OD_WUR;

/* Appends len bytes. OD_ERR_UNAVAILABLE when the connection failed. */
int import_stage_append(import_stage_t *st, const void *data, size_t len, char *errbuf,
                        size_t errlen) OD_WUR;

/* Bytes appended so far. */
int64_t import_stage_bytes(const import_stage_t *st);

/* Ends the COPY (reporting what the server said of it) and sets the
 * import's bytes_total to the bytes appended. The caller commits. */
int import_stage_finish(import_stage_t *st, char *errbuf, size_t errlen) OD_WUR;

/* Frees st, aborting its COPY if it did not finish. NULL is a no-op. */
void import_stage_free(import_stage_t *st);

#endif

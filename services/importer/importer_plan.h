/*
 * importer_plan.h — the decisions of an import run (importer.c), apart
 * from its I/O so that tables of cases test them (tests/unit/
 * test_importer_plan.c).
 *
 * Pure: no I/O, no clock, no locks.
 *
 *   start    what a run does with the import row it finds:
 *              status completed            -> report it completed
 *              status failed               -> report it failed (its error)
 *              bytes_total NULL (upload
 *              still streaming)            -> OD_ERR_CONFLICT, retry later
 *              otherwise (pending/running) -> run (or resume) it
 *   resume   where the data pass starts: after the last committed batch
 *            (bytes_done, row_number_done + 1) if that is past the
 *            header, else right after the header at data row 1
 *   counts   the import's counters after a committed batch: every row
 *            read is imported, duplicate, dnc or rejected, once; the
 *            secondary phone cells left out of rows count apart
 *   direct   whether a batch may go straight into lead (importer.c,
 *            batch_write_once): only without external ids, with numbers
 *            the direct path can check, and while the run has not given
 *            the direct path up
 *   end      how a run whose batches were all written ends: stopped on
 *            request (resumable), the import failed as a whole (the file
 *            is at fault), an error (the database; resumable), or
 *            completed
 */
#ifndef OUTDIAL_IMPORTER_PLAN_H
#define OUTDIAL_IMPORTER_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "importer_batch.h"

typedef enum importer_start {
    IMPORTER_START_RUN = 0,
    IMPORTER_START_COMPLETED, /* finished before: report it */
    IMPORTER_START_FAILED,    /* failed before: report it */
    IMPORTER_START_UNSTAGED,  /* its upload is not completely staged yet */
} importer_start_t;

/* status: import.status; bytes_total: -1 when NULL. */
importer_start_t importer_start_decide(const char *status, int64_t bytes_total);

/* An import's counters and resume point, as in its row. */
typedef struct importer_counts {
    int64_t bytes_done;
    int64_t row_number_done;
    int64_t rows_read;
    int64_t rows_imported;
    int64_t rows_duplicate;
    int64_t rows_dnc;
    int64_t rows_rejected;
    int64_t secondary_phones_rejected; /* cells of rows counted above */
} importer_counts_t;

typedef struct importer_resume {
    uint64_t offset;    /* stream offset of the first byte to parse */
    uint64_t first_row; /* data row number of the row there */
} importer_resume_t;

/* header_end: the stream offset right after the header row. */
importer_resume_t importer_resume_point(const importer_counts_t *counts, uint64_t header_end);

/* The counters after b was written: imported of its primaries went in, dnc
 * were on the DNC list, the other primaries were duplicates. */
importer_counts_t importer_counts_after(const importer_counts_t *before, const importer_batch_t *b,
                                        int64_t imported, int64_t dnc);

/* Whether b may go the direct way (see above). direct_off: the run gave
 * the direct path up. */
bool importer_direct_decide(const importer_batch_t *b, bool direct_off);

/* Mapping threads for a run: configured (0: one per online CPU, cpus; a
 * cpus <= 0 counts as 1), at most IMPORTER_WORKERS_MAX. */
#define IMPORTER_WORKERS_MAX 64
int importer_workers_decide(int configured, long cpus);

typedef enum importer_end {
    IMPORTER_END_COMPLETE = 0,
    IMPORTER_END_STOPPED,     /* stop was asked for: resumable */
    IMPORTER_END_FAIL_IMPORT, /* the file is at fault: the import fails */
    IMPORTER_END_ERROR,       /* the parser's error is the run's (resumable) */
} importer_end_t;

/* stopped: the writer stopped on request; parser_rc: the parser thread's
 * error (0: none); parser_data_error: it is the file's fault. */
importer_end_t importer_end_decide(bool stopped, int parser_rc, bool parser_data_error);

#endif

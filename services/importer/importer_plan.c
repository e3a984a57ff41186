/*
 * importer_plan.c — the decisions of an import run; see importer_plan.h.
 */
#include "importer_plan.h"

#include <string.h>

importer_start_t importer_start_decide(const char *status, int64_t bytes_total)
{
    if (strcmp(status, "completed") == 0)
        return IMPORTER_START_COMPLETED;
    if (strcmp(status, "failed") == 0)
        return IMPORTER_START_FAILED;
    if (bytes_total < 0)
        return IMPORTER_START_UNSTAGED;
    return IMPORTER_START_RUN;
}

importer_resume_t importer_resume_point(const importer_counts_t *counts, uint64_t header_end)
{
    importer_resume_t r = {.offset = header_end, .first_row = 1};
    if (counts->bytes_done > 0 && (uint64_t)counts->bytes_done > header_end) {
        r.offset = (uint64_t)counts->bytes_done;
        r.first_row = (uint64_t)counts->row_number_done + 1;
    }
    return r;
}

importer_counts_t importer_counts_after(const importer_counts_t *before, const importer_batch_t *b,
                                        int64_t imported, int64_t dnc)
{
    importer_counts_t c = *before;
    c.bytes_done = (int64_t)b->end_offset;
    c.row_number_done = (int64_t)b->last_row;
    c.rows_read += (int64_t)b->n_rows;
    c.rows_imported += imported;
    c.rows_duplicate += (int64_t)b->n_primary - imported - dnc;
    c.rows_dnc += dnc;
    c.rows_rejected += (int64_t)b->n_rejected;
    c.secondary_phones_rejected += (int64_t)b->n_cell_rejected;
    return c;
}

bool importer_direct_decide(const importer_batch_t *b, bool direct_off)
{
    return !direct_off && b->n_external == 0 && !b->direct_unusable && b->n_direct > 0;
}

int importer_workers_decide(int configured, long cpus)
{
    long workers = configured > 0 ? configured : (cpus > 0 ? cpus : 1);
    return workers > IMPORTER_WORKERS_MAX ? IMPORTER_WORKERS_MAX : (int)workers;
}

importer_end_t importer_end_decide(bool stopped, int parser_rc, bool parser_data_error)
{
    if (stopped)
        return IMPORTER_END_STOPPED;
    if (parser_rc && parser_data_error)
        return IMPORTER_END_FAIL_IMPORT;
    if (parser_rc)
        return IMPORTER_END_ERROR;
    return IMPORTER_END_COMPLETE;
}

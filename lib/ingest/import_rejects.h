/*
 * import_rejects.h — the rejected rows of an import, read back (the API's
 * list and CSV download, the importer's summary). The importer writes them
 * into import_reject (importer.h); this module only reads.
 */
#ifndef OUTDIAL_IMPORT_REJECTS_H
#define OUTDIAL_IMPORT_REJECTS_H

#include <stdbool.h>
#include <stdint.h>

#include "csv_reader.h"
#include "err.h"
#include "pg.h"

/* One rejected row, or one rejected cell of an imported row (a secondary
 * phone left out of its lead: column_number > 0). Strings valid during the
 * callback. */
typedef struct import_reject {
    int64_t row_number;
    int column_number;       /* 1-based; 0: the whole row */
    const char *column_name; /* the cell's header; NULL for the whole row */
    const char *code;
    const char *reason;
    const char *raw_row;
} import_reject_t;

typedef int (*import_reject_fn)(const import_reject_t *reject, void *arg);

/* Where a page of rejects goes on: after (row_number, column_number). A
 * whole row's reject has column 0 and no cell rejects, so {row, INT_MAX}
 * is "after row". */
typedef struct import_reject_pos {
    int64_t row_number;
    int column_number;
} import_reject_pos_t;

/* Before the first reject. */
#define IMPORT_REJECTS_FIRST ((import_reject_pos_t){0, 0})

/* Calls fn for the rejects of import_id after the position after, in
 * (row, column) order, at most limit of them (0: all), fetching them in
 * pages so that memory stays bounded. A non-zero return of fn stops and is
 * returned. */
int import_rejects_each(pg_conn_t *db, const char *import_id, import_reject_pos_t after,
                        int64_t limit, import_reject_fn fn, void *arg, char *errbuf,
                        size_t errlen) OD_WUR;

/* The page cursor of a position, "ROW" or "ROW.COLUMN" (cursor_len >= 32),
 * and back: a cursor that is neither is false. ROW alone is after the
 * whole row. Pure. */
void import_reject_cursor_format(import_reject_pos_t pos, char *cursor, size_t cursor_len);
bool import_reject_cursor_parse(const char *cursor, import_reject_pos_t *pos);

/* Receives the rejects CSV piece by piece; non-zero stops. */
typedef int (*import_write_fn)(const char *data, size_t len, void *arg);

/*
 * The rejected rows of import_id as a CSV file (the API's download):
 *
 *   row,reason_code,reason,<the file's header columns>
 *   7,missing_phone,the phone number is empty (column 'phone'),,Ann,Acme
 *
 * row is the data row number (row 1 = the first row under the header, i.e.
 * line 2 of a spreadsheet); a rejected cell of an imported row is a line
 * of its own (code invalid_secondary_phone, the reason naming the column
 * and saying the lead was imported); the original columns follow as they were in the
 * file (invalid UTF-8 replaced by U+FFFD), so the user can fix them and
 * upload the rows again. Streamed to write in pieces. OD_ERR_NOT_FOUND for an
 * unknown import.
 */
int import_rejects_csv(pg_conn_t *db, const char *import_id, import_write_fn write, void *arg,
                       char *errbuf, size_t errlen) OD_WUR;

/* One line of that CSV (with its line break), appended to out. */
void import_rejects_csv_line(csv_buf_t *out, const import_reject_t *reject);

#endif

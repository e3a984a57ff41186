/*
 * import_rejects.h — the rejected rows of an import, read back (the API's
 * list and CSV download, the importer's summary). The importer writes them
 * into import_reject (importer.h); this module only reads.
 */
#ifndef OUTDIAL_IMPORT_REJECTS_H
#define OUTDIAL_IMPORT_REJECTS_H

#include <stdint.h>

#include "csv_reader.h"
#include "err.h"
#include "pg.h"

/* One rejected row. Strings valid during the callback. */
typedef struct import_reject {
    int64_t row_number;
    const char *code;
    const char *reason;
    const char *raw_row;
} import_reject_t;

typedef int (*import_reject_fn)(const import_reject_t *reject, void *arg);

/* Calls fn for the rejected rows of import_id with row numbers after
 * after_row, in row order, at most limit of them (0: all), fetching them
 * in pages so that memory stays bounded. A non-zero return of fn stops and
 * is returned. */
int import_rejects_each(pg_conn_t *db, const char *import_id, int64_t after_row, int64_t limit,
                        import_reject_fn fn, void *arg, char *errbuf, size_t errlen) OD_WUR;

/* Receives the rejects CSV piece by piece; non-zero stops. */
typedef int (*import_write_fn)(const char *data, size_t len, void *arg);

/*
 * The rejected rows of import_id as a CSV file (the API's download):
 *
 *   row,reason_code,reason,<the file's header columns>
 *   7,missing_phone,the phone number is empty (column 'phone'),,Ann,Acme
 *
 * row is the data row number (row 1 = the first row under the header, i.e.
 * line 2 of a spreadsheet); the original columns follow as they were in the
 * file (invalid UTF-8 replaced by U+FFFD), so the user can fix them and
 * upload the rows again. Streamed to write in pieces. OD_ERR_NOT_FOUND for an
 * unknown import.
 */
int import_rejects_csv(pg_conn_t *db, const char *import_id, import_write_fn write, void *arg,
                       char *errbuf, size_t errlen) OD_WUR;

/* One line of that CSV (with its line break), appended to out. */
void import_rejects_csv_line(csv_buf_t *out, const import_reject_t *reject);

#endif

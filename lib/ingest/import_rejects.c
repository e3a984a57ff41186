/* import_rejects.c — see import_rejects.h. */
#include "import_rejects.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uuid.h"

static int64_t field_int(const PGresult *res, int row, int col, int64_t null_value)
{
    if (PQgetisnull(res, row, col))
        return null_value;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static const pg_stmt_t stmt_rejects_page = {
    "import_rejects_page",
    "SELECT row_number, column_number, column_name, code, reason, raw_row FROM import_reject"
    " WHERE import_id = $1::uuid AND (row_number, column_number) > ($2::int, $3::int)"
    " ORDER BY row_number, column_number LIMIT $4",
    4};

void import_reject_cursor_format(import_reject_pos_t pos, char *cursor, size_t cursor_len)
{
    if (pos.column_number > 0)
        snprintf(cursor, cursor_len, "%lld.%d", (long long)pos.row_number, pos.column_number);
    else
        snprintf(cursor, cursor_len, "%lld", (long long)pos.row_number);
}

bool import_reject_cursor_parse(const char *cursor, import_reject_pos_t *pos)
{
    char *end = NULL;
    if (!cursor || !isdigit((unsigned char)cursor[0]))
        return false;
    errno = 0;
    long long row = strtoll(cursor, &end, 10);
    if (errno || row > INT32_MAX)
        return false;
    long column = INT_MAX;
    if (*end == '.') {
        const char *col = end + 1;
        if (!isdigit((unsigned char)col[0]))
            return false;
        column = strtol(col, &end, 10);
        if (errno || column < 1 || column > INT_MAX)
            return false;
    }
    if (*end)
        return false;
    pos->row_number = row;
    pos->column_number = (int)column;
    return true;
}

/* Rows fetched per query: bounded memory for any number of rejects. */
#define REJECTS_PAGE 1000

int import_rejects_each(pg_conn_t *db, const char *import_id, import_reject_pos_t after,
                        int64_t limit, import_reject_fn fn, void *arg, char *errbuf, size_t errlen)
{
    if (!uuid_str_valid(import_id))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "import id '%s' is not a UUID", import_id);
    int64_t sent = 0;
    for (;;) {
        int64_t page = REJECTS_PAGE;
        if (limit > 0 && limit - sent < page)
            page = limit - sent;
        if (page <= 0)
            return OD_OK;
        char row[24], column[24], pagetext[24];
        snprintf(row, sizeof(row), "%lld", (long long)after.row_number);
        snprintf(column, sizeof(column), "%d", after.column_number);
        snprintf(pagetext, sizeof(pagetext), "%lld", (long long)page);
        const char *params[4] = {import_id, row, column, pagetext};
        PGresult *res = NULL;
        int rc = pg_stmt_exec(db, &stmt_rejects_page, params, &res, errbuf, errlen);
        if (rc)
            return rc;
        int n = PQntuples(res);
        for (int i = 0; i < n && rc == OD_OK; i++) {
            import_reject_t r = {
                .row_number = field_int(res, i, 0, 0),
                .column_number = (int)field_int(res, i, 1, 0),
                .column_name = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
                .code = PQgetvalue(res, i, 3),
                .reason = PQgetvalue(res, i, 4),
                .raw_row = PQgetvalue(res, i, 5),
            };
            rc = fn(&r, arg);
            after.row_number = r.row_number;
            after.column_number = r.column_number;
            sent++;
        }
        PQclear(res);
        if (rc)
            return rc;
        if (n < page)
            return OD_OK;
    }
}

void import_rejects_csv_line(csv_buf_t *out, const import_reject_t *reject)
{
    csv_buf_printf(out, "%lld,", (long long)reject->row_number);
    csv_field_append(out, reject->code, strlen(reject->code), ',');
    csv_buf_putc(out, ',');
    csv_field_append(out, reject->reason, strlen(reject->reason), ',');
    if (reject->raw_row && *reject->raw_row) {
        csv_buf_putc(out, ',');
        /* Already CSV text (comma-separated, quoted as needed). */
        csv_buf_puts(out, reject->raw_row);
    }
    csv_buf_puts(out, "\r\n");
}

typedef struct rejects_csv {
    csv_buf_t buf;
    import_write_fn write;
    void *arg;
} rejects_csv_t;

/* Sends what has accumulated once it is worth a write. */
#define REJECTS_FLUSH_BYTES (64 * 1024)

static int rejects_csv_row(const import_reject_t *reject, void *arg)
{
    rejects_csv_t *rc = arg;
    import_rejects_csv_line(&rc->buf, reject);
    if (rc->buf.len < REJECTS_FLUSH_BYTES)
        return 0;
    int ret = rc->write(rc->buf.data, rc->buf.len, rc->arg);
    csv_buf_reset(&rc->buf);
    return ret;
}

static const pg_stmt_t stmt_rejects_header = {"import_rejects_header",
                                              "SELECT header FROM import WHERE id = $1::uuid", 1};

int import_rejects_csv(pg_conn_t *db, const char *import_id, import_write_fn write, void *arg,
                       char *errbuf, size_t errlen)
{
    if (!uuid_str_valid(import_id))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "import id '%s' is not a UUID", import_id);
    rejects_csv_t state = {.write = write, .arg = arg};
    PGresult *res = NULL;
    const char *params[1] = {import_id};
    int rc = pg_stmt_exec_row(db, &stmt_rejects_header, params, "import", &res, errbuf, errlen);
    if (rc)
        goto out;
    csv_buf_puts(&state.buf, "row,reason_code,reason");
    if (!PQgetisnull(res, 0, 0) && *PQgetvalue(res, 0, 0)) {
        csv_buf_putc(&state.buf, ',');
        csv_buf_puts(&state.buf, PQgetvalue(res, 0, 0));
    }
    csv_buf_puts(&state.buf, "\r\n");
    rc = import_rejects_each(db, import_id, IMPORT_REJECTS_FIRST, 0, rejects_csv_row, &state,
                             errbuf, errlen);
    if (rc == OD_OK && state.buf.len > 0)
        rc = write(state.buf.data, state.buf.len, arg);
out:
    PQclear(res);
    csv_buf_free(&state.buf);
    return rc;
}

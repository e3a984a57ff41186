/*
 * pg_copy.c — COPY ... FROM STDIN; see pg_copy.h.
 */
#include "pg_copy.h"

#include <stdlib.h>

int pg_copy_begin(pg_conn_t *db, const char *sql, const char *what, char *errbuf, size_t errlen)
{
    PGresult *r = PQexec(pg_conn_get(db), sql);
    if (PQresultStatus(r) == PGRES_COPY_IN) {
        PQclear(r);
        return OD_OK;
    }
    int rc = pg_result_check(db, r, what, NULL, errbuf, errlen);
    return rc ? rc : od_fail(errbuf, errlen, OD_ERR_INTERNAL, "%s: no COPY started", what);
}

int pg_copy_put(pg_conn_t *db, const char *data, size_t len, const char *what, char *errbuf,
                size_t errlen)
{
    PGconn *conn = pg_conn_get(db);
    if (len > 0 && PQputCopyData(conn, data, (int)len) != 1)
        return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "%s: %s", what, PQerrorMessage(conn));
    return OD_OK;
}

/* The COPY's own result, then read to the end so that the connection is
 * ready for the next statement. */
static int copy_result(pg_conn_t *db, const char *what, int64_t *rows, char *errbuf, size_t errlen)
{
    PGconn *conn = pg_conn_get(db);
    PGresult *done = NULL;
    int rc = pg_result_check(db, PQgetResult(conn), what, &done, errbuf, errlen);
    if (rc == OD_OK && rows)
        *rows = strtoll(PQcmdTuples(done), NULL, 10);
    PQclear(done);
    PGresult *r;
    while ((r = PQgetResult(conn)) != NULL)
        PQclear(r);
    return rc;
}

int pg_copy_end(pg_conn_t *db, const char *what, int64_t *rows, char *errbuf, size_t errlen)
{
    PGconn *conn = pg_conn_get(db);
    bool ended = PQputCopyEnd(conn, NULL) == 1;
    int rc = copy_result(db, what, rows, errbuf, errlen);
    if (rc == OD_OK && !ended)
        rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "%s: %s", what, PQerrorMessage(conn));
    return rc;
}

void pg_copy_abort(pg_conn_t *db)
{
    char ignored[256];
    (void)PQputCopyEnd(pg_conn_get(db), "the sender aborted the COPY");
    /* Checked all the same, so that a lost connection is noticed. */
    (void)copy_result(db, "COPY", NULL, ignored, sizeof(ignored));
}

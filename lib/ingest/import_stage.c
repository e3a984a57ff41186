/*
 * import_stage.c — an import's raw bytes into import_staging; see
 * import_stage.h.
 */
#include "import_stage.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_copy.h"
#include "xmalloc.h"

#define STAGE_COPY_SQL "COPY import_staging (import_id, seq, chunk) FROM STDIN"
#define STAGE_WHAT     "COPY import_staging"

static const pg_stmt_t stmt_create = {
    "import_stage_create",
    "INSERT INTO import (campaign_id, source, filename, region, column_mapping)"
    " VALUES ($1::uuid, $2::import_source, $3, $4, $5::jsonb) RETURNING id",
    5};

static const pg_stmt_t stmt_staged = {
    "import_stage_staged", "UPDATE import SET bytes_total = $2::bigint WHERE id = $1::uuid", 2};

struct import_stage {
    pg_conn_t *db; /* borrowed */
    char import_id[37];
    bool copying;  /* the COPY is open */
    bool row_open; /* a staging row has begun and not ended */
    int seq;       /* the staging row being written */
    size_t in_row; /* raw bytes in that row */
    int64_t bytes; /* appended so far */
    char *hex;     /* IMPORT_STAGE_HEX_BUF bytes of COPY text */
    size_t hex_len;
};

int import_stage_create(pg_conn_t *db, const char *source, const char *campaign_id,
                        const char *filename, const char *region, const lead_map_spec_t *spec,
                        char import_id[37], char *errbuf, size_t errlen)
{
    import_id[0] = '\0';
    char *mapping = lead_map_spec_to_json(spec);
    const char *params[5] = {campaign_id, source, filename, region && *region ? region : NULL,
                             mapping};
    PGresult *res = NULL;
    int rc = pg_stmt_exec(db, &stmt_create, params, &res, errbuf, errlen);
    if (rc == OD_OK)
        snprintf(import_id, 37, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    free(mapping);
    return rc;
}

int import_stage_open(pg_conn_t *db, const char *import_id, import_stage_t **out, char *errbuf,
                      size_t errlen)
{
    *out = NULL;
    int rc = pg_copy_begin(db, STAGE_COPY_SQL, STAGE_WHAT, errbuf, errlen);
    if (rc)
        return rc;
    import_stage_t *st = xcalloc(1, sizeof(*st));
    st->db = db;
    snprintf(st->import_id, sizeof(st->import_id), "%s", import_id);
    st->copying = true;
    st->hex = xmalloc(IMPORT_STAGE_HEX_BUF);
    *out = st;
    return OD_OK;
}

static int stage_flush(import_stage_t *st, char *errbuf, size_t errlen)
{
    int rc = pg_copy_put(st->db, st->hex, st->hex_len, STAGE_WHAT, errbuf, errlen);
    st->hex_len = 0;
    return rc;
}

static int stage_put(import_stage_t *st, const char *s, size_t len, char *errbuf, size_t errlen)
{
    if (st->hex_len + len > IMPORT_STAGE_HEX_BUF) {
        int rc = stage_flush(st, errbuf, errlen);
        if (rc)
            return rc;
    }
    memcpy(st->hex + st->hex_len, s, len);
    st->hex_len += len;
    return OD_OK;
}

/* len raw bytes as hex into the COPY text, flushing as the buffer fills. */
static int stage_hex(import_stage_t *st, const unsigned char *data, size_t len, char *errbuf,
                     size_t errlen)
{
    static const char hexdigits[] = "0123456789abcdef";
    while (len > 0) {
        if (st->hex_len + 2 > IMPORT_STAGE_HEX_BUF) {
            int rc = stage_flush(st, errbuf, errlen);
            if (rc)
                return rc;
        }
        size_t n = (IMPORT_STAGE_HEX_BUF - st->hex_len) / 2;
        if (n > len)
            n = len;
        char *out = st->hex + st->hex_len;
        for (size_t i = 0; i < n; i++) {
            out[2 * i] = hexdigits[data[i] >> 4];
            out[2 * i + 1] = hexdigits[data[i] & 0xf];
        }
        st->hex_len += 2 * n;
        data += n;
        len -= n;
    }
    return OD_OK;
}

/* Each staging row is "<import id>\t<seq>\t\\x<hex>\n" (the backslash
 * doubled: COPY's escape). */
int import_stage_append(import_stage_t *st, const void *data, size_t len, char *errbuf,
                        size_t errlen)
{
    const unsigned char *p = data;
    int rc = OD_OK;
    while (len > 0 && rc == OD_OK) {
        if (!st->row_open) {
            char head[80];
            int n = snprintf(head, sizeof(head), "%s\t%d\t\\\\x", st->import_id, st->seq);
            if ((rc = stage_put(st, head, (size_t)n, errbuf, errlen)))
                break;
            st->row_open = true;
            st->in_row = 0;
        }
        size_t take = IMPORT_STAGE_CHUNK_BYTES - st->in_row;
        if (take > len)
            take = len;
        if ((rc = stage_hex(st, p, take, errbuf, errlen)))
            break;
        st->in_row += take;
        st->bytes += (int64_t)take;
        p += take;
        len -= take;
        if (st->in_row == IMPORT_STAGE_CHUNK_BYTES) {
            rc = stage_put(st, "\n", 1, errbuf, errlen);
            st->row_open = false;
            st->seq++;
        }
    }
    return rc;
}

int64_t import_stage_bytes(const import_stage_t *st)
{
    return st->bytes;
}

int import_stage_finish(import_stage_t *st, char *errbuf, size_t errlen)
{
    int rc = OD_OK;
    if (st->row_open) {
        rc = stage_put(st, "\n", 1, errbuf, errlen);
        st->row_open = false;
    }
    if (rc == OD_OK)
        rc = stage_flush(st, errbuf, errlen);
    st->copying = false;
    if (rc) {
        pg_copy_abort(st->db);
        return rc;
    }
    if ((rc = pg_copy_end(st->db, STAGE_WHAT, NULL, errbuf, errlen)))
        return rc;
    char total[24];
    snprintf(total, sizeof(total), "%lld", (long long)st->bytes);
    const char *params[2] = {st->import_id, total};
    return pg_stmt_exec(st->db, &stmt_staged, params, NULL, errbuf, errlen);
}

void import_stage_free(import_stage_t *st)
{
    if (!st)
        return;
    if (st->copying)
        pg_copy_abort(st->db);
    free(st->hex);
    free(st);
}

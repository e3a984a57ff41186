/*
 * imports.c — CSV uploads and their progress.
 *
 * POST /v1/campaigns/{campaign_id}/imports takes the file as the request
 * body (Content-Type text/csv) and streams it, as it arrives, into
 * import_staging through lib/ingest/import_stage (the importer's writer
 * too): nothing holds more than one body piece and one hex buffer in
 * memory, whatever the file's size. Its chunks and bytes_total commit
 * together at the end, so the importer never sees half an upload; a client
 * that goes away rolls it all back.
 * Then an ImportRequest goes to Kafka and the answer is 202 with the
 * import's id. If Kafka cannot take it, the import is still there, staged
 * and pending: the importer's sweep picks up such imports (docs/import.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "handlers.h"
#include "import_rejects.h"
#include "import_stage.h"
#include "jsonio.h"
#include "lead_map.h"
#include "log.h"
#include "phone.h"
#include "resource.h"
#include "xmalloc.h"

/* How long the ImportRequest may take to be acknowledged by the cluster. */
#define IMPORTS_PUBLISH_MS 5000

#define IMPORT_COLUMNS                                                                             \
    "SELECT i.id, i.campaign_id, i.source, i.filename, i.status, i.region,"                        \
    " i.column_mapping::text, i.bytes_total, i.bytes_done, i.rows_read, i.rows_imported,"          \
    " i.rows_duplicate, i.rows_dnc, i.rows_rejected, i.secondary_phones_rejected, i.error,"        \
    " od_us(i.created_at),"                                                                        \
    " od_us(i.started_at), od_us(i.finished_at)"                                                   \
    " FROM import i JOIN campaign c ON c.id = i.campaign_id"

static const pg_stmt_t import_get_stmt = {
    "import_get", IMPORT_COLUMNS " WHERE i.id = $1::uuid AND c.account_id = $2::uuid", 2};

static const pg_stmt_t import_list_stmt = {
    "import_list",
    IMPORT_COLUMNS " WHERE i.campaign_id = $1::uuid AND c.account_id = $2::uuid"
                   " AND ($3::uuid IS NULL OR i.id > $3::uuid) ORDER BY i.id LIMIT $4::int",
    4};

/* The members of an import that are its columns (IMPORT_COLUMNS, in
 * order); 9..14 are the counts of the "rows" object. */
static const resource_field_t import_fields_out[] = {
    {"id", api_col_string},
    {"campaign_id", api_col_string},
    {"source", api_col_string},
    {"filename", api_col_string},
    {"status", api_col_string},
    {"region", api_col_string},
    {"column_mapping", api_col_json},
    {"bytes_total", api_col_int},
    {"bytes_done", api_col_int},
    {"read", api_col_int},
    {"imported", api_col_int},
    {"duplicate", api_col_int},
    {"dnc", api_col_int},
    {"rejected", api_col_int},
    {"secondary_phones_rejected", api_col_int},
    {"error", api_col_string},
    {"created_at", api_col_time},
    {"started_at", api_col_time},
    {"finished_at", api_col_time},
};

/* An import: its columns, with progress (0..1, null while the size is
 * unknown) after bytes_done and the row counts as one object. */
static json_t *import_json(const PGresult *res, int row, int64_t now_us)
{
    (void)now_us;
    json_t *i = json_object();
    resource_fields_set(i, import_fields_out, 0, 9, res, row);
    const char *status = PQgetvalue(res, row, 4);
    double total = PQgetisnull(res, row, 7) ? 0 : strtod(PQgetvalue(res, row, 7), NULL);
    double done = strtod(PQgetvalue(res, row, 8), NULL);
    json_t *progress = json_null();
    if (strcmp(status, "completed") == 0)
        progress = json_real(1.0);
    else if (total > 0)
        progress = json_real(done >= total ? 1.0 : done / total);
    json_object_set_new(i, "progress", progress);
    json_t *rows = json_object();
    resource_fields_set(rows, import_fields_out, 9, 15, res, row);
    json_object_set_new(i, "rows", rows);
    resource_fields_set(i, import_fields_out, 15, 19, res, row);
    return i;
}

static const resource_t import_resource = {
    .not_found = "import not found", .get = &import_get_stmt, .json = import_json};

/* Answers the import id of ctx's account with status. */
static void import_reply(api_ctx_t *ctx, const char *id, int status)
{
    const char *key[] = {id, ctx->account_id};
    resource_row_reply(ctx, &import_resource, key, status);
}

/* ---- the upload ---------------------------------------------------------------- */

typedef struct upload {
    char import_id[UUID_STR_LEN];
    char region[3]; /* "" = the account's */
    lead_map_spec_t *spec;
    import_stage_t *stage; /* the open COPY, until it finishes */
    bool staged;           /* every chunk and bytes_total committed */
    int64_t bytes;         /* received so far */
} upload_t;

static bool content_type_is_csv(const char *ct)
{
    static const char *const types[] = {"text/csv", "application/csv", "text/plain",
                                        "text/tab-separated-values"};
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t n = strlen(types[i]);
        if (strncasecmp(ct, types[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
            return true;
    }
    return false;
}

/* ?map=phone:Mobile,name:Client (also phone=Mobile) as a mapping spec;
 * answers 400 naming "map". */
static bool mapping_parse(api_ctx_t *ctx, const char *text, lead_map_spec_t **out)
{
    *out = NULL;
    if (!text || !*text)
        return true;
    /* lib/lead_map reads field=Column pairs: turn each pair's first ':' into
     * '=' unless it already has one. */
    char *norm = xstrdup(text);
    for (char *pair = norm; pair && *pair;) {
        char *end = strchr(pair, ',');
        size_t len = end ? (size_t)(end - pair) : strlen(pair);
        char *colon = memchr(pair, ':', len);
        char *eq = memchr(pair, '=', len);
        if (colon && (!eq || colon < eq))
            *colon = '=';
        pair = end ? end + 1 : NULL;
    }
    char why[512];
    int rc = lead_map_spec_parse(norm, out, why, sizeof(why));
    free(norm);
    if (rc != OD_OK) {
        api_reply_error(ctx, 400, "invalid", "map",
                        "map: %s (write field:Column pairs separated by commas, e.g. "
                        "map=phone:Mobile,name:Client)",
                        why);
        return false;
    }
    return true;
}

/* Checks everything about an upload that the headers and the query say;
 * answers 415, 413, 400 or 404. Fills region and spec. */
static bool upload_check(api_ctx_t *ctx, char region[3], lead_map_spec_t **spec,
                         const char **filename)
{
    const char *ct = http_request_header(ctx->req, "Content-Type");
    if (!content_type_is_csv(ct)) {
        api_reply_error(ctx, 415, "unsupported_media_type", NULL,
                        "upload the CSV file as the request body with 'Content-Type: text/csv' "
                        "(got %.100s)",
                        ct ? ct : "no Content-Type");
        return false;
    }
    const char *declared = http_request_header(ctx->req, "Content-Length");
    if (declared && strtoll(declared, NULL, 10) > ctx->api->import_max_bytes) {
        api_reply_error(ctx, 413, "payload_too_large", NULL,
                        "the file is larger than %" PRId64 " bytes: split it, or load it with "
                        "outdial-importer --campaign ID FILE",
                        ctx->api->import_max_bytes);
        return false;
    }
    const char *r = http_request_query(ctx->req, "region");
    region[0] = '\0';
    if (r && *r) {
        if (strlen(r) != 2 || !phone_region_known(r)) {
            api_reply_error(ctx, 400, "invalid", "region",
                            "region '%.16s' is not a region code (ISO 3166 alpha-2 in capitals, "
                            "e.g. US)",
                            r);
            return false;
        }
        snprintf(region, 3, "%s", r);
    }
    *filename = http_request_query(ctx->req, "filename");
    if (!*filename || !**filename)
        *filename = "upload.csv";
    if (strlen(*filename) > 255) {
        api_reply_error(ctx, 400, "invalid", "filename", "filename is at most 255 bytes long");
        return false;
    }
    if (!mapping_parse(ctx, http_request_query(ctx->req, "map"), spec))
        return false;
    return campaigns_writable(ctx, ctx->params[0], false, NULL);
}

static const pg_stmt_t import_discard_stmt = {
    "import_discard",
    "DELETE FROM import WHERE id = $1::uuid AND bytes_total IS NULL AND status = 'pending'", 1};

static void upload_free(api_ctx_t *ctx, void *state)
{
    upload_t *up = state;
    if (!up)
        return;
    char err[256];
    import_stage_free(up->stage); /* aborts the COPY if it is open */
    pg_tx_rollback(ctx->db);
    if (up->import_id[0] && !up->staged) {
        /* The upload did not complete: its chunks were rolled back, and
         * the import row (committed on its own, see upload_begin) goes too.
         * If this fails, imports_orphans_discard() removes it later. */
        const char *params[] = {up->import_id};
        if (pg_stmt_exec(ctx->db, &import_discard_stmt, params, NULL, err, sizeof(err)))
            log_warn("import_aborted", "import %s: %s", up->import_id, err);
        log_info("import_aborted", "upload of import %s aborted", up->import_id);
    }
    lead_map_spec_free(up->spec);
    free(up);
}

/* The first piece: check, create the import row, open the transaction
 * and COPY.
 *
 * The import row commits on its own, before the upload: inserting it
 * share-locks its campaign row (the foreign key), and holding that for the
 * minutes a large upload may take would block start, pause and settings
 * changes of the campaign and make the scheduler skip it. Until the upload
 * completes, the row has bytes_total NULL, which the importer leaves alone;
 * a row whose upload never completed is deleted (upload_free, or
 * imports_orphans_discard after a crash). */
static upload_t *upload_begin(api_ctx_t *ctx)
{
    char region[3];
    lead_map_spec_t *spec = NULL;
    const char *filename = NULL;
    if (!upload_check(ctx, region, &spec, &filename)) {
        lead_map_spec_free(spec);
        return NULL;
    }
    upload_t *up = xcalloc(1, sizeof(*up));
    up->spec = spec;
    memcpy(up->region, region, sizeof(region));
    char err[512];
    int rc = import_stage_create(ctx->db, IMPORT_SOURCE_UPLOAD, ctx->params[0], filename, region,
                                 spec, up->import_id, err, sizeof(err));
    if (rc == OD_OK)
        rc = pg_tx_begin(ctx->db, err, sizeof(err));
    if (rc == OD_OK)
        rc = import_stage_open(ctx->db, up->import_id, &up->stage, err, sizeof(err));
    if (rc) {
        api_reply_failure(ctx, rc, err);
        upload_free(ctx, up);
        return NULL;
    }
    metrics_counter_add(ctx->api->import_uploads, 1);
    return up;
}

int imports_upload_body(api_ctx_t *ctx, const char *data, size_t len, void **state,
                        void (**free_state)(api_ctx_t *ctx, void *state))
{
    upload_t *up = *state;
    if (!up) {
        up = upload_begin(ctx);
        if (!up)
            return 1;
        *state = up;
        *free_state = upload_free;
    }
    if (up->bytes + (int64_t)len > ctx->api->import_max_bytes) {
        api_reply_error(ctx, 413, "payload_too_large", NULL,
                        "the file is larger than %" PRId64 " bytes: split it, or load it with "
                        "outdial-importer --campaign ID FILE",
                        ctx->api->import_max_bytes);
        return 1; /* upload_free aborts the COPY */
    }
    char err[512];
    int rc = import_stage_append(up->stage, data, len, err, sizeof(err));
    if (rc) {
        api_reply_failure(ctx, rc, err);
        return 1;
    }
    up->bytes += (int64_t)len;
    metrics_counter_add(ctx->api->import_bytes, len);
    return 0;
}

/* Publishes the ImportRequest of a committed upload; false when the
 * cluster did not acknowledge it (the importer's sweep still finds it). */
static bool request_publish(api_ctx_t *ctx, upload_t *up)
{
    importrequest_t req;
    importrequest_init(&req);
    req.import_id = up->import_id;
    req.campaign_id = ctx->params[0];
    req.account_id = ctx->account_id;
    req.region = up->region;
    size_t n = up->spec ? up->spec->n : 0;
    importrequest_mapping_t *entries = xcalloc(n ? n : 1, sizeof(*entries));
    importrequest_mapping_t **ptrs = xcalloc(n ? n : 1, sizeof(*ptrs));
    for (size_t i = 0; i < n; i++) {
        outdial__v1__import_request__column_mapping_entry__init(&entries[i]);
        entries[i].key = up->spec->pairs[i].field;
        entries[i].value = up->spec->pairs[i].column;
        ptrs[i] = &entries[i];
    }
    req.n_column_mapping = n;
    req.column_mapping = ptrs;
    req.requested_at_us = api_now_us(ctx);
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[512];
    int rc = importrequest_encode(&req, &buf, &len, err, sizeof(err));
    if (rc == OD_OK) {
        pthread_mutex_lock(&ctx->api->producer_mu);
        rc =
            kafka_producer_send(ctx->api->producer, ctx->api->topic_import_requests, ctx->params[0],
                                strlen(ctx->params[0]), buf, len, NULL, 0, NULL, err, sizeof(err));
        if (rc == OD_OK)
            rc = kafka_producer_flush(ctx->api->producer, IMPORTS_PUBLISH_MS, err, sizeof(err));
        pthread_mutex_unlock(&ctx->api->producer_mu);
    }
    free(buf);
    free(ptrs);
    free(entries);
    if (rc) {
        log_warn("import_request",
                 "import %s: the ImportRequest was not acknowledged (%s); the importer's sweep "
                 "picks the import up",
                 up->import_id, err);
        return false;
    }
    return true;
}

void imports_upload_finish(api_ctx_t *ctx)
{
    upload_t *up = api_ctx_upload_state(ctx);
    if (!up) {
        /* No body at all: report what is wrong with the request, if
         * anything, before saying the file is empty. */
        char region[3];
        lead_map_spec_t *spec = NULL;
        const char *filename = NULL;
        bool ok = upload_check(ctx, region, &spec, &filename);
        lead_map_spec_free(spec);
        if (ok)
            api_reply_error(ctx, 400, "invalid", NULL,
                            "the file is empty: send the CSV file as the request body");
        return;
    }
    char err[512];
    int rc = import_stage_finish(up->stage, err, sizeof(err));
    import_stage_free(up->stage);
    up->stage = NULL;
    if (rc == OD_OK)
        rc = pg_tx_commit(ctx->db, err, sizeof(err));
    if (rc) {
        api_reply_failure(ctx, rc, err);
        return;
    }
    up->staged = true;
    log_info("import_staged", "import %s: %" PRId64 " bytes staged for campaign %s", up->import_id,
             up->bytes, ctx->params[0]);
    request_publish(ctx, up);
    char location[128];
    snprintf(location, sizeof(location), "/v1/imports/%s", up->import_id);
    import_reply(ctx, up->import_id, 202);
    http_response_header_add(ctx->resp, "Location", location);
}

static const pg_stmt_t import_orphans_stmt = {
    "import_orphans",
    "DELETE FROM import WHERE source = 'upload' AND status = 'pending' AND bytes_total IS NULL"
    " AND created_at < now() - make_interval(secs => $1::int)",
    1};

int imports_orphans_discard(pg_conn_t *db, int older_than_s, int *n_out, char *errbuf,
                            size_t errlen)
{
    char secs[16];
    snprintf(secs, sizeof(secs), "%d", older_than_s);
    const char *params[] = {secs};
    PGresult *res = NULL;
    int rc = pg_stmt_exec(db, &import_orphans_stmt, params, &res, errbuf, errlen);
    if (rc == OD_OK && n_out)
        *n_out = atoi(PQcmdTuples(res));
    PQclear(res);
    return rc;
}

/* ---- reading ------------------------------------------------------------------ */

void imports_get(api_ctx_t *ctx)
{
    resource_id_reply(ctx, &import_resource);
}

void imports_list(api_ctx_t *ctx)
{
    int limit;
    const char *cursor;
    if (!api_query_page(ctx, &limit, &cursor))
        return;
    if (!campaigns_owned(ctx, ctx->params[0], false, NULL))
        return;
    const char *params[] = {ctx->params[0], ctx->account_id, cursor};
    resource_page_reply(ctx, &import_resource, &import_list_stmt, params, limit);
}

static int reject_to_json(const import_reject_t *reject, void *arg)
{
    json_t *items = arg;
    json_t *r = json_object();
    json_object_set_new(r, "row", json_integer(reject->row_number));
    json_object_set_new(
        r, "column", reject->column_number > 0 ? json_integer(reject->column_number) : json_null());
    json_t *column_name = reject->column_name ? json_string(reject->column_name) : NULL;
    json_object_set_new(r, "column_name", column_name ? column_name : json_null());
    json_object_set_new(r, "code", json_string(reject->code));
    json_t *reason = json_string(reject->reason);
    json_object_set_new(r, "reason", reason ? reason : json_string(""));
    json_t *raw = json_string(reject->raw_row ? reject->raw_row : "");
    json_object_set_new(r, "raw_row", raw ? raw : json_string(""));
    json_array_append_new(items, r);
    return 0;
}

static int rejects_csv_collect(const char *data, size_t len, void *arg)
{
    csv_buf_append(arg, data, len);
    return 0;
}

/* Answers the rejected rows of import id as a CSV file to download. lib/http
 * sends a body whole, so the file is assembled here; it is at most about
 * the size of the rejected rows of the upload. */
static void rejects_csv_reply(api_ctx_t *ctx, const char *id)
{
    char err[512];
    csv_buf_t buf = {0};
    int rc = import_rejects_csv(ctx->db, id, rejects_csv_collect, &buf, err, sizeof(err));
    if (rc) {
        csv_buf_free(&buf);
        api_reply_failure(ctx, rc, err);
        return;
    }
    size_t len = buf.len;
    char *body = xmalloc(len + 1);
    memcpy(body, csv_buf_cstr(&buf), len);
    csv_buf_free(&buf);
    http_response_take(ctx->resp, 200, "text/csv; charset=utf-8", body, len);
    char disposition[128];
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"rejects-%s.csv\"", id);
    http_response_header_add(ctx->resp, "Content-Disposition", disposition);
    ctx->replied = true;
}

void imports_rejects(api_ctx_t *ctx)
{
    const char *id = ctx->params[0];
    const char *format = http_request_query(ctx->req, "format");
    if (format && *format && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0) {
        api_reply_error(ctx, 400, "invalid", "format", "format must be json or csv");
        return;
    }
    int limit;
    if (!api_query_limit(ctx, &limit))
        return;
    const char *cursor = http_request_query(ctx->req, "cursor");
    import_reject_pos_t after = IMPORT_REJECTS_FIRST;
    if (cursor && *cursor && !import_reject_cursor_parse(cursor, &after)) {
        api_reply_error(ctx, 400, "invalid", "cursor",
                        "cursor must be the next_cursor of a previous page");
        return;
    }
    /* The import must be the account's before anything of it is read. */
    const char *key[] = {id, ctx->account_id};
    PGresult *res = resource_row_fetch(ctx, import_resource.not_found, &import_get_stmt, key);
    if (!res)
        return;
    PQclear(res);
    if (format && strcmp(format, "csv") == 0) {
        rejects_csv_reply(ctx, id);
        return;
    }
    char err[512];
    json_t *items = json_array();
    /* One more than the page: a cursor only when a further reject exists. */
    int rc =
        import_rejects_each(ctx->db, id, after, limit + 1, reject_to_json, items, err, sizeof(err));
    if (rc) {
        json_decref(items);
        api_reply_failure(ctx, rc, err);
        return;
    }
    char last[48] = "";
    bool more = json_array_size(items) > (size_t)limit;
    if (more) {
        json_array_remove(items, (size_t)limit);
        json_t *tail = json_array_get(items, (size_t)limit - 1);
        import_reject_pos_t pos = {
            .row_number = json_integer_value(json_object_get(tail, "row")),
            .column_number = (int)json_integer_value(json_object_get(tail, "column")),
        };
        import_reject_cursor_format(pos, last, sizeof(last));
    }
    api_reply_json(ctx, 200, api_page(items, more ? last : NULL));
}

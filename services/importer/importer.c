/*
 * importer.c — staging, running and resuming CSV imports; see importer.h.
 *
 * A run has three kinds of threads:
 *
 *   parser   reads the staged chunks on its own connection, parses them
 *            (csv_reader) and cuts the rows into batches;
 *   workers  map and validate the rows of a batch (lead_map, libphonenumber
 *            is the expensive part) into COPY text;
 *   writer   the caller's thread: writes the batches in file order, one
 *            transaction each, on the caller's connection.
 *
 * Batches travel through a ring of slots indexed by batch number, so the
 * writer takes them in order whichever worker finishes first, and at most
 * `slots` batches are in memory at once: memory does not grow with the
 * file. One mutex and one condition variable guard the ring; they are taken
 * a few times per batch of thousands of rows, never per row.
 */
#include "importer.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "codec.h"
#include "csv_reader.h"
#include "import_stage.h"
#include "importer_batch.h"
#include "importer_plan.h"
#include "log.h"
#include "outbox.h"
#include "pg_copy.h"
#include "phone.h"
#include "topics.h"
#include "uuid.h"
#include "xmalloc.h"

/* ---- statements ------------------------------------------------------------ */

static const pg_stmt_t stmt_lock = {"importer_lock",
                                    "SELECT pg_try_advisory_lock($1::int, hashtext($2))", 2};
static const pg_stmt_t stmt_unlock = {"importer_unlock",
                                      "SELECT pg_advisory_unlock($1::int, hashtext($2))", 2};

static const pg_stmt_t stmt_load = {
    "importer_load",
    "SELECT i.status, i.campaign_id, c.account_id, COALESCE(i.region, a.default_region),"
    " i.column_mapping::text, i.bytes_total, i.bytes_done, i.rows_read, i.rows_imported,"
    " i.rows_duplicate, i.rows_dnc, i.rows_rejected, i.row_number_done, i.error,"
    " i.secondary_phones_rejected"
    " FROM import i JOIN campaign c ON c.id = i.campaign_id"
    " JOIN account a ON a.id = c.account_id WHERE i.id = $1::uuid",
    1};

static const pg_stmt_t stmt_chunks = {
    "importer_chunks",
    "SELECT seq, octet_length(chunk) FROM import_staging WHERE import_id = $1::uuid ORDER BY seq",
    1};

static const pg_stmt_t stmt_start = {
    "importer_start",
    "UPDATE import SET status = 'running', started_at = COALESCE(started_at, now()),"
    " header = COALESCE(header, $2) WHERE id = $1::uuid",
    2};

static const pg_stmt_t stmt_finish = {
    "importer_finish",
    "UPDATE import i SET status = $2::import_status, error = $3, finished_at = now()"
    " FROM campaign c WHERE i.id = $1::uuid AND c.id = i.campaign_id"
    " RETURNING i.campaign_id, c.account_id",
    3};

static const pg_stmt_t stmt_staging_delete = {
    "importer_staging_delete", "DELETE FROM import_staging WHERE import_id = $1::uuid", 1};

/* The batch's leads, COPYed in; rows vanish at every commit. Created once
 * per server session (IF NOT EXISTS: the connection may have run an
 * import before), without the NOTICE that libpq would print for an
 * existing one. */
#define TEMP_TABLE_SQL                                                                             \
    "SET LOCAL client_min_messages TO warning;"                                                    \
    "CREATE TEMP TABLE IF NOT EXISTS importer_batch_tmp (row_number integer NOT NULL, id uuid "    \
    "NOT NULL,"                                                                                    \
    " parent_id uuid, contact_order smallint NOT NULL, e164 text NOT NULL, name text NOT NULL,"    \
    " timezone text, external_id text, variables jsonb NOT NULL, state text)"                      \
    " ON COMMIT DELETE ROWS"
#define COPY_LEADS_SQL                                                                             \
    "COPY importer_batch_tmp (row_number, id, parent_id, contact_order, e164, name, timezone,"     \
    " external_id, variables, state) FROM STDIN"
#define COPY_REJECTS_SQL                                                                           \
    "COPY import_reject (import_id, row_number, column_number, column_name, code, reason,"         \
    " raw_row) FROM STDIN"

/* Primaries in file order, so that of two rows with one number the first
 * is imported; DNC numbers left out and counted. The conflict target is
 * the number alone: checking every unique index of lead (what a bare ON
 * CONFLICT does) costs a third more per row. */
static const pg_stmt_t stmt_merge_primary = {
    "importer_merge_primary",
    "WITH cand AS MATERIALIZED ("
    "  SELECT b.*, EXISTS (SELECT 1 FROM dnc d WHERE d.account_id = $3::uuid"
    "                      AND d.e164 = b.e164) AS is_dnc"
    "  FROM importer_batch_tmp b WHERE b.contact_order = 0),"
    " ins AS ("
    "  INSERT INTO lead (id, campaign_id, e164, name, timezone, external_id, variables, import_id,"
    "   state)"
    "  SELECT id, $1::uuid, e164, name, timezone, external_id, variables, $2::uuid, state"
    "  FROM cand WHERE NOT is_dnc ORDER BY row_number"
    "  ON CONFLICT (campaign_id, e164) DO NOTHING RETURNING 1)"
    " SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM cand WHERE is_dnc)",
    3};

/* The same for a batch with external ids: a row whose external_id is
 * already in the campaign, or on an earlier row of the batch, is a
 * duplicate too (the unique index on external_id would otherwise abort the
 * batch). */
static const pg_stmt_t stmt_merge_primary_ext = {
    "importer_merge_primary_ext",
    "WITH cand AS MATERIALIZED ("
    "  SELECT b.*, EXISTS (SELECT 1 FROM dnc d WHERE d.account_id = $3::uuid"
    "                      AND d.e164 = b.e164) AS is_dnc,"
    "   b.external_id IS NOT NULL AND ("
    "    row_number() OVER (PARTITION BY b.external_id ORDER BY b.row_number) > 1"
    "    OR EXISTS (SELECT 1 FROM lead l WHERE l.campaign_id = $1::uuid"
    "               AND l.external_id = b.external_id)) AS ext_dup"
    "  FROM importer_batch_tmp b WHERE b.contact_order = 0),"
    " ins AS ("
    "  INSERT INTO lead (id, campaign_id, e164, name, timezone, external_id, variables, import_id,"
    "   state)"
    "  SELECT id, $1::uuid, e164, name, timezone, external_id, variables, $2::uuid, state"
    "  FROM cand WHERE NOT is_dnc AND NOT ext_dup ORDER BY row_number"
    "  ON CONFLICT (campaign_id, e164) DO NOTHING RETURNING 1)"
    " SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM cand WHERE is_dnc)",
    3};

/* Secondary contacts of the primaries this batch inserted (their ids exist
 * only if the insert above took them), waiting: next_attempt_at NULL.
 * DNC numbers and numbers already in the campaign are left out before the
 * contacts of a row are numbered 1..n, so those leave no gap.
 *
 * The three checks are scalar subqueries, one index probe per contact
 * (each key is unique: lead's id, dnc's (account, number), lead's
 * (campaign, number)), not EXISTS: the planner turns EXISTS into a join,
 * and with statistics taken while the campaign was still small it hashed
 * every lead of the campaign for each batch's hundred contacts: 110 ms a
 * batch at 300,000 leads, and growing with the campaign. */
static const pg_stmt_t stmt_merge_secondary = {
    "importer_merge_secondary",
    "INSERT INTO lead (id, campaign_id, parent_lead_id, contact_order, e164, name, timezone,"
    " variables, import_id, next_attempt_at, state)"
    " SELECT b.id, $1::uuid, b.parent_id,"
    "  row_number() OVER (PARTITION BY b.parent_id ORDER BY b.contact_order),"
    "  b.e164, b.name, b.timezone, b.variables, $2::uuid, NULL, b.state"
    " FROM importer_batch_tmp b"
    " WHERE b.contact_order > 0"
    "  AND (SELECT true FROM lead p WHERE p.id = b.parent_id) IS NOT NULL"
    "  AND (SELECT true FROM dnc d WHERE d.account_id = $3::uuid AND d.e164 = b.e164) IS NULL"
    "  AND (SELECT true FROM lead l WHERE l.campaign_id = $1::uuid AND l.e164 = b.e164) IS NULL"
    " ORDER BY b.row_number, b.contact_order"
    " ON CONFLICT (campaign_id, e164) DO NOTHING",
    3};

/* The direct path (batch_write_once): the batch's primaries COPYed straight
 * into lead when none of their numbers is on the account's DNC list. */
#define COPY_DIRECT_SQL                                                                            \
    "COPY lead (id, campaign_id, e164, name, timezone, variables, import_id, state) FROM STDIN"
static const pg_stmt_t stmt_dnc_any = {
    "importer_dnc_any",
    "SELECT EXISTS (SELECT 1 FROM dnc WHERE account_id = $1::uuid AND e164 = ANY($2::text[]))", 2};

static const pg_stmt_t stmt_progress = {
    "importer_progress",
    "UPDATE import SET bytes_done = $2, row_number_done = $3, rows_read = $4,"
    " rows_imported = $5, rows_duplicate = $6, rows_dnc = $7, rows_rejected = $8,"
    " secondary_phones_rejected = $9 WHERE id = $1::uuid",
    9};

/* Batches whose direct COPY may fail on a number already in the campaign
 * before the run stops trying it (batch_write): a failed COPY costs about
 * what the merge of its batch does. */
#define IMPORTER_DIRECT_CONFLICTS_MAX 3

/* ---- small helpers --------------------------------------------------------- */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t field_int(const PGresult *res, int row, int col, int64_t null_value)
{
    if (PQgetisnull(res, row, col))
        return null_value;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* COPY ... FROM STDIN of data on db's connection (inside the caller's
 * transaction). *rows (may be NULL) receives the rows COPY took. */
static int copy_in(pg_conn_t *db, const char *sql, const char *what, const char *data, size_t len,
                   int64_t *rows, char *errbuf, size_t errlen)
{
    int rc = pg_copy_begin(db, sql, what, errbuf, errlen);
    if (rc)
        return rc;
    if ((rc = pg_copy_put(db, data, len, what, errbuf, errlen))) {
        pg_copy_abort(db);
        return rc;
    }
    return pg_copy_end(db, what, rows, errbuf, errlen);
}

/* One staged chunk, in binary (bytea as raw bytes). *res is PQcleared by
 * the caller; the bytes are PQgetvalue(*res, 0, 0). */
static int chunk_fetch(pg_conn_t *db, const char *import_id, int seq, PGresult **res, char *errbuf,
                       size_t errlen)
{
    char seqtext[16];
    snprintf(seqtext, sizeof(seqtext), "%d", seq);
    const char *params[2] = {import_id, seqtext};
    PGresult *r = PQexecParams(pg_conn_get(db),
                               "SELECT chunk FROM import_staging"
                               " WHERE import_id = $1::uuid AND seq = $2::int",
                               2, NULL, params, NULL, NULL, 1);
    int rc = pg_result_check(db, r, "import_staging", res, errbuf, errlen);
    if (rc)
        return rc;
    if (PQntuples(*res) != 1) {
        PQclear(*res);
        *res = NULL;
        return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND,
                       "staged chunk %d of the import has disappeared", seq);
    }
    return OD_OK;
}

/* ---- the import row -------------------------------------------------------- */

typedef struct import_info {
    char status[16];
    char campaign_id[37];
    char account_id[37];
    char region[8];
    char *mapping_json;
    int64_t bytes_total; /* -1 while not staged */
    importer_counts_t counts;
    char error[512];
} import_info_t;

static int info_load(pg_conn_t *db, const char *import_id, import_info_t *info, char *errbuf,
                     size_t errlen)
{
    PGresult *res = NULL;
    const char *params[1] = {import_id};
    int rc = pg_stmt_exec_row(db, &stmt_load, params, "import", &res, errbuf, errlen);
    if (rc)
        return rc;
    snprintf(info->status, sizeof(info->status), "%s", PQgetvalue(res, 0, 0));
    snprintf(info->campaign_id, sizeof(info->campaign_id), "%s", PQgetvalue(res, 0, 1));
    snprintf(info->account_id, sizeof(info->account_id), "%s", PQgetvalue(res, 0, 2));
    snprintf(info->region, sizeof(info->region), "%s", PQgetvalue(res, 0, 3));
    free(info->mapping_json);
    info->mapping_json = xstrdup(PQgetvalue(res, 0, 4));
    info->bytes_total = field_int(res, 0, 5, -1);
    info->counts.bytes_done = field_int(res, 0, 6, 0);
    info->counts.rows_read = field_int(res, 0, 7, 0);
    info->counts.rows_imported = field_int(res, 0, 8, 0);
    info->counts.rows_duplicate = field_int(res, 0, 9, 0);
    info->counts.rows_dnc = field_int(res, 0, 10, 0);
    info->counts.rows_rejected = field_int(res, 0, 11, 0);
    info->counts.row_number_done = field_int(res, 0, 12, 0);
    snprintf(info->error, sizeof(info->error), "%s", PQgetvalue(res, 0, 13));
    info->counts.secondary_phones_rejected = field_int(res, 0, 14, 0);
    PQclear(res);
    return rc;
}

static void progress_from_info(const import_info_t *info, const char *import_id,
                               importer_progress_t *p)
{
    snprintf(p->import_id, sizeof(p->import_id), "%s", import_id);
    p->bytes_total = info->bytes_total;
    p->bytes_done = info->counts.bytes_done;
    p->rows_read = info->counts.rows_read;
    p->rows_imported = info->counts.rows_imported;
    p->rows_duplicate = info->counts.rows_duplicate;
    p->rows_dnc = info->counts.rows_dnc;
    p->rows_rejected = info->counts.rows_rejected;
    p->secondary_phones_rejected = info->counts.secondary_phones_rejected;
    p->elapsed_s = 0;
}

/* Queues the import.finished CampaignEvent (import_id, reason = status)
 * in the outbox, in the caller's transaction; finish is stmt_finish's
 * result (campaign and account). */
static int import_finished_event_tx(pg_conn_t *db, const char *import_id, const char *status,
                                    const PGresult *finish, char *errbuf, size_t errlen)
{
    char topic[TOPIC_NAME_MAX + 1], event_id[UUID_STR_LEN];
    int rc = topic_name_from_env(TOPIC_CAMPAIGN_EVENTS, topic, sizeof(topic), errbuf, errlen);
    if (rc)
        return rc;
    campaignevent_t ev;
    campaignevent_start(&ev, event_id, PQgetvalue(finish, 0, 0), PQgetvalue(finish, 0, 1),
                        OUTDIAL__V1__CAMPAIGN_EVENT_KIND__CAMPAIGN_EVENT_KIND_IMPORT_FINISHED);
    ev.import_id = (char *)import_id;
    ev.reason = (char *)status;
    ev.occurred_at_us = od_clock_real_us();
    uint8_t *buf = NULL;
    size_t len = 0;
    rc = campaignevent_encode(&ev, &buf, &len, errbuf, errlen);
    if (rc == OD_OK)
        rc = outbox_add_tx(db, topic, ev.campaign_id, buf, len, errbuf, errlen);
    free(buf);
    return rc;
}

/* Ends the import with status (completed, or failed with message), drops
 * its staged bytes and queues its import.finished event, in one
 * transaction. */
static int import_end(pg_conn_t *db, const char *import_id, const char *status, const char *message,
                      char *errbuf, size_t errlen)
{
    int rc = pg_tx_begin(db, errbuf, errlen);
    if (rc)
        return rc;
    const char *params[3] = {import_id, status, message};
    PGresult *finish = NULL;
    if ((rc = pg_stmt_exec(db, &stmt_finish, params, &finish, errbuf, errlen)) == OD_OK &&
        PQntuples(finish) != 1)
        rc = od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "import %s not found", import_id);
    if (rc == OD_OK &&
        (rc = import_finished_event_tx(db, import_id, status, finish, errbuf, errlen)) == OD_OK &&
        (rc = pg_stmt_exec(db, &stmt_staging_delete, params, NULL, errbuf, errlen)) == OD_OK) {
        PQclear(finish);
        return pg_tx_commit(db, errbuf, errlen);
    }
    PQclear(finish);
    pg_tx_rollback(db);
    return rc;
}

/* Marks the import failed with message (a whole-import error) and reports
 * it so in result. */
static int import_fail(pg_conn_t *db, const char *import_id, const char *message,
                       importer_result_t *result, char *errbuf, size_t errlen)
{
    int rc = import_end(db, import_id, "failed", message, errbuf, errlen);
    if (rc)
        return rc;
    result->outcome = IMPORTER_FAILED;
    snprintf(result->error, sizeof(result->error), "%s", message);
    log_warn("import_failed", "import %s failed: %s", import_id, message);
    return OD_OK;
}

/* ---- staging a local file -------------------------------------------------- */

static const pg_stmt_t stmt_campaign_exists = {"importer_campaign_exists",
                                               "SELECT 1 FROM campaign WHERE id = $1::uuid", 1};

/* Reads up to len bytes of fd into buf (short only at the end of the
 * file); -1 with errno on a read error. */
static ssize_t read_full(int fd, char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* The file's bytes through the staging writer, in the caller's
 * transaction, import_id's row already inserted. */
static int file_copy(pg_conn_t *db, int fd, const char *path, const char *import_id, char *errbuf,
                     size_t errlen)
{
    import_stage_t *st = NULL;
    char *buf = xmalloc(IMPORT_STAGE_CHUNK_BYTES);
    int rc = import_stage_open(db, import_id, &st, errbuf, errlen);
    while (rc == OD_OK) {
        ssize_t got = read_full(fd, buf, IMPORT_STAGE_CHUNK_BYTES);
        if (got < 0)
            rc = od_fail(errbuf, errlen, OD_ERR_IO, "%s: %s", path, strerror(errno));
        else if (got == 0)
            break;
        else
            rc = import_stage_append(st, buf, (size_t)got, errbuf, errlen);
    }
    if (rc == OD_OK && import_stage_bytes(st) == 0)
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "%s is empty", path);
    if (rc == OD_OK)
        rc = import_stage_finish(st, errbuf, errlen);
    import_stage_free(st);
    free(buf);
    return rc;
}

int importer_file_stage(pg_conn_t *db, const char *campaign_id, const char *path,
                        const char *region, const lead_map_spec_t *spec, char import_id[37],
                        char *errbuf, size_t errlen)
{
    import_id[0] = '\0';
    if (!uuid_str_valid(campaign_id))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "campaign id '%s' is not a UUID (8-4-4-4-12 hex digits)", campaign_id);
    if (region && *region && !phone_region_known(region))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "region '%s' is not a region code (ISO 3166 alpha-2, e.g. US)", region);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return od_fail(errbuf, errlen, OD_ERR_IO, "%s: %s", path, strerror(errno));
    PGresult *res = NULL;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *params[1] = {campaign_id};
    int rc = pg_stmt_exec_row(db, &stmt_campaign_exists, params, "campaign", &res, errbuf, errlen);
    if (rc)
        goto out;
    if ((rc = pg_tx_begin(db, errbuf, errlen)) != OD_OK)
        goto out;
    if ((rc = import_stage_create(db, IMPORT_SOURCE_FILE, campaign_id, base, region, spec,
                                  import_id, errbuf, errlen)))
        goto out;
    if ((rc = file_copy(db, fd, path, import_id, errbuf, errlen)))
        goto out;
    rc = pg_tx_commit(db, errbuf, errlen);
out:
    if (rc) {
        pg_tx_rollback(db);
        import_id[0] = '\0';
    }
    PQclear(res);
    close(fd);
    return rc;
}

/* ---- the run ------------------------------------------------------------------ */

enum slot_state { SLOT_EMPTY = 0, SLOT_QUEUED, SLOT_MAPPING, SLOT_DONE };

typedef struct slot {
    enum slot_state state;
    importer_batch_t *batch;
} slot_t;

typedef struct import_run {
    pg_conn_t *db;
    const importer_config_t *cfg;
    const char *import_id;
    import_info_t info;
    int batch_rows;
    /* the staged chunks */
    int *seqs;
    int64_t *starts; /* stream offset of each chunk */
    int64_t *lens;
    size_t n_chunks;
    /* from the header */
    char delimiter;
    uint64_t header_end;
    lead_map_t *map;
    /* where the data pass starts */
    uint64_t start_offset;
    uint64_t first_row;
    /* the ring, guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot_t *slots;
    size_t n_slots;
    uint64_t push_seq;  /* batches handed to the ring */
    uint64_t write_seq; /* batches written */
    bool input_done;
    bool abort;
    int parser_rc;
    bool parser_data_error; /* the file itself is at fault (not the database) */
    char parser_err[512];
    importer_batch_t **spare; /* written batches for reuse */
    size_t n_spare;
    /* parser thread state */
    importer_batch_t *cur;
    /* writer state */
    int temp_pid;         /* backend whose session has the temp table */
    bool direct_off;      /* every batch through the merge (batch_write) */
    int direct_conflicts; /* batches whose direct COPY met a number already there */
    double started;
    /* where the writer's time went, for the log (seconds) */
    double t_wait;   /* waiting for the next batch to be mapped */
    double t_copy;   /* COPY of leads and rejects */
    double t_merge;  /* the INSERT ... SELECT statements */
    double t_commit; /* progress update, BEGIN/COMMIT and the rest */
} import_run_t;

static void run_abort(import_run_t *run)
{
    pthread_mutex_lock(&run->mu);
    run->abort = true;
    pthread_cond_broadcast(&run->cv);
    pthread_mutex_unlock(&run->mu);
}

static importer_batch_t *batch_take_spare(import_run_t *run)
{
    importer_batch_t *b = NULL;
    pthread_mutex_lock(&run->mu);
    if (run->n_spare > 0)
        b = run->spare[--run->n_spare];
    pthread_mutex_unlock(&run->mu);
    if (b)
        importer_batch_reset(b);
    else
        b = importer_batch_new();
    return b;
}

/* Hands the current batch to the ring, waiting for a free slot. False when
 * the run was aborted meanwhile. */
static bool batch_push(import_run_t *run)
{
    importer_batch_t *b = run->cur;
    if (!b || b->n_rows == 0)
        return true;
    pthread_mutex_lock(&run->mu);
    while (!run->abort && run->slots[run->push_seq % run->n_slots].state != SLOT_EMPTY)
        pthread_cond_wait(&run->cv, &run->mu);
    if (run->abort) {
        pthread_mutex_unlock(&run->mu);
        return false;
    }
    b->seq = run->push_seq;
    slot_t *slot = &run->slots[run->push_seq % run->n_slots];
    slot->batch = b;
    slot->state = SLOT_QUEUED;
    run->push_seq++;
    run->cur = NULL; /* now owned by the ring */
    pthread_cond_broadcast(&run->cv);
    pthread_mutex_unlock(&run->mu);
    return true;
}

/* Stop value of the parser's row callback when the run was aborted. */
#define PARSER_ABORTED 1

static int parser_on_row(const csv_row_t *row, void *arg)
{
    import_run_t *run = arg;
    if (!run->cur)
        run->cur = batch_take_spare(run);
    importer_batch_add(run->cur, row);
    if ((int)run->cur->n_rows >= run->batch_rows && !batch_push(run))
        return PARSER_ABORTED;
    return 0;
}

static void parser_finish(import_run_t *run, int rc, bool data_error, const char *message)
{
    pthread_mutex_lock(&run->mu);
    run->input_done = true;
    if (rc && rc != PARSER_ABORTED && !run->parser_rc) {
        run->parser_rc = rc;
        run->parser_data_error = data_error;
        snprintf(run->parser_err, sizeof(run->parser_err), "%s", message);
    }
    pthread_cond_broadcast(&run->cv);
    pthread_mutex_unlock(&run->mu);
}

/* The parser thread: staged chunks from start_offset on -> batches. */
static void *parser_main(void *arg)
{
    import_run_t *run = arg;
    char err[512] = "";
    pg_conn_t *rdb = NULL;
    csv_reader_t *reader = NULL;
    PGresult *res = NULL;
    bool data_error = false;
    int rc = pg_conn_new(run->cfg->dsn, "outdial-importer-reader", NULL, &rdb, err, sizeof(err));
    if (rc)
        goto out;
    csv_reader_opts_t opts = {
        .delimiter = run->delimiter,
        .header = false,
        .first_row = run->first_row,
        .offset = run->start_offset,
    };
    if ((rc = csv_reader_new(&opts, parser_on_row, run, &reader, err, sizeof(err))) != OD_OK)
        goto out;
    for (size_t k = 0; k < run->n_chunks; k++) {
        int64_t end = run->starts[k] + run->lens[k];
        if (end <= (int64_t)run->start_offset)
            continue;
        if (run->cfg->stop && atomic_load(run->cfg->stop)) {
            rc = PARSER_ABORTED;
            goto out;
        }
        if ((rc = chunk_fetch(rdb, run->import_id, run->seqs[k], &res, err, sizeof(err))))
            goto out;
        const char *bytes = PQgetvalue(res, 0, 0);
        int64_t len = PQgetlength(res, 0, 0);
        int64_t skip = (int64_t)run->start_offset > run->starts[k]
                           ? (int64_t)run->start_offset - run->starts[k]
                           : 0;
        if (len != run->lens[k]) {
            rc = od_fail(err, sizeof(err), OD_ERR_CONFLICT,
                         "staged chunk %d changed size while the import ran", run->seqs[k]);
            goto out;
        }
        rc = csv_reader_feed(reader, bytes + skip, (size_t)(len - skip), err, sizeof(err));
        PQclear(res);
        res = NULL;
        if (rc) {
            data_error = rc != PARSER_ABORTED;
            goto out;
        }
    }
    if ((rc = csv_reader_finish(reader, err, sizeof(err))) != OD_OK) {
        data_error = rc != PARSER_ABORTED;
        goto out;
    }
    if (!batch_push(run))
        rc = PARSER_ABORTED;
out:
    /* Rows read before an error are valid: hand them on too. */
    if (rc && rc != PARSER_ABORTED && !batch_push(run))
        rc = PARSER_ABORTED;
    parser_finish(run, rc, data_error, err);
    PQclear(res);
    importer_batch_free(run->cur);
    run->cur = NULL;
    csv_reader_free(reader);
    pg_conn_free(rdb);
    return NULL;
}

/* A worker: maps queued batches, lowest number first. */
static void *worker_main(void *arg)
{
    import_run_t *run = arg;
    lead_map_ctx_t *ctx = lead_map_ctx_new();
    importer_rng_t rng;
    importer_rng_init(&rng);
    pthread_mutex_lock(&run->mu);
    for (;;) {
        if (run->abort)
            break;
        slot_t *slot = NULL;
        for (uint64_t s = run->write_seq; s < run->push_seq; s++) {
            if (run->slots[s % run->n_slots].state == SLOT_QUEUED) {
                slot = &run->slots[s % run->n_slots];
                break;
            }
        }
        if (!slot) {
            if (run->input_done)
                break;
            pthread_cond_wait(&run->cv, &run->mu);
            continue;
        }
        slot->state = SLOT_MAPPING;
        importer_batch_t *b = slot->batch;
        pthread_mutex_unlock(&run->mu);
        importer_batch_map(b, run->map, ctx, &rng, run->info.region, run->info.campaign_id,
                           run->import_id);
        pthread_mutex_lock(&run->mu);
        slot->state = SLOT_DONE;
        pthread_cond_broadcast(&run->cv);
    }
    pthread_mutex_unlock(&run->mu);
    lead_map_ctx_free(ctx);
    return NULL;
}

/* The batch's counts once merged. */
typedef struct batch_counts {
    int64_t imported;
    int64_t dnc;
} batch_counts_t;

/* BEGIN, without waiting for the WAL flush: a lost commit loses the
 * resume point with it (same transaction), so the import stays exact.
 * Creates the temp table once per server session (*pid: the backend). */
static int batch_tx_begin(import_run_t *run, int *pid, char *errbuf, size_t errlen)
{
    pg_conn_t *db = run->db;
    int rc = pg_tx_begin(db, errbuf, errlen);
    if (rc)
        return rc;
    if ((rc = pg_exec(db, "SET LOCAL synchronous_commit TO off", NULL, errbuf, errlen)))
        return rc;
    *pid = PQbackendPID(pg_conn_get(db));
    if (*pid != run->temp_pid)
        rc = pg_exec(db, TEMP_TABLE_SQL, NULL, errbuf, errlen);
    return rc;
}

/* copy_in on the run's connection, its time counted as COPY. */
static int run_copy_in(import_run_t *run, const char *sql, const char *what, const csv_buf_t *data,
                       int64_t *rows, char *errbuf, size_t errlen)
{
    double t0 = mono_s();
    int rc = copy_in(run->db, sql, what, data->data, data->len, rows, errbuf, errlen);
    run->t_copy += mono_s() - t0;
    return rc;
}

/* Whether one of the batch's numbers is on the account's DNC list. */
static int batch_dnc_any(import_run_t *run, const importer_batch_t *b, bool *any, char *errbuf,
                         size_t errlen)
{
    PGresult *res = NULL;
    const char *params[2] = {run->info.account_id, b->direct_numbers.data};
    int rc = pg_stmt_exec(run->db, &stmt_dnc_any, params, &res, errbuf, errlen);
    if (rc == OD_OK)
        *any = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return rc;
}

/* The direct way: primaries COPYed into lead, secondary contacts into the
 * temp table. A number already in the campaign fails the COPY: *conflict. */
static int batch_copy_direct(import_run_t *run, const importer_batch_t *b, batch_counts_t *counts,
                             bool *conflict, char *errbuf, size_t errlen)
{
    int64_t copied = 0;
    int rc = run_copy_in(run, COPY_DIRECT_SQL, "copy leads", &b->direct, &copied, errbuf, errlen);
    if (rc) {
        *conflict = rc == OD_ERR_CONFLICT && strcmp(pg_conn_sqlstate(run->db), "23505") == 0;
        return rc;
    }
    counts->imported = copied;
    counts->dnc = 0;
    if (b->n_secondary == 0)
        return OD_OK;
    return run_copy_in(run, COPY_LEADS_SQL, "copy secondary contacts", &b->secondaries, NULL,
                       errbuf, errlen);
}

/* The merge way: everything COPYed into the temp table, then the primaries
 * merged, duplicates and DNC numbers left out and counted. */
static int batch_copy_merge(import_run_t *run, const importer_batch_t *b, batch_counts_t *counts,
                            char *errbuf, size_t errlen)
{
    int rc = run_copy_in(run, COPY_LEADS_SQL, "copy leads", &b->leads, NULL, errbuf, errlen);
    if (rc)
        return rc;
    double t0 = mono_s();
    PGresult *res = NULL;
    const char *params[3] = {run->info.campaign_id, run->import_id, run->info.account_id};
    const pg_stmt_t *merge = b->n_external > 0 ? &stmt_merge_primary_ext : &stmt_merge_primary;
    if ((rc = pg_stmt_exec(run->db, merge, params, &res, errbuf, errlen)) == OD_OK) {
        counts->imported = field_int(res, 0, 0, 0);
        counts->dnc = field_int(res, 0, 1, 0);
    }
    PQclear(res);
    run->t_merge += mono_s() - t0;
    return rc;
}

/* The batch's leads, either way, then the secondary contacts' merge. */
static int batch_leads_write(import_run_t *run, const importer_batch_t *b, bool direct,
                             batch_counts_t *counts, bool *conflict, char *errbuf, size_t errlen)
{
    if (direct) {
        int rc = batch_dnc_any(run, b, &direct, errbuf, errlen);
        if (rc)
            return rc;
        direct = !direct; /* no number of the batch is on the DNC list */
    }
    int rc = direct ? batch_copy_direct(run, b, counts, conflict, errbuf, errlen)
                    : batch_copy_merge(run, b, counts, errbuf, errlen);
    if (rc || b->n_secondary == 0)
        return rc;
    double t0 = mono_s();
    const char *params[3] = {run->info.campaign_id, run->import_id, run->info.account_id};
    rc = pg_stmt_exec(run->db, &stmt_merge_secondary, params, NULL, errbuf, errlen);
    run->t_merge += mono_s() - t0;
    return rc;
}

/* The resume point and counters after the batch, in its transaction. */
static int batch_progress_write(import_run_t *run, const importer_counts_t *c, char *errbuf,
                                size_t errlen)
{
    char v[8][24];
    const int64_t values[8] = {c->bytes_done,    c->row_number_done,          c->rows_read,
                               c->rows_imported, c->rows_duplicate,           c->rows_dnc,
                               c->rows_rejected, c->secondary_phones_rejected};
    const char *params[9] = {run->import_id};
    for (int i = 0; i < 8; i++) {
        snprintf(v[i], sizeof(v[i]), "%lld", (long long)values[i]);
        params[i + 1] = v[i];
    }
    return pg_stmt_exec(run->db, &stmt_progress, params, NULL, errbuf, errlen);
}

/* Writes one batch in one transaction. Two ways to the leads:
 *   direct  the primaries (each number once, importer_batch.h) COPYed
 *           straight into lead: no temp table, no INSERT ... SELECT. Only
 *           when no number of theirs is on the account's DNC list (one
 *           probe) and none is in the campaign already: a number that is
 *           makes the COPY fail on lead_campaign_e164_key (*conflict), the
 *           transaction rolls back, and the caller writes the batch again
 *           the other way. The secondary contacts still go through the
 *           temp table and stmt_merge_secondary.
 *   merge   everything COPYed into the temp table, then the merges, which
 *           leave out and count duplicates and DNC numbers.
 * Both import the same rows; direct only skips work that finds nothing. */
static int batch_write_once(import_run_t *run, const importer_batch_t *b, bool direct,
                            batch_counts_t *counts, bool *conflict, char *errbuf, size_t errlen)
{
    double t0 = mono_s(), timed0 = run->t_copy + run->t_merge;
    int pid = -1;
    *conflict = false;
    int rc = batch_tx_begin(run, &pid, errbuf, errlen);
    if (rc == OD_OK && b->leads.len > 0)
        rc = batch_leads_write(run, b, direct, counts, conflict, errbuf, errlen);
    if (rc == OD_OK && b->rejects.len > 0)
        rc = run_copy_in(run, COPY_REJECTS_SQL, "copy rejects", &b->rejects, NULL, errbuf, errlen);
    if (rc == OD_OK) {
        importer_counts_t after =
            importer_counts_after(&run->info.counts, b, counts->imported, counts->dnc);
        rc = batch_progress_write(run, &after, errbuf, errlen);
    }
    if (rc == OD_OK && (rc = pg_tx_commit(run->db, errbuf, errlen)) == OD_OK)
        run->temp_pid = pid;
    if (rc)
        pg_tx_rollback(run->db);
    /* Everything but the COPYs and merges, timed where they run. */
    run->t_commit += mono_s() - t0 - (run->t_copy + run->t_merge - timed0);
    return rc;
}

static int batch_write(import_run_t *run, const importer_batch_t *b, char *errbuf, size_t errlen)
{
    batch_counts_t counts;
    int rc;
    bool direct = importer_direct_decide(b, run->direct_off);
    for (int attempt = 1;; attempt++) {
        memset(&counts, 0, sizeof(counts));
        bool conflict = false;
        rc = batch_write_once(run, b, direct, &counts, &conflict, errbuf, errlen);
        if (conflict) {
            /* A number of the batch is in the campaign already: this batch
             * goes through the merge, and after a few such batches (a file
             * imported again, duplicates far apart) every later one does,
             * rather than paying for a COPY that fails. Not a retry. */
            direct = false;
            if (++run->direct_conflicts >= IMPORTER_DIRECT_CONFLICTS_MAX && !run->direct_off) {
                run->direct_off = true;
                log_info("import_direct_off",
                         "import %s: %d batches had numbers already in the campaign; "
                         "merging every batch from row %llu on",
                         run->import_id, run->direct_conflicts,
                         (unsigned long long)b->rows[0].number);
            }
            attempt--;
            continue;
        }
        if (rc != OD_ERR_CONFLICT || attempt >= IMPORTER_BATCH_RETRIES)
            break;
        log_warn("import_retry", "import %s: batch of rows up to %llu: %s; retrying",
                 run->import_id, (unsigned long long)b->last_row, errbuf);
        /* Let the other transaction finish: 100 ms, 200 ms. */
        struct timespec ts = {0, 100000000L * attempt};
        nanosleep(&ts, NULL);
    }
    if (rc)
        return rc;
    run->info.counts = importer_counts_after(&run->info.counts, b, counts.imported, counts.dnc);
    return OD_OK;
}

/* The writer loop on the caller's thread. Returns OD_OK when every batch
 * was written (check run->parser_rc), *stopped when cfg->stop ended it. */
static int writer_loop(import_run_t *run, importer_progress_fn progress, void *arg, bool *stopped,
                       char *errbuf, size_t errlen)
{
    int rc = OD_OK;
    *stopped = false;
    for (;;) {
        if (run->cfg->stop && atomic_load(run->cfg->stop)) {
            *stopped = true;
            break;
        }
        double t0 = mono_s();
        pthread_mutex_lock(&run->mu);
        importer_batch_t *b = NULL;
        for (;;) {
            slot_t *slot = &run->slots[run->write_seq % run->n_slots];
            if (run->write_seq < run->push_seq && slot->state == SLOT_DONE) {
                b = slot->batch;
                break;
            }
            if (run->input_done && run->write_seq == run->push_seq)
                break;
            pthread_cond_wait(&run->cv, &run->mu);
        }
        pthread_mutex_unlock(&run->mu);
        run->t_wait += mono_s() - t0;
        if (!b)
            break; /* everything written */
        rc = batch_write(run, b, errbuf, errlen);
        pthread_mutex_lock(&run->mu);
        slot_t *slot = &run->slots[run->write_seq % run->n_slots];
        slot->state = SLOT_EMPTY;
        slot->batch = NULL;
        run->write_seq++;
        run->spare[run->n_spare++] = b;
        pthread_cond_broadcast(&run->cv);
        pthread_mutex_unlock(&run->mu);
        if (rc)
            break;
        if (progress) {
            importer_progress_t p;
            progress_from_info(&run->info, run->import_id, &p);
            p.elapsed_s = mono_s() - run->started;
            progress(&p, arg);
        }
    }
    return rc;
}

/* Runs the threads over the data from run->start_offset. */
static int pipeline_run(import_run_t *run, importer_progress_fn progress, void *arg, bool *stopped,
                        char *errbuf, size_t errlen)
{
    int workers = importer_workers_decide(run->cfg->workers, sysconf(_SC_NPROCESSORS_ONLN));
    /* Every worker busy, one batch being written and one being filled:
     * more slots would only hold memory. */
    run->n_slots = (size_t)workers + 3;
    run->slots = xcalloc(run->n_slots, sizeof(*run->slots));
    run->spare = xcalloc(run->n_slots + 1, sizeof(*run->spare));
    pthread_t parser;
    pthread_t *threads = xcalloc((size_t)workers, sizeof(*threads));
    int started = 0;
    bool parser_started = false;
    int rc = OD_OK;
    if (pthread_create(&parser, NULL, parser_main, run) != 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL, "cannot start the parser thread");
        goto out;
    }
    parser_started = true;
    for (; started < workers; started++) {
        if (pthread_create(&threads[started], NULL, worker_main, run) != 0) {
            rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL, "cannot start worker threads");
            goto out;
        }
    }
    rc = writer_loop(run, progress, arg, stopped, errbuf, errlen);
out:
    run_abort(run);
    if (parser_started)
        pthread_join(parser, NULL);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    for (size_t i = 0; i < run->n_slots; i++)
        importer_batch_free(run->slots[i].batch);
    for (size_t i = 0; i < run->n_spare; i++)
        importer_batch_free(run->spare[i]);
    free(run->slots);
    free(run->spare);
    run->slots = NULL;
    run->spare = NULL;
    return rc;
}

/* ---- header pass ------------------------------------------------------------ */

typedef struct header_pass {
    bool got;
    bool too_long;
    int bad_utf8_field;
    size_t n;
    char **names;
    size_t *lens;
    uint64_t end_offset;
} header_pass_t;

#define HEADER_STOP 1

static int header_on_row(const csv_row_t *row, void *arg)
{
    header_pass_t *hp = arg;
    if (!row->header)
        return HEADER_STOP;
    hp->got = true;
    hp->too_long = row->too_long;
    hp->bad_utf8_field = row->bad_utf8_field;
    hp->end_offset = row->end_offset;
    if (!row->too_long) {
        hp->n = row->n_fields;
        hp->names = xcalloc(row->n_fields ? row->n_fields : 1, sizeof(*hp->names));
        hp->lens = xcalloc(row->n_fields ? row->n_fields : 1, sizeof(*hp->lens));
        for (size_t i = 0; i < row->n_fields; i++) {
            hp->names[i] = xstrndup(row->fields[i], row->lens[i]);
            hp->lens[i] = row->lens[i];
        }
    }
    return HEADER_STOP;
}

static void header_pass_free(header_pass_t *hp)
{
    for (size_t i = 0; i < hp->n; i++)
        free(hp->names[i]);
    free(hp->names);
    free(hp->lens);
}

/* Reads the header from the start of the staged bytes and builds the map.
 * A problem of the file is reported with *data_error set (the import
 * fails); other errors are the database's. header_csv gets the header as
 * comma-separated CSV. */
static int header_read(import_run_t *run, const lead_map_spec_t *spec, csv_buf_t *header_csv,
                       bool *data_error, char *errbuf, size_t errlen)
{
    header_pass_t hp;
    memset(&hp, 0, sizeof(hp));
    csv_reader_t *reader = NULL;
    PGresult *res = NULL;
    *data_error = false;
    csv_reader_opts_t opts = {.header = true};
    int rc = csv_reader_new(&opts, header_on_row, &hp, &reader, errbuf, errlen);
    if (rc)
        goto out;
    rc = OD_OK;
    for (size_t k = 0; k < run->n_chunks && rc == OD_OK; k++) {
        if ((rc = chunk_fetch(run->db, run->import_id, run->seqs[k], &res, errbuf, errlen)))
            goto out;
        rc = csv_reader_feed(reader, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), errbuf,
                             errlen);
        PQclear(res);
        res = NULL;
    }
    if (rc == OD_OK)
        rc = csv_reader_finish(reader, errbuf, errlen);
    if (rc == HEADER_STOP)
        rc = OD_OK;
    if (rc) {
        *data_error = true;
        goto out;
    }
    *data_error = true;
    if (!hp.got) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                     "the file has no header row (it is empty or blank)");
        goto out;
    }
    if (hp.too_long) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "the header row is too long");
        goto out;
    }
    if (hp.bad_utf8_field >= 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                     "the header row is not valid UTF-8 text (column %d): save the file as "
                     "\"CSV UTF-8\"",
                     hp.bad_utf8_field + 1);
        goto out;
    }
    if ((rc = lead_map_new((const char *const *)hp.names, hp.lens, hp.n, spec, &run->map, errbuf,
                           errlen)))
        goto out;
    *data_error = false;
    run->delimiter = csv_reader_delimiter(reader);
    run->header_end = hp.end_offset;
    for (size_t i = 0; i < hp.n; i++) {
        if (i)
            csv_buf_putc(header_csv, ',');
        csv_field_append(header_csv, hp.names[i], hp.lens[i], ',');
    }
out:
    PQclear(res);
    csv_reader_free(reader);
    header_pass_free(&hp);
    return rc;
}

static int chunks_load(import_run_t *run, char *errbuf, size_t errlen)
{
    PGresult *res = NULL;
    const char *params[1] = {run->import_id};
    int rc = pg_stmt_exec(run->db, &stmt_chunks, params, &res, errbuf, errlen);
    if (rc)
        return rc;
    size_t n = (size_t)PQntuples(res);
    run->seqs = xcalloc(n ? n : 1, sizeof(*run->seqs));
    run->starts = xcalloc(n ? n : 1, sizeof(*run->starts));
    run->lens = xcalloc(n ? n : 1, sizeof(*run->lens));
    int64_t offset = 0;
    for (size_t k = 0; k < n; k++) {
        run->seqs[k] = (int)field_int(res, (int)k, 0, 0);
        run->lens[k] = field_int(res, (int)k, 1, 0);
        run->starts[k] = offset;
        offset += run->lens[k];
    }
    run->n_chunks = n;
    PQclear(res);
    if (offset != run->info.bytes_total)
        return od_fail(errbuf, errlen, OD_ERR_CONFLICT,
                       "import %s: %lld bytes staged, but the import says %lld", run->import_id,
                       (long long)offset, (long long)run->info.bytes_total);
    return OD_OK;
}

static void run_free(import_run_t *run)
{
    free(run->info.mapping_json);
    free(run->seqs);
    free(run->starts);
    free(run->lens);
    lead_map_free(run->map);
    pthread_mutex_destroy(&run->mu);
    pthread_cond_destroy(&run->cv);
}

/* The arguments of importer_run, before anything is touched. */
static int run_args_check(const importer_config_t *cfg, const char *import_id, char *errbuf,
                          size_t errlen)
{
    if (!uuid_str_valid(import_id))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "import id '%s' is not a UUID (8-4-4-4-12 hex digits)", import_id);
    if (!cfg || !cfg->dsn)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "importer_run: no database DSN");
    if (cfg->batch_rows < 0 || cfg->batch_rows > IMPORTER_BATCH_ROWS_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "batch rows must be 1..%d",
                       IMPORTER_BATCH_ROWS_MAX);
    return OD_OK;
}

static void run_init(import_run_t *run, pg_conn_t *db, const importer_config_t *cfg,
                     const char *import_id)
{
    memset(run, 0, sizeof(*run));
    pthread_mutex_init(&run->mu, NULL);
    pthread_cond_init(&run->cv, NULL);
    run->db = db;
    run->cfg = cfg;
    run->import_id = import_id;
    run->batch_rows = cfg->batch_rows ? cfg->batch_rows : IMPORTER_BATCH_ROWS_DEFAULT;
    run->temp_pid = -1;
    run->started = mono_s();
}

/* Runs stmt_lock or stmt_unlock on the import's advisory lock; *got: its
 * answer (taken, or released). */
static int run_lock_exec(pg_conn_t *db, const pg_stmt_t *stmt, const char *import_id, bool *got,
                         char *errbuf, size_t errlen)
{
    char lockclass[16];
    snprintf(lockclass, sizeof(lockclass), "%d", IMPORTER_LOCK_CLASS);
    const char *params[2] = {lockclass, import_id};
    PGresult *res = NULL;
    int rc = pg_stmt_exec(db, stmt, params, &res, errbuf, errlen);
    *got = rc == OD_OK && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return rc;
}

/* Everything before the data pass: the mapping, the staged chunks, the
 * header (the import marked running with it) and where the pass starts.
 * *go false: the run is over, result says how (or the error does). */
static int run_prepare(import_run_t *run, importer_result_t *result, bool *go, char *errbuf,
                       size_t errlen)
{
    pg_conn_t *db = run->db;
    lead_map_spec_t *spec = NULL;
    csv_buf_t header_csv = {0};
    char message[512];
    bool data_error = false;
    *go = false;
    int rc;
    if (lead_map_spec_from_json(run->info.mapping_json, &spec, message, sizeof(message)) != OD_OK) {
        rc = import_fail(db, run->import_id, message, result, errbuf, errlen);
        goto out;
    }
    if ((rc = chunks_load(run, errbuf, errlen)))
        goto out;
    rc = header_read(run, spec, &header_csv, &data_error, message, sizeof(message));
    if (rc && data_error) {
        rc = import_fail(db, run->import_id, message, result, errbuf, errlen);
        goto out;
    }
    if (rc) {
        snprintf(errbuf, errlen, "%s", message);
        goto out;
    }
    const char *params[2] = {run->import_id, csv_buf_cstr(&header_csv)};
    if ((rc = pg_stmt_exec(db, &stmt_start, params, NULL, errbuf, errlen)))
        goto out;
    importer_resume_t from = importer_resume_point(&run->info.counts, run->header_end);
    run->start_offset = from.offset;
    run->first_row = from.first_row;
    *go = true;
out:
    csv_buf_free(&header_csv);
    lead_map_spec_free(spec);
    return rc;
}

static void run_log_start(const import_run_t *run)
{
    char *desc = lead_map_describe(run->map);
    char delimiter[2] = {run->delimiter, 0};
    log_info("import_start",
             "import %s into campaign %s: %lld bytes, from byte %llu (row %llu), delimiter "
             "'%s', region %s, %s",
             run->import_id, run->info.campaign_id, (long long)run->info.bytes_total,
             (unsigned long long)run->start_offset, (unsigned long long)run->first_row,
             run->delimiter == '\t' ? "tab" : delimiter, run->info.region, desc);
    free(desc);
}

static void run_log_end(const import_run_t *run, const importer_result_t *result)
{
    const importer_counts_t *c = &run->info.counts;
    log_info("import_completed",
             "import %s: %lld rows read, %lld imported, %lld duplicate, %lld dnc, %lld rejected "
             "(%lld secondary phones left out) in %.1f s",
             run->import_id, (long long)c->rows_read, (long long)c->rows_imported,
             (long long)c->rows_duplicate, (long long)c->rows_dnc, (long long)c->rows_rejected,
             (long long)c->secondary_phones_rejected, result->progress.elapsed_s);
    log_info("import_timing",
             "import %s: writer waited %.1f s for rows, COPY %.1f s, merge %.1f s, "
             "transactions %.1f s",
             run->import_id, run->t_wait, run->t_copy, run->t_merge, run->t_commit);
}

/* The data pass, then the end importer_end_decide picks. */
static int run_pass(import_run_t *run, importer_progress_fn progress, void *arg,
                    importer_result_t *result, char *errbuf, size_t errlen)
{
    run_log_start(run);
    if (progress) {
        /* Where the run starts (a resumed import's counters so far). */
        importer_progress_t p;
        progress_from_info(&run->info, run->import_id, &p);
        progress(&p, arg);
    }
    bool stopped = false;
    int rc = pipeline_run(run, progress, arg, &stopped, errbuf, errlen);
    progress_from_info(&run->info, run->import_id, &result->progress);
    result->progress.elapsed_s = mono_s() - run->started;
    if (rc)
        return rc;
    switch (importer_end_decide(stopped, run->parser_rc, run->parser_data_error)) {
    case IMPORTER_END_STOPPED:
        result->outcome = IMPORTER_STOPPED;
        log_info("import_stopped", "import %s stopped at row %lld (resumable)", run->import_id,
                 (long long)run->info.counts.row_number_done);
        return OD_OK;
    case IMPORTER_END_FAIL_IMPORT:
        return import_fail(run->db, run->import_id, run->parser_err, result, errbuf, errlen);
    case IMPORTER_END_ERROR:
        snprintf(errbuf, errlen, "%s", run->parser_err);
        return run->parser_rc;
    case IMPORTER_END_COMPLETE:
        break;
    }
    if ((rc = import_end(run->db, run->import_id, "completed", NULL, errbuf, errlen)))
        return rc;
    result->outcome = IMPORTER_COMPLETED;
    run_log_end(run, result);
    return OD_OK;
}

/* With the lock held: the import row decides whether there is anything to
 * run (importer_start_decide), then the run. */
static int run_locked(import_run_t *run, importer_progress_fn progress, void *arg,
                      importer_result_t *result, char *errbuf, size_t errlen)
{
    int rc = info_load(run->db, run->import_id, &run->info, errbuf, errlen);
    if (rc)
        return rc;
    progress_from_info(&run->info, run->import_id, &result->progress);
    switch (importer_start_decide(run->info.status, run->info.bytes_total)) {
    case IMPORTER_START_COMPLETED:
        result->outcome = IMPORTER_COMPLETED;
        return OD_OK;
    case IMPORTER_START_FAILED:
        result->outcome = IMPORTER_FAILED;
        snprintf(result->error, sizeof(result->error), "%s", run->info.error);
        return OD_OK;
    case IMPORTER_START_UNSTAGED:
        return od_fail(errbuf, errlen, OD_ERR_CONFLICT,
                       "import %s: its upload is not completely staged yet", run->import_id);
    case IMPORTER_START_RUN:
        break;
    }
    bool go = false;
    if ((rc = run_prepare(run, result, &go, errbuf, errlen)) || !go)
        return rc;
    return run_pass(run, progress, arg, result, errbuf, errlen);
}

int importer_run(pg_conn_t *db, const importer_config_t *cfg, const char *import_id,
                 importer_progress_fn progress, void *arg, importer_result_t *result, char *errbuf,
                 size_t errlen)
{
    memset(result, 0, sizeof(*result));
    int rc = run_args_check(cfg, import_id, errbuf, errlen);
    if (rc)
        return rc;
    /* Both build process-wide state lazily; do it before any thread does. */
    phone_init();
    json_object_seed(0);
    import_run_t run;
    run_init(&run, db, cfg, import_id);
    bool locked = false;
    rc = run_lock_exec(db, &stmt_lock, import_id, &locked, errbuf, errlen);
    if (rc == OD_OK && !locked)
        rc = od_fail(errbuf, errlen, OD_ERR_CONFLICT, "import %s is being run by another importer",
                     import_id);
    if (locked) {
        rc = run_locked(&run, progress, arg, result, errbuf, errlen);
        char ignored[128];
        bool released;
        if (!pg_conn_lost(db) && run_lock_exec(db, &stmt_unlock, import_id, &released, ignored,
                                               sizeof(ignored)) != OD_OK)
            log_warn("import_unlock", "import %s: %s", import_id, ignored);
    }
    run_free(&run);
    return rc;
}

/* ---- ImportRequest ------------------------------------------------------------- */

static const pg_stmt_t stmt_request_import = {
    "importer_request_import", "SELECT campaign_id FROM import WHERE id = $1::uuid", 1};

static const pg_stmt_t stmt_request_prepare = {
    "importer_request_prepare",
    "UPDATE import SET"
    " column_mapping = CASE WHEN column_mapping = '{}'::jsonb THEN $2::jsonb"
    "                  ELSE column_mapping END,"
    " region = COALESCE(region, $3)"
    " WHERE id = $1::uuid AND status = 'pending'",
    3};

int importer_request_prepare(pg_conn_t *db, const importrequest_t *req, char *errbuf, size_t errlen)
{
    PGresult *res = NULL;
    char *mapping = NULL;
    lead_map_spec_t spec = {0};
    const char *params[3] = {req->import_id, NULL, NULL};
    int rc = pg_stmt_exec_row(db, &stmt_request_import, params, "import", &res, errbuf, errlen);
    if (rc)
        goto out;
    if (strcmp(PQgetvalue(res, 0, 0), req->campaign_id) != 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                     "import %s belongs to campaign %s, not %s as the request says", req->import_id,
                     PQgetvalue(res, 0, 0), req->campaign_id);
        goto out;
    }
    /* The request's map, field -> column, as the JSON the import row keeps. */
    spec.n = req->n_column_mapping;
    spec.pairs = xcalloc(spec.n ? spec.n : 1, sizeof(*spec.pairs));
    for (size_t i = 0; i < spec.n; i++) {
        spec.pairs[i].field = req->column_mapping[i]->key;
        spec.pairs[i].column = req->column_mapping[i]->value;
    }
    mapping = lead_map_spec_to_json(&spec);
    params[1] = mapping;
    params[2] = req->region && *req->region ? req->region : NULL;
    rc = pg_stmt_exec(db, &stmt_request_prepare, params, NULL, errbuf, errlen);
out:
    free(spec.pairs);
    free(mapping);
    PQclear(res);
    return rc;
}

/* ---- rejected rows ------------------------------------------------------------- */

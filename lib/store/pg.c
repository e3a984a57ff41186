#include "pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xmalloc.h"

struct pg_conn {
    PGconn *conn;
    pg_retry_t retry;
    char **prepared; /* statement names prepared on this server session */
    size_t nprepared;
    size_t prepared_cap;
    bool in_tx; /* pg_tx_begin succeeded, no commit/rollback yet */
    bool lost;  /* a statement found the server connection gone */
    char sqlstate[6];
};

pg_retry_t pg_retry_default(void)
{
    pg_retry_t retry = {
        .attempts = PG_CONNECT_ATTEMPTS,
        .backoff_first_ms = PG_CONNECT_BACKOFF_FIRST_MS,
        .backoff_max_ms = PG_CONNECT_BACKOFF_MAX_MS,
    };
    return retry;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Copies libpq's (often multi-line, newline-terminated) message into out
 * as one line. */
static void one_line(char *out, size_t len, const char *msg)
{
    size_t o = 0;
    bool space = false;
    for (const char *p = msg ? msg : ""; *p && o + 1 < len; p++) {
        if (*p == '\n' || *p == '\t' || *p == '\r') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < len) {
            out[o++] = ' ';
        }
        space = false;
        out[o++] = *p;
    }
    out[o] = '\0';
}

static void forget_prepared(pg_conn_t *db)
{
    for (size_t i = 0; i < db->nprepared; i++)
        free(db->prepared[i]);
    db->nprepared = 0;
}

static bool is_prepared(const pg_conn_t *db, const char *name)
{
    for (size_t i = 0; i < db->nprepared; i++)
        if (strcmp(db->prepared[i], name) == 0)
            return true;
    return false;
}

static void add_prepared(pg_conn_t *db, const char *name)
{
    if (db->nprepared == db->prepared_cap) {
        db->prepared_cap = db->prepared_cap ? db->prepared_cap * 2 : 16;
        db->prepared = xrealloc(db->prepared, db->prepared_cap * sizeof(*db->prepared));
    }
    db->prepared[db->nprepared++] = xstrdup(name);
}

static bool retry_valid(const pg_retry_t *retry)
{
    return retry->attempts >= 1 && retry->backoff_first_ms >= 0 &&
           retry->backoff_max_ms >= retry->backoff_first_ms;
}

/* The error of a failed connection attempt: where it tried (never the
 * password) and libpq's reason. */
static void connect_error(PGconn *conn, char *out, size_t len)
{
    char reason[512];
    one_line(reason, sizeof(reason), conn ? PQerrorMessage(conn) : "out of memory");
    const char *host = conn ? PQhost(conn) : NULL;
    const char *port = conn ? PQport(conn) : NULL;
    const char *dbname = conn ? PQdb(conn) : NULL;
    snprintf(out, len, "%s:%s/%s: %s", host && *host ? host : "(default host)",
             port && *port ? port : "(default port)", dbname && *dbname ? dbname : "(default db)",
             reason);
}

int pg_conn_new(const char *dsn, const char *app_name, const pg_retry_t *retry, pg_conn_t **out,
                char *errbuf, size_t errlen)
{
    pg_retry_t policy = retry ? *retry : pg_retry_default();
    if (!retry_valid(&policy))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "postgres connect: bad retry policy (attempts %d, backoff %d..%d ms)",
                       policy.attempts, policy.backoff_first_ms, policy.backoff_max_ms);
    char *parse_err = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn ? dsn : "", &parse_err);
    if (!opts) {
        char reason[256];
        one_line(reason, sizeof(reason), parse_err ? parse_err : "out of memory");
        PQfreemem(parse_err);
        /* libpq quotes the whole DSN, password included: leave it out. */
        const char *quoted = dsn && *dsn ? strstr(reason, dsn) : NULL;
        if (quoted) {
            char scrubbed[256];
            snprintf(scrubbed, sizeof(scrubbed), "%.*s(the DSN)%s", (int)(quoted - reason), reason,
                     quoted + strlen(dsn));
            memcpy(reason, scrubbed, sizeof(reason));
        }
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "postgres DSN does not parse: %s", reason);
    }
    PQconninfoFree(opts);

    /* Our defaults come before dbname: libpq applies keywords in order and
     * expands the DSN at dbname's position, so anything the DSN sets wins. */
    const char *keys[4];
    const char *vals[4];
    int k = 0;
    keys[k] = "connect_timeout";
    vals[k++] = PG_CONNECT_TIMEOUT_S;
    if (app_name && *app_name) {
        keys[k] = "application_name";
        vals[k++] = app_name;
    }
    keys[k] = "dbname";
    vals[k++] = dsn ? dsn : "";
    keys[k] = NULL;
    vals[k] = NULL;

    char last_error[768] = "";
    int backoff_ms = policy.backoff_first_ms;
    int slept_ms = 0;
    PGconn *conn = NULL;
    for (int attempt = 1; attempt <= policy.attempts; attempt++) {
        conn = PQconnectdbParams(keys, vals, 1);
        if (conn && PQstatus(conn) == CONNECTION_OK)
            break;
        connect_error(conn, last_error, sizeof(last_error));
        PQfinish(conn);
        conn = NULL;
        if (attempt < policy.attempts) {
            sleep_ms(backoff_ms);
            slept_ms += backoff_ms;
            backoff_ms =
                backoff_ms * 2 > policy.backoff_max_ms ? policy.backoff_max_ms : backoff_ms * 2;
        }
    }
    if (!conn)
        return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                       "postgres unavailable after %d attempts over %.1f s: %s", policy.attempts,
                       slept_ms / 1000.0, last_error);

    pg_conn_t *db = xcalloc(1, sizeof(*db));
    db->conn = conn;
    db->retry = policy;
    *out = db;
    return OD_OK;
}

void pg_conn_free(pg_conn_t *db)
{
    if (!db)
        return;
    PQfinish(db->conn);
    forget_prepared(db);
    free(db->prepared);
    free(db);
}

PGconn *pg_conn_get(pg_conn_t *db)
{
    return db->conn;
}

const char *pg_conn_sqlstate(const pg_conn_t *db)
{
    return db->sqlstate;
}

bool pg_conn_lost(const pg_conn_t *db)
{
    return db->lost || PQstatus(db->conn) != CONNECTION_OK;
}

int pg_conn_reset(pg_conn_t *db, char *errbuf, size_t errlen)
{
    /* Whatever happens, the old session's statements and transaction are gone. */
    forget_prepared(db);
    db->in_tx = false;
    db->lost = true;
    char last_error[768] = "";
    int backoff_ms = db->retry.backoff_first_ms;
    int slept_ms = 0;
    for (int attempt = 1; attempt <= db->retry.attempts; attempt++) {
        PQreset(db->conn);
        if (PQstatus(db->conn) == CONNECTION_OK) {
            db->lost = false;
            db->sqlstate[0] = '\0';
            return OD_OK;
        }
        connect_error(db->conn, last_error, sizeof(last_error));
        if (attempt < db->retry.attempts) {
            sleep_ms(backoff_ms);
            slept_ms += backoff_ms;
            backoff_ms = backoff_ms * 2 > db->retry.backoff_max_ms ? db->retry.backoff_max_ms
                                                                   : backoff_ms * 2;
        }
    }
    return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                   "postgres reconnect failed after %d attempts over %.1f s: %s",
                   db->retry.attempts, slept_ms / 1000.0, last_error);
}

/* Reconnects a lost connection before a statement, unless a transaction is
 * open: its earlier statements are gone with the old session, so running
 * the rest on a new one would be wrong. */
static int ensure_connected(pg_conn_t *db, char *errbuf, size_t errlen)
{
    if (!db->lost && PQstatus(db->conn) == CONNECTION_OK)
        return OD_OK;
    db->lost = true;
    db->sqlstate[0] = '\0';
    if (db->in_tx)
        return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                       "postgres connection lost inside a transaction (roll back and retry)");
    return pg_conn_reset(db, errbuf, errlen);
}

static int rc_from_sqlstate(const char *s)
{
    if (!s || strlen(s) != 5)
        return OD_ERR_INTERNAL;
    if (strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 ||
        strcmp(s, "57P03") == 0)
        return OD_ERR_UNAVAILABLE;
    if (strcmp(s, "23505") == 0 || strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0)
        return OD_ERR_CONFLICT;
    if (strcmp(s, "23503") == 0)
        return OD_ERR_NOT_FOUND;
    if (strncmp(s, "22", 2) == 0 || strcmp(s, "23502") == 0 || strcmp(s, "23514") == 0)
        return OD_ERR_INVALID;
    if (strcmp(s, "57014") == 0 || strcmp(s, "55P03") == 0)
        return OD_ERR_TIMEOUT;
    return OD_ERR_INTERNAL;
}

/* Ends a COPY that a statement started by mistake, so that the connection
 * can run the next statement. */
static void abort_copy(PGconn *conn, ExecStatusType status)
{
    if (status == PGRES_COPY_IN) {
        if (PQputCopyEnd(conn, "COPY FROM STDIN is not supported by this helper") < 0)
            return;
    } else {
        char *row = NULL;
        while (PQgetCopyData(conn, &row, 0) > 0) {
            PQfreemem(row);
            row = NULL;
        }
    }
    PGresult *r;
    while ((r = PQgetResult(conn)) != NULL)
        PQclear(r);
}

/* The shared tail of every statement: success keeps or clears the result;
 * failure records the SQLSTATE, notices a lost connection and writes the
 * message. Always consumes r. */
static int result_check(pg_conn_t *db, PGresult *r, const char *what, PGresult **res, char *errbuf,
                        size_t errlen)
{
    if (res)
        *res = NULL;
    ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
        db->sqlstate[0] = '\0';
        if (res)
            *res = r;
        else
            PQclear(r);
        return OD_OK;
    }
    const char *sqlstate = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", sqlstate ? sqlstate : "");
    int rc;
    char message[512];
    if (PQstatus(db->conn) != CONNECTION_OK) {
        db->lost = true;
        rc = OD_ERR_UNAVAILABLE;
        one_line(message, sizeof(message), PQerrorMessage(db->conn));
    } else if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
        abort_copy(db->conn, status);
        rc = OD_ERR_INTERNAL;
        snprintf(message, sizeof(message),
                 "COPY is not run through these helpers: drive it on pg_conn_get() (aborted)");
    } else if (status != PGRES_FATAL_ERROR && status != PGRES_NONFATAL_ERROR) {
        rc = OD_ERR_INTERNAL;
        snprintf(message, sizeof(message), "unexpected result %s", PQresStatus(status));
    } else {
        rc = rc_from_sqlstate(sqlstate);
        const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        if (primary)
            snprintf(message, sizeof(message), "%s", primary);
        else
            one_line(message, sizeof(message), PQerrorMessage(db->conn));
        const char *constraint = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
        if (constraint && !strstr(message, constraint)) {
            size_t n = strlen(message);
            snprintf(message + n, sizeof(message) - n, " (constraint %s)", constraint);
        }
    }
    PQclear(r);
    if (db->sqlstate[0])
        return od_fail(errbuf, errlen, rc, "%s%s%s (SQLSTATE %s)", what ? what : "",
                       what ? ": " : "", message, db->sqlstate);
    return od_fail(errbuf, errlen, rc, "%s%s%s", what ? what : "", what ? ": " : "", message);
}

int pg_result_check(pg_conn_t *db, PGresult *r, const char *what, PGresult **res, char *errbuf,
                    size_t errlen)
{
    return result_check(db, r, what, res, errbuf, errlen);
}

int pg_stmt_exec(pg_conn_t *db, const pg_stmt_t *stmt, const char *const *params, PGresult **res,
                 char *errbuf, size_t errlen)
{
    if (res)
        *res = NULL;
    int rc = ensure_connected(db, errbuf, errlen);
    if (rc)
        return rc;
    if (!is_prepared(db, stmt->name)) {
        PGresult *r = PQprepare(db->conn, stmt->name, stmt->sql, stmt->nparams, NULL);
        char what[128];
        snprintf(what, sizeof(what), "prepare %s", stmt->name);
        rc = result_check(db, r, what, NULL, errbuf, errlen);
        if (rc)
            return rc;
        add_prepared(db, stmt->name);
    }
    PGresult *r = PQexecPrepared(db->conn, stmt->name, stmt->nparams, params, NULL, NULL, 0);
    return result_check(db, r, stmt->name, res, errbuf, errlen);
}

int pg_stmt_exec_row(pg_conn_t *db, const pg_stmt_t *stmt, const char *const *params,
                     const char *what, PGresult **res, char *errbuf, size_t errlen)
{
    int rc = pg_stmt_exec(db, stmt, params, res, errbuf, errlen);
    if (rc == OD_OK && PQntuples(*res) != 1) {
        PQclear(*res);
        *res = NULL;
        rc = od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "%s %s not found", what, params[0]);
    }
    return rc;
}

static void remove_prepared(pg_conn_t *db, const char *name)
{
    for (size_t i = 0; i < db->nprepared; i++) {
        if (strcmp(db->prepared[i], name) == 0) {
            free(db->prepared[i]);
            db->prepared[i] = db->prepared[--db->nprepared];
            return;
        }
    }
}

/* What a pipeline sent, in order, so that each result finds its owner. */
typedef enum pipe_kind { PIPE_BEGIN, PIPE_PREPARE, PIPE_EXEC, PIPE_COMMIT } pipe_kind_t;

typedef struct pipe_cmd {
    pipe_kind_t kind;
    size_t item; /* index in stmts (PIPE_PREPARE, PIPE_EXEC) */
} pipe_cmd_t;

/* Reads the rest of a pipeline up to its sync point and leaves pipeline
 * mode. A connection that cannot leave it is treated as lost: the next
 * statement resets it, which ends pipeline mode with the old session. */
static void pipeline_finish(pg_conn_t *db)
{
    int nulls = 0;
    while (PQstatus(db->conn) == CONNECTION_OK && nulls < 2) {
        PGresult *r = PQgetResult(db->conn);
        if (!r) {
            nulls++;
            continue;
        }
        nulls = 0;
        bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
        if (sync)
            break;
    }
    if (PQexitPipelineMode(db->conn) != 1)
        db->lost = true;
}

int pg_pipeline_exec(pg_conn_t *db, unsigned flags, const pg_pipe_stmt_t *stmts, size_t n,
                     char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (stmts[i].res)
            *stmts[i].res = NULL;
    bool begin = flags & PG_PIPE_BEGIN, commit = flags & PG_PIPE_COMMIT;
    if (begin && db->in_tx)
        return od_fail(errbuf, errlen, OD_ERR_CONFLICT, "begin: a transaction is already open");
    if (!begin && commit && !db->in_tx)
        return od_fail(errbuf, errlen, OD_ERR_CONFLICT, "commit: no transaction is open");
    int rc = ensure_connected(db, errbuf, errlen);
    if (rc)
        return rc;
    PGconn *conn = db->conn;
    if (PQenterPipelineMode(conn) != 1) {
        char message[512];
        one_line(message, sizeof(message), PQerrorMessage(conn));
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "pipeline: %s", message);
    }

    /* Send everything. */
    pipe_cmd_t *cmds = xcalloc(2 * n + 2, sizeof(*cmds));
    size_t n_cmds = 0;
    bool sent = true;
    if (begin) {
        sent = PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) == 1;
        cmds[n_cmds++] = (pipe_cmd_t){PIPE_BEGIN, 0};
    }
    for (size_t i = 0; i < n && sent; i++) {
        const pg_stmt_t *stmt = stmts[i].stmt;
        if (!is_prepared(db, stmt->name)) {
            sent = PQsendPrepare(conn, stmt->name, stmt->sql, stmt->nparams, NULL) == 1;
            if (!sent)
                break;
            add_prepared(db, stmt->name); /* taken back below unless the server took it */
            cmds[n_cmds++] = (pipe_cmd_t){PIPE_PREPARE, i};
        }
        sent = PQsendQueryPrepared(conn, stmt->name, stmt->nparams, stmts[i].params, NULL, NULL,
                                   0) == 1;
        cmds[n_cmds++] = (pipe_cmd_t){PIPE_EXEC, i};
    }
    if (sent && commit) {
        sent = PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) == 1;
        cmds[n_cmds++] = (pipe_cmd_t){PIPE_COMMIT, 0};
    }
    if (sent)
        sent = PQpipelineSync(conn) == 1;
    if (!sent) {
        /* libpq could not queue or send (the connection broke): whatever
         * reached the server is rolled back with the session, which the
         * next statement resets. */
        char message[512];
        one_line(message, sizeof(message), PQerrorMessage(conn));
        db->lost = true;
        db->sqlstate[0] = '\0';
        forget_prepared(db);
        PQexitPipelineMode(conn);
        free(cmds);
        return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "pipeline: %s", message);
    }

    /* One result per command, then a NULL; after the first failure the
     * server skips the rest (PGRES_PIPELINE_ABORTED). */
    rc = OD_OK;
    for (size_t k = 0; k < n_cmds; k++) {
        const pipe_cmd_t *cmd = &cmds[k];
        const pg_stmt_t *stmt =
            cmd->kind == PIPE_PREPARE || cmd->kind == PIPE_EXEC ? stmts[cmd->item].stmt : NULL;
        PGresult *r = PQgetResult(conn);
        if (!r) { /* the connection is gone: result_check says so */
            if (rc == OD_OK)
                rc = result_check(db, NULL, stmt ? stmt->name : "pipeline", NULL, errbuf, errlen);
            for (size_t j = k; j < n_cmds; j++)
                if (cmds[j].kind == PIPE_PREPARE)
                    remove_prepared(db, stmts[cmds[j].item].stmt->name);
            break;
        }
        for (PGresult *end; (end = PQgetResult(conn)) != NULL;)
            PQclear(end);
        if (rc != OD_OK || PQresultStatus(r) == PGRES_PIPELINE_ABORTED) {
            if (rc == OD_OK) /* aborted with no failure before it: cannot happen */
                rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL, "pipeline aborted at %s",
                             stmt ? stmt->name : "begin/commit");
            if (cmd->kind == PIPE_PREPARE)
                remove_prepared(db, stmt->name);
            PQclear(r);
            continue;
        }
        char what[128];
        switch (cmd->kind) {
        case PIPE_BEGIN:
            rc = result_check(db, r, "begin", NULL, errbuf, errlen);
            if (rc == OD_OK)
                db->in_tx = true;
            break;
        case PIPE_PREPARE:
            snprintf(what, sizeof(what), "prepare %s", stmt->name);
            rc = result_check(db, r, what, NULL, errbuf, errlen);
            if (rc)
                remove_prepared(db, stmt->name);
            break;
        case PIPE_EXEC:
            rc = result_check(db, r, stmt->name, stmts[cmd->item].res, errbuf, errlen);
            break;
        case PIPE_COMMIT: {
            PGresult *done = NULL;
            db->in_tx = false;
            rc = result_check(db, r, "commit", &done, errbuf, errlen);
            if (rc == OD_OK && strcmp(PQcmdStatus(done), "ROLLBACK") == 0)
                rc = od_fail(errbuf, errlen, OD_ERR_CONFLICT,
                             "commit: the transaction was rolled back (a statement in it failed)");
            PQclear(done);
            break;
        }
        }
    }
    pipeline_finish(db);
    free(cmds);
    if (rc != OD_OK) {
        for (size_t i = 0; i < n; i++) {
            if (stmts[i].res) {
                PQclear(*stmts[i].res);
                *stmts[i].res = NULL;
            }
        }
    }
    return rc;
}

int pg_exec_params(pg_conn_t *db, const char *sql, int nparams, const char *const *params,
                   PGresult **res, char *errbuf, size_t errlen)
{
    if (res)
        *res = NULL;
    int rc = ensure_connected(db, errbuf, errlen);
    if (rc)
        return rc;
    PGresult *r = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    return result_check(db, r, NULL, res, errbuf, errlen);
}

int pg_exec(pg_conn_t *db, const char *sql, PGresult **res, char *errbuf, size_t errlen)
{
    if (res)
        *res = NULL;
    int rc = ensure_connected(db, errbuf, errlen);
    if (rc)
        return rc;
    PGresult *r = PQexec(db->conn, sql);
    return result_check(db, r, NULL, res, errbuf, errlen);
}

int pg_tx_begin(pg_conn_t *db, char *errbuf, size_t errlen)
{
    if (db->in_tx)
        return od_fail(errbuf, errlen, OD_ERR_CONFLICT, "begin: a transaction is already open");
    int rc = ensure_connected(db, errbuf, errlen);
    if (rc)
        return rc;
    rc = result_check(db, PQexec(db->conn, "BEGIN"), "begin", NULL, errbuf, errlen);
    if (rc == OD_OK)
        db->in_tx = true;
    return rc;
}

int pg_tx_commit(pg_conn_t *db, char *errbuf, size_t errlen)
{
    if (!db->in_tx)
        return od_fail(errbuf, errlen, OD_ERR_CONFLICT, "commit: no transaction is open");
    db->in_tx = false;
    if (pg_conn_lost(db)) {
        db->lost = true;
        return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                       "commit: postgres connection lost, the transaction did not commit");
    }
    PGresult *r = NULL;
    int rc = result_check(db, PQexec(db->conn, "COMMIT"), "commit", &r, errbuf, errlen);
    if (rc)
        return rc;
    /* The server answers COMMIT of a failed transaction with ROLLBACK. */
    bool rolled_back = strcmp(PQcmdStatus(r), "ROLLBACK") == 0;
    PQclear(r);
    if (rolled_back)
        return od_fail(errbuf, errlen, OD_ERR_CONFLICT,
                       "commit: the transaction was rolled back (a statement in it failed)");
    return OD_OK;
}

void pg_tx_rollback(pg_conn_t *db)
{
    if (!db->in_tx)
        return;
    db->in_tx = false;
    if (pg_conn_lost(db)) {
        db->lost = true;
        return;
    }
    PGresult *r = PQexec(db->conn, "ROLLBACK");
    if (PQstatus(db->conn) != CONNECTION_OK)
        db->lost = true;
    PQclear(r);
}

bool pg_tx_open(const pg_conn_t *db)
{
    return db->in_tx;
}

typedef struct pg_check {
    char *dsn;
    pg_conn_t *db; /* NULL until connected, and after a failure */
} pg_check_t;

static const pg_stmt_t check_stmt = {"pg_check", "SELECT 1", 0};

static int pg_check_run(void *arg, char *errbuf, size_t errlen)
{
    pg_check_t *c = arg;
    /* One attempt: the caller's schedule (deps) is the retry. */
    static const pg_retry_t once = {.attempts = 1};
    int rc = OD_OK;
    if (!c->db)
        rc = pg_conn_new(c->dsn, "outdial-check", &once, &c->db, errbuf, errlen);
    if (rc == OD_OK)
        rc = pg_stmt_exec(c->db, &check_stmt, NULL, NULL, errbuf, errlen);
    if (rc != OD_OK) {
        pg_conn_free(c->db);
        c->db = NULL;
    }
    return rc;
}

static void pg_check_free(void *arg)
{
    pg_check_t *c = arg;
    pg_conn_free(c->db);
    free(c->dsn);
    free(c);
}

int pg_deps_add(deps_t *d, const char *dsn)
{
    pg_check_t *c = xcalloc(1, sizeof(*c));
    c->dsn = xstrdup(dsn ? dsn : "");
    return deps_add(d, "postgres", pg_check_run, c, pg_check_free);
}

int pg_conn_await(deps_t *d, int dep, const atomic_bool *stop, const char *dsn,
                  const char *app_name, pg_conn_t **out, char *errbuf, size_t errlen)
{
    while (deps_wait(d, dep, stop)) {
        int rc = pg_conn_new(dsn, app_name, NULL, out, errbuf, errlen);
        if (rc != OD_ERR_UNAVAILABLE)
            return rc;
        deps_failed(d, dep, errbuf);
    }
    return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "stopped while waiting for PostgreSQL");
}

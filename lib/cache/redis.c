#include "redis.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "xmalloc.h"

/*
 * The lock scripts. KEYS[1] is the lock key, ARGV[1] the caller's token.
 * Compare and act in one script so that no other client can take the lock
 * between our GET and our DEL/PEXPIRE (the lease could expire and be
 * re-acquired by someone else in between).
 */
static const char LOCK_RELEASE_LUA[] = "if redis.call('get', KEYS[1]) == ARGV[1] then "
                                       "return redis.call('del', KEYS[1]) "
                                       "else return 0 end";
static const char LOCK_EXTEND_LUA[] = "if redis.call('get', KEYS[1]) == ARGV[1] then "
                                      "return redis.call('pexpire', KEYS[1], ARGV[2]) "
                                      "else return 0 end";

#define SHA1_HEX_SIZE 41

struct redis {
    pthread_mutex_t lock;
    redis_url_t url;
    int connect_timeout_ms;
    int command_timeout_ms;
    redisContext *ctx; /* NULL while disconnected */
    bool ever_connected;
    uint64_t reconnects;
    char release_sha[SHA1_HEX_SIZE];
    char extend_sha[SHA1_HEX_SIZE];
};

/* --- URL --- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Copies s[0..n) into out (size outlen) decoding %XX escapes. */
static bool percent_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= outlen)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

static bool parse_uint(const char *s, size_t n, long max, long *out)
{
    if (n == 0 || n > 9)
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

int redis_url_parse(const char *url, redis_url_t *out, char *errbuf, size_t errlen)
{
    static const char scheme[] = "redis://";
    redis_url_t u = {.port = 6379, .db = 0};
    if (!url || strncasecmp(url, scheme, sizeof(scheme) - 1) != 0) {
        /* Only the scheme is echoed: the rest may hold a password. */
        const char *sep = url ? strstr(url, "://") : NULL;
        if (!sep || sep - url > 16)
            return od_fail(
                errbuf, errlen, OD_ERR_INVALID,
                "redis URL: no scheme; expected redis://[[user]:password@]host[:port][/db]");
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "redis URL: scheme '%.*s' is not redis:// "
                       "(redis://[[user]:password@]host[:port][/db])",
                       (int)(sep - url), url);
    }
    const char *p = url + sizeof(scheme) - 1;
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    if (strpbrk(p, "?#"))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "redis URL: query parameters and fragments are not supported");

    /* userinfo: everything before the last '@' of the authority. */
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    if (at) {
        /* user:password, or a password alone (as redis-cli reads it). */
        const char *colon = memchr(p, ':', (size_t)(at - p));
        bool ok = colon ? percent_decode(p, (size_t)(colon - p), u.user, sizeof(u.user)) &&
                              percent_decode(colon + 1, (size_t)(at - colon - 1), u.password,
                                             sizeof(u.password))
                        : percent_decode(p, (size_t)(at - p), u.password, sizeof(u.password));
        if (!ok)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "redis URL: bad user or password (too long or a bad %% escape)");
        p = at + 1;
    }

    /* host[:port] or [v6]:port */
    const char *host = p, *host_end, *port = NULL;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close)
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "redis URL: unclosed '[' in host");
        host = p + 1;
        host_end = close;
        if (close + 1 < end) {
            if (close[1] != ':')
                return od_fail(errbuf, errlen, OD_ERR_INVALID,
                               "redis URL: unexpected text after ']'");
            port = close + 2;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        host_end = colon ? colon : end;
        if (colon)
            port = colon + 1;
    }
    size_t host_len = (size_t)(host_end - host);
    if (host_len == 0 || host_len >= sizeof(u.host))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "redis URL: missing or too long host");
    memcpy(u.host, host, host_len);
    u.host[host_len] = '\0';
    long v = 0;
    if (port) {
        if (!parse_uint(port, (size_t)(end - port), 65535, &v) || v == 0)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "redis URL: port '%.*s' is not a number in 1..65535", (int)(end - port),
                           port);
        u.port = (int)v;
    }
    if (slash && slash[1]) {
        if (!parse_uint(slash + 1, strlen(slash + 1), 100000, &v))
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "redis URL: database '%s' is not a number in 0..100000", slash + 1);
        u.db = (int)v;
    }
    *out = u;
    return OD_OK;
}

/* --- SIGPIPE ---
 * hiredis writes with write(), so a write on a connection the server has
 * closed would raise SIGPIPE and kill the process. Block it around each
 * command and swallow one raised meanwhile (libpq does the same), rather
 * than change the process-wide disposition behind the service's back. */

typedef struct sigpipe_guard {
    sigset_t old_mask;
    bool was_pending;
} sigpipe_guard_t;

/* Fills pipe_set with SIGPIPE alone; whether a SIGPIPE is pending. */
static bool sigpipe_pending(sigset_t *pipe_set)
{
    sigset_t pending;
    sigemptyset(pipe_set);
    sigaddset(pipe_set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    return sigismember(&pending, SIGPIPE) == 1;
}

static void sigpipe_block(sigpipe_guard_t *g)
{
    sigset_t pipe_set;
    g->was_pending = sigpipe_pending(&pipe_set);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old_mask);
}

static void sigpipe_unblock(sigpipe_guard_t *g)
{
    sigset_t pipe_set;
    if (sigpipe_pending(&pipe_set) && !g->was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &g->old_mask, NULL);
}

/* --- connection --- */

static struct timeval ms_timeval(int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

/* Sends one setup command on a fresh context; OD_OK or a message. */
static int setup_command(redisContext *ctx, int argc, const char **argv, const redis_url_t *u,
                         char *errbuf, size_t errlen)
{
    redisReply *reply = redisCommandArgv(ctx, argc, argv, NULL);
    int rc = OD_OK;
    if (!reply)
        rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "redis %s:%d: %s: %s", u->host, u->port,
                     argv[0], ctx->errstr);
    else if (reply->type == REDIS_REPLY_ERROR)
        rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "redis %s:%d: %s refused: %s", u->host,
                     u->port, argv[0], reply->str);
    freeReplyObject(reply);
    return rc;
}

/* Opens r->ctx: connect within the connect timeout, set the command
 * timeout, keepalive (so a silently dead peer is noticed), AUTH, SELECT,
 * and a client name that shows up in CLIENT LIST. */
static int connect_locked(redis_t *r, char *errbuf, size_t errlen)
{
    const redis_url_t *u = &r->url;
    int rc = OD_OK;
    redisContext *ctx =
        redisConnectWithTimeout(u->host, u->port, ms_timeval(r->connect_timeout_ms));
    if (!ctx) {
        rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "redis %s:%d: cannot allocate a context",
                     u->host, u->port);
        goto fail;
    }
    if (ctx->err) {
        rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "redis %s:%d: connect: %s", u->host,
                     u->port, ctx->errstr);
        goto fail;
    }
    if (redisSetTimeout(ctx, ms_timeval(r->command_timeout_ms)) != REDIS_OK ||
        redisEnableKeepAlive(ctx) != REDIS_OK) {
        rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "redis %s:%d: socket options: %s", u->host,
                     u->port, ctx->errstr);
        goto fail;
    }
    if (u->password[0]) {
        const char *argv[3] = {"AUTH", u->user[0] ? u->user : u->password, u->password};
        rc = setup_command(ctx, u->user[0] ? 3 : 2, argv, u, errbuf, errlen);
        if (rc != OD_OK)
            goto fail;
    }
    if (u->db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", u->db);
        const char *argv[2] = {"SELECT", db};
        rc = setup_command(ctx, 2, argv, u, errbuf, errlen);
        if (rc != OD_OK)
            goto fail;
    }
    const char *name_argv[3] = {"CLIENT", "SETNAME", "outdial"};
    rc = setup_command(ctx, 3, name_argv, u, errbuf, errlen);
    if (rc != OD_OK)
        goto fail;
    if (r->ever_connected)
        r->reconnects++;
    r->ever_connected = true;
    r->ctx = ctx;
    return OD_OK;
fail:
    if (ctx)
        redisFree(ctx);
    return rc;
}

static void disconnect_locked(redis_t *r)
{
    if (r->ctx) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
}

/*
 * One command with the reconnection policy of redis.h. On OD_OK *reply_out
 * is the reply, possibly an error reply (the caller frees it). *resent_out
 * tells whether the command was sent a second time after a broken
 * connection, so callers can interpret an ambiguous answer.
 */
static int exec_locked(redis_t *r, bool idempotent, int argc, const char **argv,
                       const size_t *argvlen, redisReply **reply_out, bool *resent_out,
                       char *errbuf, size_t errlen)
{
    int rc;
    sigpipe_guard_t guard;
    *resent_out = false;
    sigpipe_block(&guard);
    if (!r->ctx) {
        rc = connect_locked(r, errbuf, errlen);
        if (rc != OD_OK)
            goto out;
    }
    for (int attempt = 0;; attempt++) {
        errno = 0;
        redisReply *reply = redisCommandArgv(r->ctx, argc, argv, argvlen);
        int saved_errno = errno;
        if (reply) {
            *reply_out = reply;
            rc = OD_OK;
            goto out;
        }
        int err = r->ctx->err;
        char what[128];
        snprintf(what, sizeof(what), "%s", r->ctx->errstr);
        /* After any error hiredis's context is unusable: drop it. */
        disconnect_locked(r);
        if (err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)) {
            rc = od_fail(errbuf, errlen, OD_ERR_TIMEOUT, "redis %s: no reply within %d ms", argv[0],
                         r->command_timeout_ms);
            goto out;
        }
        if (err != REDIS_ERR_IO && err != REDIS_ERR_EOF) {
            rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL, "redis %s: %s", argv[0], what);
            goto out;
        }
        if (attempt > 0) {
            rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                         "redis %s: connection lost again after reconnecting: %s", argv[0], what);
            goto out;
        }
        char reconnect_err[256];
        rc = connect_locked(r, reconnect_err, sizeof(reconnect_err));
        if (rc != OD_OK) {
            rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                         "redis %s: connection lost (%s); reconnecting failed: %s", argv[0], what,
                         reconnect_err);
            goto out;
        }
        if (!idempotent) {
            rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                         "redis %s: connection lost (%s); not re-sent because it is not "
                         "idempotent, so its outcome is unknown",
                         argv[0], what);
            goto out;
        }
        *resent_out = true;
    }
out:
    sigpipe_unblock(&guard);
    return rc;
}

/* Maps an error reply to a code; Redis's own words go to errbuf. */
static int reply_error(const redisReply *reply, const char *cmd, char *errbuf, size_t errlen)
{
    static const char *const transient[] = {"LOADING",  "READONLY",    "MASTERDOWN", "BUSY",
                                            "TRYAGAIN", "CLUSTERDOWN", NULL};
    int rc = OD_ERR_INTERNAL;
    for (int i = 0; transient[i]; i++) {
        size_t n = strlen(transient[i]);
        if (strncmp(reply->str, transient[i], n) == 0 &&
            (reply->str[n] == ' ' || reply->str[n] == '\0'))
            rc = OD_ERR_UNAVAILABLE;
    }
    return od_fail(errbuf, errlen, rc, "redis %s: %s", cmd, reply->str);
}

static int unexpected_reply(redisReply *reply, const char *cmd, char *errbuf, size_t errlen)
{
    return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "redis %s: unexpected reply type %d", cmd,
                   reply->type);
}

/* exec_locked under the client's mutex, turning error replies into codes. */
static int run(redis_t *r, bool idempotent, int argc, const char **argv, const size_t *argvlen,
               redisReply **reply_out, bool *resent_out, char *errbuf, size_t errlen)
{
    redisReply *reply = NULL;
    bool resent = false;
    pthread_mutex_lock(&r->lock);
    int rc = exec_locked(r, idempotent, argc, argv, argvlen, &reply, &resent, errbuf, errlen);
    pthread_mutex_unlock(&r->lock);
    if (rc == OD_OK && reply->type == REDIS_REPLY_ERROR) {
        rc = reply_error(reply, argv[0], errbuf, errlen);
        freeReplyObject(reply);
        reply = NULL;
    }
    if (resent_out)
        *resent_out = resent;
    if (rc == OD_OK)
        *reply_out = reply;
    return rc;
}

/* --- lifecycle --- */

static void sha1_hex(const char *text, char out[SHA1_HEX_SIZE])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha1(), NULL) || mdlen != 20) {
        /* Leaves an unknown SHA: EVALSHA answers NOSCRIPT and EVAL takes over. */
        snprintf(out, SHA1_HEX_SIZE, "%040d", 0);
        return;
    }
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* A client for url; connected now when connect_now (OD_ERR_UNAVAILABLE if
 * that fails), else on its first command. */
static int client_new(const char *url, int connect_timeout_ms, int command_timeout_ms,
                      bool connect_now, redis_t **out, char *errbuf, size_t errlen)
{
    redis_url_t u;
    int rc = redis_url_parse(url, &u, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    /* Below 1 ms a timeout means "no wait" to setsockopt, i.e. forever. */
    if (connect_timeout_ms < 1 || command_timeout_ms < 1)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "redis: timeouts must be at least 1 ms");
    redis_t *r = xcalloc(1, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    r->url = u;
    r->connect_timeout_ms = connect_timeout_ms;
    r->command_timeout_ms = command_timeout_ms;
    sha1_hex(LOCK_RELEASE_LUA, r->release_sha);
    sha1_hex(LOCK_EXTEND_LUA, r->extend_sha);
    if (!connect_now) {
        *out = r;
        return OD_OK;
    }
    sigpipe_guard_t guard;
    sigpipe_block(&guard);
    rc = connect_locked(r, errbuf, errlen);
    sigpipe_unblock(&guard);
    if (rc != OD_OK)
        goto fail;
    *out = r;
    return OD_OK;
fail:
    redis_free(r);
    return rc;
}

int redis_new(const char *url, int connect_timeout_ms, int command_timeout_ms, redis_t **out,
              char *errbuf, size_t errlen)
{
    return client_new(url, connect_timeout_ms, command_timeout_ms, true, out, errbuf, errlen);
}

int redis_new_from_env(redis_t **out, char *errbuf, size_t errlen)
{
    int64_t connect_ms = 0, command_ms = 0;
    const char *url = config_get_str("OUTDIAL_REDIS_URL", "redis://127.0.0.1:6379/0");
    /* 2 s: a local or same-zone Redis answers in well under a millisecond;
     * two seconds without an answer means it is down or overloaded, and a
     * dialer worker should rather report that than hang on a call slot. */
    int rc = config_get_int("OUTDIAL_REDIS_CONNECT_TIMEOUT_MS", 2000, 100, 60000, &connect_ms,
                            errbuf, errlen);
    if (rc == OD_OK)
        rc = config_get_int("OUTDIAL_REDIS_COMMAND_TIMEOUT_MS", 2000, 100, 60000, &command_ms,
                            errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    char err[256];
    rc = client_new(url, (int)connect_ms, (int)command_ms, false, out, err, sizeof(err));
    if (rc != OD_OK)
        return od_fail(errbuf, errlen, rc, "OUTDIAL_REDIS_URL: %s", err);
    /* Connect now when Redis answers, so that a first command does not pay
     * for it; when it does not, the first command that finds it up will. */
    redis_t *r = *out;
    sigpipe_guard_t guard;
    sigpipe_block(&guard);
    pthread_mutex_lock(&r->lock);
    if (connect_locked(r, err, sizeof(err)) != OD_OK)
        log_info("redis", "%s (connecting when it answers)", err);
    pthread_mutex_unlock(&r->lock);
    sigpipe_unblock(&guard);
    return OD_OK;
}

static int redis_check_run(void *r, char *errbuf, size_t errlen)
{
    return redis_ping(r, errbuf, errlen);
}

static void redis_check_free(void *r)
{
    redis_free(r);
}

int redis_deps_add(deps_t *d, char *errbuf, size_t errlen)
{
    redis_t *r = NULL;
    int rc = redis_new_from_env(&r, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    return deps_add(d, "redis", redis_check_run, r, redis_check_free);
}

void redis_free(redis_t *r)
{
    if (!r)
        return;
    disconnect_locked(r);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

uint64_t redis_reconnect_count(redis_t *r)
{
    pthread_mutex_lock(&r->lock);
    uint64_t n = r->reconnects;
    pthread_mutex_unlock(&r->lock);
    return n;
}

/* --- commands --- */

int redis_command_argv(redis_t *r, bool idempotent, int argc, const char **argv,
                       const size_t *argvlen, redisReply **reply_out, char *errbuf, size_t errlen)
{
    return run(r, idempotent, argc, argv, argvlen, reply_out, NULL, errbuf, errlen);
}

int redis_ping(redis_t *r, char *errbuf, size_t errlen)
{
    const char *argv[] = {"PING"};
    redisReply *reply = NULL;
    int rc = run(r, true, 1, argv, NULL, &reply, NULL, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    if (reply->type != REDIS_REPLY_STATUS)
        rc = unexpected_reply(reply, "PING", errbuf, errlen);
    freeReplyObject(reply);
    return rc;
}

static int ttl_check(const char *cmd, int64_t ttl_ms, char *errbuf, size_t errlen)
{
    if (ttl_ms < 1)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "redis %s: ttl must be at least 1 ms", cmd);
    return OD_OK;
}

/* SET key value NX PX ttl: OD_OK set, OD_ERR_CONFLICT existed. */
static int set_nx(redis_t *r, bool idempotent, const char *key, const char *value, int64_t ttl_ms,
                  bool *resent_out, char *errbuf, size_t errlen)
{
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    const char *argv[] = {"SET", key, value, "NX", "PX", ttl};
    redisReply *reply = NULL;
    int rc = run(r, idempotent, 6, argv, NULL, &reply, resent_out, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    if (reply->type == REDIS_REPLY_STATUS)
        rc = OD_OK;
    else if (reply->type == REDIS_REPLY_NIL)
        rc = od_fail(errbuf, errlen, OD_ERR_CONFLICT, "redis SET NX: %s already exists", key);
    else
        rc = unexpected_reply(reply, "SET", errbuf, errlen);
    freeReplyObject(reply);
    return rc;
}

int redis_set_nx(redis_t *r, const char *key, const char *value, int64_t ttl_ms, char *errbuf,
                 size_t errlen)
{
    int rc = ttl_check("SET", ttl_ms, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    return set_nx(r, false, key, value, ttl_ms, NULL, errbuf, errlen);
}

int redis_get(redis_t *r, const char *key, char **value_out, size_t *len_out, char *errbuf,
              size_t errlen)
{
    const char *argv[] = {"GET", key};
    redisReply *reply = NULL;
    int rc = run(r, true, 2, argv, NULL, &reply, NULL, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    if (reply->type == REDIS_REPLY_STRING) {
        char *value = xmalloc(reply->len + 1);
        memcpy(value, reply->str, reply->len);
        value[reply->len] = '\0';
        *value_out = value;
        if (len_out)
            *len_out = reply->len;
    } else if (reply->type == REDIS_REPLY_NIL) {
        rc = od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "redis GET: %s does not exist", key);
    } else {
        rc = unexpected_reply(reply, "GET", errbuf, errlen);
    }
    freeReplyObject(reply);
    return rc;
}

/* A command answering an integer; *n_out gets it. */
static int run_integer(redis_t *r, bool idempotent, int argc, const char **argv, long long *n_out,
                       bool *resent_out, char *errbuf, size_t errlen)
{
    redisReply *reply = NULL;
    int rc = run(r, idempotent, argc, argv, NULL, &reply, resent_out, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    if (reply->type == REDIS_REPLY_INTEGER)
        *n_out = reply->integer;
    else
        rc = unexpected_reply(reply, argv[0], errbuf, errlen);
    freeReplyObject(reply);
    return rc;
}

int redis_del(redis_t *r, const char *key, bool *deleted_out, char *errbuf, size_t errlen)
{
    const char *argv[] = {"DEL", key};
    long long n = 0;
    int rc = run_integer(r, true, 2, argv, &n, NULL, errbuf, errlen);
    if (rc == OD_OK && deleted_out)
        *deleted_out = n > 0;
    return rc;
}

int redis_sadd(redis_t *r, const char *key, const char *member, char *errbuf, size_t errlen)
{
    const char *argv[] = {"SADD", key, member};
    long long n = 0;
    return run_integer(r, true, 3, argv, &n, NULL, errbuf, errlen);
}

int redis_srem(redis_t *r, const char *key, const char *member, char *errbuf, size_t errlen)
{
    const char *argv[] = {"SREM", key, member};
    long long n = 0;
    return run_integer(r, true, 3, argv, &n, NULL, errbuf, errlen);
}

int redis_sismember(redis_t *r, const char *key, const char *member, bool *is_member_out,
                    char *errbuf, size_t errlen)
{
    const char *argv[] = {"SISMEMBER", key, member};
    long long n = 0;
    int rc = run_integer(r, true, 3, argv, &n, NULL, errbuf, errlen);
    if (rc == OD_OK)
        *is_member_out = n == 1;
    return rc;
}

/* --- locks --- */

static int token_new(char out[REDIS_LOCK_TOKEN_SIZE], char *errbuf, size_t errlen)
{
    unsigned char bits[16];
    size_t got = 0;
    while (got < sizeof(bits)) {
        ssize_t n = getrandom(bits + got, sizeof(bits) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "getrandom: %s", strerror(errno));
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(bits); i++)
        snprintf(out + 2 * i, 3, "%02x", bits[i]);
    return OD_OK;
}

int redis_lock_acquire(redis_t *r, const char *key, int64_t ttl_ms,
                       char token_out[REDIS_LOCK_TOKEN_SIZE], char *errbuf, size_t errlen)
{
    int rc = ttl_check("lock acquire", ttl_ms, errbuf, errlen);
    if (rc == OD_OK)
        rc = token_new(token_out, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    bool resent = false;
    rc = set_nx(r, true, key, token_out, ttl_ms, &resent, errbuf, errlen);
    if (rc != OD_ERR_CONFLICT || !resent)
        return rc;
    /* The first SET was lost with the connection; if it had been applied
     * the key holds our token, which nobody else can have. */
    char *held = NULL;
    char err[256];
    int get_rc = redis_get(r, key, &held, NULL, err, sizeof(err));
    if (get_rc == OD_OK && strcmp(held, token_out) == 0)
        rc = OD_OK;
    else if (get_rc != OD_OK && get_rc != OD_ERR_NOT_FOUND)
        rc =
            od_fail(errbuf, errlen, get_rc, "redis lock acquire %s: outcome unknown: %s", key, err);
    free(held);
    return rc;
}

int redis_script_run(redis_t *r, const char *script, const char *sha, bool idempotent, int nkeys,
                     int nargs, const char **args, redisReply **reply_out, bool *resent_out,
                     char *errbuf, size_t errlen)
{
    char own_sha[SHA1_HEX_SIZE];
    if (!sha) {
        sha1_hex(script, own_sha);
        sha = own_sha;
    }
    char nkeys_text[12];
    snprintf(nkeys_text, sizeof(nkeys_text), "%d", nkeys);
    const char **argv = xcalloc((size_t)nargs + 3, sizeof(*argv));
    argv[0] = "EVALSHA";
    argv[1] = sha;
    argv[2] = nkeys_text;
    for (int i = 0; i < nargs; i++)
        argv[3 + i] = args[i];
    redisReply *reply = NULL;
    bool resent = false;
    pthread_mutex_lock(&r->lock);
    int rc = exec_locked(r, idempotent, nargs + 3, argv, NULL, &reply, &resent, errbuf, errlen);
    if (rc == OD_OK && reply->type == REDIS_REPLY_ERROR &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(reply);
        reply = NULL;
        bool resent_eval = false;
        argv[0] = "EVAL";
        argv[1] = script;
        rc =
            exec_locked(r, idempotent, nargs + 3, argv, NULL, &reply, &resent_eval, errbuf, errlen);
        resent = resent || resent_eval;
    }
    pthread_mutex_unlock(&r->lock);
    if (rc == OD_OK && reply->type == REDIS_REPLY_ERROR) {
        rc = reply_error(reply, argv[0], errbuf, errlen);
        freeReplyObject(reply);
        reply = NULL;
    }
    free(argv);
    if (resent_out)
        *resent_out = resent;
    if (rc == OD_OK)
        *reply_out = reply;
    return rc;
}

/* Runs a lock script (KEYS[1] key, ARGV token and extra); both are
 * idempotent (compare-and-delete / compare-and-pexpire). */
static int lock_script(redis_t *r, const char *sha, const char *script, const char *key,
                       const char *token, const char *extra, long long *n_out, bool *resent_out,
                       char *errbuf, size_t errlen)
{
    const char *args[] = {key, token, extra};
    redisReply *reply = NULL;
    int rc = redis_script_run(r, script, sha, true, 1, extra ? 3 : 2, args, &reply, resent_out,
                              errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    if (reply->type == REDIS_REPLY_INTEGER)
        *n_out = reply->integer;
    else
        rc = unexpected_reply(reply, "EVALSHA", errbuf, errlen);
    freeReplyObject(reply);
    return rc;
}

/* What a release or extend script's answer n means: 1, the lock was ours;
 * else OD_ERR_CONFLICT, with note appended to the message. rc of the
 * script call passes through. */
static int lock_script_outcome(int rc, long long n, const char *key, const char *note, char *errbuf,
                               size_t errlen)
{
    if (rc != OD_OK)
        return rc;
    if (n == 1)
        return OD_OK;
    return od_fail(errbuf, errlen, OD_ERR_CONFLICT,
                   "redis lock %s: not held with this token (expired or held by another)%s", key,
                   note);
}

int redis_lock_release(redis_t *r, const char *key, const char *token, char *errbuf, size_t errlen)
{
    long long n = 0;
    bool resent = false;
    int rc = lock_script(r, r->release_sha, LOCK_RELEASE_LUA, key, token, NULL, &n, &resent, errbuf,
                         errlen);
    return lock_script_outcome(
        rc, n, key,
        resent ? "; the first attempt, lost with the connection, may have released it" : "", errbuf,
        errlen);
}

int redis_lock_extend(redis_t *r, const char *key, const char *token, int64_t ttl_ms, char *errbuf,
                      size_t errlen)
{
    int rc = ttl_check("lock extend", ttl_ms, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    long long n = 0;
    bool resent = false;
    rc = lock_script(r, r->extend_sha, LOCK_EXTEND_LUA, key, token, ttl, &n, &resent, errbuf,
                     errlen);
    return lock_script_outcome(rc, n, key, "", errbuf, errlen);
}

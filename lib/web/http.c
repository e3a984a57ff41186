#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>

#include "config.h"
#include "dlist.h"
#include "log.h"
#include "proxy.h"
#include "xmalloc.h"

typedef struct http_header {
    struct http_header *next;
    char *name;
    char *value;
} http_header_t;

struct http_response {
    bool set;
    int status;
    char *content_type;
    char *body; /* owned until handed to libmicrohttpd */
    size_t len;
    http_header_t *headers;
    http_stream_fn stream_next; /* a streamed answer: set until handed over */
    void *stream_state;
    void (*stream_free)(void *);
};

typedef struct http_conn http_conn_t;

/* A streamed answer handed to libmicrohttpd (its content reader's
 * argument; freed by stream_done). While its connection is suspended it
 * is in the server's list of sleeping streams, under streams_mu. */
typedef struct http_stream {
    struct http_stream *next_sleeping;
    http_server_t *srv;
    struct MHD_Connection *conn;
    http_stream_fn next;
    void *state;
    void (*free_fn)(void *);
    int64_t wake_ms;
} http_stream_t;

typedef struct http_route {
    char *method; /* NULL: any */
    char *prefix;
    size_t prefix_len;
    http_handler_fn handler;
    http_body_fn on_body; /* streaming routes only */
    void *arg;
} http_route_t;

struct http_request {
    http_server_t *srv;
    struct MHD_Connection *conn;
    const char *method; /* libmicrohttpd's strings, valid for the request */
    const char *path;
    const http_route_t *route; /* NULL: answered early (404/405/413) */
    char *body;
    size_t body_len;
    size_t body_cap;
    bool responded; /* a response is queued or sent */
    void *state;
    void (*state_free)(void *);
    struct timespec started;
    char remote_addr[INET6_ADDRSTRLEN];
    http_conn_t *tracked; /* the connection's entry, NULL if untracked */
    http_response_t resp;
};

struct http_readiness {
    char *json; /* the "failing" array's items, comma-separated */
    size_t len;
    int failing;
};

/* Sockets answered by the server itself and closed from its side (see
 * answer_and_close): held open, their input read and dropped, until the
 * client closes or HTTP_LINGER_MS pass. */
typedef struct http_lingering {
    int fd;
    int64_t until_ms;
} http_lingering_t;

/* One open connection (libmicrohttpd's socket context), in the server's
 * list for the per-address cap. Under conns_mu. */
struct http_conn {
    struct http_conn *prev, *next;
    int fd;
    char peer[INET6_ADDRSTRLEN];   /* the socket's peer */
    char client[INET6_ADDRSTRLEN]; /* who the cap counts it against; "" until known */
    bool proxied;                  /* the peer is a trusted proxy */
    bool in_request;               /* between a request's head and its end */
    bool shed;                     /* shut down by us, not yet closed */
    bool over_cap;                 /* opened while its address was at the cap */
    int64_t idle_since_ms;         /* opened, or its last request ended */
};

struct http_server {
    http_config_t cfg;
    char *host;
    http_proxies_t proxies;
    pthread_mutex_t conns_mu;
    http_conn_t *conns;
    metrics_counter_t *shed_count;
    pthread_mutex_t linger_mu;
    http_lingering_t *lingering; /* max_connections slots */
    size_t nlingering;
    pthread_t linger_thread;
    pthread_mutex_t streams_mu;
    http_stream_t *sleeping; /* suspended streams, under streams_mu */
    bool streams_stop;       /* under streams_mu: stopping, end every stream */
    bool linger_started;
    volatile bool linger_stop;       /* written under linger_mu */
    metrics_registry_t *own_metrics; /* when the config gave none */
    metrics_family_t *requests;
    metrics_histogram_t *duration;
    http_route_t *routes;
    size_t nroutes;
    struct MHD_Daemon *daemon;
    int port;
};

/* --- small string building --- */

typedef struct strbuf {
    char *data;
    size_t len;
    size_t cap;
} strbuf_t;

static void sb_put(strbuf_t *sb, const char *s, size_t n)
{
    xbuf_put(&sb->data, &sb->len, &sb->cap, s, n);
}

static void sb_puts(strbuf_t *sb, const char *s)
{
    sb_put(sb, s, strlen(s));
}

/* A quoted, escaped JSON string. */
static void sb_put_json_string(strbuf_t *sb, const char *s)
{
    char *escaped = xmalloc(6 * strlen(s) + 1);
    size_t n = log_json_escape(escaped, s);
    sb_puts(sb, "\"");
    sb_put(sb, escaped, n);
    sb_puts(sb, "\"");
    free(escaped);
}

/* --- config --- */

void http_config_init(http_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->host = "0.0.0.0";
    cfg->port = 0;
    /* 4 threads: handlers block on Postgres or Redis for milliseconds, and
     * probes and scrapes must still get through while a few do. */
    cfg->threads = 4;
    /* 512 connections, 64 per address: far above what the API's clients,
     * a load balancer and Prometheus need at once, and low enough that one
     * misbehaving address cannot exhaust descriptors. */
    cfg->max_connections = 512;
    cfg->max_per_ip = 64;
    /* 30 s idle: longer than any honest client pauses mid-request, short
     * enough to reclaim connections from vanished ones. */
    cfg->timeout_s = 30;
    /* 1 MiB: every JSON request of the API fits many times over; CSV
     * uploads go through a streaming route instead. */
    cfg->body_max = 1024 * 1024;
    /* 32 KiB for the request line and headers, libmicrohttpd's default
     * and what common proxies allow. */
    cfg->header_max = 32 * 1024;
}

int http_config_from_env(http_config_t *cfg, const char *prefix, char *errbuf, size_t errlen)
{
    char name[128];
    int64_t v = 0;
    int rc;
    snprintf(name, sizeof(name), "%s_HTTP_HOST", prefix);
    cfg->host = config_get_str(name, cfg->host);
#define GET_INT(suffix, field, min, max)                                                           \
    do {                                                                                           \
        snprintf(name, sizeof(name), "%s_HTTP_" suffix, prefix);                                   \
        rc = config_get_int(name, (int64_t)cfg->field, min, max, &v, errbuf, errlen);              \
        if (rc != OD_OK)                                                                           \
            return rc;                                                                             \
        cfg->field = (__typeof__(cfg->field))v;                                                    \
    } while (0)
    GET_INT("PORT", port, 0, 65535);
    GET_INT("THREADS", threads, 1, 256);
    GET_INT("MAX_CONNECTIONS", max_connections, 1, 100000);
    GET_INT("MAX_PER_IP", max_per_ip, 1, 100000);
    GET_INT("TIMEOUT_S", timeout_s, 1, 3600);
    GET_INT("BODY_MAX", body_max, 1, 1024 * 1024 * 1024);
#undef GET_INT
    snprintf(name, sizeof(name), "%s_HTTP_TRUSTED_PROXIES", prefix);
    cfg->trusted_proxies = config_get_str(name, cfg->trusted_proxies);
    http_proxies_t proxies;
    char why[256];
    if (http_proxies_parse(cfg->trusted_proxies, &proxies, why, sizeof(why)) != OD_OK)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: %s", name, why);
    return OD_OK;
}

/* --- responses --- */

static void response_stream_drop(http_response_t *resp)
{
    if (resp->stream_free && resp->stream_state)
        resp->stream_free(resp->stream_state);
    resp->stream_next = NULL;
    resp->stream_state = NULL;
    resp->stream_free = NULL;
}

static void response_clear(http_response_t *resp)
{
    response_stream_drop(resp);
    free(resp->content_type);
    free(resp->body);
    http_header_t *h = resp->headers;
    while (h) {
        http_header_t *next = h->next;
        free(h->name);
        free(h->value);
        free(h);
        h = next;
    }
    memset(resp, 0, sizeof(*resp));
}

void http_response_take(http_response_t *resp, int status, const char *content_type, char *body,
                        size_t len)
{
    response_stream_drop(resp);
    free(resp->content_type);
    free(resp->body);
    resp->set = true;
    resp->status = status;
    resp->content_type = xstrdup(content_type ? content_type : "application/octet-stream");
    resp->body = body;
    resp->len = body ? len : 0;
}

void http_response_set(http_response_t *resp, int status, const char *content_type,
                       const char *body, size_t len)
{
    char *copy = NULL;
    if (body && len > 0) {
        copy = xmalloc(len);
        memcpy(copy, body, len);
    }
    http_response_take(resp, status, content_type, copy, copy ? len : 0);
}

http_response_t *http_response_new(void)
{
    return xcalloc(1, sizeof(http_response_t));
}

void http_response_free(http_response_t *resp)
{
    if (!resp)
        return;
    response_clear(resp);
    free(resp);
}

int http_response_status(const http_response_t *resp)
{
    return resp->status;
}

void http_response_json(http_response_t *resp, int status, const char *json)
{
    http_response_set(resp, status, "application/json", json, strlen(json));
}

void http_response_error(http_response_t *resp, int status, const char *code, const char *message,
                         const char *field)
{
    strbuf_t sb = {0};
    sb_puts(&sb, "{\"error\":{\"code\":");
    sb_put_json_string(&sb, code);
    sb_puts(&sb, ",\"message\":");
    sb_put_json_string(&sb, message ? message : "");
    if (field) {
        sb_puts(&sb, ",\"field\":");
        sb_put_json_string(&sb, field);
    }
    sb_puts(&sb, "}}");
    http_response_take(resp, status, "application/json", sb.data, sb.len);
}

void http_response_stream(http_response_t *resp, int status, const char *content_type,
                          http_stream_fn next, void *state, void (*free_fn)(void *))
{
    http_response_take(resp, status, content_type, NULL, 0);
    resp->stream_next = next;
    resp->stream_state = state;
    resp->stream_free = free_fn;
}

void http_response_header_add(http_response_t *resp, const char *name, const char *value)
{
    http_header_t *h = xcalloc(1, sizeof(*h));
    h->name = xstrdup(name);
    h->value = xstrdup(value);
    h->next = resp->headers;
    resp->headers = h;
}

/* --- requests --- */

const char *http_request_method(const http_request_t *req)
{
    return req->method;
}

const char *http_request_path(const http_request_t *req)
{
    return req->path;
}

const char *http_request_subpath(const http_request_t *req)
{
    if (!req->route)
        return req->path;
    return req->path + req->route->prefix_len;
}

const char *http_request_query(const http_request_t *req, const char *name)
{
    const char *value = NULL;
    if (MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &value,
                                      NULL) != MHD_YES)
        return NULL;
    return value ? value : "";
}

const char *http_request_header(const http_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_body(const http_request_t *req, size_t *len_out)
{
    if (req->route && req->route->on_body) {
        if (len_out)
            *len_out = 0;
        return NULL;
    }
    if (len_out)
        *len_out = req->body_len;
    return req->body ? req->body : "";
}

const char *http_request_remote_addr(const http_request_t *req)
{
    return req->remote_addr;
}

void http_request_state_set(http_request_t *req, void *state, void (*free_fn)(void *))
{
    req->state = state;
    req->state_free = free_fn;
}

void *http_request_state(const http_request_t *req)
{
    return req->state;
}

void http_readiness_fail(http_readiness_t *rd, const char *check, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    strbuf_t sb = {.data = rd->json, .len = rd->len, .cap = rd->json ? rd->len + 1 : 0};
    if (rd->failing > 0)
        sb_puts(&sb, ",");
    sb_puts(&sb, "{\"check\":");
    sb_put_json_string(&sb, check);
    sb_puts(&sb, ",\"reason\":");
    sb_put_json_string(&sb, reason);
    sb_puts(&sb, "}");
    rd->json = sb.data;
    rd->len = sb.len;
    rd->failing++;
}

void http_readiness_unless(http_readiness_t *rd, const atomic_bool *ok, const char *check,
                           const char *reason)
{
    if (!atomic_load(ok))
        http_readiness_fail(rd, check, "%s", reason);
}

/* --- built-in routes --- */

static void healthz(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)req;
    (void)arg;
    http_response_json(resp, 200, "{\"status\":\"ok\"}");
}

/* A dependency that is down, as a failing check of /readyz. */
static void readyz_dep_down(const char *name, const char *reason, void *arg)
{
    http_readiness_fail(arg, name, "%s", reason);
}

static void readyz(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)req;
    http_server_t *srv = arg;
    http_readiness_t rd = {0};
    if (srv->cfg.deps)
        deps_each_down(srv->cfg.deps, readyz_dep_down, &rd);
    if (srv->cfg.ready)
        srv->cfg.ready(&rd, srv->cfg.ready_arg);
    if (rd.failing == 0) {
        http_response_json(resp, 200, "{\"status\":\"ready\"}");
    } else {
        strbuf_t sb = {0};
        sb_puts(&sb, "{\"status\":\"not_ready\",\"failing\":[");
        sb_put(&sb, rd.json, rd.len);
        sb_puts(&sb, "]}");
        http_response_take(resp, 503, "application/json", sb.data, sb.len);
    }
    free(rd.json);
}

static void metrics_text(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)req;
    http_server_t *srv = arg;
    size_t len = 0;
    char *text = metrics_registry_render(http_server_metrics(srv), &len);
    http_response_take(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* --- routing --- */

static bool route_prefix_matches(const http_route_t *rt, const char *path)
{
    if (strncmp(path, rt->prefix, rt->prefix_len) != 0)
        return false;
    char next = path[rt->prefix_len];
    return next == '\0' || next == '/' || rt->prefix[rt->prefix_len - 1] == '/';
}

static bool route_method_matches(const http_route_t *rt, const char *method)
{
    if (!rt->method)
        return true;
    if (strcmp(rt->method, method) == 0)
        return true;
    return strcmp(rt->method, "GET") == 0 && strcmp(method, "HEAD") == 0;
}

/* The route for method and path; NULL with *path_known set when only other
 * methods' routes match the path (405). */
static const http_route_t *route_find(const http_server_t *srv, const char *method,
                                      const char *path, bool *path_known)
{
    const http_route_t *best = NULL;
    *path_known = false;
    for (size_t i = 0; i < srv->nroutes; i++) {
        const http_route_t *rt = &srv->routes[i];
        if (!route_prefix_matches(rt, path))
            continue;
        *path_known = true;
        if (route_method_matches(rt, method) && (!best || rt->prefix_len > best->prefix_len))
            best = rt;
    }
    return best;
}

static int route_add(http_server_t *srv, const char *method, const char *prefix,
                     http_body_fn on_body, http_handler_fn handler, void *arg, char *errbuf,
                     size_t errlen)
{
    if (srv->daemon)
        return od_fail(errbuf, errlen, OD_ERR_CONFLICT,
                       "http: routes must be added before the server starts");
    if (!prefix || prefix[0] != '/' || !handler)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "http: a route needs a handler and a prefix starting with '/'");
    if (method && strcmp(method, "*") == 0)
        method = NULL;
    for (size_t i = 0; i < srv->nroutes; i++) {
        const http_route_t *rt = &srv->routes[i];
        bool same_method =
            (!rt->method && !method) || (rt->method && method && strcmp(rt->method, method) == 0);
        if (same_method && strcmp(rt->prefix, prefix) == 0)
            return od_fail(errbuf, errlen, OD_ERR_CONFLICT, "http: route %s %s exists already",
                           method ? method : "*", prefix);
    }
    srv->routes = xrealloc(srv->routes, (srv->nroutes + 1) * sizeof(*srv->routes));
    http_route_t *rt = &srv->routes[srv->nroutes++];
    rt->method = method ? xstrdup(method) : NULL;
    rt->prefix = xstrdup(prefix);
    rt->prefix_len = strlen(prefix);
    rt->handler = handler;
    rt->on_body = on_body;
    rt->arg = arg;
    return OD_OK;
}

int http_route_add(http_server_t *srv, const char *method, const char *prefix,
                   http_handler_fn handler, void *arg, char *errbuf, size_t errlen)
{
    return route_add(srv, method, prefix, NULL, handler, arg, errbuf, errlen);
}

int http_route_add_streaming(http_server_t *srv, const char *method, const char *prefix,
                             http_body_fn on_body, http_handler_fn handler, void *arg, char *errbuf,
                             size_t errlen)
{
    if (!on_body)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "http: a streaming route needs on_body");
    return route_add(srv, method, prefix, on_body, handler, arg, errbuf, errlen);
}

/* --- request processing --- */

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void request_count(http_request_t *req)
{
    http_server_t *srv = req->srv;
    char code[8];
    snprintf(code, sizeof(code), "%d", req->resp.status);
    const char *values[] = {req->route ? req->route->prefix : "none", code, NULL};
    metrics_counter_t *c = NULL;
    char err[128];
    if (metrics_counter_with(srv->requests, values, &c, err, sizeof(err)) == OD_OK)
        metrics_counter_add(c, 1);
    metrics_histogram_observe(srv->duration, seconds_since(&req->started));
}

/* --- streamed answers --- */

static int64_t monotonic_ms(void);

/* libmicrohttpd's content reader of a streamed answer. Nothing to send
 * yet: the connection sleeps (suspended, in srv->sleeping) until its
 * wake time, when the housekeeping thread (linger_main) resumes it. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    http_stream_t *st = cls;
    http_server_t *srv = st->srv;
    pthread_mutex_lock(&srv->streams_mu);
    bool stop = srv->streams_stop;
    pthread_mutex_unlock(&srv->streams_mu);
    if (stop)
        return MHD_CONTENT_READER_END_OF_STREAM;
    int retry_ms = HTTP_STREAM_RETRY_MS;
    ssize_t n = st->next(st->state, buf, max, &retry_ms);
    if (n > 0)
        return n > (ssize_t)max ? (ssize_t)max : n;
    if (n == HTTP_STREAM_FAILED)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    pthread_mutex_lock(&srv->streams_mu);
    if (srv->streams_stop) {
        pthread_mutex_unlock(&srv->streams_mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    st->wake_ms = monotonic_ms() + (retry_ms > 0 ? retry_ms : 0);
    st->next_sleeping = srv->sleeping;
    srv->sleeping = st;
    MHD_suspend_connection(st->conn);
    pthread_mutex_unlock(&srv->streams_mu);
    return 0;
}

/* libmicrohttpd is done with the answer (ended, client gone, server
 * stopped): never while the stream sleeps, since every sleeping stream is
 * resumed before the daemon stops. */
static void stream_done(void *cls)
{
    http_stream_t *st = cls;
    if (st->free_fn && st->state)
        st->free_fn(st->state);
    free(st);
}

/* Resumes the sleeping streams whose time has come (all with every_one). */
static void streams_wake(http_server_t *srv, bool every_one)
{
    int64_t now = monotonic_ms();
    pthread_mutex_lock(&srv->streams_mu);
    http_stream_t **link = &srv->sleeping;
    while (*link) {
        http_stream_t *st = *link;
        if (every_one || st->wake_ms <= now) {
            *link = st->next_sleeping;
            st->next_sleeping = NULL;
            MHD_resume_connection(st->conn);
        } else {
            link = &st->next_sleeping;
        }
    }
    pthread_mutex_unlock(&srv->streams_mu);
}

/* Queues req->resp (a 500 if the handler set none). close asks the client
 * to go away afterwards: the rest of its body was not read. */
static enum MHD_Result respond(http_request_t *req, bool close)
{
    http_response_t *resp = &req->resp;
    if (!resp->set)
        http_response_error(resp, 500, "internal", "the handler produced no response", NULL);
    struct MHD_Response *mr;
    if (resp->stream_next) {
        http_stream_t *st = xcalloc(1, sizeof(*st));
        st->srv = req->srv;
        st->conn = req->conn;
        st->next = resp->stream_next;
        st->state = resp->stream_state;
        st->free_fn = resp->stream_free;
        resp->stream_next = NULL;
        resp->stream_state = NULL; /* now owned by st, freed by stream_done */
        resp->stream_free = NULL;
        /* 16 KiB: a few events of a page's worth of statistics per write. */
        mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, st,
                                               stream_done);
        if (!mr)
            stream_done(st);
    } else if (resp->len == 0) {
        mr = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else {
        mr = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
        if (mr)
            resp->body = NULL; /* now owned by libmicrohttpd, which free()s it */
    }
    if (!mr)
        return MHD_NO;
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    for (const http_header_t *h = resp->headers; h; h = h->next)
        MHD_add_response_header(mr, h->name, h->value);
    if (close)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(req->conn, (unsigned)resp->status, mr);
    MHD_destroy_response(mr);
    req->responded = true;
    request_count(req);
    /* A 503 from /readyz is an answer, not a fault. */
    if (resp->status >= 500 && !(req->route && req->route->handler == readyz))
        log_warn("http_error", "%s %s: %d", req->method, req->path, resp->status);
    return ret;
}

/* --- answering on the socket, then a lingering close --- */

static int64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* The housekeeping thread: wakes the sleeping streams whose time has come
 * (streams_wake), and reads and drops what clients still send to the
 * sockets the server answered and closed from its side, closing each
 * when its client closes (read returns 0 or fails) or its time is up. A
 * socket closed with unread input sends a reset, which can reach the
 * client before it has read the answer; lingering makes it see the
 * answer and the end of the stream instead. */
static void *linger_main(void *arg)
{
    http_server_t *srv = arg;
    size_t cap = srv->cfg.max_connections;
    struct pollfd *pfds = xcalloc(cap, sizeof(*pfds));
    char *scratch = xmalloc(64 * 1024);
    for (;;) {
        pthread_mutex_lock(&srv->linger_mu);
        bool stop = srv->linger_stop;
        size_t n = srv->nlingering;
        for (size_t i = 0; i < n; i++)
            pfds[i] = (struct pollfd){.fd = srv->lingering[i].fd, .events = POLLIN};
        pthread_mutex_unlock(&srv->linger_mu);
        if (stop)
            break;
        /* 50 ms: how late a socket past its time is closed, and how soon
         * a stop is noticed. */
        if (poll(pfds, n, 50) < 0 && errno != EINTR)
            break;
        streams_wake(srv, false);
        int64_t now = monotonic_ms();
        pthread_mutex_lock(&srv->linger_mu);
        /* Only this thread removes entries, so the first n are the ones
         * polled; others may have been appended meanwhile. */
        for (size_t i = n; i-- > 0;) {
            http_lingering_t *lg = &srv->lingering[i];
            bool done = now >= lg->until_ms;
            if (!done && pfds[i].revents) {
                ssize_t got;
                do {
                    got = recv(lg->fd, scratch, 64 * 1024, MSG_DONTWAIT);
                } while (got > 0);
                done = got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
            }
            if (done) {
                close(lg->fd);
                *lg = srv->lingering[--srv->nlingering];
            }
        }
        pthread_mutex_unlock(&srv->linger_mu);
    }
    pthread_mutex_lock(&srv->linger_mu);
    for (size_t i = 0; i < srv->nlingering; i++)
        close(srv->lingering[i].fd);
    srv->nlingering = 0;
    pthread_mutex_unlock(&srv->linger_mu);
    free(scratch);
    free(pfds);
    return NULL;
}

/* Hands fd (owned from now on) to the lingering thread; closes it at once
 * when every slot is taken. */
static void linger_add(http_server_t *srv, int fd)
{
    pthread_mutex_lock(&srv->linger_mu);
    if (srv->linger_started && !srv->linger_stop && srv->nlingering < srv->cfg.max_connections) {
        srv->lingering[srv->nlingering++] =
            (http_lingering_t){.fd = fd, .until_ms = monotonic_ms() + HTTP_LINGER_MS};
        fd = -1;
    }
    pthread_mutex_unlock(&srv->linger_mu);
    if (fd >= 0)
        close(fd);
}

/* Sends req->resp on the connection's socket itself, with "Connection:
 * close", and tells libmicrohttpd to drop the connection (its return
 * value): for answers given before the body is read (413, 503), or in the
 * middle of it, which libmicrohttpd can only send after reading the whole
 * body. A copy of the socket lingers (linger_main) so that the client
 * reads the answer rather than a reset. The answer is small and the socket
 * has nothing else queued, so one send takes it. */
static enum MHD_Result answer_and_close(http_request_t *req)
{
    http_response_t *resp = &req->resp;
    if (!resp->set)
        http_response_error(resp, 500, "internal", "the handler produced no response", NULL);
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int fd = info ? fcntl(info->connect_fd, F_DUPFD_CLOEXEC, 0) : -1;
    req->responded = true;
    request_count(req);
    if (fd < 0)
        return MHD_NO;
    bool head = strcmp(req->method, "HEAD") == 0;
    const char *reason = MHD_get_reason_phrase_for((unsigned)resp->status);
    strbuf_t sb = {0};
    char line[256];
    snprintf(line, sizeof(line),
             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n",
             resp->status, reason && *reason ? reason : "Error", resp->content_type, resp->len);
    sb_puts(&sb, line);
    for (const http_header_t *h = resp->headers; h; h = h->next) {
        sb_puts(&sb, h->name);
        sb_puts(&sb, ": ");
        sb_puts(&sb, h->value);
        sb_puts(&sb, "\r\n");
    }
    sb_puts(&sb, "\r\n");
    if (!head && resp->len > 0)
        sb_put(&sb, resp->body, resp->len);
    if (send(fd, sb.data, sb.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug("http", "answer to %s not sent: %s", req->remote_addr, strerror(errno));
    free(sb.data);
    /* The end of the stream after the answer; the reading side stays
     * open for the lingering thread. */
    shutdown(fd, SHUT_WR);
    linger_add(req->srv, fd);
    return MHD_NO;
}

/* The connection's peer address as text ("" if unknown). */
static void peer_addr_text(struct MHD_Connection *conn, char *out, size_t len)
{
    out[0] = '\0';
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)len);
}

/* --- the per-address connection cap --- */

/* How many connections count against client: the direct ones from that
 * address, idle or not, and those from trusted proxies whose request in
 * progress is for it. Under conns_mu. */
static unsigned conns_count(const http_server_t *srv, const char *client)
{
    unsigned n = 0;
    for (const http_conn_t *c = srv->conns; c; c = c->next)
        if (!c->shed && (!c->proxied || c->in_request) && strcmp(c->client, client) == 0)
            n++;
    return n;
}

/* Makes room for client: shuts down its direct connection that has waited
 * longest, at least HTTP_SHED_IDLE_MS, without a request in progress (a
 * slow client's half-sent head, or an idle keep-alive), other than keep.
 * libmicrohttpd sees the end of the stream and closes it. Whether one was
 * found. Under conns_mu. libmicrohttpd reports a connection closed (and
 * on_connection removes it under conns_mu) before it closes the socket,
 * so an fd in the list is always that connection's, never a reused one. */
static bool conns_shed_idle(http_server_t *srv, const char *client, const http_conn_t *keep)
{
    http_conn_t *oldest = NULL;
    int64_t idle_before = monotonic_ms() - HTTP_SHED_IDLE_MS;
    for (http_conn_t *c = srv->conns; c; c = c->next)
        if (c != keep && !c->shed && !c->proxied && !c->in_request && c->fd >= 0 &&
            c->idle_since_ms <= idle_before && strcmp(c->client, client) == 0 &&
            (!oldest || c->idle_since_ms < oldest->idle_since_ms))
            oldest = c;
    if (!oldest)
        return false;
    shutdown(oldest->fd, SHUT_RDWR);
    oldest->shed = true;
    metrics_counter_add(srv->shed_count, 1);
    return true;
}

/* libmicrohttpd's connection notifications: every open connection is in
 * srv->conns. One that opens while its address is at the cap sheds that
 * address's longest-idle connection, if it has one. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    http_server_t *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        http_conn_t *c = xcalloc(1, sizeof(*c));
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        c->fd = info ? info->connect_fd : -1;
        peer_addr_text(conn, c->peer, sizeof(c->peer));
        c->proxied = http_proxies_contains(&srv->proxies, c->peer);
        if (!c->proxied)
            snprintf(c->client, sizeof(c->client), "%s", c->peer);
        c->idle_since_ms = monotonic_ms();
        pthread_mutex_lock(&srv->conns_mu);
        if (!c->proxied && conns_count(srv, c->client) >= srv->cfg.max_per_ip)
            conns_shed_idle(srv, c->client, NULL);
        DLIST_PUSH(srv->conns, c, prev, next);
        pthread_mutex_unlock(&srv->conns_mu);
        *socket_context = c;
        return;
    }
    http_conn_t *c = *socket_context;
    if (!c)
        return;
    pthread_mutex_lock(&srv->conns_mu);
    DLIST_REMOVE(srv->conns, c, prev, next);
    pthread_mutex_unlock(&srv->conns_mu);
    free(c);
    *socket_context = NULL;
}

/* A request's head is in: sets its client address (from X-Forwarded-For
 * when the peer is a trusted proxy) and counts it against the cap. False
 * when the client is over the cap and none of its connections can be
 * shed: the request is answered 503. */
static bool request_admit(http_server_t *srv, http_request_t *req)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    http_conn_t *c = info ? info->socket_context : NULL;
    if (!c) {
        peer_addr_text(req->conn, req->remote_addr, sizeof(req->remote_addr));
        return true;
    }
    const char *xff =
        c->proxied ? MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Forwarded-For")
                   : NULL;
    http_forwarded_client(&srv->proxies, c->peer, xff, req->remote_addr, sizeof(req->remote_addr));
    pthread_mutex_lock(&srv->conns_mu);
    c->in_request = true;
    if (c->proxied)
        snprintf(c->client, sizeof(c->client), "%s", req->remote_addr);
    bool ok = conns_count(srv, c->client) <= srv->cfg.max_per_ip ||
              (!c->proxied && conns_shed_idle(srv, c->client, c));
    pthread_mutex_unlock(&srv->conns_mu);
    req->tracked = c;
    return ok;
}

/* The request is over: its connection is idle again (and sheddable). */
static void request_release(http_server_t *srv, http_request_t *req)
{
    if (!req->tracked)
        return;
    pthread_mutex_lock(&srv->conns_mu);
    req->tracked->in_request = false;
    req->tracked->idle_since_ms = monotonic_ms();
    pthread_mutex_unlock(&srv->conns_mu);
    req->tracked = NULL;
}

/* The methods the routes of path answer, "GET, HEAD, POST" style (the
 * Allow header of a 405). */
static void allowed_methods(const http_server_t *srv, const char *path, char *out, size_t len)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", NULL};
    strbuf_t sb = {0};
    for (size_t m = 0; known[m]; m++) {
        for (size_t i = 0; i < srv->nroutes; i++) {
            const http_route_t *rt = &srv->routes[i];
            if (route_prefix_matches(rt, path) && route_method_matches(rt, known[m])) {
                if (sb.len > 0)
                    sb_puts(&sb, ", ");
                sb_puts(&sb, known[m]);
                break;
            }
        }
    }
    snprintf(out, len, "%s", sb.data ? sb.data : "");
    free(sb.data);
}

typedef struct head_size {
    size_t target;       /* the request-target: path and query */
    size_t head;         /* request line and header fields */
    const char *nul_arg; /* the first query argument holding a NUL byte */
} head_size_t;

static enum MHD_Result query_arg_measure(void *cls, enum MHD_ValueKind kind, const char *key,
                                         size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    head_size_t *hs = cls;
    hs->target += key_size + value_size + 2;
    if (!hs->nul_arg && (strlen(key) != key_size || (value && strlen(value) != value_size)))
        hs->nul_arg = key;
    return MHD_YES;
}

static enum MHD_Result header_measure(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    (void)key;
    (void)value;
    head_size_t *hs = cls;
    hs->head += key_size + value_size + 4;
    return MHD_YES;
}

/* Whether the request says a body follows (a Content-Length above 0, or
 * chunked), which an early answer must not leave unread on the socket. */
static bool body_announced(const http_request_t *req)
{
    const char *cl =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    return (cl && strtoull(cl, NULL, 10) > 0) || te;
}

/* An answer decided from the request's head alone. */
static enum MHD_Result answer_early(http_request_t *req)
{
    return body_announced(req) ? answer_and_close(req) : respond(req, false);
}

/*
 * First call for a request: answer at once what the headers decide, so
 * that libmicrohttpd never reads such a body or sends 100 Continue:
 *   414 / 431  a request-target over HTTP_TARGET_MAX, a head over
 *              header_max (our JSON, before libmicrohttpd's own limit)
 *   404 / 405  no route (405 with Allow)
 *   400        a query argument holding a NUL byte (%00)
 *   413        a declared body over body_max (buffered routes), or what the
 *              service's head check refuses
 */
static enum MHD_Result request_begin(http_server_t *srv, http_request_t *req)
{
    char msg[512];
    head_size_t hs = {.target = strlen(req->path), .head = strlen(req->method) + 11};
    MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, query_arg_measure, &hs);
    MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, header_measure, &hs);
    hs.head += hs.target;
    if (hs.target > HTTP_TARGET_MAX) {
        snprintf(msg, sizeof(msg), "the request-target (path and query) is longer than %d bytes",
                 HTTP_TARGET_MAX);
        http_response_error(&req->resp, 414, "uri_too_long", msg, NULL);
        return answer_and_close(req);
    }
    if (hs.head > srv->cfg.header_max) {
        snprintf(msg, sizeof(msg), "the request line and headers are larger than %zu bytes",
                 srv->cfg.header_max);
        http_response_error(&req->resp, 431, "headers_too_large", msg, NULL);
        return answer_and_close(req);
    }
    bool path_known = false;
    req->route = route_find(srv, req->method, req->path, &path_known);
    if (!req->route) {
        if (path_known) {
            char allow[128];
            allowed_methods(srv, req->path, allow, sizeof(allow));
            snprintf(msg, sizeof(msg), "%s is not allowed on %.400s", req->method, req->path);
            http_response_error(&req->resp, 405, "method_not_allowed", msg, NULL);
            http_response_header_add(&req->resp, MHD_HTTP_HEADER_ALLOW, allow);
        } else {
            snprintf(msg, sizeof(msg), "no such path: %.400s", req->path);
            http_response_error(&req->resp, 404, "not_found", msg, NULL);
        }
        return answer_early(req);
    }
    if (hs.nul_arg) {
        snprintf(msg, sizeof(msg), "the query parameter '%.200s' holds a NUL byte (%%00)",
                 hs.nul_arg);
        http_response_error(&req->resp, 400, "invalid", msg, hs.nul_arg);
        return answer_early(req);
    }
    if (!req->route->on_body) {
        const char *declared =
            MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (declared) {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull(declared, &end, 10);
            if (errno == 0 && end != declared && n > srv->cfg.body_max) {
                snprintf(msg, sizeof(msg), "the body is larger than %zu bytes", srv->cfg.body_max);
                http_response_error(&req->resp, 413, "payload_too_large", msg, NULL);
                return answer_and_close(req);
            }
        }
    }
    if (srv->cfg.head_check && srv->cfg.head_check(req, &req->resp, srv->cfg.head_check_arg) != 0) {
        if (!req->resp.set)
            http_response_error(&req->resp, 400, "bad_request", "the request was refused", NULL);
        return answer_early(req);
    }
    return MHD_YES;
}

/* A piece of the body. */
static enum MHD_Result request_data(http_server_t *srv, http_request_t *req, const char *data,
                                    size_t len)
{
    const http_route_t *rt = req->route;
    if (rt->on_body) {
        if (rt->on_body(req, data, len, &req->resp, rt->arg) != 0) {
            if (!req->resp.set)
                http_response_error(&req->resp, 400, "bad_request", "the body was refused", NULL);
            return answer_and_close(req);
        }
        return MHD_YES;
    }
    if (len > srv->cfg.body_max - req->body_len) {
        /* Undeclared length (chunked) over the limit: keep nothing more. */
        char msg[128];
        snprintf(msg, sizeof(msg), "the body is larger than %zu bytes", srv->cfg.body_max);
        http_response_error(&req->resp, 413, "payload_too_large", msg, NULL);
        return answer_and_close(req);
    }
    xbuf_put(&req->body, &req->body_len, &req->body_cap, data, len);
    return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void)version;
    http_server_t *srv = cls;
    http_request_t *req = *con_cls;
    if (!req) {
        req = xcalloc(1, sizeof(*req));
        req->srv = srv;
        req->conn = conn;
        req->method = method;
        req->path = url;
        clock_gettime(CLOCK_MONOTONIC, &req->started);
        *con_cls = req;
        if (!request_admit(srv, req)) {
            char msg[256];
            snprintf(msg, sizeof(msg),
                     "too many connections from %s (at most %u at once); try again shortly",
                     req->remote_addr, srv->cfg.max_per_ip);
            http_response_error(&req->resp, 503, "unavailable", msg, NULL);
            http_response_header_add(&req->resp, "Retry-After", HTTP_OVER_CAP_RETRY_AFTER);
            return answer_and_close(req);
        }
        return request_begin(srv, req);
    }
    if (req->responded) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t len = *upload_data_size;
        *upload_data_size = 0;
        return request_data(srv, req, upload_data, len);
    }
    req->route->handler(req, &req->resp, req->route->arg);
    return respond(req, false);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    http_request_t *req = *con_cls;
    if (!req)
        return;
    request_release(cls, req);
    if (req->state_free && req->state)
        req->state_free(req->state);
    free(req->body);
    response_clear(&req->resp);
    free(req);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    /* What libmicrohttpd says each time a request answered and closed by
     * answer_and_close ends, or a stream's reader leaves: not a fault. */
    if (strstr(msg, "Application reported internal error") ||
        /* A streamed answer (server-sent events) whose client left. */
        strstr(msg, "Failed to send the chunked response body"))
        log_debug("http", "%s", msg);
    else
        log_warn("http", "%s", msg);
}

/* --- lifecycle --- */

int http_server_new(const http_config_t *cfg, http_server_t **out, char *errbuf, size_t errlen)
{
    int rc;
    if (!cfg->host || cfg->port < 0 || cfg->port > 65535 || cfg->threads < 1 ||
        cfg->threads > 256 || cfg->max_connections < cfg->threads || cfg->max_per_ip < 1 ||
        cfg->timeout_s < 1 || cfg->body_max < 1 || cfg->header_max < 4096)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "http: bad config (need a host, port 0..65535, threads 1..256, "
                       "max_connections >= threads, max_per_ip, timeout_s and body_max >= 1, "
                       "header_max >= 4096)");
    http_server_t *srv = xcalloc(1, sizeof(*srv));
    srv->cfg = *cfg;
    srv->host = xstrdup(cfg->host);
    srv->cfg.host = srv->host;
    pthread_mutex_init(&srv->linger_mu, NULL);
    pthread_mutex_init(&srv->conns_mu, NULL);
    pthread_mutex_init(&srv->streams_mu, NULL);
    srv->lingering = xcalloc(cfg->max_connections, sizeof(*srv->lingering));
    srv->cfg.trusted_proxies = NULL; /* parsed below; the text is not kept */
    if (!cfg->metrics)
        srv->own_metrics = metrics_registry_new();
    metrics_registry_t *reg = http_server_metrics(srv);

    static const char *const labels[] = {"route", "code", NULL};
    rc = metrics_family_register(reg, METRICS_COUNTER, "outdial_http_requests_total",
                                 "HTTP requests answered, by route prefix and status code.", labels,
                                 NULL, 0, &srv->requests, errbuf, errlen);
    if (rc == OD_OK)
        rc = metrics_histogram_register(reg, "outdial_http_request_duration_seconds",
                                        "Time from a request's headers to its queued response.",
                                        metrics_latency_buckets, METRICS_LATENCY_BUCKETS_N,
                                        &srv->duration, errbuf, errlen);
    if (rc == OD_OK)
        rc = metrics_counter_register(reg, "outdial_http_connections_shed_total",
                                      "Idle connections closed to make room for another from "
                                      "the same address at the per-address cap.",
                                      &srv->shed_count, errbuf, errlen);
    if (rc == OD_OK)
        rc = http_proxies_parse(cfg->trusted_proxies, &srv->proxies, errbuf, errlen);
    if (rc == OD_OK)
        rc = http_route_add(srv, "GET", "/healthz", healthz, srv, errbuf, errlen);
    if (rc == OD_OK)
        rc = http_route_add(srv, "GET", "/readyz", readyz, srv, errbuf, errlen);
    if (rc == OD_OK)
        rc = http_route_add(srv, "GET", "/metrics", metrics_text, srv, errbuf, errlen);
    if (rc != OD_OK)
        goto fail;
    *out = srv;
    return OD_OK;
fail:
    http_server_free(srv);
    return rc;
}

int http_server_start(http_server_t *srv, char *errbuf, size_t errlen)
{
    if (srv->daemon)
        return od_fail(errbuf, errlen, OD_ERR_CONFLICT, "http: the server is already running");
    char port[8];
    snprintf(port, sizeof(port), "%d", srv->cfg.port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(srv->host, port, &hints, &res);
    if (gai != 0 || !res) {
        int rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "http: cannot resolve host '%s': %s",
                         srv->host, gai_strerror(gai));
        if (res)
            freeaddrinfo(res);
        return rc;
    }
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof(addr));
    memcpy(&addr, res->ai_addr, res->ai_addrlen);
    int family = res->ai_family;
    freeaddrinfo(res);

    /* Suspend and resume: a streamed answer with nothing to send sleeps
     * without holding a request thread. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_POLL;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    /* The logger goes first so that libmicrohttpd's own messages about the
     * later options already go through it. */
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)srv->cfg.port, NULL, NULL, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_log, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)srv->cfg.threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)srv->cfg.max_connections, MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)srv->cfg.timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)srv->cfg.header_max * HTTP_MHD_MEMORY_FACTOR,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_END);
    if (!srv->daemon)
        return od_fail(errbuf, errlen, OD_ERR_IO, "http: cannot listen on %s port %d: %s",
                       srv->host, srv->cfg.port,
                       errno ? strerror(errno) : "libmicrohttpd refused the settings");
    srv->linger_stop = false;
    pthread_mutex_lock(&srv->streams_mu);
    srv->streams_stop = false;
    pthread_mutex_unlock(&srv->streams_mu);
    if (pthread_create(&srv->linger_thread, NULL, linger_main, srv) != 0) {
        MHD_stop_daemon(srv->daemon);
        srv->daemon = NULL;
        return od_fail(errbuf, errlen, OD_ERR_IO, "http: cannot start the lingering thread");
    }
    srv->linger_started = true;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info && info->port ? info->port : srv->cfg.port;
    log_info("http_listen", "listening on %s port %d", srv->host, srv->port);
    return OD_OK;
}

int http_server_port(const http_server_t *srv)
{
    return srv->daemon ? srv->port : 0;
}

metrics_registry_t *http_server_metrics(http_server_t *srv)
{
    return srv->cfg.metrics ? srv->cfg.metrics : srv->own_metrics;
}

void http_server_stop(http_server_t *srv)
{
    if (!srv || !srv->daemon)
        return;
    /* libmicrohttpd must not stop with a connection suspended: every
     * sleeping stream is resumed, and ends when its reader next runs. */
    pthread_mutex_lock(&srv->streams_mu);
    srv->streams_stop = true;
    pthread_mutex_unlock(&srv->streams_mu);
    streams_wake(srv, true);
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
    srv->port = 0;
    if (srv->linger_started) {
        pthread_mutex_lock(&srv->linger_mu);
        srv->linger_stop = true;
        pthread_mutex_unlock(&srv->linger_mu);
        pthread_join(srv->linger_thread, NULL);
        srv->linger_started = false;
    }
}

void http_server_free(http_server_t *srv)
{
    if (!srv)
        return;
    http_server_stop(srv);
    for (size_t i = 0; i < srv->nroutes; i++) {
        free(srv->routes[i].method);
        free(srv->routes[i].prefix);
    }
    free(srv->routes);
    metrics_registry_free(srv->own_metrics);
    pthread_mutex_destroy(&srv->linger_mu);
    pthread_mutex_destroy(&srv->conns_mu);
    pthread_mutex_destroy(&srv->streams_mu);
    free(srv->lingering);
    free(srv->host);
    free(srv);
}

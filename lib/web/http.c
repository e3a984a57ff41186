#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "config.h"
#include "log.h"
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
};

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
    bool rejected;  /* body refused part-way: drop the rest, answer, close */
    bool responded; /* a response is queued */
    size_t discarded;
    void *state;
    void (*state_free)(void *);
    struct timespec started;
    char remote_addr[INET6_ADDRSTRLEN];
    http_response_t resp;
};

struct http_readiness {
    char *json; /* the "failing" array's items, comma-separated */
    size_t len;
    int failing;
};

struct http_server {
    http_config_t cfg;
    char *host;
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
    char *data = sb->data;
    if (!data || sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        while (cap < sb->len + n + 1)
            cap *= 2;
        data = xrealloc(data, cap);
        sb->data = data;
        sb->cap = cap;
    }
    memcpy(data + sb->len, s, n);
    sb->len += n;
    data[sb->len] = '\0';
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
    return OD_OK;
}

/* --- responses --- */

static void response_clear(http_response_t *resp)
{
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

/* --- built-in routes --- */

static void healthz(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)req;
    (void)arg;
    http_response_json(resp, 200, "{\"status\":\"ok\"}");
}

static void readyz(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)req;
    http_server_t *srv = arg;
    http_readiness_t rd = {0};
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

/* Queues req->resp (a 500 if the handler set none). close asks the client
 * to go away afterwards: the rest of its body was not read. */
static enum MHD_Result respond(http_request_t *req, bool close)
{
    http_response_t *resp = &req->resp;
    if (!resp->set)
        http_response_error(resp, 500, "internal", "the handler produced no response", NULL);
    struct MHD_Response *mr;
    if (resp->len == 0) {
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

static void remote_addr_fill(http_request_t *req)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                  req->remote_addr, sizeof(req->remote_addr));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  req->remote_addr, sizeof(req->remote_addr));
}

/* First call for a request: route it, and answer at once what can be
 * answered from the headers (404, 405, a declared body over the limit),
 * so that libmicrohttpd never reads such a body. */
static enum MHD_Result request_begin(http_server_t *srv, http_request_t *req)
{
    bool path_known = false;
    req->route = route_find(srv, req->method, req->path, &path_known);
    if (!req->route) {
        char msg[512];
        if (path_known) {
            snprintf(msg, sizeof(msg), "%s is not allowed on %.400s", req->method, req->path);
            http_response_error(&req->resp, 405, "method_not_allowed", msg, NULL);
        } else {
            snprintf(msg, sizeof(msg), "no such path: %.400s", req->path);
            http_response_error(&req->resp, 404, "not_found", msg, NULL);
        }
        return respond(req, false);
    }
    if (!req->route->on_body) {
        const char *declared =
            MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (declared) {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull(declared, &end, 10);
            if (errno == 0 && end != declared && n > srv->cfg.body_max) {
                char msg[128];
                snprintf(msg, sizeof(msg), "the body is larger than %zu bytes", srv->cfg.body_max);
                http_response_error(&req->resp, 413, "payload_too_large", msg, NULL);
                return respond(req, true);
            }
        }
    }
    return MHD_YES;
}

/* A piece of the body. */
static enum MHD_Result request_data(http_server_t *srv, http_request_t *req, const char *data,
                                    size_t len)
{
    if (req->rejected || req->responded) {
        req->discarded += len;
        /* Past the allowance the client is not listening: close. */
        return req->discarded > HTTP_DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    const http_route_t *rt = req->route;
    if (rt->on_body) {
        if (rt->on_body(req, data, len, &req->resp, rt->arg) != 0) {
            req->rejected = true;
            if (!req->resp.set)
                http_response_error(&req->resp, 400, "bad_request", "the body was refused", NULL);
        }
        return MHD_YES;
    }
    if (len > srv->cfg.body_max - req->body_len) {
        /* Undeclared length (chunked) over the limit: keep nothing more. */
        free(req->body);
        req->body = NULL;
        req->body_len = req->body_cap = 0;
        req->rejected = true;
        char msg[128];
        snprintf(msg, sizeof(msg), "the body is larger than %zu bytes", srv->cfg.body_max);
        http_response_error(&req->resp, 413, "payload_too_large", msg, NULL);
        return MHD_YES;
    }
    if (req->body_len + len + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 1024;
        while (cap < req->body_len + len + 1)
            cap *= 2;
        req->body = xrealloc(req->body, cap);
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
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
        remote_addr_fill(req);
        *con_cls = req;
        return request_begin(srv, req);
    }
    if (*upload_data_size > 0) {
        size_t len = *upload_data_size;
        *upload_data_size = 0;
        return request_data(srv, req, upload_data, len);
    }
    if (req->responded)
        return MHD_YES;
    if (req->rejected)
        return respond(req, true);
    req->route->handler(req, &req->resp, req->route->arg);
    return respond(req, false);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    http_request_t *req = *con_cls;
    if (!req)
        return;
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

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
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
        (unsigned)srv->cfg.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)srv->cfg.max_per_ip, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)srv->cfg.timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)srv->cfg.header_max,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_END);
    if (!srv->daemon)
        return od_fail(errbuf, errlen, OD_ERR_IO, "http: cannot listen on %s port %d: %s",
                       srv->host, srv->cfg.port,
                       errno ? strerror(errno) : "libmicrohttpd refused the settings");
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
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
    srv->port = 0;
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
    free(srv->host);
    free(srv);
}

/*
 * http.h — the HTTP server every service runs (libmicrohttpd).
 *
 * Built in on every server:
 *   GET /healthz  200 {"status":"ok"} while the process runs
 *   GET /readyz   200 {"status":"ready"}, or 503
 *                 {"status":"not_ready","failing":[{"check":"...","reason":"..."}]}
 *                 naming each dependency of cfg.deps that is down (deps.h),
 *                 then what the service's readiness callback reports
 *   GET /metrics  the metrics registry in the Prometheus text format
 *
 * Services add their own routes by method and path prefix before starting
 * the server. A request's body is collected in memory up to body_max and
 * handed to the handler whole; a larger one is answered 413 without keeping
 * more of it. A streaming route instead gets the body piece by piece as it
 * arrives (for uploads too large to hold, like a CSV of leads).
 *
 * Errors from the server itself use the API's shape:
 *   {"error":{"code":"not_found","message":"..."}}
 * with codes invalid (400: a query parameter holding a NUL byte, %00,
 * named in "field"), not_found (404), method_not_allowed (405, with an
 * Allow header), payload_too_large (413), uri_too_long (414),
 * headers_too_large (431) and internal (500).
 *
 * Threads: requests run on a pool of `threads` threads, each with its own
 * epoll loop (poll where epoll is missing); a handler may block (a database
 * query) and holds up only its own thread. Handlers and the readiness
 * callback therefore run concurrently and must be thread-safe.
 *
 * Protection against slow or greedy clients: a total connection limit, a
 * per-address limit (max_per_ip), an idle timeout, a cap on the
 * request-target (HTTP_TARGET_MAX, 414) and on the request line plus
 * headers (header_max, 431) and the body limit. The idle timeout restarts
 * whenever a byte arrives, so a client that trickles bytes is bounded by
 * the per-address limit rather than the timeout.
 *
 * The per-address limit: a connection that opens while its address holds
 * max_per_ip makes room by shedding (shutting down) that address's
 * connection idle the longest, one without a request in progress for at
 * least HTTP_SHED_IDLE_MS (a slow client's half-sent head, an idle
 * keep-alive). A request whose address is
 * still over the limit when its head is in, with nothing idle left to shed
 * (every other connection is in a request), is answered 503 unavailable
 * with Retry-After, then closed: never a reset. The address is the peer's,
 * or, when the peer is one of trusted_proxies, the client named in its
 * X-Forwarded-For (proxy.h); behind a proxy, a client's requests in
 * progress count against its limit, the proxy's own connections do not.
 *
 * Heads: libmicrohttpd holds a head of up to
 * HTTP_MHD_MEMORY_FACTOR x header_max, so that every head over our limits
 * reaches us and gets our JSON answer; one that does not even fit there
 * gets libmicrohttpd's own short 414/431 page. That page is compiled into
 * libmicrohttpd (0.9.x has no option or callback to replace it), so some
 * size always gets it; a larger factor would only move that size and let
 * every connection hold more memory.
 *
 * A body whose declared Content-Length is over the limit (body_max, or
 * what the service's head check refuses) is answered 413 as soon as the
 * headers are in: no 100 Continue is sent and none of the body is read.
 * The same for a body refused part-way (a chunked body over the limit, a
 * streaming route's refusal): the answer goes out at once. Either way the
 * server then closes the connection without reading on, but lingers: for
 * up to HTTP_LINGER_MS it reads and drops what the client still sends, so
 * that the client reads the answer and the end of the stream rather than
 * a TCP reset.
 */
#ifndef OUTDIAL_HTTP_H
#define OUTDIAL_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "deps.h"
#include "err.h"
#include "metrics.h"

typedef struct http_server http_server_t;
typedef struct http_request http_request_t;
typedef struct http_response http_response_t;
typedef struct http_readiness http_readiness_t;

/* Handles a request whose body (if any) has fully arrived; fills resp.
 * Leaving resp unset answers 500. */
typedef void (*http_handler_fn)(http_request_t *req, http_response_t *resp, void *arg);

/* Streaming routes: called with each piece of the body as it arrives (len
 * > 0, not NUL-terminated), in order. Return 0 to go on. Non-zero stops
 * the upload: the response on_body set (400 if it set none) is sent at
 * once with "Connection: close", the route's handler is not called, and
 * the rest of the body is not read (the connection lingers, see above). */
typedef int (*http_body_fn)(http_request_t *req, const char *data, size_t len,
                            http_response_t *resp, void *arg);

/* Readiness: call http_readiness_fail() once per check that is not ready;
 * no call means ready. Runs on request threads, possibly concurrently, and
 * should only read state kept current elsewhere (probes time out fast). */
typedef void (*http_ready_fn)(http_readiness_t *rd, void *arg);

/* Called once per routed request when its headers are in, before any of
 * its body is read: set resp and return non-zero to answer now (the body
 * is then never read), 0 to go on. For limits that depend on the route,
 * such as a service's larger upload limit. Runs on request threads. */
typedef int (*http_head_fn)(http_request_t *req, http_response_t *resp, void *arg);

/* After answering and closing from the server's side, how long the socket
 * stays open for reading (and dropping) what the client still sends:
 * 2 s, time for a client on any real link to read the answer and stop
 * sending; the lingering sockets count against max_connections slots of
 * their own, so they cannot pile up. */
#define HTTP_LINGER_MS 2000

/* A connection without a request in progress for this long (since it
 * opened, or since its last answer) may be shed for another of its
 * address at the cap: an honest client sends its request head within a
 * second, and a connection younger than that is more likely one whose
 * head is on its way than a slow one. */
#define HTTP_SHED_IDLE_MS 1000

/* Retry-After of a 503 for a client over the per-address cap: a second,
 * by when a connection of its own has usually finished or gone idle and
 * can be shed for it. */
#define HTTP_OVER_CAP_RETRY_AFTER "1"

/* The longest request-target (path and query) answered; longer: 414.
 * 8 KiB, what common proxies allow; no route of ours needs a tenth. */
#define HTTP_TARGET_MAX 8192

/* libmicrohttpd's memory per connection, as a multiple of header_max: room
 * for a head a few times over our limit, which we then answer ourselves
 * (414/431 in JSON). 4 x 32 KiB = 128 KiB, most of it untouched unless a
 * client sends that much. */
#define HTTP_MHD_MEMORY_FACTOR 4

typedef struct http_config {
    const char *host;            /* address to bind; "0.0.0.0", "::", "127.0.0.1" */
    int port;                    /* 0: an ephemeral port (see http_server_port) */
    unsigned threads;            /* request threads */
    unsigned max_connections;    /* open connections in total */
    unsigned max_per_ip;         /* open connections from one address */
    unsigned timeout_s;          /* idle connection timeout */
    size_t body_max;             /* largest buffered body, bytes */
    size_t header_max;           /* largest request line + headers, bytes (431 above) */
    metrics_registry_t *metrics; /* served at /metrics; NULL: the server makes its own */
    deps_t *deps;                /* dependencies named when down (deps.h); NULL: none */
    http_ready_fn ready;         /* NULL: always ready (but for deps) */
    void *ready_arg;
    http_head_fn head_check; /* NULL: none */
    void *head_check_arg;
    const char *trusted_proxies; /* proxies whose X-Forwarded-For is read (proxy.h); NULL: none */
} http_config_t;

/* Defaults: host 0.0.0.0, port 0, 4 threads, 512 connections, 64 per
 * address, 30 s idle timeout, 1 MiB body, 32 KiB headers, no registry,
 * no deps, no readiness callback, no head check, no trusted proxy. */
void http_config_init(http_config_t *cfg);

/*
 * Overrides cfg from the environment, keeping cfg's values as defaults:
 *   <prefix>_HTTP_HOST, <prefix>_HTTP_PORT (0..65535), <prefix>_HTTP_THREADS
 *   (1..256), <prefix>_HTTP_MAX_CONNECTIONS (1..100000),
 *   <prefix>_HTTP_MAX_PER_IP (1..100000), <prefix>_HTTP_TIMEOUT_S (1..3600),
 *   <prefix>_HTTP_BODY_MAX (bytes, 1..1 GiB), <prefix>_HTTP_TRUSTED_PROXIES
 *   (addresses or CIDR ranges separated by commas, see proxy.h; a value
 *   with an entry that is neither is refused)
 * e.g. prefix "OUTDIAL_API" reads OUTDIAL_API_HTTP_PORT. cfg->host and
 * cfg->trusted_proxies then point into the environment.
 */
int http_config_from_env(http_config_t *cfg, const char *prefix, char *errbuf,
                         size_t errlen) OD_WUR;

/* A server with the built-in routes, not yet listening. cfg is copied (the
 * registry, deps and readiness argument are borrowed and must outlive the
 * server). Free with http_server_free(). */
int http_server_new(const http_config_t *cfg, http_server_t **out, char *errbuf,
                    size_t errlen) OD_WUR;

/*
 * Adds a route: requests whose method is `method` (NULL or "*": any; a GET
 * route also answers HEAD) and whose path is `prefix` or starts with
 * `prefix` followed by '/' (or prefix ends in '/' and the path starts with
 * it). The longest matching prefix wins; a path that matches only routes of
 * other methods is answered 405. Only before http_server_start
 * (OD_ERR_CONFLICT after, or for a duplicate method and prefix).
 * arg is passed to the handler and borrowed.
 */
int http_route_add(http_server_t *srv, const char *method, const char *prefix,
                   http_handler_fn handler, void *arg, char *errbuf, size_t errlen) OD_WUR;

/* A streaming route: on_body gets the body as it arrives (body_max does
 * not apply; on_body enforces its own limit), then handler runs with
 * http_request_body() returning NULL. */
int http_route_add_streaming(http_server_t *srv, const char *method, const char *prefix,
                             http_body_fn on_body, http_handler_fn handler, void *arg, char *errbuf,
                             size_t errlen) OD_WUR;

/* Binds and starts serving. OD_ERR_IO when the address cannot be bound
 * (in use, not local), OD_ERR_INVALID for a host that does not resolve. */
int http_server_start(http_server_t *srv, char *errbuf, size_t errlen) OD_WUR;

/* The port the server listens on (the real one when started with 0);
 * 0 when not started. */
int http_server_port(const http_server_t *srv);

/* The registry served at /metrics (the configured one or the server's own). */
metrics_registry_t *http_server_metrics(http_server_t *srv);

/* Stops listening, closes every connection and waits for running handlers
 * to return. Idempotent. */
void http_server_stop(http_server_t *srv);

/* Stops (if running) and frees. NULL is a no-op. */
void http_server_free(http_server_t *srv);

/* --- requests (valid only during the handler call) --- */

const char *http_request_method(const http_request_t *req);
/* The decoded path without the query string, e.g. "/v1/campaigns/42". */
const char *http_request_path(const http_request_t *req);
/* The part of the path after the matched route prefix: "/42" for the
 * route "/v1/campaigns", "42" for the route "/v1/campaigns/", "" when the
 * path is the prefix itself. */
const char *http_request_subpath(const http_request_t *req);
/* A decoded query argument; "" when given without a value, NULL when
 * absent. The first one when repeated. */
const char *http_request_query(const http_request_t *req, const char *name);
/* A request header (name case-insensitive), NULL when absent. */
const char *http_request_header(const http_request_t *req, const char *name);
/* The whole body, NUL-terminated (it may also hold NULs: use *len_out);
 * "" when there was none; NULL on streaming routes. */
const char *http_request_body(const http_request_t *req, size_t *len_out);
/* The client's address as text ("127.0.0.1", "::1"): the peer's, or the
 * one X-Forwarded-For names when the peer is a trusted proxy; "" if
 * unknown. */
const char *http_request_remote_addr(const http_request_t *req);

/* Per-request state for streaming routes (e.g. an open COPY): stored
 * until the request ends, when free_fn (if not NULL) is called on it,
 * whether the request completed, failed or the client went away. */
void http_request_state_set(http_request_t *req, void *state, void (*free_fn)(void *));
void *http_request_state(const http_request_t *req);

/* --- responses --- */

/* Sets status, Content-Type and a copy of body (len bytes). Replaces what
 * was set before. */
void http_response_set(http_response_t *resp, int status, const char *content_type,
                       const char *body, size_t len);
/* The same, taking ownership of body (allocated with the xmalloc family;
 * freed by the server). */
void http_response_take(http_response_t *resp, int status, const char *content_type, char *body,
                        size_t len);
/* A JSON body (copied), Content-Type application/json. */
void http_response_json(http_response_t *resp, int status, const char *json);
/* {"error":{"code":code,"message":message[,"field":field]}}; field may be
 * NULL. Strings are JSON-escaped. */
void http_response_error(http_response_t *resp, int status, const char *code, const char *message,
                         const char *field);
/* Adds a response header (copied), e.g. Location or Retry-After. */
void http_response_header_add(http_response_t *resp, const char *name, const char *value);

/* A response outside any server, for code that runs handlers' parsers on
 * their own (the API's fuzz target): empty, status 0 until set. Free with
 * http_response_free(); NULL is a no-op. */
http_response_t *http_response_new(void);
void http_response_free(http_response_t *resp);
/* The status set so far; 0 when nothing was set. */
int http_response_status(const http_response_t *resp);

/* --- streamed answers (server-sent events, CSV exports) --- */

/* Produces the next part of a streamed answer into buf (at most max bytes),
 * on a request thread, whenever the client can take more. Returns the
 * bytes written (> 0); 0 when there is nothing to send yet: the connection
 * is then suspended, holding no thread, and next runs again after
 * *retry_ms (preset to HTTP_STREAM_RETRY_MS; woken by the server's
 * housekeeping thread within 50 ms of it); or a negative value to end the
 * answer: HTTP_STREAM_FAILED ends it without the final chunk, so that the
 * client sees a truncated transfer rather than a short body passed off as
 * whole (a file whose source failed part-way); any other ends it cleanly.
 * next may block briefly (a database query), as a handler may. */
typedef ssize_t (*http_stream_fn)(void *state, char *buf, size_t max, int *retry_ms);

#define HTTP_STREAM_END    (-1)
#define HTTP_STREAM_FAILED (-2)

/* Default wait of a stream with nothing to send: a second, as often as a
 * person watching a page notices a change. */
#define HTTP_STREAM_RETRY_MS 1000

/* Answers with a body that next produces as the client reads it (chunked,
 * never held whole). The stream ends when next returns a negative value,
 * when the client goes away (noticed at the next write), or when the
 * server stops: http_server_stop wakes every suspended stream and ends it,
 * so an open stream never holds up a shutdown. state is owned by the
 * server from this call: free_fn (may be NULL) is called on it once when
 * the answer ends, or at once if another answer replaces this one. A
 * stream's connection counts as a request in progress for the per-address
 * cap (never shed as idle) and is subject to max_connections like any
 * other: a service that streams caps its streams itself. */
void http_response_stream(http_response_t *resp, int status, const char *content_type,
                          http_stream_fn next, void *state, void (*free_fn)(void *));

/* Records one failing readiness check (see http_ready_fn). */
void http_readiness_fail(http_readiness_t *rd, const char *check, const char *fmt, ...)
    OD_PRINTF(3, 4);

/* http_readiness_fail(rd, check, reason) unless *ok: the check of a flag
 * that a worker thread keeps (its connection up, its consumer running). */
void http_readiness_unless(http_readiness_t *rd, const atomic_bool *ok, const char *check,
                           const char *reason);

#endif

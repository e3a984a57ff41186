/*
 * ctl_http.h — outdialctl's HTTP client (libcurl): JSON requests, a file
 * upload streamed from disk, and a download streamed to a FILE *.
 *
 * One ctl_http_t keeps one curl handle, so consecutive requests (watch,
 * following an import) reuse the connection. Requests carry
 * "Authorization: Bearer <token>". A transfer stops early, with
 * OD_ERR_IO "interrupted", once *interrupted (set by a signal handler)
 * becomes non-zero.
 *
 * The result of a request is the HTTP status and body; any status counts
 * as success of the transfer (the caller shows 4xx/5xx bodies with
 * ctl_render_error). Failures to talk to the server at all return
 * OD_ERR_IO / OD_ERR_TIMEOUT with a message naming the URL.
 */
#ifndef OUTDIAL_CTL_HTTP_H
#define OUTDIAL_CTL_HTTP_H

#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

typedef struct ctl_http ctl_http_t;

typedef struct ctl_response {
    long status;
    char *body; /* NUL-terminated; NULL when there was none */
    size_t len;
} ctl_response_t;

/* Called during an upload with bytes sent so far and the total (-1 when
 * unknown). */
typedef void (*ctl_upload_progress_fn)(int64_t sent, int64_t total, void *arg);

/* base_url without a trailing '/' needed; token may be NULL (no
 * Authorization header). interrupted may be NULL. */
int ctl_http_new(const char *base_url, const char *token, volatile sig_atomic_t *interrupted,
                 ctl_http_t **out, char *errbuf, size_t errlen) OD_WUR;
void ctl_http_free(ctl_http_t *h);

/* method path_query (starting with '/'); body (may be NULL) is sent as
 * JSON. resp is filled (free with ctl_response_clear). */
int ctl_http_request(ctl_http_t *h, const char *method, const char *path_query, const json_t *body,
                     ctl_response_t *resp, char *errbuf, size_t errlen) OD_WUR;

/* POSTs the rest of f (size bytes, or -1: unknown, sent chunked) as the
 * body with content_type, reading it piece by piece (never whole in
 * memory). progress (may be NULL) is called as it goes. */
int ctl_http_upload(ctl_http_t *h, const char *path_query, FILE *f, int64_t size,
                    const char *content_type, ctl_upload_progress_fn progress, void *arg,
                    ctl_response_t *resp, char *errbuf, size_t errlen) OD_WUR;

/* GETs path_query and writes a 2xx body to out as it arrives; another
 * status's body is kept in resp for the error message instead. */
int ctl_http_download(ctl_http_t *h, const char *path_query, FILE *out, ctl_response_t *resp,
                      char *errbuf, size_t errlen) OD_WUR;

void ctl_response_clear(ctl_response_t *resp);

#endif

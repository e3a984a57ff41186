#include "ctl_http.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* 10 s to connect: the API is near (same host or LAN); longer means down. */
#define CTL_CONNECT_TIMEOUT_S 10
/* 60 s for a JSON request: the API's own statement timeouts are shorter,
 * so this only trips on a hung server. */
#define CTL_REQUEST_TIMEOUT_S 60
/* An upload or download has no total limit (a big file takes as long as
 * it takes) but is abandoned when under 1 byte/s for 60 s: a stalled
 * connection, not a slow one. */
#define CTL_STALL_BYTES_PER_S 1
#define CTL_STALL_S           60
/* Largest answer kept in memory: lists are at most 1000 rows, far below. */
#define CTL_RESPONSE_MAX (256L * 1024 * 1024)

struct ctl_http {
    CURL *curl;
    char *base;
    char *auth; /* "Authorization: Bearer ..." or NULL */
    volatile sig_atomic_t *interrupted;
};

/* Where a transfer's body goes. */
typedef struct sink {
    ctl_response_t *resp;
    FILE *out; /* download: 2xx bodies go here */
    CURL *curl;
    bool too_big;
} sink_t;

typedef struct source {
    FILE *f;
    ctl_http_t *h;
    ctl_upload_progress_fn progress;
    void *arg;
    int64_t total;
} source_t;

static bool curl_ready;

int ctl_http_new(const char *base_url, const char *token, volatile sig_atomic_t *interrupted,
                 ctl_http_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "libcurl could not start");
        curl_ready = true;
    }
    if (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "the API URL '%s' must start with http:// or https://", base_url);
    CURL *curl = curl_easy_init();
    if (!curl)
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "libcurl could not make a handle");
    ctl_http_t *h = xcalloc(1, sizeof(*h));
    h->curl = curl;
    h->base = xstrdup(base_url);
    size_t n = strlen(h->base);
    while (n > 0 && h->base[n - 1] == '/')
        h->base[--n] = '\0';
    if (token && *token)
        h->auth = xasprintf("Authorization: Bearer %s", token);
    h->interrupted = interrupted;
    *out = h;
    return OD_OK;
}

void ctl_http_free(ctl_http_t *h)
{
    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    free(h->base);
    free(h->auth);
    free(h);
}

void ctl_response_clear(ctl_response_t *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

static size_t sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
    sink_t *s = arg;
    size_t n = size * nmemb;
    if (s->out) {
        long status = 0;
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300)
            return fwrite(data, 1, n, s->out) == n ? n : 0;
    }
    ctl_response_t *r = s->resp;
    if (r->len + n > (size_t)CTL_RESPONSE_MAX) {
        s->too_big = true;
        return 0;
    }
    xbuf_append(&r->body, &r->len, data, n);
    return n;
}

static size_t source_read(char *buf, size_t size, size_t nmemb, void *arg)
{
    source_t *src = arg;
    size_t n = fread(buf, 1, size * nmemb, src->f);
    if (n == 0 && ferror(src->f))
        return CURL_READFUNC_ABORT;
    return n;
}

static int xfer_info(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                     curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    source_t *src = arg;
    if (src->h->interrupted && *src->h->interrupted)
        return 1;
    if (src->progress)
        src->progress((int64_t)ulnow, src->total, src->arg);
    return 0;
}

/* Sets what every request shares; returns the header list to free. */
static struct curl_slist *common_setup(ctl_http_t *h, const char *method, const char *path_query,
                                       const char *content_type, sink_t *sink, source_t *src)
{
    CURL *c = h->curl;
    curl_easy_reset(c);
    char *url = xasprintf("%s%s", h->base, path_query);
    curl_easy_setopt(c, CURLOPT_URL, url);
    free(url); /* libcurl keeps its own copy */
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)CTL_CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "outdialctl/0.1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xfer_info);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, src);
    struct curl_slist *headers = NULL;
    if (h->auth)
        headers = curl_slist_append(headers, h->auth);
    headers = curl_slist_append(headers, "Accept: application/json");
    if (content_type) {
        char *ct = xasprintf("Content-Type: %s", content_type);
        headers = curl_slist_append(headers, ct);
        free(ct);
    }
    return headers;
}

static int perform(ctl_http_t *h, const char *path_query, sink_t *sink, char *errbuf, size_t errlen)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, curl_err);
    CURLcode cc = curl_easy_perform(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, NULL);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &sink->resp->status);
        return OD_OK;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK)
        return od_fail(errbuf, errlen, OD_ERR_IO, "interrupted");
    if (cc == CURLE_WRITE_ERROR && sink->too_big)
        return od_fail(errbuf, errlen, OD_ERR_IO, "%s%s: the answer is larger than %ld bytes",
                       h->base, path_query, CTL_RESPONSE_MAX);
    const char *why = curl_err[0] ? curl_err : curl_easy_strerror(cc);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return od_fail(errbuf, errlen, OD_ERR_TIMEOUT, "%s%s: %s", h->base, path_query, why);
    if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
        return od_fail(errbuf, errlen, OD_ERR_IO,
                       "cannot reach the API at %s (%s): is outdial-api running? (--url or "
                       "OUTDIAL_URL)",
                       h->base, why);
    return od_fail(errbuf, errlen, OD_ERR_IO, "%s%s: %s", h->base, path_query, why);
}

int ctl_http_request(ctl_http_t *h, const char *method, const char *path_query, const json_t *body,
                     ctl_response_t *resp, char *errbuf, size_t errlen)
{
    memset(resp, 0, sizeof(*resp));
    sink_t sink = {.resp = resp, .curl = h->curl};
    source_t src = {.h = h, .total = -1};
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    struct curl_slist *headers =
        common_setup(h, method, path_query, text ? "application/json" : NULL, &sink, &src);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, (long)CTL_REQUEST_TIMEOUT_S);
    if (text) {
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
    } else if (strcmp(method, "POST") == 0) {
        /* POST without a body: say so (Content-Length: 0). */
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    }
    int rc = perform(h, path_query, &sink, errbuf, errlen);
    curl_slist_free_all(headers);
    free(text);
    if (rc)
        ctl_response_clear(resp);
    return rc;
}

/* Runs an upload or a download: no overall timeout, but one that moves
 * less than CTL_STALL_BYTES_PER_S for CTL_STALL_S fails. Frees headers;
 * clears resp on failure. */
static int perform_streaming(ctl_http_t *h, const char *path_query, sink_t *sink,
                             struct curl_slist *headers, ctl_response_t *resp, char *errbuf,
                             size_t errlen)
{
    curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, (long)CTL_STALL_BYTES_PER_S);
    curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME, (long)CTL_STALL_S);
    int rc = perform(h, path_query, sink, errbuf, errlen);
    curl_slist_free_all(headers);
    if (rc)
        ctl_response_clear(resp);
    return rc;
}

int ctl_http_upload(ctl_http_t *h, const char *path_query, FILE *f, int64_t size,
                    const char *content_type, ctl_upload_progress_fn progress, void *arg,
                    ctl_response_t *resp, char *errbuf, size_t errlen)
{
    memset(resp, 0, sizeof(*resp));
    sink_t sink = {.resp = resp, .curl = h->curl};
    source_t src = {.f = f, .h = h, .progress = progress, .arg = arg, .total = size};
    struct curl_slist *headers = common_setup(h, "POST", path_query, content_type, &sink, &src);
    if (size < 0)
        headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(h->curl, CURLOPT_READFUNCTION, source_read);
    curl_easy_setopt(h->curl, CURLOPT_READDATA, &src);
    if (size >= 0)
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)size);
    return perform_streaming(h, path_query, &sink, headers, resp, errbuf, errlen);
}

int ctl_http_download(ctl_http_t *h, const char *path_query, FILE *out, ctl_response_t *resp,
                      char *errbuf, size_t errlen)
{
    memset(resp, 0, sizeof(*resp));
    sink_t sink = {.resp = resp, .out = out, .curl = h->curl};
    source_t src = {.h = h, .total = -1};
    struct curl_slist *headers = common_setup(h, "GET", path_query, NULL, &sink, &src);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    return perform_streaming(h, path_query, &sink, headers, resp, errbuf, errlen);
}

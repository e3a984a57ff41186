/*
 * transfer.c — provider requests on the dial loop's libcurl multi handle
 * (transfer.h): setup, response collection (bounded), the list of
 * transfers in flight.
 */
#include "transfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "dlist.h"
#include "xmalloc.h"

/* Largest provider answer kept; a call object is a few KiB. */
#define TRANSFER_RESPONSE_MAX (1024 * 1024)

static size_t xfer_write(char *data, size_t size, size_t nmemb, void *arg)
{
    xfer_t *x = arg;
    size_t n = size * nmemb;
    if (x->resp_len + n > TRANSFER_RESPONSE_MAX)
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    xbuf_append(&x->resp, &x->resp_len, data, n);
    return n;
}

static size_t xfer_header(char *data, size_t size, size_t nmemb, void *arg)
{
    xfer_t *x = arg;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        const char *v = data + 12;
        while (*v == ' ')
            v++;
        snprintf(x->retry_after, sizeof(x->retry_after), "%.*s", (int)strcspn(v, "\r\n"), v);
    }
    return n;
}

static void xfer_link(transfers_t *tr, xfer_t *x)
{
    DLIST_PUSH(tr->head, x, prev, next);
}

static void xfer_unlink(transfers_t *tr, xfer_t *x)
{
    DLIST_REMOVE(tr->head, x, prev, next);
    x->next = x->prev = NULL;
}

void xfer_free(xfer_t *x)
{
    if (!x)
        return;
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    provider_request_clear(&x->req);
    free(x->resp);
    free(x);
}

/* libcurl calls this once the connection is up, just before the request
 * leaves (CURLOPT_PREREQFUNCTION, libcurl 7.80). */
static int xfer_prereq(void *arg, char *primary_ip, char *local_ip, int primary_port,
                       int local_port)
{
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    xfer_t *x = arg;
    if (od_clock_now_us(x->clk) >= x->send_before_us) {
        x->refused_late = true;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

int xfer_start(transfers_t *tr, xfer_t *x, int64_t timeout_ms)
{
    x->easy = curl_easy_init();
    if (!x->easy)
        return OD_ERR_INTERNAL;
    for (size_t i = 0; i < x->req.n_headers; i++)
        x->headers = curl_slist_append(x->headers, x->req.headers[i]);
    /* libcurl adds "Expect: 100-continue" to larger POSTs; the provider
     * answers at once anyway, so skip the round trip. */
    x->headers = curl_slist_append(x->headers, "Expect:");
    curl_easy_setopt(x->easy, CURLOPT_URL, x->req.url);
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
    if (strcmp(x->req.method, "POST") == 0) {
        curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->req.body ? x->req.body : "");
        curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->req.body_len);
    }
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, xfer_write);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, xfer_header);
    curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)tr->connect_timeout_ms);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
    if (x->send_before_us) {
        curl_easy_setopt(x->easy, CURLOPT_PREREQFUNCTION, xfer_prereq);
        curl_easy_setopt(x->easy, CURLOPT_PREREQDATA, x);
    }
    x->started_real_us = od_clock_real_us();
    if (curl_multi_add_handle(tr->multi, x->easy) != CURLM_OK)
        return OD_ERR_INTERNAL;
    xfer_link(tr, x);
    tr->in_flight++;
    metrics_gauge_set(tr->gauge, (double)tr->in_flight);
    return OD_OK;
}

long xfer_http_status(const xfer_t *x)
{
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

bool xfer_never_sent(const xfer_t *x, CURLcode crc)
{
    if (crc == CURLE_COULDNT_RESOLVE_HOST || crc == CURLE_COULDNT_RESOLVE_PROXY ||
        crc == CURLE_COULDNT_CONNECT || crc == CURLE_URL_MALFORMAT ||
        crc == CURLE_UNSUPPORTED_PROTOCOL)
        return true;
    long sent = 0;
    curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent);
    return sent == 0;
}

int transfers_init(transfers_t *tr, int64_t max_connections, int64_t connect_timeout_ms,
                   metrics_gauge_t *gauge, char *errbuf, size_t errlen)
{
    memset(tr, 0, sizeof(*tr));
    tr->connect_timeout_ms = connect_timeout_ms;
    tr->gauge = gauge;
    tr->multi = curl_multi_init();
    if (!tr->multi)
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "curl_multi_init failed");
    curl_multi_setopt(tr->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_connections);
    curl_multi_setopt(tr->multi, CURLMOPT_MAXCONNECTS, (long)max_connections);
    return OD_OK;
}

void transfers_destroy(transfers_t *tr)
{
    while (tr->head) {
        xfer_t *x = tr->head;
        xfer_unlink(tr, x);
        curl_multi_remove_handle(tr->multi, x->easy);
        xfer_free(x);
    }
    if (tr->multi)
        curl_multi_cleanup(tr->multi);
    tr->multi = NULL;
}

void transfers_poll(transfers_t *tr, int timeout_ms)
{
    curl_multi_poll(tr->multi, NULL, 0, timeout_ms, NULL);
}

void transfers_wakeup(transfers_t *tr)
{
    curl_multi_wakeup(tr->multi);
}

void transfers_perform(transfers_t *tr)
{
    int running = 0;
    curl_multi_perform(tr->multi, &running);
}

xfer_t *transfers_done_next(transfers_t *tr, CURLcode *crc)
{
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read(tr->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        xfer_t *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        *crc = m->data.result;
        curl_multi_remove_handle(tr->multi, m->easy_handle);
        xfer_unlink(tr, x);
        tr->in_flight--;
        metrics_gauge_set(tr->gauge, (double)tr->in_flight);
        return x;
    }
    return NULL;
}

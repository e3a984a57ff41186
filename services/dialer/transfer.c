/*
 * transfer.c — provider requests on the dial loop's libcurl multi handle:
 * setup, response collection (bounded), the list of transfers in flight.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dialer_internal.h"
#include "xmalloc.h"

/* Largest provider answer kept; a call object is a few KiB. */
#define TRANSFER_RESPONSE_MAX (1024 * 1024)

static size_t xfer_write(char *data, size_t size, size_t nmemb, void *arg)
{
    xfer_t *x = arg;
    size_t n = size * nmemb;
    if (x->resp_len + n > TRANSFER_RESPONSE_MAX)
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    x->resp = xrealloc(x->resp, x->resp_len + n + 1);
    memcpy(x->resp + x->resp_len, data, n);
    x->resp_len += n;
    x->resp[x->resp_len] = '\0';
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

static void xfer_link(dialer_t *d, xfer_t *x)
{
    x->prev = NULL;
    x->next = d->xfers;
    if (d->xfers)
        ((xfer_t *)d->xfers)->prev = x;
    d->xfers = x;
}

void xfer_unlink(dialer_t *d, xfer_t *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        d->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
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

/* Starts x (its req filled) on the multi handle. */
int xfer_start(dialer_t *d, xfer_t *x, int64_t timeout_ms)
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
    curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)d->cfg->connect_timeout_ms);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
    x->started_real_us = dialer_now_real();
    if (curl_multi_add_handle(d->multi, x->easy) != CURLM_OK)
        return OD_ERR_INTERNAL;
    xfer_link(d, x);
    d->requests_in_flight++;
    metrics_gauge_set(d->m.requests_in_flight, (double)d->requests_in_flight);
    return OD_OK;
}

/*
 * live.c — GET /v1/campaigns/{campaign_id}/live: a campaign's status and
 * statistics as server-sent events, for the dashboard and any client that
 * reads text/event-stream.
 *
 *   event: stats                       when anything changed (and first)
 *   data: {"status":"in_progress","pause_reason":null,"stats":{...}}
 *
 *   : keep-alive                       after LIVE_KEEPALIVE_MS of silence
 *
 *   event: gone                        the campaign was removed; the end
 *   data: {}
 *
 * The statistics are read every LIVE_TICK_MS with a pooled connection
 * taken for the read only; between reads the connection sleeps in lib/web's
 * http (suspended, no thread held). Open streams are capped at
 * api->live_max (503 with Retry-After above it), and end when the server
 * stops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "log.h"
#include "stats.h"
#include "xmalloc.h"

/* 2 s between reads: a person watching sees a change soon enough, and the
 * statistics' read (stats.c: the campaign row and its counters, well under
 * a millisecond of PostgreSQL time) runs at most once in that time per
 * open page. */
#define LIVE_TICK_MS 2000
/* 15 s of silence at most: well inside the API's 30 s idle timeout and
 * common proxies' read timeouts, so an unchanged campaign's stream is not
 * cut. */
#define LIVE_KEEPALIVE_MS 15000
/* Retry-After of a 503 when live_max streams are open. */
#define LIVE_RETRY_AFTER "10"

typedef struct live {
    api_t *api;
    char account_id[UUID_STR_LEN];
    char campaign_id[UUID_STR_LEN];
    char *pending; /* the event being sent, from pending_off on */
    size_t pending_len, pending_off;
    char *last; /* the data of the last event sent */
    int64_t next_read_ms;
    int64_t last_sent_ms;
    bool ending; /* the end follows the pending event */
} live_t;

static int64_t live_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void live_free(void *arg)
{
    live_t *lv = arg;
    atomic_fetch_sub(&lv->api->live_streams, 1);
    free(lv->pending);
    free(lv->last);
    free(lv);
}

static void live_pending_set(live_t *lv, char *text)
{
    free(lv->pending);
    lv->pending = text;
    lv->pending_len = strlen(text);
    lv->pending_off = 0;
}

/* The event of this tick into lv->pending, or nothing when the campaign
 * is unchanged and the stream spoke recently. */
static void live_read(live_t *lv, int64_t now)
{
    char err[512];
    pg_conn_t *db = NULL;
    json_t *stats = NULL, *state = NULL;
    int rc = api_pool_acquire(lv->api->pool, &db, err, sizeof(err));
    if (rc == OD_OK)
        rc = stats_campaign_read(db, lv->account_id, lv->campaign_id, &stats, &state, err,
                                 sizeof(err));
    api_pool_release(lv->api->pool, db);
    if (rc == OD_ERR_NOT_FOUND) {
        live_pending_set(lv, xstrdup("event: gone\ndata: {}\n\n"));
        lv->ending = true;
        return;
    }
    if (rc) {
        log_warn("live", "campaign %s: %s (the stream goes on)", lv->campaign_id, err);
    } else {
        json_object_set_new(state, "stats", stats);
        stats = NULL;
        char *data = json_dumps(state, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (data && (!lv->last || strcmp(data, lv->last) != 0)) {
            size_t len = strlen(data) + 32;
            char *event = xmalloc(len);
            snprintf(event, len, "event: stats\ndata: %s\n\n", data);
            live_pending_set(lv, event);
            free(lv->last);
            lv->last = data;
            data = NULL;
        }
        free(data); /* jansson allocates with malloc */
    }
    json_decref(state);
    json_decref(stats);
    if (!lv->pending && now - lv->last_sent_ms >= LIVE_KEEPALIVE_MS)
        live_pending_set(lv, xstrdup(": keep-alive\n\n"));
}

/* lib/web's stream producer (http_stream_fn). */
static ssize_t live_next(void *arg, char *buf, size_t max, int *retry_ms)
{
    live_t *lv = arg;
    int64_t now = live_now_ms();
    if (!lv->pending) {
        if (lv->ending)
            return -1;
        if (now < lv->next_read_ms) {
            *retry_ms = (int)(lv->next_read_ms - now);
            return 0;
        }
        lv->next_read_ms = now + LIVE_TICK_MS;
        live_read(lv, now);
        if (!lv->pending) {
            *retry_ms = LIVE_TICK_MS;
            return 0;
        }
    }
    size_t n = lv->pending_len - lv->pending_off;
    if (n > max)
        n = max;
    memcpy(buf, lv->pending + lv->pending_off, n);
    lv->pending_off += n;
    if (lv->pending_off == lv->pending_len) {
        free(lv->pending);
        lv->pending = NULL;
    }
    lv->last_sent_ms = now;
    return (ssize_t)n;
}

void campaigns_live(api_ctx_t *ctx)
{
    api_t *api = ctx->api;
    if (!campaigns_owned(ctx, ctx->params[0], false, NULL))
        return;
    if (atomic_fetch_add(&api->live_streams, 1) >= api->live_max) {
        atomic_fetch_sub(&api->live_streams, 1);
        api_reply_error(ctx, 503, "unavailable", NULL,
                        "%d live streams are open, the most the API serves at once; try again "
                        "shortly (OUTDIAL_API_LIVE_MAX)",
                        api->live_max);
        http_response_header_add(ctx->resp, "Retry-After", LIVE_RETRY_AFTER);
        return;
    }
    live_t *lv = xcalloc(1, sizeof(*lv));
    lv->api = api;
    snprintf(lv->account_id, sizeof(lv->account_id), "%s", ctx->account_id);
    snprintf(lv->campaign_id, sizeof(lv->campaign_id), "%.36s", ctx->params[0]);
    lv->last_sent_ms = live_now_ms();
    http_response_stream(ctx->resp, 200, "text/event-stream", live_next, lv, live_free);
    /* Caches and proxies must pass each event on as it comes. */
    http_response_header_add(ctx->resp, "Cache-Control", "no-store");
    http_response_header_add(ctx->resp, "X-Accel-Buffering", "no");
    ctx->replied = true;
}

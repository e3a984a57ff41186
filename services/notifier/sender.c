/*
 * sender.c — due deliveries out to the endpoints (notifier.h).
 *
 * One thread, one PostgreSQL connection, one libcurl multi handle. The
 * loop keeps up to max_inflight requests going: whenever slots are free
 * (and intake woke it, the last claim filled every slot, or
 * NOTIFIER_POLL_MS passed) it claims due rows, moving each one's
 * next_attempt_at past the request's timeout (the lease); every answer is
 * recorded as delivery_plan_after decides. A recording that fails leaves
 * the lease to run out: the delivery is sent again (at least once).
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "clock.h"
#include "deps.h"
#include "dlist.h"
#include "log.h"
#include "notifier.h"
#include "sign.h"
#include "uuid.h"
#include "webhook_filter.h"
#include "xmalloc.h"

/* Connecting is part of the request's timeout, but a host that does not
 * answer SYN must not take all of it from a slow but alive one. */
#define SENDER_CONNECT_TIMEOUT_MS 5000
/* The part of an endpoint's answer kept in last_error, for the API. */
#define SENDER_ANSWER_MAX 200

typedef struct delivery {
    char id[UUID_STR_LEN];
    char endpoint_id[UUID_STR_LEN];
    char event_id[128];
    char event_type[WEBHOOK_EVENT_NAME_MAX];
    int attempts;
    int64_t first_ms; /* wall clock of the first try, ms */
    char *url;
    char *secret;
    char *body;
    CURL *easy;
    struct curl_slist *headers;
    char answer[SENDER_ANSWER_MAX + 1];
    size_t answer_len;
    int64_t started_us;
    struct delivery *prev, *next; /* the sender's list of requests in flight */
} delivery_t;

static const pg_stmt_t claim_stmt = {
    "notifier_claim",
    "WITH due AS (SELECT d.id FROM webhook_delivery d"
    "  JOIN webhook_endpoint e ON e.id = d.endpoint_id"
    "  WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.enabled"
    "  ORDER BY d.next_attempt_at LIMIT $1::int FOR UPDATE OF d SKIP LOCKED)"
    " UPDATE webhook_delivery d SET attempts = d.attempts + 1,"
    "  first_attempt_at = COALESCE(d.first_attempt_at, now()), last_attempt_at = now(),"
    "  next_attempt_at = now() + make_interval(secs => $2::int)"
    " FROM due, webhook_endpoint e WHERE d.id = due.id AND e.id = d.endpoint_id"
    " RETURNING d.id, d.endpoint_id, d.event_id, d.event_type, d.attempts,"
    "  (extract(epoch FROM d.first_attempt_at) * 1000)::bigint, e.url, e.secret, d.body",
    2};

static const pg_stmt_t delivered_stmt = {
    "notifier_delivered",
    "UPDATE webhook_delivery SET status = 'delivered', delivered_at = now(),"
    " last_status_code = $2::int, last_error = NULL WHERE id = $1::uuid AND status = 'pending'",
    2};

static const pg_stmt_t retry_stmt = {
    "notifier_retry",
    "UPDATE webhook_delivery SET next_attempt_at = now() + make_interval(secs => $4::double "
    "precision / 1000), last_status_code = $2::int, last_error = $3"
    " WHERE id = $1::uuid AND status = 'pending'",
    4};

static const pg_stmt_t dead_stmt = {
    "notifier_dead",
    "UPDATE webhook_delivery SET status = 'dead', last_status_code = $2::int, last_error = $3"
    " WHERE id = $1::uuid AND status = 'pending'",
    3};

static const pg_stmt_t endpoint_gone_stmt = {
    "notifier_endpoint_gone",
    "UPDATE webhook_endpoint SET enabled = false, updated_at = now(),"
    " disabled_reason = 'the endpoint answered 410 Gone' WHERE id = $1::uuid",
    1};

static void delivery_free(delivery_t *d)
{
    if (!d)
        return;
    if (d->easy)
        curl_easy_cleanup(d->easy);
    curl_slist_free_all(d->headers);
    free(d->url);
    free(d->secret);
    free(d->body);
    free(d);
}

/* Keeps the start of the endpoint's answer; the rest is read and dropped. */
static size_t answer_write(char *data, size_t size, size_t nmemb, void *arg)
{
    delivery_t *d = arg;
    size_t len = size * nmemb;
    size_t room = SENDER_ANSWER_MAX - d->answer_len;
    size_t keep = len < room ? len : room;
    memcpy(d->answer + d->answer_len, data, keep);
    d->answer_len += keep;
    d->answer[d->answer_len] = '\0';
    return len;
}

static void header_add(delivery_t *d, const char *name, const char *value)
{
    char line[512];
    snprintf(line, sizeof(line), "%s: %s", name, value);
    d->headers = curl_slist_append(d->headers, line);
}

/* Signs d now and adds it to multi. */
static int delivery_start(notifier_t *n, CURLM *multi, delivery_t *d, char *err, size_t errlen)
{
    char ts[24], sig[WEBHOOK_SIGN_HEADER_LEN];
    int64_t now_s = od_clock_real_us() / 1000000;
    snprintf(ts, sizeof(ts), "%" PRId64, now_s);
    size_t body_len = strlen(d->body);
    if (webhook_sign(d->secret, now_s, d->body, body_len, sig) != OD_OK)
        return od_fail(err, errlen, OD_ERR_INTERNAL, "cannot sign delivery %s", d->id);
    d->easy = curl_easy_init();
    if (!d->easy)
        return od_fail(err, errlen, OD_ERR_INTERNAL, "curl_easy_init failed");
    d->headers = curl_slist_append(d->headers, "Content-Type: application/json");
    d->headers = curl_slist_append(d->headers, "User-Agent: outdial-notifier/1");
    d->headers = curl_slist_append(d->headers, "Expect:");
    header_add(d, WEBHOOK_HEADER_ID, d->event_id);
    header_add(d, "Idempotency-Key", d->event_id);
    header_add(d, WEBHOOK_HEADER_EVENT, d->event_type);
    header_add(d, WEBHOOK_HEADER_TIMESTAMP, ts);
    header_add(d, WEBHOOK_HEADER_SIGNATURE, sig);
    CURL *e = d->easy;
    curl_easy_setopt(e, CURLOPT_URL, d->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, answer_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(e, CURLOPT_PRIVATE, d);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)n->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(n->timeout_ms < SENDER_CONNECT_TIMEOUT_MS ? n->timeout_ms
                                                                      : SENDER_CONNECT_TIMEOUT_MS));
    /* HTTPS only, no redirects: the signed body goes to the URL the user
     * registered and nowhere else. */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (n->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, n->ca_file);
    d->started_us = od_clock_real_us();
    if (curl_multi_add_handle(multi, e) != CURLM_OK)
        return od_fail(err, errlen, OD_ERR_INTERNAL, "curl_multi_add_handle failed");
    return OD_OK;
}

static char *col_dup(const PGresult *res, int row, int col)
{
    return xstrdup(PQgetvalue(res, row, col));
}

/* Claims up to want due deliveries and starts them; returns how many were
 * claimed, or a negative error code. */
static int claim(notifier_t *n, pg_conn_t *db, CURLM *multi, int want, delivery_t **head,
                 int *inflight)
{
    char err[1024];
    char limit[16], lease[16];
    snprintf(limit, sizeof(limit), "%d", want);
    snprintf(lease, sizeof(lease), "%d", n->timeout_ms / 1000 + 1 + NOTIFIER_LEASE_MARGIN_S);
    const char *params[] = {limit, lease};
    PGresult *res = NULL;
    int rc = pg_stmt_exec(db, &claim_stmt, params, &res, err, sizeof(err));
    if (rc) {
        log_warn("notifier_claim", "%s", err);
        return rc;
    }
    int got = PQntuples(res);
    for (int i = 0; i < got; i++) {
        delivery_t *d = xcalloc(1, sizeof(*d));
        snprintf(d->id, sizeof(d->id), "%s", PQgetvalue(res, i, 0));
        snprintf(d->endpoint_id, sizeof(d->endpoint_id), "%s", PQgetvalue(res, i, 1));
        snprintf(d->event_id, sizeof(d->event_id), "%s", PQgetvalue(res, i, 2));
        snprintf(d->event_type, sizeof(d->event_type), "%s", PQgetvalue(res, i, 3));
        d->attempts = atoi(PQgetvalue(res, i, 4));
        d->first_ms = strtoll(PQgetvalue(res, i, 5), NULL, 10);
        d->url = col_dup(res, i, 6);
        d->secret = col_dup(res, i, 7);
        d->body = col_dup(res, i, 8);
        if (delivery_start(n, multi, d, err, sizeof(err)) != OD_OK) {
            /* Its lease runs out and another pass sends it. */
            log_warn("notifier_send", "%s", err);
            if (d->easy)
                curl_multi_remove_handle(multi, d->easy);
            delivery_free(d);
            continue;
        }
        DLIST_PUSH(*head, d, prev, next);
        (*inflight)++;
    }
    PQclear(res);
    metrics_gauge_set(n->inflight, (double)*inflight);
    return got;
}

static uint64_t random_u64(void)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint64_t)od_clock_real_us() * 6364136223846793005ULL;
    return r;
}

/* Records the answer of a finished request. */
static void delivery_finish(notifier_t *n, pg_conn_t *db, delivery_t *d, CURLcode crc)
{
    char err[1024], status_text[16], delay_text[24], reason[SENDER_ANSWER_MAX + 160];
    long status = 0;
    if (crc == CURLE_OK)
        curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
    int64_t now_us = od_clock_real_us();
    metrics_histogram_observe(n->latency, (double)(now_us - d->started_us) / 1e6);
    notifier_count(n->deliveries_total, delivery_result_name((int)status));
    if (crc != CURLE_OK)
        snprintf(reason, sizeof(reason), "%s", curl_easy_strerror(crc));
    else
        snprintf(reason, sizeof(reason), "HTTP %ld: %s", status, d->answer);
    int64_t age_ms = now_us / 1000 - d->first_ms;
    delivery_plan_t plan =
        delivery_plan_after((int)status, d->attempts, age_ms, &n->policy, random_u64());
    snprintf(status_text, sizeof(status_text), "%ld", status);
    snprintf(delay_text, sizeof(delay_text), "%" PRId64, plan.delay_ms);
    const char *params[] = {d->id, status ? status_text : NULL, reason, delay_text};
    int rc = OD_OK;
    switch (plan.next) {
    case DELIVERY_DELIVERED:
        rc = pg_stmt_exec(db, &delivered_stmt, params, NULL, err, sizeof(err));
        break;
    case DELIVERY_RETRY:
        rc = pg_stmt_exec(db, &retry_stmt, params, NULL, err, sizeof(err));
        break;
    case DELIVERY_GONE:
        rc = pg_stmt_exec(db, &endpoint_gone_stmt, (const char *[]){d->endpoint_id}, NULL, err,
                          sizeof(err));
        if (rc == OD_OK)
            log_warn("notifier_endpoint_gone", "endpoint %s answered 410: disabled",
                     d->endpoint_id);
        /* fallthrough */
    case DELIVERY_DEAD:
        if (rc == OD_OK)
            rc = pg_stmt_exec(db, &dead_stmt, params, NULL, err, sizeof(err));
        if (rc == OD_OK)
            notifier_count(n->deliveries_total, "dead");
        break;
    }
    if (rc != OD_OK)
        log_warn("notifier_record", "delivery %s: %s (sent again when its lease ends)", d->id, err);
}

void *notifier_sender_main(void *arg)
{
    notifier_t *n = arg;
    char err[1024];
    CURLM *multi = curl_multi_init();
    pg_conn_t *db = NULL;
    delivery_t *head = NULL;
    int inflight = 0;
    if (!multi) {
        log_error("notifier", "curl_multi_init failed");
        atomic_store(n->stop, true);
        return NULL;
    }
    if (pg_conn_await(n->deps, n->dep_pg, n->stop, n->dsn, "outdial-notifier-sender", &db, err,
                      sizeof(err)) != OD_OK)
        goto out;
    atomic_store(&n->sender_ok, true);
    int64_t next_claim_us = 0;
    while (!atomic_load(n->stop)) {
        int64_t now_us = od_clock_real_us();
        bool woken = atomic_exchange(&n->wake, false);
        if (inflight < n->max_inflight && (woken || now_us >= next_claim_us)) {
            int want = n->max_inflight - inflight;
            int got = claim(n, db, multi, want, &head, &inflight);
            atomic_store(&n->sender_ok, got >= 0 || !pg_conn_lost(db));
            /* A full claim: more may be due, claim again at once; a
             * failed one (the database away) waits a second. */
            next_claim_us = now_us + (got == want ? 0
                                      : got < 0   ? 1000000LL
                                                  : NOTIFIER_POLL_MS * 1000LL);
        }
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left = 0;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            delivery_t *d = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
            CURLcode crc = m->data.result;
            curl_multi_remove_handle(multi, m->easy_handle);
            delivery_finish(n, db, d, crc);
            DLIST_REMOVE(head, d, prev, next);
            delivery_free(d);
            inflight--;
            metrics_gauge_set(n->inflight, (double)inflight);
        }
        /* Sleeps until a transfer has work, at most 50 ms: intake's wake
         * and the stop flag are looked at that often. */
        curl_multi_poll(multi, NULL, 0, 50, NULL);
    }
out:
    /* Deliveries still in flight keep their lease: sent again later. */
    while (head) {
        delivery_t *d = head;
        DLIST_REMOVE(head, d, prev, next);
        curl_multi_remove_handle(multi, d->easy);
        delivery_free(d);
    }
    curl_multi_cleanup(multi);
    pg_conn_free(db);
    return NULL;
}

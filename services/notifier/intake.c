/*
 * intake.c — Kafka events into webhook_delivery rows (notifier.h).
 *
 * One consumer in the notifier's own group on call-events and
 * campaign-events. A message is handled in three steps: map it
 * (event_map.h; most call events carry no webhook), read the account's
 * enabled endpoints and keep those whose filter wants the type
 * (webhook_filter.h), insert one delivery per endpoint (ON CONFLICT DO
 * NOTHING on endpoint + event id: a redelivered message adds nothing). The
 * offset is stored after the insert commits; a database that fails is
 * waited out on the same message, so nothing is skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "deps.h"
#include "event_map.h"
#include "kafka.h"
#include "log.h"
#include "notifier.h"
#include "signals.h"
#include "xmalloc.h"

/* Backoff on one message while PostgreSQL fails: 1 s doubling to 30 s. */
#define INTAKE_RETRY_FIRST_MS 1000
#define INTAKE_RETRY_MAX_MS   30000

static const pg_stmt_t endpoints_stmt = {
    "notifier_endpoints",
    "SELECT id, array_to_string(events, ',') FROM webhook_endpoint"
    " WHERE account_id = $1::uuid AND enabled ORDER BY id",
    1};

static const pg_stmt_t delivery_insert_stmt = {
    "notifier_delivery_insert",
    "INSERT INTO webhook_delivery (endpoint_id, event_id, event_type, body)"
    " SELECT unnest($1::uuid[]), $2, $3, $4 ON CONFLICT (endpoint_id, event_id) DO NOTHING",
    4};

/* The filter of an endpoint from its events as "a,b,c"; unknown names
 * (none, by the table's CHECK) are left out. */
static unsigned filter_from_text(const char *text)
{
    unsigned filter = 0;
    char *copy = xstrdup(text);
    char *save = NULL;
    for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save))
        if (webhook_filter_add(&filter, name, NULL, 0) != OD_OK)
            log_warn("notifier_filter", "endpoint with an unknown event '%s'", name);
    free(copy);
    return filter;
}

/* Queues msg's deliveries: OD_OK once committed (or nothing to queue). */
static int deliveries_queue(pg_conn_t *db, const webhook_msg_t *msg, int *queued, char *err,
                            size_t errlen)
{
    *queued = 0;
    PGresult *res = NULL;
    const char *params[4] = {msg->account_id};
    int rc = pg_stmt_exec(db, &endpoints_stmt, params, &res, err, errlen);
    if (rc)
        return rc;
    /* The matching ids as a PostgreSQL array literal: {id,id,...}. */
    size_t cap = 3 + (size_t)PQntuples(res) * (UUID_STR_LEN + 1);
    char *ids = xmalloc(cap);
    size_t len = 0;
    ids[len++] = '{';
    for (int i = 0; i < PQntuples(res); i++) {
        if (!webhook_filter_matches(filter_from_text(PQgetvalue(res, i, 1)), msg->type))
            continue;
        len += (size_t)snprintf(ids + len, cap - len, "%s%s", *queued ? "," : "",
                                PQgetvalue(res, i, 0));
        (*queued)++;
    }
    ids[len++] = '}';
    ids[len] = '\0';
    PQclear(res);
    if (*queued > 0) {
        params[0] = ids;
        params[1] = msg->event_id;
        params[2] = webhook_event_name(msg->type);
        params[3] = msg->body;
        rc = pg_stmt_exec(db, &delivery_insert_stmt, params, NULL, err, errlen);
    }
    free(ids);
    return rc;
}

/* Maps a message of topic to its webhook (type NONE: none). A message that
 * does not decode is logged and skipped: no retry can fix it. */
static void message_map(notifier_t *n, const rd_kafka_message_t *km, webhook_msg_t *msg)
{
    char err[512];
    memset(msg, 0, sizeof(*msg));
    const char *topic = rd_kafka_topic_name(km->rkt);
    int rc;
    if (strcmp(topic, n->topic_calls) == 0) {
        callevent_t *ev = NULL;
        rc = callevent_decode(km->payload, km->len, &ev, err, sizeof(err));
        if (rc == OD_OK)
            rc = webhook_msg_from_call(ev, msg, err, sizeof(err));
        callevent_free(ev);
    } else {
        campaignevent_t *ev = NULL;
        rc = campaignevent_decode(km->payload, km->len, &ev, err, sizeof(err));
        if (rc == OD_OK)
            rc = webhook_msg_from_campaign(ev, msg, err, sizeof(err));
        campaignevent_free(ev);
    }
    if (rc != OD_OK) {
        log_warn("notifier_event_invalid", "%s [%d] offset %lld: %s", topic, (int)km->partition,
                 (long long)km->offset, err);
        webhook_msg_clear(msg);
    }
}

/* Handles one message until its deliveries are committed; false when the
 * notifier stopped first (the offset is then not stored). */
static bool message_handle(notifier_t *n, pg_conn_t *db, const rd_kafka_message_t *km)
{
    char err[1024];
    webhook_msg_t msg;
    message_map(n, km, &msg);
    if (msg.type == WEBHOOK_EVENT_NONE)
        return true;
    int wait = INTAKE_RETRY_FIRST_MS;
    bool done = false;
    while (!atomic_load(n->stop)) {
        int queued = 0;
        int rc = deliveries_queue(db, &msg, &queued, err, sizeof(err));
        if (rc == OD_OK) {
            notifier_count(n->events_total, webhook_event_name(msg.type));
            if (queued > 0)
                atomic_store(&n->wake, true);
            done = true;
            break;
        }
        atomic_store(&n->intake_ok, !pg_conn_lost(db));
        log_warn("notifier_intake_retry", "event %s: %s; again in %d ms", msg.event_id, err, wait);
        od_signals_sleep(n->stop, wait);
        wait = wait * 2 > INTAKE_RETRY_MAX_MS ? INTAKE_RETRY_MAX_MS : wait * 2;
    }
    webhook_msg_clear(&msg);
    return done;
}

void *notifier_intake_main(void *arg)
{
    notifier_t *n = arg;
    char err[1024];
    kafka_consumer_t *consumer = NULL;
    pg_conn_t *db = NULL;
    if (pg_conn_await(n->deps, n->dep_pg, n->stop, n->dsn, "outdial-notifier-intake", &db, err,
                      sizeof(err)) != OD_OK)
        goto out;
    kafka_consumer_opts_t opts = {.group_id = n->group, .client_id = "outdial-notifier"};
    const char *topics[] = {n->topic_calls, n->topic_campaigns};
    if (kafka_consumer_new(&opts, &consumer, err, sizeof(err)) != OD_OK ||
        kafka_consumer_subscribe(consumer, topics, 2, err, sizeof(err)) != OD_OK) {
        log_error("kafka", "notifier consumer: %s", err);
        atomic_store(n->stop, true);
        goto out;
    }
    atomic_store(&n->intake_ok, true);
    while (!atomic_load(n->stop)) {
        rd_kafka_message_t *km = NULL;
        if (kafka_consumer_poll(consumer, 500, &km, err, sizeof(err)) != OD_OK) {
            log_error("kafka", "notifier consumer: %s", err);
            atomic_store(&n->intake_ok, false);
            atomic_store(n->stop, true);
            break;
        }
        if (!km)
            continue;
        if (message_handle(n, db, km)) {
            atomic_store(&n->intake_ok, true);
            int rc = kafka_consumer_store(consumer, km, err, sizeof(err));
            if (rc != OD_OK && rc != OD_ERR_CONFLICT)
                log_warn("kafka", "store: %s", err);
        }
        kafka_message_free(km);
    }
out:
    if (consumer && kafka_consumer_close(consumer, err, sizeof(err)) != OD_OK)
        log_warn("kafka", "notifier consumer close: %s", err);
    kafka_consumer_free(consumer);
    pg_conn_free(db);
    return NULL;
}

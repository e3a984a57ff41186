#include "dead_letter.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "config.h"
#include "item_backoff.h"
#include "kafka.h"
#include "log.h"
#include "results.h"
#include "signals.h"
#include "topics.h"
#include "xmalloc.h"

struct dead_letter {
    kafka_producer_t *producer;
    char topic[TOPIC_NAME_MAX + 1];
    int max_tries;
};

dead_letter_verdict_t dead_letter_decide(int rc, bool db_answers, int tries, int max_tries)
{
    if (rc == OD_ERR_INVALID)
        return DEAD_LETTER_GIVE_UP;
    if (rc == OD_ERR_UNAVAILABLE || rc == OD_ERR_TIMEOUT || rc == OD_ERR_IO ||
        rc == OD_ERR_CONFLICT || !db_answers)
        return DEAD_LETTER_RETRY_TRANSIENT;
    return tries < max_tries ? DEAD_LETTER_RETRY : DEAD_LETTER_GIVE_UP;
}

int dead_letter_tries_from_env(int *out, char *errbuf, size_t errlen)
{
    int64_t tries = DEAD_LETTER_TRIES_DEFAULT;
    int rc = config_get_int(DEAD_LETTER_TRIES_ENV, DEAD_LETTER_TRIES_DEFAULT, DEAD_LETTER_TRIES_MIN,
                            DEAD_LETTER_TRIES_MAX, &tries, errbuf, errlen);
    *out = (int)tries;
    return rc;
}

int dead_letter_new(int max_tries, dead_letter_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    dead_letter_t *dl = xcalloc(1, sizeof(*dl));
    dl->max_tries = max_tries;
    kafka_producer_opts_t opts = {.client_id = "outdial-scheduler-dead-letter"};
    int rc = topic_name_from_env(TOPIC_CALL_EVENTS_DEAD_LETTER, dl->topic, sizeof(dl->topic),
                                 errbuf, errlen);
    if (rc == OD_OK)
        rc = kafka_producer_new(&opts, &dl->producer, errbuf, errlen);
    if (rc) {
        dead_letter_free(dl);
        return rc;
    }
    *out = dl;
    return OD_OK;
}

void dead_letter_free(dead_letter_t *dl)
{
    if (!dl)
        return;
    kafka_producer_free(dl->producer);
    free(dl);
}

/* Sleeps ms (a backoff, at most DEAD_LETTER_BACKOFF_MAX_US); false when
 * *stopping was set meanwhile. */
static bool wait_unless_stopping(int64_t ms, const atomic_bool *stopping)
{
    od_signals_sleep(stopping, (int)ms);
    return !atomic_load(stopping);
}

/* Produces msg to the dead-letter topic and waits for Kafka's
 * acknowledgement, trying again each second while Kafka does not take it
 * (the offset is not stored before). OD_ERR_CONFLICT when stopping. */
static int give_up(dead_letter_t *dl, const rd_kafka_message_t *msg, int rc, const char *why,
                   int tries, const atomic_bool *stopping, dead_letter_stats_t *st)
{
    char partition[16], offset[24], tries_s[16];
    snprintf(partition, sizeof(partition), "%" PRId32, msg->partition);
    snprintf(offset, sizeof(offset), "%" PRId64, msg->offset);
    snprintf(tries_s, sizeof(tries_s), "%d", tries);
    const char *topic = rd_kafka_topic_name(msg->rkt);
    const char *code = od_err_name(rc);
    const kafka_header_t headers[] = {
        {DEAD_LETTER_HEADER_ERROR, why, strlen(why)},
        {DEAD_LETTER_HEADER_CODE, code, strlen(code)},
        {DEAD_LETTER_HEADER_TRIES, tries_s, strlen(tries_s)},
        {DEAD_LETTER_HEADER_TOPIC, topic, strlen(topic)},
        {DEAD_LETTER_HEADER_PARTITION, partition, strlen(partition)},
        {DEAD_LETTER_HEADER_OFFSET, offset, strlen(offset)},
    };
    for (;;) {
        char err[512];
        int prc = kafka_producer_send(dl->producer, dl->topic, msg->key, msg->key_len, msg->payload,
                                      msg->len, headers, sizeof(headers) / sizeof(headers[0]), NULL,
                                      err, sizeof(err));
        /* 10 s: as the dispatch pass waits for its jobs' acknowledgements. */
        if (prc == OD_OK)
            prc = kafka_producer_flush(dl->producer, 10000, err, sizeof(err));
        if (prc == OD_OK)
            break;
        log_warn("dead_letter_produce", "%s [%" PRId32 "] offset %" PRId64 ": %s; retrying", topic,
                 msg->partition, msg->offset, err);
        if (!wait_unless_stopping(1000, stopping))
            return OD_ERR_CONFLICT;
    }
    st->dead_lettered++;
    log_error("event_dead_lettered",
              "%s [%" PRId32 "] offset %" PRId64 " to %s after %d tries (%s): %s", topic,
              msg->partition, msg->offset, dl->topic, tries, code, why);
    return OD_OK;
}

/* Whether the database answers at all: an error while it does not is the
 * database's, not the event's. */
static bool db_answers(pg_conn_t *db)
{
    char err[256];
    PGresult *res = NULL;
    bool ok = pg_exec(db, "SELECT 1", &res, err, sizeof(err)) == OD_OK;
    PQclear(res);
    return ok;
}

/* A batch's decoded events and the message each came from. */
typedef struct batch {
    rd_kafka_message_t *const *msgs;
    const callevent_t *evs[RESULTS_BATCH_MAX];
    size_t msg_of[RESULTS_BATCH_MAX];
    results_outcome_t outs[RESULTS_BATCH_MAX];
    size_t n;
} batch_t;

/* After evs[from..from+n) applied: rejected events to the dead-letter
 * topic, the others counted. */
static int outcomes_settle(dead_letter_t *dl, batch_t *b, size_t from, size_t n,
                           const atomic_bool *stopping, dead_letter_stats_t *st)
{
    for (size_t i = from; i < from + n; i++) {
        if (!b->outs[i].rejected) {
            st->effects[b->outs[i].effect]++;
            continue;
        }
        int rc =
            give_up(dl, b->msgs[b->msg_of[i]], OD_ERR_INVALID, b->outs[i].error, 1, stopping, st);
        if (rc)
            return rc;
    }
    return OD_OK;
}

/* Event i alone, until it applies or the table gives it up. */
static int apply_alone(dead_letter_t *dl, pg_conn_t *db, redis_t *r, const char *redis_prefix,
                       const od_clock_t *clk, batch_t *b, size_t i, const atomic_bool *stopping,
                       dead_letter_stats_t *st)
{
    int tries = 0;
    for (;;) {
        char err[512];
        int rc = results_apply_batch(db, r, redis_prefix, &b->evs[i], 1, od_clock_now_us(clk),
                                     &b->outs[i], err, sizeof(err));
        if (rc == OD_OK)
            return outcomes_settle(dl, b, i, 1, stopping, st);
        dead_letter_verdict_t v = dead_letter_decide(rc, db_answers(db), tries + 1, dl->max_tries);
        if (v != DEAD_LETTER_RETRY_TRANSIENT)
            tries++;
        if (v == DEAD_LETTER_GIVE_UP)
            return give_up(dl, b->msgs[b->msg_of[i]], rc, err, tries, stopping, st);
        int64_t wait_ms = v == DEAD_LETTER_RETRY
                              ? item_backoff_delay_us(tries, DEAD_LETTER_BACKOFF_FIRST_US,
                                                      DEAD_LETTER_BACKOFF_MAX_US) /
                                    1000
                              : 1000;
        log_warn("event_apply", "event %s: %s (%s); try %d of %d, next in %" PRId64 " ms",
                 b->evs[i]->event_id, err, od_err_name(rc), tries, dl->max_tries, wait_ms);
        if (!wait_unless_stopping(wait_ms, stopping))
            return OD_ERR_CONFLICT;
    }
}

int dead_letter_consume(dead_letter_t *dl, pg_conn_t *db, redis_t *r, const char *redis_prefix,
                        const od_clock_t *clk, rd_kafka_message_t *const *msgs, size_t n,
                        const atomic_bool *stopping, dead_letter_stats_t *st)
{
    batch_t *b = xcalloc(1, sizeof(*b));
    callevent_t *decoded[RESULTS_BATCH_MAX];
    b->msgs = msgs;
    int rc = OD_OK;
    for (size_t m = 0; m < n && m < RESULTS_BATCH_MAX && rc == OD_OK; m++) {
        callevent_t *ev = NULL;
        char err[512];
        if (callevent_decode(msgs[m]->payload, msgs[m]->len, &ev, err, sizeof(err))) {
            rc = give_up(dl, msgs[m], OD_ERR_INVALID, err, 1, stopping, st);
            continue;
        }
        decoded[b->n] = ev;
        b->msg_of[b->n] = m;
        b->evs[b->n++] = ev;
    }
    /* The batch in one go while only the database's absence stops it; an
     * error of the events' own: each alone. */
    bool alone = false;
    while (rc == OD_OK && b->n > 0) {
        char err[512];
        int arc = results_apply_batch(db, r, redis_prefix, b->evs, b->n, od_clock_now_us(clk),
                                      b->outs, err, sizeof(err));
        if (arc == OD_OK) {
            rc = outcomes_settle(dl, b, 0, b->n, stopping, st);
            break;
        }
        if (dead_letter_decide(arc, db_answers(db), 0, dl->max_tries) !=
            DEAD_LETTER_RETRY_TRANSIENT) {
            alone = true;
            break;
        }
        log_warn("event_apply", "%zu events: %s; retrying", b->n, err);
        if (!wait_unless_stopping(1000, stopping))
            rc = OD_ERR_CONFLICT;
    }
    for (size_t i = 0; alone && rc == OD_OK && i < b->n; i++)
        rc = apply_alone(dl, db, r, redis_prefix, clk, b, i, stopping, st);
    for (size_t i = 0; i < b->n; i++)
        callevent_free(decoded[i]);
    free(b);
    return rc;
}

/* ---- replay ---- */

/* Produces msg, a dead letter, to topic and waits for the acknowledgement. */
static int replay_one(kafka_producer_t *producer, const char *topic, const rd_kafka_message_t *msg,
                      char *errbuf, size_t errlen)
{
    char from[TOPIC_NAME_MAX + 48];
    snprintf(from, sizeof(from), "%s/%" PRId32 "/%" PRId64, rd_kafka_topic_name(msg->rkt),
             msg->partition, msg->offset);
    const kafka_header_t headers[] = {{DEAD_LETTER_HEADER_REPLAYED_FROM, from, strlen(from)}};
    int rc = kafka_producer_send(producer, topic, msg->key, msg->key_len, msg->payload, msg->len,
                                 headers, 1, NULL, errbuf, errlen);
    if (rc == OD_OK)
        rc = kafka_producer_flush(producer, 10000, errbuf, errlen);
    return rc;
}

int dead_letter_replay(uint64_t *replayed, char *errbuf, size_t errlen)
{
    *replayed = 0;
    char dl_topic[TOPIC_NAME_MAX + 1], events_topic[TOPIC_NAME_MAX + 1];
    char group[TOPIC_NAME_MAX + 1];
    kafka_consumer_t *consumer = NULL;
    kafka_producer_t *producer = NULL;
    int rc = topic_name_from_env(TOPIC_CALL_EVENTS_DEAD_LETTER, dl_topic, sizeof(dl_topic), errbuf,
                                 errlen);
    if (rc == OD_OK)
        rc = topic_name_from_env(TOPIC_CALL_EVENTS, events_topic, sizeof(events_topic), errbuf,
                                 errlen);
    if (rc == OD_OK)
        rc = topic_group_from_env("scheduler-replay", group, sizeof(group), errbuf, errlen);
    kafka_consumer_opts_t copts = {.group_id = group, .client_id = "outdial-scheduler-replay"};
    kafka_producer_opts_t popts = {.client_id = "outdial-scheduler-replay"};
    const char *topics[] = {dl_topic};
    if (rc == OD_OK)
        rc = kafka_consumer_new(&copts, &consumer, errbuf, errlen);
    if (rc == OD_OK)
        rc = kafka_consumer_subscribe(consumer, topics, 1, errbuf, errlen);
    if (rc == OD_OK)
        rc = kafka_producer_new(&popts, &producer, errbuf, errlen);
    /* 60 s to join the group: a first join takes seconds; longer means
     * the cluster is not answering, which the operator should hear of. */
    int64_t join_by = od_clock_real_us() + 60 * 1000000LL;
    while (rc == OD_OK) {
        rd_kafka_message_t *msg = NULL;
        rc = kafka_consumer_poll(consumer, 500, &msg, errbuf, errlen);
        if (rc)
            break;
        if (msg) {
            rc = replay_one(producer, events_topic, msg, errbuf, errlen);
            if (rc == OD_OK)
                rc = kafka_consumer_store(consumer, msg, errbuf, errlen);
            kafka_message_free(msg);
            if (rc == OD_OK)
                (*replayed)++;
            continue;
        }
        if (kafka_consumer_assigned(consumer) <= 0) {
            if (od_clock_real_us() > join_by)
                rc =
                    od_fail(errbuf, errlen, OD_ERR_TIMEOUT,
                            "no partition of %s assigned to group %s within 60 s", dl_topic, group);
            continue;
        }
        int64_t lag = 0;
        rc = kafka_consumer_lag(consumer, 5000, &lag, errbuf, errlen);
        if (rc == OD_OK && lag == 0)
            break;
    }
    if (consumer) {
        char cerr[256];
        int crc = kafka_consumer_close(consumer, cerr, sizeof(cerr));
        if (crc && rc == OD_OK)
            rc = od_fail(errbuf, errlen, crc, "committing the replay's offsets: %s", cerr);
    }
    kafka_consumer_free(consumer);
    kafka_producer_free(producer);
    return rc;
}

int dead_letter_replay_main(int argc, char **argv)
{
    char err[512];
    if (argc != 2 || strcmp(argv[1], "--replay-dead-letters") != 0) {
        fprintf(stderr, "usage: outdial-scheduler [--replay-dead-letters]\n");
        return 2;
    }
    if (log_init("scheduler", err, sizeof(err))) {
        fprintf(stderr, "outdial-scheduler: %s\n", err);
        return 2;
    }
    uint64_t replayed = 0;
    int rc = dead_letter_replay(&replayed, err, sizeof(err));
    printf("replayed %" PRIu64 " dead letter(s) to call-events\n", replayed);
    if (rc) {
        fprintf(stderr, "outdial-scheduler: replay: %s\n", err);
        return 1;
    }
    return 0;
}

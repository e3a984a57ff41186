#include "kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "xmalloc.h"

struct kafka_producer {
    rd_kafka_t *rk;
    kafka_delivery_cb_t *on_delivery;
    void *opaque;
    uint64_t delivered;
    uint64_t failed;
    uint64_t failed_since_flush; /* reset by kafka_producer_flush */
    char first_error[256];       /* first failure since the last flush */
};

struct kafka_consumer {
    rd_kafka_t *rk;
    bool closed;
};

/* Properties outdial's guarantees rest on; an extra property may not
 * change them (docs/architecture.md §2: idempotent producers, offsets stored only
 * after processing). */
static const char *const producer_fixed[] = {"enable.idempotence", "acks", "request.required.acks",
                                             "partitioner", NULL};
static const char *const consumer_fixed[] = {"enable.auto.offset.store", "group.id", NULL};

/* librdkafka's log lines (syslog levels) into lib/log. Called from
 * librdkafka's threads; log_write is one write() per line. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    log_level_t lvl = level <= 3   ? LOG_LEVEL_ERROR
                      : level == 4 ? LOG_LEVEL_WARN
                      : level <= 6 ? LOG_LEVEL_INFO
                                   : LOG_LEVEL_DEBUG;
    log_write(lvl, "kafka", "%s: %s: %s", rd_kafka_name(rk), fac, buf);
}

/* Client-level errors (all brokers down, authentication, fatal
 * idempotence errors). librdkafka retries the transient ones by itself, so
 * they are logged, not returned; fatal ones surface from the next call. */
static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    log_level_t lvl = err == RD_KAFKA_RESP_ERR__FATAL ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN;
    log_write(lvl, "kafka", "%s: %s: %s", rd_kafka_name(rk),
              rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errbuf,
                          size_t errlen)
{
    char why[512];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "kafka property %s=%s: %s", name,
                       value ? value : "(null)", why);
    return OD_OK;
}

/* The client of type made from *conf: on success *conf is NULL (the
 * client owns it now); on failure it is left to the caller to destroy.
 * what names the client in the error. */
static int kafka_client_new(rd_kafka_type_t type, rd_kafka_conf_t **conf, const char *what,
                            rd_kafka_t **rk, char *errbuf, size_t errlen)
{
    char why[512];
    *rk = rd_kafka_new(type, *conf, why, sizeof(why));
    if (!*rk)
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "kafka %s: %s", what, why);
    *conf = NULL; /* now owned by rk */
    return OD_OK;
}

/* A new conf with bootstrap.servers, client.id, logging, the role's own
 * settings (own) and then the caller's extra props, none of which may name
 * a forbidden (NULL-terminated) property.
 * Caller owns *out (rd_kafka_conf_destroy, or hand it to rd_kafka_new). */
static int kafka_conf_build(const char *client_id, const kafka_prop_t *own, size_t own_cnt,
                            const char *const *forbidden, const kafka_prop_t *props,
                            size_t prop_cnt, rd_kafka_conf_t **out, char *errbuf, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = OD_OK;
    bool brokers_given = false;
    for (size_t i = 0; i < prop_cnt; i++) {
        if (!props[i].name || !props[i].value) {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "kafka property %zu has no name or value",
                         i);
            goto fail;
        }
        for (const char *const *f = forbidden; *f; f++) {
            if (strcmp(props[i].name, *f) == 0) {
                rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                             "kafka property %s is fixed by outdial and cannot be overridden",
                             props[i].name);
                goto fail;
            }
        }
        if (strcmp(props[i].name, "bootstrap.servers") == 0 ||
            strcmp(props[i].name, "metadata.broker.list") == 0)
            brokers_given = true;
    }
    if (!brokers_given) {
        const char *brokers = NULL;
        rc = config_get_required(KAFKA_BROKERS_ENV, &brokers, errbuf, errlen);
        if (rc)
            goto fail;
        rc = kafka_conf_set(conf, "bootstrap.servers", brokers, errbuf, errlen);
        if (rc)
            goto fail;
    }
    rc = kafka_conf_set(conf, "client.id", client_id ? client_id : "outdial", errbuf, errlen);
    if (rc)
        goto fail;
    for (size_t i = 0; i < own_cnt; i++) {
        rc = kafka_conf_set(conf, own[i].name, own[i].value, errbuf, errlen);
        if (rc)
            goto fail;
    }
    for (size_t i = 0; i < prop_cnt; i++) {
        rc = kafka_conf_set(conf, props[i].name, props[i].value, errbuf, errlen);
        if (rc)
            goto fail;
    }
    rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
    *out = conf;
    return OD_OK;
fail:
    rd_kafka_conf_destroy(conf);
    return rc;
}

/* ---- producer ---------------------------------------------------------- */

/* Runs on the thread that calls rd_kafka_poll/flush (ours). */
static void kafka_dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    kafka_producer_t *p = opaque;
    if (msg->err) {
        p->failed++;
        if (p->failed_since_flush++ == 0)
            snprintf(p->first_error, sizeof(p->first_error), "%s [%d]: %s",
                     msg->rkt ? rd_kafka_topic_name(msg->rkt) : "?", (int)msg->partition,
                     rd_kafka_err2str(msg->err));
    } else {
        p->delivered++;
    }
    if (p->on_delivery)
        p->on_delivery(msg, p->opaque);
}

int kafka_producer_new(const kafka_producer_opts_t *opts, kafka_producer_t **out, char *errbuf,
                       size_t errlen)
{
    static const kafka_prop_t own[] = {
        {"enable.idempotence", "true"}, /* no duplicates or reordering from retries */
        {"acks", "all"},                /* implied by idempotence; said for the reader */
        /* librdkafka's default, fixed: kafka_key_partition must agree. */
        {"partitioner", "consistent_random"},
    };
    static const kafka_producer_opts_t defaults = {0};
    if (!opts)
        opts = &defaults;
    *out = NULL;
    rd_kafka_conf_t *conf = NULL;
    kafka_producer_t *p = xcalloc(1, sizeof(*p));
    p->on_delivery = opts->on_delivery;
    p->opaque = opts->opaque;
    int rc = kafka_conf_build(opts->client_id, own, sizeof(own) / sizeof(own[0]), producer_fixed,
                              opts->props, opts->prop_cnt, &conf, errbuf, errlen);
    if (rc)
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, kafka_dr_msg_cb);
    rd_kafka_conf_set_opaque(conf, p);
    rc = kafka_client_new(RD_KAFKA_PRODUCER, &conf, "producer", &p->rk, errbuf, errlen);
    if (rc)
        goto fail;
    *out = p;
    return OD_OK;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    free(p);
    return rc;
}

int kafka_producer_send(kafka_producer_t *p, const char *topic, const void *key, size_t keylen,
                        const void *payload, size_t len, const kafka_header_t *headers,
                        size_t header_cnt, void *msg_opaque, char *errbuf, size_t errlen)
{
    /* How long a full local queue may block a send: long enough to ride out
     * a leader election, short enough that a caller notices a dead cluster
     * (librdkafka itself keeps retrying queued messages for
     * message.timeout.ms). */
    const int queue_full_wait_ms = 10000;
    const int queue_full_step_ms = 100;
    rd_kafka_headers_t *hdrs = NULL;
    int rc = OD_OK;
    for (int waited = 0;; waited += queue_full_step_ms) {
        if (header_cnt > 0) {
            hdrs = rd_kafka_headers_new(header_cnt);
            for (size_t i = 0; i < header_cnt; i++)
                rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value,
                                    headers[i].value ? (ssize_t)headers[i].len : 0);
        }
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, keylen), RD_KAFKA_V_VALUE((void *)payload, len),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_END);
        if (!err) {
            hdrs = NULL; /* now owned by the message */
            break;
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && waited < queue_full_wait_ms) {
            rd_kafka_headers_destroy(hdrs);
            hdrs = NULL;
            rd_kafka_poll(p->rk, queue_full_step_ms);
            continue;
        }
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
            char why[512];
            rd_kafka_fatal_error(p->rk, why, sizeof(why));
            rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL, "kafka produce to %s: fatal: %s", topic,
                         why);
        } else if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                         "kafka produce to %s: local queue still full after %d ms (is the "
                         "cluster reachable?)",
                         topic, queue_full_wait_ms);
        } else {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "kafka produce to %s: %s", topic,
                         rd_kafka_err2str(err));
        }
        goto out;
    }
    /* Serve delivery reports now and then so they never pile up. */
    rd_kafka_poll(p->rk, 0);
out:
    if (hdrs)
        rd_kafka_headers_destroy(hdrs);
    return rc;
}

int kafka_producer_poll(kafka_producer_t *p, int timeout_ms)
{
    return rd_kafka_poll(p->rk, timeout_ms);
}

int kafka_producer_flush(kafka_producer_t *p, int timeout_ms, char *errbuf, size_t errlen)
{
    rd_kafka_resp_err_t err = rd_kafka_flush(p->rk, timeout_ms);
    int rc = OD_OK;
    if (p->failed_since_flush > 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                     "kafka: %llu message(s) failed since the last flush, first: %s",
                     (unsigned long long)p->failed_since_flush, p->first_error);
        p->failed_since_flush = 0;
        p->first_error[0] = '\0';
    } else if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
        rc = od_fail(errbuf, errlen, OD_ERR_TIMEOUT,
                     "kafka: %d message(s) still undelivered after %d ms", rd_kafka_outq_len(p->rk),
                     timeout_ms);
    } else if (err) {
        rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL, "kafka flush: %s", rd_kafka_err2str(err));
    }
    return rc;
}

void kafka_producer_counts(const kafka_producer_t *p, uint64_t *delivered, uint64_t *failed)
{
    if (delivered)
        *delivered = p->delivered;
    if (failed)
        *failed = p->failed;
}

void kafka_producer_free(kafka_producer_t *p)
{
    /* Long enough for in-flight requests to be acknowledged by a healthy
     * cluster; a caller that cares calls kafka_producer_flush first. */
    const int final_flush_ms = 10000;
    if (!p)
        return;
    if (rd_kafka_flush(p->rk, final_flush_ms) == RD_KAFKA_RESP_ERR__TIMED_OUT)
        log_warn("kafka", "%s: dropping %d undelivered message(s) at shutdown",
                 rd_kafka_name(p->rk), rd_kafka_outq_len(p->rk));
    rd_kafka_destroy(p->rk);
    free(p);
}

/* ---- consumer ---------------------------------------------------------- */

int kafka_consumer_new(const kafka_consumer_opts_t *opts, kafka_consumer_t **out, char *errbuf,
                       size_t errlen)
{
    *out = NULL;
    if (!opts || !opts->group_id || !*opts->group_id)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "kafka consumer: group id is required");
    const kafka_prop_t own[] = {
        {"group.id", opts->group_id},
        /* Offsets are stored only by kafka_consumer_store, i.e. after the
         * caller's effects are durable; stored offsets are then committed
         * in the background and on close. */
        {"enable.auto.offset.store", "false"},
        {"enable.auto.commit", "true"},
        /* A group without a committed offset starts at the beginning, so
         * messages published before the first start are not skipped. */
        {"auto.offset.reset", "earliest"},
        {"enable.partition.eof", "false"},
        /* A member that dies without leaving (SIGKILL, a lost machine)
         * holds its partitions until this runs out: 10 s instead of
         * librdkafka's 45 s, so a killed dialer's jobs move on quickly. */
        {"session.timeout.ms", "10000"},
    };
    rd_kafka_conf_t *conf = NULL;
    kafka_consumer_t *c = xcalloc(1, sizeof(*c));
    int rc = kafka_conf_build(opts->client_id, own, sizeof(own) / sizeof(own[0]), consumer_fixed,
                              opts->props, opts->prop_cnt, &conf, errbuf, errlen);
    if (rc)
        goto fail;
    rc = kafka_client_new(RD_KAFKA_CONSUMER, &conf, "consumer", &c->rk, errbuf, errlen);
    if (rc)
        goto fail;
    /* One queue for messages, rebalances and errors: served by poll. */
    rd_kafka_poll_set_consumer(c->rk);
    *out = c;
    return OD_OK;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    free(c);
    return rc;
}

int kafka_consumer_subscribe(kafka_consumer_t *c, const char *const *topics, size_t topic_cnt,
                             char *errbuf, size_t errlen)
{
    if (topic_cnt == 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "kafka subscribe: no topic given");
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)topic_cnt);
    for (size_t i = 0; i < topic_cnt; i++)
        rd_kafka_topic_partition_list_add(list, topics[i], RD_KAFKA_PARTITION_UA);
    int rc = OD_OK;
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, list);
    if (err)
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "kafka subscribe to %s%s: %s", topics[0],
                     topic_cnt > 1 ? ", ..." : "", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}

int kafka_consumer_poll(kafka_consumer_t *c, int timeout_ms, rd_kafka_message_t **msg, char *errbuf,
                        size_t errlen)
{
    *msg = NULL;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (!m)
        return OD_OK;
    if (!m->err) {
        *msg = m;
        return OD_OK;
    }
    int rc = OD_OK;
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_fatal_error(c->rk, why, sizeof(why));
        rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL, "kafka consumer: fatal: %s", why);
    } else {
        /* Transport errors, unknown topics, broker down: librdkafka
         * recovers by itself; the caller just polls again. */
        log_warn("kafka", "%s: consumer: %s: %s", rd_kafka_name(c->rk), rd_kafka_err2name(m->err),
                 rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
    return rc;
}

int kafka_consumer_store(kafka_consumer_t *c, const rd_kafka_message_t *msg, char *errbuf,
                         size_t errlen)
{
    if (!msg || !msg->rkt || msg->err)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "kafka store: not a consumed message");
    const char *topic = rd_kafka_topic_name(msg->rkt);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    /* The committed offset is the next message to read, hence + 1. */
    rd_kafka_topic_partition_list_add(list, topic, msg->partition)->offset = msg->offset + 1;
    int rc = OD_OK;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, list);
    if (!err)
        err = list->elems[0].err;
    if (err == RD_KAFKA_RESP_ERR__STATE || err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION)
        rc = od_fail(errbuf, errlen, OD_ERR_CONFLICT,
                     "kafka store %s [%d] offset %lld: partition no longer assigned (it will be "
                     "delivered again to its new owner)",
                     topic, (int)msg->partition, (long long)msg->offset);
    else if (err)
        rc = od_fail(errbuf, errlen, OD_ERR_INTERNAL, "kafka store %s [%d] offset %lld: %s", topic,
                     (int)msg->partition, (long long)msg->offset, rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}

int kafka_consumer_assigned(kafka_consumer_t *c)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    rd_kafka_resp_err_t err = rd_kafka_assignment(c->rk, &list);
    if (err)
        return OD_ERR_INTERNAL;
    int n = list->cnt;
    rd_kafka_topic_partition_list_destroy(list);
    return n;
}

int kafka_consumer_lag(kafka_consumer_t *c, int timeout_ms, int64_t *lag, char *errbuf,
                       size_t errlen)
{
    *lag = 0;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t err = rd_kafka_assignment(c->rk, &parts);
    if (!err)
        err = rd_kafka_position(c->rk, parts);
    int rc = OD_OK;
    for (int i = 0; !err && i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t low = 0, high = 0, at = tp->offset;
        err = rd_kafka_query_watermark_offsets(c->rk, tp->topic, tp->partition, &low, &high,
                                               timeout_ms);
        if (!err && at < 0) { /* nothing read yet: where the group stands */
            rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(one, tp->topic, tp->partition);
            err = rd_kafka_committed(c->rk, one, timeout_ms);
            at = err ? -1 : one->elems[0].offset;
            rd_kafka_topic_partition_list_destroy(one);
        }
        if (at < low)
            at = low;
        if (!err && high > at)
            *lag += high - at;
    }
    if (err)
        rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "kafka consumer lag: %s",
                     rd_kafka_err2str(err));
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

int kafka_consumer_close(kafka_consumer_t *c, char *errbuf, size_t errlen)
{
    int rc = OD_OK;
    if (c->closed)
        return OD_OK;
    c->closed = true;
    /* A synchronous commit first, so a failure is reported to the caller
     * (close commits too, but only logs). _NO_OFFSET: nothing new stored. */
    rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, NULL, 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "kafka commit on close: %s",
                     rd_kafka_err2str(err));
    err = rd_kafka_consumer_close(c->rk);
    if (err && !rc)
        rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "kafka consumer close: %s",
                     rd_kafka_err2str(err));
    return rc;
}

void kafka_consumer_free(kafka_consumer_t *c)
{
    if (!c)
        return;
    char why[512];
    if (kafka_consumer_close(c, why, sizeof(why)))
        log_warn("kafka", "%s", why);
    rd_kafka_destroy(c->rk);
    free(c);
}

/* ---- messages ---------------------------------------------------------- */

int kafka_topic_create(const char *brokers, const char *topic, int *partitions, char *errbuf,
                       size_t errlen)
{
    *partitions = 0;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = kafka_conf_set(conf, "bootstrap.servers", brokers, errbuf, errlen);
    if (rc == OD_OK)
        rc = kafka_conf_set(conf, "allow.auto.create.topics", "true", errbuf, errlen);
    rd_kafka_t *rk = NULL;
    if (rc == OD_OK)
        rc = kafka_client_new(RD_KAFKA_PRODUCER, &conf, "metadata producer", &rk, errbuf, errlen);
    if (rc != OD_OK) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    /* kafka-dev creates the topic on the first request; 50 x 100 ms covers
     * a broker still starting up. */
    for (int attempt = 0; attempt < 50 && *partitions == 0; attempt++) {
        const struct rd_kafka_metadata *md = NULL;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
                *partitions = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
        }
        if (*partitions == 0)
            usleep(100 * 1000);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    if (*partitions <= 0)
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL,
                       "kafka topic %s not created (no partitions in metadata)", topic);
    return OD_OK;
}

int kafka_message_header_get(const rd_kafka_message_t *msg, const char *name, const void **value,
                             size_t *len)
{
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(msg, &hdrs) || !hdrs)
        return OD_ERR_NOT_FOUND;
    const void *v = NULL;
    size_t n = 0;
    if (rd_kafka_header_get_last(hdrs, name, &v, &n))
        return OD_ERR_NOT_FOUND;
    *value = v;
    *len = n;
    return OD_OK;
}

void kafka_message_free(rd_kafka_message_t *msg)
{
    if (msg)
        rd_kafka_message_destroy(msg);
}

/* ---- partitions and offsets ------------------------------------------- */

int kafka_key_partition(const void *key, size_t keylen, int partitions)
{
    /* The producer's own function; the topic is used only for a key-less
     * message (a random partition), never here. */
    return (int)rd_kafka_msg_partitioner_consistent_random(NULL, key, keylen, partitions, NULL,
                                                           NULL);
}

/* The configuration of a side client (the offsets reader, the health
 * check): a producer's fixed settings and no others, named client_id or
 * default_id. */
static int side_client_conf(const char *client_id, const char *default_id, rd_kafka_conf_t **conf,
                            char *errbuf, size_t errlen)
{
    return kafka_conf_build(client_id ? client_id : default_id, NULL, 0, producer_fixed, NULL, 0,
                            conf, errbuf, errlen);
}

struct kafka_offsets {
    rd_kafka_t *rk;
    rd_kafka_queue_t *results; /* admin results */
};

int kafka_offsets_new(const char *client_id, kafka_offsets_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    rd_kafka_conf_t *conf = NULL;
    int rc = side_client_conf(client_id, "outdial-offsets", &conf, errbuf, errlen);
    if (rc)
        return rc;
    kafka_offsets_t *o = xcalloc(1, sizeof(*o));
    rc = kafka_client_new(RD_KAFKA_PRODUCER, &conf, "offsets reader", &o->rk, errbuf, errlen);
    if (rc) {
        rd_kafka_conf_destroy(conf);
        free(o);
        return rc;
    }
    o->results = rd_kafka_queue_new(o->rk);
    *out = o;
    return OD_OK;
}

void kafka_offsets_free(kafka_offsets_t *o)
{
    if (!o)
        return;
    rd_kafka_queue_destroy(o->results);
    rd_kafka_destroy(o->rk);
    free(o);
}

int kafka_offsets_partitions(kafka_offsets_t *o, const char *topic, int timeout_ms, int *partitions,
                             char *errbuf, size_t errlen)
{
    *partitions = 0;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(o->rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(o->rk, 0, rkt, &md, timeout_ms);
    if (!err && md->topic_cnt == 1)
        err = md->topics[0].err;
    if (!err && md->topic_cnt == 1)
        *partitions = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (err)
        return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "kafka metadata of %s: %s", topic,
                       rd_kafka_err2str(err));
    if (*partitions <= 0)
        return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "kafka topic %s has no partitions",
                       topic);
    return OD_OK;
}

int kafka_offsets_watermarks(kafka_offsets_t *o, const char *topic, int n, int timeout_ms,
                             int64_t *low, int64_t *high, char *errbuf, size_t errlen)
{
    for (int p = 0; p < n; p++) {
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(o->rk, topic, p, &low[p], &high[p], timeout_ms);
        if (err)
            return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "kafka watermarks of %s [%d]: %s",
                           topic, p, rd_kafka_err2str(err));
    }
    return OD_OK;
}

/* The committed offsets of one group's result into committed[0..n). */
static int offsets_group_result(const rd_kafka_group_result_t *g, const char *topic, int n,
                                int64_t *committed, char *errbuf, size_t errlen)
{
    const rd_kafka_error_t *gerr = rd_kafka_group_result_error(g);
    if (gerr)
        return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "kafka committed offsets of %s: %s",
                       rd_kafka_group_result_name(g), rd_kafka_error_string(gerr));
    const rd_kafka_topic_partition_list_t *parts = rd_kafka_group_result_partitions(g);
    for (int p = 0; p < n; p++)
        committed[p] = KAFKA_OFFSET_NONE;
    for (int i = 0; parts && i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        if (strcmp(tp->topic, topic) != 0 || tp->partition < 0 || tp->partition >= n)
            continue;
        if (tp->err)
            return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                           "kafka committed offset of %s [%d]: %s", topic, (int)tp->partition,
                           rd_kafka_err2str(tp->err));
        committed[tp->partition] = tp->offset >= 0 ? tp->offset : KAFKA_OFFSET_NONE;
    }
    return OD_OK;
}

int kafka_offsets_committed(kafka_offsets_t *o, const char *group, const char *topic, int n,
                            int timeout_ms, int64_t *committed, char *errbuf, size_t errlen)
{
    rd_kafka_event_t *ev;
    while ((ev = rd_kafka_queue_poll(o->results, 0)) != NULL)
        rd_kafka_event_destroy(ev); /* the late answer of a call that gave up on it */
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(n);
    for (int p = 0; p < n; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p);
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_AdminOptions_t *opts =
        rd_kafka_AdminOptions_new(o->rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    char why[256];
    int rc = OD_OK;
    if (rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, why, sizeof(why))) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "kafka committed offsets: %s", why);
        goto out;
    }
    rd_kafka_ListConsumerGroupOffsets(o->rk, &req, 1, opts, o->results);
    /* The request times out by itself; the extra second lets its answer,
     * an error, arrive. */
    ev = rd_kafka_queue_poll(o->results, timeout_ms + 1000);
    if (!ev) {
        rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                     "kafka committed offsets of %s: no answer within %d ms", group, timeout_ms);
        goto out;
    }
    const rd_kafka_ListConsumerGroupOffsets_result_t *res =
        rd_kafka_event_ListConsumerGroupOffsets_result(ev);
    size_t cnt = 0;
    const rd_kafka_group_result_t **groups =
        res ? rd_kafka_ListConsumerGroupOffsets_result_groups(res, &cnt) : NULL;
    if (rd_kafka_event_error(ev))
        rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "kafka committed offsets of %s: %s", group,
                     rd_kafka_event_error_string(ev));
    else if (cnt != 1)
        rc = od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE,
                     "kafka committed offsets of %s: %zu group results", group, cnt);
    else
        rc = offsets_group_result(groups[0], topic, n, committed, errbuf, errlen);
    rd_kafka_event_destroy(ev);
out:
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    return rc;
}

/* ---- readiness check --------------------------------------------------- */

typedef struct kafka_check {
    rd_kafka_t *rk;
    char brokers[256]; /* for messages */
} kafka_check_t;

static int kafka_check_run(void *arg, char *errbuf, size_t errlen)
{
    kafka_check_t *c = arg;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(c->rk, 0, NULL, &md, KAFKA_CHECK_TIMEOUT_MS);
    int brokers = md ? md->broker_cnt : 0;
    if (md)
        rd_kafka_metadata_destroy(md);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "kafka %s: no metadata within %d ms: %s",
                       c->brokers, KAFKA_CHECK_TIMEOUT_MS, rd_kafka_err2str(err));
    if (brokers == 0)
        return od_fail(errbuf, errlen, OD_ERR_UNAVAILABLE, "kafka %s: the cluster lists no broker",
                       c->brokers);
    return OD_OK;
}

static void kafka_check_free(void *arg)
{
    kafka_check_t *c = arg;
    rd_kafka_destroy(c->rk);
    free(c);
}

int kafka_deps_add(deps_t *d, const char *client_id, char *errbuf, size_t errlen)
{
    rd_kafka_conf_t *conf = NULL;
    int rc = side_client_conf(client_id, "outdial-check", &conf, errbuf, errlen);
    if (rc)
        return rc;
    kafka_check_t *c = xcalloc(1, sizeof(*c));
    size_t len = sizeof(c->brokers);
    if (rd_kafka_conf_get(conf, "bootstrap.servers", c->brokers, &len) != RD_KAFKA_CONF_OK)
        snprintf(c->brokers, sizeof(c->brokers), "(bootstrap list)");
    char why[512];
    c->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        free(c);
        return od_fail(errbuf, errlen, OD_ERR_INTERNAL, "kafka check client: %s", why);
    }
    conf = NULL; /* now owned by rk */
    return deps_add(d, "kafka", kafka_check_run, c, kafka_check_free);
}

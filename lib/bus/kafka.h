/*
 * kafka.h — thin producer and consumer wrappers around librdkafka.
 *
 * They fix the settings docs/architecture.md §2 asks of every service, so no
 * service can get them wrong:
 *
 *   producer  enable.idempotence=true, acks=all: a message acknowledged by
 *             the delivery report is on every in-sync replica, written once
 *             and in order per partition, whatever the retries.
 *             partitioner=consistent_random: a key's partition is
 *             kafka_key_partition (the scheduler's recovery computes where
 *             a dial job went).
 *   consumer  enable.auto.offset.store=false, enable.auto.commit=true: an
 *             offset is stored only when the caller says the message's
 *             effects are durable (kafka_consumer_store), and stored offsets
 *             are committed in the background and on close (at-least-once).
 *
 * Environment:
 *   OUTDIAL_KAFKA_BROKERS  bootstrap list "host:port,host:port"; required
 *                          (unless the caller's extra properties set
 *                          bootstrap.servers, as tests may).
 *
 * librdkafka's own log lines and client-level errors go to lib/log as JSON
 * (event "kafka"). Messages are librdkafka's rd_kafka_message_t: read
 * key/len/payload/partition/offset directly; kafka_message_header_get reads
 * headers. Producer and consumer are each used from one thread; librdkafka
 * runs its own threads behind them.
 */
#ifndef OUTDIAL_KAFKA_H
#define OUTDIAL_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "deps.h"
#include "err.h"

#define KAFKA_BROKERS_ENV "OUTDIAL_KAFKA_BROKERS"

/* One librdkafka configuration property ("session.timeout.ms" = "6000").
 * Extra properties are applied after outdial's own, so they can override
 * them; they exist for tests and for tuning, not to turn off idempotence or
 * manual offset storing (those two are rejected). */
typedef struct kafka_prop {
    const char *name;
    const char *value;
} kafka_prop_t;

/* One message header; value may be NULL (a null header). */
typedef struct kafka_header {
    const char *name;
    const void *value;
    size_t len;
} kafka_header_t;

/* ---- producer ---------------------------------------------------------- */

typedef struct kafka_producer kafka_producer_t;

/* Called once per produced message, from kafka_producer_poll/flush/free on
 * the caller's thread. msg->err is 0 on success; msg->_private is the
 * msg_opaque given to kafka_producer_send. msg is valid only during the
 * call. */
typedef void kafka_delivery_cb_t(const rd_kafka_message_t *msg, void *opaque);

typedef struct kafka_producer_opts {
    const char *client_id;            /* NULL: "outdial" */
    kafka_delivery_cb_t *on_delivery; /* NULL: reports are only counted */
    void *opaque;                     /* passed to on_delivery */
    const kafka_prop_t *props;        /* extra librdkafka properties, may be NULL */
    size_t prop_cnt;
} kafka_producer_opts_t;

/* Creates an idempotent producer. opts may be NULL (all defaults). On
 * success *out is a new producer the caller frees with kafka_producer_free;
 * on error *out is NULL and errbuf says why (OD_ERR_INVALID for bad
 * configuration, OD_ERR_INTERNAL if librdkafka refuses to start). */
int kafka_producer_new(const kafka_producer_opts_t *opts, kafka_producer_t **out, char *errbuf,
                       size_t errlen) OD_WUR;

/* Queues one message for topic with the given key (may be NULL) and
 * payload (may be NULL for a tombstone). Key, payload and headers are
 * copied: the caller keeps ownership of its buffers. msg_opaque is handed
 * back in the delivery report. When librdkafka's local queue is full this
 * serves delivery reports and retries for up to 10 s before giving up with
 * OD_ERR_UNAVAILABLE (the cluster is not taking messages). A fatal
 * idempotence error is OD_ERR_INTERNAL: the producer must be recreated. */
int kafka_producer_send(kafka_producer_t *p, const char *topic, const void *key, size_t keylen,
                        const void *payload, size_t len, const kafka_header_t *headers,
                        size_t header_cnt, void *msg_opaque, char *errbuf, size_t errlen) OD_WUR;

/* Serves delivery reports for up to timeout_ms; returns how many. */
int kafka_producer_poll(kafka_producer_t *p, int timeout_ms);

/* Waits up to timeout_ms until every queued message has its delivery
 * report. OD_ERR_TIMEOUT if some are still in flight; OD_ERR_UNAVAILABLE
 * if any message failed since the previous flush (the message has the
 * count and the first error). The failure count is reset by each flush. */
int kafka_producer_flush(kafka_producer_t *p, int timeout_ms, char *errbuf, size_t errlen) OD_WUR;

/* Messages acknowledged and failed since the producer was created. */
void kafka_producer_counts(const kafka_producer_t *p, uint64_t *delivered, uint64_t *failed);

/* Flushes for up to 10 s (undelivered messages are dropped with a log line)
 * and destroys the producer. NULL is a no-op. */
void kafka_producer_free(kafka_producer_t *p);

/* ---- consumer ---------------------------------------------------------- */

typedef struct kafka_consumer kafka_consumer_t;

typedef struct kafka_consumer_opts {
    const char *group_id;      /* required, e.g. "outdial-dialer" */
    const char *client_id;     /* NULL: "outdial" */
    const kafka_prop_t *props; /* extra librdkafka properties, may be NULL */
    size_t prop_cnt;
} kafka_consumer_opts_t;

/* Creates a consumer in group opts->group_id. A group that has no committed
 * offset for a partition starts at its earliest message (nothing published
 * before a service first started is lost). On success *out is a new
 * consumer the caller frees with kafka_consumer_free. */
int kafka_consumer_new(const kafka_consumer_opts_t *opts, kafka_consumer_t **out, char *errbuf,
                       size_t errlen) OD_WUR;

/* Subscribes to the topic_cnt full topic names (replacing any previous
 * subscription); partitions are assigned by the group as members come and
 * go. The names are copied. */
int kafka_consumer_subscribe(kafka_consumer_t *c, const char *const *topics, size_t topic_cnt,
                             char *errbuf, size_t errlen) OD_WUR;

/* Waits up to timeout_ms for the next message. OD_OK with *msg set to a
 * message the caller destroys with kafka_message_free (after storing it),
 * or OD_OK with *msg NULL when none came (timeout, or a transient cluster
 * error, which is logged and retried by librdkafka). OD_ERR_INTERNAL on a
 * fatal consumer error. */
int kafka_consumer_poll(kafka_consumer_t *c, int timeout_ms, rd_kafka_message_t **msg, char *errbuf,
                        size_t errlen) OD_WUR;

/* Marks msg processed: its offset + 1 becomes the partition's stored
 * offset, committed within auto.commit.interval.ms and on close. Call it
 * only once the message's effects are durable. OD_ERR_CONFLICT when the
 * partition was revoked meanwhile (a rebalance): the message will be
 * delivered again to the partition's new owner, which is harmless for an
 * idempotent consumer. msg stays owned by the caller. */
int kafka_consumer_store(kafka_consumer_t *c, const rd_kafka_message_t *msg, char *errbuf,
                         size_t errlen) OD_WUR;

/* Number of partitions currently assigned to this member, or a negative
 * error code. */
int kafka_consumer_assigned(kafka_consumer_t *c);

/* How many messages of the assigned partitions this consumer has yet to
 * read: the sum over them of the high watermark (asked of the brokers,
 * waiting up to timeout_ms each) less the consumer's position, or its
 * group's committed offset before it has read any, or the low watermark
 * when the group has none. 0 means caught up as of the call. */
int kafka_consumer_lag(kafka_consumer_t *c, int timeout_ms, int64_t *lag, char *errbuf,
                       size_t errlen) OD_WUR;

/* Commits the stored offsets synchronously and leaves the group, so its
 * partitions move to other members at once instead of after the session
 * timeout. After it, only kafka_consumer_free may be called. */
int kafka_consumer_close(kafka_consumer_t *c, char *errbuf, size_t errlen) OD_WUR;

/* Closes the consumer if kafka_consumer_close was not called (errors are
 * logged) and destroys it. NULL is a no-op. */
void kafka_consumer_free(kafka_consumer_t *c);

/* ---- topics ------------------------------------------------------------ */

/* Creates topic on a broker that auto-creates a topic a producer asks
 * metadata for (kafka-dev does; tests and bench/ rely on it), waiting up to
 * 50 metadata requests 100 ms apart for it to have partitions. OD_OK with
 * *partitions > 0, OD_ERR_INTERNAL (with errbuf) when the client cannot be
 * made or the topic has no partitions by then. */
int kafka_topic_create(const char *brokers, const char *topic, int *partitions, char *errbuf,
                       size_t errlen) OD_WUR;

/* ---- partitions and offsets ------------------------------------------- */

/* The partition a producer of kafka_producer_new puts a message with key
 * (keylen > 0) on, among partitions (> 0) partitions: the producers'
 * partitioner is fixed to librdkafka's consistent_random (CRC32 of the key
 * modulo the count) and this is that function. It holds for the messages
 * produced while the topic had that many partitions (adding partitions
 * moves keys). Pure. */
int kafka_key_partition(const void *key, size_t keylen, int partitions);

/* A reader of a topic's watermarks and of a consumer group's committed
 * offsets, with a client of its own that never produces, never consumes and
 * never joins the group (the group's members are not disturbed). Used from
 * one thread. */
typedef struct kafka_offsets kafka_offsets_t;

/* The committed offset of a partition its group has never committed. */
#define KAFKA_OFFSET_NONE (-1)

/* A reader on OUTDIAL_KAFKA_BROKERS (client_id NULL: "outdial-offsets");
 * the brokers need not answer yet. The caller frees *out with
 * kafka_offsets_free. OD_ERR_INVALID for bad configuration. */
int kafka_offsets_new(const char *client_id, kafka_offsets_t **out, char *errbuf,
                      size_t errlen) OD_WUR;

/* NULL is a no-op. */
void kafka_offsets_free(kafka_offsets_t *o);

/* The partition count of topic, from the cluster's metadata (waiting up to
 * timeout_ms). OD_ERR_UNAVAILABLE when no broker answered or the topic has
 * no partitions. */
int kafka_offsets_partitions(kafka_offsets_t *o, const char *topic, int timeout_ms, int *partitions,
                             char *errbuf, size_t errlen) OD_WUR;

/* low[p] (the oldest message kept) and high[p] (the offset the next message
 * will get) of partitions 0..n-1 of topic, each asked of its leader
 * (waiting up to timeout_ms each). OD_ERR_UNAVAILABLE at the first that does
 * not answer (the arrays are then partly written). */
int kafka_offsets_watermarks(kafka_offsets_t *o, const char *topic, int n, int timeout_ms,
                             int64_t *low, int64_t *high, char *errbuf, size_t errlen) OD_WUR;

/* committed[p] of group for partitions 0..n-1 of topic: the offset the
 * group reads next, KAFKA_OFFSET_NONE where it has committed none (an
 * OffsetFetch to the group's coordinator, which does not join the group).
 * timeout_ms bounds the whole request. OD_ERR_UNAVAILABLE when the
 * coordinator did not answer, or answered with an error. */
int kafka_offsets_committed(kafka_offsets_t *o, const char *group, const char *topic, int n,
                            int timeout_ms, int64_t *committed, char *errbuf, size_t errlen) OD_WUR;

/* ---- readiness check --------------------------------------------------- */

/* How long a check waits for a broker's answer: a broker on a LAN answers
 * metadata in milliseconds; two seconds without one means none is up. */
#define KAFKA_CHECK_TIMEOUT_MS 2000

/* Adds the cluster (OUTDIAL_KAFKA_BROKERS) to d as "kafka"
 * (lib/core/deps.h): its check asks for metadata with a client of its own
 * (client_id NULL: "outdial-check") that never produces, and passes when a
 * broker answered within KAFKA_CHECK_TIMEOUT_MS; the reason of a failure
 * names the bootstrap list. Its index, or OD_ERR_INVALID for bad
 * configuration (nothing added); brokers need not answer yet. */
int kafka_deps_add(deps_t *d, const char *client_id, char *errbuf, size_t errlen) OD_WUR;

/* ---- messages ---------------------------------------------------------- */

/* Finds the last header called name. OD_OK with *value and *len pointing into
 * msg (valid while msg lives; *value NULL for a null header),
 * OD_ERR_NOT_FOUND when absent. */
int kafka_message_header_get(const rd_kafka_message_t *msg, const char *name, const void **value,
                             size_t *len) OD_WUR;

/* Destroys a message returned by kafka_consumer_poll. NULL is a no-op. */
void kafka_message_free(rd_kafka_message_t *msg);

#endif

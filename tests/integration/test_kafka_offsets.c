/*
 * What the scheduler's recovery reads of Kafka, against the stack's
 * cluster: a message keyed k lands on kafka_key_partition(k) (the
 * producers' partitioner is fixed, so the scheduler can tell where a dial
 * job went); the offsets reader sees a topic's partitions and watermarks
 * and a consumer group's committed offsets (none before the group commits,
 * then where it stored them) without joining the group; and
 * recovery_offsets_read turns them into the backlog recovery_decide.h
 * judges by, and into "unread" when Kafka does not answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "harness.h"
#include "kafka.h"
#include "recovery_offsets.h"
#include "support.h"
#include "test_main.h"
#include "topics.h"

#define N_MSGS   60
#define MAX_PART 64

typedef struct delivered {
    int n;
    int partition[N_MSGS];
    int64_t offset[N_MSGS];
} delivered_t;

static void on_delivery(const rd_kafka_message_t *msg, void *opaque)
{
    delivered_t *d = opaque;
    int i = (int)(intptr_t)msg->_private;
    if (msg->err || i < 0 || i >= N_MSGS)
        fail_msg("message %d not delivered: %s", i, rd_kafka_err2str(msg->err));
    d->partition[i] = (int)msg->partition;
    d->offset[i] = msg->offset;
    d->n++;
}

static void test_key_partition_watermarks_and_committed(void **state)
{
    (void)state;
    harness_isolate("koffs");
    char topic[TOPIC_NAME_MAX + 1], group[TOPIC_NAME_MAX + 1], err[512];
    if (topic_name_from_env(TOPIC_DIAL_JOBS, topic, sizeof(topic), err, sizeof(err)) ||
        topic_group_from_env("dialer", group, sizeof(group), err, sizeof(err)))
        fail_msg("%s", err);
    kafka_offsets_t *k = NULL;
    if (kafka_offsets_new(NULL, &k, err, sizeof(err)))
        fail_msg("offsets reader: %s", err);
    int parts = 0;
    if (kafka_offsets_partitions(k, topic, 5000, &parts, err, sizeof(err)))
        fail_msg("partitions: %s", err);
    assert_in_range(parts, 2, MAX_PART);

    /* Nothing yet: empty partitions, no commit. */
    int64_t low[MAX_PART], high[MAX_PART], committed[MAX_PART];
    if (kafka_offsets_watermarks(k, topic, parts, 5000, low, high, err, sizeof(err)) ||
        kafka_offsets_committed(k, group, topic, parts, 5000, committed, err, sizeof(err)))
        fail_msg("offsets: %s", err);
    for (int p = 0; p < parts; p++) {
        assert_int_equal(high[p], 0);
        assert_int_equal(committed[p], KAFKA_OFFSET_NONE);
    }

    /* Keyed messages land where kafka_key_partition says. */
    static delivered_t d;
    kafka_producer_opts_t popts = {.on_delivery = on_delivery, .opaque = &d};
    kafka_producer_t *producer = NULL;
    if (kafka_producer_new(&popts, &producer, err, sizeof(err)))
        fail_msg("producer: %s", err);
    int per_part[MAX_PART] = {0};
    for (int i = 0; i < N_MSGS; i++) {
        char key[48];
        snprintf(key, sizeof(key), "0c9d6a51-%04x-4e2b-9c1a-5f0e%08x", i * 7919, i * 104729);
        per_part[kafka_key_partition(key, strlen(key), parts)]++;
        if (kafka_producer_send(producer, topic, key, strlen(key), "job", 3, NULL, 0,
                                (void *)(intptr_t)i, err, sizeof(err)))
            fail_msg("send: %s", err);
        char again[48];
        snprintf(again, sizeof(again), "%s", key);
        assert_int_equal(kafka_key_partition(again, strlen(again), parts),
                         kafka_key_partition(key, strlen(key), parts));
    }
    if (kafka_producer_flush(producer, 10000, err, sizeof(err)))
        fail_msg("flush: %s", err);
    assert_int_equal(d.n, N_MSGS);
    int used = 0;
    for (int i = 0; i < N_MSGS; i++) {
        char key[48];
        snprintf(key, sizeof(key), "0c9d6a51-%04x-4e2b-9c1a-5f0e%08x", i * 7919, i * 104729);
        if (d.partition[i] != kafka_key_partition(key, strlen(key), parts))
            fail_msg("message %d (key %s) went to partition %d, kafka_key_partition says %d", i,
                     key, d.partition[i], kafka_key_partition(key, strlen(key), parts));
    }
    for (int p = 0; p < parts; p++)
        used += per_part[p] > 0;
    assert_true(used > 1); /* the keys do spread */
    if (kafka_offsets_watermarks(k, topic, parts, 5000, low, high, err, sizeof(err)))
        fail_msg("watermarks: %s", err);
    for (int p = 0; p < parts; p++) {
        assert_int_equal(low[p], 0);
        assert_int_equal(high[p], per_part[p]);
    }

    /* A backlog read now: nothing finished, every message waiting. */
    recovery_backlog_t *b = recovery_backlog_new(RECOVERY_BACKLOG_SAMPLES);
    int64_t t1 = od_clock_real_us();
    if (recovery_offsets_read(k, topic, group, t1, b, err, sizeof(err)))
        fail_msg("recovery_offsets_read: %s", err);
    assert_int_equal(b->partitions, parts);
    int busy = 0;
    while (per_part[busy] == 0)
        busy++;
    assert_int_equal(recovery_job_state(b, busy, t1 - 1000, 0), RECOVERY_JOB_WAITING);

    /* The group reads and stores every message of one partition: its
     * committed offset follows, and that partition's jobs are finished. */
    kafka_consumer_opts_t copts = {.group_id = group};
    kafka_consumer_t *c = NULL;
    const char *topics[] = {topic};
    if (kafka_consumer_new(&copts, &c, err, sizeof(err)) ||
        kafka_consumer_subscribe(c, topics, 1, err, sizeof(err)))
        fail_msg("consumer: %s", err);
    int stored = 0;
    int64_t deadline = harness_ms() + 30000;
    while (stored < per_part[busy] && harness_ms() < deadline) {
        rd_kafka_message_t *msg = NULL;
        if (kafka_consumer_poll(c, 500, &msg, err, sizeof(err)))
            fail_msg("poll: %s", err);
        if (msg && msg->partition == busy) {
            if (kafka_consumer_store(c, msg, err, sizeof(err)))
                fail_msg("store: %s", err);
            stored++;
        }
        kafka_message_free(msg);
    }
    assert_int_equal(stored, per_part[busy]);
    if (kafka_consumer_close(c, err, sizeof(err)))
        fail_msg("close: %s", err);
    kafka_consumer_free(c);
    if (kafka_offsets_committed(k, group, topic, parts, 5000, committed, err, sizeof(err)))
        fail_msg("committed: %s", err);
    for (int p = 0; p < parts; p++)
        assert_int_equal(committed[p], p == busy ? per_part[p] : KAFKA_OFFSET_NONE);
    int64_t t2 = od_clock_real_us();
    if (recovery_offsets_read(k, topic, group, t2, b, err, sizeof(err)))
        fail_msg("recovery_offsets_read: %s", err);
    assert_int_equal(recovery_job_state(b, busy, t1 - 1000, 0), RECOVERY_JOB_FINISHED);
    for (int p = 0; p < parts; p++)
        if (p != busy && per_part[p] > 0)
            assert_int_equal(recovery_job_state(b, p, t1 - 1000, 0), RECOVERY_JOB_WAITING);

    /* Kafka away: the read fails within its timeouts and nothing is
     * known, rather than a guess from the last read. */
    const char *brokers = support_env(KAFKA_BROKERS_ENV);
    char *saved = strdup(brokers);
    int dead_port = harness_free_port();
    char dead[64];
    snprintf(dead, sizeof(dead), "127.0.0.1:%d", dead_port);
    setenv(KAFKA_BROKERS_ENV, dead, 1);
    kafka_offsets_t *away = NULL;
    if (kafka_offsets_new(NULL, &away, err, sizeof(err)))
        fail_msg("offsets reader: %s", err);
    setenv(KAFKA_BROKERS_ENV, saved, 1);
    free(saved);
    int64_t started = harness_ms();
    assert_int_equal(
        recovery_offsets_read(away, topic, group, od_clock_real_us(), b, err, sizeof(err)),
        OD_ERR_UNAVAILABLE);
    assert_true(harness_ms() - started < 5 * RECOVERY_OFFSETS_TIMEOUT_MS);
    assert_non_null(strstr(err, topic));
    assert_int_equal(recovery_job_state(b, busy, t1 - 1000, 0), RECOVERY_JOB_UNREAD);

    recovery_backlog_free(b);
    kafka_offsets_free(away);
    kafka_offsets_free(k);
    kafka_producer_free(producer);
}

OD_TEST_MAIN(NULL, NULL, test_key_partition_watermarks_and_committed)

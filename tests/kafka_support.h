/*
 * kafka_support.h — a test's own consumer of one of the stack's topics,
 * and the test playing a dialer that reads the dial jobs (header-only).
 */
#ifndef OUTDIAL_TESTS_KAFKA_SUPPORT_H
#define OUTDIAL_TESTS_KAFKA_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "codec.h"
#include "harness.h"
#include "kafka.h"

/* A consumer in group (a name of the test's own, so that it reads the
 * topic from the start) subscribed to topic; fails the test on an error.
 * The topic is created when it does not exist yet, and its metadata
 * looked up every second, so that the consumer is assigned its
 * partitions soon after a service first writes to it. Caller frees with
 * kafka_consumer_free. */
static inline kafka_consumer_t *kafka_support_subscribe(const char *group, const char *topic)
{
    char err[512];
    const kafka_prop_t props[] = {{"allow.auto.create.topics", "true"},
                                  {"topic.metadata.refresh.interval.ms", "1000"}};
    kafka_consumer_opts_t copts = {.group_id = group, .props = props, .prop_cnt = 2};
    kafka_consumer_t *consumer = NULL;
    if (kafka_consumer_new(&copts, &consumer, err, sizeof(err)) != OD_OK)
        fail_msg("kafka_consumer_new: %s", err);
    const char *topics[] = {topic};
    if (kafka_consumer_subscribe(consumer, topics, 1, err, sizeof(err)) != OD_OK)
        fail_msg("subscribe to %s: %s", topic, err);
    return consumer;
}

/* The next dial job on consumer, waiting at most ms: decoded, its message
 * into *msg for the caller to store (the caller frees both, with
 * dialjob_free and kafka_message_free). NULL, *msg NULL, when none came or
 * the poll failed; fails the test on a job that does not decode. */
static inline dialjob_t *kafka_support_next_job(kafka_consumer_t *consumer, int ms,
                                                rd_kafka_message_t **msg)
{
    char err[512];
    *msg = NULL;
    if (kafka_consumer_poll(consumer, ms, msg, err, sizeof(err)) || !*msg) {
        *msg = NULL;
        return NULL;
    }
    dialjob_t *job = NULL;
    if (dialjob_decode((*msg)->payload, (*msg)->len, &job, err, sizeof(err)))
        fail_msg("undecodable dial job: %s", err);
    return job;
}

/* Reads consumer, for at most ms, until matches(msg, arg) holds for a
 * message (each one is freed here after matches has seen it); whether one
 * did. matches may fail the test (cmocka) on a message it finds wrong. */
static inline bool kafka_support_wait_for(kafka_consumer_t *consumer, int ms,
                                          bool (*matches)(const rd_kafka_message_t *msg, void *arg),
                                          void *arg)
{
    char err[512];
    int64_t deadline = harness_ms() + ms;
    bool found = false;
    while (!found && harness_ms() < deadline) {
        rd_kafka_message_t *msg = NULL;
        assert_int_equal(kafka_consumer_poll(consumer, 200, &msg, err, sizeof(err)), OD_OK);
        if (!msg)
            continue;
        found = matches(msg, arg);
        kafka_message_free(msg);
    }
    return found;
}

#endif

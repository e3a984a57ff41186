/*
 * bench_topics — creates every outdial topic under OUTDIAL_KAFKA_TOPIC_PREFIX
 * before the services of a benchmark start, so that their consumers are
 * assigned partitions at once (kafka-dev creates a topic a client asks
 * metadata for; a consumer subscribed to a missing topic would wait for its
 * next metadata refresh).
 *
 *   OUTDIAL_KAFKA_TOPIC_PREFIX=b1. outdial-bench-topics
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"
#include "topics.h"

int main(void)
{
    char err[512];
    const char *brokers = getenv("OUTDIAL_KAFKA_BROKERS");
    if (!brokers)
        bench_die("bench_topics", "OUTDIAL_KAFKA_BROKERS", "not set");
    for (int id = 0; id < TOPIC_COUNT; id++) {
        char topic[TOPIC_NAME_MAX + 1];
        if (topic_name_from_env((topic_id_t)id, topic, sizeof(topic), err, sizeof(err)))
            bench_die("bench_topics", "topic", err);
        bench_topic_create(brokers, topic);
    }
    return 0;
}

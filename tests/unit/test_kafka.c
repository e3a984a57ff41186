/* Kafka wrappers without a cluster: configuration rules and errors a user
 * can act on. (Producing and consuming: tests/integration/test_kafka.c.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "env_fixture.h"
#include "kafka.h"
#include "test_main.h"

static void test_brokers_are_required(void **state)
{
    (void)state;
    char err[256];
    kafka_producer_t *p = (kafka_producer_t *)&err; /* must be reset to NULL */
    assert_int_equal(kafka_producer_new(NULL, &p, err, sizeof(err)), OD_ERR_INVALID);
    assert_null(p);
    assert_string_equal(err, KAFKA_BROKERS_ENV ": required but not set");
    kafka_consumer_opts_t copts = {.group_id = "g"};
    kafka_consumer_t *c = NULL;
    assert_int_equal(kafka_consumer_new(&copts, &c, err, sizeof(err)), OD_ERR_INVALID);
    assert_null(c);
    assert_string_equal(err, KAFKA_BROKERS_ENV ": required but not set");
}

static void test_guarantees_cannot_be_overridden(void **state)
{
    (void)state;
    char err[256];
    setenv(KAFKA_BROKERS_ENV, "127.0.0.1:1", 1);
    /* The partitioner too: recovery computes a key's partition. */
    static const char *const producer_bad[] = {"enable.idempotence", "acks",
                                               "request.required.acks", "partitioner"};
    for (size_t i = 0; i < 4; i++) {
        kafka_prop_t prop = {producer_bad[i], "0"};
        kafka_producer_opts_t opts = {.props = &prop, .prop_cnt = 1};
        kafka_producer_t *p = NULL;
        assert_int_equal(kafka_producer_new(&opts, &p, err, sizeof(err)), OD_ERR_INVALID);
        assert_null(p);
        assert_non_null(strstr(err, "is fixed by outdial"));
    }
    static const char *const consumer_bad[] = {"enable.auto.offset.store", "group.id"};
    for (size_t i = 0; i < 2; i++) {
        kafka_prop_t prop = {consumer_bad[i], "true"};
        kafka_consumer_opts_t opts = {.group_id = "g", .props = &prop, .prop_cnt = 1};
        kafka_consumer_t *c = NULL;
        assert_int_equal(kafka_consumer_new(&opts, &c, err, sizeof(err)), OD_ERR_INVALID);
        assert_null(c);
        assert_non_null(strstr(err, "is fixed by outdial"));
    }
}

static void test_bad_property_and_missing_group(void **state)
{
    (void)state;
    char err[256];
    setenv(KAFKA_BROKERS_ENV, "127.0.0.1:1", 1);
    kafka_prop_t prop = {"no.such.property", "1"};
    kafka_producer_opts_t opts = {.props = &prop, .prop_cnt = 1};
    kafka_producer_t *p = NULL;
    assert_int_equal(kafka_producer_new(&opts, &p, err, sizeof(err)), OD_ERR_INVALID);
    assert_non_null(strstr(err, "kafka property no.such.property=1: "));

    kafka_consumer_opts_t copts = {.group_id = ""};
    kafka_consumer_t *c = NULL;
    assert_int_equal(kafka_consumer_new(&copts, &c, err, sizeof(err)), OD_ERR_INVALID);
    assert_string_equal(err, "kafka consumer: group id is required");
    assert_int_equal(kafka_consumer_new(NULL, &c, err, sizeof(err)), OD_ERR_INVALID);
}

/* Handles are created without touching the network (librdkafka connects
 * in the background), and bootstrap.servers may come from the extra
 * properties instead of the environment. */
static void test_new_and_free_without_cluster(void **state)
{
    (void)state;
    char err[256];
    kafka_prop_t props[] = {{"bootstrap.servers", "127.0.0.1:1"}, {"linger.ms", "1"}};
    kafka_producer_opts_t opts = {.client_id = "unit", .props = props, .prop_cnt = 2};
    kafka_producer_t *p = NULL;
    assert_int_equal(kafka_producer_new(&opts, &p, err, sizeof(err)), OD_OK);
    uint64_t delivered = 1, failed = 1;
    kafka_producer_counts(p, &delivered, &failed);
    assert_int_equal(delivered, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(kafka_producer_flush(p, 100, err, sizeof(err)), OD_OK); /* nothing queued */
    kafka_producer_free(p);
    kafka_producer_free(NULL);

    kafka_consumer_opts_t copts = {.group_id = "unit", .props = props, .prop_cnt = 1};
    kafka_consumer_t *c = NULL;
    assert_int_equal(kafka_consumer_new(&copts, &c, err, sizeof(err)), OD_OK);
    assert_int_equal(kafka_consumer_assigned(c), 0);
    assert_int_equal(kafka_consumer_subscribe(c, NULL, 0, err, sizeof(err)), OD_ERR_INVALID);
    kafka_consumer_free(c); /* closes: nothing to commit, no group joined */
    kafka_consumer_free(NULL);
    kafka_message_free(NULL);
}

OD_TEST_MAIN_EACH(NULL, NULL, env_fixture_clear, NULL, test_brokers_are_required,
                  test_guarantees_cannot_be_overridden, test_bad_property_and_missing_group,
                  test_new_and_free_without_cluster)

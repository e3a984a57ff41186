/* Topics: the list of docs/architecture.md §2, names built from the prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "env_fixture.h"
#include "test_main.h"
#include "topics.h"

static void test_every_topic_has_default_name_and_partitions(void **state)
{
    (void)state;
    static const struct {
        topic_id_t id;
        const char *name;
        int partitions;
    } cases[] = {
        {TOPIC_DIAL_JOBS, "outdial.dial-jobs", 12},
        {TOPIC_CALL_EVENTS, "outdial.call-events", 12},
        {TOPIC_LEADS_IN, "outdial.leads-in", 6},
        {TOPIC_LEADS_IN_REJECTED, "outdial.leads-in.rejected", 3},
        {TOPIC_IMPORT_REQUESTS, "outdial.import-requests", 3},
        {TOPIC_CAMPAIGN_EVENTS, "outdial.campaign-events", 3},
        {TOPIC_CALL_EVENTS_DEAD_LETTER, "outdial.call-events.dead-letter", 3},
    };
    assert_int_equal(sizeof(cases) / sizeof(cases[0]), TOPIC_COUNT);
    char err[256];
    for (size_t i = 0; i < TOPIC_COUNT; i++) {
        char name[TOPIC_NAME_MAX + 1];
        assert_int_equal(topic_name_from_env(cases[i].id, name, sizeof(name), err, sizeof(err)),
                         OD_OK);
        assert_string_equal(name, cases[i].name);
        const topic_def_t *def = topic_def_get(cases[i].id);
        assert_non_null(def);
        assert_int_equal(def->id, cases[i].id);
        assert_int_equal(def->partitions, cases[i].partitions);
        assert_ptr_equal(topic_def_find(def->suffix), def);
    }
}

static void test_prefix_from_env(void **state)
{
    (void)state;
    char err[256];
    char name[TOPIC_NAME_MAX + 1];
    setenv(TOPIC_PREFIX_ENV, "staging-eu_1.", 1);
    assert_int_equal(topic_name_from_env(TOPIC_DIAL_JOBS, name, sizeof(name), err, sizeof(err)),
                     OD_OK);
    assert_string_equal(name, "staging-eu_1.dial-jobs");
    setenv(TOPIC_PREFIX_ENV, "", 1); /* empty counts as unset */
    const char *prefix = NULL;
    assert_int_equal(topic_prefix_from_env(&prefix, err, sizeof(err)), OD_OK);
    assert_string_equal(prefix, "outdial.");
    /* An explicit empty prefix is allowed through the API. */
    assert_int_equal(
        topic_name_build("", TOPIC_CAMPAIGN_EVENTS, name, sizeof(name), err, sizeof(err)), OD_OK);
    assert_string_equal(name, "campaign-events");
}

static void test_bad_prefix_is_an_error_naming_the_variable(void **state)
{
    (void)state;
    char err[256];
    char name[TOPIC_NAME_MAX + 1];
    static const char *const bad[] = {"out dial.", "outdial/", "outdial:", "ü."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv(TOPIC_PREFIX_ENV, bad[i], 1);
        assert_int_equal(topic_name_from_env(TOPIC_DIAL_JOBS, name, sizeof(name), err, sizeof(err)),
                         OD_ERR_INVALID);
        assert_non_null(strstr(err, TOPIC_PREFIX_ENV ": topic prefix"));
        assert_non_null(strstr(err, "is not allowed"));
    }
    /* Longest allowed prefix: 249 - strlen("call-events.dead-letter"). */
    char prefix[300];
    size_t room = TOPIC_NAME_MAX - strlen("call-events.dead-letter");
    memset(prefix, 'p', room);
    prefix[room] = '\0';
    assert_int_equal(topic_prefix_check(prefix, err, sizeof(err)), OD_OK);
    assert_int_equal(topic_name_build(prefix, TOPIC_CALL_EVENTS_DEAD_LETTER, name, sizeof(name),
                                      err, sizeof(err)),
                     OD_OK);
    assert_int_equal(strlen(name), TOPIC_NAME_MAX);
    prefix[room] = 'p';
    prefix[room + 1] = '\0';
    assert_int_equal(topic_prefix_check(prefix, err, sizeof(err)), OD_ERR_INVALID);
    assert_non_null(strstr(err, "at most 226"));
}

static void test_small_buffer_and_bad_id(void **state)
{
    (void)state;
    char err[256];
    char name[10];
    assert_int_equal(
        topic_name_build("outdial.", TOPIC_DIAL_JOBS, name, sizeof(name), err, sizeof(err)),
        OD_ERR_TRUNCATED);
    assert_string_equal(err, "topic name outdial.dial-jobs needs 18 bytes, buffer has 10");
    assert_int_equal(
        topic_name_build("outdial.", TOPIC_COUNT, name, sizeof(name), err, sizeof(err)),
        OD_ERR_INVALID);
    assert_null(topic_def_get(TOPIC_COUNT));
    assert_null(topic_def_get((topic_id_t)-1));
    assert_null(topic_def_find("dial_jobs"));
    assert_null(topic_def_find(NULL));
}

OD_TEST_MAIN_EACH(NULL, NULL, env_fixture_clear, NULL,
                  test_every_topic_has_default_name_and_partitions, test_prefix_from_env,
                  test_bad_prefix_is_an_error_naming_the_variable, test_small_buffer_and_bad_id)

/* Config: defaults, parsing and an error naming the variable for every kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "env_fixture.h"
#include "test_main.h"

#define VAR "OUTDIAL_TEST_SETTING"

static void test_defaults_when_unset_or_empty(void **state)
{
    (void)state;
    char err[256];
    int64_t i = 0;
    double d = 0;
    bool b = false;
    int e = -1;
    static const char *const modes[] = {"assistant", "lead", NULL};
    for (int round = 0; round < 2; round++) {
        if (round == 1)
            setenv(VAR, "", 1); /* empty counts as unset */
        assert_string_equal(config_get_str(VAR, "dflt"), "dflt");
        assert_null(config_get_str(VAR, NULL));
        assert_int_equal(config_get_int(VAR, 42, 1, 100, &i, err, sizeof(err)), OD_OK);
        assert_int_equal(i, 42);
        assert_int_equal(config_get_double(VAR, 0.5, 0, 1, &d, err, sizeof(err)), OD_OK);
        assert_true(d == 0.5);
        assert_int_equal(config_get_bool(VAR, true, &b, err, sizeof(err)), OD_OK);
        assert_true(b);
        assert_int_equal(config_get_enum(VAR, 1, modes, &e, err, sizeof(err)), OD_OK);
        assert_int_equal(e, 1);
        const char *s = NULL;
        assert_int_equal(config_get_required(VAR, &s, err, sizeof(err)), OD_ERR_INVALID);
        assert_string_equal(err, VAR ": required but not set");
    }
}

static void test_values_parse(void **state)
{
    (void)state;
    char err[256];
    int64_t i = 0;
    setenv(VAR, "-17", 1);
    assert_int_equal(config_get_int(VAR, 0, -20, 20, &i, err, sizeof(err)), OD_OK);
    assert_int_equal(i, -17);
    double d = 0;
    setenv(VAR, "2.5", 1);
    assert_int_equal(config_get_double(VAR, 0, 0, 10, &d, err, sizeof(err)), OD_OK);
    assert_true(d == 2.5);
    bool b = true;
    const char *falsy[] = {"0", "false", "NO", "Off"};
    for (size_t k = 0; k < 4; k++) {
        setenv(VAR, falsy[k], 1);
        assert_int_equal(config_get_bool(VAR, true, &b, err, sizeof(err)), OD_OK);
        assert_false(b);
    }
    setenv(VAR, "Yes", 1);
    assert_int_equal(config_get_bool(VAR, false, &b, err, sizeof(err)), OD_OK);
    assert_true(b);
    static const char *const modes[] = {"assistant", "lead", NULL};
    int e = 0;
    setenv(VAR, "lead", 1);
    assert_int_equal(config_get_enum(VAR, 0, modes, &e, err, sizeof(err)), OD_OK);
    assert_int_equal(e, 1);
    const char *s = NULL;
    assert_int_equal(config_get_required(VAR, &s, err, sizeof(err)), OD_OK);
    assert_string_equal(s, "lead");
}

/* VAR set to value is refused by each getter, which leaves its output as
 * it was (not even the default, 0 or false, is written); each returns the
 * message (a static buffer). */
static char refusal[256];

static const char *int_refusal(const char *value, int64_t min, int64_t max)
{
    int64_t i = 7;
    setenv(VAR, value, 1);
    assert_int_equal(config_get_int(VAR, 0, min, max, &i, refusal, sizeof(refusal)),
                     OD_ERR_INVALID);
    assert_int_equal(i, 7);
    return refusal;
}

static const char *double_refusal(const char *value, double min, double max)
{
    double d = 7;
    setenv(VAR, value, 1);
    assert_int_equal(config_get_double(VAR, 0, min, max, &d, refusal, sizeof(refusal)),
                     OD_ERR_INVALID);
    assert_true(d == 7);
    return refusal;
}

static const char *bool_refusal(const char *value)
{
    bool b = true;
    setenv(VAR, value, 1);
    assert_int_equal(config_get_bool(VAR, false, &b, refusal, sizeof(refusal)), OD_ERR_INVALID);
    assert_true(b);
    return refusal;
}

static const char *enum_refusal(const char *value, const char *const *allowed)
{
    int e = 1;
    setenv(VAR, value, 1);
    assert_int_equal(config_get_enum(VAR, 0, allowed, &e, refusal, sizeof(refusal)),
                     OD_ERR_INVALID);
    assert_int_equal(e, 1);
    return refusal;
}

/* Every error names the variable, the value and the allowed range. */
static void test_errors(void **state)
{
    (void)state;
    static const char *const modes[] = {"assistant", "lead", NULL};
    assert_string_equal(int_refusal("12x", 1, 100),
                        VAR ": '12x' is not an integer (allowed: 1..100)");
    assert_string_equal(int_refusal("101", 1, 100), VAR ": 101 is out of range (allowed: 1..100)");
    assert_non_null(strstr(int_refusal("99999999999999999999999", 1, 100), "is not an integer"));
    assert_string_equal(double_refusal("0.0001", 0.001, 5),
                        VAR ": 0.0001 is out of range (allowed: 0.001..5)");
    assert_string_equal(double_refusal("nan", 0, 5), VAR ": 'nan' is not a number (allowed: 0..5)");
    assert_string_equal(bool_refusal("maybe"), VAR
                        ": 'maybe' is not a boolean (allowed: true/false, 1/0, yes/no, on/off)");
    assert_string_equal(enum_refusal("callee", modes),
                        VAR ": 'callee' is not allowed (allowed: assistant, lead)");
}

OD_TEST_MAIN_EACH(NULL, NULL, env_fixture_clear, NULL, test_defaults_when_unset_or_empty,
                  test_values_parse, test_errors)

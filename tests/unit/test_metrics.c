/* Metrics: the exact exposition text, labels and escaping, registration
 * rules, and concurrent updates that add up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "metrics.h"
#include "test_main.h"

static void assert_render(metrics_registry_t *reg, const char *want)
{
    size_t len = 0;
    char *text = metrics_registry_render(reg, &len);
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));
    free(text);
}

/* Each test gets a new registry in *state, freed after it whatever the
 * test's outcome. */
static int registry_new(void **state)
{
    *state = metrics_registry_new();
    return 0;
}

static int registry_free(void **state)
{
    metrics_registry_free(*state);
    return 0;
}

static void test_empty_registry(void **state)
{
    metrics_registry_t *reg = *state;
    assert_render(reg, "");
    metrics_registry_free(NULL);
}

static void test_counter_and_gauge(void **state)
{
    char err[256];
    metrics_registry_t *reg = *state;
    metrics_counter_t *placed = NULL;
    metrics_gauge_t *inflight = NULL;
    assert_int_equal(metrics_counter_register(reg, "outdial_calls_placed_total",
                                              "Calls handed to the provider.", &placed, err,
                                              sizeof(err)),
                     OD_OK);
    assert_int_equal(metrics_gauge_register(reg, "outdial_calls_in_flight", "Calls under way.",
                                            &inflight, err, sizeof(err)),
                     OD_OK);
    assert_render(reg, "# HELP outdial_calls_placed_total Calls handed to the provider.\n"
                       "# TYPE outdial_calls_placed_total counter\n"
                       "outdial_calls_placed_total 0\n"
                       "# HELP outdial_calls_in_flight Calls under way.\n"
                       "# TYPE outdial_calls_in_flight gauge\n"
                       "outdial_calls_in_flight 0\n");

    metrics_counter_add(placed, 3);
    metrics_counter_add(placed, 1);
    metrics_gauge_set(inflight, 7);
    metrics_gauge_add(inflight, -2.5);
    assert_int_equal(metrics_counter_value(placed), 4);
    assert_true(metrics_gauge_value(inflight) == 4.5);
    assert_render(reg, "# HELP outdial_calls_placed_total Calls handed to the provider.\n"
                       "# TYPE outdial_calls_placed_total counter\n"
                       "outdial_calls_placed_total 4\n"
                       "# HELP outdial_calls_in_flight Calls under way.\n"
                       "# TYPE outdial_calls_in_flight gauge\n"
                       "outdial_calls_in_flight 4.5\n");

    /* Shortest round-trip formatting and the special values. */
    metrics_gauge_set(inflight, 0.1);
    metrics_gauge_add(inflight, 0.2);
    char *text = metrics_registry_render(reg, NULL);
    assert_non_null(strstr(text, "outdial_calls_in_flight 0.30000000000000004\n"));
    free(text);
    metrics_gauge_set(inflight, 1.0 / 0.0);
    text = metrics_registry_render(reg, NULL);
    assert_non_null(strstr(text, "outdial_calls_in_flight +Inf\n"));
    free(text);
    metrics_gauge_set(inflight, -1e21);
    text = metrics_registry_render(reg, NULL);
    assert_non_null(strstr(text, "outdial_calls_in_flight -1e+21\n"));
    free(text);
}

static void test_histogram(void **state)
{
    char err[256];
    metrics_registry_t *reg = *state;
    static const double bounds[] = {0.1, 0.5, 2};
    metrics_histogram_t *h = NULL;
    assert_int_equal(metrics_histogram_register(reg, "outdial_setup_seconds", "Call setup time.",
                                                bounds, 3, &h, err, sizeof(err)),
                     OD_OK);
    assert_render(reg, "# HELP outdial_setup_seconds Call setup time.\n"
                       "# TYPE outdial_setup_seconds histogram\n"
                       "outdial_setup_seconds_bucket{le=\"0.1\"} 0\n"
                       "outdial_setup_seconds_bucket{le=\"0.5\"} 0\n"
                       "outdial_setup_seconds_bucket{le=\"2\"} 0\n"
                       "outdial_setup_seconds_bucket{le=\"+Inf\"} 0\n"
                       "outdial_setup_seconds_sum 0\n"
                       "outdial_setup_seconds_count 0\n");
    /* A value equal to a bound falls in that bound's bucket (le = <=). */
    metrics_histogram_observe(h, 0.05);
    metrics_histogram_observe(h, 0.1);
    metrics_histogram_observe(h, 0.25);
    metrics_histogram_observe(h, 3);
    metrics_histogram_observe(h, 100);
    metrics_histogram_observe(h, 0.0 / 0.0); /* NaN is ignored */
    assert_render(reg, "# HELP outdial_setup_seconds Call setup time.\n"
                       "# TYPE outdial_setup_seconds histogram\n"
                       "outdial_setup_seconds_bucket{le=\"0.1\"} 2\n"
                       "outdial_setup_seconds_bucket{le=\"0.5\"} 3\n"
                       "outdial_setup_seconds_bucket{le=\"2\"} 3\n"
                       "outdial_setup_seconds_bucket{le=\"+Inf\"} 5\n"
                       "outdial_setup_seconds_sum 103.4\n"
                       "outdial_setup_seconds_count 5\n");
}

static void test_labels_and_escaping(void **state)
{
    char err[256];
    metrics_registry_t *reg = *state;
    static const char *const labels[] = {"status", "provider", NULL};
    metrics_family_t *fam = NULL;
    assert_int_equal(metrics_family_register(reg, METRICS_COUNTER, "outdial_call_results_total",
                                             "Results by status.\nBack\\slash \"quoted\".", labels,
                                             NULL, 0, &fam, err, sizeof(err)),
                     OD_OK);
    /* A labelled family without series shows only its HELP and TYPE. */
    assert_render(
        reg, "# HELP outdial_call_results_total Results by status.\\nBack\\\\slash \"quoted\".\n"
             "# TYPE outdial_call_results_total counter\n");

    static const char *const busy[] = {"busy", "vapi", NULL};
    static const char *const odd[] = {"a\"b\\c\nd", "vapi", NULL};
    metrics_counter_t *c_busy = NULL, *c_busy2 = NULL, *c_odd = NULL;
    assert_int_equal(metrics_counter_with(fam, busy, &c_busy, err, sizeof(err)), OD_OK);
    assert_int_equal(metrics_counter_with(fam, odd, &c_odd, err, sizeof(err)), OD_OK);
    assert_int_equal(metrics_counter_with(fam, busy, &c_busy2, err, sizeof(err)), OD_OK);
    assert_ptr_equal(c_busy, c_busy2); /* same labels, same series */
    metrics_counter_add(c_busy, 2);
    metrics_counter_add(c_odd, 1);

    static const char *const hlabels[] = {"route", NULL};
    static const double bounds[] = {1};
    metrics_family_t *hfam = NULL;
    assert_int_equal(metrics_family_register(reg, METRICS_HISTOGRAM, "outdial_req_seconds",
                                             "Request time.", hlabels, bounds, 1, &hfam, err,
                                             sizeof(err)),
                     OD_OK);
    static const char *const route[] = {"/v1/campaigns", NULL};
    metrics_histogram_t *h = NULL;
    assert_int_equal(metrics_histogram_with(hfam, route, &h, err, sizeof(err)), OD_OK);
    metrics_histogram_observe(h, 0.5);

    assert_render(
        reg, "# HELP outdial_call_results_total Results by status.\\nBack\\\\slash \"quoted\".\n"
             "# TYPE outdial_call_results_total counter\n"
             "outdial_call_results_total{status=\"busy\",provider=\"vapi\"} 2\n"
             "outdial_call_results_total{status=\"a\\\"b\\\\c\\nd\",provider=\"vapi\"} 1\n"
             "# HELP outdial_req_seconds Request time.\n"
             "# TYPE outdial_req_seconds histogram\n"
             "outdial_req_seconds_bucket{route=\"/v1/campaigns\",le=\"1\"} 1\n"
             "outdial_req_seconds_bucket{route=\"/v1/campaigns\",le=\"+Inf\"} 1\n"
             "outdial_req_seconds_sum{route=\"/v1/campaigns\"} 0.5\n"
             "outdial_req_seconds_count{route=\"/v1/campaigns\"} 1\n");

    /* Wrong number of label values, wrong type. */
    static const char *const one[] = {"busy", NULL};
    metrics_counter_t *c = NULL;
    assert_int_equal(metrics_counter_with(fam, one, &c, err, sizeof(err)), OD_ERR_INVALID);
    assert_string_equal(err, "metrics: outdial_call_results_total: 1 label values given for 2 "
                             "labels");
    assert_int_equal(metrics_counter_with(fam, NULL, &c, err, sizeof(err)), OD_ERR_INVALID);
    metrics_gauge_t *g = NULL;
    assert_int_equal(metrics_gauge_with(fam, busy, &g, err, sizeof(err)), OD_ERR_INVALID);
    assert_string_equal(err, "metrics: outdial_call_results_total is a counter, not a gauge");
    assert_null(c);
    assert_null(g);
}

static void test_registration_rules(void **state)
{
    char err[256];
    metrics_registry_t *reg = *state;
    metrics_family_t *fam = NULL, *again = NULL;
    static const char *const labels[] = {"code", NULL};
    static const char *const other_labels[] = {"method", NULL};
    assert_int_equal(metrics_family_register(reg, METRICS_COUNTER, "http_total", "x", labels, NULL,
                                             0, &fam, err, sizeof(err)),
                     OD_OK);
    /* The same definition again is the same family; another is a conflict. */
    assert_int_equal(metrics_family_register(reg, METRICS_COUNTER, "http_total", "x", labels, NULL,
                                             0, &again, err, sizeof(err)),
                     OD_OK);
    assert_ptr_equal(fam, again);
    assert_int_equal(metrics_family_register(reg, METRICS_GAUGE, "http_total", "x", labels, NULL, 0,
                                             &again, err, sizeof(err)),
                     OD_ERR_CONFLICT);
    assert_int_equal(metrics_family_register(reg, METRICS_COUNTER, "http_total", "x", other_labels,
                                             NULL, 0, &again, err, sizeof(err)),
                     OD_ERR_CONFLICT);

    static const struct {
        metrics_type_t type;
        const char *name;
        const char *label;
        size_t nbounds;
        const char *want;
    } bad[] = {
        {METRICS_COUNTER, "9lives", NULL, 0, "metrics: '9lives' is not a valid metric name"},
        {METRICS_COUNTER, "a-b", NULL, 0, "metrics: 'a-b' is not a valid metric name"},
        {METRICS_COUNTER, "", NULL, 0, "metrics: '' is not a valid metric name"},
        {METRICS_COUNTER, "ok", "__x", 0, "metrics: ok: '__x' is not a valid label name"},
        {METRICS_COUNTER, "ok", "a:b", 0, "metrics: ok: 'a:b' is not a valid label name"},
        {METRICS_HISTOGRAM, "h", "le", 1, "metrics: h: a histogram cannot have a label named 'le'"},
        {METRICS_HISTOGRAM, "h", NULL, 0, "metrics: h: a histogram needs 1..32 bucket bounds"},
        {METRICS_GAUGE, "g", NULL, 1, "metrics: g: only a histogram has bucket bounds"},
    };
    static const double one_bound[] = {1};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *label_names[] = {bad[i].label, NULL};
        assert_int_equal(metrics_family_register(reg, bad[i].type, bad[i].name, "x",
                                                 bad[i].label ? label_names : NULL,
                                                 bad[i].nbounds ? one_bound : NULL, bad[i].nbounds,
                                                 &again, err, sizeof(err)),
                         OD_ERR_INVALID);
        assert_string_equal(err, bad[i].want);
    }
    static const double unordered[] = {1, 1};
    metrics_histogram_t *h = NULL;
    assert_int_equal(metrics_histogram_register(reg, "h2", "x", unordered, 2, &h, err, sizeof(err)),
                     OD_ERR_INVALID);
    static const char *const dup[] = {"a", "a", NULL};
    assert_int_equal(metrics_family_register(reg, METRICS_COUNTER, "d", "x", dup, NULL, 0, &again,
                                             err, sizeof(err)),
                     OD_ERR_INVALID);
    assert_string_equal(err, "metrics: d: label 'a' appears twice");

    /* The series bound. */
    char value[32];
    const char *values[] = {value, NULL};
    metrics_counter_t *c = NULL;
    for (int i = 0; i < METRICS_SERIES_MAX; i++) {
        snprintf(value, sizeof(value), "%d", i);
        assert_int_equal(metrics_counter_with(fam, values, &c, err, sizeof(err)), OD_OK);
    }
    snprintf(value, sizeof(value), "one-too-many");
    assert_int_equal(metrics_counter_with(fam, values, &c, err, sizeof(err)), OD_ERR_CONFLICT);
    snprintf(value, sizeof(value), "7"); /* existing ones still resolve */
    assert_int_equal(metrics_counter_with(fam, values, &c, err, sizeof(err)), OD_OK);
}

#define THREADS 8
#define ROUNDS  20000

typedef struct worker_arg {
    metrics_family_t *fam;
    metrics_gauge_t *gauge;
    metrics_histogram_t *hist;
} worker_arg_t;

/* Each thread looks its series up itself (lookup races creation) and then
 * updates every kind of metric. */
static void *worker(void *p)
{
    worker_arg_t *arg = p;
    char err[256];
    static const char *const values[] = {"shared", NULL};
    metrics_counter_t *c = NULL;
    if (metrics_counter_with(arg->fam, values, &c, err, sizeof(err)) != OD_OK)
        return NULL;
    for (int i = 0; i < ROUNDS; i++) {
        metrics_counter_add(c, 1);
        metrics_gauge_add(arg->gauge, 0.5);
        metrics_histogram_observe(arg->hist, (i % 2) ? 0.25 : 4);
    }
    return c;
}

static void test_concurrent_updates_add_up(void **state)
{
    char err[256];
    metrics_registry_t *reg = *state;
    static const char *const labels[] = {"kind", NULL};
    static const double bounds[] = {1};
    worker_arg_t arg = {0};
    assert_int_equal(metrics_family_register(reg, METRICS_COUNTER, "c_total", "c", labels, NULL, 0,
                                             &arg.fam, err, sizeof(err)),
                     OD_OK);
    assert_int_equal(metrics_gauge_register(reg, "g", "g", &arg.gauge, err, sizeof(err)), OD_OK);
    assert_int_equal(
        metrics_histogram_register(reg, "h", "h", bounds, 1, &arg.hist, err, sizeof(err)), OD_OK);

    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, worker, &arg), 0);
    /* Render while they run: it must not crash or tear a line. */
    for (int i = 0; i < 20; i++)
        free(metrics_registry_render(reg, NULL));
    void *series[THREADS];
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], &series[i]), 0);
        assert_non_null(series[i]);
        assert_ptr_equal(series[i], series[0]);
    }
    assert_int_equal(metrics_counter_value(series[0]), THREADS * ROUNDS);
    assert_true(metrics_gauge_value(arg.gauge) == THREADS * ROUNDS * 0.5);
    char *text = metrics_registry_render(reg, NULL);
    assert_non_null(strstr(text, "c_total{kind=\"shared\"} 160000\n"));
    assert_non_null(strstr(text, "g 80000\n"));
    assert_non_null(strstr(text, "h_bucket{le=\"1\"} 80000\n"
                                 "h_bucket{le=\"+Inf\"} 160000\n"
                                 "h_sum 340000\n"
                                 "h_count 160000\n"));
    free(text);
}

OD_TEST_MAIN_EACH(NULL, NULL, registry_new, registry_free, test_empty_registry,
                  test_counter_and_gauge, test_histogram, test_labels_and_escaping,
                  test_registration_rules, test_concurrent_updates_add_up)

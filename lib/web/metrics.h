/*
 * metrics.h — a Prometheus metrics registry: counters, gauges and
 * histograms, optionally labelled, rendered in the text exposition format
 * (version 0.0.4) that /metrics serves.
 *
 * A registry holds families (one metric name each, with HELP, TYPE and a
 * fixed list of label names). A family holds series, one per combination of
 * label values, created on first use and kept until the registry is freed,
 * so the pointer a caller gets back is stable: look it up once, then update
 * it on the hot path without any lookup.
 *
 * Thread safety: updates (add, set, observe) are lock-free C11 atomics and
 * may run on any thread. Registration, series lookup and rendering take the
 * registry's mutex, so they may also run concurrently with everything else.
 *
 *   metrics_registry_t *reg = metrics_registry_new();
 *   metrics_counter_t *placed;
 *   rc = metrics_counter_register(reg, "outdial_calls_placed_total",
 *                                 "Calls handed to the provider.", &placed, err, sizeof(err));
 *   metrics_counter_add(placed, 1);
 *
 *   metrics_family_t *results;
 *   static const char *const labels[] = {"status", NULL};
 *   rc = metrics_family_register(reg, METRICS_COUNTER, "outdial_call_results_total",
 *                                "Call results by status.", labels, NULL, 0, &results, ...);
 *   static const char *const busy[] = {"busy", NULL};
 *   metrics_counter_t *busy_total;
 *   rc = metrics_counter_with(results, busy, &busy_total, err, sizeof(err));
 */
#ifndef OUTDIAL_METRICS_H
#define OUTDIAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* How many label names a family may have. */
#define METRICS_LABELS_MAX 8
/* How many series (label value combinations) one family may hold. Label
 * values sometimes come from outside (a status string from a provider);
 * this bound keeps a misbehaving source from growing memory and /metrics
 * without limit. Past it, lookups fail with OD_ERR_CONFLICT. */
#define METRICS_SERIES_MAX 2000
/* How many bucket bounds a histogram may have (+Inf is implicit). */
#define METRICS_BUCKETS_MAX 32

typedef enum metrics_type {
    METRICS_COUNTER = 0,
    METRICS_GAUGE = 1,
    METRICS_HISTOGRAM = 2,
} metrics_type_t;

typedef struct metrics_registry metrics_registry_t;
typedef struct metrics_family metrics_family_t;
typedef struct metrics_counter metrics_counter_t;
typedef struct metrics_gauge metrics_gauge_t;
typedef struct metrics_histogram metrics_histogram_t;

/* Bucket bounds in seconds for request and call-setup latencies:
 * 5 ms .. 10 s, METRICS_LATENCY_BUCKETS_N of them. */
extern const double metrics_latency_buckets[];
#define METRICS_LATENCY_BUCKETS_N 12

/* A new, empty registry. Free with metrics_registry_free(). */
metrics_registry_t *metrics_registry_new(void);

/* Frees the registry with every family and series in it; every pointer it
 * handed out becomes invalid. NULL is a no-op. No other thread may use the
 * registry or its series any more. */
void metrics_registry_free(metrics_registry_t *reg);

/*
 * Registers a family. name must match [a-zA-Z_:][a-zA-Z0-9_:]*; label_names
 * is a NULL-terminated array of names matching [a-zA-Z_][a-zA-Z0-9_]* (not
 * starting with "__", no duplicates, no "le" for histograms), or NULL for
 * none. For METRICS_HISTOGRAM, bounds holds nbounds strictly increasing
 * finite upper bounds (1..METRICS_BUCKETS_MAX); otherwise bounds is NULL and
 * nbounds 0. Strings are copied.
 *
 * Registering a name again with the same type, label names and bounds
 * returns the existing family (two modules may share a metric); a different
 * definition is OD_ERR_CONFLICT. Bad names are OD_ERR_INVALID.
 * The family is owned by the registry.
 */
int metrics_family_register(metrics_registry_t *reg, metrics_type_t type, const char *name,
                            const char *help, const char *const *label_names, const double *bounds,
                            size_t nbounds, metrics_family_t **out, char *errbuf,
                            size_t errlen) OD_WUR;

/*
 * The series of a family for the given label values (NULL-terminated, one
 * per label name, in the same order; NULL for a family without labels),
 * created at zero on first use. The family's type must match the function
 * (else OD_ERR_INVALID). OD_ERR_CONFLICT when the family already holds
 * METRICS_SERIES_MAX series. The series is owned by the registry and stays
 * valid until metrics_registry_free().
 */
int metrics_counter_with(metrics_family_t *fam, const char *const *label_values,
                         metrics_counter_t **out, char *errbuf, size_t errlen) OD_WUR;
int metrics_gauge_with(metrics_family_t *fam, const char *const *label_values,
                       metrics_gauge_t **out, char *errbuf, size_t errlen) OD_WUR;
int metrics_histogram_with(metrics_family_t *fam, const char *const *label_values,
                           metrics_histogram_t **out, char *errbuf, size_t errlen) OD_WUR;

/* Shortcuts for a family without labels: register it and return its one
 * series (owned by the registry). */
int metrics_counter_register(metrics_registry_t *reg, const char *name, const char *help,
                             metrics_counter_t **out, char *errbuf, size_t errlen) OD_WUR;
int metrics_gauge_register(metrics_registry_t *reg, const char *name, const char *help,
                           metrics_gauge_t **out, char *errbuf, size_t errlen) OD_WUR;
int metrics_histogram_register(metrics_registry_t *reg, const char *name, const char *help,
                               const double *bounds, size_t nbounds, metrics_histogram_t **out,
                               char *errbuf, size_t errlen) OD_WUR;

/* One family without labels, for a table that metrics_register_all()
 * registers in order, so that a service's metrics read as a list:
 *   {"outdial_x_total", "Help.", .counter = &m->x}
 * Exactly one of the three out pointers is set; it says the type. */
typedef struct metrics_def {
    const char *name;
    const char *help;
    metrics_counter_t **counter;
    metrics_gauge_t **gauge;
    metrics_histogram_t **histogram; /* of metrics_latency_buckets */
} metrics_def_t;

/* Registers the n families of defs in order, each with its one series into
 * its out; stops at the first error. */
int metrics_register_all(metrics_registry_t *reg, const metrics_def_t *defs, size_t n, char *errbuf,
                         size_t errlen) OD_WUR;

/* Registers the counter family name with the one label label, and makes
 * the counter of each of the n values into out[i]. */
int metrics_counter_family(metrics_registry_t *reg, const char *name, const char *help,
                           const char *label, const char *const *values, size_t n,
                           metrics_counter_t **out, char *errbuf, size_t errlen) OD_WUR;

/* Updates; lock-free, any thread. */
void metrics_counter_add(metrics_counter_t *c, uint64_t n);
uint64_t metrics_counter_value(const metrics_counter_t *c);
void metrics_gauge_set(metrics_gauge_t *g, double v);
void metrics_gauge_add(metrics_gauge_t *g, double delta);
double metrics_gauge_value(const metrics_gauge_t *g);
/* Counts v in the first bucket whose bound is >= v (and in +Inf), adds it to
 * the sum. NaN is ignored. */
void metrics_histogram_observe(metrics_histogram_t *h, double v);

/*
 * The whole registry in the Prometheus text format: families in the order
 * they were registered, series in the order they were created, each family
 * with "# HELP" and "# TYPE" lines, histograms as cumulative
 * name_bucket{...,le="..."} lines ending in le="+Inf", then name_sum and
 * name_count. HELP text escapes \ and newline; label values escape \, " and
 * newline. Returns a NUL-terminated string the caller frees; *len_out (if
 * not NULL) gets its length.
 */
char *metrics_registry_render(metrics_registry_t *reg, size_t *len_out);

#endif

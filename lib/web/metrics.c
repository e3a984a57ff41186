#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

const double metrics_latency_buckets[METRICS_LATENCY_BUCKETS_N] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 10,
};

/* Doubles live in 64-bit atomics as their bit pattern, so that gauges and
 * histogram sums stay lock-free (C11 has no portable atomic double add). */
struct metrics_counter {
    _Atomic uint64_t value;
};

struct metrics_gauge {
    _Atomic uint64_t bits;
};

struct metrics_histogram {
    const metrics_family_t *fam;
    /* Per-bucket (not cumulative) counts; index nbounds is the +Inf bucket.
     * The render cumulates them, and derives _count from them so that
     * _count always equals the +Inf bucket. */
    _Atomic uint64_t counts[METRICS_BUCKETS_MAX + 1];
    _Atomic uint64_t sum_bits;
};

typedef struct metrics_series {
    struct metrics_series *next;
    char *label_values[METRICS_LABELS_MAX];
    union {
        metrics_counter_t counter;
        metrics_gauge_t gauge;
        metrics_histogram_t histogram;
    } u;
} metrics_series_t;

struct metrics_family {
    metrics_family_t *next;
    metrics_registry_t *reg;
    metrics_type_t type;
    char *name;
    char *help;
    char *label_names[METRICS_LABELS_MAX];
    size_t nlabels;
    double bounds[METRICS_BUCKETS_MAX];
    size_t nbounds;
    metrics_series_t *series_head;
    metrics_series_t **series_tail;
    size_t nseries;
};

struct metrics_registry {
    pthread_mutex_t lock;
    metrics_family_t *head;
    metrics_family_t **tail;
};

static uint64_t double_bits(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits;
}

static double bits_double(uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

static void atomic_double_add(_Atomic uint64_t *bits, double delta)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    uint64_t want;
    do {
        want = double_bits(bits_double(old) + delta);
    } while (!atomic_compare_exchange_weak_explicit(bits, &old, want, memory_order_relaxed,
                                                    memory_order_relaxed));
}

metrics_registry_t *metrics_registry_new(void)
{
    metrics_registry_t *reg = xcalloc(1, sizeof(*reg));
    pthread_mutex_init(&reg->lock, NULL);
    reg->tail = &reg->head;
    return reg;
}

static void family_free(metrics_family_t *fam)
{
    metrics_series_t *s = fam->series_head;
    while (s) {
        metrics_series_t *next = s->next;
        for (size_t i = 0; i < fam->nlabels; i++)
            free(s->label_values[i]);
        free(s);
        s = next;
    }
    for (size_t i = 0; i < fam->nlabels; i++)
        free(fam->label_names[i]);
    free(fam->name);
    free(fam->help);
    free(fam);
}

void metrics_registry_free(metrics_registry_t *reg)
{
    if (!reg)
        return;
    metrics_family_t *fam = reg->head;
    while (fam) {
        metrics_family_t *next = fam->next;
        family_free(fam);
        fam = next;
    }
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

static bool name_valid(const char *name, bool colon_ok)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alpha =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
        bool digit = c >= '0' && c <= '9';
        if (!alpha && !(digit && p != name))
            return false;
    }
    return true;
}

static const char *type_name(metrics_type_t type)
{
    static const char *const names[] = {
        [METRICS_COUNTER] = "counter",
        [METRICS_GAUGE] = "gauge",
        [METRICS_HISTOGRAM] = "histogram",
    };
    return OD_ENUM_NAME(names, type, "untyped");
}

static int family_check(metrics_type_t type, const char *name, const char *const *label_names,
                        const double *bounds, size_t nbounds, size_t *nlabels_out, char *errbuf,
                        size_t errlen)
{
    if (type != METRICS_COUNTER && type != METRICS_GAUGE && type != METRICS_HISTOGRAM)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "metrics: unknown type %d", (int)type);
    if (!name_valid(name, true))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "metrics: '%s' is not a valid metric name",
                       name ? name : "(null)");
    size_t n = 0;
    for (; label_names && label_names[n]; n++) {
        const char *label = label_names[n];
        if (n == METRICS_LABELS_MAX)
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "metrics: %s: more than %d labels", name,
                           METRICS_LABELS_MAX);
        if (!name_valid(label, false) || strncmp(label, "__", 2) == 0)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "metrics: %s: '%s' is not a valid label name", name, label);
        if (type == METRICS_HISTOGRAM && strcmp(label, "le") == 0)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "metrics: %s: a histogram cannot have a label named 'le'", name);
        for (size_t k = 0; k < n; k++)
            if (strcmp(label_names[k], label) == 0)
                return od_fail(errbuf, errlen, OD_ERR_INVALID,
                               "metrics: %s: label '%s' appears twice", name, label);
    }
    if (type == METRICS_HISTOGRAM) {
        if (!bounds || nbounds == 0 || nbounds > METRICS_BUCKETS_MAX)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "metrics: %s: a histogram needs 1..%d bucket bounds", name,
                           METRICS_BUCKETS_MAX);
        for (size_t i = 0; i < nbounds; i++)
            if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
                return od_fail(errbuf, errlen, OD_ERR_INVALID,
                               "metrics: %s: bucket bounds must be finite and strictly increasing",
                               name);
    } else if (bounds || nbounds) {
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "metrics: %s: only a histogram has bucket bounds", name);
    }
    *nlabels_out = n;
    return OD_OK;
}

/* Whether an existing family has exactly this definition. */
static bool family_same(const metrics_family_t *fam, metrics_type_t type,
                        const char *const *label_names, size_t nlabels, const double *bounds,
                        size_t nbounds)
{
    if (fam->type != type || fam->nlabels != nlabels || fam->nbounds != nbounds)
        return false;
    for (size_t i = 0; i < nlabels; i++)
        if (strcmp(fam->label_names[i], label_names[i]) != 0)
            return false;
    for (size_t i = 0; i < nbounds; i++)
        if (fam->bounds[i] != bounds[i])
            return false;
    return true;
}

int metrics_family_register(metrics_registry_t *reg, metrics_type_t type, const char *name,
                            const char *help, const char *const *label_names, const double *bounds,
                            size_t nbounds, metrics_family_t **out, char *errbuf, size_t errlen)
{
    size_t nlabels = 0;
    int rc = family_check(type, name, label_names, bounds, nbounds, &nlabels, errbuf, errlen);
    if (rc != OD_OK)
        return rc;

    pthread_mutex_lock(&reg->lock);
    for (metrics_family_t *fam = reg->head; fam; fam = fam->next) {
        if (strcmp(fam->name, name) != 0)
            continue;
        if (family_same(fam, type, label_names, nlabels, bounds, nbounds)) {
            *out = fam;
            rc = OD_OK;
        } else {
            rc = od_fail(errbuf, errlen, OD_ERR_CONFLICT,
                         "metrics: %s is already registered with another type, labels or buckets",
                         name);
        }
        goto out;
    }
    metrics_family_t *fam = xcalloc(1, sizeof(*fam));
    fam->reg = reg;
    fam->type = type;
    fam->name = xstrdup(name);
    fam->help = xstrdup(help ? help : "");
    fam->nlabels = nlabels;
    for (size_t i = 0; i < nlabels; i++)
        fam->label_names[i] = xstrdup(label_names[i]);
    fam->nbounds = nbounds;
    for (size_t i = 0; i < nbounds; i++)
        fam->bounds[i] = bounds[i];
    fam->series_tail = &fam->series_head;
    *reg->tail = fam;
    reg->tail = &fam->next;
    *out = fam;
    rc = OD_OK;
out:
    pthread_mutex_unlock(&reg->lock);
    return rc;
}

/* Finds or creates the series for label_values; the caller checked the type. */
static int series_with(metrics_family_t *fam, const char *const *label_values,
                       metrics_series_t **out, char *errbuf, size_t errlen)
{
    size_t n = 0;
    while (label_values && label_values[n])
        n++;
    if (n != fam->nlabels)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "metrics: %s: %zu label values given for %zu labels", fam->name, n,
                       fam->nlabels);

    int rc;
    metrics_registry_t *reg = fam->reg;
    pthread_mutex_lock(&reg->lock);
    for (metrics_series_t *s = fam->series_head; s; s = s->next) {
        size_t i = 0;
        while (i < n && strcmp(s->label_values[i], label_values[i]) == 0)
            i++;
        if (i == n) {
            *out = s;
            rc = OD_OK;
            goto out;
        }
    }
    if (fam->nseries >= METRICS_SERIES_MAX) {
        rc = od_fail(errbuf, errlen, OD_ERR_CONFLICT,
                     "metrics: %s: more than %d label combinations", fam->name, METRICS_SERIES_MAX);
        goto out;
    }
    metrics_series_t *s = xcalloc(1, sizeof(*s));
    for (size_t i = 0; i < n; i++)
        s->label_values[i] = xstrdup(label_values[i]);
    if (fam->type == METRICS_HISTOGRAM)
        s->u.histogram.fam = fam;
    /* Zero bits are 0.0 for gauges and sums, and zero counts. */
    *fam->series_tail = s;
    fam->series_tail = &s->next;
    fam->nseries++;
    *out = s;
    rc = OD_OK;
out:
    pthread_mutex_unlock(&reg->lock);
    return rc;
}

static int type_check(const metrics_family_t *fam, metrics_type_t want, char *errbuf, size_t errlen)
{
    if (fam->type != want)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "metrics: %s is a %s, not a %s", fam->name,
                       type_name(fam->type), type_name(want));
    return OD_OK;
}

/* Defines metrics_<kind>_with: the series of a family of type TYPE for
 * label_values, its <kind> into *out. */
#define DEFINE_WITH(kind, T, TYPE)                                                                 \
    int metrics_##kind##_with(metrics_family_t *fam, const char *const *label_values, T **out,     \
                              char *errbuf, size_t errlen)                                         \
    {                                                                                              \
        metrics_series_t *s = NULL;                                                                \
        int rc = type_check(fam, TYPE, errbuf, errlen);                                            \
        if (rc == OD_OK)                                                                           \
            rc = series_with(fam, label_values, &s, errbuf, errlen);                               \
        if (rc == OD_OK)                                                                           \
            *out = &s->u.kind;                                                                     \
        return rc;                                                                                 \
    }

DEFINE_WITH(counter, metrics_counter_t, METRICS_COUNTER)
DEFINE_WITH(gauge, metrics_gauge_t, METRICS_GAUGE)
DEFINE_WITH(histogram, metrics_histogram_t, METRICS_HISTOGRAM)

/* Defines metrics_<kind>_register: a family of type TYPE without labels
 * (nor bounds) and its one series. */
#define DEFINE_REGISTER(kind, T, TYPE)                                                             \
    int metrics_##kind##_register(metrics_registry_t *reg, const char *name, const char *help,     \
                                  T **out, char *errbuf, size_t errlen)                            \
    {                                                                                              \
        metrics_family_t *fam = NULL;                                                              \
        int rc =                                                                                   \
            metrics_family_register(reg, TYPE, name, help, NULL, NULL, 0, &fam, errbuf, errlen);   \
        if (rc != OD_OK)                                                                           \
            return rc;                                                                             \
        return metrics_##kind##_with(fam, NULL, out, errbuf, errlen);                              \
    }

DEFINE_REGISTER(counter, metrics_counter_t, METRICS_COUNTER)
DEFINE_REGISTER(gauge, metrics_gauge_t, METRICS_GAUGE)

int metrics_histogram_register(metrics_registry_t *reg, const char *name, const char *help,
                               const double *bounds, size_t nbounds, metrics_histogram_t **out,
                               char *errbuf, size_t errlen)
{
    metrics_family_t *fam = NULL;
    int rc = metrics_family_register(reg, METRICS_HISTOGRAM, name, help, NULL, bounds, nbounds,
                                     &fam, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    return metrics_histogram_with(fam, NULL, out, errbuf, errlen);
}

int metrics_register_all(metrics_registry_t *reg, const metrics_def_t *defs, size_t n, char *errbuf,
                         size_t errlen)
{
    int rc = OD_OK;
    for (size_t i = 0; i < n && rc == OD_OK; i++) {
        const metrics_def_t *d = &defs[i];
        if (d->counter)
            rc = metrics_counter_register(reg, d->name, d->help, d->counter, errbuf, errlen);
        else if (d->gauge)
            rc = metrics_gauge_register(reg, d->name, d->help, d->gauge, errbuf, errlen);
        else
            rc =
                metrics_histogram_register(reg, d->name, d->help, metrics_latency_buckets,
                                           METRICS_LATENCY_BUCKETS_N, d->histogram, errbuf, errlen);
    }
    return rc;
}

int metrics_counter_family(metrics_registry_t *reg, const char *name, const char *help,
                           const char *label, const char *const *values, size_t n,
                           metrics_counter_t **out, char *errbuf, size_t errlen)
{
    const char *const label_names[] = {label, NULL};
    metrics_family_t *fam = NULL;
    int rc = metrics_family_register(reg, METRICS_COUNTER, name, help, label_names, NULL, 0, &fam,
                                     errbuf, errlen);
    for (size_t i = 0; i < n && rc == OD_OK; i++) {
        const char *const label_values[] = {values[i], NULL};
        rc = metrics_counter_with(fam, label_values, &out[i], errbuf, errlen);
    }
    return rc;
}

void metrics_counter_add(metrics_counter_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

uint64_t metrics_counter_value(const metrics_counter_t *c)
{
    return atomic_load_explicit((_Atomic uint64_t *)&c->value, memory_order_relaxed);
}

void metrics_gauge_set(metrics_gauge_t *g, double v)
{
    atomic_store_explicit(&g->bits, double_bits(v), memory_order_relaxed);
}

void metrics_gauge_add(metrics_gauge_t *g, double delta)
{
    atomic_double_add(&g->bits, delta);
}

double metrics_gauge_value(const metrics_gauge_t *g)
{
    return bits_double(atomic_load_explicit((_Atomic uint64_t *)&g->bits, memory_order_relaxed));
}

void metrics_histogram_observe(metrics_histogram_t *h, double v)
{
    if (isnan(v))
        return;
    size_t nbounds = h->fam->nbounds;
    size_t i = 0;
    while (i < nbounds && v > h->fam->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_double_add(&h->sum_bits, v);
}

/* --- rendering --- */

typedef struct textbuf {
    char *data;
    size_t len;
    size_t cap;
} textbuf_t;

static void tb_reserve(textbuf_t *tb, size_t more)
{
    xbuf_reserve(&tb->data, &tb->cap, tb->len + more + 1);
}

static void tb_putc(textbuf_t *tb, char c)
{
    tb_reserve(tb, 1);
    tb->data[tb->len++] = c;
    tb->data[tb->len] = '\0';
}

static void tb_puts(textbuf_t *tb, const char *s)
{
    xbuf_put(&tb->data, &tb->len, &tb->cap, s, strlen(s));
}

/* Appends s escaping backslash and newline, and the double quote too when
 * quote is set (label values); HELP text leaves quotes alone. */
static void tb_put_escaped(textbuf_t *tb, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            tb_puts(tb, "\\\\");
        else if (*s == '\n')
            tb_puts(tb, "\\n");
        else if (quote && *s == '"')
            tb_puts(tb, "\\\"");
        else
            tb_putc(tb, *s);
    }
}

/* The shortest of %.15g and %.17g that reads back as v, so 0.1 prints as
 * "0.1" and 0.1+0.2 as "0.30000000000000004"; specials as Prometheus spells
 * them. */
static void format_double(char *buf, size_t len, double v)
{
    if (isnan(v)) {
        snprintf(buf, len, "NaN");
    } else if (isinf(v)) {
        snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(buf, len, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, len, "%.17g", v);
    }
}

/* {a="x",b="y"} with an optional trailing le pair; nothing at all when
 * there are no pairs. */
static void tb_put_labels(textbuf_t *tb, const metrics_family_t *fam, const metrics_series_t *s,
                          const char *le)
{
    if (fam->nlabels == 0 && !le)
        return;
    tb_putc(tb, '{');
    for (size_t i = 0; i < fam->nlabels; i++) {
        if (i > 0)
            tb_putc(tb, ',');
        tb_puts(tb, fam->label_names[i]);
        tb_puts(tb, "=\"");
        tb_put_escaped(tb, s->label_values[i], true);
        tb_putc(tb, '"');
    }
    if (le) {
        if (fam->nlabels > 0)
            tb_putc(tb, ',');
        tb_puts(tb, "le=\"");
        tb_puts(tb, le);
        tb_putc(tb, '"');
    }
    tb_putc(tb, '}');
}

static void tb_put_sample(textbuf_t *tb, const metrics_family_t *fam, const char *suffix,
                          const metrics_series_t *s, const char *le, const char *value)
{
    tb_puts(tb, fam->name);
    tb_puts(tb, suffix);
    tb_put_labels(tb, fam, s, le);
    tb_putc(tb, ' ');
    tb_puts(tb, value);
    tb_putc(tb, '\n');
}

static void render_series(textbuf_t *tb, const metrics_family_t *fam, metrics_series_t *s)
{
    char value[64];
    switch (fam->type) {
    case METRICS_COUNTER:
        snprintf(value, sizeof(value), "%llu",
                 (unsigned long long)metrics_counter_value(&s->u.counter));
        tb_put_sample(tb, fam, "", s, NULL, value);
        break;
    case METRICS_GAUGE:
        format_double(value, sizeof(value), metrics_gauge_value(&s->u.gauge));
        tb_put_sample(tb, fam, "", s, NULL, value);
        break;
    case METRICS_HISTOGRAM: {
        metrics_histogram_t *h = &s->u.histogram;
        uint64_t cumulative = 0;
        char le[64];
        for (size_t i = 0; i <= fam->nbounds; i++) {
            cumulative += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
            if (i < fam->nbounds)
                format_double(le, sizeof(le), fam->bounds[i]);
            else
                snprintf(le, sizeof(le), "+Inf");
            snprintf(value, sizeof(value), "%llu", (unsigned long long)cumulative);
            tb_put_sample(tb, fam, "_bucket", s, le, value);
        }
        format_double(value, sizeof(value),
                      bits_double(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)));
        tb_put_sample(tb, fam, "_sum", s, NULL, value);
        snprintf(value, sizeof(value), "%llu", (unsigned long long)cumulative);
        tb_put_sample(tb, fam, "_count", s, NULL, value);
        break;
    }
    }
}

char *metrics_registry_render(metrics_registry_t *reg, size_t *len_out)
{
    textbuf_t tb = {0};
    tb_reserve(&tb, 0);
    tb.data[0] = '\0';
    pthread_mutex_lock(&reg->lock);
    for (metrics_family_t *fam = reg->head; fam; fam = fam->next) {
        tb_puts(&tb, "# HELP ");
        tb_puts(&tb, fam->name);
        tb_putc(&tb, ' ');
        tb_put_escaped(&tb, fam->help, false);
        tb_puts(&tb, "\n# TYPE ");
        tb_puts(&tb, fam->name);
        tb_putc(&tb, ' ');
        tb_puts(&tb, type_name(fam->type));
        tb_putc(&tb, '\n');
        for (metrics_series_t *s = fam->series_head; s; s = s->next)
            render_series(&tb, fam, s);
    }
    pthread_mutex_unlock(&reg->lock);
    if (len_out)
        *len_out = tb.len;
    return tb.data;
}

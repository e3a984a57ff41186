#include "ctl_render.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_parse.h"
#include "ctl_table.h"
#include "window.h"
#include "xmalloc.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- small formatters ---------------------------------------------------------- */

void ctl_bytes_format(int64_t n, char *buf, size_t len)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) {
        snprintf(buf, len, "%" PRId64 " B", n);
        return;
    }
    double v = (double)n;
    size_t u = 0;
    v /= 1024.0;
    while (v >= 1024.0 && u + 1 < N(units)) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, len, "%.1f %s", v, units[u]);
}

void ctl_money_format(int64_t minor, const char *currency, char *buf, size_t len)
{
    /* ISO 4217 currencies with no minor unit. */
    static const char *const zero_decimals[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
                                                "KMF", "KRW", "PYG", "RWF", "UGX", "VND",
                                                "VUV", "XAF", "XOF", "XPF"};
    const char *cur = currency && *currency ? currency : "";
    for (size_t i = 0; i < N(zero_decimals); i++) {
        if (strcmp(cur, zero_decimals[i]) == 0) {
            snprintf(buf, len, "%s %" PRId64, cur, minor);
            return;
        }
    }
    uint64_t abs = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    snprintf(buf, len, "%s%s%s%" PRIu64 ".%02" PRIu64, cur, *cur ? " " : "", minor < 0 ? "-" : "",
             abs / 100, abs % 100);
}

void ctl_time_format(const char *t, char *buf, size_t len)
{
    /* 2026-03-08T09:00:01.123456Z -> 2026-03-08 09:00:01Z */
    size_t n = t ? strlen(t) : 0;
    if (n < 19 || t[10] != 'T' || t[13] != ':' || t[16] != ':') {
        snprintf(buf, len, "%s", t ? t : "-");
        return;
    }
    const char *zone = t + 19;
    if (*zone == '.')
        while (*++zone >= '0' && *zone <= '9')
            ;
    snprintf(buf, len, "%.10s %.8s%s", t, t + 11, zone);
}

void ctl_days_format(unsigned days, char *buf, size_t len)
{
    days &= WINDOW_DAYS_ALL;
    if (days == WINDOW_DAYS_ALL) {
        snprintf(buf, len, "every day");
        return;
    }
    size_t off = 0;
    buf[0] = '\0';
    for (unsigned d = 0; d < 7;) {
        if (!(days & (1u << d))) {
            d++;
            continue;
        }
        unsigned end = d;
        while (end + 1 < 7 && (days & (1u << (end + 1))))
            end++;
        const char *sep = off ? "," : "";
        int w;
        if (end - d >= 2)
            w = snprintf(buf + off, len - off, "%s%s-%s", sep, window_day_name(1u << d),
                         window_day_name(1u << end));
        else if (end > d)
            w = snprintf(buf + off, len - off, "%s%s,%s", sep, window_day_name(1u << d),
                         window_day_name(1u << end));
        else
            w = snprintf(buf + off, len - off, "%s%s", sep, window_day_name(1u << d));
        if (w < 0 || (size_t)w >= len - off)
            return;
        off += (size_t)w;
        d = end + 1;
    }
}

void ctl_seconds_format(int64_t s, char *buf, size_t len)
{
    if (s < 0)
        s = 0;
    if (s >= 3600)
        snprintf(buf, len, "%" PRId64 "h %02" PRId64 "m", s / 3600, s / 60 % 60);
    else if (s >= 60)
        snprintf(buf, len, "%" PRId64 "m %02" PRId64 "s", s / 60, s % 60);
    else
        snprintf(buf, len, "%" PRId64 "s", s);
}

void ctl_progress_format(char *buf, size_t len, int64_t done, int64_t total, int bar_width,
                         bool bytes)
{
    char d[32], t[32];
    if (bytes) {
        ctl_bytes_format(done, d, sizeof(d));
        ctl_bytes_format(total, t, sizeof(t));
    } else {
        snprintf(d, sizeof(d), "%" PRId64, done);
        snprintf(t, sizeof(t), "%" PRId64, total);
    }
    if (total <= 0) {
        snprintf(buf, len, "%s", d);
        return;
    }
    if (done > total)
        done = total;
    if (bar_width < 1)
        bar_width = 1;
    if (bar_width > 200)
        bar_width = 200;
    int filled = (int)((double)done / (double)total * bar_width);
    int pct = (int)((double)done * 100.0 / (double)total);
    char bar[204];
    for (int i = 0; i < bar_width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[bar_width] = '\0';
    snprintf(buf, len, "[%s] %3d%%  %s / %s", bar, pct, d, t);
}

/* ---- values as text ----------------------------------------------------------------- */

/* A scalar (or an array of scalars) as text; NULL for null and for what
 * has no one-line form. Caller frees. */
static char *value_text(const json_t *v)
{
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (json_is_integer(v))
        return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    if (json_is_real(v))
        return xasprintf("%g", json_real_value(v));
    if (json_is_true(v))
        return xstrdup("yes");
    if (json_is_false(v))
        return xstrdup("no");
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        char *out = xstrdup("");
        for (size_t i = 0; i < n; i++) {
            char *s = value_text(json_array_get(v, i));
            char *next = xasprintf("%s%s%s", out, i ? "," : "", s ? s : "-");
            free(s);
            free(out);
            out = next;
        }
        return out;
    }
    return NULL;
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int64_t num(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* obj.a.b for the path "a.b". */
static const json_t *path_get(const json_t *obj, const char *path)
{
    char key[64];
    while (obj && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        obj = json_object_get(obj, key);
        path += dot ? n + 1 : n;
    }
    return obj;
}

/* ---- objects -------------------------------------------------------------------------- */

typedef struct kv {
    char **keys, **vals;
    size_t n, cap;
} kv_t;

static void kv_add(kv_t *kv, const char *key, char *val)
{
    if (kv->n == kv->cap) {
        kv->cap = kv->cap ? kv->cap * 2 : 32;
        kv->keys = xrealloc(kv->keys, kv->cap * sizeof(*kv->keys));
        kv->vals = xrealloc(kv->vals, kv->cap * sizeof(*kv->vals));
    }
    kv->keys[kv->n] = xstrdup(key);
    kv->vals[kv->n] = val;
    kv->n++;
}

/* Whether key ends with suffix. */
static bool ends_with(const char *key, const char *suffix)
{
    size_t k = strlen(key), s = strlen(suffix);
    return k >= s && strcmp(key + k - s, suffix) == 0;
}

/* currency: the object's currency, for *_minor amounts. */
static void kv_flatten(kv_t *kv, const char *prefix, const json_t *v, const char *currency)
{
    if (json_is_object(v)) {
        const char *k;
        const json_t *m;
        if (json_object_size(v) == 0 && *prefix)
            kv_add(kv, prefix, xstrdup("{}"));
        json_object_foreach((json_t *)v, k, m)
        {
            char *key = *prefix ? xasprintf("%s.%s", prefix, k) : xstrdup(k);
            const char *cur = json_string_value(json_object_get(v, "currency"));
            kv_flatten(kv, key, m, cur ? cur : currency);
            free(key);
        }
        return;
    }
    if (json_is_array(v)) {
        bool scalars = true;
        for (size_t i = 0; i < json_array_size(v); i++)
            scalars = scalars && !json_is_object(json_array_get(v, i)) &&
                      !json_is_array(json_array_get(v, i));
        if (scalars) {
            char *s = value_text(v);
            kv_add(kv, prefix, s && *s ? s : (free(s), xstrdup("[]")));
            return;
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
            char *key = xasprintf("%s[%zu]", prefix, i);
            kv_flatten(kv, key, json_array_get(v, i), currency);
            free(key);
        }
        return;
    }
    if (json_is_integer(v) && currency && ends_with(prefix, "_minor")) {
        char money[48];
        ctl_money_format((int64_t)json_integer_value(v), currency, money, sizeof(money));
        kv_add(kv, prefix,
               xasprintf("%" JSON_INTEGER_FORMAT " (%s)", json_integer_value(v), money));
        return;
    }
    if (json_is_string(v) && ends_with(prefix, "_at")) {
        char t[64];
        ctl_time_format(json_string_value(v), t, sizeof(t));
        kv_add(kv, prefix, xstrdup(t));
        return;
    }
    char *s = value_text(v);
    kv_add(kv, prefix, s ? s : xstrdup("-"));
}

static void kv_write(FILE *out, const kv_t *kv)
{
    size_t w = 0;
    for (size_t i = 0; i < kv->n; i++) {
        size_t kw = ctl_text_width(kv->keys[i]);
        if (kw > w)
            w = kw;
    }
    for (size_t i = 0; i < kv->n; i++) {
        fprintf(out, "%s%*s  ", kv->keys[i], (int)(w - ctl_text_width(kv->keys[i])), "");
        for (const char *p = kv->vals[i]; *p; p++)
            fputc((unsigned char)*p < 0x20 ? ' ' : *p, out);
        fputc('\n', out);
    }
}

static void kv_free(kv_t *kv)
{
    for (size_t i = 0; i < kv->n; i++) {
        free(kv->keys[i]);
        free(kv->vals[i]);
    }
    free(kv->keys);
    free(kv->vals);
}

void ctl_render_object(FILE *out, const json_t *obj)
{
    kv_t kv = {0};
    if (json_is_object(obj))
        kv_flatten(&kv, "", obj, NULL);
    else {
        char *s = value_text(obj);
        kv_add(&kv, "value", s ? s : xstrdup("-"));
    }
    kv_write(out, &kv);
    kv_free(&kv);
}

/* ---- lists ------------------------------------------------------------------------------ */

typedef enum col_fmt {
    COL_TEXT = 0,
    COL_INT,      /* right-aligned */
    COL_TIME,     /* RFC 3339, shortened */
    COL_WINDOW,   /* window_start-window_end of the row */
    COL_DAYS,     /* an array of day names, compressed */
    COL_SCHEMA,   /* an object {name: type} as "name:type,..." */
    COL_CONTACT,  /* contact_order: primary or #N */
    COL_PHONE,    /* phone, else raw_phone (invalid lead) */
    COL_RETRIES,  /* max_retries x retry_interval_minutes */
    COL_SECONDS,  /* duration */
    COL_PROGRESS, /* a fraction 0..1 as a percentage */
    COL_NEXT,     /* next_attempt_at: a time, "now" when due, "-" */
} col_fmt_t;

typedef struct col {
    const char *header;
    const char *key; /* a path into the row ("rows.read") */
    col_fmt_t fmt;
    size_t max_width;
} col_t;

static const col_t assistant_cols[] = {
    {"ID", "id", COL_TEXT, 0},
    {"NAME", "name", COL_TEXT, 30},
    {"TIMEZONE", "timezone", COL_TEXT, 0},
    {"PHONE", "outbound_phone_number", COL_TEXT, 0},
    {"VARIABLES", "post_call_schema", COL_SCHEMA, 48},
};

static const col_t campaign_cols[] = {
    {"ID", "id", COL_TEXT, 0},
    {"NAME", "name", COL_TEXT, 30},
    {"STATUS", "status", COL_TEXT, 0},
    {"WINDOW", "window_start", COL_WINDOW, 0},
    {"DAYS", "allowed_days", COL_DAYS, 0},
    {"RETRIES", "max_retries", COL_RETRIES, 0},
    {"GOAL", "goal_variable", COL_TEXT, 24},
};

static const col_t lead_cols[] = {
    {"ID", "id", COL_TEXT, 0},
    {"PHONE", "phone", COL_PHONE, 0},
    {"NAME", "name", COL_TEXT, 24},
    {"CONTACT", "contact_order", COL_CONTACT, 0},
    {"STATUS", "status", COL_TEXT, 0},
    {"ATTEMPTS", "attempts", COL_INT, 0},
    {"OUTCOME", "outcome", COL_TEXT, 0},
    {"LAST CALL", "last_call_status", COL_TEXT, 0},
    {"NEXT ATTEMPT", "next_attempt_at", COL_NEXT, 0},
};

static const col_t call_cols[] = {
    {"ID", "id", COL_TEXT, 0},
    {"LEAD", "lead_id", COL_TEXT, 0},
    {"#", "attempt_number", COL_INT, 0},
    {"PHONE", "phone", COL_TEXT, 0},
    {"STATUS", "status", COL_TEXT, 0},
    {"ANSWERED BY", "answered_by", COL_TEXT, 0},
    {"DURATION", "duration_s", COL_SECONDS, 0},
    {"COST", "cost_minor", COL_INT, 0},
    {"STARTED", "started_at", COL_TIME, 0},
    {"ENDED REASON", "ended_reason", COL_TEXT, 32},
};

static const col_t import_cols[] = {
    {"ID", "id", COL_TEXT, 0},
    {"FILE", "filename", COL_TEXT, 24},
    {"STATUS", "status", COL_TEXT, 0},
    {"PROGRESS", "progress", COL_PROGRESS, 0},
    {"READ", "rows.read", COL_INT, 0},
    {"IMPORTED", "rows.imported", COL_INT, 0},
    {"DUPLICATE", "rows.duplicate", COL_INT, 0},
    {"DNC", "rows.dnc", COL_INT, 0},
    {"REJECTED", "rows.rejected", COL_INT, 0},
    {"CREATED", "created_at", COL_TIME, 0},
};

static const col_t dnc_cols[] = {
    {"PHONE", "phone", COL_TEXT, 0},
    {"REASON", "reason", COL_TEXT, 50},
    {"ADDED", "created_at", COL_TIME, 0},
};

static const col_t caller_id_cols[] = {
    {"PHONE", "phone_number", COL_TEXT, 0},
    {"PROVIDER NUMBER ID", "provider_phone_number_id", COL_TEXT, 32},
    {"DAILY CAP", "daily_cap", COL_INT, 0},
    {"TIMEZONE", "timezone", COL_TEXT, 0},
    {"ADDED", "created_at", COL_TIME, 0},
};

static const col_t reject_cols[] = {
    {"ROW", "row", COL_INT, 0},
    {"CODE", "code", COL_TEXT, 0},
    {"REASON", "reason", COL_TEXT, 60},
    {"RAW ROW", "raw_row", COL_TEXT, 60},
};

/* The days named in arr (the API's allowed_days) as window bits; names it does not
 * know are left out. */
static unsigned days_bits(const json_t *arr)
{
    unsigned days = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        unsigned bit = 0;
        const char *name = json_string_value(json_array_get(arr, i));
        if (name && window_day_parse(name, &bit, NULL, 0) == OD_OK)
            days |= bit;
    }
    return days;
}

static char *cell_text(const json_t *row, const col_t *c)
{
    const json_t *v = path_get(row, c->key);
    switch (c->fmt) {
    case COL_NEXT:
        if (!json_is_string(v))
            return json_is_true(json_object_get(row, "due")) ? xstrdup("now") : NULL;
        /* fall through */
    case COL_TIME: {
        if (!json_is_string(v))
            return NULL;
        char buf[64];
        ctl_time_format(json_string_value(v), buf, sizeof(buf));
        return xstrdup(buf);
    }
    case COL_WINDOW:
        if (!str(row, "window_start") || !str(row, "window_end"))
            return NULL;
        return xasprintf("%s-%s", str(row, "window_start"), str(row, "window_end"));
    case COL_DAYS: {
        unsigned days = days_bits(v);
        char buf[64];
        ctl_days_format(days, buf, sizeof(buf));
        return days ? xstrdup(buf) : NULL;
    }
    case COL_SCHEMA: {
        if (!json_is_object(v))
            return NULL;
        char *out = xstrdup("");
        const char *k;
        const json_t *t;
        json_object_foreach((json_t *)v, k, t)
        {
            char *next = xasprintf("%s%s%s:%s", out, *out ? "," : "", k,
                                   json_is_string(t) ? json_string_value(t) : "?");
            free(out);
            out = next;
        }
        return out;
    }
    case COL_CONTACT:
        if (!json_is_integer(v))
            return NULL;
        return json_integer_value(v) == 0
                   ? xstrdup("primary")
                   : xasprintf("#%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case COL_PHONE:
        if (json_is_string(v) && str(row, "invalid_reason") == NULL)
            return xstrdup(json_string_value(v));
        if (str(row, "raw_phone"))
            return xasprintf("%s (invalid)", str(row, "raw_phone"));
        return value_text(v);
    case COL_RETRIES:
        if (!json_is_integer(v))
            return NULL;
        return xasprintf("%" JSON_INTEGER_FORMAT " x %" PRId64 "m", json_integer_value(v),
                         num(row, "retry_interval_minutes"));
    case COL_SECONDS: {
        if (!json_is_integer(v))
            return NULL;
        char buf[32];
        ctl_seconds_format((int64_t)json_integer_value(v), buf, sizeof(buf));
        return xstrdup(buf);
    }
    case COL_PROGRESS:
        if (!json_is_number(v))
            return NULL;
        return xasprintf("%d%%", (int)(json_number_value(v) * 100.0));
    case COL_TEXT:
    case COL_INT:
        break;
    }
    return value_text(v);
}

static const col_t *view_cols(ctl_view_t view, size_t *n)
{
    switch (view) {
    case CTL_VIEW_ASSISTANTS:
        *n = N(assistant_cols);
        return assistant_cols;
    case CTL_VIEW_CAMPAIGNS:
        *n = N(campaign_cols);
        return campaign_cols;
    case CTL_VIEW_LEADS:
        *n = N(lead_cols);
        return lead_cols;
    case CTL_VIEW_CALLS:
        *n = N(call_cols);
        return call_cols;
    case CTL_VIEW_IMPORTS:
        *n = N(import_cols);
        return import_cols;
    case CTL_VIEW_DNC:
        *n = N(dnc_cols);
        return dnc_cols;
    case CTL_VIEW_REJECTS:
        *n = N(reject_cols);
        return reject_cols;
    case CTL_VIEW_CALLER_IDS:
        *n = N(caller_id_cols);
        return caller_id_cols;
    default:
        *n = 0;
        return NULL;
    }
}

void ctl_render_list(FILE *out, ctl_view_t view, const json_t *items)
{
    size_t n = 0;
    const col_t *cols = view_cols(view, &n);
    if (!cols) {
        for (size_t i = 0; i < json_array_size(items); i++) {
            if (i)
                fputc('\n', out);
            ctl_render_object(out, json_array_get(items, i));
        }
        return;
    }
    const char *headers[16];
    for (size_t c = 0; c < n; c++)
        headers[c] = cols[c].header;
    ctl_table_t *t = ctl_table_new(n, headers);
    for (size_t c = 0; c < n; c++)
        ctl_table_column(t, c,
                         cols[c].fmt == COL_INT || cols[c].fmt == COL_SECONDS ||
                                 cols[c].fmt == COL_PROGRESS
                             ? CTL_ALIGN_RIGHT
                             : CTL_ALIGN_LEFT,
                         cols[c].max_width);
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *row = json_array_get(items, i);
        ctl_table_add_row(t);
        for (size_t c = 0; c < n; c++) {
            char *s = cell_text(row, &cols[c]);
            ctl_table_cell(t, c, s);
            free(s);
        }
    }
    ctl_table_write(t, out);
    ctl_table_free(t);
}

/* ---- one campaign --------------------------------------------------------------------------- */

static bool flag(const json_t *obj, const char *key)
{
    return json_is_true(json_object_get(obj, key));
}

void ctl_render_campaign(FILE *out, const json_t *c)
{
    char days[64];
    ctl_days_format(days_bits(json_object_get(c, "allowed_days")), days, sizeof(days));
    const char *reason = str(c, "pause_reason");
    const char *mode = str(c, "timezone_mode");
    fprintf(out, "campaign    %s\n", str(c, "id") ? str(c, "id") : "-");
    fprintf(out, "name        %s\n", str(c, "name") ? str(c, "name") : "-");
    fprintf(out, "status      %s%s%s%s\n", str(c, "status") ? str(c, "status") : "-",
            reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
    if (str(c, "archived_at"))
        fprintf(out, "archived    %s\n", str(c, "archived_at"));
    fprintf(out, "assistant   %s\n", str(c, "assistant_id") ? str(c, "assistant_id") : "-");
    fprintf(out, "schedule    %s-%s, %s, in the %s time zone\n",
            str(c, "window_start") ? str(c, "window_start") : "?",
            str(c, "window_end") ? str(c, "window_end") : "?", days,
            mode && strcmp(mode, "lead") == 0 ? "lead's" : "assistant's");
    fprintf(out, "retries     up to %" PRId64 ", every %" PRId64 " min, on voicemail: %s\n",
            num(c, "max_retries"), num(c, "retry_interval_minutes"),
            flag(c, "retry_on_voicemail") ? "yes" : "no");
    if (str(c, "goal_variable"))
        fprintf(out, "goal        %s (goal-based retry: %s)\n", str(c, "goal_variable"),
                flag(c, "goal_based_retry") ? "on" : "off");
    else
        fprintf(out, "goal        none\n");
    char cpm[32] = "no per-minute limit";
    if (json_is_integer(json_object_get(c, "calls_per_minute")))
        snprintf(cpm, sizeof(cpm), "%" PRId64 " per minute", num(c, "calls_per_minute"));
    char dur[32];
    ctl_seconds_format(num(c, "max_call_duration_s"), dur, sizeof(dur));
    fprintf(out, "pacing      %" PRId64 " calls at once, %s, calls up to %s\n",
            num(c, "max_concurrent_calls"), cpm, dur);
    char t[64];
    if (str(c, "created_at")) {
        ctl_time_format(str(c, "created_at"), t, sizeof(t));
        fprintf(out, "created     %s\n", t);
    }
    if (str(c, "status_changed_at")) {
        ctl_time_format(str(c, "status_changed_at"), t, sizeof(t));
        fprintf(out, "changed     %s\n", t);
    }
}

/* ---- statistics ------------------------------------------------------------------------------ */

/* Width of the share bars of the statistics screen. */
#define STATS_BAR 30

static void count_line(FILE *out, const char *label, int64_t n, int64_t total)
{
    int filled = total > 0 ? (int)((double)n / (double)total * STATS_BAR + 0.5) : 0;
    if (n > 0 && filled == 0)
        filled = 1; /* a status with leads never shows an empty bar */
    if (filled > STATS_BAR)
        filled = STATS_BAR;
    char bar[STATS_BAR + 1];
    memset(bar, '#', (size_t)filled);
    bar[filled] = '\0';
    double pct = total > 0 ? (double)n * 100.0 / (double)total : 0.0;
    fprintf(out, "  %-12s %8" PRId64 "  %5.1f%%%s%s\n", label, n, pct, filled ? "  " : "", bar);
}

/* The calls and answer rate per number of a caller-ID pool (the stats'
 * caller_ids; nothing when it is empty): a burned number shows as a rate
 * below its siblings'. */
static void caller_ids_lines(FILE *out, const json_t *stats)
{
    const json_t *numbers = json_object_get(stats, "caller_ids");
    if (json_array_size(numbers) == 0)
        return;
    fprintf(out, "\nCALLER IDS  answer rate per outbound number\n");
    size_t i;
    const json_t *n;
    json_array_foreach(numbers, i, n)
    {
        const json_t *rate = json_object_get(n, "answer_rate");
        char pct[16] = "-";
        if (json_is_number(rate))
            snprintf(pct, sizeof(pct), "%.1f%%", json_number_value(rate) * 100.0);
        fprintf(out, "  %-16s %6" PRId64 " calls %6" PRId64 " answered  %6s\n",
                str(n, "phone_number") ? str(n, "phone_number") : "-", num(n, "calls"),
                num(n, "answered"), pct);
    }
}

void ctl_render_stats(FILE *out, const json_t *campaign, const json_t *stats, const char *now_text)
{
    if (campaign) {
        const char *reason = str(campaign, "pause_reason");
        fprintf(out, "%s  (%s)%s%s\n", str(campaign, "name") ? str(campaign, "name") : "-",
                str(campaign, "id") ? str(campaign, "id") : "-", now_text ? "  " : "",
                now_text ? now_text : "");
        char days[64];
        ctl_days_format(days_bits(json_object_get(campaign, "allowed_days")), days, sizeof(days));
        fprintf(out, "status: %s%s%s%s   window: %s-%s %s\n",
                str(campaign, "status") ? str(campaign, "status") : "-", reason ? " (" : "",
                reason ? reason : "", reason ? ")" : "",
                str(campaign, "window_start") ? str(campaign, "window_start") : "?",
                str(campaign, "window_end") ? str(campaign, "window_end") : "?", days);
    } else if (now_text) {
        fprintf(out, "%s\n", now_text);
    }
    if (campaign)
        fputc('\n', out);

    const json_t *leads = json_object_get(stats, "leads");
    int64_t total = num(leads, "total");
    fprintf(out, "LEADS  %" PRId64 " total", total);
    if (num(leads, "secondary_contacts"))
        fprintf(out, " (secondary contacts: %" PRId64 ")", num(leads, "secondary_contacts"));
    if (num(leads, "invalid"))
        fprintf(out, ", %" PRId64 " invalid", num(leads, "invalid"));
    fputc('\n', out);
    const json_t *by_status = json_object_get(leads, "by_status");
    static const char *const lead_order[] = {"created",   "scheduled",   "processing",
                                             "completed", "rescheduled", "max_retries"};
    for (size_t i = 0; i < N(lead_order); i++)
        count_line(out, lead_order[i], num(by_status, lead_order[i]), total);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)by_status, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < N(lead_order); i++)
            known = known || strcmp(k, lead_order[i]) == 0;
        if (!known)
            count_line(out, k, json_is_integer(v) ? json_integer_value(v) : 0, total);
    }
    int64_t finished = num(by_status, "completed") + num(by_status, "max_retries");
    fprintf(out, "  finished %" PRId64 " of %" PRId64 " (%.1f%%)\n", finished, total,
            total ? (double)finished * 100.0 / (double)total : 0.0);
    const json_t *by_outcome = json_object_get(leads, "by_outcome");
    bool any = false;
    json_object_foreach((json_t *)by_outcome, k, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) == 0)
            continue;
        fprintf(out, "%s%s %" JSON_INTEGER_FORMAT, any ? ", " : "  outcomes: ", k,
                json_integer_value(v));
        any = true;
    }
    if (any)
        fputc('\n', out);

    const json_t *calls = json_object_get(stats, "calls");
    int64_t n_calls = num(calls, "total");
    char talk[32];
    ctl_seconds_format(num(calls, "duration_s_total"), talk, sizeof(talk));
    fprintf(out, "\nCALLS  %" PRId64 " total, %s talk time\n", n_calls, talk);
    const json_t *by_call = json_object_get(calls, "by_status");
    static const char *const call_order[] = {"completed", "busy",      "unanswered", "failed",
                                             "skipped",   "initiated", "ringing",    "in_progress"};
    for (size_t i = 0; i < N(call_order); i++) {
        int64_t n = num(by_call, call_order[i]);
        if (n > 0 || i < 4)
            count_line(out, call_order[i], n, n_calls);
    }
    const json_t *answered = json_object_get(calls, "by_answered_by");
    if (json_object_size(answered) > 0) {
        fprintf(out,
                "  answered by: human %" PRId64 ", voicemail %" PRId64 ", unknown %" PRId64 "\n",
                num(answered, "human"), num(answered, "voicemail"), num(answered, "unknown"));
    }

    const json_t *goal = json_object_get(stats, "goal");
    fputc('\n', out);
    if (str(goal, "variable")) {
        const json_t *conv = json_object_get(goal, "conversion");
        if (json_is_number(conv))
            fprintf(out, "GOAL   %s: %" PRId64 " achieved of %" PRId64 " finished leads (%.1f%%)\n",
                    str(goal, "variable"), num(goal, "achieved"), num(goal, "finished_leads"),
                    json_number_value(conv) * 100.0);
        else
            fprintf(out, "GOAL   %s: %" PRId64 " achieved, no lead finished yet\n",
                    str(goal, "variable"), num(goal, "achieved"));
    } else {
        fprintf(out, "GOAL   none set\n");
    }
    const json_t *spend = json_object_get(stats, "spend");
    char money[48];
    ctl_money_format(num(spend, "amount_minor"), str(spend, "currency"), money, sizeof(money));
    fprintf(out, "SPEND  %s", money);
    if (n_calls > 0) {
        char per[48];
        ctl_money_format(num(spend, "amount_minor") / n_calls, str(spend, "currency"), per,
                         sizeof(per));
        fprintf(out, " (%s per call)", per);
    }
    fputc('\n', out);
    caller_ids_lines(out, stats);
}

/* ---- imports -----------------------------------------------------------------------------------
 */

void ctl_render_import(FILE *out, const json_t *imp, const json_t *rejects)
{
    const char *status = str(imp, "status");
    fprintf(out, "import %s: %s", str(imp, "id") ? str(imp, "id") : "-", status ? status : "-");
    if (str(imp, "filename"))
        fprintf(out, " (%s)", str(imp, "filename"));
    fputc('\n', out);
    if (str(imp, "error"))
        fprintf(out, "  error: %s\n", str(imp, "error"));
    const json_t *progress = json_object_get(imp, "progress");
    if (status && strcmp(status, "completed") != 0 && strcmp(status, "failed") != 0 &&
        json_is_number(progress))
        fprintf(out, "  progress     %5.1f%%\n", json_number_value(progress) * 100.0);
    const json_t *rows = json_object_get(imp, "rows");
    static const char *const counts[] = {"read", "imported", "duplicate", "dnc", "rejected"};
    for (size_t i = 0; i < N(counts); i++)
        fprintf(out, "  %-10s %10" PRId64 "\n", strcmp(counts[i], "read") ? counts[i] : "rows read",
                num(rows, counts[i]));
    if (num(rows, "secondary_phones_rejected") > 0)
        fprintf(out, "  secondary phones left out of imported rows %" PRId64 "\n",
                num(rows, "secondary_phones_rejected"));
    const json_t *items = json_object_get(rejects, "data");
    size_t n = json_array_size(items);
    if (n == 0)
        return;
    fputs("first rejected rows (row 1 is the first row under the header):\n", out);
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(items, i);
        fprintf(out, "  row %" PRId64, num(r, "row"));
        if (num(r, "column") > 0)
            fprintf(out, ", column %" PRId64, num(r, "column"));
        fprintf(out, ": %s: ", str(r, "code") ? str(r, "code") : "rejected");
        for (const char *p = str(r, "reason") ? str(r, "reason") : ""; *p; p++)
            fputc((unsigned char)*p < 0x20 ? ' ' : *p, out);
        fputc('\n', out);
    }
    if (num(rows, "rejected") + num(rows, "secondary_phones_rejected") > (int64_t)n)
        fprintf(out, "  ... all of them: outdialctl import rejects %s --csv > rejects.csv\n",
                str(imp, "id") ? str(imp, "id") : "ID");
}

/* ---- leads added
 * ---------------------------------------------------------------------------------- */

/* Whether any item (or secondary contact of one) has member key. */
static bool items_have(const json_t *items, const char *key)
{
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        if (json_object_get(it, key) || items_have(json_object_get(it, "secondary_contacts"), key))
            return true;
    }
    return false;
}

static void added_rows(ctl_table_t *t, const json_t *items, const char *prefix, bool lead_col)
{
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        ctl_table_add_row(t);
        char *idx;
        if (json_is_integer(json_object_get(it, "contact_order")))
            idx = xasprintf("%s#%" PRId64, prefix, num(it, "contact_order"));
        else if (json_is_integer(json_object_get(it, "index")))
            idx = xasprintf("%s%" PRId64, prefix, num(it, "index"));
        else
            idx = xasprintf("%s%zu", prefix, i);
        size_t c = 0;
        ctl_table_cell(t, c++, idx);
        free(idx);
        ctl_table_cell(t, c++, str(it, "phone"));
        ctl_table_cell(t, c++, str(it, "result"));
        if (lead_col)
            ctl_table_cell(t, c++, str(it, "lead_id"));
        ctl_table_cell(t, c++, str(it, "message"));
        const json_t *sec = json_object_get(it, "secondary_contacts");
        if (json_array_size(sec) > 0) {
            char *p = xasprintf("  %s", prefix);
            added_rows(t, sec, p, lead_col);
            free(p);
        }
    }
}

void ctl_render_leads_added(FILE *out, const json_t *a)
{
    /* The counts first: created, invalid, duplicate, dnc (leads) or added
     * (do-not-call numbers), whichever the answer has. */
    const char *k;
    const json_t *v;
    bool any = false;
    json_object_foreach((json_t *)a, k, v)
    {
        if (!json_is_integer(v))
            continue;
        fprintf(out, "%s%s %" JSON_INTEGER_FORMAT, any ? ", " : "", k, json_integer_value(v));
        any = true;
    }
    if (any)
        fputc('\n', out);
    const json_t *items = json_object_get(a, "results");
    if (!items)
        items = json_object_get(a, "secondary_contacts");
    bool lead_col = items_have(items, "lead_id");
    const char *headers[5] = {"#", "PHONE", "RESULT"};
    size_t n = 3;
    if (lead_col)
        headers[n++] = "LEAD";
    headers[n++] = "NOTE";
    ctl_table_t *t = ctl_table_new(n, headers);
    ctl_table_column(t, n - 1, CTL_ALIGN_LEFT, 70);
    added_rows(t, items, "", lead_col);
    if (ctl_table_rows(t) > 0)
        ctl_table_write(t, out);
    ctl_table_free(t);
}

/* ---- errors
 * ------------------------------------------------------------------------------------------ */

void ctl_render_error(FILE *out, long status, const char *body, size_t len)
{
    json_error_t jerr;
    json_t *j = body && len ? json_loadb(body, len, 0, &jerr) : NULL;
    const json_t *e = json_object_get(j, "error");
    const char *message = str(e, "message");
    if (!json_is_object(e) || !message) {
        /* Not the API's error shape (a proxy, a crash page): show the start. */
        size_t n = 0;
        while (body && n < len && n < 200 && body[n] != '\n' && body[n] != '\r')
            n++;
        if (n)
            fprintf(out, "error: HTTP %ld: %.*s\n", status, (int)n, body);
        else
            fprintf(out, "error: HTTP %ld with no message\n", status);
        json_decref(j);
        return;
    }
    fprintf(out, "error: %s", message);
    if (str(e, "field"))
        fprintf(out, " (field: %s)", str(e, "field"));
    fputc('\n', out);
    const json_t *problems = json_object_get(e, "problems");
    /* One problem saying what the message says already (a 400 naming one
     * field) is not repeated. */
    if (json_array_size(problems) == 1) {
        const json_t *p = json_array_get(problems, 0);
        const char *pm = json_is_string(p) ? json_string_value(p) : str(p, "message");
        if (pm && strcmp(pm, message) == 0)
            problems = NULL;
    }
    for (size_t i = 0; i < json_array_size(problems); i++) {
        const json_t *p = json_array_get(problems, i);
        if (json_is_string(p)) {
            fprintf(out, "  - %s\n", json_string_value(p));
            continue;
        }
        fprintf(out, "  - %s", str(p, "message") ? str(p, "message") : "(no message)");
        if (str(p, "field"))
            fprintf(out, " (field: %s)", str(p, "field"));
        if (str(p, "code"))
            fprintf(out, " [%s]", str(p, "code"));
        fputc('\n', out);
    }
    json_decref(j);
}

/* ---- ids
 * ---------------------------------------------------------------------------------------------- */

static void id_line(FILE *out, const json_t *obj, bool lead_only)
{
    static const char *const keys[] = {"lead_id", "id", "account_id", "phone", "phone_number"};
    for (size_t i = 0; i < (lead_only ? 1 : N(keys)); i++) {
        const char *id = str(obj, keys[i]);
        if (id) {
            fprintf(out, "%s\n", id);
            return;
        }
    }
}

void ctl_render_ids(FILE *out, const json_t *answer)
{
    /* Added leads: the ids of the leads made (not of duplicates). */
    const json_t *items = json_object_get(answer, "results");
    bool lead_only = items && items_have(items, "lead_id");
    if (!items)
        items = json_object_get(answer, "data");
    if (!items && json_is_array(answer))
        items = answer;
    if (!items) {
        id_line(out, answer, false);
        return;
    }
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        id_line(out, it, lead_only);
        const json_t *sec = json_object_get(it, "secondary_contacts");
        for (size_t j = 0; j < json_array_size(sec); j++)
            id_line(out, json_array_get(sec, j), lead_only);
    }
}

/* ---- dispatch
 * ------------------------------------------------------------------------------------------ */

static const char *str_or(const json_t *obj, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : dflt;
}

void ctl_render_why(FILE *out, const json_t *answer)
{
    const json_t *zones = json_object_get(answer, "callee_zones");
    fprintf(out, "lead %s: %s\n", str_or(answer, "lead_id", "?"),
            json_is_true(json_object_get(answer, "callable_now")) ? "callable now"
                                                                  : "not callable now");
    fprintf(out, "  legal profile %s, jurisdiction %s, callee zone%s",
            str_or(answer, "legal_profile", "?"),
            str_or(answer, "jurisdiction", "unknown (strictest rules)"),
            json_array_size(zones) == 1 ? "" : "s");
    for (size_t i = 0; i < json_array_size(zones); i++)
        fprintf(out, "%s%s", i ? ", " : " ", json_string_value(json_array_get(zones, i)));
    fprintf(out, "\n");
    const json_t *reasons = json_object_get(answer, "reasons");
    for (size_t i = 0; i < json_array_size(reasons); i++) {
        const json_t *r = json_array_get(reasons, i);
        fprintf(out, "  %-16s %s; clears %s\n", str_or(r, "rule", "?"), str_or(r, "detail", ""),
                str_or(r, "clears_at", "by an action or event (no time)"));
    }
    fprintf(out, "  earliest callable: %s\n",
            str_or(answer, "earliest_callable_at", "unknown (a rule without a time holds it)"));
}

void ctl_render_recount(FILE *out, const json_t *answer)
{
    const json_t *diffs = json_object_get(answer, "differences");
    bool fixed = json_is_true(json_object_get(answer, "fixed"));
    const char *id = str_or(answer, "campaign_id", "?");
    if (json_array_size(diffs) == 0) {
        fprintf(out, "campaign %s: every counter equals its recount\n", id);
        return;
    }
    fprintf(out, "campaign %s: %zu counter%s %s\n", id, json_array_size(diffs),
            json_array_size(diffs) == 1 ? "" : "s",
            fixed ? "differed from the recount, now replaced by it" : "differ from the recount");
    fprintf(out, "%-32s %14s %14s\n", "COUNTER", "STORED", "RECOUNTED");
    for (size_t i = 0; i < json_array_size(diffs); i++) {
        const json_t *d = json_array_get(diffs, i);
        fprintf(out, "%-32s %14" JSON_INTEGER_FORMAT " %14" JSON_INTEGER_FORMAT "\n",
                str_or(d, "counter", "?"), json_integer_value(json_object_get(d, "stored")),
                json_integer_value(json_object_get(d, "recounted")));
    }
}

void ctl_render_view(FILE *out, ctl_view_t view, const json_t *answer)
{
    switch (view) {
    case CTL_VIEW_OBJECT:
        if (json_is_array(json_object_get(answer, "results")) ||
            json_is_array(json_object_get(answer, "secondary_contacts")))
            ctl_render_leads_added(out, answer);
        else
            ctl_render_object(out, answer);
        return;
    case CTL_VIEW_CAMPAIGN:
        ctl_render_campaign(out, answer);
        return;
    case CTL_VIEW_STATS:
        ctl_render_stats(out, NULL, answer, NULL);
        return;
    case CTL_VIEW_IMPORT:
        ctl_render_import(out, answer, NULL);
        return;
    case CTL_VIEW_WHY:
        ctl_render_why(out, answer);
        return;
    case CTL_VIEW_RECOUNT:
        ctl_render_recount(out, answer);
        return;
    default:
        break;
    }
    const json_t *items = json_object_get(answer, "data");
    ctl_render_list(out, view, json_is_array(items) ? items : answer);
}

#include "legal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "window.h"
#include "window_icu.h"
#include "xmalloc.h"

/* ICU counts milliseconds; outdial instants are microseconds. */
#define USEC_PER_MS 1000LL

static const char *const day_keys[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* US states, DC, Canadian provinces and territories. */
static const char *const known_codes[] = {
    "AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL", "IN",
    "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE", "NH", "NJ",
    "NM", "NV", "NY", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VA", "VT", "WA",
    "WI", "WV", "WY", "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
};

bool legal_code_known(const char *code)
{
    for (size_t i = 0; code && i < sizeof(known_codes) / sizeof(known_codes[0]); i++)
        if (strcmp(code, known_codes[i]) == 0)
            return true;
    return false;
}

static const char *const profile_names[] = {
    [LEGAL_PROFILE_NONE] = "none",
    [LEGAL_PROFILE_US_FEDERAL] = "us_federal",
    [LEGAL_PROFILE_US_STATES] = "us_states",
};

const char *legal_profile_name(legal_profile_t profile)
{
    return OD_ENUM_NAME(profile_names, profile, "unknown");
}

int legal_profile_parse(const char *s, legal_profile_t *out, char *errbuf, size_t errlen)
{
    for (int p = LEGAL_PROFILE_NONE; p <= LEGAL_PROFILE_US_STATES; p++)
        if (s && strcmp(s, legal_profile_name((legal_profile_t)p)) == 0) {
            *out = (legal_profile_t)p;
            return OD_OK;
        }
    return od_fail(errbuf, errlen, OD_ERR_INVALID,
                   "legal profile '%.32s' is not one of none, us_federal, us_states",
                   s ? s : "(null)");
}

static const char *const reason_names[] = {
    [LEGAL_REASON_HOURS] = "hours",
    [LEGAL_REASON_CLOSED_DAY] = "closed_day",
    [LEGAL_REASON_HOLIDAY] = "holiday",
};

const char *legal_reason_name(legal_reason_t reason)
{
    return OD_ENUM_NAME(reason_names, reason, "unknown");
}

/* ---- entries: parse, copy, free ---- */

static void entry_clear(legal_entry_t *e)
{
    free(e->name);
    free(e->note);
    for (size_t i = 0; i < e->n_sources; i++)
        free(e->sources[i]);
    free(e->sources);
    memset(e, 0, sizeof(*e));
}

static void entry_copy(legal_entry_t *dst, const legal_entry_t *src)
{
    *dst = *src;
    dst->name = src->name ? xstrdup(src->name) : NULL;
    dst->note = src->note ? xstrdup(src->note) : NULL;
    dst->sources = src->n_sources ? xcalloc(src->n_sources, sizeof(char *)) : NULL;
    for (size_t i = 0; i < src->n_sources; i++)
        dst->sources[i] = xstrdup(src->sources[i]);
}

void legal_entries_free(legal_entry_t *entries, size_t n)
{
    for (size_t i = 0; entries && i < n; i++)
        entry_clear(&entries[i]);
    free(entries);
}

void legal_pack_free(legal_pack_t *pack)
{
    if (!pack)
        return;
    free(pack->version);
    free(pack->updated);
    entry_clear(&pack->federal);
    legal_entries_free(pack->entries, pack->n_entries);
    free(pack);
}

/* "HH:MM-HH:MM" (end after start, 24:00 allowed as the end) or "closed". */
static int hours_parse(const char *s, legal_hours_t *out, const char *where, char *errbuf,
                       size_t errlen)
{
    if (strcmp(s, "closed") == 0) {
        *out = (legal_hours_t){false, 0, 0};
        return OD_OK;
    }
    char start[8], end[8];
    const char *dash = strchr(s, '-');
    size_t len_start = dash ? (size_t)(dash - s) : 0;
    if (!dash || len_start == 0 || len_start >= sizeof(start) || strlen(dash + 1) >= sizeof(end))
        goto bad;
    memcpy(start, s, len_start);
    start[len_start] = '\0';
    strcpy(end, dash + 1);
    int start_min, end_min;
    if (window_time_parse(start, &start_min, NULL, 0) != OD_OK ||
        window_time_parse(end, &end_min, NULL, 0) != OD_OK)
        goto bad;
    if (strcmp(end, "24:00") == 0)
        end_min = WINDOW_MINUTES_PER_DAY;
    if (strcmp(start, "24:00") == 0 || end_min <= start_min)
        goto bad;
    *out = (legal_hours_t){true, start_min, end_min};
    return OD_OK;
bad:
    return od_fail(errbuf, errlen, OD_ERR_INVALID,
                   "%s: '%.32s' is not \"HH:MM-HH:MM\" with the end after the start, or "
                   "\"closed\"",
                   where, s);
}

static int field_string(json_t *obj, const char *key, bool required, const char *where,
                        const char **out, char *errbuf, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v && !required)
        return OD_OK;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s: %s a non-empty string", where, key,
                       v ? "must be" : "missing,");
    *out = json_string_value(v);
    return OD_OK;
}

static int parse_hours(json_t *hours, legal_entry_t *e, const char *where, char *errbuf,
                       size_t errlen)
{
    char at[160];
    if (!json_is_object(hours))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.hours: must be an object of day (mon..sun, all) to hours", where);
    for (int d = 0; d < 7; d++)
        e->hours[d] = (legal_hours_t){true, 0, WINDOW_MINUTES_PER_DAY};
    const char *key;
    json_t *v;
    json_object_foreach(hours, key, v)
    {
        int day = -1;
        for (int d = 0; d < 7; d++)
            if (strcmp(key, day_keys[d]) == 0)
                day = d;
        if (day < 0 && strcmp(key, "all") != 0)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "%s.hours.%.16s: not a day (mon, tue, ..., sun, all)", where, key);
        snprintf(at, sizeof(at), "%s.hours.%s", where, key);
        if (!json_is_string(v))
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "%s: must be a string \"HH:MM-HH:MM\" or \"closed\"", at);
        legal_hours_t h;
        int rc = hours_parse(json_string_value(v), &h, at, errbuf, errlen);
        if (rc != OD_OK)
            return rc;
        /* A named day wins over "all", whatever the key order. */
        for (int d = 0; d < 7; d++)
            if (d == day || (day < 0 && !json_object_get(hours, day_keys[d])))
                e->hours[d] = h;
    }
    return OD_OK;
}

static int parse_holidays(json_t *list, legal_entry_t *e, const char *where, char *errbuf,
                          size_t errlen)
{
    if (!json_is_array(list))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.holidays: must be an array of holiday names", where);
    memset(e->holidays, 0, sizeof(e->holidays));
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        holiday_id_t id;
        char msg[160];
        if (!json_is_string(v))
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.holidays[%zu]: must be a string",
                           where, i);
        if (holiday_from_name(json_string_value(v), &id, msg, sizeof(msg)) != OD_OK)
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.holidays[%zu]: %s", where, i, msg);
        e->holidays[id] = true;
    }
    return OD_OK;
}

static int parse_sources(json_t *list, legal_entry_t *e, const char *where, char *errbuf,
                         size_t errlen)
{
    if (!json_is_array(list) || json_array_size(list) == 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s.sources: every entry needs a non-empty array of citations", where);
    e->sources = xcalloc(json_array_size(list), sizeof(char *));
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        char at[160];
        const char *cite, *url;
        snprintf(at, sizeof(at), "%s.sources[%zu]", where, i);
        if (!json_is_object(v))
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: must be an object", at);
        int rc = field_string(v, "cite", true, at, &cite, errbuf, errlen);
        if (rc == OD_OK)
            rc = field_string(v, "url", false, at, &url, errbuf, errlen);
        if (rc != OD_OK)
            return rc;
        size_t len = strlen(cite) + (url ? strlen(url) + 3 : 0) + 1;
        e->sources[i] = xmalloc(len);
        snprintf(e->sources[i], len, url ? "%s <%s>" : "%s", cite, url);
        e->n_sources = i + 1;
    }
    return OD_OK;
}

/* Applies obj's fields to e. A pack entry needs name and sources; an
 * override (is_override) may hold only code and the fields it replaces. */
static int parse_entry(json_t *obj, legal_entry_t *e, bool is_override, const char *where,
                       char *errbuf, size_t errlen)
{
    static const char *const pack_keys[] = {"code",          "name",    "hours", "holidays",
                                            "calls_per_24h", "sources", "note"};
    static const char *const override_keys[] = {"code", "hours", "holidays", "calls_per_24h",
                                                "note"};
    if (!json_is_object(obj))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: must be an object", where);
    const char *const *keys = is_override ? override_keys : pack_keys;
    size_t n_keys = is_override ? 5 : 7;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < n_keys; i++)
            ok = ok || strcmp(key, keys[i]) == 0;
        if (!ok)
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%.32s: unknown field", where, key);
    }
    const char *s;
    int rc = OD_OK;
    if (!is_override) {
        rc = field_string(obj, "name", true, where, &s, errbuf, errlen);
        if (rc != OD_OK)
            return rc;
        e->name = xstrdup(s);
        for (int d = 0; d < 7; d++)
            e->hours[d] = (legal_hours_t){true, 0, WINDOW_MINUTES_PER_DAY};
        rc = parse_sources(json_object_get(obj, "sources"), e, where, errbuf, errlen);
    }
    if (rc == OD_OK && json_object_get(obj, "hours"))
        rc = parse_hours(json_object_get(obj, "hours"), e, where, errbuf, errlen);
    if (rc == OD_OK && json_object_get(obj, "holidays"))
        rc = parse_holidays(json_object_get(obj, "holidays"), e, where, errbuf, errlen);
    if (rc == OD_OK && (v = json_object_get(obj, "calls_per_24h"))) {
        /* 0 (no cap) only in an override, to lift the pack's cap knowingly. */
        json_int_t cap = json_is_integer(v) ? json_integer_value(v) : -1;
        if (cap < (is_override ? 0 : 1) || cap > 1000)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "%s.calls_per_24h: must be an integer from %d to 1000", where,
                           is_override ? 0 : 1);
        e->calls_per_24h = (int)cap;
    }
    if (rc == OD_OK && json_object_get(obj, "note")) {
        rc = field_string(obj, "note", false, where, &s, errbuf, errlen);
        if (rc == OD_OK) {
            free(e->note);
            e->note = xstrdup(s);
        }
    }
    return rc;
}

/* Reads "code" of obj into e->code; federal: must be "US". */
static int parse_code(json_t *obj, legal_entry_t *e, bool federal, const char *where, char *errbuf,
                      size_t errlen)
{
    const char *code;
    int rc = field_string(obj, "code", true, where, &code, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    if (federal ? strcmp(code, "US") != 0 : !legal_code_known(code))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       federal ? "%s.code: '%.8s' must be \"US\""
                               : "%s.code: '%.8s' is not a US state, DC or Canadian province "
                                 "code (two capital letters, e.g. FL)",
                       where, code);
    snprintf(e->code, sizeof(e->code), "%s", code);
    return OD_OK;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const legal_entry_t *)a)->code, ((const legal_entry_t *)b)->code);
}

static int parse_pack(json_t *root, legal_pack_t *pack, char *errbuf, size_t errlen)
{
    const char *s;
    if (!json_is_object(root))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "rule pack: must be a JSON object");
    int rc = field_string(root, "version", true, "rule pack", &s, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    pack->version = xstrdup(s);
    rc = field_string(root, "updated", true, "rule pack", &s, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    int y, m, d, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || (size_t)n != strlen(s) || m < 1 ||
        m > 12 || d < 1 || d > 31)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "rule pack.updated: '%.16s' is not a date YYYY-MM-DD", s);
    pack->updated = xstrdup(s);
    json_t *federal = json_object_get(root, "federal");
    rc = parse_code(federal, &pack->federal, true, "federal", errbuf, errlen);
    if (rc == OD_OK)
        rc = parse_entry(federal, &pack->federal, false, "federal", errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    json_t *list = json_object_get(root, "jurisdictions");
    if (!json_is_array(list) || json_array_size(list) > LEGAL_MAX_ENTRIES)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "rule pack.jurisdictions: must be an array of at most %d entries",
                       LEGAL_MAX_ENTRIES);
    pack->entries = xcalloc(json_array_size(list) + 1, sizeof(legal_entry_t));
    size_t i;
    json_t *obj;
    json_array_foreach(list, i, obj)
    {
        char where[64];
        legal_entry_t *e = &pack->entries[i];
        snprintf(where, sizeof(where), "jurisdictions[%zu]", i);
        pack->n_entries = i + 1;
        rc = parse_code(obj, e, false, where, errbuf, errlen);
        if (rc != OD_OK)
            return rc;
        snprintf(where, sizeof(where), "jurisdictions[%zu] (%s)", i, e->code);
        rc = parse_entry(obj, e, false, where, errbuf, errlen);
        if (rc != OD_OK)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(pack->entries[j].code, e->code) == 0)
                return od_fail(errbuf, errlen, OD_ERR_INVALID,
                               "%s.code: %s already has an entry (jurisdictions[%zu])", where,
                               e->code, j);
    }
    qsort(pack->entries, pack->n_entries, sizeof(legal_entry_t), entry_cmp);
    return OD_OK;
}

int legal_pack_parse(const char *json, legal_pack_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json ? json_loads(json, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!root)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "rule pack: not JSON (line %d: %s)",
                       json ? jerr.line : 0, json ? jerr.text : "no text");
    legal_pack_t *pack = xcalloc(1, sizeof(*pack));
    int rc = parse_pack(root, pack, errbuf, errlen);
    json_decref(root);
    if (rc != OD_OK) {
        legal_pack_free(pack);
        return rc;
    }
    *out = pack;
    return OD_OK;
}

const legal_entry_t *legal_pack_find(const legal_pack_t *pack, const char *code)
{
    legal_entry_t key;
    if (!code || strlen(code) >= sizeof(key.code))
        return NULL;
    snprintf(key.code, sizeof(key.code), "%s", code);
    return bsearch(&key, pack->entries, pack->n_entries, sizeof(legal_entry_t), entry_cmp);
}

int legal_overrides_parse(const legal_pack_t *pack, const char *json, legal_entry_t **out,
                          size_t *n_out, char *errbuf, size_t errlen)
{
    *out = NULL;
    *n_out = 0;
    json_error_t jerr;
    json_t *root = json ? json_loads(json, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!root)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "overrides: not JSON (line %d: %s)",
                       json ? jerr.line : 0, json ? jerr.text : "no text");
    int rc = OD_OK;
    legal_entry_t *entries = NULL;
    size_t n = 0;
    if (!json_is_array(root) || json_array_size(root) > LEGAL_MAX_ENTRIES) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                     "overrides: must be an array of at most %d objects", LEGAL_MAX_ENTRIES);
        goto out;
    }
    entries = xcalloc(json_array_size(root) + 1, sizeof(legal_entry_t));
    size_t i;
    json_t *obj;
    json_array_foreach(root, i, obj)
    {
        char where[64];
        legal_entry_t code_only = {0};
        snprintf(where, sizeof(where), "overrides[%zu]", i);
        if (!json_is_object(obj)) {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: must be an object", where);
            goto out;
        }
        rc = parse_code(obj, &code_only, false, where, errbuf, errlen);
        if (rc != OD_OK)
            goto out;
        const legal_entry_t *base = legal_pack_find(pack, code_only.code);
        if (!base) {
            rc = od_fail(errbuf, errlen, OD_ERR_NOT_FOUND,
                         "%s.code: the rule pack has no entry for %s to override", where,
                         code_only.code);
            goto out;
        }
        for (size_t j = 0; j < n; j++)
            if (strcmp(entries[j].code, base->code) == 0) {
                rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.code: %s is overridden twice",
                             where, base->code);
                goto out;
            }
        entry_copy(&entries[n], base);
        entries[n].overridden = true;
        n++;
        snprintf(where, sizeof(where), "overrides[%zu] (%s)", i, base->code);
        rc = parse_entry(obj, &entries[n - 1], true, where, errbuf, errlen);
        if (rc != OD_OK)
            goto out;
    }
    *out = entries;
    *n_out = n;
    entries = NULL; /* now owned by the caller */
out:
    legal_entries_free(entries, n);
    json_decref(root);
    return rc;
}

/* ---- selection ---- */

static const legal_entry_t *override_or(const legal_entry_t *entry, const legal_entry_t *overrides,
                                        size_t n_overrides)
{
    for (size_t i = 0; i < n_overrides; i++)
        if (strcmp(overrides[i].code, entry->code) == 0)
            return &overrides[i];
    return entry;
}

int legal_rules_select(const legal_pack_t *pack, legal_profile_t profile, const char *jurisdiction,
                       const legal_entry_t *overrides, size_t n_overrides, legal_rules_t *out,
                       char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    bool unknown = !jurisdiction || !*jurisdiction;
    if (!unknown && !legal_code_known(jurisdiction))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "jurisdiction '%.8s' is not a US state, DC or Canadian province code",
                       jurisdiction);
    if (profile == LEGAL_PROFILE_NONE)
        return OD_OK;
    out->entries[out->n_entries++] = &pack->federal;
    if (profile == LEGAL_PROFILE_US_STATES) {
        if (unknown) {
            out->strictest = true;
            for (size_t i = 0; i < pack->n_entries; i++)
                out->entries[out->n_entries++] =
                    override_or(&pack->entries[i], overrides, n_overrides);
        } else {
            const legal_entry_t *entry = legal_pack_find(pack, jurisdiction);
            if (entry)
                out->entries[out->n_entries++] = override_or(entry, overrides, n_overrides);
        }
    }
    for (size_t i = 0; i < out->n_entries; i++) {
        int cap = out->entries[i]->calls_per_24h;
        if (cap > 0 && (out->calls_per_24h == 0 || cap < out->calls_per_24h))
            out->calls_per_24h = cap;
    }
    return OD_OK;
}

/* ---- evaluation ---- */

/* Local date and minute of day of t_us. */
static int local_at(UCalendar *cal, int64_t t_us, holiday_date_t *date, int *minute, char *errbuf,
                    size_t errlen)
{
    UErrorCode status = U_ZERO_ERROR;
    int64_t ms = t_us / USEC_PER_MS - (t_us % USEC_PER_MS < 0);
    ucal_setMillis(cal, (UDate)ms, &status);
    date->year = ucal_get(cal, UCAL_EXTENDED_YEAR, &status);
    date->month = ucal_get(cal, UCAL_MONTH, &status) + 1;
    date->day = ucal_get(cal, UCAL_DATE, &status);
    *minute = ucal_get(cal, UCAL_HOUR_OF_DAY, &status) * 60 + ucal_get(cal, UCAL_MINUTE, &status);
    if (U_FAILURE(status))
        return window_icu_fail(errbuf, errlen, "ucal_get", status);
    return OD_OK;
}

/* The instant of local (date, minute); minute 1440 is the next midnight. */
static int instant_of(UCalendar *cal, holiday_date_t date, int minute, int64_t *t_us, char *errbuf,
                      size_t errlen)
{
    if (minute >= WINDOW_MINUTES_PER_DAY) {
        date = holiday_date_add(date, 1);
        minute -= WINDOW_MINUTES_PER_DAY;
    }
    UErrorCode status = U_ZERO_ERROR;
    ucal_clear(cal);
    ucal_setDateTime(cal, date.year, date.month - 1, date.day, minute / 60, minute % 60, 0,
                     &status);
    UDate ms = ucal_getMillis(cal, &status);
    if (U_FAILURE(status))
        return window_icu_fail(errbuf, errlen, "ucal_getMillis", status);
    *t_us = (int64_t)ms * USEC_PER_MS;
    return OD_OK;
}

/* Why entry allows no call at all on date (false: it allows its hours). */
static bool day_blocked(const legal_entry_t *e, holiday_date_t date, legal_reason_t *reason,
                        holiday_id_t *holiday)
{
    for (int h = 0; h < HOLIDAY_COUNT; h++)
        if (e->holidays[h] && holiday_falls_on((holiday_id_t)h, date.year, date.month, date.day)) {
            *reason = LEGAL_REASON_HOLIDAY;
            *holiday = (holiday_id_t)h;
            return true;
        }
    if (!e->hours[holiday_weekday(date.year, date.month, date.day) - 1].open) {
        *reason = LEGAL_REASON_CLOSED_DAY;
        return true;
    }
    return false;
}

/* The local hours all entries allow on date: [*start, *end) in minutes;
 * false when one of them allows none (a holiday, a closed weekday, or hours
 * that do not meet). */
static bool day_span(const legal_entry_t *const *entries, size_t n, holiday_date_t date, int *start,
                     int *end)
{
    *start = 0;
    *end = WINDOW_MINUTES_PER_DAY;
    int weekday = holiday_weekday(date.year, date.month, date.day);
    for (size_t k = 0; k < n; k++) {
        legal_reason_t reason;
        holiday_id_t holiday;
        const legal_hours_t *h = &entries[k]->hours[weekday - 1];
        if (day_blocked(entries[k], date, &reason, &holiday))
            return false;
        *start = h->start_min > *start ? h->start_min : *start;
        *end = h->end_min < *end ? h->end_min : *end;
    }
    return *start < *end;
}

/* The earliest instant >= at_us that every entry allows: day by day from
 * at_us's local date, the intersection of the entries' hours of that day. */
static int next_allowed(UCalendar *cal, const legal_entry_t *const *entries, size_t n,
                        int64_t at_us, int64_t *open_us, char *errbuf, size_t errlen)
{
    holiday_date_t date;
    int minute;
    int rc = local_at(cal, at_us, &date, &minute, errbuf, errlen);
    for (int i = 0; rc == OD_OK && i <= LEGAL_HORIZON_DAYS; i++, date = holiday_date_add(date, 1)) {
        int start, end;
        if (!day_span(entries, n, date, &start, &end))
            continue;
        int64_t t_open, t_close;
        rc = instant_of(cal, date, start, &t_open, errbuf, errlen);
        if (rc == OD_OK)
            rc = instant_of(cal, date, end, &t_close, errbuf, errlen);
        if (rc == OD_OK && t_open < t_close && at_us < t_close) {
            *open_us = at_us > t_open ? at_us : t_open;
            return OD_OK;
        }
    }
    if (rc != OD_OK)
        return rc;
    return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "the legal rules allow no call within %d days",
                   LEGAL_HORIZON_DAYS);
}

/* How many local days legal_close_at() follows a span that runs through
 * midnight into the next day: rules open all day every day never close,
 * and the answer is then WINDOW_NEVER. */
#define LEGAL_CLOSE_DAYS_MAX 8

int legal_close_at(const legal_rules_t *rules, const char *zone, int64_t at_us, int64_t *close_us,
                   char *errbuf, size_t errlen)
{
    *close_us = WINDOW_NEVER;
    if (rules->n_entries == 0)
        return OD_OK;
    UCalendar *cal = NULL;
    int rc = window_calendar_open(zone, &cal, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    holiday_date_t date;
    int minute, start, end;
    rc = local_at(cal, at_us, &date, &minute, errbuf, errlen);
    if (rc == OD_OK && (!day_span(rules->entries, rules->n_entries, date, &start, &end) ||
                        minute < start || minute >= end))
        rc = od_fail(errbuf, errlen, OD_ERR_CONFLICT, "the legal rules forbid a call at %s",
                     "the instant asked about");
    /* The span ends at end; if that is midnight and the next day opens at
     * midnight, it runs on. */
    for (int i = 0; rc == OD_OK && i < LEGAL_CLOSE_DAYS_MAX; i++) {
        if (end < WINDOW_MINUTES_PER_DAY) {
            rc = instant_of(cal, date, end, close_us, errbuf, errlen);
            break;
        }
        date = holiday_date_add(date, 1);
        if (!day_span(rules->entries, rules->n_entries, date, &start, &end) || start > 0) {
            rc = instant_of(cal, date, 0, close_us, errbuf, errlen);
            break;
        }
    }
    ucal_close(cal);
    return rc;
}

int legal_check(const legal_rules_t *rules, const char *zone, int64_t at_us, legal_verdict_t *out,
                char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    UCalendar *cal = NULL;
    int rc = window_calendar_open(zone, &cal, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    holiday_date_t date;
    int minute;
    rc = local_at(cal, at_us, &date, &minute, errbuf, errlen);
    int weekday = holiday_weekday(date.year, date.month, date.day);
    for (size_t k = 0; rc == OD_OK && k < rules->n_entries; k++) {
        const legal_entry_t *e = rules->entries[k];
        legal_block_t block = {.entry = e, .weekday = weekday};
        const legal_hours_t *h = &e->hours[weekday - 1];
        if (!day_blocked(e, date, &block.reason, &block.holiday)) {
            if (minute >= h->start_min && minute < h->end_min)
                continue;
            block.reason = LEGAL_REASON_HOURS;
        }
        rc = next_allowed(cal, &rules->entries[k], 1, at_us, &block.clears_us, errbuf, errlen);
        if (rc == OD_OK && out->n_blocks < LEGAL_MAX_BLOCKS)
            out->blocks[out->n_blocks++] = block;
    }
    if (rc == OD_OK) {
        out->allowed = out->n_blocks == 0;
        out->next_allowed_us = at_us;
        if (!out->allowed)
            rc = next_allowed(cal, rules->entries, rules->n_entries, at_us, &out->next_allowed_us,
                              errbuf, errlen);
    }
    ucal_close(cal);
    return rc;
}

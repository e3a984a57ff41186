/*
 * lead_map.c — CSV header mapping and the per-row lead decision; see
 * lead_map.h.
 */
#include "lead_map.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/uenum.h>
#include <unicode/ustring.h>

#include "csv_reader.h"
#include "lead_region.h"
#include "legal.h"
#include "xmalloc.h"

/* Longest normalized header kept; longer names are cut (variable keys of
 * 200 bytes are already unusable in templates). */
#define NORM_MAX 200

typedef struct map_column {
    lead_field_t field;
    char *header;   /* trimmed, as in the file */
    char *norm;     /* normalized */
    char *variable; /* variable key, or NULL */
    int order;      /* explicit secondary_phone_N: N; else 0 */
} map_column_t;

struct lead_map {
    map_column_t *cols;
    size_t n;
    /* column of each single field, -1 when absent */
    int phone, name, first_name, last_name, email, timezone, external_id, state;
    size_t n_secondary;
    int secondary[LEAD_MAP_SECONDARY_MAX]; /* columns, in contact order */
};

/* ---- names ---------------------------------------------------------------- */

static const char *const field_names[] = {
    [LEAD_FIELD_VARIABLE] = "variable",   [LEAD_FIELD_PHONE] = "phone",
    [LEAD_FIELD_NAME] = "name",           [LEAD_FIELD_FIRST_NAME] = "first_name",
    [LEAD_FIELD_LAST_NAME] = "last_name", [LEAD_FIELD_EMAIL] = "email",
    [LEAD_FIELD_TIMEZONE] = "timezone",   [LEAD_FIELD_EXTERNAL_ID] = "external_id",
    [LEAD_FIELD_STATE] = "state",         [LEAD_FIELD_SECONDARY_PHONE] = "secondary_phone",
};

const char *lead_field_name(lead_field_t f)
{
    if ((size_t)f < sizeof(field_names) / sizeof(field_names[0]))
        return field_names[f];
    return "unknown";
}

/* Default header names per single field, best first (lead_map.h). */
static const char *const phone_names[] = {"phone",      "phone_number",  "phonenumber",  "number",
                                          "mobile",     "mobile_number", "mobile_phone", "cell",
                                          "cell_phone", "cellphone",     "telephone",    "tel",
                                          "msisdn",     "primary_phone", "phone_1",      NULL};
static const char *const name_names[] = {"name",         "full_name",     "fullname",
                                         "contact_name", "customer_name", NULL};
static const char *const first_names[] = {"first_name", "firstname", "first", "given_name", NULL};
static const char *const last_names[] = {"last_name", "lastname",    "last",
                                         "surname",   "family_name", NULL};
static const char *const email_names[] = {"email", "e_mail", "email_address", "mail", NULL};
static const char *const timezone_names[] = {"timezone", "time_zone", "tz", NULL};
static const char *const external_id_names[] = {"external_id", "externalid", "crm_id", NULL};
static const char *const state_names[] = {"state",      "province",      "region",
                                          "state_code", "province_code", NULL};

/* Each single field: where the map keeps its column, and its default header
 * names. Indexed by lead_field_t; the rows without names are not single. */
static const struct {
    size_t slot; /* offsetof() the field's column in lead_map_t */
    const char *const *names;
} single_fields[] = {
    [LEAD_FIELD_PHONE] = {offsetof(lead_map_t, phone), phone_names},
    [LEAD_FIELD_NAME] = {offsetof(lead_map_t, name), name_names},
    [LEAD_FIELD_FIRST_NAME] = {offsetof(lead_map_t, first_name), first_names},
    [LEAD_FIELD_LAST_NAME] = {offsetof(lead_map_t, last_name), last_names},
    [LEAD_FIELD_EMAIL] = {offsetof(lead_map_t, email), email_names},
    [LEAD_FIELD_TIMEZONE] = {offsetof(lead_map_t, timezone), timezone_names},
    [LEAD_FIELD_EXTERNAL_ID] = {offsetof(lead_map_t, external_id), external_id_names},
    [LEAD_FIELD_STATE] = {offsetof(lead_map_t, state), state_names},
};

/* field_slot hands out int pointers at those offsets. */
#define IS_INT_COLUMN(f) _Generic(((lead_map_t *)0)->f, int : 1, default : 0)
_Static_assert(IS_INT_COLUMN(phone) && IS_INT_COLUMN(name) && IS_INT_COLUMN(first_name) &&
                   IS_INT_COLUMN(last_name) && IS_INT_COLUMN(email) && IS_INT_COLUMN(timezone) &&
                   IS_INT_COLUMN(external_id) && IS_INT_COLUMN(state),
               "every single field's column in lead_map_t is an int");
#undef IS_INT_COLUMN

static const char *const secondary_bases[] = {
    "secondary_phone", "secondary_number", "alternate_phone", "alt_phone", "other_phone", NULL};

size_t lead_map_normalize(const char *s, size_t len, char *out, size_t outlen)
{
    size_t n = 0;
    bool sep = false;
    if (outlen == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool keep = c >= 0x80 || isalnum(c);
        if (!keep) {
            sep = n > 0;
            continue;
        }
        if (sep && n + 1 < outlen)
            out[n++] = '_';
        sep = false;
        if (n + 1 < outlen)
            out[n++] = (char)(c < 0x80 ? tolower(c) : c);
    }
    out[n] = '\0';
    return n;
}

/* Whether a normalized name ends in a number (with or without '_'): its
 * value in *num and the length of the part before it in *base_len. */
static bool split_number(const char *norm, size_t *base_len, int *num)
{
    size_t n = strlen(norm);
    size_t d = n;
    while (d > 0 && isdigit((unsigned char)norm[d - 1]))
        d--;
    if (d == n || d == 0 || n - d > 3)
        return false;
    *num = atoi(norm + d);
    *base_len = (norm[d - 1] == '_') ? d - 1 : d;
    return *base_len > 0;
}

static bool base_is(const char *norm, size_t base_len, const char *base)
{
    return strlen(base) == base_len && strncmp(norm, base, base_len) == 0;
}

/* Whether a normalized header names a secondary phone by default. */
static bool secondary_default(const char *norm)
{
    for (size_t k = 0; secondary_bases[k]; k++)
        if (strcmp(norm, secondary_bases[k]) == 0)
            return true;
    size_t base_len;
    int num;
    if (!split_number(norm, &base_len, &num))
        return false;
    for (size_t k = 0; secondary_bases[k]; k++)
        if (base_is(norm, base_len, secondary_bases[k]))
            return true;
    return base_is(norm, base_len, "phone") && num >= 2;
}

/* A field name of an explicit mapping: its field, and for
 * secondary_phone[_N] the N (1 for none). */
static bool spec_field_parse(const char *name, lead_field_t *field, int *order)
{
    char norm[64];
    lead_map_normalize(name, strlen(name), norm, sizeof(norm));
    *order = 0;
    for (lead_field_t f = LEAD_FIELD_PHONE; f < LEAD_FIELD_SECONDARY_PHONE; f++) {
        if (strcmp(norm, field_names[f]) == 0) {
            *field = f;
            return true;
        }
    }
    if (strcmp(norm, "secondary_phone") == 0) {
        *field = LEAD_FIELD_SECONDARY_PHONE;
        *order = 1;
        return true;
    }
    size_t base_len;
    int num;
    if (split_number(norm, &base_len, &num) && base_is(norm, base_len, "secondary_phone") &&
        num >= 1 && num <= LEAD_MAP_SECONDARY_MAX) {
        *field = LEAD_FIELD_SECONDARY_PHONE;
        *order = num;
        return true;
    }
    return false;
}

/* ---- explicit mappings ---------------------------------------------------- */

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)(*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

void lead_map_spec_free(lead_map_spec_t *spec)
{
    if (!spec)
        return;
    for (size_t i = 0; i < spec->n; i++) {
        free(spec->pairs[i].field);
        free(spec->pairs[i].column);
    }
    free(spec->pairs);
    free(spec);
}

static int spec_add(lead_map_spec_t *spec, const char *field, size_t flen, const char *column,
                    size_t clen, char *errbuf, size_t errlen)
{
    trim(&field, &flen);
    trim(&column, &clen);
    char *f = xstrndup(field, flen);
    lead_field_t kind;
    int order;
    int rc = OD_OK;
    if (!spec_field_parse(f, &kind, &order)) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                     "mapping: unknown field '%s' (fields: phone, name, first_name, last_name, "
                     "email, timezone, external_id, secondary_phone, secondary_phone_2, ...)",
                     f);
        goto out;
    }
    if (clen == 0) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "mapping: field '%s' has no column name", f);
        goto out;
    }
    for (size_t i = 0; i < spec->n; i++) {
        lead_field_t other;
        int other_order;
        if (spec_field_parse(spec->pairs[i].field, &other, &other_order) && other == kind &&
            other_order == order) {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "mapping: field '%s' is given twice", f);
            goto out;
        }
    }
    spec->pairs = xrealloc(spec->pairs, (spec->n + 1) * sizeof(*spec->pairs));
    /* Stored under its canonical name ("Phone" -> "phone"). */
    if (kind == LEAD_FIELD_SECONDARY_PHONE && order > 1)
        spec->pairs[spec->n].field = xasprintf("secondary_phone_%d", order);
    else
        spec->pairs[spec->n].field = xstrdup(lead_field_name(kind));
    spec->pairs[spec->n].column = xstrndup(column, clen);
    spec->n++;
out:
    free(f);
    return rc;
}

int lead_map_spec_parse(const char *text, lead_map_spec_t **out, char *errbuf, size_t errlen)
{
    lead_map_spec_t *spec = xcalloc(1, sizeof(*spec));
    int rc = OD_OK;
    const char *p = text ? text : "";
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        const char *item = p;
        size_t item_len = len;
        trim(&item, &item_len);
        if (item_len > 0) {
            if (!eq) {
                rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                             "mapping: '%.*s' is not field=Column (e.g. phone=Mobile)",
                             (int)item_len, item);
                goto fail;
            }
            rc = spec_add(spec, p, (size_t)(eq - p), eq + 1, len - (size_t)(eq - p) - 1, errbuf,
                          errlen);
            if (rc != OD_OK)
                goto fail;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    *out = spec;
    return OD_OK;
fail:
    lead_map_spec_free(spec);
    *out = NULL;
    return rc;
}

int lead_map_spec_from_json(const char *json, lead_map_spec_t **out, char *errbuf, size_t errlen)
{
    lead_map_spec_t *spec = xcalloc(1, sizeof(*spec));
    json_error_t jerr;
    json_t *root = json_loads(json ? json : "{}", JSON_REJECT_DUPLICATES, &jerr);
    int rc = OD_OK;
    if (!root || !json_is_object(root)) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                     "mapping: not a JSON object of field -> column name");
        goto fail;
    }
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        if (!json_is_string(value)) {
            rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                         "mapping: the column of '%s' must be a string", key);
            goto fail;
        }
        rc = spec_add(spec, key, strlen(key), json_string_value(value), json_string_length(value),
                      errbuf, errlen);
        if (rc != OD_OK)
            goto fail;
    }
    json_decref(root);
    *out = spec;
    return OD_OK;
fail:
    json_decref(root);
    lead_map_spec_free(spec);
    *out = NULL;
    return rc;
}

char *lead_map_spec_to_json(const lead_map_spec_t *spec)
{
    json_t *obj = json_object();
    for (size_t i = 0; spec && i < spec->n; i++)
        json_object_set_new(obj, spec->pairs[i].field, json_string(spec->pairs[i].column));
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    return text ? text : xstrdup("{}");
}

/* ---- building a map ------------------------------------------------------- */

void lead_map_free(lead_map_t *map)
{
    if (!map)
        return;
    for (size_t i = 0; i < map->n; i++) {
        free(map->cols[i].header);
        free(map->cols[i].norm);
        free(map->cols[i].variable);
    }
    free(map->cols);
    free(map);
}

/* The column of single field f in map, or NULL when f is not single. */
static int *field_slot(lead_map_t *map, lead_field_t f)
{
    if ((size_t)f >= OD_COUNT(single_fields) || !single_fields[f].names)
        return NULL;
    return (int *)((char *)map + single_fields[f].slot);
}

/* The columns of the file, for error messages: 'A', 'B', ... */
static void columns_list(const lead_map_t *map, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < map->n && used + 1 < len; i++) {
        int n = snprintf(buf + used, len - used, "%s'%s'", i ? ", " : "", map->cols[i].header);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (used >= len && len > 4)
        memcpy(buf + len - 4, "...", 4);
}

static int column_find(const lead_map_t *map, const char *name)
{
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->cols[i].header, name) == 0)
            return (int)i;
    char norm[NORM_MAX + 1];
    lead_map_normalize(name, strlen(name), norm, sizeof(norm));
    if (!norm[0])
        return -1;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->cols[i].norm, norm) == 0)
            return (int)i;
    return -1;
}

static int spec_apply(lead_map_t *map, const lead_map_spec_t *spec, bool *explicit_secondary,
                      char *errbuf, size_t errlen)
{
    char cols[512];
    for (size_t k = 0; spec && k < spec->n; k++) {
        lead_field_t field;
        int order;
        if (!spec_field_parse(spec->pairs[k].field, &field, &order))
            return od_fail(errbuf, errlen, OD_ERR_INVALID, "mapping: unknown field '%s'",
                           spec->pairs[k].field);
        int c = column_find(map, spec->pairs[k].column);
        if (c < 0) {
            columns_list(map, cols, sizeof(cols));
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "mapping: the file has no column '%s' (for %s); its columns are %s",
                           spec->pairs[k].column, spec->pairs[k].field, cols);
        }
        map_column_t *col = &map->cols[c];
        if (col->field != LEAD_FIELD_VARIABLE)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "mapping: column '%s' is mapped to both %s and %s", col->header,
                           lead_field_name(col->field), lead_field_name(field));
        col->field = field;
        col->order = order;
        if (field == LEAD_FIELD_SECONDARY_PHONE)
            *explicit_secondary = true;
        else
            *field_slot(map, field) = c;
    }
    return OD_OK;
}

static void defaults_apply(lead_map_t *map, lead_field_t field, const char *const *names)
{
    int *slot = field_slot(map, field);
    if (*slot >= 0)
        return;
    for (size_t k = 0; names[k]; k++) {
        for (size_t i = 0; i < map->n; i++) {
            if (map->cols[i].field == LEAD_FIELD_VARIABLE &&
                strcmp(map->cols[i].norm, names[k]) == 0) {
                map->cols[i].field = field;
                *slot = (int)i;
                return;
            }
        }
    }
}

static int secondary_collect(lead_map_t *map, bool explicit_secondary, char *errbuf, size_t errlen)
{
    map->n_secondary = 0;
    if (explicit_secondary) {
        /* Ordered by N of secondary_phone_N. */
        for (int order = 1; order <= LEAD_MAP_SECONDARY_MAX; order++)
            for (size_t i = 0; i < map->n; i++)
                if (map->cols[i].field == LEAD_FIELD_SECONDARY_PHONE && map->cols[i].order == order)
                    map->secondary[map->n_secondary++] = (int)i;
        return OD_OK;
    }
    for (size_t i = 0; i < map->n; i++) {
        if (map->cols[i].field != LEAD_FIELD_VARIABLE || !secondary_default(map->cols[i].norm))
            continue;
        if (map->n_secondary == LEAD_MAP_SECONDARY_MAX)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "more than %d secondary phone columns (from '%s' on)",
                           LEAD_MAP_SECONDARY_MAX, map->cols[i].header);
        map->cols[i].field = LEAD_FIELD_SECONDARY_PHONE;
        map->secondary[map->n_secondary++] = (int)i;
    }
    return OD_OK;
}

static bool variable_taken(const lead_map_t *map, size_t upto, const char *key)
{
    for (size_t i = 0; i < upto; i++)
        if (map->cols[i].variable && strcmp(map->cols[i].variable, key) == 0)
            return true;
    return false;
}

static void variables_name(lead_map_t *map)
{
    for (size_t i = 0; i < map->n; i++) {
        map_column_t *col = &map->cols[i];
        char base[NORM_MAX + 16];
        switch (col->field) {
        case LEAD_FIELD_VARIABLE:
            if (col->norm[0])
                snprintf(base, sizeof(base), "%s", col->norm);
            else
                snprintf(base, sizeof(base), "column_%zu", i + 1);
            break;
        case LEAD_FIELD_FIRST_NAME:
        case LEAD_FIELD_LAST_NAME:
        case LEAD_FIELD_EMAIL:
            snprintf(base, sizeof(base), "%s", lead_field_name(col->field));
            break;
        default:
            continue;
        }
        char key[NORM_MAX + 32];
        snprintf(key, sizeof(key), "%s", base);
        for (int k = 2; variable_taken(map, i, key); k++)
            snprintf(key, sizeof(key), "%s_%d", base, k);
        col->variable = xstrdup(key);
    }
}

int lead_map_new(const char *const *headers, const size_t *lens, size_t n_columns,
                 const lead_map_spec_t *spec, lead_map_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    if (n_columns > LEAD_MAP_COLUMNS_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "the header has %zu columns; at most %d are allowed", n_columns,
                       LEAD_MAP_COLUMNS_MAX);
    lead_map_t *map = xcalloc(1, sizeof(*map));
    map->phone = map->name = map->first_name = map->last_name = -1;
    map->email = map->timezone = map->external_id = map->state = -1;
    map->cols = xcalloc(n_columns ? n_columns : 1, sizeof(*map->cols));
    map->n = n_columns;
    int rc = OD_OK;
    for (size_t i = 0; i < n_columns; i++) {
        const char *h = headers[i];
        size_t len = lens[i];
        trim(&h, &len);
        map->cols[i].header = xstrndup(h, len);
        char norm[NORM_MAX + 1];
        lead_map_normalize(h, len, norm, sizeof(norm));
        map->cols[i].norm = xstrdup(norm);
    }
    bool explicit_secondary = false;
    if ((rc = spec_apply(map, spec, &explicit_secondary, errbuf, errlen)) != OD_OK)
        goto fail;
    /* In the table's order, phone first: a column taken is not offered again. */
    for (size_t f = 0; f < OD_COUNT(single_fields); f++)
        if (single_fields[f].names)
            defaults_apply(map, (lead_field_t)f, single_fields[f].names);
    if ((rc = secondary_collect(map, explicit_secondary, errbuf, errlen)) != OD_OK)
        goto fail;
    if (map->phone < 0) {
        char cols[512];
        columns_list(map, cols, sizeof(cols));
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID,
                     "no phone column: name one 'phone' or map it (phone=COLUMN); the columns "
                     "are %s",
                     cols);
        goto fail;
    }
    variables_name(map);
    *out = map;
    return OD_OK;
fail:
    lead_map_free(map);
    return rc;
}

size_t lead_map_columns(const lead_map_t *map)
{
    return map->n;
}

lead_field_t lead_map_column_field(const lead_map_t *map, size_t i)
{
    return i < map->n ? map->cols[i].field : LEAD_FIELD_VARIABLE;
}

const char *lead_map_column_variable(const lead_map_t *map, size_t i)
{
    return i < map->n ? map->cols[i].variable : NULL;
}

const char *lead_map_column_header(const lead_map_t *map, size_t i)
{
    return i < map->n ? map->cols[i].header : NULL;
}

char *lead_map_describe(const lead_map_t *map)
{
    csv_buf_t b = {0};
    csv_buf_printf(&b, "phone <- '%s'", map->cols[map->phone].header);
    if (map->name >= 0)
        csv_buf_printf(&b, ", name <- '%s'", map->cols[map->name].header);
    else if (map->first_name >= 0 || map->last_name >= 0)
        csv_buf_printf(&b, ", name <- '%s' + '%s'",
                       map->first_name >= 0 ? map->cols[map->first_name].header : "",
                       map->last_name >= 0 ? map->cols[map->last_name].header : "");
    if (map->timezone >= 0)
        csv_buf_printf(&b, ", timezone <- '%s'", map->cols[map->timezone].header);
    if (map->external_id >= 0)
        csv_buf_printf(&b, ", external_id <- '%s'", map->cols[map->external_id].header);
    if (map->state >= 0)
        csv_buf_printf(&b, ", state <- '%s'", map->cols[map->state].header);
    for (size_t k = 0; k < map->n_secondary; k++)
        csv_buf_printf(&b, ", secondary_phone_%zu <- '%s'", k + 1,
                       map->cols[map->secondary[k]].header);
    bool first = true;
    for (size_t i = 0; i < map->n; i++) {
        if (!map->cols[i].variable)
            continue;
        csv_buf_printf(&b, "%s%s", first ? "; variables: " : ", ", map->cols[i].variable);
        first = false;
    }
    char *text = xstrdup(csv_buf_cstr(&b));
    csv_buf_free(&b);
    return text;
}

/* ---- zones ---------------------------------------------------------------- */

/* Every zone ID ICU knows, lower-cased, for case-insensitive matching. */
static struct {
    char (*lower)[WINDOW_ZONE_MAX];
    char (*ids)[WINDOW_ZONE_MAX];
    size_t n;
} zone_table;
static pthread_once_t zone_table_once = PTHREAD_ONCE_INIT;

static void zone_table_build(void)
{
    UErrorCode status = U_ZERO_ERROR;
    UEnumeration *en = ucal_openTimeZones(&status);
    if (U_FAILURE(status))
        return;
    int32_t count = uenum_count(en, &status);
    if (U_FAILURE(status) || count <= 0) {
        uenum_close(en);
        return;
    }
    zone_table.lower = xcalloc((size_t)count, WINDOW_ZONE_MAX);
    zone_table.ids = xcalloc((size_t)count, WINDOW_ZONE_MAX);
    const char *id;
    int32_t len;
    while ((id = uenum_next(en, &len, &status)) != NULL && U_SUCCESS(status)) {
        if (len <= 0 || len >= WINDOW_ZONE_MAX || zone_table.n >= (size_t)count)
            continue;
        memcpy(zone_table.ids[zone_table.n], id, (size_t)len + 1);
        for (int32_t i = 0; i <= len; i++)
            zone_table.lower[zone_table.n][i] = (char)tolower((unsigned char)id[i]);
        zone_table.n++;
    }
    uenum_close(en);
}

/* ICU's canonical ID of a zone window_zone_check accepted. */
static int zone_canonicalize(const char *zone, char out[WINDOW_ZONE_MAX])
{
    UChar uzone[WINDOW_ZONE_MAX];
    UChar canonical[WINDOW_ZONE_MAX];
    int32_t len = (int32_t)strlen(zone);
    u_charsToUChars(zone, uzone, len + 1);
    UBool is_system = 0;
    UErrorCode status = U_ZERO_ERROR;
    int32_t n =
        ucal_getCanonicalTimeZoneID(uzone, len, canonical, WINDOW_ZONE_MAX, &is_system, &status);
    if (U_FAILURE(status) || !is_system || n <= 0 || n >= WINDOW_ZONE_MAX)
        return OD_ERR_INVALID;
    u_UCharsToChars(canonical, out, n);
    out[n] = '\0';
    return OD_OK;
}

#define ZONE_CACHE_SIZE 32

typedef struct zone_cache_entry {
    char raw[WINDOW_ZONE_MAX];
    char canonical[WINDOW_ZONE_MAX]; /* "" when invalid */
} zone_cache_entry_t;

struct lead_map_ctx {
    zone_cache_entry_t zones[ZONE_CACHE_SIZE];
    size_t n_zones;
    size_t next_zone; /* round-robin replacement */
    csv_buf_t name;
    csv_buf_t external_id;
    char timezone[WINDOW_ZONE_MAX];
    char *variables; /* json_dumps result */
};

lead_map_ctx_t *lead_map_ctx_new(void)
{
    return xcalloc(1, sizeof(lead_map_ctx_t));
}

void lead_map_ctx_free(lead_map_ctx_t *ctx)
{
    if (!ctx)
        return;
    csv_buf_free(&ctx->name);
    csv_buf_free(&ctx->external_id);
    free(ctx->variables);
    free(ctx);
}

static int zone_resolve(const char *zone, char out[WINDOW_ZONE_MAX])
{
    if (window_zone_check(zone, NULL, 0) == OD_OK && zone_canonicalize(zone, out) == OD_OK)
        return OD_OK;
    pthread_once(&zone_table_once, zone_table_build);
    char lower[WINDOW_ZONE_MAX];
    size_t len = strlen(zone);
    for (size_t i = 0; i <= len; i++)
        lower[i] = (char)tolower((unsigned char)zone[i]);
    for (size_t k = 0; k < zone_table.n; k++)
        if (strcmp(zone_table.lower[k], lower) == 0 &&
            window_zone_check(zone_table.ids[k], NULL, 0) == OD_OK &&
            zone_canonicalize(zone_table.ids[k], out) == OD_OK)
            return OD_OK;
    return OD_ERR_INVALID;
}

int lead_map_zone_canonical(lead_map_ctx_t *ctx, const char *zone, size_t len,
                            char out[WINDOW_ZONE_MAX], char *errbuf, size_t errlen)
{
    out[0] = '\0';
    if (len == 0 || len >= WINDOW_ZONE_MAX || memchr(zone, '\0', len))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "'%.*s' is not an IANA time zone name (e.g. America/New_York)",
                       (int)(len < 64 ? len : 64), zone);
    char raw[WINDOW_ZONE_MAX];
    memcpy(raw, zone, len);
    raw[len] = '\0';
    for (size_t k = 0; k < ctx->n_zones; k++) {
        if (strcmp(ctx->zones[k].raw, raw) == 0) {
            if (!ctx->zones[k].canonical[0])
                break;
            memcpy(out, ctx->zones[k].canonical, WINDOW_ZONE_MAX);
            return OD_OK;
        }
    }
    int rc = zone_resolve(raw, out);
    zone_cache_entry_t *e;
    if (ctx->n_zones < ZONE_CACHE_SIZE) {
        e = &ctx->zones[ctx->n_zones++];
    } else {
        e = &ctx->zones[ctx->next_zone];
        ctx->next_zone = (ctx->next_zone + 1) % ZONE_CACHE_SIZE;
    }
    memcpy(e->raw, raw, len + 1);
    if (rc == OD_OK)
        memcpy(e->canonical, out, WINDOW_ZONE_MAX);
    else
        e->canonical[0] = '\0';
    if (rc != OD_OK)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "'%s' is not an IANA time zone name (e.g. America/New_York)", raw);
    return OD_OK;
}

int lead_map_zone_canonical_one(const char *zone, char out[WINDOW_ZONE_MAX], char *errbuf,
                                size_t errlen)
{
    lead_map_ctx_t *ctx = lead_map_ctx_new();
    int rc = lead_map_zone_canonical(ctx, zone, strlen(zone), out, errbuf, errlen);
    lead_map_ctx_free(ctx);
    return rc;
}

/* ---- rows ----------------------------------------------------------------- */

/* The trimmed value of column c of a row ("" when absent). */
static void cell(const lead_map_input_t *in, int c, const char **s, size_t *len)
{
    if (c < 0 || (size_t)c >= in->n_fields) {
        *s = "";
        *len = 0;
        return;
    }
    *s = in->fields[c];
    *len = in->lens[c];
    trim(s, len);
}

static bool reject(lead_map_row_t *out, const char *code, const char *fmt, ...) OD_PRINTF(3, 4);

static bool reject(lead_map_row_t *out, const char *code, const char *fmt, ...)
{
    out->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof(out->message), fmt, ap);
    va_end(ap);
    return false;
}

/* A cell value quoted into a message: at most 40 bytes, cut at a UTF-8
 * character boundary. */
static int quoted_len(const char *s, size_t len)
{
    if (len <= 40)
        return (int)len;
    size_t n = 40;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

/* The row as a whole, before any cell is read: a quote that never closed,
 * a row too long, text that is not UTF-8, more cells than the header has
 * columns (empty extra cells are ignored). */
static bool row_shape_check(const lead_map_t *map, const lead_map_input_t *in, lead_map_row_t *out)
{
    if (in->unclosed_quote)
        return reject(out, LEAD_REJECT_UNCLOSED_QUOTE,
                      "a quote opened in this row is never closed: the rest of the file was "
                      "read as part of it");
    if (in->too_long || !in->fields)
        return reject(out, LEAD_REJECT_ROW_TOO_LONG,
                      "the row is too long to be a lead (over 64 KiB): a quote is probably not "
                      "closed");
    if (in->bad_utf8_field >= 0) {
        const char *header = lead_map_column_header(map, (size_t)in->bad_utf8_field);
        if (header)
            return reject(out, LEAD_REJECT_BAD_ENCODING,
                          "column '%s' is not valid UTF-8 text: save the file as \"CSV UTF-8\"",
                          header);
        return reject(out, LEAD_REJECT_BAD_ENCODING,
                      "column %d is not valid UTF-8 text: save the file as \"CSV UTF-8\"",
                      in->bad_utf8_field + 1);
    }
    for (size_t i = map->n; i < in->n_fields; i++) {
        const char *s;
        size_t len;
        cell(in, (int)i, &s, &len);
        if (len > 0)
            return reject(out, LEAD_REJECT_TOO_MANY_COLUMNS,
                          "the row has %zu columns but the header has %zu: a delimiter "
                          "inside a value needs quotes",
                          in->n_fields, map->n);
    }
    return true;
}

/* The primary number into out->e164. */
static bool row_phone(const lead_map_t *map, const char *region, const lead_map_input_t *in,
                      lead_map_row_t *out)
{
    const char *s;
    size_t len;
    cell(in, map->phone, &s, &len);
    phone_reason_t reason = phone_parse(s, len, region, out->e164);
    if (reason == PHONE_OK)
        return true;
    if (reason == PHONE_EMPTY)
        return reject(out, phone_reason_code(reason), "%s (column '%s')",
                      phone_reason_message(reason), map->cols[map->phone].header);
    return reject(out, phone_reason_code(reason), "'%.*s': %s", quoted_len(s, len), s,
                  phone_reason_message(reason));
}

/* The lead's own zone, canonical, when the row names one. */
static bool row_zone(const lead_map_t *map, lead_map_ctx_t *ctx, const lead_map_input_t *in,
                     lead_map_row_t *out)
{
    if (map->timezone < 0)
        return true;
    const char *s;
    size_t len;
    cell(in, map->timezone, &s, &len);
    if (len == 0)
        return true;
    char msg[160];
    if (lead_map_zone_canonical(ctx, s, len, ctx->timezone, msg, sizeof(msg)) != OD_OK)
        return reject(out, LEAD_REJECT_INVALID_TIMEZONE, "%s", msg);
    out->timezone = ctx->timezone;
    return true;
}

bool lead_map_state_canonical(const char *s, size_t len, char out[3])
{
    trim(&s, &len);
    if (len != 2)
        return false;
    out[0] = (char)toupper((unsigned char)s[0]);
    out[1] = (char)toupper((unsigned char)s[1]);
    out[2] = '\0';
    return legal_code_known(out);
}

void lead_map_state_resolve(const char *given, const char *e164, char out[3])
{
    char err[128];
    out[0] = '\0';
    if (given && *given)
        snprintf(out, 3, "%s", given);
    else if (!e164 || lead_region_from_e164(e164, out, err, sizeof(err)) != OD_OK)
        out[0] = '\0';
}

/* The row's state column, else the region of its number (an unknown code
 * is refused: a typo must not silently move a callee to other rules). */
static bool row_state(const lead_map_t *map, const lead_map_input_t *in, lead_map_row_t *out)
{
    char given[3] = "";
    if (map->state >= 0) {
        const char *s;
        size_t len;
        cell(in, map->state, &s, &len);
        trim(&s, &len);
        if (len > 0 && !lead_map_state_canonical(s, len, given))
            return reject(out, LEAD_REJECT_INVALID_STATE,
                          "column '%s', '%.*s': not a US state, DC or Canadian province code "
                          "(two letters, e.g. FL, RI, ON)",
                          map->cols[map->state].header, quoted_len(s, len), s);
    }
    lead_map_state_resolve(given, out->e164, out->state);
    out->state_given = given[0] != '\0';
    return true;
}

/* The secondary numbers in column order, each once and none equal to the
 * primary; empty cells skipped, invalid ones left out and listed in
 * out->cell_rejects. */
static void row_secondaries(const lead_map_t *map, const char *region, const lead_map_input_t *in,
                            lead_map_row_t *out)
{
    for (size_t k = 0; k < map->n_secondary; k++) {
        int c = map->secondary[k];
        const char *s;
        size_t len;
        cell(in, c, &s, &len);
        if (len == 0)
            continue;
        char *e164 = out->secondary[out->n_secondary];
        phone_reason_t reason = phone_parse(s, len, region, e164);
        if (reason != PHONE_OK) {
            lead_map_cell_reject_t *cr = &out->cell_rejects[out->n_cell_rejects++];
            cr->column = (size_t)c;
            cr->code = LEAD_REJECT_INVALID_SECONDARY;
            snprintf(cr->message, sizeof(cr->message),
                     "column '%.*s', '%.*s': %s; the lead was imported without it",
                     quoted_len(map->cols[c].header, strlen(map->cols[c].header)),
                     map->cols[c].header, quoted_len(s, len), s, phone_reason_message(reason));
            continue;
        }
        bool seen = strcmp(e164, out->e164) == 0;
        for (size_t j = 0; j < out->n_secondary && !seen; j++)
            seen = strcmp(e164, out->secondary[j]) == 0;
        if (!seen)
            out->n_secondary++;
    }
}

/* The name column, else first and last name joined by a space. */
static void row_name(const lead_map_t *map, lead_map_ctx_t *ctx, const lead_map_input_t *in,
                     lead_map_row_t *out)
{
    const char *s;
    size_t len;
    csv_buf_reset(&ctx->name);
    cell(in, map->name, &s, &len);
    if (len > 0) {
        csv_buf_append(&ctx->name, s, len);
    } else {
        const char *l;
        size_t llen;
        cell(in, map->first_name, &s, &len);
        cell(in, map->last_name, &l, &llen);
        csv_buf_append(&ctx->name, s, len);
        if (len > 0 && llen > 0)
            csv_buf_putc(&ctx->name, ' ');
        csv_buf_append(&ctx->name, l, llen);
    }
    out->name = csv_buf_cstr(&ctx->name);
}

static void row_external_id(const lead_map_t *map, lead_map_ctx_t *ctx, const lead_map_input_t *in,
                            lead_map_row_t *out)
{
    if (map->external_id < 0)
        return;
    const char *s;
    size_t len;
    cell(in, map->external_id, &s, &len);
    if (len == 0)
        return;
    csv_buf_reset(&ctx->external_id);
    csv_buf_append(&ctx->external_id, s, len);
    out->external_id = csv_buf_cstr(&ctx->external_id);
}

/* Every variable column as a compact JSON object, in column order. */
static void row_variables(const lead_map_t *map, lead_map_ctx_t *ctx, const lead_map_input_t *in,
                          lead_map_row_t *out)
{
    json_t *vars = json_object();
    for (size_t i = 0; i < map->n; i++) {
        if (!map->cols[i].variable)
            continue;
        const char *s;
        size_t len;
        cell(in, (int)i, &s, &len);
        /* UTF-8 and NUL-free were checked by row_shape_check: no need for
         * jansson to check again. */
        json_object_set_new_nocheck(vars, map->cols[i].variable, json_stringn_nocheck(s, len));
    }
    free(ctx->variables);
    ctx->variables = json_dumps(vars, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(vars);
    out->variables = ctx->variables ? ctx->variables : "{}";
}

bool lead_map_row(const lead_map_t *map, lead_map_ctx_t *ctx, const char *region,
                  const lead_map_input_t *in, lead_map_row_t *out)
{
    out->code = NULL;
    out->message[0] = '\0';
    out->e164[0] = '\0';
    out->name = "";
    out->timezone = NULL;
    out->external_id = NULL;
    out->state[0] = '\0';
    out->state_given = false;
    out->variables = "{}";
    out->n_secondary = 0;
    out->n_cell_rejects = 0;
    /* In the order lead_map.h promises: the first problem is the reason. */
    if (!row_shape_check(map, in, out) || !row_phone(map, region, in, out) ||
        !row_zone(map, ctx, in, out) || !row_state(map, in, out))
        return false;
    row_secondaries(map, region, in, out);
    row_name(map, ctx, in, out);
    row_external_id(map, ctx, in, out);
    row_variables(map, ctx, in, out);
    return true;
}

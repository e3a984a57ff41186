/*
 * leads.c — the people a campaign calls, added through the API.
 *
 * Adding (one object or an array): each number is parsed by lib/phone
 * against the account's default region. A number that does not validate is
 * still stored, as an invalid lead (e164 NULL, raw_phone, invalid_reason;
 * migration 002), and reported, so the user sees it in the list and start
 * refuses with invalid_leads until it is corrected (PATCH) or removed
 * (DELETE). A number already in the campaign is reported as a duplicate and
 * a number on the account's do-not-call list as dnc; neither is inserted.
 * Secondary phones become leads of the same person with parent_lead_id and
 * contact_order 1..n, waiting (next_attempt_at NULL) until their primary
 * ends without success (lib/contacts decides when).
 *
 * Manual actions ("set to created", "set to completed") and corrections
 * are refused while a call is queued or under way (scheduled, processing):
 * the scheduler owns the lead then, and its result would undo the change.
 *
 * After leads become callable in a running campaign, the scheduler is
 * woken with a NOTIFY on LIFECYCLE_NOTIFY_CHANNEL instead of waiting for
 * its next tick. Campaign time (lib/clock) is passed to SQL as a
 * parameter; SQL never reads now() for campaign logic.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "jsonio.h"
#include "lead_finish.h"
#include "lead_map.h"
#include "lead_region.h"
#include "lifecycle.h"
#include "log.h"
#include "model.h"
#include "phone.h"
#include "resource.h"
#include "window.h"
#include "xmalloc.h"

/* 20 secondary contacts per lead, as for CSV imports (LEAD_MAP_SECONDARY_MAX). */
#define LEADS_SECONDARY_MAX 20
/* Variables of one lead: a CRM row rarely has more than a few dozen columns. */
#define LEADS_VARIABLES_MAX 100

#define LEAD_COLUMNS                                                                               \
    "SELECT l.id, l.campaign_id, l.parent_lead_id, l.contact_order, l.e164, l.raw_phone,"          \
    " l.invalid_reason, l.name, l.timezone, l.variables::text, l.external_id, l.import_id,"        \
    " l.status, l.attempts, od_us(l.next_attempt_at), l.outcome, l.goal_result,"                   \
    " l.last_call_status, l.last_answered_by, od_us(l.last_call_at), od_us(l.status_changed_at),"  \
    " od_us(l.created_at), od_us(l.updated_at), l.state, l.sticky_caller_id, l.callback_status,"   \
    " od_us(l.callback_at), od_us(l.callback_asked_for), od_us(l.callback_asked_at),"              \
    " l.callback_reason, l.callback_call_id"

enum {
    COL_ID = 0,
    COL_CAMPAIGN,
    COL_PARENT,
    COL_ORDER,
    COL_E164,
    COL_RAW,
    COL_INVALID,
    COL_NAME,
    COL_TZ,
    COL_VARS,
    COL_EXTERNAL,
    COL_IMPORT,
    COL_STATUS,
    COL_ATTEMPTS,
    COL_NEXT,
    COL_OUTCOME,
    COL_GOAL,
    COL_LAST_STATUS,
    COL_LAST_ANSWERED,
    COL_LAST_AT,
    COL_CHANGED,
    COL_CREATED,
    COL_UPDATED,
    COL_STATE,
    COL_STICKY,
    COL_CB_STATUS, /* the callback's columns: lead_callback_json */
    COL_CB_AT,
    COL_CB_ASKED_FOR,
    COL_CB_ASKED_AT,
    COL_CB_REASON,
    COL_CB_CALL,
    COL_COUNT, /* lead_lock_stmt's campaign status */
};

static const pg_stmt_t lead_get_stmt = {"lead_get",
                                        LEAD_COLUMNS
                                        " FROM lead l JOIN campaign c ON c.id = l.campaign_id"
                                        " WHERE l.id = $1::uuid AND c.account_id = $2::uuid",
                                        2};

/* The lead, locked, with its campaign's status. */
static const pg_stmt_t lead_lock_stmt = {
    "lead_lock",
    LEAD_COLUMNS ", c.status FROM lead l JOIN campaign c ON c.id = l.campaign_id"
                 " WHERE l.id = $1::uuid AND c.account_id = $2::uuid FOR UPDATE OF l",
    2};

static const pg_stmt_t lead_list_stmt = {
    "lead_list",
    LEAD_COLUMNS " FROM lead l WHERE l.campaign_id = $1::uuid"
                 " AND ($2::uuid IS NULL OR l.id > $2::uuid)"
                 " AND ($3::lead_status IS NULL OR l.status = $3::lead_status)"
                 " AND ($4::lead_outcome IS NULL OR l.outcome = $4::lead_outcome)"
                 " AND ($5::boolean IS NULL OR (l.invalid_reason IS NOT NULL) = $5::boolean)"
                 " AND ($6::text IS NULL OR strpos(coalesce(l.e164, ''), $6::text) > 0"
                 "  OR strpos(coalesce(l.raw_phone, ''), $6::text) > 0)"
                 " AND ($7::uuid IS NULL OR l.parent_lead_id = $7::uuid)"
                 " ORDER BY l.id LIMIT $8::int",
    8};

/* Longest ?phone= search: an E.164 number has at most 16 characters, a
 * raw one as typed a few more. */
#define LEAD_PHONE_SEARCH_MAX 32

/* Inserts a lead unless its number is on the account's DNC list or already
 * in the campaign (ON CONFLICT: the number, or the external id). Returns
 * (dnc hit, new id or NULL). A primary is due at once ('-infinity'); a
 * secondary waits (NULL) for its primary. */
static const pg_stmt_t lead_insert_stmt = {
    "lead_insert",
    "WITH d AS (SELECT EXISTS (SELECT 1 FROM dnc WHERE account_id = $1::uuid AND e164 = $3)"
    "   AS hit),"
    " ins AS (INSERT INTO lead (campaign_id, parent_lead_id, contact_order, e164, raw_phone,"
    "   invalid_reason, name, timezone, variables, external_id, next_attempt_at,"
    "   status_changed_at, state)"
    "   SELECT $2::uuid, $4::uuid, $5::smallint, $3, $6, $7, $8, $9, $10::jsonb, $11,"
    "   CASE WHEN $4::uuid IS NULL THEN '-infinity'::timestamptz END, od_ts($12::bigint),"
    "   nullif($13, '')"
    "   WHERE NOT (SELECT hit FROM d)"
    "   ON CONFLICT DO NOTHING RETURNING id)"
    " SELECT (SELECT hit FROM d), (SELECT id FROM ins)",
    13};

static const pg_stmt_t notify_stmt = {"leads_notify", "SELECT pg_notify($1, $2)", 2};

static const pg_stmt_t lead_reset_stmt = {
    "lead_reset",
    "UPDATE lead SET status = 'created', attempts = 0, next_attempt_at = od_ts($2::bigint),"
    " outcome = NULL, current_attempt_id = NULL, reissues = 0,"
    " callback_status = CASE WHEN callback_status = 'pending' THEN 'cancelled'::callback_status"
    "   ELSE callback_status END,"
    " status_changed_at = od_ts($2::bigint), updated_at = now() WHERE id = $1::uuid",
    2};

static const pg_stmt_t lead_update_stmt = {
    "lead_update",
    "UPDATE lead SET e164 = $2, raw_phone = $3, invalid_reason = $4, name = $5, timezone = $6,"
    " variables = $7::jsonb, external_id = $8, state = nullif($9, ''), updated_at = now()"
    " WHERE id = $1::uuid",
    9};

static const pg_stmt_t lead_delete_check_stmt = {
    "lead_delete_check",
    "SELECT EXISTS (SELECT 1 FROM call WHERE lead_id IN"
    "   (SELECT id FROM lead WHERE id = $1::uuid OR parent_lead_id = $1::uuid)),"
    " EXISTS (SELECT 1 FROM lead WHERE (id = $1::uuid OR parent_lead_id = $1::uuid)"
    "   AND status IN ('scheduled', 'processing'))",
    1};

static const pg_stmt_t lead_delete_stmt = {"lead_delete", "DELETE FROM lead WHERE id = $1::uuid",
                                           1};

static const pg_stmt_t dnc_hit_stmt = {
    "lead_dnc_hit", "SELECT 1 FROM dnc WHERE account_id = $1::uuid AND e164 = $2", 2};

static const pg_stmt_t next_order_stmt = {
    "lead_next_order",
    "SELECT coalesce(max(contact_order), 0) + 1 FROM lead WHERE parent_lead_id = $1::uuid", 1};

/* ---- representation ---------------------------------------------------------- */

/* The sentence for a stored invalid_reason code. */
static const char *invalid_message(const char *code)
{
    for (int r = PHONE_EMPTY; r <= PHONE_INVALID; r++)
        if (strcmp(phone_reason_code((phone_reason_t)r), code) == 0)
            return phone_reason_message((phone_reason_t)r);
    return code;
}

/* The members of a lead that are its columns (LEAD_COLUMNS, in order). */
static const resource_field_t lead_fields_out[] = {
    {"id", api_col_string},
    {"campaign_id", api_col_string},
    {"parent_lead_id", api_col_string},
    {"contact_order", api_col_int},
    {"phone", api_col_string},
    {"raw_phone", api_col_string},
    {"invalid_reason", api_col_string},
    {"name", api_col_string},
    {"timezone", api_col_string},
    {"variables", api_col_json},
    {"external_id", api_col_string},
    {"import_id", api_col_string},
    {"status", api_col_string},
    {"attempts", api_col_int},
    {"next_attempt_at", api_col_time},
    {"outcome", api_col_string},
    {"goal_result", api_col_bool},
    {"last_call_status", api_col_string},
    {"last_answered_by", api_col_string},
    {"last_call_at", api_col_time},
    {"status_changed_at", api_col_time},
    {"created_at", api_col_time},
    {"updated_at", api_col_time},
    {"state", api_col_string},
    {"sticky_caller_id", api_col_string},
};

/* The members of a lead's callback (COL_CB_STATUS.., in order). */
static const resource_field_t lead_callback_fields_out[] = {
    {"status", api_col_string}, {"at", api_col_time},       {"asked_for", api_col_time},
    {"asked_at", api_col_time}, {"reason", api_col_string}, {"call_id", api_col_string},
};

/* The lead's latest callback request (docs/rules.md "Callbacks"), null
 * when it never asked for one. */
static json_t *lead_callback_json(const PGresult *res, int row)
{
    if (PQgetisnull(res, row, COL_CB_STATUS))
        return json_null();
    json_t *cb = json_object();
    for (int c = COL_CB_STATUS; c < COL_COUNT; c++) {
        const resource_field_t *f = &lead_callback_fields_out[c - COL_CB_STATUS];
        json_object_set_new(cb, f->name, f->value(res, row, c));
    }
    return cb;
}

/* A lead: its columns, with invalid_message after invalid_reason and due
 * after next_attempt_at. */
static json_t *lead_json(const PGresult *res, int row, int64_t now_us)
{
    json_t *l = json_object();
    resource_fields_set(l, lead_fields_out, COL_ID, COL_NAME, res, row);
    json_object_set_new(l, "invalid_message",
                        PQgetisnull(res, row, COL_INVALID)
                            ? json_null()
                            : json_string(invalid_message(PQgetvalue(res, row, COL_INVALID))));
    resource_fields_set(l, lead_fields_out, COL_NAME, COL_OUTCOME, res, row);
    /* Due: waiting for a call whose time has come (the calling window may
     * still hold it back). A primary is stored due at '-infinity'. */
    const char *status = PQgetvalue(res, row, COL_STATUS);
    bool due = (strcmp(status, "created") == 0 || strcmp(status, "rescheduled") == 0) &&
               !PQgetisnull(res, row, COL_NEXT) && PQgetisnull(res, row, COL_INVALID) &&
               strtoll(PQgetvalue(res, row, COL_NEXT), NULL, 10) <= now_us;
    json_object_set_new(l, "due", json_boolean(due));
    resource_fields_set(l, lead_fields_out, COL_OUTCOME, COL_STICKY + 1, res, row);
    json_object_set_new(l, "callback", lead_callback_json(res, row));
    return l;
}

static const resource_t lead_resource = {.not_found = "lead not found",
                                         .get = &lead_get_stmt,
                                         .lock = &lead_lock_stmt,
                                         .json = lead_json};

int leads_notify_tx(pg_conn_t *db, const char *campaign_id, char *errbuf, size_t errlen)
{
    const char *params[] = {LIFECYCLE_NOTIFY_CHANNEL, campaign_id};
    return pg_stmt_exec(db, &notify_stmt, params, NULL, errbuf, errlen);
}

/* ---- reading leads from a request ---------------------------------------------- */

typedef struct lead_in {
    const char *phone;
    const char *name;
    const char *timezone;
    const char *state; /* a jurisdiction code, or NULL: from the number */
    const char *external_id;
    char tz[WINDOW_ZONE_MAX];
    char state_buf[3];
    char *variables; /* JSON object text, owned */
    const char *secondary[LEADS_SECONDARY_MAX];
    size_t n_secondary;
} lead_in_t;

/* variables: an object of values; null values are left out. */
static bool variables_read(api_ctx_t *ctx, const json_t *obj, const char *where, char **out)
{
    json_t *vars = NULL;
    char label[160];
    jsonio_label(label, sizeof(label), where, "variables");
    jsonio_got_t got = jsonio_object(ctx, obj, "variables", label, &vars);
    if (got == JSONIO_ERROR)
        return false;
    if (got != JSONIO_SET) {
        *out = xstrdup("{}");
        return true;
    }
    if (json_object_size(vars) > LEADS_VARIABLES_MAX) {
        api_reply_error(ctx, 400, "invalid", label, "%s has %zu entries (at most %d)", label,
                        json_object_size(vars), LEADS_VARIABLES_MAX);
        return false;
    }
    json_t *copy = json_object();
    const char *key;
    json_t *value;
    json_object_foreach(vars, key, value)
    {
        if (!*key || strlen(key) > 64) {
            json_decref(copy);
            api_reply_error(ctx, 400, "invalid", label,
                            "%s: variable names must be 1 to 64 bytes long", label);
            return false;
        }
        if (!json_is_null(value))
            json_object_set(copy, key, value);
    }
    *out = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    return true;
}

/* A lead timezone: an IANA name ICU knows, or the request is refused (a
 * wrong name is never silently ignored). */
static bool timezone_read(api_ctx_t *ctx, const json_t *obj, const char *where,
                          char canonical[WINDOW_ZONE_MAX], const char **out, bool *present)
{
    char label[160];
    jsonio_label(label, sizeof(label), where, "timezone");
    const char *tz = NULL;
    jsonio_got_t got = jsonio_string(ctx, obj, "timezone", label, WINDOW_ZONE_MAX, &tz);
    if (got == JSONIO_ERROR)
        return false;
    if (present)
        *present = got != JSONIO_ABSENT;
    if (got != JSONIO_SET) {
        *out = NULL;
        return true;
    }
    /* As the importer does: any letter case, stored under the canonical
     * name ("america/chicago" -> "America/Chicago"). */
    char why[256];
    if (lead_map_zone_canonical_one(tz, canonical, why, sizeof(why)) != OD_OK) {
        api_reply_error(ctx, 400, "invalid", label,
                        "%s '%.64s' is not an IANA time zone name (e.g. America/Chicago)", label,
                        tz);
        return false;
    }
    *out = canonical;
    return true;
}

/* A lead's state: a US state, DC or Canadian province code, two letters in
 * any case, stored in capitals; NULL (absent or null): from the number.
 * Answers 400 naming the allowed values. */
static bool state_read(api_ctx_t *ctx, const json_t *obj, const char *where, char canonical[3],
                       const char **out, bool *present)
{
    char label[160];
    jsonio_label(label, sizeof(label), where, "state");
    const char *s = NULL;
    jsonio_got_t got = jsonio_string(ctx, obj, "state", label, 16, &s);
    if (got == JSONIO_ERROR)
        return false;
    if (present)
        *present = got != JSONIO_ABSENT;
    *out = NULL;
    if (got != JSONIO_SET)
        return true;
    if (!lead_map_state_canonical(s, strlen(s), canonical)) {
        api_reply_error(ctx, 400, "invalid", label,
                        "%s '%.16s' is not a US state, DC or Canadian province code (two "
                        "letters: AL, AK, ..., WY, DC, AB, BC, ..., YT)",
                        label, s);
        return false;
    }
    *out = canonical;
    return true;
}

static bool phones_read(api_ctx_t *ctx, const json_t *obj, const char *where, const char **phones,
                        size_t *n_out)
{
    char label[160];
    jsonio_label(label, sizeof(label), where, "secondary_phones");
    json_t *arr = NULL;
    *n_out = 0;
    jsonio_got_t got = jsonio_array(ctx, obj, "secondary_phones", label, &arr);
    if (got == JSONIO_ERROR)
        return false;
    if (got != JSONIO_SET)
        return true;
    size_t n = json_array_size(arr);
    if (n > LEADS_SECONDARY_MAX) {
        api_reply_error(ctx, 400, "invalid", label, "%s has %zu numbers (at most %d)", label, n,
                        LEADS_SECONDARY_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(arr, i);
        if (!json_is_string(p) || json_string_length(p) == 0 || json_string_length(p) > 64) {
            api_reply_error(ctx, 400, "invalid", label,
                            "%s must be an array of phone numbers (strings)", label);
            return false;
        }
        phones[i] = json_string_value(p);
    }
    *n_out = n;
    return true;
}

static bool lead_in_read(api_ctx_t *ctx, const json_t *obj, const char *where, lead_in_t *in)
{
    static const char *const allowed[] = {
        "phone", "name", "timezone", "variables", "external_id", "secondary_phones", "state", NULL};
    if (!json_is_object(obj)) {
        api_reply_error(ctx, 400, "invalid", where && *where ? where : NULL,
                        "%s must be a lead object ({\"phone\": \"+14155550123\", ...})",
                        where && *where ? where : "the body");
        return false;
    }
    if (!jsonio_fields_check(ctx, obj, allowed, where))
        return false;
    char label[160];
    jsonio_label(label, sizeof(label), where, "phone");
    jsonio_got_t got = jsonio_string(ctx, obj, "phone", label, 64, &in->phone);
    if (got == JSONIO_ERROR)
        return false;
    if (got != JSONIO_SET) {
        api_reply_error(ctx, 400, "invalid", label, "%s is required", label);
        return false;
    }
    jsonio_label(label, sizeof(label), where, "name");
    if (jsonio_string(ctx, obj, "name", label, API_TEXT_MAX, &in->name) == JSONIO_ERROR)
        return false;
    jsonio_label(label, sizeof(label), where, "external_id");
    if (jsonio_string(ctx, obj, "external_id", label, API_TEXT_MAX, &in->external_id) ==
        JSONIO_ERROR)
        return false;
    return timezone_read(ctx, obj, where, in->tz, &in->timezone, NULL) &&
           state_read(ctx, obj, where, in->state_buf, &in->state, NULL) &&
           phones_read(ctx, obj, where, in->secondary, &in->n_secondary) &&
           variables_read(ctx, obj, where, &in->variables);
}

/* ---- inserting ---------------------------------------------------------------- */

typedef enum insert_result {
    INSERT_CREATED = 0,
    INSERT_INVALID, /* stored, as an invalid lead */
    INSERT_DUPLICATE,
    INSERT_DNC,
} insert_result_t;

static const char *const insert_result_names[] = {"created", "invalid", "duplicate", "dnc"};

typedef struct lead_counts {
    long created, invalid, duplicate, dnc;
} lead_counts_t;

static void counts_add(api_ctx_t *ctx, lead_counts_t *c, insert_result_t r)
{
    long *slots[] = {&c->created, &c->invalid, &c->duplicate, &c->dnc};
    (*slots[r])++;
    const char *labels[] = {insert_result_names[r], NULL};
    metrics_counter_t *m = NULL;
    char err[128];
    if (metrics_counter_with(ctx->api->leads_added, labels, &m, err, sizeof(err)) == OD_OK)
        metrics_counter_add(m, 1);
}

/* Inserts one lead (a primary when parent_id is NULL) and describes the
 * result in *item (phone, result, lead_id, reason). */
static int lead_insert(api_ctx_t *ctx, const char *campaign_id, const char *parent_id,
                       int contact_order, const char *raw_phone, const char *name,
                       const char *timezone, const char *state, const char *variables,
                       const char *external_id, insert_result_t *result, json_t *item, char *err,
                       size_t errlen)
{
    char e164[PHONE_E164_MAX + 1];
    phone_reason_t why = phone_parse(raw_phone, strlen(raw_phone), ctx->region, e164);
    char stored_state[LEAD_REGION_CODE_MAX] = "";
    lead_map_state_resolve(state, why == PHONE_OK ? e164 : NULL, stored_state);
    char order[8], now[24];
    snprintf(order, sizeof(order), "%d", contact_order);
    api_i64(now, sizeof(now), api_now_us(ctx));
    const char *params[] = {ctx->account_id,
                            campaign_id,
                            why == PHONE_OK ? e164 : NULL,
                            parent_id,
                            order,
                            why == PHONE_OK ? NULL : raw_phone,
                            why == PHONE_OK ? NULL : phone_reason_code(why),
                            name ? name : "",
                            timezone,
                            variables,
                            external_id,
                            now,
                            stored_state};
    PGresult *res = NULL;
    int rc = pg_stmt_exec(ctx->db, &lead_insert_stmt, params, &res, err, errlen);
    if (rc)
        return rc;
    bool dnc = PQgetvalue(res, 0, 0)[0] == 't';
    bool inserted = !PQgetisnull(res, 0, 1);
    json_object_set_new(item, "phone", json_string(why == PHONE_OK ? e164 : raw_phone));
    if (inserted)
        json_object_set_new(item, "lead_id", json_string(PQgetvalue(res, 0, 1)));
    if (dnc)
        *result = INSERT_DNC;
    else if (!inserted)
        *result = INSERT_DUPLICATE;
    else
        *result = why == PHONE_OK ? INSERT_CREATED : INSERT_INVALID;
    json_object_set_new(item, "result", json_string(insert_result_names[*result]));
    if (*result == INSERT_INVALID) {
        json_object_set_new(item, "reason", json_string(phone_reason_code(why)));
        json_object_set_new(item, "message", json_string(phone_reason_message(why)));
    } else if (*result == INSERT_DUPLICATE) {
        json_object_set_new(item, "message",
                            json_string("the campaign already has a lead with this number (or "
                                        "external_id): not added"));
    } else if (*result == INSERT_DNC) {
        json_object_set_new(item, "message",
                            json_string("the number is on the account's do-not-call list: not "
                                        "added"));
    }
    PQclear(res);
    return OD_OK;
}

/* Inserts the secondary contacts of primary_id from contact order
 * first_order on; fills items (an array) and counts. */
static int secondaries_insert(api_ctx_t *ctx, const char *campaign_id, const char *primary_id,
                              int first_order, const char *const *phones, size_t n,
                              const char *name, const char *timezone, const char *state,
                              const char *variables, json_t *items, lead_counts_t *counts,
                              char *err, size_t errlen)
{
    int order = first_order;
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_object();
        json_array_append_new(items, item);
        insert_result_t r;
        int rc = lead_insert(ctx, campaign_id, primary_id, order, phones[i], name, timezone, state,
                             variables, NULL, &r, item, err, errlen);
        if (rc)
            return rc;
        counts_add(ctx, counts, r);
        if (r == INSERT_CREATED || r == INSERT_INVALID)
            json_object_set_new(item, "contact_order", json_integer(order++));
    }
    return OD_OK;
}

static void lead_ins_free(lead_in_t *ins, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ins[i].variables);
    free(ins);
}

/* The leads of a leads_add request, read and then inserted. */
typedef struct leads_batch {
    const char *campaign_id;
    lead_in_t *ins;
    size_t n;
    lead_counts_t counts;
    json_t *results; /* one item per lead, in the request's order */
} leads_batch_t;

/* Inserts lead i of b with its secondary contacts; describes it in item. */
static int leads_batch_insert_one(api_ctx_t *ctx, leads_batch_t *b, size_t i, json_t *item,
                                  char *err, size_t errlen)
{
    const lead_in_t *in = &b->ins[i];
    insert_result_t r;
    int rc = lead_insert(ctx, b->campaign_id, NULL, 0, in->phone, in->name, in->timezone, in->state,
                         in->variables, in->external_id, &r, item, err, errlen);
    if (rc)
        return rc;
    counts_add(ctx, &b->counts, r);
    if ((r != INSERT_CREATED && r != INSERT_INVALID) || in->n_secondary == 0)
        return OD_OK;
    json_t *secondary = json_array();
    json_object_set_new(item, "secondary_contacts", secondary);
    const char *primary = json_string_value(json_object_get(item, "lead_id"));
    return secondaries_insert(ctx, b->campaign_id, primary, 1, in->secondary, in->n_secondary,
                              in->name, in->timezone, in->state, in->variables, secondary,
                              &b->counts, err, errlen);
}

/* leads_add's transaction: the campaign locked FOR SHARE (its status
 * cannot change meanwhile), every lead, the scheduler woken when leads
 * became callable in a running campaign. */
static int leads_batch_insert_tx(api_ctx_t *ctx, void *arg, char *err, size_t errlen)
{
    leads_batch_t *b = arg;
    char status[16];
    if (!campaigns_writable(ctx, b->campaign_id, true, status))
        return OD_OK;
    for (size_t i = 0; i < b->n; i++) {
        json_t *item = json_object();
        json_object_set_new(item, "index", json_integer((json_int_t)i));
        json_array_append_new(b->results, item);
        int rc = leads_batch_insert_one(ctx, b, i, item, err, errlen);
        if (rc)
            return rc;
    }
    if (b->counts.created > 0 && strcmp(status, "in_progress") == 0)
        return leads_notify_tx(ctx->db, b->campaign_id, err, errlen);
    return OD_OK;
}

void leads_add(api_ctx_t *ctx)
{
    if (!ctx->body) {
        api_reply_error(ctx, 400, "invalid_json", NULL,
                        "a lead object or an array of them is required as the body");
        return;
    }
    bool many = json_is_array(ctx->body);
    size_t n = many ? json_array_size(ctx->body) : 1;
    if (many && n == 0) {
        api_reply_error(ctx, 400, "invalid", NULL, "the array of leads is empty");
        return;
    }
    if (n > API_BATCH_MAX) {
        api_reply_error(ctx, 400, "invalid", NULL,
                        "%zu leads in one request: at most %d (upload a CSV file to "
                        "/v1/campaigns/{campaign_id}/imports for more)",
                        n, API_BATCH_MAX);
        return;
    }
    leads_batch_t b = {.campaign_id = ctx->params[0], .n = n};
    b.ins = xcalloc(n, sizeof(*b.ins));
    b.results = json_array();
    for (size_t i = 0; i < n; i++) {
        char where[32] = "";
        if (many)
            snprintf(where, sizeof(where), "[%zu]", i);
        if (!lead_in_read(ctx, many ? json_array_get(ctx->body, i) : ctx->body, where, &b.ins[i]))
            goto out;
    }
    if (!resource_tx_run(ctx, leads_batch_insert_tx, &b))
        goto out;
    json_t *out = json_object();
    json_object_set_new(out, "created", json_integer(b.counts.created));
    json_object_set_new(out, "invalid", json_integer(b.counts.invalid));
    json_object_set_new(out, "duplicate", json_integer(b.counts.duplicate));
    json_object_set_new(out, "dnc", json_integer(b.counts.dnc));
    json_object_set_new(out, "results", b.results);
    b.results = NULL;
    api_reply_json(ctx, b.counts.created + b.counts.invalid > 0 ? 201 : 200, out);
out:
    json_decref(b.results);
    lead_ins_free(b.ins, n);
}

/* ---- reading ---------------------------------------------------------------- */

void leads_get(api_ctx_t *ctx)
{
    resource_id_reply(ctx, &lead_resource);
}

void leads_list(api_ctx_t *ctx)
{
    const char *campaign_id = ctx->params[0];
    int limit;
    const char *cursor;
    if (!api_query_page(ctx, &limit, &cursor))
        return;
    const char *status = http_request_query(ctx->req, "status");
    const char *outcome = http_request_query(ctx->req, "outcome");
    const char *invalid = http_request_query(ctx->req, "invalid");
    const char *phone = http_request_query(ctx->req, "phone");
    const char *parent = http_request_query(ctx->req, "parent_lead_id");
    phone = phone && *phone ? phone : NULL;
    parent = parent && *parent ? parent : NULL;
    status = status && *status ? status : NULL;
    outcome = outcome && *outcome ? outcome : NULL;
    invalid = invalid && *invalid ? invalid : NULL;
    char why[256];
    model_lead_status_t st;
    model_outcome_t oc;
    if (status && model_lead_status_parse(status, &st, why, sizeof(why)) != OD_OK) {
        api_reply_error(ctx, 400, "invalid", "status", "status: %s", why);
        return;
    }
    if (outcome && model_outcome_parse(outcome, &oc, why, sizeof(why)) != OD_OK) {
        api_reply_error(ctx, 400, "invalid", "outcome", "outcome: %s", why);
        return;
    }
    if (invalid && strcmp(invalid, "true") != 0 && strcmp(invalid, "false") != 0) {
        api_reply_error(ctx, 400, "invalid", "invalid", "invalid must be true or false");
        return;
    }
    if (phone && strlen(phone) > LEAD_PHONE_SEARCH_MAX) {
        api_reply_error(ctx, 400, "invalid", "phone",
                        "phone: a search of at most %d characters (part of the number)",
                        LEAD_PHONE_SEARCH_MAX);
        return;
    }
    if (parent && !uuid_str_valid(parent)) {
        api_reply_error(ctx, 400, "invalid", "parent_lead_id", "parent_lead_id must be a lead id");
        return;
    }
    if (!campaigns_owned(ctx, campaign_id, false, NULL))
        return;
    const char *params[] = {campaign_id, cursor, status, outcome, invalid, phone, parent};
    resource_page_reply(ctx, &lead_resource, &lead_list_stmt, params, limit);
}

/* ---- changes ------------------------------------------------------------------ */

/* Whether the locked lead (lead_lock_stmt) may change: answers 409 while a
 * call is queued or under way, naming the action ("reset") refused. */
static bool lead_idle(api_ctx_t *ctx, const PGresult *lead, const char *action)
{
    const char *status = PQgetvalue(lead, 0, COL_STATUS);
    if (strcmp(status, "scheduled") == 0 || strcmp(status, "processing") == 0) {
        api_reply_error(ctx, 409, "lead_in_flight", NULL,
                        "the lead is %s (a call is queued or under way): %s it after the call "
                        "ends",
                        status, action);
        return false;
    }
    return true;
}

/* Whether the locked lead's campaign is calling (lead_lock_stmt's column
 * after the lead's columns: the campaign's status). */
static bool lead_campaign_running(const PGresult *lead)
{
    return strcmp(PQgetvalue(lead, 0, COL_COUNT), "in_progress") == 0;
}

static int lead_reset_apply(api_ctx_t *ctx, resource_change_t *ch, const PGresult *lead, char *err,
                            size_t errlen)
{
    if (!lead_idle(ctx, lead, "reset"))
        return OD_OK;
    char now[24];
    api_i64(now, sizeof(now), api_now_us(ctx));
    const char *params[] = {ch->key[0], now};
    int rc = pg_stmt_exec(ctx->db, &lead_reset_stmt, params, NULL, err, errlen);
    if (rc == OD_OK && lead_campaign_running(lead))
        rc = leads_notify_tx(ctx->db, PQgetvalue(lead, 0, COL_CAMPAIGN), err, errlen);
    return rc;
}

void leads_reset(api_ctx_t *ctx)
{
    resource_id_change_run(ctx, &lead_resource, lead_reset_apply, NULL);
}

static int lead_complete_apply(api_ctx_t *ctx, resource_change_t *ch, const PGresult *lead,
                               char *err, size_t errlen)
{
    if (!lead_idle(ctx, lead, "complete"))
        return OD_OK;
    if (strcmp(PQgetvalue(lead, 0, COL_STATUS), "completed") == 0)
        return OD_OK;
    const char *id = ch->key[0];
    int64_t now_us = api_now_us(ctx);
    const char *campaign_id = PQgetvalue(lead, 0, COL_CAMPAIGN);
    const char *primary = PQgetisnull(lead, 0, COL_PARENT) ? id : PQgetvalue(lead, 0, COL_PARENT);
    int rc = lead_finish_completed_tx(ctx->db, ctx->account_id, campaign_id, id,
                                      MODEL_OUTCOME_MANUAL, now_us, err, errlen);
    if (rc == OD_OK)
        rc = lead_finish_group_step_tx(ctx->db, ctx->account_id, campaign_id, primary, now_us, err,
                                       errlen);
    return rc;
}

void leads_complete(api_ctx_t *ctx)
{
    resource_id_change_run(ctx, &lead_resource, lead_complete_apply, NULL);
}

/* A lead's fields as a PATCH leaves them; strings borrow from the locked
 * row, the body or the buffers here. */
typedef struct lead_fields {
    const char *e164, *raw, *invalid, *name, *tz, *external, *state;
    char e164_buf[PHONE_E164_MAX + 1];
    char tz_buf[WINDOW_ZONE_MAX];
    char state_buf[LEAD_REGION_CODE_MAX];
    char *variables; /* JSON object text, owned */
} lead_fields_t;

/* The phone of a PATCH: a valid number not on the account's DNC list
 * replaces the stored one (and clears an invalid one's raw text and
 * reason). Answers 400, 409 (a refusal) or returns the failed query. */
static int lead_phone_read(api_ctx_t *ctx, const json_t *body, lead_fields_t *f, char *err,
                           size_t errlen)
{
    const char *s = NULL;
    jsonio_got_t got = jsonio_string(ctx, body, "phone", NULL, 64, &s);
    if (got == JSONIO_NULL)
        api_reply_error(ctx, 400, "invalid", "phone", "phone must be a phone number");
    if (got != JSONIO_SET)
        return OD_OK;
    if (!api_phone_parse(ctx, s, "phone", f->e164_buf))
        return OD_OK;
    PGresult *hit = NULL;
    const char *q[] = {ctx->account_id, f->e164_buf};
    int rc = pg_stmt_exec(ctx->db, &dnc_hit_stmt, q, &hit, err, errlen);
    if (rc)
        return rc;
    if (PQntuples(hit) > 0)
        api_reply_error(ctx, 409, "dnc", "phone", "%s is on the account's do-not-call list",
                        f->e164_buf);
    PQclear(hit);
    f->e164 = f->e164_buf;
    f->raw = NULL;
    f->invalid = NULL;
    return OD_OK;
}

/* The other fields of a PATCH over f; answers 400. */
static bool lead_fields_read(api_ctx_t *ctx, const json_t *body, const PGresult *lead,
                             lead_fields_t *f)
{
    const char *s = NULL;
    jsonio_got_t got = jsonio_string(ctx, body, "name", NULL, API_TEXT_MAX, &s);
    if (got == JSONIO_ERROR)
        return false;
    if (got == JSONIO_NULL)
        f->name = "";
    else if (got == JSONIO_SET)
        f->name = s;
    got = jsonio_string(ctx, body, "external_id", NULL, API_TEXT_MAX, &s);
    if (got == JSONIO_ERROR)
        return false;
    if (got != JSONIO_ABSENT)
        f->external = got == JSONIO_SET ? s : NULL;
    bool tz_present = false;
    const char *new_tz = NULL;
    if (!timezone_read(ctx, body, NULL, f->tz_buf, &new_tz, &tz_present))
        return false;
    if (tz_present)
        f->tz = new_tz;
    /* state: given, or null to derive it from the number; a new number
     * without a state derives it again. */
    bool state_present = false;
    const char *new_state = NULL;
    if (!state_read(ctx, body, NULL, f->state_buf, &new_state, &state_present))
        return false;
    if (state_present || f->e164 == f->e164_buf) {
        char given[LEAD_REGION_CODE_MAX] = "";
        if (new_state)
            snprintf(given, sizeof(given), "%s", new_state);
        lead_map_state_resolve(given, f->e164, f->state_buf);
        f->state = f->state_buf;
    }
    if (json_object_get(body, "variables"))
        return variables_read(ctx, body, NULL, &f->variables);
    f->variables = xstrdup(PQgetvalue(lead, 0, COL_VARS));
    return true;
}

/* Column col of the locked lead, NULL for SQL NULL. */
static const char *lead_col(const PGresult *lead, int col)
{
    return PQgetisnull(lead, 0, col) ? NULL : PQgetvalue(lead, 0, col);
}

static int lead_update_apply(api_ctx_t *ctx, resource_change_t *ch, const PGresult *lead, char *err,
                             size_t errlen)
{
    if (!lead_idle(ctx, lead, "change"))
        return OD_OK;
    lead_fields_t f = {.e164 = lead_col(lead, COL_E164),
                       .raw = lead_col(lead, COL_RAW),
                       .invalid = lead_col(lead, COL_INVALID),
                       .name = PQgetvalue(lead, 0, COL_NAME),
                       .tz = lead_col(lead, COL_TZ),
                       .external = lead_col(lead, COL_EXTERNAL),
                       .state = lead_col(lead, COL_STATE)};
    int rc = lead_phone_read(ctx, ctx->body, &f, err, errlen);
    if (rc || ctx->replied || !lead_fields_read(ctx, ctx->body, lead, &f))
        goto out;
    const char *params[] = {ch->key[0], f.e164,      f.raw,      f.invalid, f.name,
                            f.tz,       f.variables, f.external, f.state};
    rc = pg_stmt_exec(ctx->db, &lead_update_stmt, params, NULL, err, errlen);
    if (rc == OD_ERR_CONFLICT && strcmp(pg_conn_sqlstate(ctx->db), "23505") == 0) {
        bool external = strstr(err, "external_id") != NULL;
        api_reply_error(ctx, 409, "duplicate", external ? "external_id" : "phone",
                        "the campaign already has a lead with this %s",
                        external ? "external_id" : "number");
    }
out:
    free(f.variables);
    return rc;
}

void leads_update(api_ctx_t *ctx)
{
    static const char *const allowed[] = {"phone",     "name",        "timezone",
                                          "variables", "external_id", NULL};
    resource_id_patch_run(ctx, &lead_resource, allowed, lead_update_apply);
}

static int lead_delete_apply(api_ctx_t *ctx, resource_change_t *ch, const PGresult *lead, char *err,
                             size_t errlen)
{
    if (!lead_idle(ctx, lead, "remove"))
        return OD_OK;
    PGresult *check = NULL;
    const char *p[] = {ch->key[0]};
    int rc = pg_stmt_exec(ctx->db, &lead_delete_check_stmt, p, &check, err, errlen);
    if (rc)
        return rc;
    if (PQgetvalue(check, 0, 1)[0] == 't')
        api_reply_error(ctx, 409, "lead_in_flight", NULL,
                        "a secondary contact of the lead has a call queued or under way: remove "
                        "it after the call ends");
    else if (PQgetvalue(check, 0, 0)[0] == 't')
        api_reply_error(ctx, 409, "has_calls", NULL,
                        "the lead (or one of its contacts) has been called: its calls stay in "
                        "the campaign's history; set it to completed to stop calling it");
    else
        rc = pg_stmt_exec(ctx->db, &lead_delete_stmt, p, NULL, err, errlen);
    PQclear(check);
    ch->reply_status = 204;
    return rc;
}

void leads_delete(api_ctx_t *ctx)
{
    resource_id_change_run(ctx, &lead_resource, lead_delete_apply, NULL);
}

/* The secondary phones leads_contacts_add adds. */
typedef struct contacts_request {
    const char *phones[LEADS_SECONDARY_MAX];
    size_t n;
} contacts_request_t;

static int lead_contacts_apply(api_ctx_t *ctx, resource_change_t *ch, const PGresult *lead,
                               char *err, size_t errlen)
{
    if (!lead_idle(ctx, lead, "add contacts to"))
        return OD_OK;
    const contacts_request_t *req = ch->arg;
    const char *id = ch->key[0];
    if (!PQgetisnull(lead, 0, COL_PARENT)) {
        api_reply_error(ctx, 400, "invalid", NULL,
                        "the lead is a secondary contact: add contacts to its primary lead %s",
                        PQgetvalue(lead, 0, COL_PARENT));
        return OD_OK;
    }
    const char *campaign_id = PQgetvalue(lead, 0, COL_CAMPAIGN);
    const char *p[] = {id};
    PGresult *order = NULL;
    int rc = pg_stmt_exec(ctx->db, &next_order_stmt, p, &order, err, errlen);
    if (rc)
        return rc;
    int first = atoi(PQgetvalue(order, 0, 0));
    PQclear(order);
    if (first - 1 + (int)req->n > 100) {
        api_reply_error(ctx, 400, "invalid", "secondary_phones",
                        "a lead has at most 100 secondary contacts");
        return OD_OK;
    }
    json_t *items = json_array();
    lead_counts_t counts = {0};
    rc = secondaries_insert(ctx, campaign_id, id, first, req->phones, req->n,
                            PQgetvalue(lead, 0, COL_NAME), lead_col(lead, COL_TZ), NULL,
                            PQgetvalue(lead, 0, COL_VARS), items, &counts, err, errlen);
    if (rc == OD_OK)
        rc = lead_finish_group_step_tx(ctx->db, ctx->account_id, campaign_id, id, api_now_us(ctx),
                                       err, errlen);
    if (rc == OD_OK && counts.created > 0 && lead_campaign_running(lead))
        rc = leads_notify_tx(ctx->db, campaign_id, err, errlen);
    json_t *out = json_object();
    json_object_set_new(out, "lead_id", json_string(id));
    json_object_set_new(out, "created", json_integer(counts.created));
    json_object_set_new(out, "invalid", json_integer(counts.invalid));
    json_object_set_new(out, "duplicate", json_integer(counts.duplicate));
    json_object_set_new(out, "dnc", json_integer(counts.dnc));
    json_object_set_new(out, "secondary_contacts", items);
    ch->reply = out;
    ch->reply_status = counts.created + counts.invalid > 0 ? 201 : 200;
    return rc;
}

void leads_contacts_add(api_ctx_t *ctx)
{
    static const char *const allowed[] = {"secondary_phones", NULL};
    json_t *body = jsonio_body_fields(ctx, allowed);
    if (!body)
        return;
    contacts_request_t req;
    if (!phones_read(ctx, body, NULL, req.phones, &req.n))
        return;
    if (req.n == 0) {
        api_reply_error(ctx, 400, "invalid", "secondary_phones",
                        "secondary_phones must list at least one phone number");
        return;
    }
    resource_id_change_run(ctx, &lead_resource, lead_contacts_apply, &req);
}

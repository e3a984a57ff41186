/*
 * campaigns.c — campaigns: their settings as the user writes them
 * ("09:00", ["mon", ...], max_retries ...), checked by lib/settings against
 * the ranges and the assistant's post-call variables with every problem
 * reported at once; start, pause and resume through lib/lifecycle, which
 * lists every unmet requirement. The statistics are in stats.c.
 *
 * Settings may change only while a campaign is draft or paused (409
 * otherwise): the scheduler reads them while it calls, and a change in the
 * middle of a calling window would surprise the people being called. The
 * name may change at any time. The A/B arms (docs/rules.md, "A/B arms")
 * change only while a campaign is a draft: each lead keeps the arm it was
 * first called with.
 *
 * A draft campaign can be deleted (with its leads and imports: nothing was
 * called yet). A completed one can be archived: hidden from the list
 * unless ?archived= asks for it, every row kept and readable by id, and
 * nothing of the campaign itself changes any more (409 campaign_archived
 * for its settings, new leads and uploads; resume is refused).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ab_arm.h"
#include "caller_id.h"
#include "handlers.h"
#include "jsonio.h"
#include "lifecycle.h"
#include "log.h"
#include "model.h"
#include "predial.h"
#include "resource.h"
#include "settings.h"
#include "window.h"
#include "xmalloc.h"

/* Longest call the provider is asked to allow (campaign.max_call_duration_s,
 * the schema's CHECK): 10 s .. 12 h, default 10 min. */
#define CAMPAIGN_CALL_DURATION_MIN     10
#define CAMPAIGN_CALL_DURATION_MAX     43200
#define CAMPAIGN_CALL_DURATION_DEFAULT 600

#define CAMPAIGN_COLUMNS                                                                           \
    "SELECT c.id, c.name, c.assistant_id, c.status, c.pause_reason, c.window_start_min,"           \
    " c.window_end_min, c.allowed_days, c.max_retries, c.retry_interval_min,"                      \
    " c.retry_on_voicemail, c.goal_variable, c.goal_based_retry, c.timezone_mode,"                 \
    " c.max_concurrent_calls, c.calls_per_minute, c.max_call_duration_s,"                          \
    " od_us(c.status_changed_at), od_us(c.created_at), od_us(c.updated_at),"                       \
    " od_us(c.archived_at), c.opt_out_variable, c.predial_url, c.predial_timeout_ms,"              \
    " c.predial_on_error, c.arms, c.callback_variable, c.caller_id_strategy FROM campaign c"

/* The JSON members, one per column of CAMPAIGN_COLUMNS in its order. */
static const resource_field_t campaign_fields_out[] = {
    {"id", api_col_string},
    {"name", api_col_string},
    {"assistant_id", api_col_string},
    {"status", api_col_string},
    {"pause_reason", api_col_string},
    {"window_start", api_col_hhmm},
    {"window_end", api_col_hhmm_end},
    {"allowed_days", api_col_days},
    {"max_retries", api_col_int},
    {"retry_interval_minutes", api_col_int},
    {"retry_on_voicemail", api_col_bool},
    {"goal_variable", api_col_string},
    {"goal_based_retry", api_col_bool},
    {"timezone_mode", api_col_string},
    {"max_concurrent_calls", api_col_int},
    {"calls_per_minute", api_col_int},
    {"max_call_duration_s", api_col_int},
    {"status_changed_at", api_col_time},
    {"created_at", api_col_time},
    {"updated_at", api_col_time},
    {"archived_at", api_col_time},
    {"opt_out_variable", api_col_string},
    {"predial_url", api_col_string},
    {"predial_timeout_ms", api_col_int},
    {"predial_on_error", api_col_string},
    {"arms", api_col_json},
    {"callback_variable", api_col_string},
    {"caller_id_strategy", api_col_string},
};

/* Column of archived_at in CAMPAIGN_COLUMNS. */
#define CAMPAIGN_COL_ARCHIVED 20
/* Column of arms. */
#define CAMPAIGN_COL_ARMS 25

RESOURCE_STMTS(campaign, "campaign", CAMPAIGN_COLUMNS,
               "c.id = $1::uuid AND c.account_id = $2::uuid", 2);

static const pg_stmt_t campaign_list_stmt = {
    "campaign_list",
    CAMPAIGN_COLUMNS " WHERE c.account_id = $1::uuid AND ($2::uuid IS NULL OR c.id > $2::uuid)"
                     " AND ($3::campaign_status IS NULL OR c.status = $3::campaign_status)"
                     " AND ($4::boolean IS NULL OR (c.archived_at IS NOT NULL) = $4::boolean)"
                     " ORDER BY c.id LIMIT $5::int",
    5};

static const pg_stmt_t campaign_owned_stmt = {
    "campaign_owned",
    "SELECT status, archived_at IS NOT NULL FROM campaign WHERE id = $1::uuid"
    " AND account_id = $2::uuid",
    2};

static const pg_stmt_t campaign_owned_lock_stmt = {
    "campaign_owned_lock",
    "SELECT status, archived_at IS NOT NULL FROM campaign WHERE id = $1::uuid"
    " AND account_id = $2::uuid FOR SHARE",
    2};

static const pg_stmt_t campaign_archive_stmt = {
    "campaign_archive",
    "UPDATE campaign SET archived_at = now(), updated_at = now() WHERE id = $1::uuid", 1};

/* Imports of the campaign that the importer may be writing. */
static const pg_stmt_t campaign_imports_open_stmt = {
    "campaign_imports_open",
    "SELECT count(*) FROM import WHERE campaign_id = $1::uuid AND status IN ('pending', 'running')",
    1};

/* The campaign's leads, imports and calls (a draft has none) go with it
 * (ON DELETE CASCADE). */
static const pg_stmt_t campaign_delete_stmt = {"campaign_delete",
                                               "DELETE FROM campaign WHERE id = $1::uuid", 1};

static const pg_stmt_t assistant_schema_stmt = {
    "campaign_assistant_schema",
    "SELECT post_call_schema::text FROM assistant WHERE id = $1::uuid AND account_id = $2::uuid",
    2};

static const pg_stmt_t campaign_insert_stmt = {
    "campaign_insert",
    "INSERT INTO campaign (account_id, assistant_id, name, window_start_min, window_end_min,"
    " allowed_days, max_retries, retry_interval_min, retry_on_voicemail, goal_variable,"
    " goal_based_retry, timezone_mode, max_concurrent_calls, calls_per_minute,"
    " max_call_duration_s, opt_out_variable, predial_url, predial_timeout_ms, predial_on_error,"
    " arms, callback_variable, caller_id_strategy)"
    " VALUES ($1::uuid, $2::uuid, $3, $4::smallint, $5::smallint, $6::smallint, $7::smallint,"
    " $8::int, $9::boolean, $10, $11::boolean, $12::timezone_mode, $13::int, $14::int, $15::int,"
    " $16, $17, $18::int, $19, $20::jsonb, $21, $22) RETURNING id",
    22};

static const pg_stmt_t campaign_update_stmt = {
    "campaign_update",
    "UPDATE campaign SET assistant_id = $2::uuid, name = $3, window_start_min = $4::smallint,"
    " window_end_min = $5::smallint, allowed_days = $6::smallint, max_retries = $7::smallint,"
    " retry_interval_min = $8::int, retry_on_voicemail = $9::boolean, goal_variable = $10,"
    " goal_based_retry = $11::boolean, timezone_mode = $12::timezone_mode,"
    " max_concurrent_calls = $13::int, calls_per_minute = $14::int,"
    " max_call_duration_s = $15::int, opt_out_variable = $16, predial_url = $17,"
    " predial_timeout_ms = $18::int, predial_on_error = $19, arms = $20::jsonb,"
    " callback_variable = $21, caller_id_strategy = $22, updated_at = now()"
    " WHERE id = $1::uuid",
    22};

/* The post-call variables of the A/B arms' assistants that are the
 * account's ($1: their ids). */
static const pg_stmt_t arm_assistants_stmt = {
    "campaign_arm_assistants",
    "SELECT id::text, post_call_schema::text FROM assistant WHERE id = ANY($1::uuid[])"
    " AND account_id = $2::uuid",
    2};

static const resource_t campaign_resource = {
    .not_found = "campaign not found",
    .get = &campaign_get_stmt,
    .lock = &campaign_lock_stmt,
    RESOURCE_FIELDS(campaign_fields_out),
};

/* 409 campaign_archived for a change to an archived campaign (what: "its
 * settings cannot change"). */
static void archived_reply(api_ctx_t *ctx, const char *what)
{
    api_reply_error(ctx, 409, "campaign_archived", NULL,
                    "the campaign is archived: %s (it stays readable, with all its leads and "
                    "calls)",
                    what);
}

static bool campaign_owned_check(api_ctx_t *ctx, const char *campaign_id, bool lock, bool writable,
                                 char *status_out)
{
    if (!uuid_str_valid(campaign_id)) {
        api_reply_not_found(ctx, "campaign");
        return false;
    }
    const char *params[] = {campaign_id, ctx->account_id};
    PGresult *res =
        resource_row_fetch(ctx, campaign_resource.not_found,
                           lock ? &campaign_owned_lock_stmt : &campaign_owned_stmt, params);
    if (!res)
        return false;
    bool ok = true;
    if (writable && PQgetvalue(res, 0, 1)[0] == 't') {
        archived_reply(ctx, "nothing can be added to it");
        ok = false;
    }
    if (ok && status_out)
        snprintf(status_out, 16, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return ok;
}

bool campaigns_owned(api_ctx_t *ctx, const char *campaign_id, bool lock, char *status_out)
{
    return campaign_owned_check(ctx, campaign_id, lock, false, status_out);
}

bool campaigns_writable(api_ctx_t *ctx, const char *campaign_id, bool lock, char *status_out)
{
    return campaign_owned_check(ctx, campaign_id, lock, true, status_out);
}

/* ---- settings ------------------------------------------------------------- */

static const char *const campaign_fields[] = {"name",
                                              "assistant_id",
                                              "window_start",
                                              "window_end",
                                              "allowed_days",
                                              "max_retries",
                                              "retry_interval_minutes",
                                              "retry_on_voicemail",
                                              "goal_variable",
                                              "goal_based_retry",
                                              "timezone_mode",
                                              "max_concurrent_calls",
                                              "calls_per_minute",
                                              "max_call_duration_s",
                                              "opt_out_variable",
                                              "predial_url",
                                              "predial_timeout_ms",
                                              "predial_on_error",
                                              "arms",
                                              "callback_variable",
                                              "caller_id_strategy",
                                              NULL};

/* A campaign's fields as they will be written: lib/settings' input plus
 * what it does not cover. Strings borrow from the body, the current row or
 * the buffers here. */
typedef struct campaign_input {
    const char *name;
    const char *assistant_id;
    settings_campaign_t s;
    int64_t max_call_duration_s;
    const char *predial_url; /* NULL: no pre-dial check */
    int64_t predial_timeout_ms;
    const char *predial_on_error;
    const char *caller_id_strategy; /* caller_id.h's names */
    char window_start[8], window_end[8];
    const char *days[7];
    const char **body_days; /* owned array of the body's day names */
    bool settings_given;    /* a field other than name is in the body */
    json_t *arms;           /* owned: the arms as given (an array), or NULL for none */
    char *arms_text;        /* owned: arms as stored (lower-case ids, weights); NULL for none */
} campaign_input_t;

/* An integer setting whose range lib/settings checks. */
/* A setting may be absent (kept) but not null: answers 400 "<name> must be
 * <what>, not null". False once answered. */
static bool setting_got(api_ctx_t *ctx, jsonio_got_t got, const char *name, const char *what)
{
    if (got == JSONIO_NULL)
        api_reply_error(ctx, 400, "invalid", name, "%s must be %s, not null", name, what);
    return got != JSONIO_ERROR && got != JSONIO_NULL;
}

static bool setting_int(api_ctx_t *ctx, const json_t *body, const char *name, int64_t *out)
{
    return setting_got(ctx, jsonio_int_any(ctx, body, name, NULL, out), name, "an integer");
}

static bool setting_bool(api_ctx_t *ctx, const json_t *body, const char *name, bool *out)
{
    return setting_got(ctx, jsonio_bool(ctx, body, name, NULL, out), name, "true or false");
}

static bool setting_string(api_ctx_t *ctx, const json_t *body, const char *name, size_t max,
                           const char **out)
{
    return setting_got(ctx, jsonio_string(ctx, body, name, NULL, max, out), name, "a string");
}

/* allowed_days of body over in: an array of day names (lib/settings checks
 * the names); null is refused, as a campaign needs a day to call on. */
static bool days_read(api_ctx_t *ctx, const json_t *body, campaign_input_t *in)
{
    json_t *days = NULL;
    jsonio_got_t got = jsonio_array(ctx, body, "allowed_days", NULL, &days);
    if (got == JSONIO_NULL)
        api_reply_error(ctx, 400, "invalid", "allowed_days",
                        "allowed_days must name at least one day (allowed: mon, tue, wed, thu, "
                        "fri, sat, sun)");
    if (got != JSONIO_SET)
        return got == JSONIO_ABSENT;
    size_t n = json_array_size(days);
    if (n > 14) {
        api_reply_error(ctx, 400, "invalid", "allowed_days",
                        "allowed_days lists %zu days; there are 7 (mon, tue, wed, thu, fri, "
                        "sat, sun)",
                        n);
        return false;
    }
    in->body_days = xcalloc(n ? n : 1, sizeof(*in->body_days));
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_array_get(days, i);
        if (!json_is_string(d)) {
            api_reply_error(ctx, 400, "invalid", "allowed_days",
                            "allowed_days must be an array of day names (mon, tue, wed, thu, "
                            "fri, sat, sun)");
            return false;
        }
        in->body_days[i] = json_string_value(d);
    }
    in->s.allowed_days = in->body_days;
    in->s.n_allowed_days = n;
    return true;
}

/* Reads the fields present in body over in. Type errors are answered here
 * (400 naming the field); ranges are lib/settings' job. */
static bool campaign_input_read(api_ctx_t *ctx, const json_t *body, campaign_input_t *in)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)body, key, value)
    {
        (void)value;
        if (strcmp(key, "name") != 0)
            in->settings_given = true;
    }
    if (!setting_string(ctx, body, "name", API_TEXT_MAX, &in->name) ||
        !setting_string(ctx, body, "assistant_id", 64, &in->assistant_id) ||
        !setting_string(ctx, body, "window_start", 16, &in->s.window_start) ||
        !setting_string(ctx, body, "window_end", 16, &in->s.window_end) ||
        !setting_string(ctx, body, "timezone_mode", 32, &in->s.timezone_mode) ||
        !setting_int(ctx, body, "max_retries", &in->s.max_retries) ||
        !setting_int(ctx, body, "retry_interval_minutes", &in->s.retry_interval_minutes) ||
        !setting_int(ctx, body, "max_concurrent_calls", &in->s.max_concurrent_calls) ||
        !setting_int(ctx, body, "max_call_duration_s", &in->max_call_duration_s) ||
        !setting_int(ctx, body, "predial_timeout_ms", &in->predial_timeout_ms) ||
        !setting_string(ctx, body, "predial_on_error", 16, &in->predial_on_error) ||
        !setting_string(ctx, body, "caller_id_strategy", 32, &in->caller_id_strategy) ||
        !setting_bool(ctx, body, "retry_on_voicemail", &in->s.retry_on_voicemail) ||
        !setting_bool(ctx, body, "goal_based_retry", &in->s.goal_based_retry))
        return false;

    if (!jsonio_string_or_null(ctx, body, "goal_variable", 64, &in->s.goal_variable) ||
        !jsonio_string_or_null(ctx, body, "opt_out_variable", 64, &in->s.opt_out_variable) ||
        !jsonio_string_or_null(ctx, body, "predial_url", PREDIAL_URL_MAX + 1, &in->predial_url) ||
        !jsonio_string_or_null(ctx, body, "callback_variable", 64, &in->s.callback_variable))
        return false;

    int64_t cpm = 0;
    jsonio_got_t got = jsonio_int_any(ctx, body, "calls_per_minute", NULL, &cpm);
    if (got == JSONIO_ERROR)
        return false;
    if (got == JSONIO_NULL) {
        in->s.has_calls_per_minute = false;
    } else if (got == JSONIO_SET) {
        in->s.has_calls_per_minute = true;
        in->s.calls_per_minute = cpm;
    }

    if (!days_read(ctx, body, in))
        return false;
    json_t *arms = json_object_get(body, "arms");
    if (arms && !json_is_null(arms) && !json_is_array(arms)) {
        api_reply_error(ctx, 400, "invalid", "arms",
                        "arms must be an array of {\"assistant_id\", \"weight\"} (or null for "
                        "the campaign's one assistant)");
        return false;
    }
    if (arms) {
        json_decref(in->arms);
        in->arms = json_is_array(arms) ? json_incref(arms) : NULL;
    }
    return true;
}

/* The assistant's post-call variables for lib/settings; answers 404 when
 * the assistant is not the account's. *schema_out owns the strings. */
static bool assistant_vars_load(api_ctx_t *ctx, const char *assistant_id, json_t **schema_out,
                                settings_var_t **vars_out, size_t *n_out)
{
    *schema_out = NULL;
    *vars_out = NULL;
    *n_out = 0;
    if (!uuid_str_valid(assistant_id)) {
        api_reply_error(ctx, 404, "not_found", "assistant_id", "assistant not found");
        return false;
    }
    const char *params[] = {assistant_id, ctx->account_id};
    PGresult *res = resource_query(ctx, &assistant_schema_stmt, params);
    if (!res)
        return false;
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_reply_error(ctx, 404, "not_found", "assistant_id", "assistant not found");
        return false;
    }
    json_error_t jerr;
    json_t *schema = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
    PQclear(res);
    size_t n = json_is_object(schema) ? json_object_size(schema) : 0;
    settings_var_t *vars = xcalloc(n ? n : 1, sizeof(*vars));
    size_t i = 0;
    const char *name;
    json_t *type;
    json_object_foreach(schema, name, type)
    {
        model_var_type_t t = MODEL_VAR_STRING;
        if (json_is_string(type) &&
            model_var_type_parse(json_string_value(type), &t, NULL, 0) == OD_OK && i < n) {
            vars[i].name = name;
            vars[i].type = t;
            i++;
        }
    }
    *schema_out = schema;
    *vars_out = vars;
    *n_out = i;
    return true;
}

/* The validated settings as the columns' text values. */
typedef struct campaign_values {
    char start[8], end[8], days[8], max_retries[8], interval[16], concurrent[16], cpm[16],
        duration[16], predial_timeout[16];
    const char *tz_mode;
    const char *goal;
    const char *opt_out;
    const char *callback;
} campaign_values_t;

/* Appends {"field", "message"} to problems. */
static void problem_add(json_t *problems, const char *field, const char *message)
{
    json_t *p = json_object();
    json_object_set_new(p, "field", json_string(field));
    json_t *msg = json_string(message);
    json_object_set_new(p, "message", msg ? msg : json_string("invalid value"));
    json_array_append_new(problems, p);
}

/* The pre-dial check's settings (lib/rules/predial.h) of in, appended to
 * list. */
static void predial_problems(const campaign_input_t *in, json_t *list)
{
    char msg[320], why[256];
    if (in->predial_url && predial_url_check(in->predial_url, why, sizeof(why)) != OD_OK) {
        snprintf(msg, sizeof(msg), "predial_url: %s", why);
        problem_add(list, "predial_url", msg);
    }
    if (in->predial_timeout_ms < PREDIAL_TIMEOUT_MS_MIN ||
        in->predial_timeout_ms > PREDIAL_TIMEOUT_MS_MAX) {
        snprintf(msg, sizeof(msg), "predial_timeout_ms must be between %d and %d (got %" PRId64 ")",
                 PREDIAL_TIMEOUT_MS_MIN, PREDIAL_TIMEOUT_MS_MAX, in->predial_timeout_ms);
        problem_add(list, "predial_timeout_ms", msg);
    }
    model_predial_on_error_t on_error;
    if (model_predial_on_error_parse(in->predial_on_error, &on_error, why, sizeof(why)) != OD_OK) {
        snprintf(msg, sizeof(msg), "predial_on_error: %s", why);
        problem_add(list, "predial_on_error", msg);
    }
    caller_id_strategy_t strategy;
    if (caller_id_strategy_parse(in->caller_id_strategy, &strategy, why, sizeof(why)) != OD_OK) {
        snprintf(msg, sizeof(msg), "caller_id_strategy: %s", why);
        problem_add(list, "caller_id_strategy", msg);
    }
}

/* The arms array as lib/rules' specs (specs may be NULL: check only; else
 * room for AB_ARMS_MAX, ids borrowed from arms): OD_ERR_INVALID with a
 * message when an arm is not {"assistant_id": string, "weight": integer}
 * or ab_arms_check refuses them. */
static int arms_specs(const json_t *arms, ab_arm_spec_t *specs, char *why, size_t whylen)
{
    ab_arm_spec_t local[AB_ARMS_MAX];
    size_t n = json_array_size(arms);
    for (size_t i = 0; i < n && i < AB_ARMS_MAX; i++) {
        const json_t *arm = json_array_get(arms, i);
        const json_t *id = json_object_get(arm, "assistant_id"),
                     *weight = json_object_get(arm, "weight");
        if (!json_is_object(arm) || !json_is_string(id) || !json_is_integer(weight) ||
            json_object_size(arm) != 2)
            return od_fail(why, whylen, OD_ERR_INVALID,
                           "arms[%zu] must be {\"assistant_id\": an assistant's id, \"weight\": "
                           "1..%d}",
                           i, AB_WEIGHT_MAX);
        local[i].assistant_id = json_string_value(id);
        local[i].weight = json_integer_value(weight);
    }
    int rc = ab_arms_check(local, n, why, whylen);
    if (rc == OD_OK && specs)
        memcpy(specs, local, n * sizeof(*specs));
    return rc;
}

/* Every problem of in (lib/settings' over the assistant's variables vars,
 * then what the API adds), as an array; empty when rules holds the valid
 * settings. */
static json_t *campaign_problems(const campaign_input_t *in, const settings_var_t *vars,
                                 size_t n_vars, settings_rules_t *rules)
{
    settings_problems_t problems;
    int rc = settings_campaign_check(&in->s, vars, n_vars, rules, &problems);
    json_t *list = json_array();
    for (size_t i = 0; rc != OD_OK && i < problems.n; i++)
        problem_add(list, problems.items[i].field, problems.items[i].message);
    if (in->max_call_duration_s < CAMPAIGN_CALL_DURATION_MIN ||
        in->max_call_duration_s > CAMPAIGN_CALL_DURATION_MAX) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "max_call_duration_s must be between %d and %d (got %" PRId64 ")",
                 CAMPAIGN_CALL_DURATION_MIN, CAMPAIGN_CALL_DURATION_MAX, in->max_call_duration_s);
        problem_add(list, "max_call_duration_s", msg);
    }
    predial_problems(in, list);
    char why[SETTINGS_MESSAGE_MAX];
    if (in->arms && arms_specs(in->arms, NULL, why, sizeof(why)) != OD_OK)
        problem_add(list, "arms", why);
    return list;
}

/* The valid settings rules (and in's duration) as the columns' text. */
static void campaign_values_fill(const settings_rules_t *rules, const campaign_input_t *in,
                                 campaign_values_t *out)
{
    snprintf(out->start, sizeof(out->start), "%d", rules->window.start_min);
    snprintf(out->end, sizeof(out->end), "%d", rules->window.end_min);
    snprintf(out->days, sizeof(out->days), "%u", rules->window.days);
    snprintf(out->max_retries, sizeof(out->max_retries), "%d", rules->retry.max_retries);
    snprintf(out->interval, sizeof(out->interval), "%d", rules->retry.retry_interval_minutes);
    snprintf(out->concurrent, sizeof(out->concurrent), "%d", rules->max_concurrent_calls);
    snprintf(out->cpm, sizeof(out->cpm), "%d", rules->calls_per_minute);
    snprintf(out->duration, sizeof(out->duration), "%" PRId64, in->max_call_duration_s);
    snprintf(out->predial_timeout, sizeof(out->predial_timeout), "%" PRId64,
             in->predial_timeout_ms);
    out->tz_mode = model_tz_mode_name(rules->tz_mode);
    out->goal = rules->goal_variable;
    out->opt_out = rules->opt_out_variable;
    out->callback = rules->callback_variable;
}

/* Whether the post-call schema (JSON text) has name as a boolean variable. */
static bool schema_has_boolean(const char *schema_text, const char *name)
{
    json_error_t jerr;
    json_t *schema = json_loads(schema_text, 0, &jerr);
    const char *type = json_string_value(json_object_get(schema, name));
    bool ok = type && strcmp(type, "boolean") == 0;
    json_decref(schema);
    return ok;
}

/* What the arms need of the database, after lib/rules accepted their shape:
 * each assistant the account's, the goal and opt-out variables boolean
 * variables of each (a problem per arm on list). Then in->arms_text holds
 * the arms as stored. False when the database failed (answered). */
static bool arms_db_check(api_ctx_t *ctx, campaign_input_t *in, json_t *list)
{
    ab_arm_spec_t specs[AB_ARMS_MAX];
    char why[SETTINGS_MESSAGE_MAX], ids[AB_ARMS_MAX * (UUID_STR_LEN + 1) + 3] = "{";
    if (arms_specs(in->arms, specs, why, sizeof(why)) != OD_OK)
        return true; /* campaign_problems reported it */
    size_t n = json_array_size(in->arms);
    for (size_t i = 0; i < n; i++) {
        strcat(ids, i ? "," : "");
        strcat(ids, specs[i].assistant_id);
    }
    strcat(ids, "}");
    const char *params[] = {ids, ctx->account_id};
    PGresult *res = resource_query(ctx, &arm_assistants_stmt, params);
    if (!res)
        return false;
    json_t *stored = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *schema = NULL;
        for (int r = 0; r < PQntuples(res) && !schema; r++)
            if (strcasecmp(PQgetvalue(res, r, 0), specs[i].assistant_id) == 0)
                schema = PQgetvalue(res, r, 1);
        const char *var = NULL, *setting = NULL;
        if (!schema) {
            snprintf(why, sizeof(why), "arms[%zu].assistant_id: no assistant %s in the account", i,
                     specs[i].assistant_id);
        } else if (in->s.goal_variable && *in->s.goal_variable &&
                   !schema_has_boolean(schema, in->s.goal_variable)) {
            var = in->s.goal_variable;
            setting = "goal_variable";
        } else if (in->s.opt_out_variable && *in->s.opt_out_variable &&
                   !schema_has_boolean(schema, in->s.opt_out_variable)) {
            var = in->s.opt_out_variable;
            setting = "opt_out_variable";
        }
        if (var)
            snprintf(why, sizeof(why),
                     "arms[%zu]: its assistant has no boolean post-call variable '%.40s' (the "
                     "campaign's %s)",
                     i, var, setting);
        if (!schema || var) {
            problem_add(list, "arms", why);
            break; /* one problem per field */
        }
        char id[UUID_STR_LEN];
        snprintf(id, sizeof(id), "%s", specs[i].assistant_id);
        for (char *c = id; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
        json_array_append_new(stored, json_pack("{s:s, s:I}", "assistant_id", id, "weight",
                                                (json_int_t)specs[i].weight));
    }
    PQclear(res);
    if (json_array_size(list) == 0)
        in->arms_text = json_dumps(stored, JSON_COMPACT);
    json_decref(stored);
    return true;
}

/* Checks in with lib/settings (and the call duration) and answers 400 with
 * every problem: {"error": {"code": "invalid", "field": first, "message":
 * first, "problems": [{"field", "message"}, ...]}}. */
static bool campaign_input_check(api_ctx_t *ctx, campaign_input_t *in, campaign_values_t *out)
{
    json_t *schema = NULL;
    settings_var_t *vars = NULL;
    size_t n_vars = 0;
    if (!assistant_vars_load(ctx, in->assistant_id, &schema, &vars, &n_vars))
        return false;
    settings_rules_t rules;
    json_t *list = campaign_problems(in, vars, n_vars, &rules);
    bool ok = true;
    if (in->arms && !arms_db_check(ctx, in, list))
        ok = false; /* answered */
    else if (json_array_size(list) != 0) {
        ok = false;
        json_t *first = json_array_get(list, 0);
        char field[64], message[SETTINGS_MESSAGE_MAX];
        snprintf(field, sizeof(field), "%s", json_string_value(json_object_get(first, "field")));
        snprintf(message, sizeof(message), "%s",
                 json_string_value(json_object_get(first, "message")));
        json_t *extra = json_object();
        json_object_set_new(extra, "problems", list);
        list = NULL;
        api_reply_error_with(ctx, 400, "invalid", field, message, extra);
    } else {
        campaign_values_fill(&rules, in, out);
    }
    json_decref(list);
    free(vars);
    /* rules.goal_variable borrows from in, not from the schema. */
    json_decref(schema);
    return ok;
}

static void campaign_input_free(campaign_input_t *in)
{
    free(in->body_days);
    json_decref(in->arms);
    free(in->arms_text);
}

/* The 21 parameters of campaign_insert_stmt (first: the account) and of
 * campaign_update_stmt (first: the campaign), in the order both take. */
static void campaign_params(const char *first, const campaign_input_t *in,
                            const campaign_values_t *v, const char *params[22])
{
    const char *values[22] = {first,
                              in->assistant_id,
                              in->name,
                              v->start,
                              v->end,
                              v->days,
                              v->max_retries,
                              v->interval,
                              in->s.retry_on_voicemail ? "true" : "false",
                              v->goal,
                              in->s.goal_based_retry ? "true" : "false",
                              v->tz_mode,
                              v->concurrent,
                              in->s.has_calls_per_minute ? v->cpm : NULL,
                              v->duration,
                              v->opt_out,
                              in->predial_url,
                              v->predial_timeout,
                              in->predial_on_error,
                              in->arms_text,
                              v->callback,
                              in->caller_id_strategy};
    memcpy(params, values, sizeof(values));
}

void campaigns_create(api_ctx_t *ctx)
{
    json_t *body = jsonio_body_fields(ctx, campaign_fields);
    if (!body)
        return;
    campaign_input_t in;
    memset(&in, 0, sizeof(in));
    settings_campaign_defaults(&in.s);
    in.max_call_duration_s = CAMPAIGN_CALL_DURATION_DEFAULT;
    in.predial_timeout_ms = PREDIAL_TIMEOUT_MS_DEFAULT;
    in.predial_on_error = model_predial_on_error_name(MODEL_PREDIAL_ON_ERROR_SKIP);
    in.caller_id_strategy = caller_id_strategy_name(CALLER_ID_SINGLE);
    campaign_values_t v;
    if (!campaign_input_read(ctx, body, &in))
        goto out;
    if (!in.name) {
        api_reply_error(ctx, 400, "invalid", "name", "name is required");
        goto out;
    }
    if (!in.assistant_id) {
        api_reply_error(ctx, 400, "invalid", "assistant_id",
                        "assistant_id is required (the assistant that places the calls)");
        goto out;
    }
    if (!campaign_input_check(ctx, &in, &v))
        goto out;
    const char *params[22];
    campaign_params(ctx->account_id, &in, &v, params);
    resource_created_reply(ctx, &campaign_resource, &campaign_insert_stmt, params);
out:
    campaign_input_free(&in);
}

void campaigns_get(api_ctx_t *ctx)
{
    resource_id_reply(ctx, &campaign_resource);
}

void campaigns_list(api_ctx_t *ctx)
{
    int limit;
    const char *cursor;
    if (!api_query_page(ctx, &limit, &cursor))
        return;
    const char *status = http_request_query(ctx->req, "status");
    if (status && !*status)
        status = NULL;
    model_campaign_status_t st;
    char why[256];
    if (status && model_campaign_status_parse(status, &st, why, sizeof(why)) != OD_OK) {
        api_reply_error(ctx, 400, "invalid", "status", "status: %s", why);
        return;
    }
    /* Archived campaigns are put away: listed only when asked for. */
    const char *archived = http_request_query(ctx->req, "archived");
    if (!archived || !*archived)
        archived = "false";
    if (strcmp(archived, "false") != 0 && strcmp(archived, "true") != 0 &&
        strcmp(archived, "all") != 0) {
        api_reply_error(ctx, 400, "invalid", "archived",
                        "archived must be false (the default: campaigns not archived), true "
                        "(archived ones only) or all");
        return;
    }
    const char *params[] = {ctx->account_id, cursor, status,
                            strcmp(archived, "all") == 0 ? NULL : archived};
    resource_page_reply(ctx, &campaign_resource, &campaign_list_stmt, params, limit);
}

/* The current settings of a campaign row (CAMPAIGN_COLUMNS) in the form
 * the user writes them; strings borrow from res and in. */
static void campaign_input_from_row(const PGresult *res, campaign_input_t *in)
{
    in->name = PQgetvalue(res, 0, 1);
    in->assistant_id = PQgetvalue(res, 0, 2);
    window_time_format(atoi(PQgetvalue(res, 0, 5)), in->window_start, sizeof(in->window_start));
    window_time_format(atoi(PQgetvalue(res, 0, 6)), in->window_end, sizeof(in->window_end));
    in->s.window_start = in->window_start;
    in->s.window_end = in->window_end;
    unsigned bits = (unsigned)atoi(PQgetvalue(res, 0, 7));
    for (unsigned b = 0; b < 7; b++)
        if (bits & (1u << b))
            in->days[in->s.n_allowed_days++] = window_day_name(1u << b);
    in->s.allowed_days = in->days;
    in->s.max_retries = strtoll(PQgetvalue(res, 0, 8), NULL, 10);
    in->s.retry_interval_minutes = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
    in->s.retry_on_voicemail = PQgetvalue(res, 0, 10)[0] == 't';
    in->s.goal_variable = PQgetisnull(res, 0, 11) ? NULL : PQgetvalue(res, 0, 11);
    in->s.goal_based_retry = PQgetvalue(res, 0, 12)[0] == 't';
    in->s.timezone_mode = PQgetvalue(res, 0, 13);
    in->s.max_concurrent_calls = strtoll(PQgetvalue(res, 0, 14), NULL, 10);
    in->s.has_calls_per_minute = !PQgetisnull(res, 0, 15);
    in->s.calls_per_minute = strtoll(PQgetvalue(res, 0, 15), NULL, 10);
    in->max_call_duration_s = strtoll(PQgetvalue(res, 0, 16), NULL, 10);
    in->s.opt_out_variable = PQgetisnull(res, 0, 21) ? NULL : PQgetvalue(res, 0, 21);
    in->predial_url = PQgetisnull(res, 0, 22) ? NULL : PQgetvalue(res, 0, 22);
    in->predial_timeout_ms = strtoll(PQgetvalue(res, 0, 23), NULL, 10);
    in->predial_on_error = PQgetvalue(res, 0, 24);
    in->s.callback_variable = PQgetisnull(res, 0, 26) ? NULL : PQgetvalue(res, 0, 26);
    in->caller_id_strategy = PQgetvalue(res, 0, 27);
    in->arms =
        PQgetisnull(res, 0, CAMPAIGN_COL_ARMS) ? NULL : api_col_json(res, 0, CAMPAIGN_COL_ARMS);
}

/* The arms may change only while the campaign is a draft (its leads keep
 * the arm of their first call): answers 409 when in's arms differ from the
 * row's in any other status. */
static bool arms_unchanged_or_draft(api_ctx_t *ctx, const PGresult *row, const campaign_input_t *in,
                                    const char *status)
{
    if (strcmp(status, "draft") == 0)
        return true;
    json_t *current = api_col_json(row, 0, CAMPAIGN_COL_ARMS);
    bool same = json_is_null(current) ? in->arms == NULL
                                      : in->arms != NULL && json_equal(current, in->arms);
    json_decref(current);
    if (!same)
        api_reply_error(ctx, 409, "invalid_state", "arms",
                        "the campaign is %s: its A/B arms can change only while it is a draft "
                        "(each lead keeps the arm it was first called with)",
                        status);
    return same;
}

/* campaigns_update's step under the lock: the body over the current
 * settings; settings (not the name) only while draft or paused. */
static int campaign_update_apply(api_ctx_t *ctx, resource_change_t *ch, const PGresult *row,
                                 char *err, size_t errlen)
{
    campaign_input_t in;
    memset(&in, 0, sizeof(in));
    campaign_values_t v;
    campaign_input_from_row(row, &in);
    const char *status = PQgetvalue(row, 0, 3);
    int rc = OD_OK;
    if (!campaign_input_read(ctx, ctx->body, &in))
        goto out;
    if (!PQgetisnull(row, 0, CAMPAIGN_COL_ARCHIVED)) {
        archived_reply(ctx, "its name and settings cannot change");
        goto out;
    }
    if (in.settings_given && strcmp(status, "draft") != 0 && strcmp(status, "paused") != 0) {
        api_reply_error(ctx, 409, "invalid_state", NULL,
                        "the campaign is %s: its settings can be changed only while it is draft "
                        "or paused (pause it first; the name can change at any time)",
                        status);
        goto out;
    }
    if (!arms_unchanged_or_draft(ctx, row, &in, status))
        goto out;
    if (!campaign_input_check(ctx, &in, &v))
        goto out;
    const char *params[22];
    campaign_params(ch->key[0], &in, &v, params);
    rc = pg_stmt_exec(ctx->db, &campaign_update_stmt, params, NULL, err, errlen);
out:
    campaign_input_free(&in);
    return rc;
}

void campaigns_update(api_ctx_t *ctx)
{
    resource_id_patch_run(ctx, &campaign_resource, campaign_fields, campaign_update_apply);
}

/* ---- lifecycle -------------------------------------------------------------- */

/* An action on a campaign takes no body, or an empty object: answers 400
 * otherwise. */
static bool action_body_check(api_ctx_t *ctx)
{
    static const char *const none[] = {NULL};
    if (ctx->body &&
        (!json_is_object(ctx->body) || !jsonio_fields_check(ctx, ctx->body, none, NULL))) {
        if (!ctx->replied)
            api_reply_error(ctx, 400, "invalid_json", NULL,
                            "this action takes no body (or an empty object)");
        return false;
    }
    return true;
}

static void campaign_action(api_ctx_t *ctx, lifecycle_action_t action)
{
    if (!action_body_check(ctx))
        return;
    const char *id = ctx->params[0];
    char err[512];
    lifecycle_result_t res;
    redis_t *r = atomic_load(&ctx->api->redis);
    int rc = lifecycle_campaign_apply(ctx->db, r, ctx->api->redis_prefix, ctx->account_id, id,
                                      action, NULL, api_now_us(ctx), &res, err, sizeof(err));
    if (rc == OD_ERR_NOT_FOUND) {
        api_reply_not_found(ctx, "campaign");
        return;
    }
    if (rc == OD_ERR_CONFLICT && res.n_problems > 0) {
        json_t *problems = json_array();
        bool state_only = true;
        for (size_t i = 0; i < res.n_problems; i++) {
            json_t *p = json_object();
            json_object_set_new(p, "code", json_string(res.problems[i].code));
            json_object_set_new(p, "message", json_string(res.problems[i].message));
            json_array_append_new(problems, p);
            state_only = state_only && strcmp(res.problems[i].code, "invalid_state") == 0;
        }
        char message[1024];
        size_t off = (size_t)snprintf(
            message, sizeof(message), "%s",
            state_only ? "" : "the campaign cannot start until every requirement is met: ");
        for (size_t i = 0; i < res.n_problems && off < sizeof(message); i++)
            off += (size_t)snprintf(message + off, sizeof(message) - off, "%s%s", i ? "; " : "",
                                    res.problems[i].message);
        json_t *extra = json_object();
        json_object_set_new(extra, "problems", problems);
        api_reply_error_with(ctx, 409, state_only ? "invalid_state" : "requirements_unmet", NULL,
                             message, extra);
        return;
    }
    if (rc) {
        api_reply_failure(ctx, rc, err);
        return;
    }
    const char *key[] = {id, ctx->account_id};
    resource_row_reply(ctx, &campaign_resource, key, 200);
}

void campaigns_start(api_ctx_t *ctx)
{
    campaign_action(ctx, LIFECYCLE_START);
}

void campaigns_pause(api_ctx_t *ctx)
{
    campaign_action(ctx, LIFECYCLE_PAUSE);
}

void campaigns_resume(api_ctx_t *ctx)
{
    campaign_action(ctx, LIFECYCLE_RESUME);
}

/* campaigns_archive's step under the lock: only a completed campaign;
 * archiving twice changes nothing. */
/* Whether the locked campaign row has status want; answers 409
 * invalid_state "the campaign is <status>: <only>" when not. */
static bool campaign_status_is(api_ctx_t *ctx, const PGresult *row, const char *want,
                               const char *only)
{
    const char *status = PQgetvalue(row, 0, 3);
    if (strcmp(status, want) == 0)
        return true;
    api_reply_error(ctx, 409, "invalid_state", NULL, "the campaign is %s: %s", status, only);
    return false;
}

static int campaign_archive_apply(api_ctx_t *ctx, resource_change_t *ch, const PGresult *row,
                                  char *err, size_t errlen)
{
    if (!PQgetisnull(row, 0, CAMPAIGN_COL_ARCHIVED) ||
        !campaign_status_is(ctx, row, "completed",
                            "only a completed campaign can be archived (pause a running one "
                            "and let it finish, or delete a draft)"))
        return OD_OK;
    return pg_stmt_exec(ctx->db, &campaign_archive_stmt, ch->key, NULL, err, errlen);
}

void campaigns_archive(api_ctx_t *ctx)
{
    if (!action_body_check(ctx))
        return;
    resource_id_change_run(ctx, &campaign_resource, campaign_archive_apply, NULL);
}

/* campaigns_delete's step under the lock: only a draft (it has called no
 * one), and not while an import into it is still pending or running. */
static int campaign_delete_apply(api_ctx_t *ctx, resource_change_t *ch, const PGresult *row,
                                 char *err, size_t errlen)
{
    ch->reply_status = 204;
    if (!campaign_status_is(ctx, row, "draft",
                            "only a draft campaign can be deleted (a completed one can be "
                            "archived; its leads and calls stay)"))
        return OD_OK;
    PGresult *imports = NULL;
    int rc = pg_stmt_exec(ctx->db, &campaign_imports_open_stmt, ch->key, &imports, err, errlen);
    if (rc == OD_OK && strtoll(PQgetvalue(imports, 0, 0), NULL, 10) > 0)
        api_reply_error(ctx, 409, "import_running", NULL,
                        "an import into the campaign is still pending or running: delete the "
                        "campaign when it has finished");
    else if (rc == OD_OK)
        rc = pg_stmt_exec(ctx->db, &campaign_delete_stmt, ch->key, NULL, err, errlen);
    PQclear(imports);
    return rc;
}

void campaigns_delete(api_ctx_t *ctx)
{
    resource_id_change_run(ctx, &campaign_resource, campaign_delete_apply, NULL);
}

/*
 * assistants.c — the AI assistants campaigns call with: name, IANA
 * timezone (checked against the tz database), outbound phone number (E.164
 * through lib/phone, or none), provider ids, and the post-call variable
 * schema {name: boolean|string|number} that goal variables refer to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "jsonio.h"
#include "lead_map.h"
#include "model.h"
#include "phone.h"
#include "resource.h"
#include "window.h"
#include "xmalloc.h"

/* A provider reports a handful of variables; 100 is far beyond use and
 * keeps the schema (copied into every campaign check) small. */
#define ASSISTANT_VARS_MAX     100
#define ASSISTANT_VAR_NAME_MAX 64

#define ASSISTANT_COLUMNS                                                                          \
    "SELECT id, name, timezone, outbound_e164, provider, provider_assistant_id,"                   \
    " provider_phone_number_id, post_call_schema::text, od_us(created_at), od_us(updated_at)"      \
    " FROM assistant"

/* The JSON members, one per column of ASSISTANT_COLUMNS in its order. */
static const resource_field_t assistant_fields_out[] = {
    {"id", api_col_string},
    {"name", api_col_string},
    {"timezone", api_col_string},
    {"outbound_phone_number", api_col_string},
    {"provider", api_col_string},
    {"provider_assistant_id", api_col_string},
    {"provider_phone_number_id", api_col_string},
    {"post_call_schema", api_col_json},
    {"created_at", api_col_time},
    {"updated_at", api_col_time},
};

RESOURCE_STMTS(assistant, "assistant", ASSISTANT_COLUMNS, "id = $1::uuid AND account_id = $2::uuid",
               2);

static const pg_stmt_t assistant_list_stmt = {
    "assistant_list",
    ASSISTANT_COLUMNS " WHERE account_id = $1::uuid AND ($2::uuid IS NULL OR id > $2::uuid)"
                      " ORDER BY id LIMIT $3::int",
    3};

static const pg_stmt_t assistant_insert_stmt = {
    "assistant_insert",
    "INSERT INTO assistant (account_id, name, timezone, outbound_e164, provider,"
    " provider_assistant_id, provider_phone_number_id, post_call_schema)"
    " VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8::jsonb) RETURNING id",
    8};

static const pg_stmt_t assistant_update_stmt = {
    "assistant_update",
    "UPDATE assistant SET name = $3, timezone = $4, outbound_e164 = $5, provider = $6,"
    " provider_assistant_id = $7, provider_phone_number_id = $8, post_call_schema = $9::jsonb,"
    " updated_at = now() WHERE id = $1::uuid AND account_id = $2::uuid",
    9};

/* The campaigns that use assistant $1: as their assistant or as one of
 * their A/B arms. */
#define CAMPAIGN_USES_ASSISTANT                                                                    \
    " (assistant_id = $1::uuid OR coalesce(arms, '[]') @>"                                         \
    "  jsonb_build_array(jsonb_build_object('assistant_id', $1::uuid::text)))"

/* A campaign whose goal variable the new schema no longer has as a boolean. */
static const pg_stmt_t goal_users_stmt = {
    "assistant_goal_users",
    "SELECT id, name, goal_variable FROM campaign WHERE" CAMPAIGN_USES_ASSISTANT
    " AND goal_variable IS NOT NULL"
    " AND ($2::jsonb ->> goal_variable) IS DISTINCT FROM 'boolean' LIMIT 1",
    2};

static const pg_stmt_t running_users_stmt = {
    "assistant_running_users",
    "SELECT id, name FROM campaign WHERE" CAMPAIGN_USES_ASSISTANT " AND status = 'in_progress'"
    " LIMIT 1",
    1};

/* Every campaign keeps its assistant (archived ones too: their rows stay
 * whole), so an assistant any campaign names cannot be deleted. */
static const pg_stmt_t assistant_users_stmt = {
    "assistant_users",
    "SELECT id, name, status, archived_at IS NOT NULL, count(*) OVER () FROM campaign"
    " WHERE" CAMPAIGN_USES_ASSISTANT " ORDER BY created_at, id LIMIT 1",
    1};

static const pg_stmt_t assistant_delete_stmt = {
    "assistant_delete", "DELETE FROM assistant WHERE id = $1::uuid AND account_id = $2::uuid", 2};

/* An assistant's fields as they will be written. Strings borrow from the
 * request body, the current row or the buffers here. */
typedef struct assistant_input {
    const char *name;
    const char *timezone;
    char zone[WINDOW_ZONE_MAX]; /* the canonical name of a timezone given */
    const char *outbound_e164;  /* NULL: none */
    char e164[PHONE_E164_MAX + 1];
    const char *provider;
    const char *provider_assistant_id;
    const char *provider_phone_number_id; /* NULL: none */
    char *schema;                         /* JSON text, owned */
    bool schema_changed;
    bool outbound_changed;
} assistant_input_t;

/* Checks and normalises a post-call variable schema; answers 400. */
static bool schema_check(api_ctx_t *ctx, json_t *schema)
{
    if (json_object_size(schema) > ASSISTANT_VARS_MAX) {
        api_reply_error(ctx, 400, "invalid", "post_call_schema",
                        "post_call_schema has %zu variables (at most %d)", json_object_size(schema),
                        ASSISTANT_VARS_MAX);
        return false;
    }
    const char *name;
    json_t *type;
    json_object_foreach(schema, name, type)
    {
        size_t len = strlen(name);
        if (len == 0 || len > ASSISTANT_VAR_NAME_MAX) {
            api_reply_error(ctx, 400, "invalid", "post_call_schema",
                            "post_call_schema: variable names must be 1 to %d bytes long",
                            ASSISTANT_VAR_NAME_MAX);
            return false;
        }
        model_var_type_t t;
        if (!json_is_string(type) ||
            model_var_type_parse(json_string_value(type), &t, NULL, 0) != OD_OK) {
            api_reply_error(ctx, 400, "invalid", "post_call_schema",
                            "post_call_schema: variable '%.64s' must have the type \"boolean\", "
                            "\"string\" or \"number\"",
                            name);
            return false;
        }
    }
    return true;
}

/* The outbound phone number of body over in: null removes it, a number is
 * parsed in the account's region. Answers 400. */
static bool outbound_read(api_ctx_t *ctx, const json_t *body, assistant_input_t *in)
{
    const char *s = NULL;
    jsonio_got_t got = jsonio_string(ctx, body, "outbound_phone_number", NULL, 64, &s);
    if (got == JSONIO_ERROR)
        return false;
    if (got == JSONIO_NULL) {
        in->outbound_e164 = NULL;
        in->outbound_changed = true;
    } else if (got == JSONIO_SET) {
        if (!api_phone_parse(ctx, s, "outbound_phone_number", in->e164))
            return false;
        in->outbound_e164 = in->e164;
        in->outbound_changed = true;
    }
    return true;
}

/* The post-call schema of body over in: null empties it. Answers 400. */
static bool schema_read(api_ctx_t *ctx, const json_t *body, assistant_input_t *in)
{
    json_t *schema = NULL;
    jsonio_got_t got = jsonio_object(ctx, body, "post_call_schema", NULL, &schema);
    if (got == JSONIO_ERROR)
        return false;
    if (got == JSONIO_NULL) {
        free(in->schema);
        in->schema = xstrdup("{}");
        in->schema_changed = true;
    } else if (got == JSONIO_SET) {
        if (!schema_check(ctx, schema))
            return false;
        free(in->schema);
        in->schema = json_dumps(schema, JSON_COMPACT);
        in->schema_changed = true;
    }
    return true;
}

/* Reads the fields present in body over in (create: in holds defaults;
 * update: the current row). Answers 400 and returns false on a bad one. */
static bool assistant_input_read(api_ctx_t *ctx, const json_t *body, assistant_input_t *in)
{
    /* The providers the dialer serves (db/migrations/015 lists the same). */
    static const char *const providers[] = {"vapi", "retell", NULL};
    static const char provider_message[] =
        "provider must be \"vapi\" (the Vapi-compatible API, the default) or \"retell\" "
        "(Retell AI)";
    const char *timezone = NULL, *provider = NULL, *s = NULL;
    if (!jsonio_string_not_null(ctx, body, "name", API_TEXT_MAX, "name must be a non-empty string",
                                &in->name) ||
        !jsonio_string_not_null(ctx, body, "timezone", WINDOW_ZONE_MAX,
                                "timezone must be an IANA time zone name such as America/New_York",
                                &timezone))
        return false;
    /* As for leads: any letter case, stored under the canonical name
     * ("america/new_york" -> "America/New_York"). */
    char why[256];
    if (timezone && lead_map_zone_canonical_one(timezone, in->zone, why, sizeof(why)) != OD_OK) {
        api_reply_error(ctx, 400, "invalid", "timezone",
                        "timezone '%.64s' is not an IANA time zone name (e.g. "
                        "America/New_York, Europe/Berlin)",
                        timezone);
        return false;
    }
    if (timezone)
        in->timezone = in->zone;
    if (!outbound_read(ctx, body, in) ||
        !jsonio_string_not_null(ctx, body, "provider", 32, provider_message, &provider))
        return false;
    bool known = !provider;
    for (size_t i = 0; provider && providers[i]; i++)
        known = known || strcmp(provider, providers[i]) == 0;
    if (!known) {
        api_reply_error(ctx, 400, "invalid", "provider", "%s", provider_message);
        return false;
    }
    if (provider)
        in->provider = provider;
    if (!jsonio_string_not_null(ctx, body, "provider_assistant_id", API_TEXT_MAX,
                                "provider_assistant_id must be the provider's id of the assistant",
                                &in->provider_assistant_id))
        return false;
    jsonio_got_t got = jsonio_string(ctx, body, "provider_phone_number_id", NULL, API_TEXT_MAX, &s);
    if (got == JSONIO_ERROR)
        return false;
    if (got != JSONIO_ABSENT)
        in->provider_phone_number_id = got == JSONIO_SET ? s : NULL;
    return schema_read(ctx, body, in);
}

/* in's columns in the order assistant_insert_stmt and assistant_update_stmt
 * take them after their key. */
static void assistant_values(const assistant_input_t *in, const char *values[7])
{
    const char *v[7] = {in->name,
                        in->timezone,
                        in->outbound_e164,
                        in->provider,
                        in->provider_assistant_id,
                        in->provider_phone_number_id,
                        in->schema};
    memcpy(values, v, sizeof(v));
}

static const char *const assistant_fields[] = {"name",
                                               "timezone",
                                               "outbound_phone_number",
                                               "provider",
                                               "provider_assistant_id",
                                               "provider_phone_number_id",
                                               "post_call_schema",
                                               NULL};

static const resource_t assistant_resource = {
    .not_found = "assistant not found",
    .get = &assistant_get_stmt,
    .lock = &assistant_lock_stmt,
    RESOURCE_FIELDS(assistant_fields_out),
};

void assistants_create(api_ctx_t *ctx)
{
    json_t *body = jsonio_body_fields(ctx, assistant_fields);
    if (!body)
        return;
    assistant_input_t in = {.provider = "vapi"};
    in.schema = xstrdup("{}");
    if (!assistant_input_read(ctx, body, &in))
        goto out;
    static const char *const required[] = {"name", "timezone", "provider_assistant_id"};
    const char *values[] = {in.name, in.timezone, in.provider_assistant_id};
    for (size_t i = 0; i < 3; i++) {
        if (!values[i]) {
            api_reply_error(ctx, 400, "invalid", required[i], "%s is required", required[i]);
            goto out;
        }
    }
    const char *params[8] = {ctx->account_id};
    assistant_values(&in, params + 1);
    resource_created_reply(ctx, &assistant_resource, &assistant_insert_stmt, params);
out:
    free(in.schema);
}

void assistants_get(api_ctx_t *ctx)
{
    resource_id_reply(ctx, &assistant_resource);
}

void assistants_list(api_ctx_t *ctx)
{
    resource_account_page_reply(ctx, &assistant_resource, &assistant_list_stmt);
}

/* Whether a campaign of assistant id refuses the change in: one whose
 * goal variable the new schema no longer has as a boolean, or one calling
 * while the outbound number goes away. Answers 409 naming the campaign. */
static int assistant_in_use(api_ctx_t *ctx, const char *id, const assistant_input_t *in, char *err,
                            size_t errlen)
{
    PGresult *users = NULL;
    int rc = OD_OK;
    if (in->schema_changed) {
        const char *p[] = {id, in->schema};
        rc = pg_stmt_exec(ctx->db, &goal_users_stmt, p, &users, err, errlen);
        if (rc == OD_OK && PQntuples(users) > 0) {
            api_reply_error(ctx, 409, "in_use", "post_call_schema",
                            "campaign '%.100s' (%s) uses '%.64s' as its goal variable: keep it a "
                            "boolean variable, or change the campaign's goal_variable first",
                            PQgetvalue(users, 0, 1), PQgetvalue(users, 0, 0),
                            PQgetvalue(users, 0, 2));
            goto out;
        }
        PQclear(users);
        users = NULL;
    }
    if (rc == OD_OK && in->outbound_changed && !in->outbound_e164) {
        const char *p[] = {id};
        rc = pg_stmt_exec(ctx->db, &running_users_stmt, p, &users, err, errlen);
        if (rc == OD_OK && PQntuples(users) > 0)
            api_reply_error(
                ctx, 409, "in_use", "outbound_phone_number",
                "campaign '%.100s' (%s) is calling with this assistant: pause it before "
                "removing the outbound phone number",
                PQgetvalue(users, 0, 1), PQgetvalue(users, 0, 0));
    }
out:
    PQclear(users);
    return rc;
}

/* assistants_update's step under the lock: the body over the current row. */
static int assistant_update_apply(api_ctx_t *ctx, resource_change_t *ch, const PGresult *row,
                                  char *err, size_t errlen)
{
    const char *id = ch->key[0];
    assistant_input_t in = {0};
    in.name = PQgetvalue(row, 0, 1);
    in.timezone = PQgetvalue(row, 0, 2);
    in.outbound_e164 = PQgetisnull(row, 0, 3) ? NULL : PQgetvalue(row, 0, 3);
    in.provider = PQgetvalue(row, 0, 4);
    in.provider_assistant_id = PQgetvalue(row, 0, 5);
    in.provider_phone_number_id = PQgetisnull(row, 0, 6) ? NULL : PQgetvalue(row, 0, 6);
    in.schema = xstrdup(PQgetvalue(row, 0, 7));
    int rc = OD_OK;
    if (assistant_input_read(ctx, ctx->body, &in))
        rc = assistant_in_use(ctx, id, &in, err, errlen);
    if (rc == OD_OK && !ctx->replied) {
        const char *params[9] = {id, ctx->account_id};
        assistant_values(&in, params + 2);
        rc = pg_stmt_exec(ctx->db, &assistant_update_stmt, params, NULL, err, errlen);
    }
    free(in.schema);
    return rc;
}

void assistants_update(api_ctx_t *ctx)
{
    resource_id_patch_run(ctx, &assistant_resource, assistant_fields, assistant_update_apply);
}

/* assistants_delete's step under the lock: 409 in_use naming a campaign
 * that uses the assistant (and how many do), else the row goes. */
static int assistant_delete_apply(api_ctx_t *ctx, resource_change_t *ch, const PGresult *row,
                                  char *err, size_t errlen)
{
    (void)row;
    PGresult *users = NULL;
    const char *p[] = {ch->key[0]};
    int rc = pg_stmt_exec(ctx->db, &assistant_users_stmt, p, &users, err, errlen);
    if (rc == OD_OK && PQntuples(users) > 0) {
        long long n = strtoll(PQgetvalue(users, 0, 4), NULL, 10);
        bool archived = PQgetvalue(users, 0, 3)[0] == 't';
        api_reply_error(ctx, 409, "in_use", NULL,
                        "campaign '%.100s' (%s, %s%s)%s uses the assistant: delete the "
                        "campaigns that use it first (a draft can be deleted; other campaigns "
                        "keep their assistant)",
                        PQgetvalue(users, 0, 1), PQgetvalue(users, 0, 0), PQgetvalue(users, 0, 2),
                        archived ? ", archived" : "", n > 1 ? " and other campaigns" : "");
    } else if (rc == OD_OK) {
        rc = pg_stmt_exec(ctx->db, &assistant_delete_stmt, ch->key, NULL, err, errlen);
    }
    PQclear(users);
    ch->reply_status = 204;
    return rc;
}

void assistants_delete(api_ctx_t *ctx)
{
    resource_id_change_run(ctx, &assistant_resource, assistant_delete_apply, NULL);
}

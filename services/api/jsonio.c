#include "jsonio.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char *jsonio_label(char *buf, size_t len, const char *where, const char *name)
{
    if (where && *where)
        snprintf(buf, len, "%s.%s", where, name);
    else
        snprintf(buf, len, "%s", name);
    return buf;
}

bool jsonio_fields_check(api_ctx_t *ctx, const json_t *obj, const char *const *allowed,
                         const char *where)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        (void)value;
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(allowed[i], key) == 0;
        if (!known) {
            char label[160];
            char list[600];
            size_t off = 0;
            list[0] = '\0';
            for (size_t i = 0; allowed[i] && off < sizeof(list); i++)
                off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "",
                                        allowed[i]);
            jsonio_label(label, sizeof(label), where, key);
            api_reply_error(ctx, 400, "unknown_field", label,
                            "unknown field '%.100s' (allowed: %s)", label, list);
            return false;
        }
    }
    return true;
}

json_t *jsonio_body_object(api_ctx_t *ctx)
{
    if (!ctx->body) {
        api_reply_error(ctx, 400, "invalid_json", NULL,
                        "a JSON object is required as the request body "
                        "(Content-Type: application/json)");
        return NULL;
    }
    if (!json_is_object(ctx->body)) {
        api_reply_error(ctx, 400, "invalid_json", NULL, "the request body must be a JSON object");
        return NULL;
    }
    return ctx->body;
}

json_t *jsonio_body_fields(api_ctx_t *ctx, const char *const *allowed)
{
    json_t *body = jsonio_body_object(ctx);
    if (!body || !jsonio_fields_check(ctx, body, allowed, NULL))
        return NULL;
    return body;
}

static const char *label_of(const char *name, const char *label)
{
    return label ? label : name;
}

/* The member name of obj when present, not null and of the kind is_kind
 * accepts (*out borrows it); a member of another kind answers 400 "<field>
 * must be <what>". */
static jsonio_got_t member_get(api_ctx_t *ctx, const json_t *obj, const char *name,
                               const char *label, bool (*is_kind)(const json_t *), const char *what,
                               json_t **out)
{
    json_t *v = json_object_get(obj, name);
    if (!v)
        return JSONIO_ABSENT;
    if (json_is_null(v))
        return JSONIO_NULL;
    if (!is_kind(v)) {
        const char *field = label_of(name, label);
        api_reply_error(ctx, 400, "invalid", field, "%s must be %s", field, what);
        return JSONIO_ERROR;
    }
    *out = v;
    return JSONIO_SET;
}

/* The kinds, as functions (jansson's tests are macros). */
static bool kind_string(const json_t *v)
{
    return json_is_string(v);
}
static bool kind_integer(const json_t *v)
{
    return json_is_integer(v);
}
static bool kind_boolean(const json_t *v)
{
    return json_is_boolean(v);
}
static bool kind_object(const json_t *v)
{
    return json_is_object(v);
}
static bool kind_array(const json_t *v)
{
    return json_is_array(v);
}

jsonio_got_t jsonio_string(api_ctx_t *ctx, const json_t *obj, const char *name, const char *label,
                           size_t max_len, const char **out)
{
    json_t *v = NULL;
    jsonio_got_t got = member_get(ctx, obj, name, label, kind_string, "a string", &v);
    if (got != JSONIO_SET)
        return got;
    const char *field = label_of(name, label);
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len == 0) {
        api_reply_error(ctx, 400, "invalid", field, "%s must not be empty", field);
        return JSONIO_ERROR;
    }
    if (strlen(s) != len) {
        api_reply_error(ctx, 400, "invalid", field, "%s must not contain NUL characters", field);
        return JSONIO_ERROR;
    }
    if (max_len && len > max_len) {
        api_reply_error(ctx, 400, "invalid", field, "%s must be at most %zu bytes long (got %zu)",
                        field, max_len, len);
        return JSONIO_ERROR;
    }
    *out = s;
    return JSONIO_SET;
}

bool jsonio_string_not_null(api_ctx_t *ctx, const json_t *obj, const char *name, size_t max_len,
                            const char *null_message, const char **out)
{
    jsonio_got_t got = jsonio_string(ctx, obj, name, NULL, max_len, out);
    if (got == JSONIO_NULL)
        api_reply_error(ctx, 400, "invalid", name, "%s", null_message);
    return got != JSONIO_ERROR && got != JSONIO_NULL;
}

bool jsonio_string_or_null(api_ctx_t *ctx, const json_t *obj, const char *name, size_t max_len,
                           const char **out)
{
    const char *s = NULL;
    jsonio_got_t got = jsonio_string(ctx, obj, name, NULL, max_len, &s);
    if (got == JSONIO_NULL)
        *out = NULL;
    else if (got == JSONIO_SET)
        *out = s;
    return got != JSONIO_ERROR;
}

jsonio_got_t jsonio_int_any(api_ctx_t *ctx, const json_t *obj, const char *name, const char *label,
                            int64_t *out)
{
    json_t *v = NULL;
    jsonio_got_t got = member_get(ctx, obj, name, label, kind_integer, "an integer", &v);
    if (got == JSONIO_SET)
        *out = (int64_t)json_integer_value(v);
    return got;
}

jsonio_got_t jsonio_int(api_ctx_t *ctx, const json_t *obj, const char *name, const char *label,
                        int64_t min, int64_t max, int64_t *out)
{
    int64_t v = 0;
    jsonio_got_t got = jsonio_int_any(ctx, obj, name, label, &v);
    if (got != JSONIO_SET)
        return got;
    const char *field = label_of(name, label);
    if (v < min || v > max) {
        api_reply_error(ctx, 400, "invalid", field,
                        "%s must be between %" PRId64 " and %" PRId64 " (got %" PRId64 ")", field,
                        min, max, v);
        return JSONIO_ERROR;
    }
    *out = v;
    return JSONIO_SET;
}

jsonio_got_t jsonio_bool(api_ctx_t *ctx, const json_t *obj, const char *name, const char *label,
                         bool *out)
{
    json_t *v = NULL;
    jsonio_got_t got = member_get(ctx, obj, name, label, kind_boolean, "true or false", &v);
    if (got == JSONIO_SET)
        *out = json_is_true(v);
    return got;
}

jsonio_got_t jsonio_object(api_ctx_t *ctx, const json_t *obj, const char *name, const char *label,
                           json_t **out)
{
    return member_get(ctx, obj, name, label, kind_object, "an object", out);
}

jsonio_got_t jsonio_array(api_ctx_t *ctx, const json_t *obj, const char *name, const char *label,
                          json_t **out)
{
    return member_get(ctx, obj, name, label, kind_array, "an array", out);
}

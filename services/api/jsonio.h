/*
 * jsonio.h — reading request JSON field by field, with the error a client
 * can act on.
 *
 * Every getter looks up `name` in obj and, when the value has the wrong
 * type or is out of its limits, answers 400 {"error":{"code":"invalid",
 * "field":label,...}} on ctx and returns JSONIO_ERROR; the handler then
 * just returns. label is the field as the client wrote it ("max_retries",
 * or "leads[3].phone" inside an array); NULL means name.
 */
#ifndef OUTDIAL_API_JSONIO_H
#define OUTDIAL_API_JSONIO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"

typedef enum jsonio_got {
    JSONIO_ERROR = -1, /* answered 400 */
    JSONIO_ABSENT = 0, /* not in the object */
    JSONIO_NULL = 1,   /* present and null */
    JSONIO_SET = 2,    /* present with a value of the right type */
} jsonio_got_t;

/* Answers 400 unknown_field when obj has a member not in allowed
 * (NULL-terminated); the field is named (prefixed by where, e.g.
 * "leads[2]", when not NULL). Returns whether every member is known. */
bool jsonio_fields_check(api_ctx_t *ctx, const json_t *obj, const char *const *allowed,
                         const char *where);

/* The request body as an object: answers 400 when there is none or it is
 * not an object. */
json_t *jsonio_body_object(api_ctx_t *ctx);
/* The same, whose members must all be in allowed (NULL-terminated;
 * jsonio_fields_check): NULL once answered 400. */
json_t *jsonio_body_fields(api_ctx_t *ctx, const char *const *allowed);

/* A string of 1..max_len bytes (max_len 0: no limit but non-empty).
 * *out borrows from obj. */
jsonio_got_t jsonio_string(api_ctx_t *ctx, const json_t *obj, const char *name, const char *label,
                           size_t max_len, const char **out);
/* A string that may be absent but not null (a field that cannot be
 * emptied): absent leaves *out alone, null answers 400 with null_message.
 * False once answered. */
bool jsonio_string_not_null(api_ctx_t *ctx, const json_t *obj, const char *name, size_t max_len,
                            const char *null_message, const char **out);
/* A string that may be absent (*out kept) or null (*out = NULL, "none"),
 * e.g. a setting that can be cleared. False once answered. */
bool jsonio_string_or_null(api_ctx_t *ctx, const json_t *obj, const char *name, size_t max_len,
                           const char **out);
/* An integer (not a real) in [min, max]; the message names the range. */
jsonio_got_t jsonio_int(api_ctx_t *ctx, const json_t *obj, const char *name, const char *label,
                        int64_t min, int64_t max, int64_t *out);
/* Any integer (range checks left to the caller, e.g. lib/settings). */
jsonio_got_t jsonio_int_any(api_ctx_t *ctx, const json_t *obj, const char *name, const char *label,
                            int64_t *out);
jsonio_got_t jsonio_bool(api_ctx_t *ctx, const json_t *obj, const char *name, const char *label,
                         bool *out);
/* An object or an array; *out borrows from obj. */
jsonio_got_t jsonio_object(api_ctx_t *ctx, const json_t *obj, const char *name, const char *label,
                           json_t **out);
jsonio_got_t jsonio_array(api_ctx_t *ctx, const json_t *obj, const char *name, const char *label,
                          json_t **out);

/* "name" or "where.name" into buf. */
const char *jsonio_label(char *buf, size_t len, const char *where, const char *name);

#endif

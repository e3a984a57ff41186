/*
 * provider.c — what every provider shares: request and message cleanup,
 * money conversion, the HTTP requests' common shape, the classification of
 * failed answers, and the metadata that carries our attempt through the
 * provider and back. The table of providers is providers.c.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"
#include "xmalloc.h"

/* Retry-After beyond this is not honoured as given: a create-call request
 * is retried within the job's window or not at all. */
#define PROVIDER_RETRY_AFTER_MAX_MS 60000

void provider_request_clear(provider_request_t *req)
{
    if (!req)
        return;
    free(req->url);
    free(req->body);
    for (size_t i = 0; i < req->n_headers; i++)
        free(req->headers[i]);
    memset(req, 0, sizeof(*req));
}

void provider_msg_clear(provider_msg_t *msg)
{
    if (!msg)
        return;
    free(msg->result.post_call_variables_json);
    memset(msg, 0, sizeof(*msg));
}

int64_t provider_cost_minor(double dollars)
{
    if (!isfinite(dollars) || dollars <= 0)
        return 0;
    if (dollars > 1e12)
        return 0; /* nonsense; never charge it */
    return (int64_t)llround(dollars * 100.0);
}

void provider_copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

void provider_result_begin(provider_result_t *out, const char *reason)
{
    provider_copy(out->ended_reason, sizeof(out->ended_reason), reason);
    out->reason_known = true;
    out->permanent = false;
    out->answered_known = false;
    out->answered_by = MODEL_ANSWERED_BY_UNKNOWN;
}

char *provider_url_join(const char *base, const char *path)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return xasprintf("%.*s%s", (int)n, base, path);
}

void provider_header_bearer(const provider_conf_t *conf, provider_request_t *out)
{
    out->headers[out->n_headers++] = xasprintf("Authorization: Bearer %s", conf->api_key);
}

int provider_request_post_json(const provider_conf_t *conf, const char *path, json_t *body,
                               provider_request_t *out, char *errbuf, size_t errlen)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) /* a variable that is not UTF-8; the codec refuses those, so a bug */
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the create-call body cannot be encoded");
    out->method = "POST";
    out->url = provider_url_join(conf->base_url, path);
    out->body = xstrdup(text);
    out->body_len = strlen(text);
    free(text);
    provider_header_bearer(conf, out);
    out->headers[out->n_headers++] = xstrdup("Content-Type: application/json");
    return OD_OK;
}

int provider_request_get_call(const provider_conf_t *conf, const char *prefix,
                              const char *provider_call_id, provider_request_t *out, char *errbuf,
                              size_t errlen)
{
    memset(out, 0, sizeof(*out));
    for (const char *p = provider_call_id; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "provider call id '%.40s' has characters a URL path cannot hold",
                           provider_call_id);
    if (!*provider_call_id)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "no provider call id to look up");
    char path[PROVIDER_CALL_ID_MAX + 32];
    snprintf(path, sizeof(path), "%s%s", prefix, provider_call_id);
    out->method = "GET";
    out->url = provider_url_join(conf->base_url, path);
    provider_header_bearer(conf, out);
    return OD_OK;
}

/* The provider's error message: "message" (a string, or the first of an
 * array: Vapi; a string: Retell), else the body's start. */
static void error_message(const char *body, size_t len, char *out, size_t outlen)
{
    out[0] = '\0';
    json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
    const json_t *m = json_object_get(root, "message");
    if (json_is_array(m))
        m = json_array_get(m, 0);
    if (json_is_string(m))
        provider_copy(out, outlen, json_string_value(m));
    else if (body && len)
        snprintf(out, outlen, "%.*s", (int)(len > 200 ? 200 : len), body);
    json_decref(root);
}

static int64_t retry_after_ms(const char *value)
{
    if (!value)
        return 0;
    char *end = NULL;
    double s = strtod(value, &end);
    if (end == value || !isfinite(s) || s < 0)
        return 0; /* an HTTP date: not worth parsing for a few seconds of back-off */
    double ms = s * 1000.0;
    return ms > PROVIDER_RETRY_AFTER_MAX_MS ? PROVIDER_RETRY_AFTER_MAX_MS : (int64_t)ms;
}

void provider_place_parse(long status, const char *body, size_t len, const char *retry_after,
                          const char *id_key, provider_place_result_t *out)
{
    memset(out, 0, sizeof(*out));
    if (status == 200 || status == 201) {
        json_t *root = body ? json_loadb(body, len, 0, NULL) : NULL;
        provider_copy(out->provider_call_id, sizeof(out->provider_call_id),
                      json_string_value(json_object_get(root, id_key)));
        json_decref(root);
        out->outcome = PROVIDER_PLACE_OK;
        if (!out->provider_call_id[0])
            snprintf(out->detail, sizeof(out->detail), "the answer carries no %s", id_key);
        return;
    }
    error_message(body, len, out->detail, sizeof(out->detail));
    out->retry_after_ms = retry_after_ms(retry_after);
    if (status == 429) {
        out->outcome = PROVIDER_PLACE_RATE_LIMITED;
        provider_copy(out->ended_reason, sizeof(out->ended_reason), "provider-rate-limited");
    } else if (status == 401 || status == 403) {
        /* Our key is wrong: a configuration error, not the lead's fault. */
        out->outcome = PROVIDER_PLACE_TRANSIENT;
        provider_copy(out->ended_reason, sizeof(out->ended_reason), "provider-unauthorized");
    } else if (status == 408 || status >= 500 || status < 400) {
        out->outcome = PROVIDER_PLACE_TRANSIENT;
        snprintf(out->ended_reason, sizeof(out->ended_reason), "provider-http-%ld", status);
    } else {
        /* 400 (invalid number, bad body), 402, 404, 422: the same request
         * will always be refused. */
        out->outcome = PROVIDER_PLACE_PERMANENT;
        snprintf(out->ended_reason, sizeof(out->ended_reason), "provider-rejected-%ld", status);
    }
}

int provider_json_load(const char *body, size_t len, json_t **out, char *errbuf, size_t errlen)
{
    json_error_t jerr;
    *out = json_loadb(body ? body : "", body ? len : 0, 0, &jerr);
    if (!*out)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the body is not JSON: %s (line %d)",
                       jerr.text, jerr.line);
    return OD_OK;
}

int provider_lookup_parse(long status, const char *body, size_t len, const char *status_key,
                          bool (*final)(const char *status), provider_report_fn report,
                          provider_lookup_t *kind, provider_msg_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    *kind = status == 404   ? PROVIDER_LOOKUP_NOT_FOUND
            : status == 200 ? PROVIDER_LOOKUP_ENDED
                            : PROVIDER_LOOKUP_RETRY;
    if (*kind != PROVIDER_LOOKUP_ENDED)
        return OD_OK;
    json_t *call = body ? json_loadb(body, len, 0, NULL) : NULL;
    int rc = OD_OK;
    if (!json_is_object(call)) {
        rc = od_fail(errbuf, errlen, OD_ERR_INVALID, "the call object is not a JSON object");
        goto out;
    }
    const char *st = json_string_value(json_object_get(call, status_key));
    if (!st || !final(st)) {
        *kind = PROVIDER_LOOKUP_RUNNING;
        goto out;
    }
    rc = report(call, out, errbuf, errlen);
    if (rc)
        goto out;
    provider_copy(out->type, sizeof(out->type), "call-lookup");
    out->kind = PROVIDER_MSG_REPORT;
out:
    json_decref(call);
    if (rc)
        provider_msg_clear(out);
    return rc;
}

int provider_webhook_parse(const char *body, size_t len, provider_webhook_read_fn reader,
                           provider_msg_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    json_t *root = NULL;
    int rc = provider_json_load(body, len, &root, errbuf, errlen);
    if (rc)
        return rc;
    rc = reader(root, out, errbuf, errlen);
    json_decref(root);
    if (rc)
        provider_msg_clear(out);
    return rc;
}

/* A UUID from metadata under its snake_case or camelCase name. */
static int meta_uuid(const json_t *meta, const char *where, const char *snake, const char *camel,
                     char *out, char *errbuf, size_t errlen)
{
    const json_t *v = json_object_get(meta, snake);
    if (!v)
        v = json_object_get(meta, camel);
    const char *s = json_string_value(v);
    if (!s)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s is missing", where, snake);
    if (!uuid_str_valid(s))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.%s is not a UUID (got '%.40s')", where,
                       snake, s);
    for (size_t i = 0; i < UUID_STR_LEN - 1; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[UUID_STR_LEN - 1] = '\0';
    return OD_OK;
}

int provider_attempt_from_metadata(const json_t *meta, const char *where, provider_attempt_t *a,
                                   char *errbuf, size_t errlen)
{
    if (!json_is_object(meta))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s is missing: not a call placed by outdial", where);
    int rc = meta_uuid(meta, where, "attempt_id", "attemptId", a->attempt_id, errbuf, errlen);
    if (rc == OD_OK)
        rc = meta_uuid(meta, where, "lead_id", "leadId", a->lead_id, errbuf, errlen);
    if (rc == OD_OK)
        rc = meta_uuid(meta, where, "campaign_id", "campaignId", a->campaign_id, errbuf, errlen);
    if (rc == OD_OK)
        rc = meta_uuid(meta, where, "account_id", "accountId", a->account_id, errbuf, errlen);
    if (rc)
        return rc;
    const json_t *n = json_object_get(meta, "attempt_number");
    if (!n)
        n = json_object_get(meta, "attemptNumber");
    json_int_t number = 0;
    if (json_is_integer(n))
        number = json_integer_value(n);
    else if (json_is_string(n))
        number = strtoll(json_string_value(n), NULL, 10);
    if (number < 0 || number > CODEC_ATTEMPT_NUMBER_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s.attempt_number is not in 1..%d", where,
                       CODEC_ATTEMPT_NUMBER_MAX);
    a->attempt_number = (uint32_t)number;
    return OD_OK;
}

json_t *provider_metadata_of_job(const dialjob_t *job)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:i}", "attempt_id", job->attempt_id, "lead_id",
                     job->lead_id, "campaign_id", job->campaign_id, "account_id", job->account_id,
                     "attempt_number", (int)job->attempt_number);
}

json_t *provider_variables_of_job(const dialjob_t *job)
{
    json_t *vars = json_object();
    for (size_t i = 0; i < job->n_variables; i++)
        json_object_set_new(vars, job->variables[i]->key, json_string(job->variables[i]->value));
    return vars;
}

char *provider_json_object_text(const json_t *obj)
{
    if (!json_is_object(obj))
        return NULL;
    char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return NULL;
    char *out = xstrdup(text); /* ours to free with free(), whatever jansson's allocator */
    free(text);
    return out;
}

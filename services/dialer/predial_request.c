#include "predial_request.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "xmalloc.h"

void predial_request_build(const dialjob_t *job, provider_request_t *req)
{
    memset(req, 0, sizeof(*req));
    json_t *vars = json_object();
    for (size_t i = 0; i < job->n_variables; i++)
        if (job->variables[i]->key)
            json_object_set_new(
                vars, job->variables[i]->key,
                json_string(job->variables[i]->value ? job->variables[i]->value : ""));
    const struct {
        const char *key;
        const char *value;
    } texts[] = {
        {"attempt_id", job->attempt_id},
        {"lead_id", job->lead_id},
        {"campaign_id", job->campaign_id},
        {"account_id", job->account_id},
        {"e164", job->e164},
        {"name", job->lead_name ? job->lead_name : ""},
    };
    json_t *body = json_object();
    for (size_t i = 0; i < OD_COUNT(texts); i++)
        json_object_set_new(body, texts[i].key, json_string(texts[i].value));
    json_object_set_new(body, "attempt_number", json_integer(job->attempt_number));
    json_object_set_new(body, "variables", vars);
    /* The codec checked every string is UTF-8: the dump cannot fail. */
    req->body = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    if (!req->body)
        req->body = xstrdup("{}");
    req->body_len = strlen(req->body);
    json_decref(body);
    req->method = "POST";
    req->url = xstrdup(job->predial->url);
    req->headers[req->n_headers++] = xstrdup("Content-Type: application/json");
    req->headers[req->n_headers++] = xstrdup("Accept: application/json");
}

void predial_response_read(CURLcode crc, long http_status, const char *body, size_t body_len,
                           long long timeout_ms, predial_response_t *out)
{
    memset(out, 0, sizeof(*out));
    out->timeout_ms = timeout_ms;
    out->timed_out = crc == CURLE_OPERATION_TIMEDOUT;
    if (crc != CURLE_OK && !out->timed_out)
        out->transport = curl_easy_strerror(crc);
    out->http_status = http_status;
    out->body = body;
    out->body_len = body_len;
}

#include "sim_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_protocol.h"
#include "sim_retell.h"
#include "xmalloc.h"

#define JSON_TYPE "application/json"

static void answer(http_response_t *resp, sim_answer_t *a)
{
    http_response_take(resp, a->status, JSON_TYPE, a->body, strlen(a->body));
    a->body = NULL; /* now the server's */
    if (a->retry_after)
        http_response_header_add(resp, "Retry-After", a->retry_after);
}

static void answer_error(http_response_t *resp, const sim_protocol_t *proto, int status,
                         json_t *message)
{
    char *body = proto->error_body(status, message);
    http_response_take(resp, status, JSON_TYPE, body, strlen(body));
}

static bool authorized(sim_t *sim, const sim_protocol_t *proto, http_request_t *req,
                       http_response_t *resp)
{
    if (sim_vapi_bearer_ok(http_request_header(req, "Authorization"), sim->cfg.api_key))
        return true;
    sim_count_refusal(sim, 401);
    answer_error(resp, proto, 401,
                 json_string("invalid API key: send 'Authorization: Bearer <private key>'"));
    return false;
}

/* A protocol's create-call request parser. */
typedef int (*request_parse_fn)(const char *body, size_t len, sim_call_request_t *req,
                                json_t **problems);

static void call_create(sim_t *sim, const sim_protocol_t *proto, request_parse_fn parse,
                        http_request_t *req, http_response_t *resp)
{
    if (!authorized(sim, proto, req, resp))
        return;
    size_t len = 0;
    const char *body = http_request_body(req, &len);
    sim_call_request_t creq;
    json_t *problems = NULL;
    if (parse(body, len, &creq, &problems) != OD_OK) {
        sim_count_refusal(sim, 400);
        answer_error(resp, proto, 400, problems);
        return;
    }
    sim_answer_t a;
    sim_call_place(sim, proto, &creq, &a);
    /* Slow answers and timeouts hold this request thread: lib/web/http has no
     * way to answer later from elsewhere. --http-threads sizes the pool. */
    sim_delay(sim, a.delay_ms);
    answer(resp, &a);
}

/* "/call/{id}" or "/v2/get-call/{call_id}": the call object. */
static void call_get(sim_t *sim, const sim_protocol_t *proto, const char *id, http_request_t *req,
                     http_response_t *resp)
{
    if (!authorized(sim, proto, req, resp))
        return;
    sim_answer_t a;
    sim_call_get(sim, proto, id, &a);
    answer(resp, &a);
}

static void not_found(const sim_protocol_t *proto, http_request_t *req, http_response_t *resp)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "cannot %s %.200s", http_request_method(req),
             http_request_path(req));
    answer_error(resp, proto, 404, json_string(msg));
}

static bool method_get(http_request_t *req)
{
    const char *method = http_request_method(req);
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* The one path segment after the route ("/{id}"), or NULL. */
static const char *id_segment(http_request_t *req)
{
    const char *sub = http_request_subpath(req);
    return sub[0] == '/' && sub[1] && !strchr(sub + 1, '/') ? sub + 1 : NULL;
}

/* Vapi: "/call" takes POST; "/call/{id}" takes GET. */
static void route_call(http_request_t *req, http_response_t *resp, void *arg)
{
    const char *sub = http_request_subpath(req);
    if (strcmp(http_request_method(req), "POST") == 0 && sub[0] == '\0')
        call_create(arg, &sim_protocol_vapi, sim_vapi_request_parse, req, resp);
    else if (method_get(req) && id_segment(req))
        call_get(arg, &sim_protocol_vapi, id_segment(req), req, resp);
    else
        not_found(&sim_protocol_vapi, req, resp);
}

/* Retell: POST /v2/create-phone-call. */
static void route_retell_create(http_request_t *req, http_response_t *resp, void *arg)
{
    if (http_request_subpath(req)[0] == '\0')
        call_create(arg, &sim_protocol_retell, sim_retell_request_parse, req, resp);
    else
        not_found(&sim_protocol_retell, req, resp);
}

/* Retell: GET /v2/get-call/{call_id}. */
static void route_retell_get(http_request_t *req, http_response_t *resp, void *arg)
{
    if (method_get(req) && id_segment(req))
        call_get(arg, &sim_protocol_retell, id_segment(req), req, resp);
    else
        not_found(&sim_protocol_retell, req, resp);
}

static void take_json(http_response_t *resp, int status, char *body)
{
    http_response_take(resp, status, JSON_TYPE, body, strlen(body));
}

static void route_sim_calls(http_request_t *req, http_response_t *resp, void *arg)
{
    /* "?number=+1555..." unencoded arrives with the '+' decoded as a space. */
    const char *number = http_request_query(req, "number");
    char fixed[64];
    if (number && number[0] == ' ') {
        snprintf(fixed, sizeof(fixed), "+%s", number + 1);
        number = fixed;
    }
    take_json(resp, 200,
              sim_calls_json(arg, number, http_request_query(req, "campaign_id"),
                             http_request_query(req, "attempt_id")));
}

static void route_sim_stats(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)req;
    take_json(resp, 200, sim_stats_json(arg));
}

static void route_sim_invariants(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)req;
    take_json(resp, 200, sim_invariants_json(arg));
}

static void route_sim_faults_get(http_request_t *req, http_response_t *resp, void *arg)
{
    (void)req;
    take_json(resp, 200, sim_faults_json(arg));
}

static void route_sim_faults_post(http_request_t *req, http_response_t *resp, void *arg)
{
    size_t len = 0;
    const char *body = http_request_body(req, &len);
    char err[256];
    if (sim_faults_update(arg, body, len, err, sizeof(err)) != OD_OK) {
        http_response_error(resp, 400, "invalid", err, NULL);
        return;
    }
    take_json(resp, 200, sim_faults_json(arg));
}

int sim_api_routes_add(http_server_t *srv, sim_t *sim, char *errbuf, size_t errlen)
{
    int rc = http_route_add(srv, NULL, "/call", route_call, sim, errbuf, errlen);
    if (!rc)
        rc = http_route_add(srv, "POST", "/v2/create-phone-call", route_retell_create, sim, errbuf,
                            errlen);
    if (!rc)
        rc = http_route_add(srv, NULL, "/v2/get-call", route_retell_get, sim, errbuf, errlen);
    if (!rc)
        rc = http_route_add(srv, "GET", "/sim/calls", route_sim_calls, sim, errbuf, errlen);
    if (!rc)
        rc = http_route_add(srv, "GET", "/sim/stats", route_sim_stats, sim, errbuf, errlen);
    if (!rc)
        rc = http_route_add(srv, "GET", "/sim/invariants", route_sim_invariants, sim, errbuf,
                            errlen);
    if (!rc)
        rc = http_route_add(srv, "GET", "/sim/faults", route_sim_faults_get, sim, errbuf, errlen);
    if (!rc)
        rc = http_route_add(srv, "POST", "/sim/faults", route_sim_faults_post, sim, errbuf, errlen);
    return rc;
}

void sim_api_ready(http_readiness_t *rd, void *arg)
{
    sim_t *sim = arg;
    pthread_mutex_lock(&sim->lock);
    bool stopping = sim->stopping;
    pthread_mutex_unlock(&sim->lock);
    if (stopping)
        http_readiness_fail(rd, "voice-sim", "shutting down");
}

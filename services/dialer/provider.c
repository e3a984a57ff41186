/*
 * provider.c — what every provider shares: request and message cleanup,
 * money conversion. The table of providers is providers.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"

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

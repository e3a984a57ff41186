/*
 * webhook.h — POST /webhooks/<provider> (webhook.c): the provider's
 * messages about calls, turned into call events on lib/web/http's request
 * threads. Besides the call table it needs only what is listed here.
 */
#ifndef OUTDIAL_DIALER_WEBHOOK_H
#define OUTDIAL_DIALER_WEBHOOK_H

#include <stddef.h>

#include "calls.h"
#include "dialer_config.h"
#include "dialer_metrics.h"
#include "err.h"
#include "http.h"
#include "line_locks.h"
#include "notes.h"
#include "provider.h"
#include "publisher.h"
#include "redis.h"

typedef struct webhook {
    const dialer_config_t *cfg;
    const provider_ops_t *ops;   /* the provider whose webhooks this takes */
    const provider_conf_t *conf; /* its settings (the secret or key that proves them) */
    call_table_t *calls;
    publisher_t *pub;
    redis_t *redis;      /* the webhook threads' client (it serialises its commands) */
    line_locks_t *lines; /* a release that failed is retried by the dial loop */
    note_queue_t *notes; /* tells the dial loop an "initiated" is out */
    const dialer_metrics_t *m;
} webhook_t;

/* Adds the route; w must outlive the server. */
int webhook_routes_add(webhook_t *w, http_server_t *srv, char *errbuf, size_t errlen) OD_WUR;

#endif

/*
 * webhook_filter.h — the event types an outbound webhook endpoint can ask
 * for (docs/webhooks.md), and its filter: a set of them.
 *
 *   name                     from
 *   lead.finished            campaign-events, kind LEAD_FINISHED
 *   call.ended               call-events, a terminal status (completed, busy,
 *                            unanswered, failed); not skipped: no call happened
 *   campaign.status_changed  campaign-events, kind STATUS_CHANGED
 *   import.finished          campaign-events, kind IMPORT_FINISHED
 *
 * The API stores a filter as the names (webhook_endpoint.events), the
 * notifier matches an event's type against it. Pure.
 */
#ifndef OUTDIAL_WEB_WEBHOOK_FILTER_H
#define OUTDIAL_WEB_WEBHOOK_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

typedef enum webhook_event {
    WEBHOOK_EVENT_NONE = 0,
    WEBHOOK_EVENT_LEAD_FINISHED = 1 << 0,
    WEBHOOK_EVENT_CALL_ENDED = 1 << 1,
    WEBHOOK_EVENT_CAMPAIGN_STATUS_CHANGED = 1 << 2,
    WEBHOOK_EVENT_IMPORT_FINISHED = 1 << 3,
} webhook_event_t;

/* Every type, for "all events". */
#define WEBHOOK_EVENT_ALL 0xf
/* The longest name ("campaign.status_changed") + NUL. */
#define WEBHOOK_EVENT_NAME_MAX 24

/* The name of one type ("call.ended"); NULL for NONE or a set of several. */
const char *webhook_event_name(webhook_event_t type);

/* The type named name; WEBHOOK_EVENT_NONE for an unknown one. */
webhook_event_t webhook_event_parse(const char *name);

/* Adds the type named name to *filter. OD_ERR_INVALID with a message that
 * lists the names allowed for an unknown one. */
int webhook_filter_add(unsigned *filter, const char *name, char *errbuf, size_t errlen) OD_WUR;

/* Whether an endpoint with filter wants an event of type. */
bool webhook_filter_matches(unsigned filter, webhook_event_t type);

#endif

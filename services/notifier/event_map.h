/*
 * event_map.h — which Kafka events become webhooks, and the JSON a
 * receiver gets for each (docs/webhooks.md, "Events"). Pure: decoded
 * messages in, a plain struct out.
 *
 *   topic            message                               webhook type
 *   call-events      CallEvent, terminal status            call.ended
 *                    (completed, busy, unanswered, failed)
 *   campaign-events  CampaignEvent STATUS_CHANGED          campaign.status_changed
 *                    CampaignEvent LEAD_FINISHED           lead.finished
 *                    CampaignEvent IMPORT_FINISHED         import.finished
 *
 * Every other message (a call still ringing, a skipped job) is
 * EVENT_MAP_NONE. The body:
 *
 *   {"id": <event id>, "type": "call.ended", "created_at": RFC 3339,
 *    "account_id": ..., "data": {...the event's fields...}}
 *
 * and id is the idempotency key: the producer's event id (deterministic
 * for call events, fixed in the outbox for campaign events), the same on
 * every redelivery of the message.
 */
#ifndef OUTDIAL_NOTIFIER_EVENT_MAP_H
#define OUTDIAL_NOTIFIER_EVENT_MAP_H

#include <stddef.h>

#include "codec.h"
#include "err.h"
#include "uuid.h"
#include "webhook_filter.h"

typedef struct webhook_msg {
    webhook_event_t type; /* WEBHOOK_EVENT_NONE: no webhook for this message */
    char event_id[UUID_STR_LEN];
    char account_id[UUID_STR_LEN];
    char *body; /* the delivery's JSON, owned: webhook_msg_clear frees it */
} webhook_msg_t;

/* The webhook of a call event, into *out (cleared first). OD_OK with type
 * NONE for an event no webhook carries. */
int webhook_msg_from_call(const callevent_t *ev, webhook_msg_t *out, char *errbuf,
                          size_t errlen) OD_WUR;

/* The same for a campaign event. */
int webhook_msg_from_campaign(const campaignevent_t *ev, webhook_msg_t *out, char *errbuf,
                              size_t errlen) OD_WUR;

/* Frees out's body; the struct may be reused. */
void webhook_msg_clear(webhook_msg_t *out);

#endif

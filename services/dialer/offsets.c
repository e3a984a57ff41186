/*
 * offsets.c — offsets stored in order per partition (offsets.h).
 */
#include "offsets.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

struct offset_part {
    offset_part_t *next;
    char *topic;
    int32_t partition;
    offset_slot_t *head, *tail;
    bool blocked; /* a slot given back heads it: no later offset may be stored */
};

void offsets_init(offsets_t *o, kafka_consumer_t *consumer, offsets_free_fn *free_slot)
{
    memset(o, 0, sizeof(*o));
    o->consumer = consumer;
    o->free_slot = free_slot;
}

void offsets_destroy(offsets_t *o)
{
    offset_part_t *p = o->parts;
    while (p) {
        offset_part_t *next = p->next;
        for (offset_slot_t *s = p->head, *sn; s; s = sn) {
            sn = s->next;
            o->free_slot(s);
        }
        free(p->topic);
        free(p);
        p = next;
    }
    o->parts = NULL;
}

static offset_part_t *part_of(offsets_t *o, const rd_kafka_message_t *msg)
{
    const char *topic = rd_kafka_topic_name(msg->rkt);
    for (offset_part_t *p = o->parts; p; p = p->next)
        if (p->partition == msg->partition && strcmp(p->topic, topic) == 0)
            return p;
    offset_part_t *p = xcalloc(1, sizeof(*p));
    p->topic = xstrdup(topic);
    p->partition = msg->partition;
    p->next = o->parts;
    o->parts = p;
    return p;
}

void offsets_add(offsets_t *o, offset_slot_t *slot, rd_kafka_message_t *msg)
{
    offset_part_t *p = part_of(o, msg);
    slot->part = p;
    slot->msg = msg;
    slot->next = NULL;
    slot->done = slot->store = false;
    if (p->tail)
        p->tail->next = slot;
    else
        p->head = slot;
    p->tail = slot;
}

void offsets_finish(offsets_t *o, offset_slot_t *slot, bool store)
{
    char err[512];
    offset_part_t *p = slot->part;
    slot->done = true;
    slot->store = store;
    while (p->head && p->head->done && !p->blocked) {
        offset_slot_t *s = p->head;
        if (!s->store) {
            p->blocked = true;
            break;
        }
        int rc = kafka_consumer_store(o->consumer, s->msg, err, sizeof(err));
        if (rc == OD_ERR_CONFLICT)
            log_info("offset_store", "%s", err);
        else if (rc)
            log_warn("offset_store", "%s", err);
        p->head = s->next;
        if (!p->head)
            p->tail = NULL;
        o->free_slot(s);
    }
}

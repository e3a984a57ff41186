/*
 * offsets.h — the jobs topic's offsets, stored in order. A message's offset
 * is stored (for the consumer's next commit) only once it and every message
 * before it in its partition are finished, so that a restart re-delivers
 * every job not finished. A message finished without storing (a job given
 * back) blocks its partition: no later offset is stored, and a restart
 * re-delivers it and everything after it. Dial loop only.
 *
 * The owner of each message (a job) embeds an offset_slot_t; the slot is
 * handed back through free_slot once its offset is past.
 */
#ifndef OUTDIAL_DIALER_OFFSETS_H
#define OUTDIAL_DIALER_OFFSETS_H

#include <stdbool.h>

#include "kafka.h"

typedef struct offset_part offset_part_t;

typedef struct offset_slot {
    struct offset_slot *next; /* the partition's FIFO */
    offset_part_t *part;
    rd_kafka_message_t *msg; /* the owner's (freed by free_slot) */
    bool done;
    bool store; /* with done: store the offset (false: given back) */
} offset_slot_t;

/* Frees the owner of slot (and slot->msg). */
typedef void offsets_free_fn(offset_slot_t *slot);

typedef struct offsets {
    kafka_consumer_t *consumer;
    offsets_free_fn *free_slot;
    offset_part_t *parts;
} offsets_t;

void offsets_init(offsets_t *o, kafka_consumer_t *consumer, offsets_free_fn *free_slot);
/* Hands every slot still held to free_slot (their offsets not stored). */
void offsets_destroy(offsets_t *o);

/* Appends slot, for msg, to its partition's FIFO. */
void offsets_add(offsets_t *o, offset_slot_t *slot, rd_kafka_message_t *msg);
/* slot's message is finished: stores the offsets of the partition's leading
 * finished messages and hands their slots (slot itself, maybe) to
 * free_slot. */
void offsets_finish(offsets_t *o, offset_slot_t *slot, bool store);

#endif

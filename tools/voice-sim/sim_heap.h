/*
 * sim_heap.h — a binary min-heap of timers: the simulator's one queue of
 * "call C has its next step due at real time T", so that thousands of
 * concurrent calls need one thread, not one each.
 *
 * Equal due times come out in insertion order (a sequence number breaks
 * ties), so calls placed together progress in the order they came.
 * Not thread-safe: the simulator's lock guards it.
 */
#ifndef OUTDIAL_SIM_HEAP_H
#define OUTDIAL_SIM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sim_timer {
    int64_t due_us; /* real time, µs since the Unix epoch */
    uint64_t seq;   /* insertion order, for ties */
    void *item;     /* borrowed */
} sim_timer_t;

typedef struct sim_heap {
    sim_timer_t *timers;
    size_t n;
    size_t cap;
    uint64_t next_seq;
} sim_heap_t;

void sim_heap_init(sim_heap_t *heap);
/* Frees the heap's memory (not the items). */
void sim_heap_clear(sim_heap_t *heap);
void sim_heap_push(sim_heap_t *heap, int64_t due_us, void *item);
/* The earliest timer, or NULL when empty (valid until the next change). */
const sim_timer_t *sim_heap_peek(const sim_heap_t *heap);
/* Removes the earliest timer into *out; false when empty. */
bool sim_heap_pop(sim_heap_t *heap, sim_timer_t *out);

#endif

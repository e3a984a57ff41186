#include "sim_heap.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static bool earlier(const sim_timer_t *a, const sim_timer_t *b)
{
    return a->due_us < b->due_us || (a->due_us == b->due_us && a->seq < b->seq);
}

void sim_heap_init(sim_heap_t *heap)
{
    memset(heap, 0, sizeof(*heap));
}

void sim_heap_clear(sim_heap_t *heap)
{
    free(heap->timers);
    memset(heap, 0, sizeof(*heap));
}

void sim_heap_push(sim_heap_t *heap, int64_t due_us, void *item)
{
    if (heap->n == heap->cap) {
        heap->cap = heap->cap ? heap->cap * 2 : 256;
        heap->timers = xrealloc(heap->timers, heap->cap * sizeof(*heap->timers));
    }
    sim_timer_t t = {.due_us = due_us, .seq = heap->next_seq++, .item = item};
    size_t i = heap->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(&t, &heap->timers[parent]))
            break;
        heap->timers[i] = heap->timers[parent];
        i = parent;
    }
    heap->timers[i] = t;
}

const sim_timer_t *sim_heap_peek(const sim_heap_t *heap)
{
    return heap->n ? &heap->timers[0] : NULL;
}

bool sim_heap_pop(sim_heap_t *heap, sim_timer_t *out)
{
    if (!heap->n)
        return false;
    *out = heap->timers[0];
    sim_timer_t last = heap->timers[--heap->n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= heap->n)
            break;
        if (child + 1 < heap->n && earlier(&heap->timers[child + 1], &heap->timers[child]))
            child++;
        if (!earlier(&heap->timers[child], &last))
            break;
        heap->timers[i] = heap->timers[child];
        i = child;
    }
    if (heap->n)
        heap->timers[i] = last;
    return true;
}

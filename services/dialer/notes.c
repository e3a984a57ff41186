/*
 * notes.c — the dial loop's mailbox (notes.h).
 */
#include "notes.h"

#include <stdio.h>
#include <stdlib.h>

#include "xmalloc.h"

void note_queue_init(note_queue_t *q, transfers_t *wake)
{
    pthread_mutex_init(&q->mu, NULL);
    q->head = NULL;
    q->wake = wake;
}

void note_queue_destroy(note_queue_t *q)
{
    for (dial_note_t *n = q->head, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    q->head = NULL;
    pthread_mutex_destroy(&q->mu);
}

void note_queue_push(note_queue_t *q, note_kind_t kind, struct dial_job *job,
                     const char *attempt_id, int rc, const char *err)
{
    dial_note_t *n = xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->job = job;
    n->rc = rc;
    snprintf(n->attempt_id, sizeof(n->attempt_id), "%s", attempt_id ? attempt_id : "");
    snprintf(n->err, sizeof(n->err), "%s", err ? err : "");
    pthread_mutex_lock(&q->mu);
    n->next = q->head;
    q->head = n;
    pthread_mutex_unlock(&q->mu);
    transfers_wakeup(q->wake);
}

dial_note_t *note_queue_take(note_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    dial_note_t *list = q->head;
    q->head = NULL;
    pthread_mutex_unlock(&q->mu);
    /* Pushed newest first: reverse to hand them over in order. */
    dial_note_t *ordered = NULL;
    while (list) {
        dial_note_t *next = list->next;
        list->next = ordered;
        ordered = list;
        list = next;
    }
    return ordered;
}

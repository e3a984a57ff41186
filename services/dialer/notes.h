/*
 * notes.h — the dial loop's mailbox: other threads (the publisher's
 * delivery reports, the webhook threads) leave a note and wake the loop,
 * which takes the notes in the order they came and hands each to its part
 * (dialer.c). Nothing but the loop acts on a note.
 */
#ifndef OUTDIAL_DIALER_NOTES_H
#define OUTDIAL_DIALER_NOTES_H

#include <pthread.h>

#include "transfer.h"
#include "uuid.h"

struct dial_job;

typedef enum note_kind {
    NOTE_JOB_ACK = 0, /* a job's event: delivered or failed (jobs.h) */
    NOTE_INIT_DONE,   /* a webhook thread published a call's "initiated" (jobs.h) */
    NOTE_RECONCILED,  /* a lookup's terminal event: delivered or failed (reconcile.h) */
} note_kind_t;

/* A message to the dial loop from another thread. */
typedef struct dial_note {
    struct dial_note *next;
    note_kind_t kind;
    struct dial_job *job; /* NOTE_JOB_ACK */
    int rc;               /* OD_OK: delivered */
    char attempt_id[UUID_STR_LEN];
    char err[200];
} dial_note_t;

typedef struct note_queue {
    pthread_mutex_t mu;
    dial_note_t *head; /* newest first */
    transfers_t *wake; /* the loop sleeps in its poll */
} note_queue_t;

/* wake: the transfers whose poll the dial loop sleeps in. */
void note_queue_init(note_queue_t *q, transfers_t *wake);
/* Frees the notes left. */
void note_queue_destroy(note_queue_t *q);

/* Any thread: queues a note (job for NOTE_JOB_ACK, attempt_id for the
 * others; err may be NULL) and wakes the loop. */
void note_queue_push(note_queue_t *q, note_kind_t kind, struct dial_job *job,
                     const char *attempt_id, int rc, const char *err);

/* Dial loop: takes every note, oldest first. The caller frees each. */
dial_note_t *note_queue_take(note_queue_t *q);

#endif

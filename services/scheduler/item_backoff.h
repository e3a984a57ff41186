/*
 * item_backoff.h — one bad campaign or lead row must not stop the rest
 * (docs/reliability.md, "One bad item"). The dispatch pass and the
 * recovery loops skip an item that failed, for a while that doubles with
 * each failure in a row, and go on with the others:
 *
 *   failures in a row   next try after (first 1 s, max 300 s: the defaults)
 *   0                   now
 *   1                   first
 *   2                   2 x first
 *   n                   first x 2^(n-1), at most max
 *
 * Why these numbers: a failure that is not the database's (the database
 * answered; see item_backoff_pass_fails) is a row or a setting that stays
 * wrong until a person fixes it, so retrying every 200 ms tick would only
 * fill the log; five minutes at most keeps a fixed item from waiting long.
 *
 * item_backoff_delay_us is pure. The table is plain memory, used from one
 * thread; times are real microseconds (od_clock_real_us), not campaign
 * time, since a backoff is about how often the process tries.
 */
#ifndef OUTDIAL_ITEM_BACKOFF_H
#define OUTDIAL_ITEM_BACKOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ITEM_BACKOFF_FIRST_US ((int64_t)1000000)
#define ITEM_BACKOFF_MAX_US   ((int64_t)300000000)
/* An item id: a UUID in text form, with room to spare. */
#define ITEM_BACKOFF_ID_MAX 64

/* The wait after the failures-th failure in a row: first_us x 2^(failures-1),
 * at most max_us; 0 for failures <= 0. Pure. */
int64_t item_backoff_delay_us(int failures, int64_t first_us, int64_t max_us);

/* Whether a pass should stop at an item's error rc rather than skip the
 * item: the dependency is away (OD_ERR_UNAVAILABLE), so every other item
 * would fail the same way and no item is to blame. Pure. */
bool item_backoff_pass_fails(int rc);

typedef struct item_backoff item_backoff_t;

/* A new, empty table; the caller frees it with item_backoff_free. */
item_backoff_t *item_backoff_new(int64_t first_us, int64_t max_us);

/* NULL is a no-op. */
void item_backoff_free(item_backoff_t *t);

/* Whether id is still waiting out its backoff at now_us. A NULL table
 * never holds anything. */
bool item_backoff_held(const item_backoff_t *t, const char *id, int64_t now_us);

/* Records a failure of id at now_us; returns how long it is now held
 * (item_backoff_delay_us of its failures in a row). An entry whose wait
 * ended more than max_us ago, and that no failure renewed, is dropped here
 * (an item that went away, as a deleted lead). A NULL table records
 * nothing and returns 0. */
int64_t item_backoff_fail(item_backoff_t *t, const char *id, int64_t now_us);

/* Forgets id after it succeeded. A NULL table is a no-op. */
void item_backoff_ok(item_backoff_t *t, const char *id);

/* The ids held at now_us as a Postgres array literal "{a,b}" ("{}" when
 * none) for a query to leave out; the caller frees it. Ids must need no
 * quoting (UUIDs). */
char *item_backoff_held_array(const item_backoff_t *t, int64_t now_us);

#endif

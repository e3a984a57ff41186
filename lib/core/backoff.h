/*
 * backoff.h — the doubling wait that every retry loop of outdial shares
 * (a dependency's checks, lib/core/deps.h; a failing campaign or lead,
 * services/scheduler/item_backoff.h; a webhook's retries,
 * services/notifier/delivery_plan.h). Pure.
 */
#ifndef OUTDIAL_BACKOFF_H
#define OUTDIAL_BACKOFF_H

#include <stdint.h>

/* The wait after the n-th failure in a row: first x 2^(n-1), at most max
 * (no overflow however large n); 0 for n <= 0 or first <= 0. Any unit. */
int64_t od_backoff_doubling(int64_t n, int64_t first, int64_t max);

#endif

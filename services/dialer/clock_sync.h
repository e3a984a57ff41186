/*
 * clock_sync.h — the dialer's clock, kept to the shared one.
 *
 * The dialer's last look (the window, the legal hours, the caps) reads
 * campaign time from its host's clock. A host whose clock runs behind would
 * place calls after a window closed. So the dial loop asks Redis for its
 * time (TIME) every CLOCK_SYNC_EVERY_MS, estimates how far its host's clock
 * is from it (od_clock_offset_estimate, within half the round trip, from
 * the quickest of CLOCK_SYNC_SAMPLES answers) and corrects its clock by that
 * much (od_clock_correct) when it is more than CLOCK_SYNC_DEADBAND_MS: every
 * dialer reads Redis's time, whatever its host's clock says. Until the first good
 * measurement the dialer is not ready (/readyz names "clock"), and it takes
 * no job (jobs wait in Kafka; a dialer cannot place a call without Redis
 * anyway).
 *
 * Runs on the dial loop, on its Redis client; the clock is read from any
 * thread (the correction is atomic).
 */
#ifndef OUTDIAL_DIALER_CLOCK_SYNC_H
#define OUTDIAL_DIALER_CLOCK_SYNC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "loop_redis.h"
#include "metrics.h"

#define CLOCK_SYNC_EVERY_MS   5000
#define CLOCK_SYNC_RETRY_MS   500  /* after a failed or too slow measurement */
#define CLOCK_SYNC_MAX_RTT_MS 250  /* a slower answer says too little */
#define CLOCK_SYNC_WARN_MS    1000 /* a host this far off is logged */
/* An offset under this (plus half the round trip) is taken as 0: hosts kept
 * by NTP are within a few milliseconds, which matter to no window, while at
 * a test's scaled clock (x3600) a correction's noise would. */
#define CLOCK_SYNC_DEADBAND_MS 100
/* TIME answers per measurement; the one with the shortest round trip counts. */
#define CLOCK_SYNC_SAMPLES 3

typedef struct clock_sync {
    od_clock_t *clk;            /* corrected; outlives the dialer */
    loop_redis_t *lr;           /* the dial loop's Redis client */
    metrics_gauge_t *offset_ms; /* the last correction, milliseconds */
    atomic_bool synced;         /* a measurement has been applied (readiness) */
    int64_t next_real_us;       /* when to measure next, real time */
} clock_sync_t;

/* Measures when due and corrects the clock (dial loop). */
void clock_sync_tick(clock_sync_t *cs);

#endif

/*
 * clock.h — campaign time.
 *
 * Every service reads time through this module, never through time() or
 * now() in SQL, so that demos and tests can run campaigns on a scaled clock
 * and every process agrees on the same instant.
 *
 *   campaign_time(real) = real + offset                        (scale 1)
 *   campaign_time(real) = epoch + offset + (real - epoch) * scale
 *
 * `epoch` is a real instant shared by every process of a run (the demo
 * writes it into the environment once), so scaled time is the same in all
 * of them. Times are microseconds since the Unix epoch (UTC).
 *
 * Environment (read by od_clock_from_env):
 *   OUTDIAL_CLOCK_SCALE   campaign seconds per real second, 0.001..100000, default 1
 *   OUTDIAL_CLOCK_EPOCH   real Unix time (seconds) the scale pivots on; required
 *                         when the scale is not 1
 *   OUTDIAL_CLOCK_OFFSET  seconds added to campaign time, may be negative,
 *                         default 0; or OUTDIAL_CLOCK_START, the campaign time
 *                         (RFC 3339 UTC, e.g. 2026-03-08T06:00:00Z) at the epoch
 *   OUTDIAL_CLOCK_SKEW_MS TEST ONLY (tests/fault/chaos): this process's wall clock
 *                         reads that many milliseconds ahead of the real one
 *                         (negative: behind), -30000..30000, default 0, as a
 *                         machine whose clock drifted would. It moves campaign
 *                         time only (od_clock_now_us), by skew x scale; real
 *                         durations and deadlines are differences and do not
 *                         move. Never set it in a deployment: it exists to
 *                         prove that no window or cap decision needs the
 *                         processes to agree on the time to the second.
 *
 * A process whose decisions must not depend on its host's clock (the
 * dialer's last look) measures that clock against a shared one and corrects
 * it (od_clock_correct): the correction is added to the real time it reads,
 * skew included, so that a host whose clock drifted reads the shared time.
 */
#ifndef OUTDIAL_CLOCK_H
#define OUTDIAL_CLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

#define OD_USEC_PER_SEC 1000000LL

typedef struct od_clock {
    double scale;          /* campaign seconds per real second */
    int64_t epoch_us;      /* real instant the scale pivots on */
    int64_t offset_us;     /* added to campaign time */
    int64_t skew_us;       /* test only: added to the real time od_clock_now_us reads */
    int64_t correction_us; /* measured: added too (od_clock_correct); atomic, any thread */
} od_clock_t;

/* The real clock: scale 1, no offset. */
void od_clock_init_real(od_clock_t *clk);

/* Reads the OUTDIAL_CLOCK_* variables. On a bad value returns OD_ERR_INVALID
 * with errbuf naming the variable and the allowed range. */
int od_clock_from_env(od_clock_t *clk, char *errbuf, size_t errlen) OD_WUR;

/* Real wall-clock time, microseconds since the Unix epoch. */
int64_t od_clock_real_us(void);

/* Campaign time at the real instant real_us. */
int64_t od_clock_at(const od_clock_t *clk, int64_t real_us);

/* Campaign time now: od_clock_at of the real time plus the clock's skew
 * and its correction. */
int64_t od_clock_now_us(const od_clock_t *clk);

/* The real time this host's clock reads, skew included (what a drifted
 * host would read), without the correction: what a measurement compares. */
int64_t od_clock_host_us(const od_clock_t *clk);

/* Sets the correction (microseconds, added to the host's real time), read
 * atomically by od_clock_now_us in any thread. */
void od_clock_correct(od_clock_t *clk, int64_t correction_us);

/* The correction's current value. */
int64_t od_clock_correction_us(const od_clock_t *clk);

/* One measurement of the host's clock against a shared one: the host read
 * before_us, the shared clock answered shared_us, the host read after_us.
 * The shared reading is taken at the middle of the round trip, so the
 * estimate is within half the round trip. An offset that this uncertainty
 * plus deadband_us covers is 0: the host is in step as far as can be told,
 * and a scaled clock (x3600 in tests) would multiply a correction's noise.
 * Pure. Returns false (no estimate) when the round trip is negative or over
 * max_rtt_us: a slow answer says too little about when the shared clock
 * was read. */
bool od_clock_offset_estimate(int64_t before_us, int64_t shared_us, int64_t after_us,
                              int64_t max_rtt_us, int64_t deadband_us, int64_t *offset_out);

/* The real duration that passes while campaign time advances by
 * campaign_us (for sleeps and timeouts); never below 1 µs for positive input. */
int64_t od_clock_real_duration_us(const od_clock_t *clk, int64_t campaign_us);

/* The instant ms real milliseconds (>= 0) from now on clk, normalised
 * (tv_nsec below one second): the deadline for pthread_cond_timedwait, with
 * CLOCK_REALTIME for a default condition variable or CLOCK_MONOTONIC for one
 * whose attributes say so. Real time, not campaign time. */
struct timespec od_timespec_after_ms(clockid_t clk, int64_t ms);

/* Initialises cond so that pthread_cond_timedwait reads its deadline on
 * clk (what od_timespec_after_ms is given). Destroy with
 * pthread_cond_destroy. */
void od_cond_init_clock(pthread_cond_t *cond, clockid_t clk);

/* Sleeps until campaign time advanced by campaign_us. */
void od_clock_sleep(const od_clock_t *clk, int64_t campaign_us);

/* Parses an RFC 3339 UTC timestamp ("2026-03-08T06:00:00Z", optional
 * fractional seconds, "Z" or "+00:00") into microseconds. */
int od_time_parse_rfc3339(const char *s, int64_t *out_us) OD_WUR;

/* Formats microseconds as "2026-03-08T06:00:00.000Z" into buf (>= 32 bytes). */
void od_time_format_rfc3339(int64_t us, char *buf, size_t len);

#endif

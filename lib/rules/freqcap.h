/*
 * freqcap.h — frequency caps: at most N calls to one person (one E.164
 * number) in any rolling 24 hours, across every campaign of an account
 * (docs/compliance.md, "Frequency caps").
 *
 * The cap that applies to a callee is the smallest of the account's own
 * setting and the cap of the callee's jurisdiction in the rule pack
 * (legal.h, calls_per_24h), 0 meaning none (freqcap_effective).
 *
 * A call placed at t counts at every instant in [t, t + 24 h). At now, the
 * calls that count are those with t > now - 24 h (a time after now, from a
 * dialer whose clock runs ahead, counts too). freqcap_check() judges now:
 *
 *   | calls counting at now | verdict                                     |
 *   |-----------------------|---------------------------------------------|
 *   | cap == 0 (none)       | allowed                                     |
 *   | fewer than cap        | allowed (the call takes the next slot)      |
 *   | cap or more (k calls) | refused; clears_us = the (k - cap + 1)-th   |
 *   |                       | oldest counting call + 24 h: the first      |
 *   |                       | instant at which fewer than cap count       |
 *
 * The dialer enforces it atomically (lib/cache/callslots.h: a Redis sorted
 * set per account and number, one Lua script that counts and takes a slot),
 * the scheduler plans with it (services/scheduler/dispatch_plan.h); both
 * judge with this function, so a time the scheduler plans for is one the
 * dialer accepts (unless other calls took the slots meanwhile).
 *
 * Pure: no clock, no I/O; thread-safe.
 */
#ifndef OUTDIAL_FREQCAP_H
#define OUTDIAL_FREQCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The statutes' period (Fla. Stat. 501.616(6)(b) and the like): 24 hours. */
#define FREQCAP_PERIOD_US (24LL * 3600 * 1000000)

/* The account setting's range. 1 is the strictest useful cap; 50 calls a
 * day to one person is far beyond any law's and any sane campaign's, so a
 * larger value is a typo, not a wish. None (no cap) is the default. */
#define FREQCAP_CALLS_MIN 1
#define FREQCAP_CALLS_MAX 50

/* Most calls a check looks at: a cap above FREQCAP_CALLS_MAX never needs
 * more, and the dialer's script answers at most this many times. */
#define FREQCAP_TIMES_MAX 64

typedef struct freqcap_verdict {
    bool allowed;
    int counted;       /* calls counting at now */
    int64_t clears_us; /* refused: the first instant a call is allowed; else now */
} freqcap_verdict_t;

/* The cap of a callee: the smaller of account_cap and jurisdiction_cap,
 * ignoring a 0 (none); 0 when both are 0. Negative values count as 0. */
int freqcap_effective(int account_cap, int jurisdiction_cap);

/* Judges now_us for a callee with cap (0: none) and the times of its calls
 * (any order, any age: older ones are ignored; n may exceed cap). */
void freqcap_check(int cap, const int64_t *call_times_us, size_t n, int64_t now_us,
                   freqcap_verdict_t *out);

#endif

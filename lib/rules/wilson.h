/*
 * wilson.h — the Wilson score interval of a proportion: the 95% interval an
 * A/B arm's goal rate is shown with (docs/rules.md, "A/B arms").
 *
 * For k successes in n trials, p = k/n and z the normal quantile:
 *
 *   centre = (p + z²/2n) / (1 + z²/n)
 *   half   = z · sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n)
 *   [low, high] = [centre - half, centre + half], clamped to [0, 1]
 *
 * Wilson rather than the textbook p ± z·sqrt(p(1-p)/n): that one collapses
 * to [0, 0] at 0 goals and overshoots [0, 1] at small n, which is exactly
 * where an arm starts (Newcombe, "Two-sided confidence intervals for the
 * single proportion", Statistics in Medicine 17, 1998: its Table I gives
 * the values the unit tests check).
 *
 * Pure: no I/O; thread-safe.
 */
#ifndef OUTDIAL_WILSON_H
#define OUTDIAL_WILSON_H

#include <stdbool.h>
#include <stdint.h>

/* z for a two-sided 95% interval: the 0.975 quantile of the normal. */
#define WILSON_Z95 1.959963984540054

typedef struct wilson_interval {
    double low;
    double high;
} wilson_interval_t;

/* The interval of successes in trials at quantile z (> 0). False (and out
 * untouched) when trials <= 0 or successes is outside 0..trials: no
 * interval to give. */
bool wilson_interval(int64_t successes, int64_t trials, double z, wilson_interval_t *out);

#endif

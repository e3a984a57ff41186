/*
 * ab_arm.h — A/B arms: a campaign's leads split between 2..4 assistants by
 * integer weights (docs/rules.md, "A/B arms").
 *
 * Assignment (ab_arm_pick): a lead's arm is a hash of its id into the sum
 * of the weights, so
 *   - it is a function of (lead id, weights) alone: any scheduler replica,
 *     any pass, and recovery's re-issue pick the same arm;
 *   - over many leads the share of arm i tends to weight_i / sum (lead ids
 *     are random UUIDs, and the hash spreads them evenly: the table tests
 *     hold 100,000 ids to the weights within half a percentage point);
 *   - the arm is stored on the lead at its first dispatch (lead.ab_arm) and
 *     read from there afterwards, so a lead keeps its arm on every retry.
 *
 * Arms as the API receives them (ab_arms_check):
 *   count          AB_ARMS_MIN..AB_ARMS_MAX (2..4)
 *   weight         AB_WEIGHT_MIN..AB_WEIGHT_MAX (1..100), an integer
 *   assistant_id   a UUID, each arm a different assistant
 * That the assistants are the account's is the API's check (it needs the
 * database).
 *
 * Pure: no clock, no I/O; thread-safe.
 */
#ifndef OUTDIAL_AB_ARM_H
#define OUTDIAL_AB_ARM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Two arms is a test; four keeps each arm's share large enough to reach a
 * useful interval on a campaign of a few thousand leads. */
#define AB_ARMS_MIN 2
#define AB_ARMS_MAX 4
/* 1..100: a percentage, or any small ratio (1:3). */
#define AB_WEIGHT_MIN 1
#define AB_WEIGHT_MAX 100

/* One arm as written in the campaign's settings. assistant_id borrowed. */
typedef struct ab_arm_spec {
    const char *assistant_id;
    int64_t weight;
} ab_arm_spec_t;

/* The arm (0..n-1) of lead_id among n arms of the given weights (each
 * 1..AB_WEIGHT_MAX, n 1..AB_ARMS_MAX). Returns -1 when n or a weight is out
 * of range (a caller that checked the arms never sees it). */
int ab_arm_pick(const char *lead_id, const int *weights, size_t n);

/* Checks arms as the API received them: OD_OK, or OD_ERR_INVALID with one
 * message for the user in errbuf (the first problem, naming the arm as
 * arms[i]). */
int ab_arms_check(const ab_arm_spec_t *arms, size_t n, char *errbuf, size_t errlen) OD_WUR;

#endif

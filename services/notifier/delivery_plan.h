/*
 * delivery_plan.h — what happens to a webhook delivery after one try
 * (docs/webhooks.md, "Retries"). Pure: no I/O, no clock, no randomness of
 * its own (the caller passes a random number), so tables test it.
 *
 *   answer of the endpoint         next
 *   2xx                            delivered
 *   410 Gone                       dead, and the endpoint is disabled: the
 *                                  receiver says the URL is gone for good,
 *                                  so its other deliveries wait (pending)
 *                                  until the user enables it again
 *   any other status, no answer    retry after notifier_backoff_ms(attempts);
 *   (timeout, refused, TLS error)  dead instead when that retry would come
 *                                  later than max_age_ms after the first try
 *
 * Backoff: exponential with full jitter (AWS's "Exponential Backoff and
 * Jitter"): a uniform wait in [0, min(cap_ms, first_ms * 2^(attempts-1))].
 * The jitter spreads the retries of many deliveries that failed together
 * (an endpoint that came back) instead of sending them in one burst.
 * Defaults (notifier.h): first 5 s, cap 1 h, max age 24 h, so a delivery is
 * tried about 30 times before it is dead.
 */
#ifndef OUTDIAL_NOTIFIER_DELIVERY_PLAN_H
#define OUTDIAL_NOTIFIER_DELIVERY_PLAN_H

#include <stdbool.h>
#include <stdint.h>

typedef struct delivery_policy {
    int64_t first_ms;   /* the ceiling of the first retry's wait */
    int64_t cap_ms;     /* the largest ceiling */
    int64_t max_age_ms; /* after the first try, how long retries go on */
} delivery_policy_t;

typedef enum delivery_next {
    DELIVERY_DELIVERED = 0,
    DELIVERY_RETRY,
    DELIVERY_DEAD,
    DELIVERY_GONE, /* dead, and the endpoint disabled (410) */
} delivery_next_t;

typedef struct delivery_plan {
    delivery_next_t next;
    int64_t delay_ms; /* DELIVERY_RETRY: the wait before the next try */
} delivery_plan_t;

/* The ceiling after the attempts-th try failed (attempts >= 1):
 * min(cap_ms, first_ms * 2^(attempts-1)); 0 for attempts <= 0. */
int64_t delivery_backoff_ceiling_ms(int attempts, int64_t first_ms, int64_t cap_ms);

/* The full-jitter wait: random % (ceiling + 1). */
int64_t delivery_backoff_ms(int attempts, int64_t first_ms, int64_t cap_ms, uint64_t random);

/* The next step after a try that got http_status (0: no answer at all),
 * the attempts-th try, age_ms after the delivery's first try. */
delivery_plan_t delivery_plan_after(int http_status, int attempts, int64_t age_ms,
                                    const delivery_policy_t *policy, uint64_t random);

/* The metrics label of a try's result: "delivered", "gone", "client_error"
 * (4xx), "server_error" (5xx and other statuses), "no_answer". Static. */
const char *delivery_result_name(int http_status);

#endif

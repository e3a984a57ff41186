#include "delivery_plan.h"

#include "backoff.h"

int64_t delivery_backoff_ceiling_ms(int attempts, int64_t first_ms, int64_t cap_ms)
{
    return od_backoff_doubling(attempts, first_ms, cap_ms);
}

int64_t delivery_backoff_ms(int attempts, int64_t first_ms, int64_t cap_ms, uint64_t random)
{
    int64_t ceiling = delivery_backoff_ceiling_ms(attempts, first_ms, cap_ms);
    return (int64_t)(random % ((uint64_t)ceiling + 1));
}

delivery_plan_t delivery_plan_after(int http_status, int attempts, int64_t age_ms,
                                    const delivery_policy_t *policy, uint64_t random)
{
    delivery_plan_t plan = {DELIVERY_DEAD, 0};
    if (http_status >= 200 && http_status < 300) {
        plan.next = DELIVERY_DELIVERED;
        return plan;
    }
    if (http_status == 410) {
        plan.next = DELIVERY_GONE;
        return plan;
    }
    int64_t delay = delivery_backoff_ms(attempts, policy->first_ms, policy->cap_ms, random);
    if (age_ms + delay > policy->max_age_ms)
        return plan;
    plan.next = DELIVERY_RETRY;
    plan.delay_ms = delay;
    return plan;
}

const char *delivery_result_name(int http_status)
{
    if (http_status >= 200 && http_status < 300)
        return "delivered";
    if (http_status == 410)
        return "gone";
    if (http_status >= 400 && http_status < 500)
        return "client_error";
    if (http_status == 0)
        return "no_answer";
    return "server_error";
}

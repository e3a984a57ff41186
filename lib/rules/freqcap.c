#include "freqcap.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

int freqcap_effective(int account_cap, int jurisdiction_cap)
{
    if (account_cap <= 0)
        return jurisdiction_cap > 0 ? jurisdiction_cap : 0;
    if (jurisdiction_cap <= 0)
        return account_cap;
    return account_cap < jurisdiction_cap ? account_cap : jurisdiction_cap;
}

static int time_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void freqcap_check(int cap, const int64_t *call_times_us, size_t n, int64_t now_us,
                   freqcap_verdict_t *out)
{
    memset(out, 0, sizeof(*out));
    out->allowed = true;
    out->clears_us = now_us;
    if (cap <= 0)
        return;
    /* The counting calls, oldest first. */
    int64_t *counting = n ? xmalloc(n * sizeof(*counting)) : NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (call_times_us[i] > now_us - FREQCAP_PERIOD_US)
            counting[k++] = call_times_us[i];
    out->counted = (int)k;
    if (k >= (size_t)cap) {
        qsort(counting, k, sizeof(*counting), time_cmp);
        /* Fewer than cap count once the k - cap + 1 oldest have aged out. */
        out->allowed = false;
        out->clears_us = counting[k - (size_t)cap] + FREQCAP_PERIOD_US;
    }
    free(counting);
}

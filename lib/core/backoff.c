#include "backoff.h"

int64_t od_backoff_doubling(int64_t n, int64_t first, int64_t max)
{
    if (n <= 0 || first <= 0)
        return 0;
    int64_t wait = first;
    for (int64_t i = 1; i < n && wait < max; i++)
        wait *= 2;
    return wait < max ? wait : max;
}

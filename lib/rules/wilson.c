#include "wilson.h"

#include <math.h>

bool wilson_interval(int64_t successes, int64_t trials, double z, wilson_interval_t *out)
{
    if (trials <= 0 || successes < 0 || successes > trials || !(z > 0))
        return false;
    double n = (double)trials, p = (double)successes / n, z2 = z * z;
    double denom = 1.0 + z2 / n;
    double centre = (p + z2 / (2.0 * n)) / denom;
    double half = z * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom;
    out->low = centre - half < 0.0 ? 0.0 : centre - half;
    out->high = centre + half > 1.0 ? 1.0 : centre + half;
    return true;
}

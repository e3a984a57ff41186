#include "ab_arm.h"

#include <strings.h>

#include "uuid.h"

/* FNV-1a over the id's text, then splitmix64's finaliser: FNV alone leaves
 * the low bits of similar ids (UUIDs differing in their last characters)
 * correlated, and the modulo below reads the low bits. */
static uint64_t lead_hash(const char *lead_id)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)lead_id; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

int ab_arm_pick(const char *lead_id, const int *weights, size_t n)
{
    if (n < 1 || n > AB_ARMS_MAX || !lead_id)
        return -1;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (weights[i] < AB_WEIGHT_MIN || weights[i] > AB_WEIGHT_MAX)
            return -1;
        total += (uint64_t)weights[i];
    }
    /* total <= 400: the modulo's bias is below 400 / 2^64. */
    uint64_t x = lead_hash(lead_id) % total;
    for (size_t i = 0; i < n; i++) {
        if (x < (uint64_t)weights[i])
            return (int)i;
        x -= (uint64_t)weights[i];
    }
    return (int)n - 1; /* not reached: x < total */
}

int ab_arms_check(const ab_arm_spec_t *arms, size_t n, char *errbuf, size_t errlen)
{
    if (n < AB_ARMS_MIN || n > AB_ARMS_MAX)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "arms must list %d to %d assistants with their weights (got %zu); null "
                       "for the campaign's one assistant",
                       AB_ARMS_MIN, AB_ARMS_MAX, n);
    for (size_t i = 0; i < n; i++) {
        if (!arms[i].assistant_id || !uuid_str_valid(arms[i].assistant_id))
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "arms[%zu].assistant_id must be an assistant's id (a UUID)", i);
        if (arms[i].weight < AB_WEIGHT_MIN || arms[i].weight > AB_WEIGHT_MAX)
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "arms[%zu].weight must be an integer between %d and %d (got %lld)", i,
                           AB_WEIGHT_MIN, AB_WEIGHT_MAX, (long long)arms[i].weight);
        for (size_t k = 0; k < i; k++)
            if (strcasecmp(arms[k].assistant_id, arms[i].assistant_id) == 0)
                return od_fail(errbuf, errlen, OD_ERR_INVALID,
                               "arms[%zu] and arms[%zu] name the same assistant: each arm is a "
                               "different assistant",
                               k, i);
    }
    return OD_OK;
}

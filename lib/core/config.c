#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *config_get_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v && *v) ? v : def;
}

/* strtoll over the whole of v, base 10: false when v is not an integer or
 * does not fit. */
static bool int_parse(const char *v, long long *n)
{
    char *end = NULL;
    errno = 0;
    *n = strtoll(v, &end, 10);
    return !errno && end != v && *end == '\0';
}

/* strtod over the whole of v: false when v is not a finite number. */
static bool double_parse(const char *v, double *n)
{
    char *end = NULL;
    errno = 0;
    *n = strtod(v, &end);
    return !errno && end != v && *end == '\0' && isfinite(*n);
}

int config_get_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                   char *errbuf, size_t errlen)
{
    const char *v = config_get_str(name, NULL);
    if (!v) {
        *out = def;
        return OD_OK;
    }
    long long n;
    if (!int_parse(v, &n))
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s: '%s' is not an integer (allowed: %lld..%lld)", name, v, (long long)min,
                       (long long)max);
    if (n < min || n > max)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s: %lld is out of range (allowed: %lld..%lld)", name, n, (long long)min,
                       (long long)max);
    *out = n;
    return OD_OK;
}

int config_get_double(const char *name, double def, double min, double max, double *out,
                      char *errbuf, size_t errlen)
{
    const char *v = config_get_str(name, NULL);
    if (!v) {
        *out = def;
        return OD_OK;
    }
    double n;
    if (!double_parse(v, &n))
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: '%s' is not a number (allowed: %g..%g)",
                       name, v, min, max);
    if (n < min || n > max)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: %g is out of range (allowed: %g..%g)",
                       name, n, min, max);
    *out = n;
    return OD_OK;
}

int config_get_bool(const char *name, bool def, bool *out, char *errbuf, size_t errlen)
{
    static const char *const truthy[] = {"1", "true", "yes", "on"};
    static const char *const falsy[] = {"0", "false", "no", "off"};
    const char *v = config_get_str(name, NULL);
    if (!v) {
        *out = def;
        return OD_OK;
    }
    for (size_t i = 0; i < sizeof(truthy) / sizeof(truthy[0]); i++) {
        if (strcasecmp(v, truthy[i]) == 0) {
            *out = true;
            return OD_OK;
        }
        if (strcasecmp(v, falsy[i]) == 0) {
            *out = false;
            return OD_OK;
        }
    }
    return od_fail(errbuf, errlen, OD_ERR_INVALID,
                   "%s: '%s' is not a boolean (allowed: true/false, 1/0, yes/no, on/off)", name, v);
}

int config_get_enum(const char *name, int def, const char *const *allowed, int *out, char *errbuf,
                    size_t errlen)
{
    const char *v = config_get_str(name, NULL);
    if (!v) {
        *out = def;
        return OD_OK;
    }
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; allowed[i]; i++) {
        if (strcmp(v, allowed[i]) == 0) {
            *out = i;
            return OD_OK;
        }
        size_t room = sizeof(list) - used;
        int n = snprintf(list + used, room, "%s%s", i ? ", " : "", allowed[i]);
        if (n > 0 && (size_t)n < room)
            used += (size_t)n;
    }
    return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: '%s' is not allowed (allowed: %s)", name, v,
                   list);
}

int config_get_required(const char *name, const char **out, char *errbuf, size_t errlen)
{
    const char *v = config_get_str(name, NULL);
    if (!v)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "%s: required but not set", name);
    *out = v;
    return OD_OK;
}

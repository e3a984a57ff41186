#include "err.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

/* Indexed by -rc: the codes run from 0 down. */
static const char *const err_names[] = {
    [-OD_OK] = "ok",
    [-OD_ERR_INVALID] = "invalid",
    [-OD_ERR_NOT_FOUND] = "not_found",
    [-OD_ERR_CONFLICT] = "conflict",
    [-OD_ERR_IO] = "io",
    [-OD_ERR_TIMEOUT] = "timeout",
    [-OD_ERR_UNAVAILABLE] = "unavailable",
    [-OD_ERR_TRUNCATED] = "truncated",
    [-OD_ERR_INTERNAL] = "internal",
};

const char *od_err_name(int rc)
{
    /* INT_MIN has no negation; any rc > 0 falls outside the table. */
    return rc > INT_MIN ? OD_ENUM_NAME(err_names, -rc, "unknown") : "unknown";
}

int od_fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
{
    if (errbuf && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

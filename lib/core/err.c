#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *od_err_name(int rc)
{
    switch (rc) {
    case OD_OK:
        return "ok";
    case OD_ERR_INVALID:
        return "invalid";
    case OD_ERR_NOT_FOUND:
        return "not_found";
    case OD_ERR_CONFLICT:
        return "conflict";
    case OD_ERR_IO:
        return "io";
    case OD_ERR_TIMEOUT:
        return "timeout";
    case OD_ERR_UNAVAILABLE:
        return "unavailable";
    case OD_ERR_TRUNCATED:
        return "truncated";
    case OD_ERR_INTERNAL:
        return "internal";
    }
    return "unknown";
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

#include "log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "xmalloc.h"

static const char *const level_names[] = {"debug", "info", "warn", "error", NULL};
static log_level_t threshold = LOG_LEVEL_INFO;
static char service_name[64] = "outdial";

int log_init(const char *service, char *errbuf, size_t errlen)
{
    snprintf(service_name, sizeof(service_name), "%s", service);
    int level = LOG_LEVEL_INFO;
    int rc =
        config_get_enum("OUTDIAL_LOG_LEVEL", LOG_LEVEL_INFO, level_names, &level, errbuf, errlen);
    if (rc)
        return rc;
    threshold = (log_level_t)level;
    return OD_OK;
}

void log_set_level(log_level_t level)
{
    threshold = level;
}

size_t log_json_escape(char *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            *o++ = '\\';
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            *o++ = '\\';
            break;
        case '\n':
            *o++ = '\\';
            *o++ = 'n';
            break;
        case '\r':
            *o++ = '\\';
            *o++ = 'r';
            break;
        case '\t':
            *o++ = '\\';
            *o++ = 't';
            break;
        default:
            if (*p < 0x20) {
                *o++ = '\\';
                *o++ = 'u';
                *o++ = '0';
                *o++ = '0';
                *o++ = hex[*p >> 4];
                *o++ = hex[*p & 0xf];
            } else {
                *o++ = (char)*p;
            }
        }
    }
    *o = '\0';
    return (size_t)(o - out);
}

void log_write(log_level_t level, const char *event, const char *fmt, ...)
{
    if (level < threshold)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    char ts[40];
    od_time_format_rfc3339(od_clock_real_us(), ts, sizeof(ts));
    size_t cap = 6 * (strlen(msg) + (event ? strlen(event) : 0) + strlen(service_name)) + 256;
    char *line = xmalloc(cap);
    size_t n = (size_t)snprintf(line, cap, "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"", ts,
                                level_names[level]);
    n += log_json_escape(line + n, service_name);
    if (event) {
        memcpy(line + n, "\",\"event\":\"", 11);
        n += 11;
        n += log_json_escape(line + n, event);
    }
    memcpy(line + n, "\",\"msg\":\"", 9);
    n += 9;
    n += log_json_escape(line + n, msg);
    memcpy(line + n, "\"}\n", 3);
    n += 3;
    ssize_t off = 0;
    while ((size_t)off < n) {
        ssize_t w = write(STDERR_FILENO, line + off, n - (size_t)off);
        if (w <= 0)
            break;
        off += w;
    }
    free(line);
}

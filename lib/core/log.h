/*
 * log.h — JSON-lines logging on stderr.
 *
 * One line per record: {"ts":"...","level":"info","service":"scheduler",
 * "event":"dispatch","msg":"..."}. The level threshold comes from
 * OUTDIAL_LOG_LEVEL (debug, info, warn, error; default info). Lines are
 * written with one write() each, so lines from several threads never
 * interleave. Timestamps are real time, not campaign time.
 */
#ifndef OUTDIAL_LOG_H
#define OUTDIAL_LOG_H

#include <stddef.h>

#include "err.h"

typedef enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARN = 2,
    LOG_LEVEL_ERROR = 3,
} log_level_t;

/* Sets the service name on every line and reads OUTDIAL_LOG_LEVEL.
 * Returns OD_ERR_INVALID (message in errbuf) for an unknown level. */
int log_init(const char *service, char *errbuf, size_t errlen) OD_WUR;

void log_set_level(log_level_t level);

/* event: a short machine-readable name ("migrate", "consumer_lost"), or NULL. */
void log_write(log_level_t level, const char *event, const char *fmt, ...) OD_PRINTF(3, 4);

#define log_debug(event, ...) log_write(LOG_LEVEL_DEBUG, event, __VA_ARGS__)
#define log_info(event, ...)  log_write(LOG_LEVEL_INFO, event, __VA_ARGS__)
#define log_warn(event, ...)  log_write(LOG_LEVEL_WARN, event, __VA_ARGS__)
#define log_error(event, ...) log_write(LOG_LEVEL_ERROR, event, __VA_ARGS__)

/* Appends s to out as the inside of a JSON string (no quotes), escaping
 * what JSON requires; out must have room for 6*strlen(s)+1. Returns the
 * number of bytes written. Exposed for other JSON writers and for tests. */
size_t log_json_escape(char *out, const char *s);

#endif

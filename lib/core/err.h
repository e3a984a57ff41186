/*
 * err.h — the one error-code enum of outdial, and the attributes every
 * fallible function carries.
 *
 * Functions return 0 (OD_OK) or one of the negative codes below; a message
 * a user can act on goes to the caller's errbuf (errstr, sizeof(errstr)),
 * as librdkafka does. Never an assertion for bad input from outside.
 */
#ifndef OUTDIAL_ERR_H
#define OUTDIAL_ERR_H

#include <stddef.h>

#define OD_WUR          __attribute__((warn_unused_result))
#define OD_PRINTF(f, a) __attribute__((format(printf, f, a)))

typedef enum od_err {
    OD_OK = 0,
    OD_ERR_INVALID = -1,     /* bad input: value, syntax, range */
    OD_ERR_NOT_FOUND = -2,   /* a named thing does not exist */
    OD_ERR_CONFLICT = -3,    /* state does not allow the operation */
    OD_ERR_IO = -4,          /* a system or network call failed */
    OD_ERR_TIMEOUT = -5,     /* a bounded wait ran out */
    OD_ERR_UNAVAILABLE = -6, /* a dependency (Postgres, Redis, Kafka) is down */
    OD_ERR_TRUNCATED = -7,   /* input ended early */
    OD_ERR_INTERNAL = -8,    /* a library reported something unexpected */
} od_err_t;

/* A short constant name for rc ("invalid", "not_found", ...). */
const char *od_err_name(int rc);

/* Writes printf-style text into errbuf (if errbuf and errlen are non-zero),
 * always NUL-terminated, and returns rc so callers can `return od_fail(...)`. */
int od_fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...) OD_PRINTF(4, 5);

/* How many elements the array a holds (an array, not a pointer). */
#define OD_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* names[value] from an enum's name table (designated initializers), or
 * fallback when value lies outside the table or has no name there. */
#define OD_ENUM_NAME(names, value, fallback)                                                       \
    ((size_t)(value) < sizeof(names) / sizeof((names)[0]) && (names)[value] ? (names)[value]       \
                                                                            : (fallback))

#endif

/*
 * phone.h — phone numbers: parse, validate, format as E.164.
 *
 * A C interface over libphonenumber (phone.cc is the project's only C++).
 * Thread-safe: libphonenumber's PhoneNumberUtil is a process-wide immutable
 * singleton once built; phone_init() builds it (call it once at start-up
 * before threads; the first phone_parse() does it too otherwise).
 */
#ifndef OUTDIAL_PHONE_H
#define OUTDIAL_PHONE_H

#include <stddef.h>

#include "err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* E.164 is at most 15 digits plus '+'. */
#define PHONE_E164_MAX 16

typedef enum phone_reason {
    PHONE_OK = 0,
    PHONE_EMPTY,        /* nothing but spaces */
    PHONE_NOT_A_NUMBER, /* letters or no digits */
    PHONE_BAD_COUNTRY,  /* no + prefix and no usable default region, or unknown code */
    PHONE_TOO_SHORT,    /* too few digits */
    PHONE_TOO_LONG,     /* too many digits */
    PHONE_INVALID,      /* the right length but no number of that country looks so */
} phone_reason_t;

void phone_init(void);

/* Parses raw (any common notation: "+1 (415) 555-2671", "0044 20 7946 0958",
 * "415.555.2671" with region "US") against default_region (ISO 3166 alpha-2,
 * e.g. "US"; may be NULL or "" when numbers carry their +country code).
 * On success writes the E.164 form into e164 (PHONE_E164_MAX + 1 bytes) and
 * returns PHONE_OK; otherwise returns why, and e164 is "". raw need not be
 * NUL-terminated beyond raw_len. */
phone_reason_t phone_parse(const char *raw, size_t raw_len, const char *default_region,
                           char e164[PHONE_E164_MAX + 1]);

/* phone_parse without its shortcut for the common US notations (phone.cc):
 * always libphonenumber's Parse(). The same answers, slower; for tests
 * that compare the two. */
phone_reason_t phone_parse_full(const char *raw, size_t raw_len, const char *default_region,
                                char e164[PHONE_E164_MAX + 1]);

/* A short snake_case reason ("invalid_number", ...) for import rejects and API errors. */
const char *phone_reason_code(phone_reason_t reason);
/* A sentence a user can act on. */
const char *phone_reason_message(phone_reason_t reason);

/* Whether region is a region libphonenumber knows ("US", "GB"), for settings
 * validation. */
int phone_region_known(const char *region);

#ifdef __cplusplus
}
#endif

#endif

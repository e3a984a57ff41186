#ifndef OUTDIAL_WINDOW_ICU_H
#define OUTDIAL_WINDOW_ICU_H

/* The ICU calendar steps that window.c and legal.c share. Internal to
 * lib/rules: the public headers stay free of ICU types. */

#include <stddef.h>

#include <unicode/ucal.h>

#include "err.h"

/* Fails with OD_ERR_INTERNAL and "ICU <what>: <status name>" in errbuf. */
int window_icu_fail(char *errbuf, size_t errlen, const char *what, UErrorCode status);

/* Opens a Gregorian calendar in zone (checked first with window_zone_check)
 * with window.h's DST semantics: a skipped wall time means the first
 * instant after it, a repeated one its first occurrence. On success *out
 * is the calendar and the caller closes it with ucal_close(); on failure
 * *out is untouched and errbuf says why. */
int window_calendar_open(const char *zone, UCalendar **out, char *errbuf, size_t errlen) OD_WUR;

#endif

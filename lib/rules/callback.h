/*
 * callback.h — the time a callee asked to be called back, as a campaign's
 * callback_variable reports it after a call (docs/rules.md "Callbacks").
 *
 * Accepted text (ISO 8601 extended date-time; RFC 3339 is a subset):
 *
 *   | form                                | read as                        |
 *   |-------------------------------------|--------------------------------|
 *   | 2026-03-12T15:00:00Z                | UTC                            |
 *   | 2026-03-12T15:00:00-05:00 (-0500,   | that offset                    |
 *   |   -05)                              |                                |
 *   | 2026-03-12T15:00 or 15:00:00[.fff]  | local time in the given zone   |
 *   |   without an offset                 | (the lead's: lead_tz.h), a     |
 *   |                                     | skipped DST wall time as the   |
 *   |                                     | first instant after it, a      |
 *   |                                     | repeated one as its first      |
 *   |                                     | (window.h's semantics)         |
 *   | "T" may be a space; seconds and     |                                |
 *   |   fractions are optional            |                                |
 *
 * Anything else (a date alone, "Thursday at 3", 2026-02-30T10:00, a year
 * before 1970 or after 9999) is not a time: the caller records the request
 * as refused (not_a_time), never fails the event.
 *
 * Pure: no clock, no I/O; thread-safe (ICU calendars opened per call).
 */
#ifndef OUTDIAL_CALLBACK_H
#define OUTDIAL_CALLBACK_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* How far ahead a callback may be asked for. A person who says "call me in
 * two months" is better served by a new campaign than by a lead held open
 * that long; 30 days covers "next week" and "after my holiday". A later
 * time is refused (too_far_ahead). */
#define CALLBACK_HORIZON_DAYS 30

/* Longest text looked at: the longest accepted form is 35 characters. */
#define CALLBACK_TEXT_MAX 64

/* Parses text (see the table above) into *out_us (µs since the epoch, UTC);
 * zone (an IANA name) reads a time without an offset. OD_ERR_INVALID with
 * the reason in errbuf for text that is not such a time, or an unknown
 * zone when one is needed. */
int callback_time_parse(const char *text, const char *zone, int64_t *out_us, char *errbuf,
                        size_t errlen) OD_WUR;

#endif

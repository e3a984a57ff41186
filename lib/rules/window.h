/*
 * window.h — calling windows: is a call allowed now, when does the window
 * next open, when does it close.
 *
 * A window is a local time span (start and end minute of day) on allowed
 * days, read in one or more IANA time zones. Several rules may apply at once
 * (the campaign's window in the campaign's zones, the account's quiet hours
 * in the callee's zones): a call is allowed only when every rule allows it in
 * every one of its zones.
 *
 * Semantics, all in local wall time of each zone:
 *  - start < end: open from start to end on each allowed day.
 *  - end < start: crosses midnight; the period belongs to the day it opens
 *    on (a Friday-only 22:00–02:00 window is open Fri 22:00 to Sat 02:00, and
 *    not at all on Friday 01:00).
 *  - end == start: open the whole day (24 hours from start).
 *  - A wall time that does not exist (DST gap: 02:30 on a spring-forward day)
 *    means the first instant that exists after it (03:00). A wall time that
 *    happens twice (fall-back overlap) means its first occurrence.
 *  - Periods are half-open: open at start, closed at end.
 *
 * Local time comes from the tz database through ICU calendars, opened per
 * call and closed before returning, so every function is thread-safe and
 * never reads the process-wide TZ. Zones must be IANA names ICU knows
 * ("America/New_York"); custom offsets ("GMT+05:30") and unknown names are
 * errors. Instants are microseconds since the Unix epoch (UTC).
 */
#ifndef OUTDIAL_WINDOW_H
#define OUTDIAL_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Day bits, Monday first (ISO). */
#define WINDOW_DAY_MON       (1u << 0)
#define WINDOW_DAY_TUE       (1u << 1)
#define WINDOW_DAY_WED       (1u << 2)
#define WINDOW_DAY_THU       (1u << 3)
#define WINDOW_DAY_FRI       (1u << 4)
#define WINDOW_DAY_SAT       (1u << 5)
#define WINDOW_DAY_SUN       (1u << 6)
#define WINDOW_DAYS_WEEKDAYS 0x1fu
#define WINDOW_DAYS_ALL      0x7fu

#define WINDOW_MINUTES_PER_DAY 1440

/* A zone name longer than this is refused (the longest IANA name is ~30). */
#define WINDOW_ZONE_MAX 64

/* How far ahead window_next_open() looks. The rules repeat every week, and
 * DST shifts them twice a year: a window that does not open within a year and
 * a week never will, so the answer is an error rather than a search forever. */
#define WINDOW_HORIZON_DAYS 372

/* close_us of a period that never ends (no rules, or a 24h every-day window). */
#define WINDOW_NEVER INT64_MAX

/* A window in local time. */
typedef struct window_spec {
    int start_min; /* local minute of day it opens, 0..1439 */
    int end_min;   /* local minute of day it closes, 0..1439; see semantics above */
    unsigned days; /* WINDOW_DAY_* bits of the days a period may open on; non-empty */
} window_spec_t;

/* A window read in each of zones; open only when open in all of them.
 * The zone strings are borrowed for the duration of the call. */
typedef struct window_rule {
    window_spec_t spec;
    const char *const *zones;
    size_t n_zones; /* >= 1 */
} window_rule_t;

/* The first open period that ends after an instant `at`:
 * open_us is the earliest instant >= at when every rule is open (== at when
 * open now), close_us the first instant after open_us when one is not. */
typedef struct window_slot {
    int64_t open_us;
    int64_t close_us; /* WINDOW_NEVER if it never closes */
} window_slot_t;

/* Finds the slot for at_us. No rules means always open. Errors:
 * OD_ERR_INVALID for a bad spec, an unknown zone or an instant outside
 * 1970..8999; OD_ERR_NOT_FOUND when the rules are never open together within
 * WINDOW_HORIZON_DAYS of at_us (e.g. 09:00–17:00 in New York and in Tokyo).
 * The message names the rule, zone or value. */
int window_slot_find(const window_rule_t *rules, size_t n_rules, int64_t at_us, window_slot_t *slot,
                     char *errbuf, size_t errlen) OD_WUR;

/* Whether every rule is open at at_us. */
int window_is_open(const window_rule_t *rules, size_t n_rules, int64_t at_us, bool *open,
                   char *errbuf, size_t errlen) OD_WUR;

/* The earliest instant >= at_us when every rule is open (at_us if open now). */
int window_next_open(const window_rule_t *rules, size_t n_rules, int64_t at_us, int64_t *open_us,
                     char *errbuf, size_t errlen) OD_WUR;

/* When the period open at at_us closes: the dial job's not_after, the
 * earliest close over all rules and zones. OD_ERR_CONFLICT if closed at at_us. */
int window_close_at(const window_rule_t *rules, size_t n_rules, int64_t at_us, int64_t *close_us,
                    char *errbuf, size_t errlen) OD_WUR;

/* Checks a spec: minutes in 0..1439, days a non-empty subset of Mon..Sun. */
int window_spec_check(const window_spec_t *spec, char *errbuf, size_t errlen) OD_WUR;

/* Checks that zone is an IANA zone name ICU knows (not a custom offset). */
int window_zone_check(const char *zone, char *errbuf, size_t errlen) OD_WUR;

/* Days since 1970-01-01 of a proleptic Gregorian date (y-m-d, m 1..12). */
int64_t window_day_from_civil(int64_t y, int m, int d);

/* Parses "HH:MM" (also "H:MM", and "HH:MM:00" as Postgres prints a time)
 * into a minute of day 0..1439. "24:00" is accepted and gives 0 (midnight
 * ending the day: 18:00–24:00 is the same as 18:00–00:00). */
int window_time_parse(const char *s, int *minute, char *errbuf, size_t errlen) OD_WUR;

/* Formats a minute of day as "HH:MM" into buf (>= 6 bytes). */
void window_time_format(int minute, char *buf, size_t len);

/* The same for the end of a window: midnight is "24:00" (the end of the
 * day), so that 18:00–24:00 and the whole day 00:00–24:00 read back as
 * they were written. */
void window_time_format_end(int minute, char *buf, size_t len);

/* Parses a day name: "mon".."sun" or "monday".."sunday", any case. */
int window_day_parse(const char *s, unsigned *day_bit, char *errbuf, size_t errlen) OD_WUR;

/* The short name ("mon") of one day bit, NULL if not exactly one bit. */
const char *window_day_name(unsigned day_bit);

/* Formats days as "mon,tue,fri" (Monday first) into buf (>= 28 bytes). */
void window_days_format(unsigned days, char *buf, size_t len);

#endif

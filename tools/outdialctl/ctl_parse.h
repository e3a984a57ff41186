/*
 * ctl_parse.h — the values outdialctl's options take, parsed without I/O:
 * days ("mon-fri"), windows ("09:00-18:00"), durations ("90m", "1h30m"),
 * switches ("on"/"off"), integers and "key=value" pairs.
 *
 * Every parser returns OD_OK or OD_ERR_INVALID with a message in errbuf
 * that quotes what was given and says what is accepted, so that the
 * command line can show it under the usage and exit 2.
 */
#ifndef OUTDIAL_CTL_PARSE_H
#define OUTDIAL_CTL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Days of the week as WINDOW_DAY_* bits (Monday = bit 0). Accepted: day
 * names ("mon".."sun", "monday".."sunday", any case), ranges "mon-fri"
 * (a range may wrap: "fri-mon" is fri,sat,sun,mon), lists joined by ','
 * ("mon-wed,fri"), and the words "weekdays", "weekends", "all"/"daily". */
int ctl_days_parse(const char *s, unsigned *days, char *errbuf, size_t errlen) OD_WUR;

/* A time span "HH:MM-HH:MM" ("9:00-18:00" too; an end before the start
 * crosses midnight). start and end get the canonical "HH:MM" (>= 6 bytes
 * each); *start_min / *end_min (may be NULL) the minutes of day. */
int ctl_window_parse(const char *s, char start[6], char end[6], int *start_min, int *end_min,
                     char *errbuf, size_t errlen) OD_WUR;

/* on/off, true/false, yes/no, 1/0 (any case). */
int ctl_bool_parse(const char *s, bool *out, char *errbuf, size_t errlen) OD_WUR;

/* A decimal integer in [min, max] (the whole string: "12x" is refused). */
int ctl_int_parse(const char *s, int64_t min, int64_t max, int64_t *out, char *errbuf,
                  size_t errlen) OD_WUR;

/* A duration as a number of seconds: a plain number counts in unit_s
 * seconds (60 for an option given in minutes); otherwise one or more
 * number+unit parts, units s, m, h, d ("90s", "10m", "1h30m", "2d"). */
int ctl_duration_parse(const char *s, int64_t unit_s, int64_t *seconds, char *errbuf,
                       size_t errlen) OD_WUR;

/* A duration in whole minutes ("60", "90m", "1h30m", "3d"); "90s" is
 * refused because the API counts minutes. */
int ctl_minutes_parse(const char *s, int64_t *minutes, char *errbuf, size_t errlen) OD_WUR;

/* Splits "key=value" at the first '='. The key is copied into key
 * (key_len bytes); *value points into s. The key must be non-empty. */
int ctl_kv_split(const char *s, char *key, size_t key_len, const char **value, char *errbuf,
                 size_t errlen) OD_WUR;

/* Whether s is "none" (any case): the word that clears an optional
 * setting (sends JSON null). */
bool ctl_is_none(const char *s);

#endif

/*
 * lead_tz.h — whose local time a lead's calls are judged in.
 *
 * A campaign's timezone mode says whose clock the calling window follows:
 *   assistant  the assistant's timezone (the default, docs/product.md);
 *   lead       the person's own: the lead's timezone if it has one, else the
 *              zones its number's prefix maps to, else the assistant's.
 * Account quiet hours always follow the person's own clock, whatever the mode.
 *
 * Prefix inference uses libphonenumber's prefix-to-timezone data, compiled
 * into a table at build time (tools/gen/phone_tz.py, cmake/phone_tables.cmake);
 * the longest matching prefix wins. Where it names several zones the call
 * must be allowed in all of them. A match that only says "somewhere in a
 * big country" is ignored and the assistant's zone used instead: more than
 * LEAD_TZ_MAX_ZONES zones, or zones whose standard UTC offsets lie more than
 * LEAD_TZ_MAX_SPREAD_MIN apart (+1 800..., +7 ...). Requiring every one of
 * those zones to allow a call would leave no hour in which to call.
 *
 * Thread-safe; no allocation. Zone strings in the results are borrowed:
 * either the caller's inputs or the static table.
 */
#ifndef OUTDIAL_LEAD_TZ_H
#define OUTDIAL_LEAD_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"
#include "window.h"

/* Most zones a prefix match may name and still be used. The data's widest
 * usable match is +61 (mainland Australia and its islands, 8 zones). */
#define LEAD_TZ_MAX_ZONES 16

/* Widest spread of standard UTC offsets, in minutes, a prefix match may
 * have and still be used. Six hours: with 08:00–21:00 quiet hours a 6 h
 * spread still leaves 7 h to call in; the matches beyond it (+1 with 42
 * zones from Guam to Newfoundland, +7 from Kaliningrad to Kamchatka) would
 * leave a business-hours window no hour at all. */
#define LEAD_TZ_MAX_SPREAD_MIN 360

/* Longest prefix in the table, digits (libphonenumber: 8). */
#define LEAD_TZ_PREFIX_MAX 15

typedef enum lead_tz_source {
    LEAD_TZ_SOURCE_ASSISTANT = 0, /* the assistant's zone */
    LEAD_TZ_SOURCE_LEAD,          /* the lead's own timezone column */
    LEAD_TZ_SOURCE_PREFIX,        /* inferred from the number's prefix */
} lead_tz_source_t;

/* The zones a lead's calls are judged in. */
typedef struct lead_tz {
    const char *zones[LEAD_TZ_MAX_ZONES]; /* borrowed */
    size_t n_zones;                       /* >= 1 on success */
    lead_tz_source_t source;
    char prefix[LEAD_TZ_PREFIX_MAX + 1]; /* the matched prefix (digits) when source is PREFIX */
} lead_tz_t;

/* The zones the number's prefix maps to (e164: "+" and 2..15 digits).
 * OD_ERR_NOT_FOUND when no prefix matches or the match is too broad (see
 * above; at_us is the instant the offsets are compared at); OD_ERR_INVALID
 * for a malformed number. */
int lead_tz_from_prefix(const char *e164, int64_t at_us, lead_tz_t *out, char *errbuf,
                        size_t errlen) OD_WUR;

/* The zones the campaign window is read in for this lead, per mode.
 * assistant_tz is required and checked; lead_tz (the lead's own timezone)
 * may be NULL or "", and when given must be a valid IANA zone — it is an
 * error, not silently skipped; e164 may be NULL in assistant mode. */
int lead_tz_resolve(model_tz_mode_t mode, const char *assistant_tz, const char *lead_tz,
                    const char *e164, int64_t at_us, lead_tz_t *out, char *errbuf,
                    size_t errlen) OD_WUR;

/* Everything window_*() needs for one lead: the campaign window in the
 * mode's zones and, if the account has quiet hours, those in the person's
 * own zones. rules point into this struct: use it where it was filled, do
 * not copy it by value. */
typedef struct lead_window {
    lead_tz_t window_tz; /* zones of the campaign window */
    lead_tz_t callee_tz; /* zones of the quiet hours (the person's), when n_rules == 2 */
    window_rule_t rules[2];
    size_t n_rules;
} lead_window_t;

/* Fills out for a lead. quiet_hours may be NULL (the account has none); it is
 * the span in which calls are permitted (08:00–21:00), on every day. */
int lead_tz_window(const window_spec_t *campaign_window, const window_spec_t *quiet_hours,
                   model_tz_mode_t mode, const char *assistant_tz, const char *lead_tz,
                   const char *e164, int64_t at_us, lead_window_t *out, char *errbuf,
                   size_t errlen) OD_WUR;

/* The generated table (build dir gen/phone_tz_table.c). Exposed for tests. */
typedef struct lead_tz_prefix {
    const char *prefix;  /* leading digits of an E.164 number, without '+' */
    uint16_t first_zone; /* index into lead_tz_zone_refs */
    uint16_t n_zones;
} lead_tz_prefix_t;

extern const char lead_tz_data_version[];
extern const int lead_tz_longest_prefix;
extern const char *const lead_tz_zone_names[];
extern const size_t lead_tz_zone_count;
extern const uint16_t lead_tz_zone_refs[];
extern const lead_tz_prefix_t lead_tz_prefixes[]; /* sorted by prefix, strcmp order */
extern const size_t lead_tz_prefix_count;

#endif

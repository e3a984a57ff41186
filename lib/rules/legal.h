/*
 * legal.h — the legal calling rules of a callee's jurisdiction: when a call
 * may be placed, why not now, and when it may.
 *
 * The rules are data: a pack (rules/us.json) of a federal floor and one
 * entry per jurisdiction (US state, DC, Canadian province: two-letter
 * codes), each with allowed local hours per weekday, holidays on which no
 * call may be placed (names from holidays.h), an optional cap of calls per
 * person per 24 hours, and its sources. legal_pack_parse() reads it;
 * errors name the entry and the field.
 *
 * An account picks a profile:
 *   none        no legal rules (today's behaviour; the campaign window and
 *               quiet hours still apply elsewhere);
 *   us_federal  the federal floor only (08:00–21:00 callee-local);
 *   us_states   the federal floor and the entry of the callee's
 *               jurisdiction. A callee whose jurisdiction is unknown (no
 *               state given, a toll-free or non-geographic number) gets
 *               every entry of the pack at once: the strictest rules.
 * An account may override a jurisdiction's entry (legal_overrides_parse()).
 *
 * legal_check() answers for one instant in the callee's zone: allowed or
 * not, every rule that blocks (hours, a closed weekday, a holiday) with the
 * instant each one alone clears, and the earliest instant all clear.
 *
 * Semantics, in the callee's local wall time:
 *  - hours are half-open [start, end), within one day (end may be 24:00);
 *    a weekday with no hours is closed; a weekday the entry does not name
 *    is open all day (the entry does not restrict it);
 *  - a holiday blocks the whole local day of its date and of its observed
 *    day (holidays.h);
 *  - a DST gap or overlap is read as window.h reads it: a skipped wall time
 *    means the first instant after it, a repeated one its first occurrence.
 *
 * Pure: no clock, no I/O; ICU supplies local time (thread-safe, opened per
 * call). Not legal advice: see docs/compliance.md.
 */
#ifndef OUTDIAL_LEGAL_H
#define OUTDIAL_LEGAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "holidays.h"

/* A jurisdiction code: two letters ("FL") or "US" for the federal floor. */
#define LEGAL_CODE_MAX 3

/* Most jurisdiction entries a pack may hold (50 states, DC, 13 provinces
 * and territories, with room). */
#define LEGAL_MAX_ENTRIES 72

/* Most rules a verdict reports: each applied entry blocks at most once for
 * its holiday or closed day and once for its hours. */
#define LEGAL_MAX_BLOCKS (2 * (LEGAL_MAX_ENTRIES + 1))

/* How far ahead legal_check() looks for an allowed instant. The rules repeat
 * weekly and holidays yearly: nothing opening within a year and a week
 * never will, and the answer is an error. */
#define LEGAL_HORIZON_DAYS 372

typedef enum legal_profile {
    LEGAL_PROFILE_NONE = 0,
    LEGAL_PROFILE_US_FEDERAL,
    LEGAL_PROFILE_US_STATES,
} legal_profile_t;

/* Allowed local hours of one weekday. */
typedef struct legal_hours {
    bool open;     /* false: no call on this weekday */
    int start_min; /* 0..1439 */
    int end_min;   /* start_min+1..1440 */
} legal_hours_t;

typedef struct legal_entry {
    char code[LEGAL_CODE_MAX];
    char *name;                   /* owned */
    legal_hours_t hours[7];       /* ISO weekday - 1: Monday first */
    bool holidays[HOLIDAY_COUNT]; /* no call on these */
    int calls_per_24h;            /* 0: no cap */
    char **sources;               /* owned: "cite <url>" strings */
    size_t n_sources;             /* >= 1 in a pack; 0 in an override */
    char *note;                   /* owned, may be NULL */
    bool overridden;              /* from an account override */
} legal_entry_t;

typedef struct legal_pack {
    char *version; /* owned */
    char *updated; /* owned, YYYY-MM-DD */
    legal_entry_t federal;
    legal_entry_t *entries; /* owned, n_entries of them, sorted by code */
    size_t n_entries;
} legal_pack_t;

/* Parses a pack from JSON text. On success *out is a new pack the caller
 * frees with legal_pack_free(); on error *out is NULL and errbuf names the
 * entry and field ("jurisdictions[2] (OK).hours.mon: ..."). */
int legal_pack_parse(const char *json, legal_pack_t **out, char *errbuf, size_t errlen) OD_WUR;

/* Frees a pack; NULL is a no-op. */
void legal_pack_free(legal_pack_t *pack);

/* The entry of code in pack, or NULL (a jurisdiction with no rules of its
 * own). Borrowed from pack. */
const legal_entry_t *legal_pack_find(const legal_pack_t *pack, const char *code);

/* Whether code is a US state, DC or a Canadian province or territory. */
bool legal_code_known(const char *code);

/* "none", "us_federal", "us_states" to and from the enum. */
int legal_profile_parse(const char *s, legal_profile_t *out, char *errbuf, size_t errlen) OD_WUR;
const char *legal_profile_name(legal_profile_t profile);

/* Parses an account's overrides: a JSON array of objects, each with "code"
 * (a jurisdiction the pack has an entry for) and any of "hours",
 * "holidays", "calls_per_24h", "note", which replace the pack entry's
 * fields; the others are kept. *out is a new array of *n_out complete
 * entries (overridden = true) the caller frees with
 * legal_entries_free(*out, *n_out). Errors name the override and field. */
int legal_overrides_parse(const legal_pack_t *pack, const char *json, legal_entry_t **out,
                          size_t *n_out, char *errbuf, size_t errlen) OD_WUR;

/* Frees n entries and the array; NULL is a no-op. */
void legal_entries_free(legal_entry_t *entries, size_t n);

/* The rules that apply to one callee. Entries are borrowed from the pack
 * and the overrides given to legal_rules_select(): keep both alive. */
typedef struct legal_rules {
    const legal_entry_t *entries[LEGAL_MAX_ENTRIES + 1];
    size_t n_entries;  /* 0 for profile none */
    bool strictest;    /* jurisdiction unknown: every entry applied */
    int calls_per_24h; /* the smallest cap of the entries; 0: none */
} legal_rules_t;

/* Picks the rules for profile and jurisdiction (a code, or NULL or "" when
 * unknown), an override replacing the pack's entry of its code. A code
 * legal_code_known() refuses is OD_ERR_INVALID. */
int legal_rules_select(const legal_pack_t *pack, legal_profile_t profile, const char *jurisdiction,
                       const legal_entry_t *overrides, size_t n_overrides, legal_rules_t *out,
                       char *errbuf, size_t errlen) OD_WUR;

typedef enum legal_reason {
    LEGAL_REASON_HOURS = 0,  /* outside the weekday's allowed hours */
    LEGAL_REASON_CLOSED_DAY, /* no call on this weekday (e.g. Sunday) */
    LEGAL_REASON_HOLIDAY,    /* a holiday the entry names */
} legal_reason_t;

/* "hours", "closed_day", "holiday". */
const char *legal_reason_name(legal_reason_t reason);

typedef struct legal_block {
    const legal_entry_t *entry; /* borrowed, as in legal_rules_t */
    legal_reason_t reason;
    holiday_id_t holiday; /* LEGAL_REASON_HOLIDAY: which one */
    int weekday;          /* local ISO weekday at the instant checked */
    int64_t clears_us;    /* first instant this entry alone allows */
} legal_block_t;

typedef struct legal_verdict {
    bool allowed;
    int64_t next_allowed_us; /* == the instant checked when allowed */
    legal_block_t blocks[LEGAL_MAX_BLOCKS];
    size_t n_blocks;
} legal_verdict_t;

/* Judges at_us (microseconds since the epoch) in the callee's IANA zone.
 * OD_ERR_INVALID for a bad zone; OD_ERR_NOT_FOUND when no instant within
 * LEGAL_HORIZON_DAYS is allowed (the rules leave no hour at all). */
int legal_check(const legal_rules_t *rules, const char *zone, int64_t at_us, legal_verdict_t *out,
                char *errbuf, size_t errlen) OD_WUR;

/* When the allowed span holding at_us ends in zone: the first instant after
 * at_us the rules forbid (a span ending at midnight runs on into a next day
 * open from midnight); WINDOW_NEVER when no rule applies or the span runs
 * on for a week. OD_ERR_CONFLICT when the rules forbid at_us itself;
 * OD_ERR_INVALID for a bad zone. */
int legal_close_at(const legal_rules_t *rules, const char *zone, int64_t at_us, int64_t *close_us,
                   char *errbuf, size_t errlen) OD_WUR;

#endif

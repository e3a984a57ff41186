/*
 * dnc_list.h — reading a do-not-call list file, and whether an account's
 * national-registry scrub is stale (docs/compliance.md, "Bulk DNC lists").
 *
 * A file holds one number a line, in either form:
 *   - any notation phone.h reads ("+12015550123", "(201) 555-0123"; a
 *     number without a country code is read in the account's region);
 *   - the national registry's: the area code and the seven-digit number,
 *     separated by a comma ("201,5550123"), as the FTC's National Do Not
 *     Call Registry delivers its data files to sellers (a US number).
 * Blanks around a line are ignored; an empty line, or one starting with
 * '#', is skipped.
 *
 * A seller who must scrub against the registry must do it at least every
 * 31 days (16 CFR 310.4(b)(3)(iv), the Telemarketing Sales Rule's safe
 * harbor; 47 CFR 64.1200(c)(2)(i)(D) for the FCC). dnc_registry_stale()
 * says whether the newest registry list an account imported is older than
 * that.
 *
 * Pure: no I/O, no clock.
 */
#ifndef OUTDIAL_DNC_LIST_H
#define OUTDIAL_DNC_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phone.h"

/* Days a registry scrub stays good (see above). */
#define DNC_REGISTRY_MAX_AGE_DAYS 31

typedef enum dnc_line {
    DNC_LINE_NUMBER = 0, /* e164 holds the number */
    DNC_LINE_SKIP,       /* empty or a comment */
    DNC_LINE_INVALID,    /* not a number: *why says why */
} dnc_line_t;

/* Reads one line (len bytes, no NUL needed) in region (ISO 3166 alpha-2).
 * *why is a static message for DNC_LINE_INVALID. */
dnc_line_t dnc_list_line_parse(const char *line, size_t len, const char *region,
                               char e164[PHONE_E164_MAX + 1], const char **why);

/* A list's date, "YYYY-MM-DD" (a real calendar day, 2000..2999), as days
 * since 1970-01-01 into *day. false when it is not one. */
bool dnc_list_date_parse(const char *s, int64_t *day);

/* Whether the account's registry scrub is stale at today (days since
 * 1970-01-01, UTC): required (its legal profile asks for one), and no
 * registry list imported, or the newest list's date (days since 1970)
 * more than DNC_REGISTRY_MAX_AGE_DAYS days before today. */
bool dnc_registry_stale(bool required, bool has_list, int64_t list_day, int64_t today);

/* Whether a legal profile ("none", "us_federal", "us_states"; NULL for an
 * account without one) requires a registry scrub: the US profiles do. */
bool dnc_registry_required(const char *legal_profile);

#endif

/*
 * lead_region.h — the US state or Canadian province a number belongs to,
 * by its NANP area code.
 *
 * The table is libphonenumber's geocoding data, compiled in at build time
 * (tools/gen/phone_region.py, cmake/phone_tables.cmake), as lead_tz's
 * prefix-to-zone table is. An area code has a region only when all of
 * libphonenumber's descriptions under it name the same one; toll-free and
 * other non-geographic codes (800, 888, 900, 500...), the Caribbean members
 * of +1 and codes shared by two provinces (902) have none.
 *
 * The area code says where the number was issued, not where the person is
 * now: a stated region (a lead's own `state` field) takes precedence, and
 * callers decide that. Pure, thread-safe, no allocation.
 */
#ifndef OUTDIAL_LEAD_REGION_H
#define OUTDIAL_LEAD_REGION_H

#include <stddef.h>

#include "err.h"

/* A region code: two letters and a NUL ("NY", "ON"). */
#define LEAD_REGION_CODE_MAX 3

/* The region of e164 ("+1" and 10 digits for a NANP number) into region
 * (LEAD_REGION_CODE_MAX bytes). OD_OK with the code; OD_ERR_NOT_FOUND when
 * the number has no region (not +1, toll-free, non-geographic, outside the
 * US and Canada), region set to ""; OD_ERR_INVALID when e164 is not "+"
 * and 2 to 15 digits. */
int lead_region_from_e164(const char *e164, char region[LEAD_REGION_CODE_MAX], char *errbuf,
                          size_t errlen) OD_WUR;

/* The generated table (build dir gen/phone_region_table.c). Exposed for tests. */
typedef struct lead_region_area {
    const char *area_code; /* three digits */
    const char *region;    /* two letters */
} lead_region_area_t;

extern const char lead_region_data_version[];
extern const lead_region_area_t lead_region_areas[]; /* sorted by area_code */
extern const size_t lead_region_area_count;

#endif

#include "lead_region.h"

#include <stdlib.h>
#include <string.h>

static int area_cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const lead_region_area_t *)elem)->area_code);
}

int lead_region_from_e164(const char *e164, char region[LEAD_REGION_CODE_MAX], char *errbuf,
                          size_t errlen)
{
    region[0] = '\0';
    size_t n = e164 && e164[0] == '+' ? strspn(e164 + 1, "0123456789") : 0;
    if (n < 2 || n > 15 || e164[1 + n] != '\0')
        goto bad;
    /* NANP: country code 1, then a 3-digit area code and 7 digits. */
    if (e164[1] != '1' || n != 11)
        return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND, "%s is not a US or Canadian number", e164);
    char area[4];
    memcpy(area, e164 + 2, 3);
    area[3] = '\0';
    const lead_region_area_t *match = bsearch(area, lead_region_areas, lead_region_area_count,
                                              sizeof(lead_region_areas[0]), area_cmp);
    if (!match)
        return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND,
                       "area code %s of %s belongs to no US state or Canadian province", area,
                       e164);
    memcpy(region, match->region, LEAD_REGION_CODE_MAX - 1);
    region[LEAD_REGION_CODE_MAX - 1] = '\0';
    return OD_OK;
bad:
    return od_fail(errbuf, errlen, OD_ERR_INVALID,
                   "phone number '%.32s' is not in E.164 form (+ and 2 to 15 digits)",
                   e164 ? e164 : "(null)");
}

/* Area code -> US state or Canadian province, from the table generated out
 * of libphonenumber's geocoding data; toll-free and non-geographic numbers
 * have none. The expected regions are the area codes' published homes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lead_region.h"
#include "test_main.h"

typedef struct region_case {
    const char *e164;
    int rc;
    const char *region;
} region_case_t;

/* clang-format off */
static const region_case_t cases[] = {
    {"+12125550100", OD_OK, "NY"},
    {"+13055550100", OD_OK, "FL"},
    {"+14015550100", OD_OK, "RI"},
    {"+14055550100", OD_OK, "OK"},
    {"+14105550100", OD_OK, "MD"},
    {"+12065550100", OD_OK, "WA"},
    {"+15045550100", OD_OK, "LA"},
    {"+12025550100", OD_OK, "DC"},
    {"+14165550100", OD_OK, "ON"},
    {"+15145550100", OD_OK, "QC"},
    {"+16045550100", OD_OK, "BC"},
    {"+18005550100", OD_ERR_NOT_FOUND, ""},  /* toll-free */
    {"+18885550100", OD_ERR_NOT_FOUND, ""},  /* toll-free */
    {"+19005550100", OD_ERR_NOT_FOUND, ""},  /* premium, non-geographic */
    {"+12425550100", OD_ERR_NOT_FOUND, ""},  /* Bahamas */
    {"+442079460958", OD_ERR_NOT_FOUND, ""}, /* not +1 */
    {"+1212555010", OD_ERR_NOT_FOUND, ""},   /* too short for NANP */
    {"12125550100", OD_ERR_INVALID, ""},
    {"+1212555O100", OD_ERR_INVALID, ""},
    {NULL, OD_ERR_INVALID, ""},
};
/* clang-format on */

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char region[LEAD_REGION_CODE_MAX] = "xx";
        char errbuf[256] = "";
        int rc = lead_region_from_e164(cases[i].e164, region, errbuf, sizeof(errbuf));
        if (rc != cases[i].rc || strcmp(region, cases[i].region) != 0)
            fail_msg("%s: rc %d region '%s' (%s), want rc %d region '%s'",
                     cases[i].e164 ? cases[i].e164 : "(null)", rc, region, errbuf, cases[i].rc,
                     cases[i].region);
        if (rc != OD_OK)
            assert_true(errbuf[0] != '\0');
    }
}

/* The table is sorted (bsearch needs it) and holds the US and Canada. */
static void test_table(void **state)
{
    (void)state;
    assert_true(lead_region_area_count > 300);
    for (size_t i = 1; i < lead_region_area_count; i++)
        assert_true(strcmp(lead_region_areas[i - 1].area_code, lead_region_areas[i].area_code) < 0);
    for (size_t i = 0; i < lead_region_area_count; i++) {
        assert_int_equal(strlen(lead_region_areas[i].area_code), 3);
        assert_int_equal(strlen(lead_region_areas[i].region), 2);
    }
}

OD_TEST_MAIN(NULL, NULL, test_cases, test_table)

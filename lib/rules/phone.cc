// The libphonenumber shim: the one C++ file, with the C interface of phone.h.
#include "phone.h"

#include <cstdint>
#include <cstring>
#include <string>

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

static PhoneNumberUtil *util()
{
    // C++11 guarantees thread-safe initialisation of function statics. The
    // logger is silenced: bad numbers are reported to our callers, not stderr.
    static PhoneNumberUtil *instance = [] {
        PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
        u->SetLogger(new i18n::phonenumbers::NullLogger());
        return u;
    }();
    return instance;
}

extern "C" void phone_init(void)
{
    (void)util();
}

// libphonenumber's Parse() runs a dozen regular expressions (ICU) on every
// input, about 10 µs a number: more than half of the importer's CPU, on
// machines where Postgres needs the same cores. The US numbers of a CSV file
// are nearly all written in a handful of notations ("(415) 555-2671",
// "415.555.2671", "1-415-555-2671", "+1 415 555 2671"), for which Parse()'s
// answer is known without it: country code 1 and the ten digits after the
// optional "+1" or "1". This shortcut takes only those, builds the number
// and still asks libphonenumber whether it is valid; anything else, and any
// number it finds invalid (for the precise reason), goes the full way.
//
// Why the answer is Parse()'s (region "US", or an explicit "+1"): the input
// holds only digits, spaces, '-', '.', '(' and ')' (all of them punctuation
// Parse() skips; no letters, so no extension and no second number), at most
// 250 bytes (Parse()'s own limit); the national number does not start with
// 0 or 1, so neither a national prefix nor an international call prefix
// (011) can be read into it; a leading "1" before ten digits is the country
// code or the national prefix, which Parse() strips alike, and "+1" is the
// country code. US numbers have no carrier codes or prefix transforms.
// tests/unit/test_phone.c compares the two ways on generated inputs.
static bool nanp_shortcut(const char *raw, size_t len, const char *default_region,
                          char e164[PHONE_E164_MAX + 1])
{
    if (len > 250)
        return false;
    const char *p = raw, *end = raw + len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    bool plus = p < end && *p == '+';
    if (plus)
        p++;
    else if (!default_region || strcmp(default_region, "US") != 0)
        return false;
    char digits[12];
    size_t n = 0;
    for (; p < end; p++) {
        char ch = *p;
        if (ch >= '0' && ch <= '9') {
            if (n == 11)
                return false;
            digits[n++] = ch;
        } else if (ch != ' ' && ch != '-' && ch != '.' && ch != '(' && ch != ')') {
            return false;
        }
    }
    const char *nsn;
    if (n == 11 && digits[0] == '1')
        nsn = digits + 1;
    else if (n == 10 && !plus)
        nsn = digits;
    else
        return false;
    if (nsn[0] < '2' || nsn[0] > '9')
        return false;
    uint64_t national = 0;
    for (int i = 0; i < 10; i++)
        national = national * 10 + (uint64_t)(nsn[i] - '0');
    PhoneNumber number;
    number.set_country_code(1);
    number.set_national_number(national);
    // IsValidNumber() first looks for the number's region among those of
    // code 1, trying US first (the code's main region, which has no
    // leading-digits rule, so it takes every number valid there), then
    // checks the number against that region: for a US number, the US
    // check alone gives the same answer at half the cost. Numbers of the
    // other regions of code 1 (Canada, the Caribbean) take the full check.
    if (!util()->IsValidNumberForRegion(number, "US") && !util()->IsValidNumber(number))
        return false;
    e164[0] = '+';
    e164[1] = '1';
    memcpy(e164 + 2, nsn, 10);
    e164[12] = '\0';
    return true;
}

extern "C" phone_reason_t phone_parse_full(const char *raw, size_t raw_len,
                                           const char *default_region,
                                           char e164[PHONE_E164_MAX + 1]);

extern "C" phone_reason_t phone_parse(const char *raw, size_t raw_len, const char *default_region,
                                      char e164[PHONE_E164_MAX + 1])
{
    size_t len = strnlen(raw, raw_len);
    if (nanp_shortcut(raw, len, default_region, e164))
        return PHONE_OK;
    return phone_parse_full(raw, len, default_region, e164);
}

extern "C" phone_reason_t phone_parse_full(const char *raw, size_t raw_len,
                                           const char *default_region,
                                           char e164[PHONE_E164_MAX + 1])
{
    e164[0] = '\0';
    size_t len = strnlen(raw, raw_len);
    bool any = false;
    for (size_t i = 0; i < len; i++) {
        if (raw[i] != ' ' && raw[i] != '\t') {
            any = true;
            break;
        }
    }
    if (!any)
        return PHONE_EMPTY;
    std::string input(raw, len);
    std::string region = default_region && *default_region ? default_region : "ZZ";
    PhoneNumber number;
    switch (util()->Parse(input, region, &number)) {
    case PhoneNumberUtil::NO_PARSING_ERROR:
        break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
        return PHONE_BAD_COUNTRY;
    case PhoneNumberUtil::NOT_A_NUMBER:
        return PHONE_NOT_A_NUMBER;
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
        return PHONE_TOO_SHORT;
    case PhoneNumberUtil::TOO_LONG_NSN:
        return PHONE_TOO_LONG;
    default:
        return PHONE_NOT_A_NUMBER;
    }
    if (!util()->IsValidNumber(number)) {
        switch (util()->IsPossibleNumberWithReason(number)) {
        case PhoneNumberUtil::TOO_SHORT:
            return PHONE_TOO_SHORT;
        case PhoneNumberUtil::TOO_LONG:
            return PHONE_TOO_LONG;
        case PhoneNumberUtil::INVALID_COUNTRY_CODE:
            return PHONE_BAD_COUNTRY;
        default:
            return PHONE_INVALID;
        }
    }
    std::string out;
    util()->Format(number, PhoneNumberUtil::E164, &out);
    if (out.size() > PHONE_E164_MAX)
        return PHONE_TOO_LONG;
    memcpy(e164, out.c_str(), out.size() + 1);
    return PHONE_OK;
}

/* Each reason's code and sentence, in the enum's order (C++ has no array
 * designators; the static_assert keeps the rows and the enum in step). */
static const struct {
    const char *code;
    const char *message;
} reason_texts[] = {
    /* PHONE_OK */ {"ok", "valid phone number"},
    /* PHONE_EMPTY */ {"missing_phone", "the phone number is empty"},
    /* PHONE_NOT_A_NUMBER */ {"not_a_number", "the phone number is not a number"},
    /* PHONE_BAD_COUNTRY */
    {"invalid_country", "the country of the phone number is unknown: write it with +country "
                        "code or set the account's default region"},
    /* PHONE_TOO_SHORT */ {"too_short", "the phone number has too few digits for its country"},
    /* PHONE_TOO_LONG */ {"too_long", "the phone number has too many digits for its country"},
    /* PHONE_INVALID */
    {"invalid_number", "the phone number does not exist in its country's numbering plan"},
};
static_assert(sizeof(reason_texts) / sizeof(reason_texts[0]) == PHONE_INVALID + 1,
              "one row per phone_reason_t, in order");

static bool reason_known(phone_reason_t reason)
{
    return (unsigned)reason <= (unsigned)PHONE_INVALID;
}

extern "C" const char *phone_reason_code(phone_reason_t reason)
{
    return reason_known(reason) ? reason_texts[reason].code : "invalid_number";
}

extern "C" const char *phone_reason_message(phone_reason_t reason)
{
    return reason_known(reason) ? reason_texts[reason].message : "invalid phone number";
}

extern "C" int phone_region_known(const char *region)
{
    return region && util()->GetCountryCodeForRegion(region) != 0;
}

// The libphonenumber shim: the one C++ file, with the C interface of phone.h.
#include "phone.h"

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

extern "C" phone_reason_t phone_parse(const char *raw, size_t raw_len, const char *default_region,
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

extern "C" const char *phone_reason_code(phone_reason_t reason)
{
    switch (reason) {
    case PHONE_OK:
        return "ok";
    case PHONE_EMPTY:
        return "missing_phone";
    case PHONE_NOT_A_NUMBER:
        return "not_a_number";
    case PHONE_BAD_COUNTRY:
        return "invalid_country";
    case PHONE_TOO_SHORT:
        return "too_short";
    case PHONE_TOO_LONG:
        return "too_long";
    case PHONE_INVALID:
        return "invalid_number";
    }
    return "invalid_number";
}

extern "C" const char *phone_reason_message(phone_reason_t reason)
{
    switch (reason) {
    case PHONE_OK:
        return "valid phone number";
    case PHONE_EMPTY:
        return "the phone number is empty";
    case PHONE_NOT_A_NUMBER:
        return "the phone number is not a number";
    case PHONE_BAD_COUNTRY:
        return "the country of the phone number is unknown: write it with +country code or "
               "set the account's default region";
    case PHONE_TOO_SHORT:
        return "the phone number has too few digits for its country";
    case PHONE_TOO_LONG:
        return "the phone number has too many digits for its country";
    case PHONE_INVALID:
        return "the phone number does not exist in its country's numbering plan";
    }
    return "invalid phone number";
}

extern "C" int phone_region_known(const char *region)
{
    return region && util()->GetCountryCodeForRegion(region) != 0;
}

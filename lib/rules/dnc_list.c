#include "dnc_list.h"

#include <string.h>

#include "window.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

dnc_line_t dnc_list_line_parse(const char *line, size_t len, const char *region,
                               char e164[PHONE_E164_MAX + 1], const char **why)
{
    *why = NULL;
    while (len > 0 && is_blank(line[0])) {
        line++;
        len--;
    }
    while (len > 0 && is_blank(line[len - 1]))
        len--;
    if (len == 0 || line[0] == '#')
        return DNC_LINE_SKIP;
    const char *comma = memchr(line, ',', len);
    if (comma) {
        /* The registry's "AAA,NNNNNNN". */
        size_t area = (size_t)(comma - line), rest = len - area - 1;
        if (area != 3 || rest != 7 || !all_digits(line, 3) || !all_digits(comma + 1, 7)) {
            *why = "a registry line is the 3-digit area code, a comma and the 7-digit number "
                   "(201,5550123)";
            return DNC_LINE_INVALID;
        }
        char us[16];
        memcpy(us, "+1", 2);
        memcpy(us + 2, line, 3);
        memcpy(us + 5, comma + 1, 7);
        phone_reason_t r = phone_parse(us, 12, "US", e164);
        if (r != PHONE_OK) {
            *why = phone_reason_message(r);
            return DNC_LINE_INVALID;
        }
        return DNC_LINE_NUMBER;
    }
    phone_reason_t r = phone_parse(line, len, region, e164);
    if (r != PHONE_OK) {
        *why = phone_reason_message(r);
        return DNC_LINE_INVALID;
    }
    return DNC_LINE_NUMBER;
}

bool dnc_registry_stale(bool required, bool has_list, int64_t list_day, int64_t today)
{
    if (!required)
        return false;
    return !has_list || today - list_day > DNC_REGISTRY_MAX_AGE_DAYS;
}

bool dnc_registry_required(const char *legal_profile)
{
    return legal_profile &&
           (strcmp(legal_profile, "us_federal") == 0 || strcmp(legal_profile, "us_states") == 0);
}

bool dnc_list_date_parse(const char *s, int64_t *day)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !all_digits(s, 4) ||
        !all_digits(s + 5, 2) || !all_digits(s + 8, 2))
        return false;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 2000 || y > 2999 || m < 1 || m > 12 || d < 1 ||
        d > month_days[m - 1] + (m == 2 && leap))
        return false;
    *day = window_day_from_civil(y, m, d);
    return true;
}

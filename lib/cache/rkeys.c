#include "rkeys.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

int rkeys_prefix_from_env(const char **out, char *errbuf, size_t errlen)
{
    const char *p = config_get_str(RKEYS_PREFIX_ENV, RKEYS_PREFIX_DEFAULT);
    size_t len = strlen(p);
    if (len > 32)
        return od_fail(errbuf, errlen, OD_ERR_INVALID,
                       "%s: '%s' is too long (allowed: at most 32 characters)", RKEYS_PREFIX_ENV,
                       p);
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '_' || c == '-' || c == '.'))
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "%s: '%s' has a character other than letters, digits, ':', '_', "
                           "'-' and '.'",
                           RKEYS_PREFIX_ENV, p);
    }
    *out = p;
    return OD_OK;
}

void rkeys_campaign(const char *prefix, const char *campaign_id, char out[RKEYS_KEY_MAX])
{
    snprintf(out, RKEYS_KEY_MAX, "%scampaign:%s", prefix, campaign_id);
}

void rkeys_dnc(const char *prefix, const char *account_id, char out[RKEYS_KEY_MAX])
{
    snprintf(out, RKEYS_KEY_MAX, "%sdnc:%s", prefix, account_id);
}

void rkeys_attempt(const char *prefix, const char *attempt_id, char out[RKEYS_KEY_MAX])
{
    snprintf(out, RKEYS_KEY_MAX, "%sattempt:%s", prefix, attempt_id);
}

void rkeys_line(const char *prefix, const char *e164, char out[RKEYS_KEY_MAX])
{
    snprintf(out, RKEYS_KEY_MAX, "%sline:%s", prefix, e164);
}

void rkeys_calls(const char *prefix, const char *account_id, const char *e164,
                 char out[RKEYS_KEY_MAX])
{
    snprintf(out, RKEYS_KEY_MAX, "%scalls:%s:%s", prefix, account_id, e164);
}

void rkeys_caller_day(const char *prefix, const char *account_id, const char *e164, long long day,
                      char out[RKEYS_KEY_MAX])
{
    snprintf(out, RKEYS_KEY_MAX, "%scid:%s:%s:%lld", prefix, account_id, e164, day);
}

void rkeys_caller_turn(const char *prefix, const char *campaign_id, char out[RKEYS_KEY_MAX])
{
    snprintf(out, RKEYS_KEY_MAX, "%scidturn:%s", prefix, campaign_id);
}

void rkeys_dialers(const char *prefix, char out[RKEYS_KEY_MAX])
{
    snprintf(out, RKEYS_KEY_MAX, "%sdialers", prefix);
}

void rkeys_alive(const char *prefix, const char *instance_id, char out[RKEYS_KEY_MAX])
{
    snprintf(out, RKEYS_KEY_MAX, "%salive:%s", prefix, instance_id);
}

void rkeys_inflight(const char *prefix, const char *instance_id, char out[RKEYS_KEY_MAX])
{
    snprintf(out, RKEYS_KEY_MAX, "%sinflight:%s", prefix, instance_id);
}

void rkeys_takeover(const char *prefix, const char *instance_id, char out[RKEYS_KEY_MAX])
{
    snprintf(out, RKEYS_KEY_MAX, "%stakeover:%s", prefix, instance_id);
}

#include "legal_slot.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "freqcap.h"
#include "xmalloc.h"

/* The compiled-in rules/us.json (build dir gen/legal_pack_data.c). */
extern const char legal_pack_builtin_json[];

static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static legal_pack_t *builtin_pack;
static char builtin_error[256];

static void builtin_parse(void)
{
    if (legal_pack_parse(legal_pack_builtin_json, &builtin_pack, builtin_error,
                         sizeof(builtin_error)) != OD_OK)
        builtin_pack = NULL;
}

const legal_pack_t *legal_pack_builtin(void)
{
    pthread_once(&builtin_once, builtin_parse);
    return builtin_pack;
}

const char *legal_pack_builtin_error(void)
{
    pthread_once(&builtin_once, builtin_parse);
    return builtin_error;
}

void legal_pack_codes(const legal_pack_t *pack, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < pack->n_entries && used + 4 < len; i++)
        used +=
            (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", pack->entries[i].code);
}

int legal_account_init(legal_account_t *acct, const legal_pack_t *pack, const char *profile,
                       const char *overrides_json, char *errbuf, size_t errlen)
{
    memset(acct, 0, sizeof(*acct));
    acct->pack = pack;
    int rc = legal_profile_parse(profile, &acct->profile, errbuf, errlen);
    if (rc != OD_OK)
        return rc;
    if (!overrides_json || !*overrides_json)
        return OD_OK;
    rc = legal_overrides_parse(pack, overrides_json, &acct->overrides, &acct->n_overrides, errbuf,
                               errlen);
    if (rc != OD_OK)
        memset(acct, 0, sizeof(*acct));
    else if (acct->n_overrides > 0)
        acct->overrides_json = xstrdup(overrides_json);
    return rc;
}

void legal_account_clear(legal_account_t *acct)
{
    legal_entries_free(acct->overrides, acct->n_overrides);
    acct->overrides = NULL;
    acct->n_overrides = 0;
    free(acct->overrides_json);
    acct->overrides_json = NULL;
}

int legal_jurisdiction(const char *state, const char *e164, char out[LEAD_REGION_CODE_MAX],
                       char *errbuf, size_t errlen)
{
    out[0] = '\0';
    if (state && *state) {
        if (!legal_code_known(state))
            return od_fail(errbuf, errlen, OD_ERR_INVALID,
                           "state '%.8s' is not a US state, DC or Canadian province code", state);
        snprintf(out, LEAD_REGION_CODE_MAX, "%s", state);
        return OD_OK;
    }
    /* No region from the number (toll-free, not +1, malformed) is no
     * jurisdiction: the strictest rules, never an error. */
    char err[128];
    if (!e164 || lead_region_from_e164(e164, out, err, sizeof(err)) != OD_OK)
        out[0] = '\0';
    return OD_OK;
}

int legal_account_rules(const legal_account_t *acct, const char *jurisdiction, legal_rules_t *out,
                        char *errbuf, size_t errlen)
{
    if (acct->profile == LEGAL_PROFILE_NONE || !acct->pack) {
        memset(out, 0, sizeof(*out));
        return OD_OK;
    }
    return legal_rules_select(acct->pack, acct->profile, jurisdiction, acct->overrides,
                              acct->n_overrides, out, errbuf, errlen);
}

int legal_number_cap(const legal_account_t *acct, int account_cap, const char *state,
                     const char *e164, int *cap, char *errbuf, size_t errlen)
{
    char jurisdiction[LEAD_REGION_CODE_MAX];
    legal_rules_t rules;
    *cap = freqcap_effective(account_cap, 0);
    int rc = legal_jurisdiction(state, e164, jurisdiction, errbuf, errlen);
    if (rc == OD_OK)
        rc = legal_account_rules(acct, jurisdiction, &rules, errbuf, errlen);
    if (rc == OD_OK)
        *cap = freqcap_effective(account_cap, rules.calls_per_24h);
    return rc;
}

/* The first instant >= at_us every zone allows: each zone's next allowed
 * instant, taken again from the latest of them until all agree. */
static int gate_next(const legal_rules_t *rules, const char *const *zones, size_t n_zones,
                     int64_t at_us, int64_t *next_us, char *errbuf, size_t errlen)
{
    int64_t t = at_us;
    for (int round = 0; round < LEGAL_SLOT_ROUNDS_MAX; round++) {
        int64_t latest = t;
        for (size_t z = 0; z < n_zones; z++) {
            legal_verdict_t v;
            int rc = legal_check(rules, zones[z], t, &v, errbuf, errlen);
            if (rc != OD_OK)
                return rc;
            if (v.next_allowed_us > latest)
                latest = v.next_allowed_us;
        }
        if (latest == t) {
            *next_us = t;
            return OD_OK;
        }
        if (latest - at_us > (int64_t)LEGAL_HORIZON_DAYS * 86400 * 1000000)
            break;
        t = latest;
    }
    return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND,
                   "the legal rules allow no call in all of the callee's zones within %d days",
                   LEGAL_HORIZON_DAYS);
}

int legal_gate_check(const legal_rules_t *rules, const char *const *zones, size_t n_zones,
                     int64_t at_us, legal_gate_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->allowed = true;
    out->open_until_us = WINDOW_NEVER;
    out->next_allowed_us = at_us;
    if (rules->n_entries == 0)
        return OD_OK;
    if (n_zones == 0)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the legal rules need the callee's zone");
    for (size_t z = 0; z < n_zones; z++) {
        legal_verdict_t v;
        int rc = legal_check(rules, zones[z], at_us, &v, errbuf, errlen);
        if (rc == OD_ERR_NOT_FOUND) { /* this zone's rules never allow a call */
            out->allowed = false;
            out->open_until_us = 0;
            out->next_allowed_us = WINDOW_NEVER;
            out->block_zone = zones[z];
            return OD_OK;
        }
        if (rc != OD_OK)
            return rc;
        if (!v.allowed && out->allowed) {
            out->allowed = false;
            out->verdict = v;
            out->block_zone = zones[z];
        }
        if (v.allowed) {
            int64_t close_us;
            rc = legal_close_at(rules, zones[z], at_us, &close_us, errbuf, errlen);
            if (rc != OD_OK)
                return rc;
            if (close_us < out->open_until_us)
                out->open_until_us = close_us;
        }
    }
    if (out->allowed)
        return OD_OK;
    out->open_until_us = 0;
    int rc = gate_next(rules, zones, n_zones, at_us, &out->next_allowed_us, errbuf, errlen);
    if (rc == OD_ERR_NOT_FOUND) { /* the zones never allow a call together */
        out->next_allowed_us = WINDOW_NEVER;
        rc = OD_OK;
    }
    return rc;
}

int legal_slot_find(const window_rule_t *rules, size_t n_rules, const legal_rules_t *legal,
                    const char *const *zones, size_t n_zones, int64_t at_us, window_slot_t *slot,
                    char *errbuf, size_t errlen)
{
    int64_t t = at_us;
    for (int round = 0; round < LEGAL_SLOT_ROUNDS_MAX; round++) {
        window_slot_t ws = {t, WINDOW_NEVER};
        int rc = n_rules ? window_slot_find(rules, n_rules, t, &ws, errbuf, errlen) : OD_OK;
        if (rc != OD_OK)
            return rc;
        legal_gate_t gate;
        rc = legal_gate_check(legal, zones, n_zones, ws.open_us, &gate, errbuf, errlen);
        if (rc != OD_OK)
            return rc;
        if (gate.allowed) {
            slot->open_us = ws.open_us;
            slot->close_us = ws.close_us < gate.open_until_us ? ws.close_us : gate.open_until_us;
            return OD_OK;
        }
        if (gate.next_allowed_us == WINDOW_NEVER ||
            gate.next_allowed_us - at_us > (int64_t)WINDOW_HORIZON_DAYS * 86400 * 1000000)
            break;
        t = gate.next_allowed_us;
    }
    return od_fail(errbuf, errlen, OD_ERR_NOT_FOUND,
                   "the calling window and the legal rules are never open together within %d "
                   "days",
                   WINDOW_HORIZON_DAYS);
}

bool legal_gate_on_holiday(const legal_gate_t *gate)
{
    for (size_t i = 0; !gate->allowed && i < gate->verdict.n_blocks; i++)
        if (gate->verdict.blocks[i].reason == LEGAL_REASON_HOLIDAY)
            return true;
    return false;
}

void legal_gate_describe(const legal_gate_t *gate, char *buf, size_t len)
{
    if (gate->allowed) {
        snprintf(buf, len, "the legal rules allow a call");
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < gate->verdict.n_blocks && used < len; i++) {
        const legal_block_t *b = &gate->verdict.blocks[i];
        int n = snprintf(buf + used, len - used, "%s%s of %s (%s)", i ? ", " : "",
                         b->reason == LEGAL_REASON_HOLIDAY ? holiday_name(b->holiday)
                                                           : legal_reason_name(b->reason),
                         b->entry->code, b->entry->name ? b->entry->name : "");
        used += n > 0 ? (size_t)n : 0;
    }
    char at[40] = "never";
    if (gate->next_allowed_us != WINDOW_NEVER)
        od_time_format_rfc3339(gate->next_allowed_us, at, sizeof(at));
    if (used < len)
        snprintf(buf + used, len - used, " in %s; allowed again at %s",
                 gate->block_zone ? gate->block_zone : "?", at);
}

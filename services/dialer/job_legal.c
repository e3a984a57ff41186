#include "job_legal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "legal_slot.h"

int job_legal_check(const dialjob_t *job, int64_t now_us, int64_t guard_us, bool *allowed,
                    char *detail, size_t detail_len, char *errbuf, size_t errlen)
{
    *allowed = true;
    detail[0] = '\0';
    const dialjob_legal_t *jl = job->legal;
    if (!jl || !jl->profile || strcmp(jl->profile, "none") == 0)
        return OD_OK;
    const legal_pack_t *pack = legal_pack_builtin();
    if (!pack)
        return od_fail(errbuf, errlen, OD_ERR_INVALID, "the compiled-in rule pack: %s",
                       legal_pack_builtin_error());
    legal_account_t acct;
    int rc = legal_account_init(&acct, pack, jl->profile, jl->overrides_json, errbuf, errlen);
    if (rc)
        return OD_ERR_INVALID;
    legal_rules_t rules;
    legal_gate_t gate;
    rc = legal_account_rules(&acct, jl->jurisdiction, &rules, errbuf, errlen);
    if (rc == OD_OK)
        rc = legal_gate_check(&rules, (const char *const *)jl->zones, jl->n_zones, now_us, &gate,
                              errbuf, errlen);
    if (rc == OD_OK && !gate.allowed) {
        *allowed = false;
        legal_gate_describe(&gate, detail, detail_len);
    } else if (rc == OD_OK && now_us + guard_us >= gate.open_until_us) {
        char until[40];
        od_time_format_rfc3339(gate.open_until_us, until, sizeof(until));
        *allowed = false;
        snprintf(detail, detail_len,
                 "the callee's legal hours end at %s, within the %" PRId64
                 " us a create-call request is given to reach the provider",
                 until, guard_us);
    }
    legal_account_clear(&acct);
    return rc ? OD_ERR_INVALID : OD_OK;
}

/*
 * job_legal.h — the dialer's last look at the callee's legal rules, just
 * before the create-call request (docs/compliance.md).
 *
 * The scheduler planned the job inside the rules (its not_after is at most
 * their close); this check holds even if it did not — a job re-issued late,
 * an account's profile changed in between, a clock that jumped: a job the
 * rules forbid now, or forbid before now + guard, is skipped with reason
 * legal_rules and a detail naming the rule and when it clears. Pure over
 * the job (DialJob.legal) and the compiled-in rule pack.
 */
#ifndef OUTDIAL_DIALER_JOB_LEGAL_H
#define OUTDIAL_DIALER_JOB_LEGAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"

/* Judges job's legal rules over [now_us, now_us + guard_us]: *allowed, and
 * when not, detail says why ("hours of FL (Florida) in America/New_York;
 * allowed again at ..."). A job without legal rules (profile none) is
 * allowed. Errors (a job whose rules cannot be read: an unknown profile,
 * overrides the pack refuses, a bad zone) are OD_ERR_INVALID with errbuf
 * saying which; the caller refuses such a job rather than dial it. */
int job_legal_check(const dialjob_t *job, int64_t now_us, int64_t guard_us, bool *allowed,
                    char *detail, size_t detail_len, char *errbuf, size_t errlen) OD_WUR;

#endif

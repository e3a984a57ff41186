/*
 * legal_slot.h — one callee's legal rules put to work: which rules apply
 * (the account's profile and overrides, the callee's jurisdiction), the
 * dialer's last check at an instant, and the scheduler's plan: the first
 * instant at which the calling window and the legal rules all allow a call.
 *
 * The callee's jurisdiction (legal_jurisdiction):
 *   | the lead's state field | its number's area code   | jurisdiction          |
 *   |------------------------|--------------------------|-----------------------|
 *   | a known code ("FL")    | (not looked at)          | that code             |
 *   | empty                  | a US state or province   | that code             |
 *   | empty                  | toll-free, non-geographic| none: under us_states |
 *   |                        | or not +1                | the strictest rules   |
 *
 * The legal rules are read in every one of the callee's zones (lead_tz.h:
 * the lead's own timezone, else its number's prefix zones, else the
 * assistant's); a call is allowed only when every zone allows it, as for
 * the account's quiet hours.
 *
 * The promise the scheduler and the dialer share, held by a property test
 * (tests/unit/test_legal_slot_property.c): the open_us legal_slot_find()
 * returns is an instant legal_gate_check() allows and every window rule
 * allows, and no instant between at_us and open_us is both.
 *
 * Pure: no clock, no I/O. legal_pack_builtin() parses the pack compiled in
 * from rules/us.json once per process (thread-safe) and keeps it for the
 * life of the process.
 */
#ifndef OUTDIAL_LEGAL_SLOT_H
#define OUTDIAL_LEGAL_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "lead_region.h"
#include "legal.h"
#include "window.h"

/* Most zones a callee's rules are read in (lead_tz.h LEAD_TZ_MAX_ZONES). */
#define LEGAL_SLOT_MAX_ZONES 16

/* Most rounds legal_slot_find() takes between the window and the legal
 * rules: each round moves strictly forward to an opening of one of them,
 * and both repeat weekly, so a year and a week of openings is far below
 * this; past it the answer is OD_ERR_NOT_FOUND rather than a loop. */
#define LEGAL_SLOT_ROUNDS_MAX 4096

/* The pack compiled in from rules/us.json, parsed on first use; borrowed
 * for the life of the process. NULL only if the compiled-in pack does not
 * parse (the build checks it is JSON; unit.legal checks it parses), with
 * the reason logged by the caller through legal_pack_builtin_error(). */
const legal_pack_t *legal_pack_builtin(void);

/* Why legal_pack_builtin() returned NULL ("" when it did not). */
const char *legal_pack_builtin_error(void);

/* The codes of pack's entries, "FL, LA, MD, ..." into buf, for messages
 * that list the allowed values. */
void legal_pack_codes(const legal_pack_t *pack, char *buf, size_t len);

/* An account's legal settings: its profile and its overrides. */
typedef struct legal_account {
    legal_profile_t profile;
    const legal_pack_t *pack; /* borrowed */
    legal_entry_t *overrides; /* owned */
    size_t n_overrides;
    char *overrides_json; /* owned: the overrides as given, NULL when none */
} legal_account_t;

/* Fills *acct from a profile name and the overrides' JSON text (NULL, ""
 * or "[]" for none). On error *acct holds nothing to free and errbuf names
 * the field. The caller frees with legal_account_clear(). */
int legal_account_init(legal_account_t *acct, const legal_pack_t *pack, const char *profile,
                       const char *overrides_json, char *errbuf, size_t errlen) OD_WUR;

/* Frees what acct owns; a zeroed acct is a no-op. */
void legal_account_clear(legal_account_t *acct);

/* The callee's jurisdiction into out (see the table above): "" when none.
 * state may be NULL or "". A state legal_code_known() refuses is
 * OD_ERR_INVALID (the API and importer validate it, so this is defence). */
int legal_jurisdiction(const char *state, const char *e164, char out[LEAD_REGION_CODE_MAX],
                       char *errbuf, size_t errlen) OD_WUR;

/* The rules of acct for a callee of jurisdiction ("" or NULL: unknown). */
int legal_account_rules(const legal_account_t *acct, const char *jurisdiction, legal_rules_t *out,
                        char *errbuf, size_t errlen) OD_WUR;

/* The cap on calls to one number in any 24 hours for a callee of state
 * (NULL or "": none) at e164, as a dial job carries it (DialJob.calls_per_24h,
 * the scheduler's dispatch_lead_cap): account_cap (0: none), or the cap of
 * the callee's legal rules under acct (its jurisdiction: legal_jurisdiction)
 * when that is smaller (freqcap_effective). Depends on no campaign setting.
 * *cap: 0 for none. Errors: legal_jurisdiction's (*cap is then
 * account_cap). */
int legal_number_cap(const legal_account_t *acct, int account_cap, const char *state,
                     const char *e164, int *cap, char *errbuf, size_t errlen) OD_WUR;

/* The dialer's check at one instant, in every zone. */
typedef struct legal_gate {
    bool allowed;
    int64_t open_until_us;   /* allowed: the first instant the rules forbid (WINDOW_NEVER) */
    int64_t next_allowed_us; /* !allowed: the first instant every zone allows;
                              * WINDOW_NEVER when none within the horizon */
    legal_verdict_t verdict; /* !allowed: the blocks in block_zone */
    const char *block_zone;  /* !allowed: the first zone that blocks (borrowed) */
} legal_gate_t;

/* Judges at_us against rules in each of zones[0..n_zones) (n_zones >= 1
 * unless no rule applies). Rules that never allow a call together within
 * the horizon refuse with next_allowed_us WINDOW_NEVER. Errors:
 * OD_ERR_INVALID (a zone). */
int legal_gate_check(const legal_rules_t *rules, const char *const *zones, size_t n_zones,
                     int64_t at_us, legal_gate_t *out, char *errbuf, size_t errlen) OD_WUR;

/* The first slot at or after at_us in which every window rule and the
 * legal rules (in every zone) allow a call: open_us, and close_us the
 * first instant after it when one of them does not. n_rules may be 0 (no
 * window: only the legal rules). Errors as window_slot_find() and
 * legal_gate_check(); OD_ERR_NOT_FOUND when they never meet. */
int legal_slot_find(const window_rule_t *rules, size_t n_rules, const legal_rules_t *legal,
                    const char *const *zones, size_t n_zones, int64_t at_us, window_slot_t *slot,
                    char *errbuf, size_t errlen) OD_WUR;

/* A one-line reason for a gate that refuses ("hours of FL (Florida) in
 * America/New_York; allowed again at <rfc3339>") into buf. */
void legal_gate_describe(const legal_gate_t *gate, char *buf, size_t len);

/* Whether a refusing gate is for a holiday (else for hours or a closed
 * day): the audit and the dialer's skip detail tell them apart. */
bool legal_gate_on_holiday(const legal_gate_t *gate);

#endif

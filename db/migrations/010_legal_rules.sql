-- 010: legal calling rules per callee (docs/compliance.md).
--
-- lead.state: the callee's US state, DC or Canadian province (two capital
-- letters), as the lead gave it (CSV column state/province/region, the API,
-- leads-in) or, when it gave none, as its number's area code says
-- (lib/rules/lead_region.h). NULL: unknown (a toll-free or non-geographic
-- number, a number outside the US and Canada, or a lead stored before this
-- migration): the scheduler and the dialer then derive it from the number
-- again, and a number with no region gets the strictest rules of the
-- account's profile.
ALTER TABLE lead ADD COLUMN state char(2) CHECK (state ~ '^[A-Z]{2}$');

-- account.legal_profile: none (no legal rules: the campaign window and quiet
-- hours only), us_federal (08:00-21:00 callee-local), us_states (federal and
-- the callee's state entry of rules/us.json).
-- account.legal_overrides: the account's replacements of pack entries, a JSON
-- array as lib/rules/legal.h legal_overrides_parse() reads it; the API
-- validates it against the pack before storing it.
ALTER TABLE account
    ADD COLUMN legal_profile text NOT NULL DEFAULT 'none'
        CHECK (legal_profile IN ('none', 'us_federal', 'us_states')),
    ADD COLUMN legal_overrides jsonb NOT NULL DEFAULT '[]'::jsonb
        CHECK (jsonb_typeof(legal_overrides) = 'array');

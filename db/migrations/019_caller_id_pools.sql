-- 019: caller-ID pools (docs/dialer.md, "Caller-ID pools").
--
-- assistant_caller_id: the outbound numbers of an assistant, from which the
-- dialer picks the caller id of each call by the campaign's strategy
-- (lib/rules/caller_id.h). e164 is the number the callee sees;
-- provider_phone_number_id is the provider's id of it (Vapi's
-- phoneNumberId; null for Retell, which dials from the number itself);
-- daily_cap is the most calls the number places per day of its own
-- timezone (null: no cap), after which it rests until its next local
-- midnight; timezone is that zone (the API defaults it from the number's
-- area code, else the assistant's). The assistant's outbound_e164 stays
-- the number of the `single` strategy; when it is also in the pool, its
-- daily cap applies to it.
CREATE TABLE assistant_caller_id (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    assistant_id uuid NOT NULL REFERENCES assistant (id) ON DELETE CASCADE,
    e164 text NOT NULL CHECK (e164_valid(e164)),
    provider_phone_number_id text CHECK (provider_phone_number_id <> ''),
    daily_cap integer CHECK (daily_cap BETWEEN 1 AND 100000),
    timezone text NOT NULL CHECK (timezone <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (assistant_id, e164)
);

-- campaign.caller_id_strategy: how the dialer picks a call's number from
-- the assistant's pool.
ALTER TABLE campaign
    ADD COLUMN caller_id_strategy text NOT NULL DEFAULT 'single'
        CHECK (caller_id_strategy IN ('single', 'local_presence', 'sticky', 'round_robin'));

-- lead.sticky_caller_id: the number the lead was last called from (set
-- by results from the call's events); the sticky strategy calls it from
-- that number again while it is in the pool.
ALTER TABLE lead
    ADD COLUMN sticky_caller_id text CHECK (e164_valid(sticky_caller_id));

-- call.caller_id: the number the call came from (null: a call recorded
-- before this migration, or never placed).
ALTER TABLE call
    ADD COLUMN caller_id text CHECK (e164_valid(caller_id));

-- The per-number answer rates of GET /v1/campaigns/{id}/stats.
CREATE INDEX call_campaign_caller_id_idx ON call (campaign_id, caller_id) WHERE caller_id IS NOT NULL;

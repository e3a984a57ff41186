-- 018: A/B assistants (docs/rules.md, "A/B arms").
--
-- campaign.arms: null (the campaign's one assistant places every call), or
-- 2..4 arms [{"assistant_id": uuid, "weight": 1..100}, ...] between which
-- the campaign's leads are split by weight (lib/rules/ab_arm.h). The API
-- checks the assistants (distinct, the account's) and the weights; the
-- CHECK keeps the shape. An arm is its position in the array (0..3), and
-- the arms change only while the campaign is a draft, so a position names
-- the same assistant for the campaign's whole life.
ALTER TABLE campaign
    ADD COLUMN arms jsonb CHECK (arms IS NULL OR (jsonb_typeof(arms) = 'array'
        AND jsonb_array_length(arms) BETWEEN 2 AND 4));

-- lead.ab_arm: the arm the lead was given at its first dispatch, kept for
-- its retries; null for a lead never dispatched or of a campaign without
-- arms.
ALTER TABLE lead
    ADD COLUMN ab_arm smallint CHECK (ab_arm BETWEEN 0 AND 3);

-- call.ab_arm and call.assistant_id: the arm (null without arms) and the
-- assistant that placed the call, copied from the lead and the campaign
-- when results records the call.
ALTER TABLE call
    ADD COLUMN ab_arm smallint CHECK (ab_arm BETWEEN 0 AND 3),
    ADD COLUMN assistant_id uuid;


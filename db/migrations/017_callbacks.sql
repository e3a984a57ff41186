-- 017: callbacks the callee asks for (docs/rules.md "Callbacks").
--
-- campaign.callback_variable: a string post-call variable of the assistant
-- ("callback_at") in which the assistant reports the time the person asked
-- to be called back (ISO 8601, with or without an offset). NULL: off.
ALTER TABLE campaign
    ADD COLUMN callback_variable text CHECK (callback_variable <> '');

-- Where a lead's latest callback request stands:
--   pending   the lead's next call is the callback, due at callback_at
--   called    the callback call was made (its call row has callback true)
--   refused   the request could not be planned (callback_reason says why);
--             the lead went on by the retry rules
--   cancelled the lead ended before the callback was called (an opt-out,
--             a DNC skip, a manual action)
CREATE TYPE callback_status AS ENUM ('pending', 'called', 'refused', 'cancelled');

-- The lead's latest callback request; one at most pending (a new request
-- replaces the old). callback_asked_for: the time the person asked for;
-- callback_at: the time planned (the asked time, or the first instant
-- after it that the window and the legal rules allow; for pending, also
-- the lead's next_attempt_at); callback_asked_at: when it was asked (the
-- end of the asking call); callback_reason: why the time moved (window,
-- quiet_hours, legal_hours, legal_closed_day, legal_holiday, past) or why it
-- was refused (not_a_time, too_far_ahead, never_opens); callback_call_id:
-- the call (attempt id) that asked.
ALTER TABLE lead
    ADD COLUMN callback_status callback_status,
    ADD COLUMN callback_at timestamptz,
    ADD COLUMN callback_asked_for timestamptz,
    ADD COLUMN callback_asked_at timestamptz,
    ADD COLUMN callback_reason text,
    ADD COLUMN callback_call_id uuid,
    ADD CONSTRAINT lead_callback_pending_has_time CHECK (
        callback_status IS DISTINCT FROM 'pending' OR callback_at IS NOT NULL);

-- call.callback: the call was the callback a person asked for. It uses no
-- attempt of the retry budget (docs/rules.md), so its attempt number is the
-- lead's attempts + 1 without the lead's count moving: a lead that used all
-- 1 + 5 attempts and then asked for a callback places attempt number 7.
ALTER TABLE call
    ADD COLUMN callback boolean NOT NULL DEFAULT false,
    DROP CONSTRAINT call_attempt_number_check,
    ADD CONSTRAINT call_attempt_number_check CHECK (attempt_number BETWEEN 1 AND 7);

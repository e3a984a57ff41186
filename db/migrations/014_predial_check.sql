-- 014: the pre-dial check (docs/dialer.md, "The pre-dial check").
--
-- campaign.predial_url: before each call the dialer POSTs the lead to this
-- URL and places the call only when the answer says eligible; NULL is no
-- check. https://, or http:// to a loopback host only (lib/rules/predial.h
-- checks the URL; the CHECK here bounds what it cannot: length).
-- predial_timeout_ms: the whole request's timeout (PREDIAL_TIMEOUT_MS_MIN..MAX).
-- predial_on_error: what a timeout, an error status or a malformed answer
-- does: 'skip' the call (default) or 'call' anyway.
ALTER TABLE campaign
    ADD COLUMN predial_url text CHECK (predial_url <> '' AND length(predial_url) <= 2048),
    ADD COLUMN predial_timeout_ms integer NOT NULL DEFAULT 2000
        CHECK (predial_timeout_ms BETWEEN 100 AND 10000),
    ADD COLUMN predial_on_error text NOT NULL DEFAULT 'skip'
        CHECK (predial_on_error IN ('skip', 'call'));

-- The check's answer, per attempt: 'eligible', 'refused' or 'error' (NULL:
-- no check was made), the reason (the user's text for a refusal, what went
-- wrong for an error) and how long the request took.
ALTER TABLE call
    ADD COLUMN predial_result text CHECK (predial_result IN ('eligible', 'refused', 'error')),
    ADD COLUMN predial_reason text,
    ADD COLUMN predial_latency_ms integer CHECK (predial_latency_ms >= 0),
    ADD CONSTRAINT call_predial_all_or_none CHECK (
        (predial_result IS NULL) = (predial_latency_ms IS NULL));

-- A lead the user's pre-dial check refused: it ends (max_retries,
-- predial_refused) and is not called again unless reset. Added here, used
-- only by later transactions.
ALTER TYPE lead_outcome ADD VALUE 'predial_refused';

-- 004_api.sql — what the REST API (services/api) needs beyond 001-003.

-- "Set to created" (POST /v1/leads/{id}/reset) sets a lead's attempts back
-- to 0, so its next calls use attempt numbers 1, 2, ... again, numbers
-- that its earlier calls already have. 001's unique index
-- call_lead_attempt_key (lead_id, attempt_number) would refuse those call
-- rows, and the scheduler could then record neither the new call nor its
-- result. Calls stay unique by their attempt id (the primary key), which
-- is what idempotence of dial jobs and call events rests on; the pair
-- (lead, attempt number) is only looked up, so a plain index keeps that
-- fast.
DROP INDEX call_lead_attempt_key;
CREATE INDEX call_lead_attempt_idx ON call (lead_id, attempt_number);

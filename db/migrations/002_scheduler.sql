-- 002: what the lifecycle and the scheduler need beyond 001.

-- Invalid leads. The start requirement "valid phone numbers for all leads"
-- (docs/product.md) needs leads that exist and are invalid: a lead added by
-- hand through the API keeps a number that does not validate, so the user
-- sees it in the list and fixes or removes it, and start/resume refuse until
-- then. (CSV imports reject such rows, and leads-in sends an integration's
-- lead with such a number to outdial.leads-in.rejected; see docs/import.md.)
-- An invalid lead has no E.164 number, keeps what was given in raw_phone,
-- and is never dialed.
ALTER TABLE lead ALTER COLUMN e164 DROP NOT NULL;
ALTER TABLE lead ADD COLUMN raw_phone text;
ALTER TABLE lead ADD COLUMN invalid_reason text CHECK (invalid_reason <> '');
ALTER TABLE lead ADD CONSTRAINT lead_e164_xor_invalid CHECK (
    (e164 IS NULL) = (invalid_reason IS NOT NULL));
CREATE INDEX lead_invalid_idx ON lead (campaign_id) WHERE invalid_reason IS NOT NULL;

-- How many times recovery re-issued the current attempt's dial job (a job
-- that produced no event within the scheduled timeout). Bounded: see
-- docs/scheduler.md.
ALTER TABLE lead ADD COLUMN reissues smallint NOT NULL DEFAULT 0 CHECK (reissues >= 0);

-- Calls-per-minute token bucket, kept on the campaign row, which the
-- scheduler locks while it claims leads of the campaign.
ALTER TABLE campaign ADD COLUMN cpm_tokens double precision NOT NULL DEFAULT 0;
ALTER TABLE campaign ADD COLUMN cpm_refilled_at timestamptz;

-- Transactional outbox of Kafka messages. Whoever changes campaign state
-- (the API's start/pause/resume, the scheduler's completion and balance
-- pauses, finished leads) writes the CampaignEvent here in the same
-- transaction; the scheduler publishes and deletes the rows. An event is
-- never lost with a process, and at worst published twice (consumers dedupe
-- by event_id).
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    topic text NOT NULL CHECK (topic <> ''),
    key text NOT NULL,
    payload bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Campaign time crosses the wire as integer microseconds since the Unix
-- epoch (lib/core/clock.h): SQL never calls now() for campaign logic. These
-- convert exactly; infinities map to the int64 extremes and back.
CREATE FUNCTION od_ts(us bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE
        WHEN us <= -9223372036854775807 THEN '-infinity'::timestamptz
        WHEN us >= 9223372036854775807 THEN 'infinity'::timestamptz
        ELSE timestamptz 'epoch' + us * interval '1 microsecond'
    END;

CREATE FUNCTION od_us(ts timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE
        WHEN ts = '-infinity' THEN -9223372036854775807
        WHEN ts = 'infinity' THEN 9223372036854775807
        ELSE (extract(epoch FROM ts) * 1000000)::bigint
    END;

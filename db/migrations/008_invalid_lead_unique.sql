-- 008: an invalid lead is stored once per campaign.
--
-- 001's unique (campaign_id, e164) does not cover invalid leads (002: e164
-- NULL, the number as given in raw_phone), so POSTing the same invalid
-- number again stored it again. The API now answers it as a duplicate, as
-- for a valid number, through this index (its INSERT ... ON CONFLICT DO
-- NOTHING; a PATCH to such a number is 409 duplicate).
--
-- Copies stored before: the oldest of each number is kept (one that has
-- calls, its own or its contacts', first); the later copies are removed
-- when neither they nor their contacts have been called, as the API's
-- DELETE would. Copies that have calls cannot be removed: the migration
-- then stops and names them, for the operator to correct one's number.
WITH copies AS (
    SELECT l.id, l.campaign_id, l.raw_phone, l.created_at,
           EXISTS (SELECT 1 FROM call c JOIN lead x ON x.id = c.lead_id
                   WHERE x.id = l.id OR x.parent_lead_id = l.id) AS called
    FROM lead l
    WHERE l.e164 IS NULL
), ranked AS (
    SELECT id, called,
           row_number() OVER (PARTITION BY campaign_id, raw_phone
                              ORDER BY called DESC, created_at, id) AS n
    FROM copies
)
DELETE FROM lead WHERE id IN (SELECT id FROM ranked WHERE n > 1 AND NOT called);

DO $$
DECLARE
    left_over text;
BEGIN
    SELECT string_agg(campaign_id || ' ' || raw_phone, ', ') INTO left_over
    FROM (SELECT campaign_id, raw_phone FROM lead WHERE e164 IS NULL
          GROUP BY campaign_id, raw_phone HAVING count(*) > 1) d;
    IF left_over IS NOT NULL THEN
        RAISE EXCEPTION 'invalid leads stored twice that have calls (campaign raw_phone): %; '
                        'correct the number of one of each (PATCH /v1/leads/{id}), then migrate',
                        left_over;
    END IF;
END $$;

CREATE UNIQUE INDEX lead_campaign_invalid_raw_key ON lead (campaign_id, raw_phone)
    WHERE e164 IS NULL;

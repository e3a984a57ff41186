-- 011: frequency caps and opt-out capture (docs/compliance.md).
--
-- account.calls_per_24h: at most this many calls to one person (one E.164
-- number) in any rolling 24 hours, across all the account's campaigns; NULL
-- is no cap of the account's own (a jurisdiction's cap may still apply).
-- The range is lib/rules/freqcap.h's FREQCAP_CALLS_MIN..MAX.
ALTER TABLE account
    ADD COLUMN calls_per_24h smallint CHECK (calls_per_24h BETWEEN 1 AND 50);

-- campaign.opt_out_variable: a boolean post-call variable of the assistant
-- ("opted_out"). A call that reports it true puts the number on the
-- account's DNC list (source 'call') and ends the lead as opted_out.
ALTER TABLE campaign
    ADD COLUMN opt_out_variable text CHECK (opt_out_variable <> '');

-- A lead whose callee asked on a call never to be called again. Added here,
-- used only by later transactions (PostgreSQL 12+ allows ADD VALUE in a
-- transaction block, not its use in the same one).
ALTER TYPE lead_outcome ADD VALUE 'opted_out';

-- Where a DNC entry came from: the REST API, a bulk import of the user's
-- own list, a call on which the callee opted out, or the national registry.
CREATE TYPE dnc_source AS ENUM ('api', 'import', 'call', 'registry');

-- Existing entries came through the API (or a test's SQL): source 'api'.
-- call_id: the call (attempt) that captured an opt-out (source 'call').
-- list_date: the date of the list a bulk import came from.
ALTER TABLE dnc
    ADD COLUMN source dnc_source NOT NULL DEFAULT 'api',
    ADD COLUMN call_id uuid,
    ADD COLUMN list_date date,
    ADD CONSTRAINT dnc_call_id_for_call CHECK ((source = 'call') = (call_id IS NOT NULL)),
    ADD CONSTRAINT dnc_list_date_for_lists CHECK (
        (source IN ('import', 'registry')) = (list_date IS NOT NULL));

-- Bulk DNC imports: one row per file imported, with the date of its list.
-- The newest 'registry' row says how fresh the account's scrub is (the API
-- warns past 31 days when the account's legal profile requires a scrub).
CREATE TABLE dnc_import (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    source dnc_source NOT NULL CHECK (source IN ('import', 'registry')),
    list_date date NOT NULL,
    numbers_read integer NOT NULL CHECK (numbers_read >= 0),
    numbers_added integer NOT NULL CHECK (numbers_added >= 0),
    numbers_invalid integer NOT NULL CHECK (numbers_invalid >= 0),
    imported_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dnc_import_account_idx ON dnc_import (account_id, source, list_date DESC);

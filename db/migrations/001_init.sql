-- 001_init.sql — the outdial schema (docs/architecture.md §3).
--
-- Applied by lib/store/migrate.c (outdial-migrate, or a service at start) inside
-- one transaction, under a Postgres advisory lock, and recorded in
-- schema_migrations. Never edit this file once it has been applied anywhere:
-- its checksum is recorded and a changed file is refused. Change the schema
-- with a new file 002_name.sql.
--
-- Conventions
--   * Ids are UUIDs (gen_random_uuid(), core since PostgreSQL 13); the same
--     text form travels in the protobuf messages.
--   * Money is bigint minor units (cents); never floating point.
--   * Phone numbers are E.164 text ('+14155550123'), checked by e164_valid().
--   * Times of day are minutes since local midnight (smallint 0..1439), days
--     of the week a bitmask Mon = bit 0 (1) .. Sun = bit 6 (64).
--   * Timestamps are timestamptz. Columns that drive campaign logic
--     (next_attempt_at, status_changed_at, call times) are written by the
--     services with campaign time passed as a parameter (lib/core/clock.h), never
--     with now(), so that a scaled demo clock stays consistent. The
--     created_at / updated_at audit columns are real time and default to
--     now(); no logic reads them.
--   * Enum labels are the names used everywhere else (docs/architecture.md, lib/rules/model.h,
--     the REST API): keep them in sync. Values can be added later with
--     ALTER TYPE ... ADD VALUE in a migration of their own.

-- ---------------------------------------------------------------------------
-- Validation helpers (IMMUTABLE so CHECK constraints may call them)

-- E.164: '+', a country code not starting with 0, at most 15 digits in all.
CREATE FUNCTION e164_valid(number text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN number ~ '^\+[1-9][0-9]{1,14}$';

-- A post-call variable schema: a JSON object mapping variable names to one
-- of the types the assistant can report.
CREATE FUNCTION variable_schema_valid(schema jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN jsonb_typeof(schema) = 'object'
        AND NOT EXISTS (SELECT 1 FROM jsonb_each(schema) AS e(name, type)
                        WHERE e.type NOT IN ('"boolean"'::jsonb, '"string"'::jsonb,
                                             '"number"'::jsonb)
                           OR e.name = '');

-- ---------------------------------------------------------------------------
-- Enums

CREATE TYPE campaign_status AS ENUM ('draft', 'in_progress', 'paused', 'completed');

-- Whose local time the calling window is evaluated in (docs/architecture.md §5).
CREATE TYPE timezone_mode AS ENUM ('assistant', 'lead');

-- The product's lead statuses (docs/product.md; docs/architecture.md §4).
CREATE TYPE lead_status AS ENUM ('created', 'scheduled', 'processing', 'completed',
                                 'rescheduled', 'max_retries');

-- Why a lead ended; set exactly when the status is completed or max_retries.
CREATE TYPE lead_outcome AS ENUM ('goal_achieved', 'answered', 'voicemail', 'exhausted',
                                  'permanent_failure', 'dnc', 'manual');

-- The provider's call statuses, plus 'skipped': a dial job the dialer
-- refused to place (outside window, campaign not running, DNC, number busy).
-- A skipped job uses no attempt: the lead is called again with the same
-- attempt number (see call_lead_attempt_key).
CREATE TYPE call_status AS ENUM ('initiated', 'ringing', 'in_progress', 'completed', 'busy',
                                 'unanswered', 'failed', 'skipped');

CREATE TYPE answered_by AS ENUM ('human', 'voicemail', 'unknown');

-- For failed calls: transient failures are retried, permanent ones are not.
CREATE TYPE failure_class AS ENUM ('transient', 'permanent');

-- upload: a CSV streamed through the API into import_staging;
-- file: a local file loaded by `outdial-importer --campaign ID FILE`.
CREATE TYPE import_source AS ENUM ('upload', 'file');

-- pending: created, rows (being) staged, not yet picked up by the importer;
-- running: the importer is merging rows; completed / failed: finished
-- (failed = the import as a whole could not run, e.g. the file is not CSV;
-- bad rows never fail an import, they are rejected one by one).
CREATE TYPE import_status AS ENUM ('pending', 'running', 'completed', 'failed');

-- ---------------------------------------------------------------------------
-- account: a customer. Every API query is scoped to one.

CREATE TABLE account (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (name <> ''),
    -- Prepaid balance in minor units of `currency`. Call costs are charged
    -- when a call ends; at zero or below the scheduler pauses the account's
    -- running campaigns (reason insufficient_balance). It may go negative by
    -- the cost of calls that were already under way.
    balance_minor bigint NOT NULL DEFAULT 0,
    currency char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    -- Shared secret of the provider webhooks (HMAC or bearer, compared in
    -- constant time by the dialer).
    webhook_secret text NOT NULL CHECK (length(webhook_secret) >= 16),
    -- ISO 3166 alpha-2 region for numbers written without a country code.
    default_region char(2) NOT NULL DEFAULT 'US' CHECK (default_region ~ '^[A-Z]{2}$'),
    -- Quiet hours (docs/architecture.md §5): the account-wide hours, in the callee's
    -- local time, OUTSIDE of which no campaign may call, e.g. 480..1260
    -- (08:00-21:00, the US TCPA rule). Both null = no account restriction.
    -- An end before the start crosses midnight, as for campaign windows.
    quiet_hours_start_min smallint CHECK (quiet_hours_start_min BETWEEN 0 AND 1439),
    quiet_hours_end_min smallint CHECK (quiet_hours_end_min BETWEEN 0 AND 1439),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT account_quiet_hours_pair CHECK (
        (quiet_hours_start_min IS NULL) = (quiet_hours_end_min IS NULL)),
    CONSTRAINT account_quiet_hours_not_empty CHECK (
        quiet_hours_start_min IS DISTINCT FROM quiet_hours_end_min
        OR quiet_hours_start_min IS NULL)
);

-- api_key: bearer keys of the REST API. The key itself is shown once at
-- creation and never stored: `prefix` (its first characters, unique) finds
-- the row, and the SHA-256 of the whole key is compared in constant time.
-- A fast hash is enough because keys are long random strings, not passwords.
CREATE TABLE api_key (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    name text NOT NULL DEFAULT '',
    prefix text NOT NULL UNIQUE CHECK (length(prefix) BETWEEN 8 AND 32),
    key_sha256 bytea NOT NULL CHECK (octet_length(key_sha256) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_key_account_idx ON api_key (account_id);

-- ---------------------------------------------------------------------------
-- assistant: the AI voice assistant a campaign calls with.

CREATE TABLE assistant (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (name <> ''),
    -- IANA zone name ('America/New_York'); the API checks it against the tz
    -- database (ICU) before writing, a CHECK cannot.
    timezone text NOT NULL CHECK (timezone <> ''),
    -- The caller-id of outbound calls. A campaign cannot start without one.
    outbound_e164 text CHECK (e164_valid(outbound_e164)),
    -- 'vapi': the vapi-compatible HTTP API (tools/voice-sim speaks it too).
    -- text + CHECK rather than an enum: adding a provider is a one-line
    -- migration either way, and this keeps the wire string identical.
    provider text NOT NULL DEFAULT 'vapi' CHECK (provider IN ('vapi')),
    provider_assistant_id text NOT NULL CHECK (provider_assistant_id <> ''),
    provider_phone_number_id text CHECK (provider_phone_number_id <> ''),
    -- Post-call variables the assistant reports: {"interested": "boolean",
    -- "notes": "string", "score": "number"}.
    post_call_schema jsonb NOT NULL DEFAULT '{}' CHECK (variable_schema_valid(post_call_schema)),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assistant_account_idx ON assistant (account_id);

-- ---------------------------------------------------------------------------
-- campaign

CREATE TABLE campaign (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    -- RESTRICT: an assistant in use by a campaign cannot be deleted.
    assistant_id uuid NOT NULL REFERENCES assistant (id) ON DELETE RESTRICT,
    name text NOT NULL CHECK (name <> ''),
    status campaign_status NOT NULL DEFAULT 'draft',
    -- Why the campaign is paused ('user', 'insufficient_balance', ...);
    -- null when it is not paused.
    pause_reason text,
    -- Calling window, local minutes of day (see timezone_mode). An end before
    -- the start crosses midnight (22:00-02:00 = 1320..120; 18:00-00:00 =
    -- 1080..0). Start = end is refused: it would be ambiguous between an empty
    -- and a 24-hour window. Default 09:00-18:00 as docs/product.md says.
    window_start_min smallint NOT NULL DEFAULT 540 CHECK (window_start_min BETWEEN 0 AND 1439),
    window_end_min smallint NOT NULL DEFAULT 1080 CHECK (window_end_min BETWEEN 0 AND 1439),
    -- Allowed days, Mon = 1, Tue = 2, Wed = 4, Thu = 8, Fri = 16, Sat = 32,
    -- Sun = 64 (on the local day on which a call starts). Default Mon-Fri.
    allowed_days smallint NOT NULL DEFAULT 31 CHECK (allowed_days BETWEEN 1 AND 127),
    -- Retries after the first call: a lead is called at most 1 + max_retries
    -- times. Ranges and defaults are docs/product.md's.
    max_retries smallint NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 1 AND 5),
    retry_interval_min integer NOT NULL DEFAULT 60 CHECK (retry_interval_min BETWEEN 10 AND 4320),
    retry_on_voicemail boolean NOT NULL DEFAULT true,
    -- A boolean post-call variable of the assistant whose true value means
    -- the goal is achieved (the API checks it against post_call_schema).
    goal_variable text CHECK (goal_variable <> ''),
    goal_based_retry boolean NOT NULL DEFAULT false,
    timezone_mode timezone_mode NOT NULL DEFAULT 'assistant',
    -- Pacing: leads scheduled or processing at once; optional calls started
    -- per minute (token bucket), null = unlimited.
    max_concurrent_calls integer NOT NULL DEFAULT 10
        CHECK (max_concurrent_calls BETWEEN 1 AND 1000),
    calls_per_minute integer CHECK (calls_per_minute BETWEEN 1 AND 6000),
    -- Longest call the provider is asked to allow (DialJob
    -- max_call_duration_s). 10 s .. 12 h, default 10 min.
    max_call_duration_s integer NOT NULL DEFAULT 600
        CHECK (max_call_duration_s BETWEEN 10 AND 43200),
    -- Campaign time of the last status change (written by the services).
    status_changed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT campaign_window_not_empty CHECK (window_start_min <> window_end_min),
    CONSTRAINT campaign_goal_based_retry_needs_goal CHECK (
        NOT goal_based_retry OR goal_variable IS NOT NULL),
    CONSTRAINT campaign_pause_reason_only_when_paused CHECK (
        status = 'paused' OR pause_reason IS NULL)
);
CREATE INDEX campaign_account_idx ON campaign (account_id, created_at);
CREATE INDEX campaign_assistant_idx ON campaign (assistant_id);
-- The scheduler's loop walks the running campaigns.
CREATE INDEX campaign_running_idx ON campaign (account_id) WHERE status = 'in_progress';

-- ---------------------------------------------------------------------------
-- import: one CSV import into a campaign (created by the API or the
-- importer's file mode, advanced by the importer).

CREATE TABLE import (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    campaign_id uuid NOT NULL REFERENCES campaign (id) ON DELETE CASCADE,
    source import_source NOT NULL,
    -- The uploaded or loaded file's name, for people.
    filename text NOT NULL DEFAULT '',
    status import_status NOT NULL DEFAULT 'pending',
    -- Region for numbers without a country code; null = the account's.
    region char(2) CHECK (region ~ '^[A-Z]{2}$'),
    -- Explicit column mapping, lead field -> CSV header (ImportRequest).
    column_mapping jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(column_mapping) = 'object'),
    -- Progress. bytes_total is known once the upload is staged (null while it
    -- streams); bytes_done is how far the importer has parsed. rows_read
    -- counts data rows parsed so far (header excluded), and each of them ends
    -- in exactly one of imported, duplicate, dnc, rejected.
    bytes_total bigint CHECK (bytes_total >= 0),
    bytes_done bigint NOT NULL DEFAULT 0 CHECK (bytes_done >= 0),
    rows_read integer NOT NULL DEFAULT 0 CHECK (rows_read >= 0),
    rows_imported integer NOT NULL DEFAULT 0 CHECK (rows_imported >= 0),
    rows_duplicate integer NOT NULL DEFAULT 0 CHECK (rows_duplicate >= 0),
    rows_dnc integer NOT NULL DEFAULT 0 CHECK (rows_dnc >= 0),
    rows_rejected integer NOT NULL DEFAULT 0 CHECK (rows_rejected >= 0),
    -- Why a failed import failed (whole-import errors only).
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    CONSTRAINT import_counts_add_up CHECK (
        rows_imported + rows_duplicate + rows_dnc + rows_rejected <= rows_read),
    CONSTRAINT import_error_only_when_failed CHECK (status = 'failed' OR error IS NULL)
);
CREATE INDEX import_campaign_idx ON import (campaign_id, created_at);
CREATE INDEX import_unfinished_idx ON import (created_at) WHERE status IN ('pending', 'running');

-- import_staging: an upload, raw, as the API received it, in chunks of bytes
-- split anywhere (not at row boundaries): a CSV record may hold quoted
-- newlines, so only the importer's CSV parser decides where rows are. bytea,
-- not text, so that a file with a stray invalid byte can still be staged
-- and that row rejected by the importer instead of the whole upload
-- refused. The API fills it with COPY import_staging (import_id, seq, chunk)
-- FROM STDIN; the importer reads the chunks in seq order and deletes them
-- when the import has finished.
CREATE TABLE import_staging (
    import_id uuid NOT NULL REFERENCES import (id) ON DELETE CASCADE,
    seq integer NOT NULL CHECK (seq >= 0),
    chunk bytea NOT NULL,
    PRIMARY KEY (import_id, seq)
);

-- import_reject: a row the importer refused, with the 1-based data row
-- number (header excluded) and a reason a person can act on. raw_row is the
-- row as text (invalid UTF-8 replaced).
CREATE TABLE import_reject (
    import_id uuid NOT NULL REFERENCES import (id) ON DELETE CASCADE,
    row_number integer NOT NULL CHECK (row_number >= 1),
    reason text NOT NULL CHECK (reason <> ''),
    raw_row text NOT NULL DEFAULT '',
    PRIMARY KEY (import_id, row_number)
);

-- ---------------------------------------------------------------------------
-- lead: a person to call in one campaign. After import, the scheduler is
-- the only writer of status and the columns that go with it.

CREATE TABLE lead (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    campaign_id uuid NOT NULL REFERENCES campaign (id) ON DELETE CASCADE,
    -- Secondary contacts point at their primary and are called, in
    -- contact_order (1, 2, ...), only after the primary ends max_retries.
    -- A primary has parent_lead_id null and contact_order 0.
    parent_lead_id uuid REFERENCES lead (id) ON DELETE CASCADE,
    contact_order smallint NOT NULL DEFAULT 0 CHECK (contact_order BETWEEN 0 AND 100),
    e164 text NOT NULL CHECK (e164_valid(e164)),
    name text NOT NULL DEFAULT '',
    -- The person's IANA zone, when known (timezone_mode 'lead').
    timezone text CHECK (timezone <> ''),
    variables jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(variables) = 'object'),
    -- The producer's id of the lead (LeadUpsert.external_id), for updates.
    external_id text CHECK (external_id <> ''),
    -- The import that created the lead, if any.
    import_id uuid REFERENCES import (id) ON DELETE SET NULL,
    status lead_status NOT NULL DEFAULT 'created',
    -- Calls placed so far (skipped dial jobs do not count); at most
    -- 1 + max_retries (5) = 6.
    attempts smallint NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 6),
    -- When the lead is next due (campaign time), for status created or
    -- rescheduled. A primary is inserted due at '-infinity' (due at once,
    -- no clock needed: the default); a secondary contact is inserted with
    -- null (waiting for its primary) and given a time when its turn comes.
    next_attempt_at timestamptz DEFAULT '-infinity',
    -- The attempt (call.attempt_id) of the dial job issued for the lead,
    -- set with status scheduled and kept while processing; a result for any
    -- other attempt id is stale.
    current_attempt_id uuid,
    outcome lead_outcome,
    -- The goal variable's last reported value; null = never reported.
    goal_result boolean,
    -- The last call's result.
    last_call_status call_status,
    last_answered_by answered_by,
    last_call_at timestamptz,
    -- Campaign time of the last status change. The scheduler recovers a lead
    -- left scheduled or processing too long (a lost dial job or a call that
    -- never reported its end, invariant 6) by comparing it to its timeouts.
    status_changed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- One lead per number per campaign (duplicates are skipped at import).
    CONSTRAINT lead_campaign_e164_key UNIQUE (campaign_id, e164),
    CONSTRAINT lead_primary_order CHECK ((parent_lead_id IS NULL) = (contact_order = 0)),
    CONSTRAINT lead_not_own_parent CHECK (parent_lead_id <> id),
    -- A lead has an outcome exactly when it has ended.
    CONSTRAINT lead_outcome_iff_ended CHECK (
        (status IN ('completed', 'max_retries')) = (outcome IS NOT NULL)),
    -- A dial job in flight always has its attempt id.
    CONSTRAINT lead_in_flight_has_attempt CHECK (
        status NOT IN ('scheduled', 'processing') OR current_attempt_id IS NOT NULL),
    -- A lead waiting for a retry knows when.
    CONSTRAINT lead_rescheduled_has_time CHECK (
        status <> 'rescheduled' OR next_attempt_at IS NOT NULL)
);
-- The scheduler's due-lead query, per running campaign:
--   SELECT ... FROM lead
--   WHERE campaign_id = $1 AND status IN ('created', 'rescheduled')
--     AND next_attempt_at <= $now
--   ORDER BY next_attempt_at LIMIT $n FOR UPDATE SKIP LOCKED
-- The predicate must be written exactly so for the planner to use the index.
-- Waiting secondaries (next_attempt_at null) are left out of the index.
CREATE INDEX lead_due_idx ON lead (campaign_id, next_attempt_at)
    WHERE status IN ('created', 'rescheduled') AND next_attempt_at IS NOT NULL;
-- Status counts per campaign (campaign view, completion check, pacing:
-- count of scheduled + processing against max_concurrent_calls).
CREATE INDEX lead_campaign_status_idx ON lead (campaign_id, status);
-- Recovery of leads stuck scheduled or processing, across campaigns.
CREATE INDEX lead_in_flight_idx ON lead (status_changed_at)
    WHERE status IN ('scheduled', 'processing');
-- A primary's secondary contacts, in order; one contact per position.
CREATE UNIQUE INDEX lead_parent_order_key ON lead (parent_lead_id, contact_order)
    WHERE parent_lead_id IS NOT NULL;
-- Updates from other systems by their own id.
CREATE UNIQUE INDEX lead_campaign_external_id_key ON lead (campaign_id, external_id)
    WHERE external_id IS NOT NULL;
-- Call events name the attempt; one lead per attempt id.
CREATE UNIQUE INDEX lead_current_attempt_key ON lead (current_attempt_id)
    WHERE current_attempt_id IS NOT NULL;
CREATE INDEX lead_import_idx ON lead (import_id) WHERE import_id IS NOT NULL;

-- ---------------------------------------------------------------------------
-- call: one row per dial job, keyed by the attempt id of its DialJob.
-- Written by the scheduler (when it issues the job, or on the job's first
-- event) from CallEvents; applying an event twice must change nothing
-- (at-least-once delivery, invariant 5).

CREATE TABLE call (
    attempt_id uuid PRIMARY KEY,
    lead_id uuid NOT NULL REFERENCES lead (id) ON DELETE CASCADE,
    campaign_id uuid NOT NULL REFERENCES campaign (id) ON DELETE CASCADE,
    attempt_number smallint NOT NULL CHECK (attempt_number BETWEEN 1 AND 6),
    -- The number called (a lead's number may be corrected later).
    e164 text NOT NULL CHECK (e164_valid(e164)),
    status call_status NOT NULL DEFAULT 'initiated',
    -- Every status the call went through, in order:
    -- [{"status": "ringing", "at": "2026-03-08T09:00:01.000Z", "event_id": "..."}].
    status_history jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(status_history) = 'array'),
    answered_by answered_by,
    provider_call_id text CHECK (provider_call_id <> ''),
    failure_class failure_class,
    -- Campaign times: job issued, call started (ringing/connected), ended.
    issued_at timestamptz,
    started_at timestamptz,
    ended_at timestamptz,
    duration_s integer CHECK (duration_s >= 0),
    cost_minor bigint CHECK (cost_minor >= 0),
    -- When cost_minor was charged to the account's balance (once).
    charged_at timestamptz,
    ended_reason text,
    -- The assistant's post-call variables ({"interested": true}).
    post_call_variables jsonb CHECK (jsonb_typeof(post_call_variables) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- No CHECK that ended_at >= started_at: the times come from the
    -- provider, and an event refused for clock skew would be a poison message.
    CONSTRAINT call_charged_needs_cost CHECK (charged_at IS NULL OR cost_minor IS NOT NULL)
);
-- One real call per attempt number of a lead; skipped jobs do not use one.
CREATE UNIQUE INDEX call_lead_attempt_key ON call (lead_id, attempt_number)
    WHERE status <> 'skipped';
CREATE INDEX call_campaign_idx ON call (campaign_id, created_at);
-- Provider webhooks and reconciliation look calls up by the provider's id.
CREATE UNIQUE INDEX call_provider_call_id_key ON call (provider_call_id)
    WHERE provider_call_id IS NOT NULL;

-- ---------------------------------------------------------------------------
-- dnc: per account, numbers never to be called (invariant 4). Checked at
-- import (skipped, counted) and by the dialer just before dialing (through
-- the API's Redis mirror).

CREATE TABLE dnc (
    account_id uuid NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    e164 text NOT NULL CHECK (e164_valid(e164)),
    reason text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, e164)
);

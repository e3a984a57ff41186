-- 012_campaign_counters.sql — per-campaign counters for the statistics
-- (GET /v1/campaigns/{id}/stats and its live stream), moved by triggers in
-- the transaction of every change to lead and call, so that reading them
-- costs the same at ten leads and at ten million (docs/architecture.md,
-- "Campaign counters").
--
-- campaign_counter is a ledger: every statement that changes leads or calls
-- appends its deltas (one row per campaign and counter it moved), and a
-- counter's value is the sum of its rows. Appending never waits for another
-- writer: dispatch, results, recovery and the importer move the same
-- counters of one campaign at once, and an UPDATE of shared counter rows
-- would queue them behind each other's commits (and, with two transactions
-- moving two counters in opposite orders, deadlock them). Compaction folds
-- a campaign's rows into one per counter: the triggers do it for about one
-- statement in 64, under a try-lock, so that a
-- campaign keeps a few hundred rows at most and no writer ever waits on it.
--
-- Counter names (value: a count of rows unless said):
--   leads                        leads
--   leads.status.<lead_status>   leads per status
--   leads.outcome.<lead_outcome> leads per outcome
--   leads.attempts.<n>           leads with n attempts (the histogram)
--   leads.invalid                leads with an invalid number
--   leads.secondary              secondary contacts
--   leads.goal_achieved          leads whose goal_result is true
--   leads.callable               leads the dispatcher takes once the campaign
--                                runs (lead_callable below)
--   calls                        calls (dial jobs, skipped ones included)
--   calls.status.<call_status>   calls per status
--   calls.answered_by.<answered_by>  calls per answerer
--   calls.duration_s             sum of duration_s (talk time)
--   calls.cost_minor             sum of cost_minor (spend)

CREATE TABLE campaign_counter (
    campaign_id uuid NOT NULL REFERENCES campaign (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (name <> ''),
    value bigint NOT NULL
);
CREATE INDEX campaign_counter_campaign_idx ON campaign_counter (campaign_id);

-- A lead the dispatcher takes once the campaign runs (created with a due
-- time, or rescheduled; invalid numbers and waiting secondaries are not),
-- for the counter leads.callable and lib/campaign/reopen.c's queries.
-- IMMUTABLE SQL: the planner inlines it, so a query's plan is that of the
-- predicate written out.
CREATE FUNCTION lead_callable(invalid_reason text, status lead_status,
                              next_attempt_at timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT invalid_reason IS NULL
       AND (status = 'rescheduled' OR (status = 'created' AND next_attempt_at IS NOT NULL))
$$;

-- The text of a query (campaign_id, name, value) of the counters moved by
-- the rows of `source`, a query over lead (or call, per `tbl`) rows with a
-- leading column sign (1: the row counts, -1: it no longer does). The rows
-- are grouped first and the few groups named after (a null name or value:
-- a counter the group does not move), so that a COPY of a million leads
-- costs one hash aggregation. The triggers and the recount both run it:
-- one definition of what each counter counts.
CREATE FUNCTION campaign_counter_query(tbl text, source text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF tbl = 'lead' THEN
        RETURN format($q$
            SELECT g.campaign_id, k.name, sum(k.value)::bigint AS value FROM (
                SELECT r.campaign_id, r.status, r.outcome, r.attempts,
                       r.invalid_reason IS NOT NULL AS invalid,
                       r.parent_lead_id IS NOT NULL AS secondary,
                       coalesce(r.goal_result, false) AS goal,
                       lead_callable(r.invalid_reason, r.status, r.next_attempt_at) AS callable,
                       sum(r.sign)::bigint AS n
                FROM (%s) r GROUP BY 1, 2, 3, 4, 5, 6, 7, 8) g
            CROSS JOIN LATERAL (VALUES
                ('leads', g.n),
                ('leads.status.' || g.status::text, g.n),
                ('leads.outcome.' || g.outcome::text, g.n),
                ('leads.attempts.' || g.attempts::text, g.n),
                ('leads.invalid', CASE WHEN g.invalid THEN g.n END),
                ('leads.secondary', CASE WHEN g.secondary THEN g.n END),
                ('leads.goal_achieved', CASE WHEN g.goal THEN g.n END),
                ('leads.callable', CASE WHEN g.callable THEN g.n END)) k (name, value)
            WHERE k.name IS NOT NULL AND k.value IS NOT NULL
            GROUP BY 1, 2$q$, source);
    ELSIF tbl = 'call' THEN
        RETURN format($q$
            SELECT g.campaign_id, k.name, sum(k.value)::bigint AS value FROM (
                SELECT r.campaign_id, r.status, r.answered_by, sum(r.sign)::bigint AS n,
                       sum(r.sign * coalesce(r.cost_minor, 0))::bigint AS cost_minor,
                       sum(r.sign * coalesce(r.duration_s, 0))::bigint AS duration_s
                FROM (%s) r GROUP BY 1, 2, 3) g
            CROSS JOIN LATERAL (VALUES
                ('calls', g.n),
                ('calls.status.' || g.status::text, g.n),
                ('calls.answered_by.' || g.answered_by::text, g.n),
                ('calls.cost_minor', g.cost_minor),
                ('calls.duration_s', g.duration_s)) k (name, value)
            WHERE k.name IS NOT NULL AND k.value IS NOT NULL
            GROUP BY 1, 2$q$, source);
    END IF;
    RAISE EXCEPTION 'campaign_counter_query: no counters of table %', tbl;
END
$$;

-- Folds a campaign's counter rows into one per counter (zeros dropped),
-- unless another transaction is folding them (then nothing: that one
-- does it). The lock is the transaction's: a later compaction in another
-- transaction takes a new snapshot and sees this one's rows.
CREATE FUNCTION campaign_counter_compact(campaign uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- 1129270 ('COUNTER' on a phone keypad): this lock's class; the
    -- importer's advisory locks use other classes.
    IF NOT pg_try_advisory_xact_lock(1129270, hashtext(campaign::text)) THEN
        RETURN;
    END IF;
    WITH gone AS (DELETE FROM campaign_counter WHERE campaign_id = campaign
                  RETURNING name, value)
    INSERT INTO campaign_counter (campaign_id, name, value)
    SELECT campaign, name, sum(value) FROM gone GROUP BY name HAVING sum(value) <> 0;
END
$$;

-- The statement-level triggers of lead and call, one function per table
-- and event (a trigger with transition tables takes one event): each
-- appends the statement's deltas from its transition tables, in the
-- statement's transaction. A campaign being deleted in this transaction
-- gets none (its counters go with it). One statement in 64 then compacts
-- the campaigns it moved: often enough that a read sums a few hundred rows
-- at most, seldom enough that its cost (about a millisecond) is noise.
-- The bodies are written here from campaign_counter_query, so that each
-- holds static SQL, planned once per session, not once per statement.
DO $do$
DECLARE
    tbl text;
    op text;
    source text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['lead', 'call'] LOOP
        FOREACH op IN ARRAY ARRAY['insert', 'update', 'delete'] LOOP
            source := CASE op
                WHEN 'insert' THEN 'SELECT 1 AS sign, * FROM new_rows'
                WHEN 'delete' THEN 'SELECT -1 AS sign, * FROM old_rows'
                ELSE 'SELECT 1 AS sign, * FROM new_rows UNION ALL SELECT -1, * FROM old_rows'
            END;
            EXECUTE format($f$
                CREATE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS $body$
                BEGIN
                    INSERT INTO campaign_counter (campaign_id, name, value)
                    SELECT d.campaign_id, d.name, d.value FROM (%s) d
                    WHERE d.value <> 0
                      AND EXISTS (SELECT 1 FROM campaign c WHERE c.id = d.campaign_id);
                    IF random() < 1.0 / 64 THEN
                        PERFORM campaign_counter_compact(m.campaign_id)
                        FROM (SELECT DISTINCT r.campaign_id FROM (%s) r) m;
                    END IF;
                    RETURN NULL;
                END
                $body$$f$,
                tbl || '_counter_' || op, campaign_counter_query(tbl, source), source);
            EXECUTE format($t$
                CREATE TRIGGER %I AFTER %s ON %I REFERENCING %s
                FOR EACH STATEMENT EXECUTE FUNCTION %I()$t$,
                tbl || '_counter_' || op, upper(op), tbl,
                CASE op
                    WHEN 'insert' THEN 'NEW TABLE AS new_rows'
                    WHEN 'delete' THEN 'OLD TABLE AS old_rows'
                    ELSE 'OLD TABLE AS old_rows NEW TABLE AS new_rows'
                END,
                tbl || '_counter_' || op);
        END LOOP;
    END LOOP;
END
$do$;

-- The counters of a campaign recounted from its lead and call rows, beside
-- the stored ones: one row per counter where they differ (stored or
-- recounted 0 when absent). With fix, the stored counters are replaced by
-- the recount in one statement (the rows deleted are exactly those its
-- snapshot counted; a transaction committing later adds its own deltas on
-- top), and the differences returned are those it repaired. Serialised
-- with compaction by the same lock.
CREATE FUNCTION campaign_counter_recount(campaign uuid, fix boolean DEFAULT false)
RETURNS TABLE (name text, stored bigint, recounted bigint)
LANGUAGE plpgsql AS $$
DECLARE
    recount text := format('%s UNION ALL %s',
        campaign_counter_query('lead',
            format('SELECT 1 AS sign, * FROM lead WHERE campaign_id = %L', campaign)),
        campaign_counter_query('call',
            format('SELECT 1 AS sign, * FROM call WHERE campaign_id = %L', campaign)));
BEGIN
    IF fix THEN
        PERFORM pg_advisory_xact_lock(1129270, hashtext(campaign::text));
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH r AS (%s),
        s AS (SELECT c.name, sum(c.value)::bigint AS value FROM campaign_counter c
              WHERE c.campaign_id = $1 GROUP BY c.name)%s
        SELECT coalesce(s.name, r.name), coalesce(s.value, 0), coalesce(r.value, 0)
        FROM s FULL JOIN r ON r.name = s.name
        WHERE coalesce(s.value, 0) <> coalesce(r.value, 0) ORDER BY 1$q$,
        recount, CASE WHEN fix THEN $f$,
        gone AS (DELETE FROM campaign_counter c WHERE c.campaign_id = $1),
        ins AS (INSERT INTO campaign_counter (campaign_id, name, value)
                SELECT $1, r.name, r.value FROM r WHERE r.value <> 0)$f$ ELSE '' END)
        USING campaign;
END
$$;

-- Campaigns that already have leads and calls start from their recount.
INSERT INTO campaign_counter (campaign_id, name, value)
SELECT c.id, r.name, r.recounted FROM campaign c, campaign_counter_recount(c.id) r;

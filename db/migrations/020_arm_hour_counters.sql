-- 020_arm_hour_counters.sql — the A/B arms' figures and the calls per hour
-- join the campaign counters of 012, moved by the same triggers in the
-- same transaction, so that the stats of a campaign with arms and the
-- dashboard's hourly chart read counters, not the campaign's leads and
-- calls (docs/architecture.md, "Campaign counters").
--
-- New counter names (012 lists the others):
--   arms.<n>.leads          leads given arm n (lead.ab_arm, 0..3)
--   arms.<n>.finished       of them, completed or max_retries
--   arms.<n>.goals          of those, goal_result true
--   arms.<n>.calls          calls of arm n placed (every status but skipped)
--   arms.<n>.answered       calls of arm n answered by a person
--   arms.<n>.spend_minor    sum of cost_minor of arm n's calls
-- and per hour (the counter row's `hour`, null for every other counter):
--   hours.calls             calls, skipped ones included (the hours shown)
--   hours.placed            calls placed (every status but skipped)
--   hours.answered          calls answered by a person
--   hours.goals             calls whose goal_reached is true
-- A call's hour is the UTC hour in which it started (the provider's time),
-- else ended, else was recorded (created_at), as the hourly route has
-- always counted it.

-- call.goal_reached: the campaign's goal variable came back true in the
-- call's post-call variables, judged when the variables were recorded, as
-- the lead's goal_result is. The hourly chart counted goals with the goal
-- variable of the moment, so a goal variable changed while the campaign is
-- paused re-judged every past call; a counter cannot follow that without
-- re-reading the campaign's calls, and a call recorded while the change
-- commits would be judged by one variable in the counters and the other in
-- the recount. Judged once and kept on the row, the counter and its recount
-- read the same value. A row trigger sets it, only for a statement that
-- brings new post-call variables (the terminal event; the WHEN clause
-- keeps the others free of it), so that no writer needs to know.
ALTER TABLE call ADD COLUMN goal_reached boolean NOT NULL DEFAULT false;

CREATE FUNCTION call_goal_judge() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.goal_reached := coalesce(
        (SELECT NEW.post_call_variables -> c.goal_variable = 'true'::jsonb
         FROM campaign c WHERE c.id = NEW.campaign_id), false);
    RETURN NEW;
END
$$;
CREATE TRIGGER call_goal_insert BEFORE INSERT ON call FOR EACH ROW
    WHEN (NEW.post_call_variables IS NOT NULL) EXECUTE FUNCTION call_goal_judge();
CREATE TRIGGER call_goal_update BEFORE UPDATE OF post_call_variables ON call FOR EACH ROW
    WHEN (NEW.post_call_variables IS DISTINCT FROM OLD.post_call_variables)
    EXECUTE FUNCTION call_goal_judge();

-- The calls recorded so far, judged by their campaign's goal variable now
-- (what the hourly chart showed for them).
UPDATE call k SET goal_reached = true FROM campaign c
WHERE c.id = k.campaign_id AND k.post_call_variables -> c.goal_variable = 'true'::jsonb;

-- campaign_counter.hour: the hour of an hourly counter, null for the
-- others. A stats read takes the rows of (campaign, null) and the hourly
-- chart those of (campaign, newest hours) from one index, so neither reads
-- the other's rows.
ALTER TABLE campaign_counter ADD COLUMN hour timestamptz;
DROP INDEX campaign_counter_campaign_idx;
CREATE INDEX campaign_counter_campaign_idx ON campaign_counter (campaign_id, hour);

-- 012's query of the counters moved by `source`, now (campaign_id, hour,
-- name, value): the arms' counters beside the campaign's (a row without an
-- arm names none: 'arms.' || null is null), and the call's hourly ones.
-- Grouped first, as in 012, so a statement's rows cost one aggregation.
CREATE OR REPLACE FUNCTION campaign_counter_query(tbl text, source text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF tbl = 'lead' THEN
        RETURN format($q$
            SELECT g.campaign_id, NULL::timestamptz AS hour, k.name, sum(k.value)::bigint AS value
            FROM (
                SELECT r.campaign_id, r.status, r.outcome, r.attempts,
                       r.invalid_reason IS NOT NULL AS invalid,
                       r.parent_lead_id IS NOT NULL AS secondary,
                       coalesce(r.goal_result, false) AS goal,
                       lead_callable(r.invalid_reason, r.status, r.next_attempt_at) AS callable,
                       r.status IN ('completed', 'max_retries') AS finished,
                       'arms.' || r.ab_arm || '.' AS arm,
                       sum(r.sign)::bigint AS n
                FROM (%s) r GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10) g
            CROSS JOIN LATERAL (VALUES
                ('leads', g.n),
                ('leads.status.' || g.status::text, g.n),
                ('leads.outcome.' || g.outcome::text, g.n),
                ('leads.attempts.' || g.attempts::text, g.n),
                ('leads.invalid', CASE WHEN g.invalid THEN g.n END),
                ('leads.secondary', CASE WHEN g.secondary THEN g.n END),
                ('leads.goal_achieved', CASE WHEN g.goal THEN g.n END),
                ('leads.callable', CASE WHEN g.callable THEN g.n END),
                (g.arm || 'leads', g.n),
                (g.arm || 'finished', CASE WHEN g.finished THEN g.n END),
                (g.arm || 'goals', CASE WHEN g.finished AND g.goal THEN g.n END)) k (name, value)
            WHERE k.name IS NOT NULL AND k.value IS NOT NULL
            GROUP BY 1, 2, 3$q$, source);
    ELSIF tbl = 'call' THEN
        RETURN format($q$
            SELECT g.campaign_id, k.hour, k.name, sum(k.value)::bigint AS value FROM (
                SELECT r.campaign_id, r.status, r.answered_by,
                       'arms.' || r.ab_arm || '.' AS arm,
                       campaign_counter_hour(r.started_at, r.ended_at, r.created_at) AS hour,
                       r.goal_reached AS goal,
                       sum(r.sign)::bigint AS n,
                       sum(r.sign * coalesce(r.cost_minor, 0))::bigint AS cost_minor,
                       sum(r.sign * coalesce(r.duration_s, 0))::bigint AS duration_s
                FROM (%s) r GROUP BY 1, 2, 3, 4, 5, 6) g
            CROSS JOIN LATERAL (VALUES
                (NULL::timestamptz, 'calls', g.n),
                (NULL, 'calls.status.' || g.status::text, g.n),
                (NULL, 'calls.answered_by.' || g.answered_by::text, g.n),
                (NULL, 'calls.cost_minor', g.cost_minor),
                (NULL, 'calls.duration_s', g.duration_s),
                (NULL, g.arm || 'calls', CASE WHEN g.status <> 'skipped' THEN g.n END),
                (NULL, g.arm || 'answered', CASE WHEN g.answered_by = 'human' THEN g.n END),
                (NULL, g.arm || 'spend_minor', g.cost_minor),
                (g.hour, 'hours.calls', g.n),
                (g.hour, 'hours.placed', CASE WHEN g.status <> 'skipped' THEN g.n END),
                (g.hour, 'hours.answered', CASE WHEN g.answered_by = 'human' THEN g.n END),
                (g.hour, 'hours.goals', CASE WHEN g.goal THEN g.n END)) k (hour, name, value)
            WHERE k.name IS NOT NULL AND k.value IS NOT NULL
            GROUP BY 1, 2, 3$q$, source);
    END IF;
    RAISE EXCEPTION 'campaign_counter_query: no counters of table %', tbl;
END
$$;

-- A counter as the recount names it: its name, or for an hourly counter
-- the name with its hour inside ('hours.2026-06-10T17:00Z.placed'), so
-- that a difference says which hour it is in.
CREATE FUNCTION campaign_counter_label(hour timestamptz, name text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN hour IS NULL THEN name
        ELSE 'hours.' || to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":00Z"')
             || substr(name, length('hours') + 1) END
$$;

-- 012's compaction, folding per counter and hour: the campaign's counters
-- and those of the given hours (every hour when `hours` is null). The
-- triggers pass the hours their statement moved, so that a compaction
-- rewrites the few hours being called, not every hour of a campaign that
-- has called for weeks (four rows an hour). An hour left with a few rows
-- costs its reads a few rows; each statement that moves it again may fold
-- it.
CREATE FUNCTION campaign_counter_compact(campaign uuid, hours timestamptz[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- 1129270 ('COUNTER' on a phone keypad): this lock's class (012).
    IF NOT pg_try_advisory_xact_lock(1129270, hashtext(campaign::text)) THEN
        RETURN;
    END IF;
    WITH gone AS (DELETE FROM campaign_counter
                  WHERE campaign_id = campaign
                    AND (hours IS NULL OR hour IS NULL OR hour = ANY (hours))
                  RETURNING hour, name, value)
    INSERT INTO campaign_counter (campaign_id, hour, name, value)
    SELECT campaign, hour, name, sum(value) FROM gone GROUP BY hour, name
    HAVING sum(value) <> 0;
END
$$;

-- Every counter of the campaign (012's contract).
CREATE OR REPLACE FUNCTION campaign_counter_compact(campaign uuid) RETURNS void
LANGUAGE sql AS $$
    SELECT campaign_counter_compact(campaign, NULL::timestamptz[])
$$;

-- The UTC hour in which a call counts (its start, else end, else
-- recording), for campaign_counter_query and the compaction. Written with
-- AT TIME ZONE 'UTC' (immutable), not date_trunc's zone argument (stable),
-- so that the planner inlines it.
CREATE FUNCTION campaign_counter_hour(started_at timestamptz, ended_at timestamptz,
                                      created_at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT date_trunc('hour', coalesce(started_at, ended_at, created_at) AT TIME ZONE 'UTC')
           AT TIME ZONE 'UTC'
$$;

-- 012's trigger functions rewritten from the new query (the triggers stay:
-- they call the functions by name); the compaction folds the campaign's
-- counters and the hours the statement moved (none for lead).
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
                CREATE OR REPLACE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS $body$
                BEGIN
                    INSERT INTO campaign_counter (campaign_id, hour, name, value)
                    SELECT d.campaign_id, d.hour, d.name, d.value FROM (%s) d
                    WHERE d.value <> 0
                      AND EXISTS (SELECT 1 FROM campaign c WHERE c.id = d.campaign_id);
                    IF random() < 1.0 / 64 THEN
                        PERFORM campaign_counter_compact(m.campaign_id, m.hours)
                        FROM (SELECT r.campaign_id, %s AS hours FROM (%s) r GROUP BY 1) m;
                    END IF;
                    RETURN NULL;
                END
                $body$$f$,
                tbl || '_counter_' || op, campaign_counter_query(tbl, source),
                CASE tbl
                    WHEN 'call' THEN 'array_agg(DISTINCT campaign_counter_hour(r.started_at,'
                        ' r.ended_at, r.created_at))'
                    ELSE '''{}''::timestamptz[]'
                END, source);
        END LOOP;
    END LOOP;
END
$do$;

-- 012's recount, comparing per counter and hour and naming each
-- difference with campaign_counter_label. Same contract.
CREATE OR REPLACE FUNCTION campaign_counter_recount(campaign uuid, fix boolean DEFAULT false)
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
        s AS (SELECT c.hour, c.name, sum(c.value)::bigint AS value FROM campaign_counter c
              WHERE c.campaign_id = $1 GROUP BY c.hour, c.name)%s
        SELECT campaign_counter_label(coalesce(s.hour, r.hour), coalesce(s.name, r.name)),
               coalesce(s.value, 0), coalesce(r.value, 0)
        FROM s FULL JOIN r ON r.name = s.name
            AND coalesce(r.hour, '-infinity') = coalesce(s.hour, '-infinity')
        WHERE coalesce(s.value, 0) <> coalesce(r.value, 0) ORDER BY 1$q$,
        recount, CASE WHEN fix THEN $f$,
        gone AS (DELETE FROM campaign_counter c WHERE c.campaign_id = $1),
        ins AS (INSERT INTO campaign_counter (campaign_id, hour, name, value)
                SELECT $1, r.hour, r.name, r.value FROM r WHERE r.value <> 0)$f$ ELSE '' END)
        USING campaign;
END
$$;

-- Every campaign's counters rebuilt from its recount: the arms' and hours'
-- counters start from the rows, the others are unchanged (they equal it).
SELECT count(*) FROM campaign c, campaign_counter_recount(c.id, true);

-- 021_caller_id_counters.sql — the caller-ID pool's figures per number
-- (the stats' "caller_ids", migration 019) join the campaign counters of
-- 012 and 020, moved by the same triggers in the same transaction, so that
-- the stats and their live stream read counters, not the campaign's calls
-- (docs/architecture.md, "Campaign counters"). And two costs of applying a
-- call event taken back (020 made it about a tenth slower; bench/RESULTS.md):
-- call.goal_reached is set by the results step's own call statements, not
-- by a row trigger, and an UPDATE that changes nothing the counters read
-- appends nothing and groups nothing.
--
-- New counter names (012 and 020 list the others), per number a call came
-- from (call.caller_id, E.164; a call without one moves none):
--   caller_ids.<e164>.calls     calls placed (every status but skipped)
--   caller_ids.<e164>.answered  calls answered by a person
--   caller_ids.<e164>.skipped   skipped calls (so that a number whose only
--                               calls were skipped is listed, with 0 calls,
--                               as the stats have always listed it)
-- Moved for every campaign; the stats show them for a campaign whose
-- strategy picks from a pool (not 'single'), as before.

-- 020's query with the numbers' counters (the call's caller_id joins the
-- grouping; 'caller_ids.' || null is null, so a call without one names
-- none). Unchanged otherwise.
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
                       'caller_ids.' || r.caller_id || '.' AS caller,
                       sum(r.sign)::bigint AS n,
                       sum(r.sign * coalesce(r.cost_minor, 0))::bigint AS cost_minor,
                       sum(r.sign * coalesce(r.duration_s, 0))::bigint AS duration_s
                FROM (%s) r GROUP BY 1, 2, 3, 4, 5, 6, 7) g
            CROSS JOIN LATERAL (VALUES
                (NULL::timestamptz, 'calls', g.n),
                (NULL, 'calls.status.' || g.status::text, g.n),
                (NULL, 'calls.answered_by.' || g.answered_by::text, g.n),
                (NULL, 'calls.cost_minor', g.cost_minor),
                (NULL, 'calls.duration_s', g.duration_s),
                (NULL, g.arm || 'calls', CASE WHEN g.status <> 'skipped' THEN g.n END),
                (NULL, g.arm || 'answered', CASE WHEN g.answered_by = 'human' THEN g.n END),
                (NULL, g.arm || 'spend_minor', g.cost_minor),
                (NULL, g.caller || 'calls', CASE WHEN g.status <> 'skipped' THEN g.n END),
                (NULL, g.caller || 'answered', CASE WHEN g.answered_by = 'human' THEN g.n END),
                (NULL, g.caller || 'skipped', CASE WHEN g.status = 'skipped' THEN g.n END),
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

-- What of a row the counters read: every expression campaign_counter_query
-- groups or sums, over the row `r`. An UPDATE whose rows keep all of them
-- (as a multiset: the new rows' values less the old rows' leave nothing)
-- moves no counter: its deltas, grouped, would all be 0, and the trigger
-- returns before grouping them. The results step's charge (charged_at
-- only) is one: applying a charged call event makes it besides its call
-- and lead writes, which move counters. A column missing here would lose
-- the deltas of an update changing only it; integration.stats_counters
-- recounts after each kind of update.
CREATE FUNCTION campaign_counter_columns(tbl text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF tbl = 'lead' THEN
        RETURN 'r.campaign_id, r.status, r.outcome, r.attempts,'
            ' r.invalid_reason IS NOT NULL, r.parent_lead_id IS NOT NULL,'
            ' coalesce(r.goal_result, false),'
            ' lead_callable(r.invalid_reason, r.status, r.next_attempt_at), r.ab_arm';
    ELSIF tbl = 'call' THEN
        RETURN 'r.campaign_id, r.status, r.answered_by, r.ab_arm,'
            ' campaign_counter_hour(r.started_at, r.ended_at, r.created_at), r.goal_reached,'
            ' r.caller_id, coalesce(r.cost_minor, 0), coalesce(r.duration_s, 0)';
    END IF;
    RAISE EXCEPTION 'campaign_counter_columns: no counters of table %', tbl;
END
$$;

-- 020's trigger functions rewritten from the new query (their bodies hold
-- the query's text; the triggers call them by name), the update's
-- returning first when its rows keep what the counters read (above).
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
                BEGIN%s
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
                tbl || '_counter_' || op,
                CASE op WHEN 'update' THEN format($x$
                    IF NOT EXISTS (SELECT %1$s FROM new_rows r
                                   EXCEPT ALL SELECT %1$s FROM old_rows r) THEN
                        RETURN NULL;
                    END IF;$x$, campaign_counter_columns(tbl)) ELSE '' END,
                campaign_counter_query(tbl, source),
                CASE tbl
                    WHEN 'call' THEN 'array_agg(DISTINCT campaign_counter_hour(r.started_at,'
                        ' r.ended_at, r.created_at))'
                    ELSE '''{}''::timestamptz[]'
                END, source);
        END LOOP;
    END LOOP;
END
$do$;

-- call.goal_reached (020) is set where the post-call variables are written:
-- the results step's call insert and update (services/scheduler/results.c)
-- judge it with the same expression the row trigger used, in the same
-- statement, so that applying a call event runs no row trigger. The
-- results step is the only writer of post-call variables; another writer
-- sets goal_reached with them.
DROP TRIGGER call_goal_insert ON call;
DROP TRIGGER call_goal_update ON call;
DROP FUNCTION call_goal_judge();

-- Every campaign's counters rebuilt from its recount: the numbers'
-- counters start from the calls, the others are unchanged (they equal it).
SELECT count(*) FROM campaign c, campaign_counter_recount(c.id, true);

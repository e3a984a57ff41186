-- 005_in_flight_indexes.sql — recovery's indexes per status, so that the
-- planner cannot use them for dispatch's in-flight count.

-- Dispatch counts a campaign's leads in flight (sched_campaign.c):
--   campaign_id = $1 AND status IN ('scheduled', 'processing')
-- 001's lead_in_flight_idx (status_changed_at) WHERE status IN ('scheduled',
-- 'processing') matches that predicate too. With statistics taken while few
-- or no leads were in flight (a campaign just started, the usual case: in
-- flight is a small share of all leads), the planner prefers that small
-- partial index and filters it by campaign: every count then reads every
-- lead in flight of every campaign, and one pass over N running campaigns
-- costs O(N x leads in flight). Measured: 37 ms per campaign at 1,000
-- campaigns (bench/RESULTS.md). lead_campaign_status_idx answers the count
-- from the campaign's own entries.
--
-- Recovery, the only user of lead_in_flight_idx, looks at one status at a
-- time (status = 'scheduled' ... ORDER BY status_changed_at, and the same for
-- 'processing'), so one partial index per status serves it as before, and
-- neither can answer the count's IN list. Same entries, same write cost.
DROP INDEX lead_in_flight_idx;
CREATE INDEX lead_scheduled_since_idx ON lead (status_changed_at) WHERE status = 'scheduled';
CREATE INDEX lead_processing_since_idx ON lead (status_changed_at) WHERE status = 'processing';

-- 007: a window whose start equals its end is the whole day.
--
-- lib/rules/window.h reads equal times as 24 hours from the start, and
-- docs/rules.md says so, but 001 refused them in the schema as ambiguous,
-- so that 00:00-24:00 (stored 0, 0) could not be saved. The campaign window
-- and the account's quiet hours (the hours calls are permitted) both accept
-- it now; the API reads "24:00" as an end at midnight and writes it back so.
ALTER TABLE campaign DROP CONSTRAINT campaign_window_not_empty;
ALTER TABLE account DROP CONSTRAINT account_quiet_hours_not_empty;

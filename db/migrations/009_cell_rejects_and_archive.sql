-- 009: rejected cells of imported rows, and archived campaigns.

-- A CSV row whose primary number is valid but one of whose secondary phones
-- is not is imported without that number (a bad optional cell never costs
-- the user a valid lead); the cell is reported in import_reject with its
-- column. column_number is the cell's 1-based column, 0 for a row rejected
-- as a whole; column_name its header (null for a whole row). A row has
-- either one whole-row reject or any number of cell rejects, so the key
-- becomes (import_id, row_number, column_number) and a page of rejects
-- goes on after (row_number, column_number).
ALTER TABLE import_reject
    ADD COLUMN column_number integer NOT NULL DEFAULT 0
        CHECK (column_number BETWEEN 0 AND 1000),
    ADD COLUMN column_name text,
    ADD CONSTRAINT import_reject_column_name_of_cell CHECK (
        (column_number = 0) = (column_name IS NULL));
ALTER TABLE import_reject DROP CONSTRAINT import_reject_pkey;
ALTER TABLE import_reject ADD PRIMARY KEY (import_id, row_number, column_number);

-- Secondary phone cells left out of imported rows (each also an
-- import_reject with its column). Cells, not rows: those rows are counted
-- in rows_imported (or duplicate, dnc) as before.
ALTER TABLE import ADD COLUMN secondary_phones_rejected integer NOT NULL DEFAULT 0
    CHECK (secondary_phones_rejected >= 0);

-- An archived campaign is a completed one put away: hidden from the
-- campaign list unless asked for, every row of it (leads, calls, imports)
-- kept and readable by id, and nothing about it can change any more.
ALTER TABLE campaign ADD COLUMN archived_at timestamptz,
    ADD CONSTRAINT campaign_archived_only_when_completed CHECK (
        archived_at IS NULL OR status = 'completed');

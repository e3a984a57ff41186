-- 003_import.sql — what the importer needs beyond 001 (docs/import.md).

-- A rejected row's reason as a stable code (missing_phone, invalid_number,
-- bad_encoding, ...; docs/import.md lists them all) next to the sentence
-- for people in `reason`. Programs (the API, outdialctl) group by the code.
ALTER TABLE import_reject ADD COLUMN code text NOT NULL DEFAULT 'rejected'
    CHECK (code ~ '^[a-z][a-z0-9_]*$');

-- The resume point, together with bytes_done (the stream offset just after
-- that row). Both advance in the same transaction as the leads and rejects
-- of the rows before them, so an importer killed at any moment resumes
-- exactly there. Row numbers count blank rows (as a spreadsheet shows
-- them), so this is not rows_read.
ALTER TABLE import ADD COLUMN row_number_done integer NOT NULL DEFAULT 0
    CHECK (row_number_done >= 0);

-- The file's header row as comma-separated CSV text, written when the
-- import starts; the rejected-rows download repeats it.
ALTER TABLE import ADD COLUMN header text;

-- Staged uploads are kept only until their import finishes: stored out of
-- line without compression, which costs disk space for minutes and saves
-- compressing and decompressing every byte of every upload.
ALTER TABLE import_staging ALTER COLUMN chunk SET STORAGE EXTERNAL;

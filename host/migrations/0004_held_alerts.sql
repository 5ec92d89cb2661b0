-- The alert a time-window digest holds, as JSON (`StoredAlert`), so the
-- digest goes through the template formatter's `format-digest` when its
-- window closes, after a restart too. NULL for every other row.
ALTER TABLE deliveries ADD COLUMN alert TEXT;

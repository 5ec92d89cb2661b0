-- What "why" answers from (`GET /v1/alerts/{id}/why`): the bounded reason
-- code metrics label, who decided (`policy`, `default`, `elsewhere`), and
-- the key's history as the policy saw it (JSON, `alert::History`). NULL for
-- rows written before this migration.
ALTER TABLE alert_log ADD COLUMN reason_code TEXT;
ALTER TABLE alert_log ADD COLUMN decided_by TEXT;
ALTER TABLE alert_log ADD COLUMN history TEXT;

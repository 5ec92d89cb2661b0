-- The alert log: one row per decided alert, fired or suppressed.
--
-- This file runs unchanged on SQLite and Postgres (the host talks to both
-- through sqlx's `Any` driver), so it sticks to types both understand and the
-- `Any` driver can decode: TEXT, BIGINT, DOUBLE PRECISION, BOOLEAN. Times are
-- unix milliseconds in BIGINT columns rather than TIMESTAMPTZ, which `Any`
-- cannot decode and SQLite does not have.
CREATE TABLE IF NOT EXISTS alert_log (
    -- `AlertId`: hash of template, alert key and event id, so replaying the
    -- same input writes nothing new (`ON CONFLICT (id) DO NOTHING`).
    id               TEXT PRIMARY KEY,
    template         TEXT NOT NULL,
    alert_key        TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('fired', 'suppressed')),
    -- The cooldown policy's reason; NULL when fired.
    reason           TEXT,
    severity         TEXT NOT NULL,
    -- NULL when the filter reported a NaN (SQLite cannot store NaN).
    value            DOUBLE PRECISION,
    title            TEXT NOT NULL,
    -- JSON object of the alert's message fields, in the filter's order.
    fields           TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    venue            TEXT NOT NULL,
    symbol           TEXT NOT NULL,
    kind             TEXT NOT NULL,
    exchange_time_ms BIGINT NOT NULL,
    decided_at_ms    BIGINT NOT NULL,
    -- Set later for alerts whose event was reorged out of the chain.
    retracted        BOOLEAN NOT NULL DEFAULT FALSE,
    -- Host wall clock when the row was written.
    created_at_ms    BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS alert_log_decided_at ON alert_log (decided_at_ms);
CREATE INDEX IF NOT EXISTS alert_log_template_key ON alert_log (template, alert_key, decided_at_ms);
-- Reorg handling looks alerts up by the event that raised them.
CREATE INDEX IF NOT EXISTS alert_log_event ON alert_log (event_id);

-- The outbox: one row per (fired alert, channel), written before any send.
--
-- Same rules as 0001: runs unchanged on SQLite and Postgres, types `Any`
-- can decode, times in unix ms.
CREATE TABLE IF NOT EXISTS deliveries (
    -- Stable delivery id: hash of alert id and channel (and the action), so
    -- the same alert never gets two rows for one channel. Sent as the
    -- idempotency key (`webhook-id`, PagerDuty `custom_details`).
    id            TEXT PRIMARY KEY,
    alert_id      TEXT NOT NULL,
    channel       TEXT NOT NULL,
    -- `trigger` (a fired alert) or `resolve` (its event was retracted).
    action        TEXT NOT NULL,
    template      TEXT NOT NULL,
    alert_key     TEXT NOT NULL,
    severity      TEXT NOT NULL,
    -- The formatted message, so a restart or a resend needs no plugin.
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    markup        TEXT NOT NULL,
    -- JSON array of [name, value] pairs, in the filter's order.
    fields        TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    event_time_ms BIGINT NOT NULL,
    -- JSON: the filter/cooldown/formatter versions, sent as metadata.
    versions      TEXT NOT NULL,
    -- 1 when the channel's sink can take an alert back (PagerDuty).
    resolvable    BIGINT NOT NULL,
    -- `held`: over its owner's cap; released as one digest at `hold_until`.
    status        TEXT NOT NULL CHECK (status IN ('pending', 'failed', 'sent', 'dead', 'held')),
    hold_until    BIGINT,
    -- Failed attempts so far (throttling is not counted).
    attempts      BIGINT NOT NULL,
    last_error    TEXT,
    -- The service's message id, when it returns one.
    message_id    TEXT,
    -- Set when this alert went out folded into another delivery's message.
    folded_into   TEXT,
    -- Queue order within a channel.
    seq           BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries (channel, status, seq);
CREATE INDEX IF NOT EXISTS deliveries_alert ON deliveries (alert_id);
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries (event_id);

//! The outbox: the `deliveries` table of the alert log.
//!
//! A fired alert gets one row per channel, `pending`, before anything is
//! sent; the channel's delivery loop (`crate::deliver`) reads its queue from
//! here, oldest first, and moves each row to `sent`, `failed` (will retry)
//! or `dead` (budget spent, or refused for good). Because the queue is read
//! from the table, a backlog lives on disk, and a restart resumes it.
//! Nothing here sends anything.

use std::sync::atomic::{AtomicI64, Ordering};

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{AlertLog, StoreError, bound, record, to_i64};
use crate::alert::{Delivery, Markup};
use crate::clock::{Clock, SystemClock};
use crate::sinks::remote::{Action, Outgoing};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeliveryStatus {
    Pending,
    Failed,
    Sent,
    Dead,
    /// Over its owner's cap, waiting for the window's digest.
    Held,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Dead => "dead",
            DeliveryStatus::Held => "held",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Failed,
            DeliveryStatus::Sent,
            DeliveryStatus::Dead,
            DeliveryStatus::Held,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// One row of `deliveries`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub out: Outgoing,
    pub channel: String,
    pub event_id: String,
    pub resolvable: bool,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub message_id: Option<String>,
    pub folded_into: Option<String>,
    /// When a `held` row is released (unix ms).
    pub hold_until: Option<u64>,
    /// The alert itself (`StoredAlert` JSON), kept only while a
    /// time-window digest holds the row, for the formatter's `format-digest`.
    pub alert: Option<String>,
    pub seq: i64,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
}

/// The stable id of `alert_id`'s delivery to `channel` (`action` other than
/// trigger gets its own id, so a resolve is a row of its own).
pub fn delivery_id(alert_id: &str, channel: &str, action: Action) -> String {
    let mut h = Sha256::new();
    for part in [alert_id, channel, if action == Action::Trigger { "" } else { action.as_str() }] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

/// Queue order: unix µs, strictly increasing within this process.
fn next_seq() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = to_i64(SystemClock.now_ms()) * 1000;
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

pub fn markup_str(m: Markup) -> &'static str {
    match m {
        Markup::Plain => "plain",
        Markup::MarkdownV2 => "markdown-v2",
        Markup::Markdown => "markdown",
        Markup::Html => "html",
    }
}

fn parse_markup(s: &str) -> Option<Markup> {
    [Markup::Plain, Markup::MarkdownV2, Markup::Markdown, Markup::Html]
        .into_iter()
        .find(|m| markup_str(*m) == s)
}

impl DeliveryRecord {
    /// The pending row for `delivery` on `channel`, its keys and texts
    /// bounded (`bound.rs`) as the alert's own row is.
    pub fn pending(delivery: &Delivery, channel: &str, resolvable: bool) -> DeliveryRecord {
        let a = &delivery.alert;
        let now = SystemClock.now_ms();
        DeliveryRecord {
            out: Outgoing {
                delivery_id: delivery_id(&a.id.0, channel, Action::Trigger),
                alert_id: a.id.0.clone(),
                template: bound::clean(a.template.as_str()).into_owned(),
                alert_key: bound::key(&a.key).into_owned(),
                severity: a.severity,
                action: Action::Trigger,
                title: bound::text(&delivery.message.title, bound::MAX_TITLE_BYTES).into_owned(),
                body: bound::text(&delivery.message.body, bound::MAX_BODY_BYTES).into_owned(),
                markup: delivery.message.markup,
                fields: bound::fields(&a.fields),
                event_time_ms: a.event.exchange_time_ms,
                alerts: 1,
                versions: (*a.versions).clone(),
            },
            channel: channel.to_owned(),
            event_id: bound::key(&a.event.id).into_owned(),
            resolvable,
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_error: None,
            message_id: None,
            folded_into: None,
            hold_until: None,
            alert: None,
            seq: next_seq(),
            created_at_ms: now,
            updated_at_ms: now,
        }
    }

    /// The alert kept with a held row, if it has one that reads back.
    pub fn stored_alert(&self) -> Option<crate::alert::StoredAlert> {
        serde_json::from_str(self.alert.as_deref()?).ok()
    }
}

const COLUMNS: &str = "id, alert_id, channel, action, template, alert_key, severity, title, body, \
    markup, fields, event_id, event_time_ms, versions, resolvable, status, attempts, last_error, message_id, \
    folded_into, hold_until, seq, created_at_ms, updated_at_ms, alert";

/// Which deliveries [`AlertLog::deliveries`] lists.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub status: Option<DeliveryStatus>,
    pub channel: Option<String>,
    pub alert_id: Option<String>,
    pub event_id: Option<String>,
    pub limit: Option<u32>,
}

impl AlertLog {
    /// Add rows, skipping ids already present; returns the rows added.
    /// One transaction, one prepared insert per row.
    pub async fn enqueue(&self, rows: &[DeliveryRecord]) -> Result<u64, StoreError> {
        self.enqueue_with_alerts(&[], rows).await.map(|(_, added)| added)
    }

    /// Write `alerts` to the alert log and `rows` to the outbox in one
    /// transaction: a fired alert is never in the log without its
    /// deliveries, nor the other way round. (The batched writer later finds
    /// these alerts present and skips them as duplicates.)
    pub async fn enqueue_with_alerts(
        &self,
        alerts: &[super::AlertRecord],
        rows: &[DeliveryRecord],
    ) -> Result<(super::Written, u64), StoreError> {
        let sql = format!(
            "INSERT INTO deliveries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25) ON CONFLICT (id) DO NOTHING"
        );
        let mut tx =
            self.pool.begin().await.map_err(self.query_error("beginning a transaction"))?;
        let written = self.insert_alerts(&mut tx, alerts).await?;
        let mut added = 0;
        for r in rows {
            let o = &r.out;
            let fields = serde_json::to_string(&o.fields).expect("string pairs serialize");
            let done = sqlx::query(&sql)
                .bind(o.delivery_id.as_str())
                .bind(o.alert_id.as_str())
                .bind(r.channel.as_str())
                .bind(o.action.as_str())
                .bind(o.template.as_str())
                .bind(o.alert_key.as_str())
                .bind(o.severity.as_str())
                .bind(o.title.as_str())
                .bind(o.body.as_str())
                .bind(markup_str(o.markup))
                .bind(fields)
                .bind(r.event_id.as_str())
                .bind(to_i64(o.event_time_ms))
                .bind(serde_json::to_string(&o.versions).expect("strings serialize"))
                .bind(i64::from(r.resolvable))
                .bind(r.status.as_str())
                .bind(i64::from(r.attempts))
                .bind(r.last_error.as_deref())
                .bind(r.message_id.as_deref())
                .bind(r.folded_into.as_deref())
                .bind(r.hold_until.map(to_i64))
                .bind(r.seq)
                .bind(to_i64(r.created_at_ms))
                .bind(to_i64(r.updated_at_ms))
                .bind(r.alert.as_deref())
                .execute(&mut *tx)
                .await
                .map_err(self.query_error("queueing deliveries"))?;
            added += done.rows_affected();
        }
        tx.commit().await.map_err(self.query_error("committing deliveries"))?;
        Ok((written, added))
    }

    /// The next `limit` deliveries of `channel` still to send, oldest first.
    pub async fn due(&self, channel: &str, limit: u32) -> Result<Vec<DeliveryRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM deliveries WHERE channel = $1 AND status IN ('pending', 'failed') \
             ORDER BY seq, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(channel)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error("reading the outbox"))?;
        rows.iter().map(|r| self.decode_delivery(r)).collect()
    }

    /// Held rows of `channel` whose window ended by `now_ms`, oldest first.
    pub async fn released(
        &self,
        channel: &str,
        now_ms: u64,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM deliveries WHERE channel = $1 AND status = 'held' \
             AND hold_until <= $2 ORDER BY seq, id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(channel)
            .bind(to_i64(now_ms))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error("reading held deliveries"))?;
        rows.iter().map(|r| self.decode_delivery(r)).collect()
    }

    /// Record an attempt's result for `ids` (one message may carry several).
    pub async fn mark(
        &self,
        ids: &[String],
        status: DeliveryStatus,
        attempts: u32,
        error: Option<&str>,
        message_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = to_i64(SystemClock.now_ms());
        let first = ids.first().map(String::as_str);
        let mut tx =
            self.pool.begin().await.map_err(self.query_error("beginning a transaction"))?;
        for id in ids {
            let folded = (Some(id.as_str()) != first).then_some(first).flatten();
            sqlx::query(
                "UPDATE deliveries SET status = $1, attempts = $2, last_error = $3, \
                 message_id = COALESCE($4, message_id), folded_into = $5, updated_at_ms = $6, \
                 alert = CASE WHEN $1 = 'sent' THEN NULL ELSE alert END \
                 WHERE id = $7 AND status <> 'sent'",
            )
            .bind(status.as_str())
            .bind(i64::from(attempts))
            .bind(error)
            .bind(message_id)
            .bind(folded)
            .bind(now)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(self.query_error("recording a delivery attempt"))?;
        }
        tx.commit().await.map_err(self.query_error("committing a delivery attempt"))?;
        Ok(())
    }

    /// Deliveries matching `q`, newest first.
    pub async fn deliveries(&self, q: &DeliveryQuery) -> Result<Vec<DeliveryRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM deliveries WHERE ($1 IS NULL OR status = $1) \
             AND ($2 IS NULL OR channel = $2) AND ($3 IS NULL OR alert_id = $3) \
             AND ($4 IS NULL OR event_id = $4) ORDER BY seq DESC, id LIMIT $5"
        );
        // Event ids are stored bounded; look them up the same way.
        let event_id = q.event_id.as_deref().map(|e| bound::key(e).into_owned());
        let rows = sqlx::query(&sql)
            .bind(q.status.map(DeliveryStatus::as_str))
            .bind(q.channel.as_deref())
            .bind(q.alert_id.as_deref())
            .bind(event_id.as_deref())
            .bind(i64::from(q.limit.unwrap_or(u32::MAX >> 1)))
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error("listing deliveries"))?;
        rows.iter().map(|r| self.decode_delivery(r)).collect()
    }

    /// Put dead deliveries back in their queue: those with `ids` (delivery or
    /// alert ids), or all of them when `ids` is empty; only on `channel` if
    /// given. Returns the rows requeued.
    pub async fn resend(&self, ids: &[String], channel: Option<&str>) -> Result<u64, StoreError> {
        let now = to_i64(SystemClock.now_ms());
        let sql = "UPDATE deliveries SET status = 'pending', attempts = 0, updated_at_ms = $1 \
                   WHERE status = 'dead' AND ($2 IS NULL OR channel = $2) \
                   AND ($3 IS NULL OR id = $3 OR alert_id = $3)";
        let mut n = 0;
        let targets: Vec<Option<&str>> = match ids {
            [] => vec![None],
            ids => ids.iter().map(|s| Some(s.as_str())).collect(),
        };
        for id in targets {
            let done = sqlx::query(sql)
                .bind(now)
                .bind(channel)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(self.query_error("requeueing dead deliveries"))?;
            n += done.rows_affected();
        }
        Ok(n)
    }

    /// Queue a `resolve` behind every trigger of `event_id` on a channel
    /// that can take an alert back; returns the rows queued.
    pub async fn enqueue_resolves(&self, event_id: &str) -> Result<u64, StoreError> {
        let triggers = self
            .deliveries(&DeliveryQuery {
                event_id: Some(event_id.to_owned()),
                ..Default::default()
            })
            .await?
            .into_iter()
            .rev()
            .filter(|d| d.resolvable && d.out.action == Action::Trigger);
        let now = SystemClock.now_ms();
        let rows: Vec<DeliveryRecord> = triggers
            .map(|mut d| {
                d.out.action = Action::Resolve;
                d.out.delivery_id = delivery_id(&d.out.alert_id, &d.channel, Action::Resolve);
                DeliveryRecord {
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    last_error: None,
                    message_id: None,
                    folded_into: None,
                    hold_until: None,
                    alert: None,
                    seq: next_seq(),
                    created_at_ms: now,
                    updated_at_ms: now,
                    ..d
                }
            })
            .collect();
        self.enqueue(&rows).await
    }

    fn decode_delivery(&self, row: &sqlx::any::AnyRow) -> Result<DeliveryRecord, StoreError> {
        let text = |c: &'static str| -> Result<String, StoreError> {
            row.try_get(c).map_err(self.query_error(&format!("reading `{c}`")))
        };
        let opt = |c: &'static str| -> Result<Option<String>, StoreError> {
            row.try_get(c).map_err(self.query_error(&format!("reading `{c}`")))
        };
        let int = |c: &'static str| -> Result<i64, StoreError> {
            row.try_get(c).map_err(self.query_error(&format!("reading `{c}`")))
        };
        let (action, severity, markup, status) =
            (text("action")?, text("severity")?, text("markup")?, text("status")?);
        let fields_text = text("fields")?;
        let fields: Vec<(String, String)> = serde_json::from_str(&fields_text)
            .map_err(|_| self.decode_error("fields", fields_text.clone()))?;
        Ok(DeliveryRecord {
            out: Outgoing {
                delivery_id: text("id")?,
                alert_id: text("alert_id")?,
                template: text("template")?,
                alert_key: text("alert_key")?,
                severity: record::parse_severity(&severity)
                    .ok_or_else(|| self.decode_error("severity", severity.clone()))?,
                action: Action::parse(&action)
                    .ok_or_else(|| self.decode_error("action", action.clone()))?,
                title: text("title")?,
                body: text("body")?,
                markup: parse_markup(&markup)
                    .ok_or_else(|| self.decode_error("markup", markup.clone()))?,
                fields,
                event_time_ms: int("event_time_ms")?.max(0) as u64,
                alerts: 1,
                versions: serde_json::from_str(&text("versions")?).unwrap_or_default(),
            },
            channel: text("channel")?,
            event_id: text("event_id")?,
            resolvable: int("resolvable")? != 0,
            status: DeliveryStatus::parse(&status)
                .ok_or_else(|| self.decode_error("status", status.clone()))?,
            attempts: int("attempts")?.clamp(0, i64::from(u32::MAX)) as u32,
            last_error: opt("last_error")?,
            message_id: opt("message_id")?,
            folded_into: opt("folded_into")?,
            hold_until: row
                .try_get::<Option<i64>, _>("hold_until")
                .map_err(self.query_error("reading `hold_until`"))?
                .map(|v| v.max(0) as u64),
            alert: opt("alert")?,
            seq: int("seq")?,
            created_at_ms: int("created_at_ms")?.max(0) as u64,
            updated_at_ms: int("updated_at_ms")?.max(0) as u64,
        })
    }
}

//! Retractions: a chain reorg took back an event, so every alert raised by
//! that event is marked `retracted` in the alert log (never deleted: the
//! alert was delivered, and the log says what happened).
//!
//! A retraction can overtake its alert: the EVM source sends it as soon as
//! the node re-sends the log with `removed: true`, while the alert may still
//! be in the evaluate stage or in the writer's next batch. So a retraction
//! that matched no row is kept and retried on every tick for `hold`; most
//! such retractions simply belong to events that never alerted, and expire.
//! On shutdown the task ends after the writer has flushed, with one last
//! pass, so a retraction sent before shutdown still marks its alert.
//!
//! A retracted alert's deliveries on channels that can resolve (PagerDuty)
//! get a `resolve` row in the outbox, sent after the trigger.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{AlertLog, StoreError, bound};
use crate::event::Retraction;

/// What the retraction task did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetractSummary {
    pub received: u64,
    /// Alert rows marked retracted.
    pub rows_marked: u64,
    /// Retractions that never matched an alert within `hold`.
    pub expired: u64,
}

impl AlertLog {
    /// Mark every alert raised by `event_id` as retracted; returns the rows
    /// newly marked.
    pub async fn retract(&self, event_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE alert_log SET retracted = TRUE WHERE event_id = $1 AND retracted = FALSE",
        )
        // Stored bounded (`bound.rs`), so looked up bounded.
        .bind(bound::key(event_id).as_ref())
        .execute(&self.pool)
        .await
        .map_err(self.query_error("marking alerts retracted"))?;
        Ok(done.rows_affected())
    }

    /// Ids of the events whose alerts are retracted, for the CLI and tests.
    pub async fn retracted_events(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT event_id FROM alert_log WHERE retracted = TRUE ORDER BY event_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_error("listing retracted events"))?;
        rows.iter()
            .map(|r| sqlx::Row::try_get(r, 0).map_err(self.query_error("reading event_id")))
            .collect()
    }
}

/// Apply retractions from `rx` until it closes; unmatched ones are retried
/// every `tick` for `hold`.
pub async fn run_retractions(
    log: AlertLog,
    mut rx: mpsc::Receiver<Retraction>,
    tick: Duration,
    hold: Duration,
) -> Result<RetractSummary, StoreError> {
    let mut summary = RetractSummary::default();
    let mut pending: Vec<(Retraction, Instant)> = Vec::new();
    let mut ticker = tokio::time::interval(tick);
    loop {
        tokio::select! {
            next = rx.recv() => match next {
                Some(r) => {
                    summary.received += 1;
                    pending.push((r, Instant::now() + hold));
                }
                None => break,
            },
            _ = ticker.tick() => {}
        }
        retry(&log, &mut pending, &mut summary, Instant::now()).await?;
    }
    // Final pass after everything upstream (the writer included) flushed.
    retry(&log, &mut pending, &mut summary, Instant::now()).await?;
    summary.expired += pending.len() as u64;
    Ok(summary)
}

async fn retry(
    log: &AlertLog,
    pending: &mut Vec<(Retraction, Instant)>,
    summary: &mut RetractSummary,
    now: Instant,
) -> Result<(), StoreError> {
    let mut kept = Vec::with_capacity(pending.len());
    for (r, until) in pending.drain(..) {
        let marked = log.retract(&r.event_id).await?;
        if marked > 0 {
            summary.rows_marked += marked;
            // Channels that can take an alert back (PagerDuty) get a
            // `resolve`, queued behind the trigger.
            let resolves = log.enqueue_resolves(&r.event_id).await?;
            tracing::warn!(event = %r.event_id, venue = %r.venue, alerts = marked, resolves, "Event retracted by a reorg; its alerts are marked retracted.");
        } else if until > now {
            kept.push((r, until));
        } else {
            summary.expired += 1;
        }
    }
    *pending = kept;
    Ok(())
}

//! Delivery to network sinks: the outbox, one queue and worker per channel,
//! pacing, retries, folding and dead letters.
//!
//! Each network channel runs two tasks:
//!
//! * **intake** ([`run_channel`]) takes [`Delivery`]s from the evaluate
//!   workers and writes each as a `pending` outbox row, together with the
//!   alert's own alert-log row, in one transaction per batch. It never waits on the network, so a slow, failing or
//!   blackholed service cannot hold up evaluation or other channels; its
//!   only wait is the database.
//! * **sender** (`send.rs`) reads the channel's queue back from the outbox,
//!   oldest first, a page at a time (so a backlog lives on disk, not in
//!   memory), paces, sends, retries and records each outcome.
//!
//! Delivery is at least once: a row is `sent` only after the service
//! accepted it, and a `sent` row is never read again. What a crash can
//! duplicate is a send in flight (accepted by the service, not yet marked).

mod fold;
mod health;
mod owners;
mod send;
mod window;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use tokio::sync::{Notify, mpsc, watch};

use crate::alert::{Delivery, StoredAlert};
use crate::clock::{Clock, SystemClock};
use crate::sinks::remote::{DeliveryOptions, EnvLookup};
use crate::sinks::{RemoteSink, SinkConfig, SinkError, SinkSummary};
use crate::store::{AlertLog, AlertRecord, DeliveryRecord, DeliveryStatus};
use crate::telemetry::metrics;

pub use health::{ChannelHealth, health};
pub use owners::{OwnerCaps, OwnerConfig};
pub use send::{SendSummary, drain_channel};
pub use window::{DigestConfig, DigestFormat, DigestWindow};

/// What holds deliveries back and composes them when released: the run's
/// owner caps and digest windows, and the formatter of window digests
/// (`None`: the host composes them from each alert's own message).
#[derive(Clone, Default)]
pub struct Holds {
    pub caps: Arc<OwnerCaps>,
    pub digests: Option<Arc<dyn DigestFormat>>,
}

impl From<Arc<OwnerCaps>> for Holds {
    fn from(caps: Arc<OwnerCaps>) -> Holds {
        Holds { caps, digests: None }
    }
}

/// Deliveries taken from the workers per outbox transaction.
const INTAKE_BATCH: usize = 512;

/// Run network channel `name` until the workers drop their senders, then
/// keep sending for `delivery.shutdown_grace` and return. Deliveries not
/// sent by then stay in the outbox for the next start.
pub async fn run_channel(
    config: SinkConfig,
    name: String,
    log: AlertLog,
    mut rx: mpsc::Receiver<Arc<Delivery>>,
    holds: Holds,
    env: EnvLookup<'_>,
) -> Result<SinkSummary, SinkError> {
    let options = config.delivery().cloned().unwrap_or_default();
    let sink = match config.build_remote(env) {
        Some(Ok(sink)) => Some(Arc::new(sink)),
        Some(Err(reason)) => {
            // Keep taking alerts into the outbox: they wait there, on disk,
            // until the sink is fixed and the host restarted.
            tracing::error!(sink = %name, %reason, "Sink cannot deliver; alerts wait in the outbox.");
            health().set_failing(&name, &format!("cannot start: {reason}"));
            None
        }
        None => unreachable!("run_channel is only called for network sinks"),
    };
    health().register(&name);
    let wake = Arc::new(Notify::new());
    let (closed_tx, closed_rx) = watch::channel(false);
    let sender = sink.clone().map(|sink| {
        tokio::spawn(send::run_sender(
            name.clone(),
            sink,
            log.clone(),
            options.clone(),
            wake.clone(),
            closed_rx,
            holds.clone(),
        ))
    });
    let owners = holds.caps;
    let resolvable = sink.as_deref().is_some_and(RemoteSink::resolves);
    let mut batch = Vec::with_capacity(INTAKE_BATCH);
    while rx.recv_many(&mut batch, INTAKE_BATCH).await > 0 {
        let now = SystemClock.now_ms();
        let rows: Vec<DeliveryRecord> = batch
            .iter()
            .map(|d| {
                let mut row = DeliveryRecord::pending(d, &name, resolvable);
                let template = d.alert.template.as_str();
                let hold = match owners.take(template, &name, now) {
                    // Over the owner's cap: wait for the window's digest.
                    Some((owner, until)) => {
                        metrics().owner_held.with_label_values(&[&owner]).inc();
                        Some((until, format!("held: over owner `{owner}`'s cap")))
                    }
                    None => owners.digest_hold(template, &name, now).map(|until| {
                        // Kept for the formatter's `format-digest` at release.
                        row.alert = serde_json::to_string(&StoredAlert::of(&d.alert)).ok();
                        (until, format!("held: digest window of template `{template}`"))
                    }),
                };
                if let Some((until, reason)) = hold {
                    row.status = DeliveryStatus::Held;
                    row.hold_until = Some(until);
                    row.last_error = Some(reason);
                    metrics().sink_deliveries.with_label_values(&[&name, "held"]).inc();
                }
                row
            })
            .collect();
        let alerts: Vec<AlertRecord> =
            batch.drain(..).map(|d| AlertRecord::from_alert(&d.alert)).collect();
        queue(&log, &name, &alerts, &rows, &options).await?;
        wake.notify_one();
    }
    let _ = closed_tx.send(true);
    let summary = match sender {
        Some(task) => task.await.map_err(|_| SinkError::Panicked { name: name.clone() })?,
        None => SendSummary::default(),
    };
    Ok(SinkSummary { delivered: summary.sent })
}

/// Write `rows` (with their alerts: `alerts[i]` is `rows[i]`'s) to the
/// outbox. A pair the database refuses is split out and left out whole, so
/// a refused alert never leaves a delivery behind, and the others are
/// written. A failing database is retried for a while: a row that is not in
/// the outbox would be lost, so this is the one place delivery gives up
/// loudly.
async fn queue(
    log: &AlertLog,
    name: &str,
    alerts: &[AlertRecord],
    rows: &[DeliveryRecord],
    options: &DeliveryOptions,
) -> Result<(), SinkError> {
    let (mut split, mut fired) = (crate::store::Split::new(rows.len()), 0);
    while let Some(r) = split.next() {
        match enqueue_retrying(log, name, &alerts[r.clone()], &rows[r.clone()], options).await {
            Ok(written) => fired += written.fired,
            Err(error) if error.is_refusal() => split.refuse(r, error),
            Err(error) => {
                let lost = split.unwritten(&r) as u64;
                metrics().sink_deliveries.with_label_values(&[name, "lost"]).inc_by(lost);
                let reason = crate::store::error_chain(&error);
                return Err(SinkError::Outbox { name: name.to_owned(), lost, reason });
            }
        }
    }
    let refused = split.into_refused();
    metrics().alert_log_rows.with_label_values(&["fired"]).inc_by(fired);
    let deliveries = &metrics().sink_deliveries;
    deliveries.with_label_values(&[name, "queued"]).inc_by((rows.len() - refused.len()) as u64);
    for (i, error) in &refused {
        // The alert's own row is refused (and counted) by the alert-log
        // writer too; here only its delivery is counted.
        deliveries.with_label_values(&[name, "rejected"]).inc();
        crate::store::log_refused(
            "delivery",
            &rows[*i].out.template,
            &rows[*i].out.delivery_id,
            error,
        );
    }
    Ok(())
}

/// One outbox transaction, retried with backoff unless the database
/// refused the rows themselves (the caller splits those).
async fn enqueue_retrying(
    log: &AlertLog,
    name: &str,
    alerts: &[AlertRecord],
    rows: &[DeliveryRecord],
    options: &DeliveryOptions,
) -> Result<crate::store::Written, crate::store::StoreError> {
    let mut delay = options.min_backoff.min(std::time::Duration::from_secs(1));
    for attempt in 1.. {
        match log.enqueue_with_alerts(alerts, rows).await {
            Ok((written, _)) => return Ok(written),
            Err(error) if error.is_refusal() || attempt >= 10 => return Err(error),
            Err(error) => {
                tracing::warn!(sink = name, attempt, error = %crate::store::error_chain(&error), "Cannot write to the outbox; retrying.");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(30));
            }
        }
    }
    unreachable!("the loop only ends by returning")
}

/// Deliver everything from `rx` to the sink `config` until it closes, then
/// flush and return. `name` is the sink's name in the config; it labels
/// metrics and errors. Local sinks write directly; network sinks queue
/// through the outbox in `log`, under `holds`.
pub async fn run_sink(
    config: SinkConfig,
    name: String,
    rx: mpsc::Receiver<Arc<Delivery>>,
    log: AlertLog,
    holds: Holds,
) -> Result<SinkSummary, SinkError> {
    match config {
        SinkConfig::Stdout(c) => crate::sinks::stdout::run(c, name, rx).await,
        SinkConfig::File(c) => crate::sinks::file::run(c, name, rx).await,
        remote => {
            run_channel(remote, name, log, rx, holds, &crate::sinks::remote::process_env).await
        }
    }
}

//! The sender of one channel: read due rows from the outbox, pace, send,
//! retry, record.
//!
//! One message is in flight per channel at a time, in queue order, so the
//! service sees alerts in the order they fired and a resolve never overtakes
//! its trigger. A throttled or failing service holds only its own channel.
//!
//! Retry rules, the same for every sink:
//! * `Throttled`: wait the service's own time when it gave one (it always
//!   wins), else the next backoff step; does not use up the budget.
//! * `Failed`: backoff (`backon`'s exponential schedule, with jitter), or the
//!   server's `Retry-After`; after `attempts` failures the row is `dead`.
//! * `Rejected`: `dead` at once, with the service's reason.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::clock::{Clock, SystemClock};
use crate::sinks::RemoteSink;

use super::Holds;
use crate::sinks::remote::{Attempt, DeliveryOptions, Outgoing};
use crate::store::{AlertLog, DeliveryRecord, DeliveryStatus, error_chain};
use crate::telemetry::metrics;

use super::fold;
use super::health::health;

/// Throttled answers in a row after which one counts as a failure, so a
/// service that never stops throttling still ends in a dead letter.
const MAX_THROTTLES: u32 = 50;

/// What a sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendSummary {
    /// Deliveries (alerts) marked sent.
    pub sent: u64,
    pub dead: u64,
    /// Messages that carried several alerts.
    pub folded: u64,
}

pub(super) async fn run_sender(
    name: String,
    sink: Arc<RemoteSink>,
    log: AlertLog,
    options: DeliveryOptions,
    wake: Arc<Notify>,
    closed: watch::Receiver<bool>,
    holds: Holds,
) -> SendSummary {
    let mut summary = SendSummary::default();
    let mut stop = Shutdown { closed, grace: options.shutdown_grace, deadline: None };
    while !stop.expired() {
        // Alerts held by an owner's cap go out as one digest per window.
        match release_held(
            &name,
            &sink,
            &log,
            &options,
            SystemClock.now_ms(),
            &holds,
            &mut stop,
            &mut summary,
        )
        .await
        {
            Some(true) => continue,
            Some(false) => break,
            None => {}
        }
        let due = match log.due(&name, options.fold_max.max(1)).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(sink = %name, error = %error_chain(&error), "Cannot read the outbox; retrying.");
                stop.run(tokio::time::sleep(options.poll_interval)).await;
                continue;
            }
        };
        if due.is_empty() {
            if stop.deadline().is_some() {
                // Shutting down with nothing else due: held alerts go out
                // now rather than wait silently for their window.
                match release_held(
                    &name,
                    &sink,
                    &log,
                    &options,
                    u64::MAX >> 2,
                    &holds,
                    &mut stop,
                    &mut summary,
                )
                .await
                {
                    Some(true) => continue,
                    _ => break,
                }
            }
            let woken = async {
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(options.poll_interval) => {}
                }
            };
            stop.run(woken).await;
            continue;
        }
        let ready = sink.pacer().try_acquire();
        let group = if !ready && options.fold && due.len() > 1 {
            fold::foldable(due)
        } else {
            due.into_iter().take(1).collect()
        };
        if !ready && !stop.run(sink.pacer().acquire()).await {
            break;
        }
        let out = fold::message(&group);
        if !deliver(&name, &sink, &log, &options, (group, out), &mut stop, &mut summary).await {
            break;
        }
    }
    summary
}

/// When the sender must stop: `shutdown_grace` after intake closed.
struct Shutdown {
    closed: watch::Receiver<bool>,
    grace: Duration,
    deadline: Option<Instant>,
}

impl Shutdown {
    fn deadline(&mut self) -> Option<Instant> {
        if self.deadline.is_none() && *self.closed.borrow() {
            self.deadline = Some(Instant::now() + self.grace);
        }
        self.deadline
    }

    fn expired(&mut self) -> bool {
        self.deadline().is_some_and(|d| Instant::now() >= d)
    }

    /// Run `f` unless the deadline (which may be set while `f` runs) comes
    /// first; `false` if it did.
    async fn run(&mut self, f: impl Future<Output = ()>) -> bool {
        tokio::pin!(f);
        loop {
            if let Some(d) = self.deadline() {
                return tokio::time::timeout_at(d, &mut f).await.is_ok();
            }
            tokio::select! {
                () = &mut f => return true,
                changed = self.closed.changed() => {
                    if changed.is_err() {
                        // Intake is gone without saying so: shut down too.
                        self.deadline = Some(Instant::now() + self.grace);
                    }
                }
            }
        }
    }
}

/// Send `group` (one row, or several folded into one message) until it is
/// sent or dead. `false` when the shutdown deadline cut it short (the rows
/// stay due, for the next start).
async fn deliver(
    name: &str,
    sink: &RemoteSink,
    log: &AlertLog,
    options: &DeliveryOptions,
    (group, out): (Vec<DeliveryRecord>, Outgoing),
    stop: &mut Shutdown,
    summary: &mut SendSummary,
) -> bool {
    let ids: Vec<String> = group.iter().map(|r| r.out.delivery_id.clone()).collect();
    let count = |outcome: &str, n: usize| {
        metrics().sink_deliveries.with_label_values(&[name, outcome]).inc_by(n as u64);
    };
    let mut attempts = group.iter().map(|r| r.attempts).max().unwrap_or(0);
    let mut throttles = 0;
    let mut backoff = ExponentialBuilder::default()
        .with_min_delay(options.min_backoff)
        .with_max_delay(options.max_backoff)
        .with_jitter()
        .without_max_times()
        .build();
    loop {
        // A send cut short by shutdown may still have reached the service:
        // that is the one duplicate a restart can cause.
        let mut result = None;
        if !stop.run(async { result = Some(sink.send(&out).await) }).await {
            return false;
        }
        let attempt = result.expect("set when run completes");
        let (status, error, wait_for) = match attempt {
            Attempt::Sent { message_id } => {
                record(
                    log,
                    name,
                    &ids,
                    DeliveryStatus::Sent,
                    attempts,
                    None,
                    message_id.as_deref(),
                )
                .await;
                count("delivered", ids.len());
                if ids.len() > 1 {
                    count("folded", ids.len());
                    summary.folded += 1;
                }
                summary.sent += ids.len() as u64;
                health().set_ok(name);
                return true;
            }
            Attempt::Throttled { after, error } => {
                count("throttled", ids.len());
                throttles += 1;
                if throttles > MAX_THROTTLES {
                    attempts += 1;
                    throttles = 0;
                }
                let wait = after.unwrap_or_else(|| backoff.next().unwrap_or(options.max_backoff));
                let wait = wait.min(options.max_throttle_wait);
                // The whole destination waits, not just this message.
                sink.pacer().hold(wait);
                (DeliveryStatus::Failed, error, wait)
            }
            Attempt::Failed { after, error } => {
                attempts += 1;
                let step = backoff.next().unwrap_or(options.max_backoff);
                (
                    DeliveryStatus::Failed,
                    error,
                    after.unwrap_or(step).min(options.max_throttle_wait),
                )
            }
            Attempt::Rejected { error } => {
                attempts += 1;
                (DeliveryStatus::Dead, error, Duration::ZERO)
            }
        };
        let dead = status == DeliveryStatus::Dead || attempts >= options.attempts;
        if dead {
            tracing::error!(sink = name, deliveries = ids.len(), attempts, %error, "Delivery dead; see `klaxon alerts dead`.");
            record(log, name, &ids, DeliveryStatus::Dead, attempts, Some(&error), None).await;
            count("dead", ids.len());
            summary.dead += ids.len() as u64;
            health().set_failing(name, &error);
            return true;
        }
        tracing::warn!(sink = name, attempts, retry_in = ?wait_for, %error, "Delivery not accepted; retrying.");
        record(log, name, &ids, status, attempts, Some(&error), None).await;
        count("retried", ids.len());
        health().set_failing(name, &error);
        if !stop.run(tokio::time::sleep(wait_for)).await {
            return false;
        }
        if !stop.run(sink.pacer().acquire()).await {
            return false;
        }
    }
}

/// Send held rows released by `until` as one digest: `None` if there were
/// none, else whether the sender may go on. One digest per hold reason
/// (an owner's cap, a template's window).
#[allow(clippy::too_many_arguments)] // one channel's handles, as in `deliver`
async fn release_held(
    name: &str,
    sink: &RemoteSink,
    log: &AlertLog,
    options: &DeliveryOptions,
    until: u64,
    holds: &Holds,
    stop: &mut Shutdown,
    summary: &mut SendSummary,
) -> Option<bool> {
    let held = match log.released(name, until, 10_000).await {
        Ok(held) if !held.is_empty() => held,
        Ok(_) => return None,
        Err(error) => {
            tracing::warn!(sink = name, error = %error_chain(&error), "Cannot read held deliveries.");
            return None;
        }
    };
    let reason = held[0].last_error.clone();
    let held: Vec<DeliveryRecord> =
        held.into_iter().take_while(|r| r.last_error == reason).collect();
    let reason = reason.unwrap_or_default();
    let parts = if reason.starts_with("held: digest window") {
        window_digest(held, holds).await
    } else {
        let note = format!("held by the owner's cap: {}", owner_note(&held));
        let out = fold::digest(&held, Some(&note), None);
        vec![(held, out)]
    };
    for part in parts {
        // Each message of a digest is paced like any other.
        if !stop.run(sink.pacer().acquire()).await
            || !deliver(name, sink, log, options, part, stop, summary).await
        {
            return Some(false);
        }
    }
    Some(true)
}

/// A closed window's messages: through the template's formatter
/// (`format-digest`) when the rows kept their alerts and the template is
/// running, else composed by the host from each alert's own message.
async fn window_digest(
    held: Vec<DeliveryRecord>,
    holds: &Holds,
) -> Vec<(Vec<DeliveryRecord>, Outgoing)> {
    let template = held[0].out.template.clone();
    let alerts: Option<Vec<Arc<crate::alert::Alert>>> =
        held.iter().map(|r| r.stored_alert().map(|a| Arc::new(a.into_alert()))).collect();
    let formatted = match (holds.digests.clone(), alerts) {
        (Some(digests), Some(alerts)) => {
            let t = template.clone();
            tokio::task::spawn_blocking(move || digests.format_digest(&t, &alerts))
                .await
                .ok()
                .flatten()
        }
        _ => None,
    };
    let Some(messages) = formatted else {
        let note = format!("digest of {template}");
        let out = fold::digest(&held, Some(&note), holds.caps.max_items(&template));
        return vec![(held, out)];
    };
    let mut rest = held;
    let mut parts = Vec::with_capacity(messages.len());
    for (n, message) in messages {
        if rest.is_empty() {
            break;
        }
        let tail = rest.split_off(n.clamp(1, rest.len()));
        let group = std::mem::replace(&mut rest, tail);
        let out = fold::formatted(&group, message);
        parts.push((group, out));
    }
    if !rest.is_empty() {
        // A formatter service that covered too few: the rest as the host's.
        let out = fold::digest(&rest, Some(&format!("digest of {template}")), None);
        parts.push((rest, out));
    }
    parts
}

/// `owner `x`` from the hold reason the intake wrote.
fn owner_note(held: &[DeliveryRecord]) -> String {
    let reason = held[0].last_error.as_deref().unwrap_or("");
    reason.split('`').nth(1).map_or_else(|| "owner".to_owned(), |o| format!("owner {o}"))
}

/// Record an outcome; a database error is logged, and the row stays due
/// (a `sent` that could not be recorded may then be sent again).
async fn record(
    log: &AlertLog,
    name: &str,
    ids: &[String],
    status: DeliveryStatus,
    attempts: u32,
    error: Option<&str>,
    message_id: Option<&str>,
) {
    for _ in 0..5 {
        match log.mark(ids, status, attempts, error, message_id).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(sink = name, error = %error_chain(&e), "Cannot record a delivery outcome; retrying.");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Send everything due on channel `name` now (for `klaxon alerts resend`
/// and tests), stopping after `limit` has passed.
pub async fn drain_channel(
    name: &str,
    sink: Arc<RemoteSink>,
    log: AlertLog,
    options: DeliveryOptions,
    limit: Duration,
) -> SendSummary {
    let options = DeliveryOptions { shutdown_grace: limit, ..options };
    let (closed_tx, closed_rx) = watch::channel(true);
    let wake = Arc::new(Notify::new());
    let holds = Holds::default();
    let summary = run_sender(name.to_owned(), sink, log, options, wake, closed_rx, holds).await;
    drop(closed_tx);
    summary
}

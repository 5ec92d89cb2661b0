//! The alert-log writer: batches decided alerts and writes each batch in one
//! transaction.
//!
//! The decide stage holds the only `Sender`. The writer takes whatever is
//! queued (never waiting for a batch to fill), and writes a batch when it is
//! full, when `flush_interval` has passed since its first row, or when the
//! channel closes. Closing the channel is how shutdown works: the writer then
//! writes everything it holds and returns.
//!
//! A row the database refuses (an index entry too large, a constraint) is
//! split out of its batch (`isolate.rs`), logged and counted in
//! `klaxon_alert_log_rows_rejected_total{template}`; the batch's other rows
//! are written. Rows are bounded before they get here (`bound.rs`), so this
//! is a last line of defence, not the plan.
//!
//! Any other failed write (database down, connection lost, locked) is
//! retried with exponential backoff, for as long as the host runs: the
//! writer never closes while its input is open. While it retries it does not
//! read its channel, so the decide stage waits (backpressure, visible as
//! `klaxon_stage_wait_seconds` upstream) instead of piling up rows here.
//! Once the input has closed (shutdown), a write gets
//! [`RetryPolicy::attempts`]; if they all fail, the writer counts the rows
//! in hand and still queued and returns [`StoreError::RowsLost`] naming
//! them: rows are never dropped silently.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until};

use super::isolate::{Split, log_refused};
use crate::alert::Alert;
use crate::store::{AlertLog, AlertRecord, Backend, StoreError, Written};
use crate::telemetry::metrics;

/// How a failed batch write is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included, once the input has closed.
    /// While it is open, a write is retried until it succeeds.
    pub attempts: u32,
    /// Wait before the second attempt; doubled after each failure.
    pub first_delay: Duration,
    /// Upper bound on the wait between attempts.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The waits between attempts: doubling from `first_delay`, capped at
    /// `max_delay`, without end (the caller decides when to stop).
    fn delays(&self) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_min_delay(self.first_delay)
            .with_max_delay(self.max_delay)
            .without_max_times()
            .build()
    }
}

impl Default for RetryPolicy {
    /// At shutdown, five attempts over about three seconds: long enough to
    /// ride out a database restart or a lock held by a migration, short
    /// enough that shutdown is not held up for long by a database that is
    /// gone.
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

/// What a writer did before its channel closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterSummary {
    /// Alerts taken from the channel.
    pub received: u64,
    pub fired: u64,
    pub suppressed: u64,
    /// Alerts whose id was already in the log.
    pub duplicates: u64,
    /// Transactions committed.
    pub batches: u64,
    /// Failed write attempts that were retried.
    pub retries: u64,
    /// Rows the database refused, left out of their batch.
    pub rejected: u64,
}

/// Write alerts from `rx` into `log` in batches of up to `batch_size`, at
/// least every `flush_interval`, until `rx` closes; retries with
/// [`RetryPolicy::default`].
pub async fn run_writer(
    log: AlertLog,
    rx: mpsc::Receiver<Arc<Alert>>,
    batch_size: usize,
    flush_interval: Duration,
) -> Result<WriterSummary, StoreError> {
    run_writer_with(log, rx, batch_size, flush_interval, RetryPolicy::default()).await
}

/// [`run_writer`] with an explicit retry policy.
pub async fn run_writer_with(
    log: AlertLog,
    rx: mpsc::Receiver<Arc<Alert>>,
    batch_size: usize,
    flush_interval: Duration,
    retry: RetryPolicy,
) -> Result<WriterSummary, StoreError> {
    let summary = run_batches(&log, rx, batch_size, flush_interval, &retry).await?;
    tracing::debug!(
        url = log.url(),
        received = summary.received,
        batches = summary.batches,
        "Alert log writer finished."
    );
    Ok(summary)
}

/// Where batches go: the real [`AlertLog`], or a fake in tests.
pub(crate) trait BatchTarget {
    async fn write(&self, records: &[AlertRecord]) -> Result<Written, StoreError>;
    fn url(&self) -> &str;
    fn backend(&self) -> Backend;
}

impl BatchTarget for AlertLog {
    async fn write(&self, records: &[AlertRecord]) -> Result<Written, StoreError> {
        AlertLog::write(self, records).await
    }
    fn url(&self) -> &str {
        AlertLog::url(self)
    }
    fn backend(&self) -> Backend {
        AlertLog::backend(self)
    }
}

pub(crate) async fn run_batches<T: BatchTarget>(
    target: &T,
    mut rx: mpsc::Receiver<Arc<Alert>>,
    batch_size: usize,
    flush_interval: Duration,
    retry: &RetryPolicy,
) -> Result<WriterSummary, StoreError> {
    // Validation rejects 0; treat it as 1 rather than never flushing by size.
    let batch_size = batch_size.max(1);
    let mut summary = WriterSummary::default();
    let mut batch: Vec<AlertRecord> = Vec::with_capacity(batch_size);
    let mut incoming: Vec<Arc<Alert>> = Vec::with_capacity(batch_size);
    // Set when the first row enters an empty batch: the latest time it may be written.
    let mut deadline: Option<Instant> = None;

    loop {
        // `batch` is never full here, so there is always room for at least one.
        let room = batch_size - batch.len();
        tokio::select! {
            // Prefer taking queued alerts: a batch that fills is written by
            // size, and an alert already queued at the deadline rides along.
            biased;
            taken = rx.recv_many(&mut incoming, room) => {
                if taken == 0 {
                    // Closed and drained: write the rest and stop.
                    if !batch.is_empty() {
                        flush(target, &mut batch, &mut rx, retry, &mut summary).await?;
                    }
                    return Ok(summary);
                }
                if batch.is_empty() {
                    deadline = Some(Instant::now() + flush_interval);
                }
                summary.received += taken as u64;
                batch.extend(incoming.drain(..).map(|alert| AlertRecord::from_alert(&alert)));
                if batch.len() >= batch_size {
                    flush(target, &mut batch, &mut rx, retry, &mut summary).await?;
                    deadline = None;
                }
            }
            () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                flush(target, &mut batch, &mut rx, retry, &mut summary).await?;
                deadline = None;
            }
        }
    }
}

/// Write `batch` and clear it, splitting out rows the database refuses; or
/// give up (only once the input has closed) and report every row that will
/// not be written.
async fn flush<T: BatchTarget>(
    target: &T,
    batch: &mut Vec<AlertRecord>,
    rx: &mut mpsc::Receiver<Arc<Alert>>,
    retry: &RetryPolicy,
    summary: &mut WriterSummary,
) -> Result<(), StoreError> {
    let (mut split, mut written) = (Split::new(batch.len()), Written::default());
    let started = Instant::now();
    while let Some(range) = split.next() {
        match write_retrying(target, &batch[range.clone()], rx, retry, summary).await {
            Ok(w) => written += w,
            Err((error, _)) if error.is_refusal() => split.refuse(range, error),
            Err((error, attempts)) => {
                let unwritten = split.unwritten(&range);
                return Err(give_up(target, rx, unwritten, attempts, error));
            }
        }
    }
    let refused = split.into_refused();
    // Timed to the batch's last write, retries included: what the decide
    // stage behind it waited for.
    metrics().alert_log_flush.observe(started.elapsed().as_secs_f64());
    metrics().alert_log_flush_rows.observe(batch.len() as f64);
    let rows = &metrics().alert_log_rows;
    rows.with_label_values(&["fired"]).inc_by(written.fired);
    rows.with_label_values(&["suppressed"]).inc_by(written.suppressed);
    rows.with_label_values(&["duplicate"]).inc_by(written.duplicates);
    for (i, error) in &refused {
        let row = &batch[*i];
        metrics().alert_log_rows_rejected.with_label_values(&[row.template.as_str()]).inc();
        log_refused("alert", row.template.as_str(), &row.id.0, error);
    }
    summary.fired += written.fired;
    summary.suppressed += written.suppressed;
    summary.duplicates += written.duplicates;
    summary.rejected += refused.len() as u64;
    summary.batches += 1;
    batch.clear();
    Ok(())
}

/// Write `rows` in one transaction, retrying failures that are not the
/// rows' own with backoff: without end while `rx` is open, up to
/// `retry.attempts` once it has closed. A refusal returns at once, for the
/// caller to split. An error comes with the attempts made.
async fn write_retrying<T: BatchTarget>(
    target: &T,
    rows: &[AlertRecord],
    rx: &mpsc::Receiver<Arc<Alert>>,
    retry: &RetryPolicy,
    summary: &mut WriterSummary,
) -> Result<Written, (StoreError, u32)> {
    let mut delays = retry.delays();
    for attempt in 1.. {
        let error = match target.write(rows).await {
            Ok(written) => return Ok(written),
            Err(error) => error,
        };
        if error.is_refusal() || (rx.is_closed() && attempt >= retry.attempts.max(1)) {
            return Err((error, attempt));
        }
        let delay = delays.next().unwrap_or(retry.max_delay);
        tracing::warn!(
            url = target.url(), backend = %target.backend(), rows = rows.len(), attempt,
            retry_in = ?delay, error = %error_chain(&error),
            "Alert log write failed; retrying."
        );
        metrics().alert_log_rows.with_label_values(&["retried"]).inc_by(rows.len() as u64);
        summary.retries += 1;
        sleep(delay).await;
    }
    unreachable!("the loop only ends by returning")
}

/// The writer's end after a failure at shutdown: count what is still queued
/// (lost too), log it, and name every row that will not be written.
fn give_up<T: BatchTarget>(
    target: &T,
    rx: &mut mpsc::Receiver<Arc<Alert>>,
    unwritten: usize,
    attempts: u32,
    error: StoreError,
) -> StoreError {
    rx.close();
    let mut queued = 0u64;
    while rx.try_recv().is_ok() {
        queued += 1;
    }
    let lost = unwritten as u64 + queued;
    tracing::error!(
        url = target.url(), backend = %target.backend(), rows = lost, attempts,
        error = %error_chain(&error),
        "Alert log write failed for good at shutdown; rows lost."
    );
    metrics().alert_log_rows.with_label_values(&["lost"]).inc_by(lost);
    StoreError::RowsLost {
        url: target.url().to_owned(),
        backend: target.backend(),
        rows: lost,
        attempts,
        last: Box::new(error),
    }
}

/// `error: cause: cause`, for log lines (tracing's `%` shows only the top).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

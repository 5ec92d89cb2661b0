//! The alert-log writer: batches decided alerts and writes each batch in one
//! transaction.
//!
//! The decide stage holds the only `Sender`. The writer takes whatever is
//! queued (never waiting for a batch to fill), and writes a batch when it is
//! full, when `flush_interval` has passed since its first row, or when the
//! channel closes. Closing the channel is how shutdown works: the writer then
//! writes everything it holds and returns.
//!
//! A failed write is retried with exponential backoff. While it retries, the
//! writer does not read its channel, so the decide stage waits (backpressure,
//! visible as `klaxon_stage_wait_seconds` upstream) instead of piling up rows
//! here. If every attempt fails, the writer closes its channel, counts the
//! rows in hand and still queued, and returns [`StoreError::RowsLost`] naming
//! them: rows are never dropped silently.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until};

use crate::alert::Alert;
use crate::store::{AlertLog, AlertRecord, Backend, StoreError, Written};
use crate::telemetry::metrics;

/// How often and how patiently a failed batch write is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Wait before the second attempt; doubled after each failure.
    pub first_delay: Duration,
    /// Upper bound on the wait between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Five attempts over about three seconds: long enough to ride out a
    /// database restart or a lock held by a migration, short enough that
    /// shutdown is not held up for long by a database that is gone.
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

/// Write `batch` (retrying per `retry`) and clear it, or give up and report
/// every row that will not be written.
async fn flush<T: BatchTarget>(
    target: &T,
    batch: &mut Vec<AlertRecord>,
    rx: &mut mpsc::Receiver<Arc<Alert>>,
    retry: &RetryPolicy,
    summary: &mut WriterSummary,
) -> Result<(), StoreError> {
    let rows = &metrics().alert_log_rows;
    let mut delay = retry.first_delay;
    let mut attempt = 1;
    loop {
        match target.write(batch).await {
            Ok(written) => {
                rows.with_label_values(&["fired"]).inc_by(written.fired);
                rows.with_label_values(&["suppressed"]).inc_by(written.suppressed);
                rows.with_label_values(&["duplicate"]).inc_by(written.duplicates);
                summary.fired += written.fired;
                summary.suppressed += written.suppressed;
                summary.duplicates += written.duplicates;
                summary.batches += 1;
                batch.clear();
                return Ok(());
            }
            Err(error) if attempt < retry.attempts.max(1) => {
                tracing::warn!(
                    url = target.url(), backend = %target.backend(), rows = batch.len(), attempt,
                    retry_in = ?delay, error = %error_chain(&error),
                    "Alert log write failed; retrying."
                );
                rows.with_label_values(&["retried"]).inc_by(batch.len() as u64);
                summary.retries += 1;
                sleep(delay).await;
                delay = (delay * 2).min(retry.max_delay);
                attempt += 1;
            }
            Err(error) => {
                // Refuse further alerts so the decide stage sees the failure
                // at once, then count what is still queued: it is lost too.
                rx.close();
                let mut queued = 0u64;
                while rx.try_recv().is_ok() {
                    queued += 1;
                }
                let lost = batch.len() as u64 + queued;
                tracing::error!(
                    url = target.url(), backend = %target.backend(), rows = lost, attempts = attempt,
                    error = %error_chain(&error),
                    "Alert log write failed for good; rows lost."
                );
                rows.with_label_values(&["lost"]).inc_by(lost);
                return Err(StoreError::RowsLost {
                    url: target.url().to_owned(),
                    backend: target.backend(),
                    rows: lost,
                    attempts: attempt,
                    last: Box::new(error),
                });
            }
        }
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

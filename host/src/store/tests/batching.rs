//! The writer's batching, retries and loss accounting, against a fake target
//! under paused time: timings here are virtual and exact.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::sleep;

use super::{fired, suppressed};
use crate::store::writer::{BatchTarget, run_batches};
use crate::store::{AlertRecord, AlertStatus, Backend, RetryPolicy, StoreError, Written};

/// Records the size of every batch it accepts; fails the first `failures`
/// writes (all of them if `u32::MAX`).
#[derive(Default)]
struct Fake {
    batches: Mutex<Vec<usize>>,
    failures: AtomicU32,
}

impl Fake {
    fn failing(failures: u32) -> Arc<Fake> {
        Arc::new(Fake { failures: AtomicU32::new(failures), ..Fake::default() })
    }
    fn batches(&self) -> Vec<usize> {
        self.batches.lock().unwrap().clone()
    }
}

impl BatchTarget for Fake {
    async fn write(&self, records: &[AlertRecord]) -> Result<Written, StoreError> {
        let left = self.failures.load(Ordering::Relaxed);
        if left > 0 {
            if left != u32::MAX {
                self.failures.store(left - 1, Ordering::Relaxed);
            }
            return Err(StoreError::Decode {
                url: "fake://db".into(),
                column: "id",
                value: "boom".into(),
            });
        }
        self.batches.lock().unwrap().push(records.len());
        let fired = records.iter().filter(|r| r.status == AlertStatus::Fired).count() as u64;
        Ok(Written { fired, suppressed: records.len() as u64 - fired, duplicates: 0 })
    }
    fn url(&self) -> &str {
        "fake://db"
    }
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
}

const SECOND: Duration = Duration::from_secs(1);

fn quick_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy { attempts, first_delay: Duration::from_millis(100), max_delay: SECOND }
}

#[tokio::test(start_paused = true)]
async fn takes_what_is_queued_in_batches_of_at_most_batch_size() {
    let fake = Arc::new(Fake::default());
    let (tx, rx) = mpsc::channel(16);
    for n in 0..7 {
        tx.send(fired(n)).await.unwrap();
    }
    drop(tx);
    let summary = run_batches(&*fake, rx, 3, SECOND, &quick_retry(1)).await.unwrap();
    assert_eq!(fake.batches(), [3, 3, 1]);
    assert_eq!((summary.received, summary.fired, summary.batches), (7, 7, 3));
}

#[tokio::test(start_paused = true)]
async fn partial_batch_waits_exactly_one_interval_from_its_first_row() {
    let fake = Arc::new(Fake::default());
    let (tx, rx) = mpsc::channel(16);
    let writer = {
        let fake = fake.clone();
        tokio::spawn(async move { run_batches(&*fake, rx, 100, SECOND, &quick_retry(1)).await })
    };
    tx.send(fired(1)).await.unwrap();
    sleep(Duration::from_millis(500)).await;
    // A second row does not restart the clock.
    tx.send(fired(2)).await.unwrap();
    sleep(Duration::from_millis(499)).await;
    assert!(fake.batches().is_empty(), "written before the interval");
    sleep(Duration::from_millis(2)).await;
    assert_eq!(fake.batches(), [2]);

    // An idle writer does not write empty batches.
    sleep(10 * SECOND).await;
    assert_eq!(fake.batches(), [2]);

    tx.send(suppressed(3, "cooldown")).await.unwrap();
    drop(tx);
    let summary = writer.await.unwrap().unwrap();
    assert_eq!(fake.batches(), [2, 1]);
    assert_eq!((summary.fired, summary.suppressed, summary.batches), (2, 1, 2));
}

#[tokio::test(start_paused = true)]
async fn failed_writes_are_retried_until_they_succeed() {
    let fake = Fake::failing(2);
    let (tx, rx) = mpsc::channel(16);
    for n in 0..3 {
        tx.send(fired(n)).await.unwrap();
    }
    drop(tx);
    let summary = run_batches(&*fake, rx, 100, SECOND, &quick_retry(5)).await.unwrap();
    assert_eq!(fake.batches(), [3]);
    assert_eq!((summary.retries, summary.batches, summary.fired), (2, 1, 3));
}

#[tokio::test(start_paused = true)]
async fn a_failing_database_is_retried_for_as_long_as_the_input_is_open() {
    // Far more failures than the policy's attempts: while the host runs,
    // the writer waits the database out instead of closing.
    let fake = Fake::failing(50);
    let (tx, rx) = mpsc::channel(16);
    let writer = {
        let fake = fake.clone();
        tokio::spawn(async move { run_batches(&*fake, rx, 3, SECOND, &quick_retry(3)).await })
    };
    for n in 0..3 {
        tx.send(fired(n)).await.unwrap();
    }
    while fake.batches().is_empty() {
        sleep(SECOND).await;
    }
    assert_eq!(fake.batches(), [3]);
    // Still taking alerts after the outage.
    tx.send(fired(3)).await.expect("the writer is still running");
    drop(tx);
    let summary = writer.await.unwrap().unwrap();
    assert_eq!(fake.batches(), [3, 1]);
    assert_eq!((summary.retries, summary.fired, summary.batches), (50, 4, 2));
}

#[tokio::test(start_paused = true)]
async fn at_shutdown_giving_up_counts_the_batch_and_everything_still_queued() {
    let fake = Fake::failing(u32::MAX);
    let (tx, rx) = mpsc::channel(16);
    for n in 0..5 {
        tx.send(fired(n)).await.unwrap();
    }
    // The input is closed: the host is shutting down.
    drop(tx);
    let error = run_batches(&*fake, rx, 2, SECOND, &quick_retry(3)).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "alert log `fake://db` (sqlite): 5 rows lost after 3 failed attempts to write them"
    );
    assert!(matches!(error, StoreError::RowsLost { rows: 5, attempts: 3, .. }));
}

//! Behaviour tests run once on SQLite and once on Postgres.
//!
//! Each test is an `async fn(TestDb)`; `on_both_backends!` generates
//! `sqlite::<name>` and `postgres::<name>` test cases from it. Tests wait for
//! rows by polling the database (bounded), and never assert how long anything
//! took.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{TestDb, alert, fired, suppressed};
use crate::alert::{Alert, Decision, Severity};
use crate::event::{Retraction, Sym};
use crate::store::{
    AlertLog, AlertRecord, AlertStatus, RetryPolicy, StatusCounts, StoreError, WriterSummary,
    run_retractions, run_writer, run_writer_with,
};

on_both_backends!(
    migrations_apply_once_and_reopen,
    writes_a_batch_as_soon_as_it_is_full,
    writes_a_partial_batch_when_the_interval_elapses,
    writes_everything_when_the_channel_closes,
    replaying_the_same_alerts_keeps_one_row_each,
    suppressed_alerts_keep_their_reason,
    rows_read_back_as_written,
    batches_larger_than_one_statement_are_written_whole,
    failed_writes_report_the_rows_lost,
    retractions_mark_alerts_even_when_they_overtake_them,
);

type Writer = JoinHandle<Result<WriterSummary, StoreError>>;

fn spawn_writer(
    log: &AlertLog,
    batch_size: usize,
    flush_interval: Duration,
) -> (mpsc::Sender<Arc<Alert>>, Writer) {
    let (tx, rx) = mpsc::channel(64);
    let writer = tokio::spawn(run_writer(log.clone(), rx, batch_size, flush_interval));
    (tx, writer)
}

async fn send_all(tx: &mpsc::Sender<Arc<Alert>>, alerts: impl IntoIterator<Item = Arc<Alert>>) {
    for a in alerts {
        tx.send(a).await.expect("writer is running");
    }
}

fn total(c: StatusCounts) -> u64 {
    c.fired + c.suppressed
}

/// Poll until the log holds at least `rows` rows (for at most ~10 s).
async fn wait_for_rows(log: &AlertLog, rows: u64) -> StatusCounts {
    for _ in 0..1000 {
        let counts = log.count_by_status().await.unwrap();
        if total(counts) >= rows {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("alert log never reached {rows} rows");
}

const HOUR: Duration = Duration::from_secs(3600);

async fn migrations_apply_once_and_reopen(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    log.write(&[AlertRecord::from_alert(&fired(1))]).await.unwrap();
    log.close().await;
    let again = AlertLog::open(&db.url).await.unwrap();
    assert_eq!(again.count_by_status().await.unwrap(), StatusCounts { fired: 1, suppressed: 0 });
    again.ping().await.unwrap();
    again.close().await;
}

async fn writes_a_batch_as_soon_as_it_is_full(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let (tx, writer) = spawn_writer(&log, 2, HOUR);
    send_all(&tx, (0..5).map(fired)).await;
    // Two full batches are written; the fifth alert waits for its interval
    // (an hour) or the channel to close.
    assert_eq!(total(wait_for_rows(&log, 4).await), 4);
    drop(tx);
    let summary = writer.await.unwrap().unwrap();
    assert_eq!(summary.batches, 3);
    assert_eq!((summary.received, summary.fired), (5, 5));
    assert_eq!(total(log.count_by_status().await.unwrap()), 5);
    log.close().await;
}

async fn writes_a_partial_batch_when_the_interval_elapses(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let (tx, writer) = spawn_writer(&log, 1000, Duration::from_millis(20));
    send_all(&tx, (0..3).map(fired)).await;
    // The batch is far from full and the channel is still open: only the
    // interval can have written these.
    assert_eq!(total(wait_for_rows(&log, 3).await), 3);
    drop(tx);
    let summary = writer.await.unwrap().unwrap();
    assert_eq!(summary.received, 3);
    log.close().await;
}

async fn writes_everything_when_the_channel_closes(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let (tx, writer) = spawn_writer(&log, 1000, HOUR);
    send_all(&tx, (0..10).map(fired)).await;
    drop(tx);
    let summary = writer.await.unwrap().unwrap();
    assert_eq!((summary.received, summary.fired, summary.batches), (10, 10, 1));
    assert_eq!(log.count_by_status().await.unwrap(), StatusCounts { fired: 10, suppressed: 0 });
    log.close().await;
}

async fn replaying_the_same_alerts_keeps_one_row_each(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let alerts: Vec<_> =
        (0..6).map(|n| if n % 2 == 0 { fired(n) } else { suppressed(n, "cooldown") }).collect();
    for run in 0..2 {
        let (tx, writer) = spawn_writer(&log, 4, HOUR);
        // The same alert twice in one batch is also written once.
        send_all(&tx, alerts.iter().cloned().chain([alerts[0].clone()])).await;
        drop(tx);
        let summary = writer.await.unwrap().unwrap();
        assert_eq!(summary.received, 7);
        let expected_new = if run == 0 { 6 } else { 0 };
        assert_eq!(summary.fired + summary.suppressed, expected_new, "run {run}");
        assert_eq!(summary.duplicates, 7 - expected_new, "run {run}");
    }
    assert_eq!(log.count_by_status().await.unwrap(), StatusCounts { fired: 3, suppressed: 3 });
    log.close().await;
}

async fn suppressed_alerts_keep_their_reason(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let (tx, writer) = spawn_writer(&log, 256, HOUR);
    send_all(
        &tx,
        [
            fired(1),
            suppressed(2, "cooldown 10m"),
            suppressed(3, "cooldown 10m"),
            suppressed(4, "not worse than last"),
            fired(5),
        ],
    )
    .await;
    drop(tx);
    writer.await.unwrap().unwrap();
    assert_eq!(log.count_by_status().await.unwrap(), StatusCounts { fired: 2, suppressed: 3 });
    assert_eq!(
        log.suppressed_by_reason().await.unwrap(),
        [("cooldown 10m".to_owned(), 2), ("not worse than last".to_owned(), 1)]
    );
    let recent = log.fetch_recent(10).await.unwrap();
    for record in &recent {
        match record.status {
            AlertStatus::Fired => assert_eq!(record.reason, None),
            AlertStatus::Suppressed => assert!(record.reason.is_some()),
        }
    }
    log.close().await;
}

async fn rows_read_back_as_written(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let mut odd = (*alert(7, Decision::Suppress("tiered: below $5M".into()))).clone();
    odd.severity = Severity::Warning;
    odd.value = f64::NAN;
    odd.title = "quote \" and nul \0 and\nnewline".into();
    odd.fields = vec![("b".into(), "2".into()), ("a".into(), "1\u{0}".into())];
    let alerts = [fired(1), fired(2), Arc::new(odd)];
    log.write(&alerts.iter().map(|a| AlertRecord::from_alert(a)).collect::<Vec<_>>())
        .await
        .unwrap();

    let recent = log.fetch_recent(2).await.unwrap();
    assert_eq!(recent.len(), 2, "limit is honoured");
    // Newest decision first.
    assert_eq!(recent[0].id, alerts[2].id);
    assert_eq!(recent[1].id, alerts[1].id);

    let got = &recent[0];
    let mut want = AlertRecord::from_alert(&alerts[2]);
    assert!(got.created_at_ms.is_some_and(|ms| ms > 0));
    want.created_at_ms = got.created_at_ms;
    assert_eq!(got, &want);
    assert_eq!(got.value, None, "NaN is stored as NULL");
    assert_eq!(got.title, "quote \" and nul \u{FFFD} and\nnewline");
    assert_eq!(got.fields, "{\"b\":\"2\",\"a\":\"1\u{FFFD}\"}", "NUL replaced in fields too");
    assert!(!got.retracted);

    let fired_back = &recent[1];
    assert_eq!(fired_back.status, AlertStatus::Fired);
    assert_eq!(fired_back.reason, None);
    assert_eq!(fired_back.value, Some(1_200_002.0));
    assert_eq!(
        (fired_back.venue.as_str(), fired_back.symbol.as_str(), fired_back.kind.as_str()),
        ("binance", "BTCUSDT", "trade")
    );
    assert_eq!(fired_back.exchange_time_ms, 1_633_912_112_125);
    log.close().await;
}

async fn batches_larger_than_one_statement_are_written_whole(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let records: Vec<_> = (0..1_201).map(|n| AlertRecord::from_alert(&fired(n))).collect();
    let written = log.write(&records).await.unwrap();
    assert_eq!((written.fired, written.duplicates), (1_201, 0));
    let again = log.write(&records).await.unwrap();
    assert_eq!((again.fired, again.duplicates), (0, 1_201));
    assert_eq!(total(log.count_by_status().await.unwrap()), 1_201);
    log.close().await;
}

async fn failed_writes_report_the_rows_lost(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    // Break the log under the writer: every insert now fails.
    sqlx::raw_sql("ALTER TABLE alert_log RENAME TO alert_log_gone")
        .execute(&mut *log.pool.acquire().await.unwrap())
        .await
        .unwrap();
    let (tx, rx) = mpsc::channel(64);
    let retry = RetryPolicy {
        attempts: 3,
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
    };
    send_all(&tx, (0..4).map(fired)).await;
    drop(tx);
    let error = run_writer_with(log.clone(), rx, 100, HOUR, retry).await.unwrap_err();
    let StoreError::RowsLost { rows, attempts, backend, .. } = &error else { panic!("{error:?}") };
    assert_eq!((*rows, *attempts, *backend), (4, 3, log.backend()));
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("alert log `{}` ({})", log.url(), log.backend())),
        "{message}"
    );
    assert!(message.ends_with("4 rows lost after 3 failed attempts to write them"), "{message}");
    log.close().await;
}

/// A retraction for an alert already written marks it at once; one sent
/// before its alert was written marks it once the alert lands; one for an
/// event that never alerted expires.
async fn retractions_mark_alerts_even_when_they_overtake_them(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let (first, second) = (fired(1), fired(2));
    log.write(&[AlertRecord::from_alert(&first)]).await.unwrap();
    let (tx, rx) = mpsc::channel(8);
    let task = tokio::spawn(run_retractions(
        log.clone(),
        rx,
        Duration::from_millis(20),
        Duration::from_secs(30),
    ));
    let retract = |id: &str| Retraction { event_id: id.to_owned(), venue: Sym::new("ethereum") };
    tx.send(retract(&first.event.id)).await.unwrap();
    tx.send(retract(&second.event.id)).await.unwrap();
    tx.send(retract("ethereum:never-alerted:0")).await.unwrap();
    log.write(&[AlertRecord::from_alert(&second)]).await.unwrap();
    drop(tx);
    let summary = task.await.unwrap().unwrap();
    assert_eq!(summary.received, 3);
    assert_eq!(summary.rows_marked, 2);
    assert_eq!(summary.expired, 1, "the event that never alerted");
    let mut want = vec![first.event.id.clone(), second.event.id.clone()];
    want.sort();
    assert_eq!(log.retracted_events().await.unwrap(), want);
    // Idempotent: marking again changes nothing.
    assert_eq!(log.retract(&first.event.id).await.unwrap(), 0);
}

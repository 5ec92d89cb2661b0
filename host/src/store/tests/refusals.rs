//! Rows the database would refuse, on SQLite and on the local Postgres: an
//! 8 KB alert key (over Postgres' btree entry limit) and NUL in text reach
//! the log bounded; a row the database still refuses is left out alone,
//! counted with its template, and the writer goes on writing.

use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use tokio::sync::mpsc;

use super::{TestDb, fired};
use crate::alert::{Alert, AlertId, Decision, TemplateId};
use crate::store::bound::{self, MAX_KEY_BYTES};
use crate::store::{AlertLog, AlertRecord, Backend, Split, StatusCounts, Written, run_writer};
use crate::telemetry::metrics;

on_both_backends!(
    oversized_keys_and_nul_text_are_logged_bounded_among_good_rows,
    a_refused_row_is_left_out_alone_and_the_writer_keeps_writing,
    rows_the_database_cannot_store_are_split_out_of_their_batch,
);

const HOUR: Duration = Duration::from_secs(3600);

/// `fired(n)` with another template and key (the id follows them).
fn keyed(n: u32, template: &str, key: &str) -> Arc<Alert> {
    let mut a = (*fired(n)).clone();
    a.template = TemplateId::new(template);
    a.key = key.to_owned();
    a.id = AlertId::derive(&a.template, &a.key, &a.event.id);
    Arc::new(a)
}

/// `len` hex digits with no repeats for Postgres' compression to find: an
/// index entry is compressed before its size is checked, so a key of one
/// repeated letter would fit.
fn incompressible(len: usize) -> String {
    use sha2::{Digest, Sha256};
    let mut out = String::with_capacity(len + 64);
    let mut block = Sha256::digest(b"seed");
    while out.len() < len {
        out.push_str(&hex::encode(block));
        block = Sha256::digest(block);
    }
    out.truncate(len);
    out
}

/// Poll until the log holds `rows` rows (for at most ~10 s).
async fn wait_for_rows(log: &AlertLog, rows: u64) {
    for _ in 0..1000 {
        let c = log.count_by_status().await.unwrap();
        if c.fired + c.suppressed >= rows {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("alert log never reached {rows} rows");
}

async fn stored_keys(log: &AlertLog, template: &str) -> Vec<String> {
    let rows = sqlx::query("SELECT alert_key FROM alert_log WHERE template = $1 ORDER BY id")
        .bind(template)
        .fetch_all(&log.pool)
        .await
        .unwrap();
    rows.iter().map(|r| r.get::<String, _>(0)).collect()
}

async fn oversized_keys_and_nul_text_are_logged_bounded_among_good_rows(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let (tx, rx) = mpsc::channel(64);
    let writer = tokio::spawn(run_writer(log.clone(), rx, 6, HOUR));
    // Two 8 KB keys that differ only in their last byte.
    let long = |last: char| format!("{}{last}", incompressible(8 * 1024));
    let mut nul = (*keyed(3, "long-keys", "nul\0key")).clone();
    nul.title = "nul \0 in the title".into();
    nul.fields = vec![("n\0".into(), "v\0".into())];
    nul.decision = Decision::Suppress("reason with \0".into());
    let batch = [
        fired(1),
        keyed(2, "long-keys", &long('a')),
        Arc::new(nul),
        keyed(4, "long-keys", &long('b')),
    ];
    for a in batch.iter().cloned().chain([fired(5), fired(6)]) {
        tx.send(a).await.unwrap();
    }
    wait_for_rows(&log, 6).await;

    let keys = stored_keys(&log, "long-keys").await;
    assert_eq!(keys.len(), 3, "{keys:?}");
    let mut want = vec![bound::key(&long('a')).into_owned(), bound::key(&long('b')).into_owned()];
    want.push("nul\u{FFFD}key".into());
    want.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(got, want, "distinct long keys stay distinct");
    assert!(keys.iter().all(|k| k.len() <= MAX_KEY_BYTES));
    let row =
        log.fetch_recent(10).await.unwrap().into_iter().find(|r| r.id == batch[2].id).unwrap();
    assert_eq!(row.title, "nul \u{FFFD} in the title");
    assert_eq!(row.fields, "{\"n\u{FFFD}\":\"v\u{FFFD}\"}");
    assert_eq!(row.reason.as_deref(), Some("reason with \u{FFFD}"));

    // A later batch is written as usual.
    for n in 7..13 {
        tx.send(fired(n)).await.unwrap();
    }
    wait_for_rows(&log, 12).await;
    drop(tx);
    let summary = writer.await.unwrap().unwrap();
    assert_eq!((summary.fired, summary.suppressed, summary.rejected), (11, 1, 0));
    log.close().await;
}

/// Make the database itself refuse rows whose key is `poison`, the way a
/// constraint or an index limit would.
async fn refuse_poison(log: &AlertLog) {
    let sql = match log.backend() {
        Backend::Sqlite => {
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON alert_log \
             WHEN NEW.alert_key = 'poison' BEGIN SELECT RAISE(ABORT, 'poison row'); END"
        }
        Backend::Postgres => {
            "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN \
               IF NEW.alert_key = 'poison' THEN \
                 RAISE EXCEPTION 'poison row' USING ERRCODE = 'check_violation'; \
               END IF; RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER refuse_poison BEFORE INSERT ON alert_log \
               FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
        }
    };
    sqlx::raw_sql(sql).execute(&mut *log.pool.acquire().await.unwrap()).await.unwrap();
}

async fn a_refused_row_is_left_out_alone_and_the_writer_keeps_writing(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    refuse_poison(&log).await;
    // Metrics are process-wide: a template of this test's own.
    let template = format!("refused-{}", log.backend());
    let rejected = metrics().alert_log_rows_rejected.with_label_values(&[&template]);
    let before = rejected.get();
    let (tx, rx) = mpsc::channel(64);
    let writer = tokio::spawn(run_writer(log.clone(), rx, 7, HOUR));
    // One full batch: three good rows, the poison row, three good rows.
    let good = (0..6).map(|n| keyed(n, &template, &format!("good-{n}")));
    for (i, a) in good.enumerate() {
        if i == 3 {
            tx.send(keyed(99, &template, "poison")).await.unwrap();
        }
        tx.send(a).await.unwrap();
    }
    wait_for_rows(&log, 6).await;

    // The writer is still up: a later batch is written.
    for n in 10..17 {
        tx.send(fired(n)).await.unwrap();
    }
    wait_for_rows(&log, 13).await;
    // Batches are written one after the other: the first one's count is in.
    assert_eq!(rejected.get() - before, 1, "counted once, with its template");
    drop(tx);
    let summary = writer.await.unwrap().unwrap();
    assert_eq!((summary.received, summary.fired, summary.rejected), (14, 13, 1));
    assert_eq!(log.count_by_status().await.unwrap(), StatusCounts { fired: 13, suppressed: 0 });
    let keys = stored_keys(&log, &template).await;
    assert_eq!(keys.len(), 6);
    assert!(!keys.iter().any(|k| k == "poison"));
    log.close().await;
}

/// Unbounded rows, as they were before `bound.rs`: Postgres refuses an
/// 8 KB indexed key and NUL in text; SQLite stores both. Either way every good row is
/// written and nothing is lost.
async fn rows_the_database_cannot_store_are_split_out_of_their_batch(db: TestDb) {
    let log = AlertLog::open(&db.url).await.unwrap();
    let mut rows: Vec<AlertRecord> = (0..9).map(|n| AlertRecord::from_alert(&fired(n))).collect();
    rows[2].alert_key = incompressible(8 * 1024);
    rows[6].title = "nul \0".into();
    let whole = log.write(&rows).await;
    // Split as the writer does.
    let (mut split, mut written) = (Split::new(rows.len()), Written::default());
    while let Some(r) = split.next() {
        match log.write(&rows[r.clone()]).await {
            Ok(w) => written += w,
            Err(error) if error.is_refusal() => split.refuse(r, error),
            Err(error) => panic!("not a refusal: {error:?}"),
        }
    }
    let reasons: Vec<(usize, String)> =
        split.into_refused().iter().map(|(i, e)| (*i, crate::store::error_chain(e))).collect();
    let refused: Vec<usize> = reasons.iter().map(|(i, _)| *i).collect();
    match log.backend() {
        Backend::Postgres => {
            let error = whole.unwrap_err();
            assert!(error.is_refusal(), "{error:?}");
            assert_eq!(refused, [2, 6]);
            assert_eq!(written.fired, 7);
            // 8 KB exceeds even the page-wide limit, so Postgres says so
            // rather than naming the 2704-byte btree maximum.
            assert!(reasons[0].1.contains("index row requires"), "{reasons:?}");
            assert!(reasons[1].1.contains("0x00"), "{reasons:?}");
        }
        Backend::Sqlite => {
            assert_eq!(whole.unwrap().fired, 9);
            assert!(refused.is_empty());
            assert_eq!(written.duplicates, 9);
        }
    }
    log.close().await;
}

//! The embedded store: written behind, restored, bounded.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::alert::{Severity, TemplateId};
use crate::state::flush::{Journaled, StateSink, run_flusher};
use crate::state::journal::{Journal, JournaledHistory, JournaledKv};
use crate::state::sqlite::SqliteSink;
use crate::state::{
    HistoryBound, HistoryStore, KvQuota, KvStore, MemoryHistory, MemoryKv, Outcome,
};

const BOUND: HistoryBound = HistoryBound { keys: 1000, ttl_ms: 3_600_000 };
const QUOTA: KvQuota = KvQuota { keys: 100, bytes: 1 << 20 };

fn stores() -> (Arc<JournaledHistory>, Arc<JournaledKv>, Arc<Notify>) {
    let wake = Arc::new(Notify::new());
    let h = JournaledHistory {
        live: MemoryHistory::default(),
        journal: Journal::new(64, wake.clone()),
    };
    let kv = JournaledKv { live: MemoryKv::new(), journal: Journal::new(64, wake.clone()) };
    (Arc::new(h), Arc::new(kv), wake)
}

/// Run a flusher over `changes`, then stop it (the final flush writes).
async fn write_behind(
    path: &std::path::Path,
    changes: impl FnOnce(&JournaledHistory, &JournaledKv),
) {
    let (h, kv, wake) = stores();
    let sink = SqliteSink::open(Some(path)).await.unwrap();
    let stop = CancellationToken::new();
    let journaled = Journaled { history: Some(h.clone()), kv: kv.clone() };
    let task =
        tokio::spawn(run_flusher(sink, journaled, wake, Duration::from_secs(3600), stop.clone()));
    changes(&h, &kv);
    stop.cancel();
    task.await.unwrap();
}

async fn restored(
    path: &std::path::Path,
    bound: HistoryBound,
    quota: KvQuota,
    wall_now: Option<u64>,
) -> (MemoryHistory, MemoryKv) {
    let (h, kv) = (MemoryHistory::default(), MemoryKv::new());
    let sink = SqliteSink::open(Some(path)).await.unwrap();
    let limits = move |t: &TemplateId| (t.as_str() != "gone").then_some((bound, quota));
    sink.restore(&h, &kv, &limits, wall_now).await.unwrap();
    StateSink::close(sink).await;
    (h, kv)
}

#[tokio::test]
async fn history_and_kv_survive_a_restart_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.state.db");
    let t = TemplateId::new("t");
    write_behind(&path, |h, kv| {
        let fire = Outcome::Fired { severity: Severity::Critical, value: 0.1 + 0.2 };
        h.record(&t, "BTCUSDT", fire, 1_000, BOUND);
        h.record(&t, "BTCUSDT", Outcome::Suppressed, 1_500, BOUND);
        h.record(&TemplateId::new("gone"), "x", Outcome::Suppressed, 1_500, BOUND);
        kv.set(&t, "sum", "42".into(), None, 1_000, QUOTA).unwrap();
        kv.set(&t, "tmp", "1".into(), Some(5_000), 1_000, QUOTA).unwrap();
        kv.set(&t, "deleted", "1".into(), None, 1_000, QUOTA).unwrap();
        kv.delete(&t, "deleted");
    })
    .await;
    let (h, kv) = restored(&path, BOUND, QUOTA, None).await;
    let got = h.get(&t, "BTCUSDT", 2_000);
    assert_eq!(got.last_fired_ms, Some(1_000));
    assert_eq!(got.last_value, Some(0.1 + 0.2), "values round-trip exactly");
    assert_eq!(
        (got.last_severity, got.fires, got.suppressed_since_fire),
        (Some(Severity::Critical), 1, 1)
    );
    assert_eq!(h.entry(&t, "BTCUSDT").map(|(_, seen)| seen), Some(1_500));
    assert!(h.entry(&TemplateId::new("gone"), "x").is_none(), "unconfigured templates stay out");
    assert_eq!(kv.get(&t, "sum", 1_200).as_deref(), Some("42"));
    assert_eq!(kv.get(&t, "tmp", 1_200).as_deref(), Some("1"), "TTL kept in host time");
    assert_eq!(kv.get(&t, "tmp", 6_000), None);
    assert_eq!(kv.get(&t, "deleted", 1_200), None);
}

#[tokio::test]
async fn bounds_hold_in_the_file_and_on_restore() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.state.db");
    let t = TemplateId::new("t");
    let bound = HistoryBound { keys: 10, ttl_ms: 1_000_000 };
    write_behind(&path, |h, kv| {
        for i in 0..50u64 {
            h.record(&t, &format!("k{i}"), Outcome::Suppressed, 1_000 + i, bound);
        }
        for i in 0..20 {
            kv.set(&t, &format!("k{i:02}"), "v".into(), None, 0, QUOTA).unwrap();
        }
    })
    .await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM history").fetch_one(&pool).await.unwrap();
    assert!(n <= 10, "the file keeps at most history_keys per template: {n}");
    pool.close().await;
    // A lowered bound and quota hold on restore: the newest keys are kept.
    let (h, kv) = restored(
        &path,
        HistoryBound { keys: 3, ttl_ms: 1_000_000 },
        KvQuota { keys: 5, bytes: 1 << 20 },
        None,
    )
    .await;
    let kept: Vec<bool> = (45..50).map(|i| h.entry(&t, &format!("k{i}")).is_some()).collect();
    assert_eq!(kept, [false, false, true, true, true]);
    assert_eq!(kv.usage(&t, 0).keys, 5);
    // Live runs drop history past its TTL in wall time.
    let (h, _) =
        restored(&path, HistoryBound { keys: 10, ttl_ms: 1_000 }, QUOTA, Some(1_000_000)).await;
    assert!(h.entry(&t, "k49").is_none());
}

//! The Redis backend on the local server, each test under its own prefix.

use std::sync::Arc;
use std::time::Duration;

use crate::alert::{History, Severity, TemplateId};
use crate::state::flush::{Batch, KvRow, StateSink};
use crate::state::redis::{Redis, RedisHistory, RedisSink, fetch_kv};
use crate::state::{Committed, HistoryBound, HistoryStore, KvQuota, Outcome, Record, health};

const URL: &str = "redis://127.0.0.1:6379";
const BOUND: HistoryBound = HistoryBound { keys: 1000, ttl_ms: 3_600_000 };
const FIRE: Outcome = Outcome::Fired { severity: Severity::Warning, value: 1.5 };

/// A client under a prefix no other test uses, or `None` (reason printed)
/// when the local Redis is down and `KLAXON_REQUIRE_SERVICES` is unset.
pub fn redis(test: &str) -> Option<Arc<Redis>> {
    let prefix = format!("klaxon-test:{}:{test}:{}:", std::process::id(), rand::random::<u32>());
    let r = Redis::new(URL, &prefix, Duration::from_secs(2)).unwrap();
    match r.run(|con| redis::cmd("PING").query::<String>(con)) {
        Ok(_) => Some(Arc::new(r)),
        Err(e) if std::env::var_os("KLAXON_REQUIRE_SERVICES").is_some() => {
            panic!("Redis at {URL} is required (KLAXON_REQUIRE_SERVICES): {e}")
        }
        Err(e) => {
            eprintln!("skipping: Redis at {URL} unreachable: {e}");
            None
        }
    }
}

/// A second client (its own connections) on the same prefix: another host.
fn other_host(r: &Redis) -> Arc<Redis> {
    Arc::new(Redis::new(URL, r.prefix(), Duration::from_secs(2)).unwrap())
}

fn count(r: &Redis, cmd: &str, key: String) -> i64 {
    r.run(|con| redis::cmd(cmd).arg(key).query(con)).unwrap()
}

#[test]
fn two_hosts_claiming_one_key_at_once_fire_it_once() {
    let Some(r) = redis("claim") else { return };
    let t = TemplateId::new("t");
    // Eight rounds; in each, two hosts on two threads decide the same 50
    // keys at once from the same (stale) history: every key fires once.
    for round in 0..8u64 {
        let now = 1_000_000 + round * 10_000_000;
        let hosts =
            [Arc::new(RedisHistory::new(r.clone())), Arc::new(RedisHistory::new(other_host(&r)))];
        let keys: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
        let seen: Vec<History> = {
            let ask: Vec<_> = keys.iter().map(|k| (&t, k.as_str(), now)).collect();
            hosts[0].get_many(&ask)
        };
        let results: Vec<Vec<Committed>> = std::thread::scope(|s| {
            let handles: Vec<_> = hosts
                .iter()
                .map(|h| {
                    let (keys, seen, t) = (&keys, &seen, &t);
                    s.spawn(move || {
                        let records: Vec<Record<'_>> = keys
                            .iter()
                            .zip(seen)
                            .map(|(key, seen)| Record {
                                template: t,
                                key,
                                outcome: FIRE,
                                now_ms: now,
                                bound: BOUND,
                                seen,
                            })
                            .collect();
                        h.commit(&records)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for i in 0..keys.len() {
            let won = results.iter().filter(|r| r[i] == Committed::Recorded).count();
            assert_eq!(won, 1, "round {round}, key {i}: {results:?}");
        }
        let after = hosts[1].get(&t, "k0", now);
        assert_eq!(
            (after.last_fired_ms, after.fires, after.suppressed_since_fire),
            (Some(now), round as u32 + 1, 1)
        );
        assert_eq!(after.last_value, Some(1.5));
    }
}

#[test]
fn history_keys_bound_holds_in_redis() {
    let Some(r) = redis("bound") else { return };
    let h = RedisHistory::new(r.clone());
    let t = TemplateId::new("t");
    let bound = HistoryBound { keys: 10, ttl_ms: 1_000 };
    for i in 0..100u64 {
        h.record(&t, &format!("k{i}"), Outcome::Suppressed, 10_000 + i, bound);
    }
    assert!(count(&r, "HLEN", r.key("h", "t")) <= 10);
    assert!(count(&r, "ZCARD", r.key("hs", "t")) <= 10);
    assert_eq!(h.get(&t, "k99", 10_100).suppressed_since_fire, 1);
    assert_eq!(h.get(&t, "k0", 10_100), History::default(), "least recently seen forgotten");
    // Much later every key has expired: one new key clears them all.
    h.record(&t, "late", Outcome::Suppressed, 50_000, bound);
    assert_eq!(count(&r, "HLEN", r.key("h", "t")), 1);
    let pttl = count(&r, "PTTL", r.key("h", "t"));
    assert!(pttl > 0 && pttl <= 1_000, "the template's history expires after history_ttl: {pttl}");
}

fn kv_batch(template: &str, keys: std::ops::Range<u32>, value: &str, quota: KvQuota) -> Batch {
    let t = TemplateId::new(template);
    Batch {
        kv: keys
            .map(|i| KvRow {
                template: t.clone(),
                key: format!("k{i}"),
                value: Some((value.to_owned(), None)),
            })
            .collect(),
        quotas: vec![(t, quota)],
        ..Batch::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_quotas_hold_for_all_hosts_together() {
    let Some(r) = redis("kv") else { return };
    let quota = KvQuota { keys: 5, bytes: 1 << 20 };
    // Two hosts each within their own view of the quota (3 keys), 6 together.
    let mut a = RedisSink { redis: r.clone() };
    let mut b = RedisSink { redis: other_host(&r) };
    a.write(kv_batch("t", 0..3, "v", quota)).await.unwrap();
    b.write(kv_batch("t", 3..6, "v", quota)).await.unwrap();
    assert_eq!(count(&r, "HLEN", r.key("kv", "t")), 5, "kv_keys holds across hosts");
    let refused =
        crate::state::health::metrics().kv_refused.with_label_values(&["t", "kv_keys"]).get();
    assert!(refused >= 1);
    // Bytes: each write fits, together they do not.
    let quota = KvQuota { keys: 100, bytes: 40 };
    a.write(kv_batch("u", 0..2, &"x".repeat(15), quota)).await.unwrap();
    b.write(kv_batch("u", 2..4, &"x".repeat(15), quota)).await.unwrap();
    let bytes: i64 = r.run(|con| redis::cmd("GET").arg(r.key("kvb", "u")).query(con)).unwrap();
    assert_eq!((count(&r, "HLEN", r.key("kv", "u")), bytes), (2, 34));
    // Overwrites and deletes give room back; expiry is in host time.
    let t = TemplateId::new("u");
    let rows = vec![
        KvRow { template: t.clone(), key: "k0".into(), value: None },
        KvRow { template: t.clone(), key: "k9".into(), value: Some(("y".into(), Some(5_000))) },
    ];
    a.write(Batch {
        kv: rows,
        quotas: vec![(t.clone(), quota)],
        now_ms: 1_000,
        ..Batch::default()
    })
    .await
    .unwrap();
    let restored = fetch_kv(&r).unwrap();
    let u = restored.iter().find(|(t, _)| t.as_str() == "u").unwrap();
    let mut entries = u.1.clone();
    entries.sort();
    assert_eq!(
        entries,
        [("k1".into(), "x".repeat(15), None), ("k9".into(), "y".into(), Some(5_000))]
    );
}

#[test]
fn an_unreachable_redis_degrades_and_decisions_go_on_locally() {
    // Nothing listens on port 1.
    let r = Arc::new(
        Redis::new("redis://127.0.0.1:1", "klaxon-test:down:", Duration::from_millis(200)).unwrap(),
    );
    let h = RedisHistory::new(r);
    let t = TemplateId::new("t");
    assert_eq!(h.get(&t, "k", 1), History::default());
    let seen = History::default();
    let records =
        [Record { template: &t, key: "k", outcome: FIRE, now_ms: 5, bound: BOUND, seen: &seen }];
    assert_eq!(h.commit(&records), [Committed::Recorded], "fail open: the alert fires");
    assert_eq!(h.get(&t, "k", 6).last_fired_ms, Some(5), "from the local copy");
    // Counted (other tests may have cleared the shared `/ready` note since).
    let errors = crate::state::health::metrics().errors.with_label_values(&["redis", "commit"]);
    assert!(errors.get() >= 1);
    let _ = health().failing();
}

//! The outbox and the queues: dead letters and resends, restart after a
//! crash, a blackholed channel, folding under a spent budget.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::mock::{MockService, Resp};
use super::{FAST, deliveries, rows, run, sink, sqlite};
use crate::deliver::drain_channel;
use crate::sinks::remote::DeliveryOptions;
use crate::store::{DeliveryRecord, DeliveryStatus};

fn hook(mock: &MockService, extra: &str) -> crate::sinks::SinkConfig {
    sink(&format!("type = \"webhook\"\nurl = \"{}\"\n{extra}", mock.url("/hook")))
}

#[tokio::test]
async fn a_failing_channel_dead_letters_then_resend_delivers_once_it_recovers() {
    let mock = MockService::start(|_, _| Resp::new(500, "down"));
    let db = sqlite().await;
    let summary = run(&db, "hook", hook(&mock, FAST), &[], deliveries(3, |i| format!("{i}"))).await;
    assert_eq!(summary.delivered, 0);
    let dead = rows(&db, DeliveryStatus::Dead).await;
    let all = db.log.deliveries(&Default::default()).await.unwrap();
    let states: Vec<_> = all.iter().map(|r| (r.status, r.attempts, r.last_error.clone())).collect();
    assert_eq!(dead.len(), 3, "{states:?} after {} requests", mock.log().len());
    assert!(
        dead.iter().all(|r| r.attempts == 4 && r.last_error.as_deref() == Some("HTTP 500: down"))
    );
    assert_eq!(mock.log().len(), 12, "4 attempts each, then no more");

    mock.set(|_, _| Resp::ok(200, "ok"));
    assert_eq!(db.log.resend(&[], None).await.unwrap(), 3);
    let config = hook(&mock, FAST);
    let sink = Arc::new(config.build_remote(&|_| None).unwrap().unwrap());
    let opts = config.delivery().unwrap().clone();
    let summary = drain_channel("hook", sink, db.log.clone(), opts, Duration::from_secs(10)).await;
    assert_eq!(summary.sent, 3);
    assert_eq!(mock.accepted().len(), 3);
    assert!(rows(&db, DeliveryStatus::Dead).await.is_empty());
}

#[tokio::test]
async fn on_restart_pending_rows_resume_and_sent_rows_are_never_resent() {
    let mock = MockService::start(|_, _| Resp::ok(200, "ok"));
    let db = sqlite().await;
    // What a crash leaves: one row sent, two pending, one failed mid-retry.
    let recs: Vec<DeliveryRecord> = deliveries(4, |i| format!("{i}"))
        .iter()
        .map(|d| DeliveryRecord::pending(d, "hook", false))
        .collect();
    db.log.enqueue(&recs).await.unwrap();
    let id = |i: usize| recs[i].out.delivery_id.clone();
    db.log.mark(&[id(0)], DeliveryStatus::Sent, 0, None, None).await.unwrap();
    db.log.mark(&[id(3)], DeliveryStatus::Failed, 2, Some("timed out"), None).await.unwrap();
    run(&db, "hook", hook(&mock, FAST), &[], Vec::new()).await;
    let ids: Vec<String> =
        mock.accepted().iter().map(|r| r.header("webhook-id").unwrap().to_owned()).collect();
    assert_eq!(ids, [id(1), id(2), id(3)], "in queue order, the sent one skipped");
    assert_eq!(rows(&db, DeliveryStatus::Sent).await.len(), 4);
}

#[tokio::test]
async fn a_blackholed_channel_blocks_neither_intake_nor_other_channels() {
    let hole = MockService::start(|_, _| Resp::hang());
    let good = MockService::start(|_, _| Resp::ok(200, "ok"));
    let db = sqlite().await;
    let fast = FAST
        .replace("timeout = \"2s\"", "timeout = \"300ms\"")
        .replace("shutdown_grace = \"10s\"", "shutdown_grace = \"100ms\"");
    let mut txs = Vec::new();
    let mut tasks = Vec::new();
    // The hole never dead-letters here: its first alert keeps retrying.
    let patient = fast.replace("attempts = 4", "attempts = 1000000");
    for (name, mock, opts) in [("hole", &hole, &patient), ("good", &good, &fast)] {
        let (tx, rx) = mpsc::channel(2);
        let (config, log) = (hook(mock, opts), db.log.clone());
        tasks.push(tokio::spawn(async move {
            crate::deliver::run_channel(config, name.into(), log, rx, Default::default(), &|_| None)
                .await
        }));
        txs.push(tx);
    }
    // Like an evaluate worker: every delivery goes to both channels. The
    // blackholed one's queue (capacity 2) never fills, because its intake
    // only writes to the outbox.
    for d in deliveries(30, |i| format!("{i}")) {
        let d = Arc::new(d);
        for tx in &txs {
            tokio::time::timeout(Duration::from_secs(5), tx.send(d.clone()))
                .await
                .expect("intake blocked")
                .unwrap();
        }
    }
    let start = std::time::Instant::now();
    while good.accepted().len() < 30 {
        assert!(start.elapsed() < Duration::from_secs(30), "good channel did not deliver");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(txs);
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let first = db.log.due("hole", 1).await.unwrap()[0].out.delivery_id.clone();
    assert!(
        hole.log().iter().all(|(q, _)| q.header("webhook-id") == Some(first.as_str())),
        "the hole only ever saw retries of its first alert"
    );
    let pending = db.log.due("hole", 100).await.unwrap();
    assert_eq!(pending.len(), 30, "the hole's backlog waits in the outbox");
}

#[tokio::test]
async fn a_spent_budget_folds_waiting_alerts_into_one_counted_message() {
    let mock = MockService::start(|_, _| Resp::ok(200, "ok"));
    let db = sqlite().await;
    let opts = "delivery = { per_minute = 60, burst = 1, fold = true, fold_max = 20, poll_interval = \"20ms\" }";
    run(&db, "hook", hook(&mock, opts), &[], deliveries(6, |i| format!("alert {i}"))).await;
    let bodies: Vec<(u64, String)> = mock
        .accepted()
        .iter()
        .map(|r| {
            (
                r.json()["data"]["alerts"].as_u64().unwrap(),
                r.json()["data"]["body"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // The first goes at once; the rest wait for the budget and fold (in
    // one or two messages, depending on how the intake batched them).
    assert_eq!(bodies[0], (1, "alert 0".to_owned()));
    assert!(bodies.len() <= 3, "{bodies:?}");
    assert_eq!(bodies.iter().map(|(n, _)| n).sum::<u64>(), 6, "{bodies:?}");
    assert!(bodies[1..].iter().all(|(n, b)| *n > 1 && b.starts_with(&format!("{n} alerts"))));
    for i in 1..6 {
        assert!(bodies.iter().any(|(_, b)| b.contains(&format!("alert {i}"))));
    }
    let sent = rows(&db, DeliveryStatus::Sent).await;
    assert_eq!(sent.len(), 6, "every folded alert is accounted for");
    assert_eq!(sent.iter().filter(|r| r.folded_into.is_some()).count(), 6 - bodies.len());
    let _ = DeliveryOptions::default();
}

#[tokio::test]
async fn alerts_over_an_owner_cap_are_held_then_released_as_one_digest_when_the_window_ends() {
    use std::collections::BTreeMap;

    use crate::deliver::{OwnerCaps, OwnerConfig};
    let mock = MockService::start(|_, _| Resp::ok(200, "ok"));
    let db = sqlite().await;
    let template: crate::config::TemplateConfig =
        toml::from_str("owner = \"alice-q\"\nfilter = { plugin = \"amount-threshold\" }").unwrap();
    let owners = BTreeMap::from([(
        "alice-q".to_owned(),
        OwnerConfig { alerts_per_hour: 2, window: Duration::from_millis(300) },
    )]);
    let caps =
        Arc::new(OwnerCaps::new(&owners, &BTreeMap::from([("whale-trades".to_owned(), template)])));
    let (tx, rx) = mpsc::channel(8);
    let (config, log) = (hook(&mock, FAST), db.log.clone());
    let task = tokio::spawn(async move {
        crate::deliver::run_channel(config, "hook".into(), log, rx, caps.into(), &|_| None).await
    });
    for d in deliveries(5, |i| format!("alert {i}")) {
        tx.send(Arc::new(d)).await.unwrap();
    }
    // Released by the window's end while the channel is still open.
    let start = std::time::Instant::now();
    while mock.accepted().len() < 3 {
        assert!(start.elapsed() < Duration::from_secs(30), "no digest");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let held = mock.accepted()[2].json();
    assert_eq!(held["data"]["alerts"], 3);
    assert!(held["data"]["body"].as_str().unwrap().contains("owner alice-q"));
    // Counted, never silent: the three over the cap, under their owner.
    let counted = crate::telemetry::metrics().owner_held.with_label_values(&["alice-q"]).get();
    assert_eq!(counted, 3);
    drop(tx);
    task.await.unwrap().unwrap();
    assert_eq!(mock.accepted().len(), 3);
    assert_eq!(rows(&db, DeliveryStatus::Sent).await.len(), 5);
}

#[tokio::test]
async fn a_time_window_digest_groups_a_templates_alerts_into_one_message() {
    use std::collections::BTreeMap;

    use crate::deliver::OwnerCaps;
    let mock = MockService::start(|_, _| Resp::ok(200, "ok"));
    let db = sqlite().await;
    let template: crate::config::TemplateConfig = toml::from_str(
        "filter = { plugin = \"amount-threshold\" }\n\
         digest = { wait = \"200ms\", interval = \"1h\", max_items = 2 }",
    )
    .unwrap();
    let templates = BTreeMap::from([("whale-trades".to_owned(), template)]);
    let caps = Arc::new(OwnerCaps::new(&BTreeMap::new(), &templates));
    let (tx, rx) = mpsc::channel(8);
    let (config, log) = (hook(&mock, FAST), db.log.clone());
    let task = tokio::spawn(async move {
        crate::deliver::run_channel(config, "hook".into(), log, rx, caps.into(), &|_| None).await
    });
    for d in deliveries(4, |i| format!("alert {i}")) {
        tx.send(Arc::new(d)).await.unwrap();
    }
    let start = std::time::Instant::now();
    while mock.accepted().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30), "no digest");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let digest = mock.accepted()[0].json();
    assert_eq!(digest["data"]["alerts"], 4);
    let body = digest["data"]["body"].as_str().unwrap();
    assert!(body.starts_with("4 alerts (digest of whale-trades)"), "{body}");
    assert!(body.contains("alert 0") && body.contains("alert 1") && !body.contains("alert 2"));
    assert!(body.ends_with("...and 2 more"), "{body}");
    // The next alert waits for the interval; at shutdown it goes out anyway.
    tx.send(Arc::new(deliveries(5, |i| format!("alert {i}")).pop().unwrap())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(mock.accepted().len(), 1, "held for the interval");
    drop(tx);
    task.await.unwrap().unwrap();
    assert_eq!(mock.accepted().len(), 2);
    assert_eq!(rows(&db, DeliveryStatus::Sent).await.len(), 5);
}

/// A window formatter that answers two messages per window (as a group
/// over `digest_bytes` is split), and remembers the alerts it was handed.
#[derive(Default)]
struct Halves {
    seen: std::sync::Mutex<Vec<(String, String)>>,
}

impl crate::deliver::DigestFormat for Halves {
    fn format_digest(
        &self,
        template: &str,
        alerts: &[Arc<crate::alert::Alert>],
    ) -> Option<Vec<(usize, crate::alert::Message)>> {
        let mut seen = self.seen.lock().unwrap();
        seen.extend(alerts.iter().map(|a| (a.id.0.clone(), a.event.id.clone())));
        let first = alerts.len().div_ceil(2);
        let message = |n: usize, from: usize| crate::alert::Message {
            title: format!("{n} of {template}"),
            body: format!("formatted {n}, from {}", alerts[from].event.id),
            markup: crate::alert::Markup::Plain,
        };
        Some(vec![
            (first, message(first, 0)),
            (alerts.len() - first, message(alerts.len() - first, first)),
        ])
    }
}

#[tokio::test]
async fn a_closed_window_is_formatted_by_its_formatter_from_the_alerts_kept_in_the_outbox() {
    use std::collections::BTreeMap;

    use crate::deliver::{Holds, OwnerCaps};
    let mock = MockService::start(|_, _| Resp::ok(200, "ok"));
    let db = sqlite().await;
    let template: crate::config::TemplateConfig = toml::from_str(
        "filter = { plugin = \"amount-threshold\" }\ndigest = { wait = \"200ms\", interval = \"1h\" }",
    )
    .unwrap();
    let templates = BTreeMap::from([("whale-trades".to_owned(), template)]);
    let halves = Arc::new(Halves::default());
    let holds = Holds {
        caps: Arc::new(OwnerCaps::new(&BTreeMap::new(), &templates)),
        digests: Some(halves.clone()),
    };
    let (tx, rx) = mpsc::channel(8);
    let (config, log) = (hook(&mock, FAST), db.log.clone());
    let task = tokio::spawn(async move {
        crate::deliver::run_channel(config, "hook".into(), log, rx, holds, &|_| None).await
    });
    let sent = deliveries(5, |i| format!("alert {i}"));
    let expected: Vec<(String, String)> =
        sent.iter().map(|d| (d.alert.id.0.clone(), d.alert.event.id.clone())).collect();
    for d in sent {
        tx.send(Arc::new(d)).await.unwrap();
    }
    let start = std::time::Instant::now();
    while mock.accepted().len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(30), "no digest");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(tx);
    task.await.unwrap().unwrap();
    // The formatter got every alert back from its outbox row, in order.
    assert_eq!(*halves.seen.lock().unwrap(), expected);
    let got: Vec<(u64, String)> = mock
        .accepted()
        .iter()
        .map(|r| {
            let d = &r.json()["data"];
            (d["alerts"].as_u64().unwrap(), d["body"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        got,
        [
            (3, "formatted 3, from binance:BTCUSDT:a:0".to_owned()),
            (2, "formatted 2, from binance:BTCUSDT:a:3".to_owned())
        ]
    );
    let sent = rows(&db, DeliveryStatus::Sent).await;
    assert_eq!(sent.len(), 5, "every alert accounted for");
    assert_eq!(sent.iter().filter(|r| r.folded_into.is_some()).count(), 3);
    assert!(sent.iter().all(|r| r.alert.is_none()), "a sent row no longer keeps its alert");
}

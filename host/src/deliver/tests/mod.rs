//! Delivery against local mock services that answer like the real ones
//! (`tests/support/mock_service.rs`), with a real SQLite outbox.
//!
//! * `services`: each sink's wire format and its "slow down" signals, with
//!   every alert delivered exactly once.
//! * `queueing`: dead letters and resends, restart, a blackholed channel,
//!   folding under a spent budget.
//! * `refused`: a refused alert row leaves no delivery and costs no other.
//! * `defaults`: pacing and folding at the sinks' real default limits.
//!
//! Waits in configs are milliseconds; tests assert what was sent and what
//! the outbox says, and only lower bounds on the gaps a service asked for.

mod defaults;
mod queueing;
mod refused;
mod services;

#[path = "../../../../tests/support/mock_service.rs"]
pub(crate) mod mock;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::alert::Delivery;
use crate::sinks::{SinkConfig, SinkSummary};
use crate::store::{AlertLog, DeliveryQuery, DeliveryRecord, DeliveryStatus};

pub(crate) struct Db {
    pub log: AlertLog,
    _dir: tempfile::TempDir,
}

pub(crate) async fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let log =
        AlertLog::open(&format!("sqlite://{}", dir.path().join("a.db").display())).await.unwrap();
    Db { log, _dir: dir }
}

/// `toml` (one sink table) with fast test delivery options appended.
pub(crate) fn sink(toml_text: &str) -> SinkConfig {
    toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}\n{toml_text}"))
}

/// Fast delivery options for tests, as a TOML inline table.
pub(crate) const FAST: &str = "delivery = { attempts = 4, min_backoff = \"5ms\", max_backoff = \"20ms\", \
    timeout = \"2s\", per_minute = 600000, burst = 1000, fold = false, poll_interval = \"20ms\", \
    shutdown_grace = \"10s\" }";

/// Run `config` as channel `name` over `deliveries`, then close and wait.
pub(crate) async fn run(
    db: &Db,
    name: &str,
    config: SinkConfig,
    env: &[(&str, String)],
    deliveries: Vec<Delivery>,
) -> SinkSummary {
    let env: HashMap<String, String> =
        env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let (tx, rx) = mpsc::channel(4);
    let (log, name) = (db.log.clone(), name.to_owned());
    let task = tokio::spawn(async move {
        let lookup = move |k: &str| env.get(k).cloned();
        crate::deliver::run_channel(config, name, log, rx, Default::default(), &lookup).await
    });
    for d in deliveries {
        tx.send(Arc::new(d)).await.unwrap();
    }
    drop(tx);
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("channel hung")
        .unwrap()
        .unwrap()
}

pub(crate) async fn rows(db: &Db, status: DeliveryStatus) -> Vec<DeliveryRecord> {
    db.log.deliveries(&DeliveryQuery { status: Some(status), ..Default::default() }).await.unwrap()
}

/// `n` deliveries with distinct alerts, body `body(i)`.
pub(crate) fn deliveries(n: u32, body: impl Fn(u32) -> String) -> Vec<Delivery> {
    (0..n).map(|i| crate::sinks::tests::delivery(i, &format!("Alert {i}"), &body(i))).collect()
}

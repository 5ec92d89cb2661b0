//! Connection state per live source, for `/ready` and for the
//! `klaxon_source_connections` gauge.
//!
//! A source declares how many connections it wants ([`health`]`().want`);
//! each open socket holds a [`ConnectionGuard`], so the count can never
//! outlive the socket, whatever way the session ends. Replay and synthetic
//! sources never register and so never hold readiness back.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use crate::telemetry::metrics;

/// One source's connections: open now, and wanted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkHealth {
    pub up: u32,
    pub want: u32,
}

impl LinkHealth {
    /// Ready means every wanted connection is open.
    pub fn ready(&self) -> bool {
        self.up >= self.want
    }
}

/// The process-wide table. Keyed by source name.
#[derive(Debug, Default)]
pub struct Health(Mutex<BTreeMap<String, LinkHealth>>);

pub fn health() -> &'static Health {
    static HEALTH: OnceLock<Health> = OnceLock::new();
    HEALTH.get_or_init(Health::default)
}

impl Health {
    /// Declare (or change) how many connections `source` wants.
    pub fn want(&self, source: &str, want: u32) {
        self.0.lock().expect("health poisoned").entry(source.to_owned()).or_default().want = want;
    }

    /// A source that stopped no longer counts for readiness.
    pub fn forget(&self, source: &str) {
        self.0.lock().expect("health poisoned").remove(source);
    }

    pub fn snapshot(&self) -> BTreeMap<String, LinkHealth> {
        self.0.lock().expect("health poisoned").clone()
    }

    fn add(&self, source: &str, delta: i32) {
        let mut table = self.0.lock().expect("health poisoned");
        let entry = table.entry(source.to_owned()).or_default();
        entry.up = entry.up.saturating_add_signed(delta);
        metrics().source_connections.with_label_values(&[source]).set(i64::from(entry.up));
    }
}

/// Counts one open connection of `source` for as long as it lives.
pub struct ConnectionGuard(String);

impl ConnectionGuard {
    pub fn open(source: &str) -> ConnectionGuard {
        health().add(source, 1);
        ConnectionGuard(source.to_owned())
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        health().add(&self.0, -1);
    }
}

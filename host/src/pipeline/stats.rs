//! Counters of one run, for `klaxon replay`'s summary and the tests.
//! Prometheus has the same numbers; these are cheap to read in-process.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct RunStats {
    pub events_in: AtomicU64,
    pub events_evaluated: AtomicU64,
    /// Events no template selected.
    pub events_unrouted: AtomicU64,
    pub evaluations: AtomicU64,
    pub evaluations_failed: AtomicU64,
    pub fired: AtomicU64,
    /// By bounded code (`policy`, `default_cooldown`, a policy's own code,
    /// at most a few per template), never by the policy's own text.
    suppressed: Mutex<BTreeMap<std::sync::Arc<str>, u64>>,
}

/// A point-in-time copy.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct StatsSnapshot {
    pub events_in: u64,
    pub events_evaluated: u64,
    pub events_unrouted: u64,
    pub evaluations: u64,
    pub evaluations_failed: u64,
    pub fired: u64,
    pub suppressed: BTreeMap<String, u64>,
}

impl RunStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn suppressed(&self, code: std::sync::Arc<str>) {
        *self.suppressed.lock().expect("stats poisoned").entry(code).or_default() += 1;
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            events_in: self.events_in.load(Ordering::Relaxed),
            events_evaluated: self.events_evaluated.load(Ordering::Relaxed),
            events_unrouted: self.events_unrouted.load(Ordering::Relaxed),
            evaluations: self.evaluations.load(Ordering::Relaxed),
            evaluations_failed: self.evaluations_failed.load(Ordering::Relaxed),
            fired: self.fired.load(Ordering::Relaxed),
            suppressed: (self.suppressed.lock().expect("stats poisoned").iter())
                .map(|(code, n)| (code.to_string(), *n))
                .collect(),
        }
    }
}

impl StatsSnapshot {
    pub fn suppressed_total(&self) -> u64 {
        self.suppressed.values().sum()
    }
}

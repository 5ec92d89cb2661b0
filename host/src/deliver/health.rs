//! Per-channel delivery health, for `/ready`: a channel whose last attempt
//! failed (or whose sink could not start) is named there as degraded until
//! a send succeeds again.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// One channel's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelHealth {
    /// The last error, while the channel cannot deliver.
    pub failing: Option<String>,
}

#[derive(Default)]
pub struct Health(Mutex<BTreeMap<String, ChannelHealth>>);

pub fn health() -> &'static Health {
    static HEALTH: OnceLock<Health> = OnceLock::new();
    HEALTH.get_or_init(Health::default)
}

impl Health {
    pub fn register(&self, name: &str) {
        self.0.lock().expect("health lock").entry(name.to_owned()).or_default();
    }

    pub fn set_ok(&self, name: &str) {
        self.0.lock().expect("health lock").insert(name.to_owned(), ChannelHealth::default());
    }

    /// `error` has been redacted by the sink already.
    pub fn set_failing(&self, name: &str, error: &str) {
        let mut map = self.0.lock().expect("health lock");
        map.entry(name.to_owned()).or_default().failing = Some(error.chars().take(200).collect());
    }

    /// `(channel, last error)` of every channel that cannot deliver now.
    pub fn failing(&self) -> Vec<(String, String)> {
        let map = self.0.lock().expect("health lock");
        map.iter().filter_map(|(n, h)| h.failing.clone().map(|e| (n.clone(), e))).collect()
    }
}

//! Trap accounting per plugin version, shared by every worker.
//!
//! A trap poisons one instance, which is rebuilt; a version that keeps
//! trapping is disabled (its failure policy applies from then on) and
//! reported once. A new version of the plugin starts with a clean record.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::telemetry::metrics;

use super::{PluginKind, PluginRef};

pub struct TrapLedger {
    threshold: u32,
    counts: Mutex<HashMap<PluginRef, u32>>,
}

impl TrapLedger {
    /// `threshold` traps disable a version; 0 never disables.
    pub fn new(threshold: u32) -> TrapLedger {
        TrapLedger { threshold, counts: Mutex::default() }
    }

    /// Record a trap; returns true if this trap disabled the version.
    pub fn record(&self, plugin: &PluginRef, kind: PluginKind, template: &str, trap: &str) -> bool {
        let m = metrics();
        m.plugin_traps.with_label_values(&[&plugin.name, &plugin.version, kind.as_str()]).inc();
        let mut counts = self.counts.lock().expect("trap ledger poisoned");
        let n = counts.entry(plugin.clone()).or_default();
        *n += 1;
        tracing::error!(%plugin, template, kind = kind.as_str(), trap, traps = *n, "Plugin trapped; rebuilding instance.");
        let disabled_now = self.threshold > 0 && *n == self.threshold;
        if disabled_now {
            m.plugin_disabled.with_label_values(&[&plugin.name, &plugin.version]).inc();
            tracing::error!(%plugin, traps = *n, "Plugin version disabled after repeated traps; its failure policy applies until a new version is deployed.");
        }
        disabled_now
    }

    pub fn is_disabled(&self, plugin: &PluginRef) -> bool {
        self.threshold > 0 && self.counts.lock().expect("trap ledger poisoned").get(plugin).is_some_and(|n| *n >= self.threshold)
    }

    /// Disabled versions and their trap counts, for `/ready` and the CLI.
    pub fn disabled(&self) -> Vec<(PluginRef, u32)> {
        let counts = self.counts.lock().expect("trap ledger poisoned");
        counts.iter().filter(|(_, n)| self.threshold > 0 && **n >= self.threshold).map(|(p, n)| (p.clone(), *n)).collect()
    }
}

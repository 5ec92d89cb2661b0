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
        self.threshold > 0
            && self
                .counts
                .lock()
                .expect("trap ledger poisoned")
                .get(plugin)
                .is_some_and(|n| *n >= self.threshold)
    }

    /// Disabled versions and their trap counts, for `/ready` and the CLI.
    pub fn disabled(&self) -> Vec<(PluginRef, u32)> {
        let counts = self.counts.lock().expect("trap ledger poisoned");
        counts
            .iter()
            .filter(|(_, n)| self.threshold > 0 && **n >= self.threshold)
            .map(|(p, n)| (p.clone(), *n))
            .collect()
    }
}

/// Threshold semantics: the `threshold`-th trap of one version disables it,
/// is reported once, and moves both counters; other versions are untouched.
#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Names are unique per test: the metrics registry is process-wide.
    fn version(name: &str, version: &str) -> PluginRef {
        PluginRef { name: Arc::from(name), version: Arc::from(version) }
    }

    fn traps_total(p: &PluginRef) -> u64 {
        metrics().plugin_traps.with_label_values(&[&p.name, &p.version, "filter"]).get()
    }

    fn disabled_total(p: &PluginRef) -> u64 {
        metrics().plugin_disabled.with_label_values(&[&p.name, &p.version]).get()
    }

    #[test]
    fn the_threshold_th_trap_disables_the_version_and_reports_it_once() {
        let ledger = TrapLedger::new(3);
        let p = version("ledger-threshold", "aaaaaaaaaaaa");
        let trap = |template| {
            ledger.record(&p, PluginKind::Filter, template, "exceeded its 50ms time budget")
        };
        assert!(!trap("a"));
        assert!(!trap("b"), "traps from any template count toward the version");
        assert!(!ledger.is_disabled(&p));
        assert!(ledger.disabled().is_empty());
        assert_eq!(disabled_total(&p), 0);

        assert!(trap("a"), "the third trap disables");
        assert!(ledger.is_disabled(&p));
        assert_eq!(ledger.disabled(), vec![(p.clone(), 3)]);
        assert_eq!(disabled_total(&p), 1);

        // A call already in flight on another worker may still trap: counted,
        // but the version is not disabled (or reported) a second time.
        assert!(!trap("b"));
        assert!(ledger.is_disabled(&p));
        assert_eq!(ledger.disabled(), vec![(p.clone(), 4)]);
        assert_eq!((traps_total(&p), disabled_total(&p)), (4, 1));
    }

    #[test]
    fn a_new_version_starts_with_a_clean_record() {
        let ledger = TrapLedger::new(2);
        let (old, new) = (
            version("ledger-versions", "111111111111"),
            version("ledger-versions", "222222222222"),
        );
        ledger.record(&old, PluginKind::Cooldown, "t", "trapped");
        assert!(ledger.record(&old, PluginKind::Cooldown, "t", "trapped"));
        assert!(ledger.is_disabled(&old));
        assert!(!ledger.is_disabled(&new));
        assert!(!ledger.record(&new, PluginKind::Cooldown, "t", "trapped"));
        assert!(!ledger.is_disabled(&new));
        assert_eq!(ledger.disabled(), vec![(old.clone(), 2)]);
        let cooldown_traps = |p: &PluginRef| {
            metrics().plugin_traps.with_label_values(&[&p.name, &p.version, "cooldown"]).get()
        };
        assert_eq!((cooldown_traps(&old), cooldown_traps(&new)), (2, 1));
    }

    #[test]
    fn threshold_zero_never_disables() {
        let ledger = TrapLedger::new(0);
        let p = version("ledger-never", "333333333333");
        for _ in 0..100 {
            assert!(!ledger.record(&p, PluginKind::Formatter, "t", "trapped"));
        }
        assert!(!ledger.is_disabled(&p));
        assert!(ledger.disabled().is_empty());
        assert_eq!(
            metrics().plugin_traps.with_label_values(&[&p.name, &p.version, "formatter"]).get(),
            100
        );
        assert_eq!(disabled_total(&p), 0);
    }

    #[test]
    fn a_threshold_of_one_disables_on_the_first_trap() {
        let ledger = TrapLedger::new(1);
        let p = version("ledger-one", "444444444444");
        assert!(ledger.record(&p, PluginKind::Filter, "t", "trapped"));
        assert!(ledger.is_disabled(&p));
        assert_eq!(disabled_total(&p), 1);
    }
}

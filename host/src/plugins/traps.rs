//! Failure accounting per (template, plugin version), shared by every worker.
//!
//! A failed call poisons one instance, which is rebuilt. Failures are
//! charged to the template whose rule caused them (the pool finds it, see
//! `pool`), never to the version as a whole: a shared or stock version keeps
//! serving every other template however one template's inputs make it fail.
//! A template that keeps failing on a version is quarantined on it (its
//! failure policy applies from then on) and reported once; a new version
//! starts with a clean record.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::alert::TemplateId;
use crate::telemetry::metrics;

use super::call::CallError;
use super::{PluginKind, PluginRef};

type Key = (TemplateId, PluginRef);

pub struct TrapLedger {
    threshold: u32,
    counts: Mutex<HashMap<Key, u32>>,
    /// Pairs at the threshold: while none is, [`TrapLedger::is_disabled`]
    /// (asked for every rule of every call) takes no lock.
    quarantined: AtomicUsize,
}

impl TrapLedger {
    /// `threshold` failures quarantine a template on a version; 0 never does.
    pub fn new(threshold: u32) -> TrapLedger {
        TrapLedger { threshold, counts: Mutex::default(), quarantined: AtomicUsize::new(0) }
    }

    /// Record a failed call of `template`'s rule; true if this one
    /// quarantined the template on the version.
    pub fn record(
        &self,
        template: &TemplateId,
        plugin: &PluginRef,
        kind: PluginKind,
        error: &CallError,
    ) -> bool {
        let m = metrics();
        let labels =
            [template.as_str(), &plugin.name, &plugin.version, kind.as_str(), error.label()];
        m.plugin_traps.with_label_values(&labels).inc();
        if let CallError::Limit(breach) = error {
            let labels =
                [template.as_str(), &plugin.name, &plugin.version, kind.as_str(), breach.limit];
            m.plugin_limit_breaches.with_label_values(&labels).inc();
        }
        let mut counts = self.counts.lock().expect("trap ledger poisoned");
        let n = counts.entry((template.clone(), plugin.clone())).or_default();
        *n += 1;
        // Bounded: the first failures, then one line per power of two, so
        // a template failing on every event cannot flood the log.
        if *n <= 3 || n.is_power_of_two() {
            tracing::error!(%plugin, %template, kind = kind.as_str(), %error, failures = *n,
                "Plugin call failed; its failure policy applies (and a poisoned instance is rebuilt).");
        }
        let quarantined_now = self.threshold > 0 && *n == self.threshold;
        if quarantined_now {
            self.quarantined.fetch_add(1, Ordering::Release);
            m.plugin_disabled
                .with_label_values(&[template.as_str(), &plugin.name, &plugin.version])
                .inc();
            tracing::error!(%plugin, %template, failures = *n,
                "Template quarantined on this plugin version after repeated failures; its failure \
                 policy applies until a new version or new params are deployed. Other templates \
                 on the version are unaffected.");
        }
        quarantined_now
    }

    pub fn is_disabled(&self, template: &TemplateId, plugin: &PluginRef) -> bool {
        self.threshold > 0
            && self.quarantined.load(Ordering::Acquire) > 0
            && self
                .counts
                .lock()
                .expect("trap ledger poisoned")
                .get(&(template.clone(), plugin.clone()))
                .is_some_and(|n| *n >= self.threshold)
    }

    /// Quarantined (template, version) pairs and their failure counts, for
    /// `/ready` and the CLI, sorted.
    pub fn disabled(&self) -> Vec<(TemplateId, PluginRef, u32)> {
        let counts = self.counts.lock().expect("trap ledger poisoned");
        let mut out: Vec<_> = counts
            .iter()
            .filter(|(_, n)| self.threshold > 0 && **n >= self.threshold)
            .map(|((t, p), n)| (t.clone(), p.clone(), *n))
            .collect();
        out.sort_by(|a, b| (a.0.as_str(), &*a.1.name).cmp(&(b.0.as_str(), &*b.1.name)));
        out
    }

    /// Forget versions no template uses any more (after a reload), so a
    /// replaced version stops showing as quarantined.
    pub fn retain(&self, in_use: impl Fn(&TemplateId, &PluginRef) -> bool) {
        let mut counts = self.counts.lock().expect("trap ledger poisoned");
        counts.retain(|(t, p), _| in_use(t, p));
        let at = counts.values().filter(|n| self.threshold > 0 && **n >= self.threshold).count();
        self.quarantined.store(at, Ordering::Release);
    }
}

/// Threshold semantics: the `threshold`-th failure of one template on one
/// version quarantines that pair only, is reported once, and moves both
/// counters; other templates and versions are untouched.
#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn version(name: &str, version: &str) -> PluginRef {
        PluginRef { name: Arc::from(name), version: Arc::from(version) }
    }

    fn trap() -> CallError {
        CallError::Trap("unreachable".into())
    }

    fn disabled_total(t: &TemplateId, p: &PluginRef) -> u64 {
        metrics().plugin_disabled.with_label_values(&[t.as_str(), &p.name, &p.version]).get()
    }

    #[test]
    fn the_threshold_th_failure_quarantines_only_that_template() {
        let ledger = TrapLedger::new(3);
        let p = version("ledger-threshold", "aaaaaaaaaaaa");
        let (a, b) = (TemplateId::new("ledger-a"), TemplateId::new("ledger-b"));
        let fail = |t: &TemplateId| ledger.record(t, &p, PluginKind::Filter, &trap());
        assert!(!fail(&a));
        assert!(!fail(&b));
        assert!(!fail(&a));
        assert!(fail(&a), "the third failure of `a` quarantines it");
        assert!(ledger.is_disabled(&a, &p));
        assert!(!ledger.is_disabled(&b, &p), "`b` keeps the version");
        assert_eq!(ledger.disabled(), vec![(a.clone(), p.clone(), 3)]);
        assert_eq!((disabled_total(&a, &p), disabled_total(&b, &p)), (1, 0));
        // A call already in flight on another worker may still fail: counted,
        // not reported a second time.
        assert!(!fail(&a));
        assert_eq!(disabled_total(&a, &p), 1);
        ledger.retain(|_, _| false);
        assert!(!ledger.is_disabled(&a, &p), "a replaced version is forgotten");
    }

    #[test]
    fn a_new_version_starts_with_a_clean_record() {
        let ledger = TrapLedger::new(1);
        let t = TemplateId::new("ledger-versions");
        let (old, new) = (version("lv", "111111111111"), version("lv", "222222222222"));
        assert!(ledger.record(&t, &old, PluginKind::Cooldown, &trap()));
        assert!(ledger.is_disabled(&t, &old));
        assert!(!ledger.is_disabled(&t, &new));
    }

    #[test]
    fn threshold_zero_never_quarantines() {
        let ledger = TrapLedger::new(0);
        let (t, p) = (TemplateId::new("ledger-never"), version("ledger-never", "333333333333"));
        for _ in 0..50 {
            assert!(!ledger.record(&t, &p, PluginKind::Formatter, &trap()));
        }
        assert!(!ledger.is_disabled(&t, &p));
        assert!(ledger.disabled().is_empty());
    }
}

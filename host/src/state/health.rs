//! Whether the state backend is reachable, for `/ready`, and its metrics.
//!
//! A failing backend never stops the host: decisions go on from the local
//! copy (see the backends), the failure is counted in
//! `klaxon_state_errors_total{backend,op}`, `klaxon_state_up{backend}` drops
//! to 0, and `/ready` says "degraded" naming it until an operation succeeds.

use std::sync::{Mutex, OnceLock};

use prometheus::{IntCounterVec, IntGaugeVec};

#[derive(Default)]
pub struct StateHealth(Mutex<Option<(String, String)>>);

/// The process-wide state health.
pub fn health() -> &'static StateHealth {
    static HEALTH: OnceLock<StateHealth> = OnceLock::new();
    HEALTH.get_or_init(StateHealth::default)
}

impl StateHealth {
    /// An operation on `backend` succeeded.
    pub fn ok(&self, backend: &str) {
        metrics().up.with_label_values(&[backend]).set(1);
        let mut failing = self.0.lock().expect("state health lock");
        if failing.as_ref().is_some_and(|(b, _)| b == backend) {
            tracing::info!(backend, "State backend reachable again.");
            *failing = None;
        }
    }

    /// `op` on `backend` failed with `error` (already free of secrets).
    pub fn failed(&self, backend: &str, op: &'static str, error: &str) {
        let m = metrics();
        m.errors.with_label_values(&[backend, op]).inc();
        m.up.with_label_values(&[backend]).set(0);
        let mut failing = self.0.lock().expect("state health lock");
        if failing.is_none() {
            tracing::error!(
                backend,
                op,
                error,
                "State backend failing; deciding from the local copy until it is back."
            );
        }
        *failing = Some((backend.to_owned(), error.chars().take(200).collect()));
    }

    /// `(backend, last error)` while it fails.
    pub fn failing(&self) -> Option<(String, String)> {
        self.0.lock().expect("state health lock").clone()
    }
}

pub(crate) struct StateMetrics {
    /// Failed operations, by backend and operation.
    pub errors: IntCounterVec,
    /// 1 while the backend answers.
    pub up: IntGaugeVec,
    /// Keys written behind, by backend and kind (`history`, `kv`).
    pub flushed: IntCounterVec,
    /// KV writes the shared store refused over a template's quota, by
    /// template and limit (another host filled it first).
    pub kv_refused: IntCounterVec,
}

/// Registered in the process-wide registry on first use.
pub(crate) fn metrics() -> &'static StateMetrics {
    use crate::telemetry::{counter, gauge};
    static METRICS: OnceLock<StateMetrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let r = &crate::telemetry::metrics().registry;
        StateMetrics {
            errors: counter(
                r,
                "klaxon_state_errors_total",
                "Failed state backend operations",
                &["backend", "op"],
            ),
            up: gauge(r, "klaxon_state_up", "1 while the state backend answers", &["backend"]),
            flushed: counter(
                r,
                "klaxon_state_flushed_total",
                "State keys written behind",
                &["backend", "kind"],
            ),
            kv_refused: counter(
                r,
                "klaxon_state_kv_refused_total",
                "KV writes the shared store refused over a template's quota",
                &["template", "limit"],
            ),
        }
    })
}

/// Register the state families now (for `/metrics` on a host that has
/// not used its backend yet).
pub fn register_metrics() {
    let _ = metrics();
}

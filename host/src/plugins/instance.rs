//! One plugin instance: a Store with its limits, plus the call discipline.
//!
//! Each instance is owned by exactly one worker thread (no `Mutex<Store>`).
//! Before every call the epoch deadline is armed (it counts wall time, so it
//! must be armed right before the call) and the host clock is set. Any error
//! out of a guest call is a trap: the instance is poisoned and the owner must
//! drop it and build a fresh one from the same `LoadedPlugin`.

use std::time::Duration;

use wasmtime::{Store, StoreLimitsBuilder, Trap};

use crate::alert::TemplateId;

use super::engine::budget_ticks;
use super::host_api::{HostServices, HostState};
use super::{LoadedPlugin, PluginEngine, PluginError, error_chain};

/// Per-template resource limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Cap on the instance's linear memory, bytes.
    pub memory_bytes: usize,
    /// Wall-time budget of one call.
    pub call_budget: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { memory_bytes: 16 << 20, call_budget: Duration::from_millis(100) }
    }
}

/// How a guest call failed. Every variant poisons the instance.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CallError {
    #[error("exceeded its {0:?} time budget")]
    Timeout(Duration),
    #[error("exceeded its memory limit of {0} bytes")]
    OutOfMemory(usize),
    #[error("trapped: {0}")]
    Trap(String),
}

/// A Store ready to host one instance of `plugin` for `template`.
pub(crate) fn new_store(engine: &PluginEngine, template: &TemplateId, plugin: &LoadedPlugin, services: &HostServices, limits: Limits) -> Store<HostState> {
    let store_limits = StoreLimitsBuilder::new()
        .memory_size(limits.memory_bytes)
        .instances(16)
        .tables(16)
        .memories(4)
        .table_elements(100_000)
        .trap_on_grow_failure(true)
        .build();
    let state = HostState::new(template.clone(), plugin.reference.clone(), services.clone(), store_limits);
    let mut store = Store::new(&engine.engine, state);
    store.limiter(|s| &mut s.limits);
    // Instantiation runs guest start code too; it gets the call budget.
    store.set_epoch_deadline(budget_ticks(limits.call_budget));
    store
}

/// Arm the deadline and clock, then classify a failed call.
pub(crate) fn prepare(store: &mut Store<HostState>, limits: Limits, now_ms: u64) {
    store.set_epoch_deadline(budget_ticks(limits.call_budget));
    let state = store.data_mut();
    state.now_ms = now_ms;
    state.logs_this_call = 0;
}

pub(crate) fn classify(err: &wasmtime::Error, limits: Limits) -> CallError {
    if matches!(err.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
        return CallError::Timeout(limits.call_budget);
    }
    let text = error_chain(err);
    if text.contains("forcing trap when growing memory") {
        return CallError::OutOfMemory(limits.memory_bytes);
    }
    CallError::Trap(text)
}

/// Turn an instantiation failure into a `PluginError`.
pub(crate) fn instantiate_error(plugin: &LoadedPlugin, err: &wasmtime::Error, limits: Limits) -> PluginError {
    PluginError::Instantiate { plugin: plugin.reference.clone(), reason: classify(err, limits).to_string() }
}

/// Turn a configure error or trap into a `PluginError`.
pub(crate) fn configure_error(plugin: &LoadedPlugin, result: Result<Result<(), String>, wasmtime::Error>, limits: Limits) -> Result<(), PluginError> {
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(reason)) => Err(PluginError::Configure { plugin: plugin.reference.clone(), reason }),
        Err(e) => Err(PluginError::Configure { plugin: plugin.reference.clone(), reason: classify(&e, limits).to_string() }),
    }
}

//! The one call point: every guest call in the host goes through [`guest`].
//!
//! It arms the epoch deadline right before the call (the deadline counts
//! wall time), sets the host clock and the templates the call may act for,
//! and turns whatever happened into a typed outcome. Everything a guest
//! can do wrong is one of five [`CallError`]s; a trap, a timeout and an
//! out-of-memory poison the instance (the caller drops and rebuilds it),
//! a guest error and a breached limit do not.
//!
//! Work calls are timed into `klaxon_plugin_call_seconds`; setup calls
//! ([`setup`]: instantiate, configure) are not, since one slow start
//! would read as a slow plugin in its p99.

use std::time::{Duration, Instant};

use wasmtime::{Store, Trap};

use crate::alert::TemplateId;

use super::engine::budget_ticks;
pub use super::error::CallError;
use super::error_chain;
use super::host_api::HostState;

/// What one call may spend, and for whom it acts.
pub struct CallSpec<'a> {
    pub budget: Duration,
    /// The instance's memory cap, to name it when a call hits it.
    pub memory_bytes: usize,
    pub now_ms: u64,
    /// The templates the call serves, by entry index (see `host.scope`).
    pub scopes: &'a std::sync::Arc<[TemplateId]>,
    /// The host clock per entry, when entries differ in time (decide
    /// items of a replay); empty means `now_ms` for all.
    pub times: &'a [u64],
}

/// Perform one guest call on the hot path, timed.
pub(crate) fn guest<T>(
    store: &mut Store<HostState>,
    spec: &CallSpec<'_>,
    call: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<T>,
) -> Result<T, CallError> {
    perform(store, spec, call, true)
}

/// Perform one setup call (instantiate, create a rule, read its columns).
pub(crate) fn setup<T>(
    store: &mut Store<HostState>,
    spec: &CallSpec<'_>,
    call: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<T>,
) -> Result<T, CallError> {
    perform(store, spec, call, false)
}

fn perform<T>(
    store: &mut Store<HostState>,
    spec: &CallSpec<'_>,
    call: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<T>,
    timed: bool,
) -> Result<T, CallError> {
    store.data_mut().begin_call(spec.now_ms, spec.scopes, spec.times);
    store.set_epoch_deadline(budget_ticks(spec.budget));
    let started = timed.then(Instant::now);
    let result = call(store);
    let state = store.data_mut();
    if let Some(started) = started {
        state.call_seconds.observe(started.elapsed().as_secs_f64());
    }
    state.end_call(result.is_ok() && state.fault.is_none());
    match result {
        Ok(_) if state.fault.is_some() => Err(state.fault.take().expect("checked")),
        Ok(value) => Ok(value),
        Err(err) => Err(classify(&err, spec, state.panic.take())),
    }
}

fn classify(err: &wasmtime::Error, spec: &CallSpec<'_>, panic: Option<String>) -> CallError {
    if matches!(err.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
        return CallError::Timeout(spec.budget);
    }
    let text = error_chain(err);
    if text.contains("forcing trap when growing memory") {
        return CallError::OutOfMemory(spec.memory_bytes);
    }
    match panic {
        // The guest's own words first; wasmtime's backtrace stays in the chain.
        Some(message) => CallError::Trap(format!("panicked: {message} ({text})")),
        None => CallError::Trap(text),
    }
}

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
pub(crate) fn new_store(
    engine: &PluginEngine,
    template: &TemplateId,
    plugin: &LoadedPlugin,
    services: &HostServices,
    limits: Limits,
) -> Store<HostState> {
    let store_limits = StoreLimitsBuilder::new()
        .memory_size(limits.memory_bytes)
        .instances(16)
        .tables(16)
        .memories(4)
        .table_elements(100_000)
        .trap_on_grow_failure(true)
        .build();
    let state =
        HostState::new(template.clone(), plugin.reference.clone(), services.clone(), store_limits);
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
pub(crate) fn instantiate_error(
    plugin: &LoadedPlugin,
    err: &wasmtime::Error,
    limits: Limits,
) -> PluginError {
    PluginError::Instantiate {
        plugin: plugin.reference.clone(),
        reason: classify(err, limits).to_string(),
    }
}

/// Instantiate a plugin in a fresh store and configure it with `params`;
/// the two closures are the world's typed `instantiate` and `configure`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn start<B>(
    engine: &PluginEngine,
    template: &TemplateId,
    plugin: &LoadedPlugin,
    params: &str,
    services: &HostServices,
    limits: Limits,
    instantiate: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<B>,
    configure: impl FnOnce(&B, &mut Store<HostState>, &str) -> wasmtime::Result<Result<(), String>>,
) -> Result<(Store<HostState>, B), PluginError> {
    let mut store = new_store(engine, template, plugin, services, limits);
    let bindings = instantiate(&mut store).map_err(|e| instantiate_error(plugin, &e, limits))?;
    configure_error(plugin, configure(&bindings, &mut store, params), limits)?;
    Ok((store, bindings))
}

/// Turn a configure error or trap into a `PluginError`.
pub(crate) fn configure_error(
    plugin: &LoadedPlugin,
    result: Result<Result<(), String>, wasmtime::Error>,
    limits: Limits,
) -> Result<(), PluginError> {
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(reason)) => Err(PluginError::Configure { plugin: plugin.reference.clone(), reason }),
        Err(e) => Err(PluginError::Configure {
            plugin: plugin.reference.clone(),
            reason: classify(&e, limits).to_string(),
        }),
    }
}

/// The three misbehaving test plugins (`tests/plugins/`), called directly:
/// each failure is classified with its own text, poisons only the instance
/// it happened in, and a fresh instance of the same plugin serves again.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::market::Snapshot;
    use crate::plugins::Columns;
    use crate::plugins::filter::{FilterInstance, Verdict};
    use crate::plugins::tests::{filter, trade};

    /// A budget no healthy call comes near, so only the memory cap (or a
    /// trap) can stop a call; a loaded test machine must not turn a memory
    /// test into a timeout.
    const LIMITS: Limits = Limits { memory_bytes: 8 << 20, call_budget: Duration::from_secs(10) };
    /// For the endless loop: the budget is the mechanism under test. Small,
    /// but instantiate + configure share one budget, so not so small that a
    /// stall of a loaded machine could make building the instance time out.
    const SHORT: Limits = Limits { call_budget: Duration::from_millis(200), ..LIMITS };
    /// What wasmtime says when a call enters an instance that trapped before.
    const POISONED: &str = "wasm trap: cannot enter component instance";

    /// Misbehaves (test plugins' default `above_price` is 10).
    fn expensive() -> crate::event::Event {
        trade("BTCUSDT", 65_000, 1)
    }

    /// Below every test plugin's trigger price: a healthy call.
    fn cheap() -> crate::event::Event {
        trade("DOGEUSDT", 1, 1)
    }

    fn below_trigger() -> Result<Verdict, CallError> {
        Ok(Verdict::Reject("below trigger price".into()))
    }

    /// After a failure: the same instance refuses every call, single or
    /// batch; a new one from the same `LoadedPlugin` works.
    fn assert_poisoned_then_rebuilt(f: &mut FilterInstance, name: &str, limits: Limits) {
        let market = Snapshot::default();
        assert_eq!(
            f.evaluate(&cheap(), &market, 2),
            Err(CallError::Trap(POISONED.into())),
            "{name}: poisoned instance, single event"
        );
        let mut columns = Columns::default();
        columns.fill([(&cheap(), &market)].into_iter());
        assert_eq!(
            f.evaluate_batch(&columns, 2, &mut Vec::new()),
            Err(CallError::Trap(POISONED.into())),
            "{name}: poisoned instance, batch"
        );
        let mut fresh = filter(name, "{}", limits).expect("fresh instance");
        assert_eq!(fresh.evaluate(&cheap(), &market, 3), below_trigger(), "{name}: fresh instance");
    }

    #[test]
    fn healthy_calls_of_the_broken_plugins_succeed() {
        for name in ["trap", "loop-forever", "alloc-forever"] {
            let mut f = filter(name, "{}", LIMITS).expect("configure");
            assert_eq!(f.evaluate(&cheap(), &Snapshot::default(), 1), below_trigger(), "{name}");
        }
    }

    #[test]
    fn a_guest_panic_is_a_trap_that_poisons_only_its_instance() {
        let mut f = filter("trap", "{}", LIMITS).expect("configure");
        let Err(ref err @ CallError::Trap(ref text)) =
            f.evaluate(&expensive(), &Snapshot::default(), 1)
        else {
            panic!("the trap plugin did not trap")
        };
        // Wasmtime's chain: the guest backtrace context, then the trap itself.
        assert!(text.starts_with("error while executing at wasm backtrace:"), "{text}");
        assert!(text.ends_with("wasm trap: wasm `unreachable` instruction executed"), "{text}");
        assert!(err.to_string().starts_with("trapped: error while executing"), "{err}");
        assert_poisoned_then_rebuilt(&mut f, "trap", LIMITS);
    }

    #[test]
    fn an_endless_loop_is_interrupted_at_its_time_budget() {
        let mut f = filter("loop-forever", "{}", SHORT).expect("configure");
        let err = f.evaluate(&expensive(), &Snapshot::default(), 1).unwrap_err();
        assert_eq!(err, CallError::Timeout(Duration::from_millis(200)));
        assert_eq!(err.to_string(), "exceeded its 200ms time budget");
        assert_poisoned_then_rebuilt(&mut f, "loop-forever", SHORT);
    }

    #[test]
    fn an_endless_loop_in_a_batch_is_interrupted_too() {
        let mut f = filter("loop-forever", "{}", SHORT).expect("configure");
        let market = Snapshot::default();
        let (a, b) = (cheap(), expensive());
        let mut columns = Columns::default();
        columns.fill([(&a, &market), (&b, &market)].into_iter());
        assert_eq!(
            f.evaluate_batch(&columns, 1, &mut Vec::new()),
            Err(CallError::Timeout(Duration::from_millis(200)))
        );
        assert_poisoned_then_rebuilt(&mut f, "loop-forever", SHORT);
    }

    #[test]
    fn a_memory_hog_is_stopped_at_its_memory_limit() {
        let mut f = filter("alloc-forever", "{}", LIMITS).expect("configure");
        let err = f.evaluate(&expensive(), &Snapshot::default(), 1).unwrap_err();
        assert_eq!(err, CallError::OutOfMemory(8 << 20));
        assert_eq!(err.to_string(), "exceeded its memory limit of 8388608 bytes");
        assert_poisoned_then_rebuilt(&mut f, "alloc-forever", LIMITS);
    }

    #[test]
    fn a_memory_limit_below_the_initial_memory_fails_instantiation() {
        let tiny = Limits { memory_bytes: 64 << 10, ..LIMITS };
        let err = filter("trap", "{}", tiny)
            .err()
            .expect("64 KiB is below any Rust guest's initial memory");
        let version = crate::plugins::load::content_version(&crate::plugins::tests::wasm("trap")).0;
        assert!(
            matches!(&err, PluginError::Instantiate { plugin, .. } if *plugin.name == *"trap"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "plugin `trap` {version}: cannot instantiate: exceeded its memory limit of 65536 bytes"
            )
        );
    }

    #[test]
    fn budgets_round_up_to_whole_ticks_plus_one() {
        use crate::plugins::engine::{TICK, budget_ticks};
        assert_eq!(budget_ticks(TICK), 2);
        assert_eq!(budget_ticks(TICK * 10), 11);
        assert_eq!(budget_ticks(TICK * 10 + Duration::from_micros(1)), 12);
    }
}

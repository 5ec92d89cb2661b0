//! The misbehaving test plugins (`tests/plugins/`), called through an
//! instance: each failure is classified with its own text, poisons only the
//! instance it happened in, and a fresh instance of the same plugin serves
//! again.

use std::sync::Arc;
use std::time::Duration;

use super::{engine, loaded, services, template, trade, wasm};
use crate::market::Snapshot;
use crate::plugins::filter::Verdict;
use crate::plugins::{CallError, Instance, Limits, PluginError, PluginKind, load};

/// A budget no healthy call comes near, so only the memory cap (or a
/// trap) can stop a call; a loaded test machine must not turn a memory
/// test into a timeout.
fn limits() -> Limits {
    Limits { memory_mib: 8, call_timeout: Duration::from_secs(10), ..Limits::default() }
}
/// For the endless loop: the budget is the mechanism under test.
fn short() -> Limits {
    Limits { call_timeout: Duration::from_millis(200), ..limits() }
}
/// What wasmtime says when a call enters an instance that trapped before.
const POISONED: &str = "cannot enter component instance";

fn instance(name: &str, limits: &Limits) -> Result<Instance, PluginError> {
    instance_capped(name, limits, limits.memory_bytes())
}

fn instance_capped(name: &str, limits: &Limits, memory: usize) -> Result<Instance, PluginError> {
    let plugin = loaded(name, PluginKind::Filter);
    let mut i = Instance::new(engine(), plugin, &services(), memory, limits.call_timeout)?;
    i.add_rule(&template("sandbox"), &Arc::from("{}"), limits)?;
    Ok(i)
}

/// Misbehaves (test plugins' default `above_price` is 10).
fn expensive() -> crate::event::Event {
    trade("BTCUSDT", 65_000, 1)
}

/// Below every test plugin's trigger price: a healthy call.
fn cheap() -> crate::event::Event {
    trade("DOGEUSDT", 1, 1)
}

fn call(i: &mut Instance, e: &crate::event::Event) -> Result<Verdict, CallError> {
    i.evaluate(&template("sandbox"), e, &Snapshot::default(), 1)
}

fn assert_poisoned_then_rebuilt(i: &mut Instance, name: &str, limits: &Limits) {
    let err = call(i, &cheap()).unwrap_err();
    assert!(matches!(&err, CallError::Trap(t) if t.contains(POISONED)), "{name}: {err:?}");
    let mut fresh = instance(name, limits).expect("fresh instance");
    assert_eq!(
        call(&mut fresh, &cheap()),
        Ok(Verdict::Reject("below trigger price".into())),
        "{name}"
    );
}

#[test]
fn healthy_calls_of_the_broken_plugins_succeed() {
    for name in ["trap", "loop-forever", "alloc-forever", "panic-message"] {
        let mut i = instance(name, &limits()).expect("configure");
        assert_eq!(
            call(&mut i, &cheap()),
            Ok(Verdict::Reject("below trigger price".into())),
            "{name}"
        );
    }
}

#[test]
fn a_guest_panic_is_a_trap_that_carries_its_message() {
    let mut i = instance("panic-message", &limits()).expect("configure");
    let Err(CallError::Trap(text)) = call(&mut i, &expensive()) else { panic!("did not trap") };
    assert!(text.starts_with("panicked: panic-message plugin: price 65000 above 10"), "{text}");
    assert!(text.contains("wasm `unreachable` instruction executed"), "{text}");
    assert_poisoned_then_rebuilt(&mut i, "panic-message", &limits());
}

#[test]
fn an_endless_loop_is_interrupted_at_its_time_budget() {
    let mut i = instance("loop-forever", &short()).expect("configure");
    let err = call(&mut i, &expensive()).unwrap_err();
    assert_eq!(err, CallError::Timeout(Duration::from_millis(200)));
    assert_eq!(err.to_string(), "exceeded its 200ms time budget");
    assert_poisoned_then_rebuilt(&mut i, "loop-forever", &short());
}

#[test]
fn a_memory_hog_is_stopped_at_its_memory_limit() {
    let mut i = instance("alloc-forever", &limits()).expect("configure");
    let err = call(&mut i, &expensive()).unwrap_err();
    assert_eq!(err, CallError::OutOfMemory(8 << 20));
    assert_eq!(err.to_string(), "exceeded its memory limit of 8388608 bytes");
    assert_poisoned_then_rebuilt(&mut i, "alloc-forever", &limits());
}

#[test]
fn a_memory_limit_below_the_initial_memory_fails_instantiation() {
    let err = instance_capped("trap", &limits(), 64 << 10)
        .err()
        .expect("64 KiB is below any Rust guest's initial memory");
    let version = load::content_version(&wasm("trap")).0;
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

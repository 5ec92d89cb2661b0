//! What a guest hands the host is held to its template's limits at the
//! call point: a breach fails the call by name and value, does not poison
//! the instance, and leaves nothing behind (no KV write, no pass).

use std::sync::Arc;

use wasmtime::StoreLimits;

use super::{generous, loaded, services, template, trade};
use crate::event::Sym;
use crate::market::Snapshot;
use crate::plugins::bindings::{Host, LogLevel};
use crate::plugins::filter::{RuleRows, Verdict};
use crate::plugins::host_api::HostState;
use crate::plugins::{Breach, CallError, Columns, Instance, Limits, PluginKind};
use crate::telemetry::metrics;

/// `kv-probe` (counts events in KV key `count`, title = `tag`) for one
/// template under `limits`.
fn probe(name: &str, limits: &Limits, tag: &str) -> Instance {
    let plugin = loaded("kv-probe", PluginKind::Filter);
    let mut i = Instance::new(super::engine(), plugin, &services(), 16 << 20, limits.call_timeout)
        .expect("instance");
    let params = Arc::from(format!(r#"{{"tag":"{tag}"}}"#));
    i.add_rule(&template(name), &params, limits).expect("rule");
    i
}

fn breach(limit: &'static str, value: usize, max: usize) -> CallError {
    CallError::Limit(Breach { limit, value, max })
}

#[test]
fn an_oversized_pass_fails_the_call_by_limit_and_value_and_the_instance_serves_on() {
    let limits = Limits { title_bytes: 4, ..generous().clone() };
    let t = template("limits-title");
    let mut long = probe("limits-title", &limits, "too-long");
    let event = trade("BTCUSDT", 10, 1);
    let market = Snapshot::default();
    assert_eq!(long.evaluate(&t, &event, &market, 1), Err(breach("title_bytes", 8, 4)));
    let mut columns = Columns::default();
    columns.reset(1);
    let mut out = Vec::new();
    let rules = [RuleRows { template: &t, rows: None }];
    let batch = long.evaluate_batch(&mut columns, &[(&event, &market)], &rules, 1, &mut out);
    assert_eq!(batch, Err(breach("title_bytes", 8, 4)));
    assert!(out.is_empty(), "nothing of a refused answer goes on");
    // Not poisoned: the same instance answers the next call.
    let mut fits = probe("limits-title", &limits, "ok");
    assert!(matches!(fits.evaluate(&t, &event, &market, 1), Ok(Verdict::Pass(_))));
    assert!(matches!(long.evaluate(&t, &event, &market, 1), Err(CallError::Limit(_))));
}

#[test]
fn a_kv_write_over_the_quota_fails_the_call_and_writes_nothing() {
    let limits = Limits { kv_keys: 0, ..generous().clone() };
    let mut i = probe("limits-kv", &limits, "kv");
    let event = trade("BTCUSDT", 10, 1);
    let err = i.evaluate(&template("limits-kv"), &event, &Snapshot::default(), 1).unwrap_err();
    assert_eq!(err, breach("kv_keys", 1, 0));
    assert!(!err.poisons());
    let kv = &i.store.data().services.kv;
    assert_eq!(kv.get(&template("limits-kv"), "count", 1), None);
    let long_values = Limits { kv_value_bytes: 0, ..generous().clone() };
    let mut i = probe("limits-kv-value", &long_values, "kv");
    let err = i.evaluate(&template("limits-kv-value"), &event, &Snapshot::default(), 1);
    assert_eq!(err, Err(breach("kv_value_bytes", 1, 0)));
}

/// A host state serving one template, outside any instance.
fn host_state(name: &str, limits: Limits) -> HostState {
    let plugin = loaded("kv-probe", PluginKind::Filter).reference.clone();
    let mut state = HostState::new(
        plugin,
        PluginKind::Filter,
        services(),
        crate::plugins::meter::StoreMeter::new(StoreLimits::default()),
    );
    state.rule_limits.insert(template(name), Arc::new(limits));
    state.begin_call(5_000, &Arc::from([template(name)]), &[]);
    state
}

#[test]
fn names_resolve_only_for_ids_in_the_calls_own_events() {
    let mine = Sym::new("limits-names-MINE");
    let theirs = Sym::new("limits-names-PRIVATE-WALLET");
    let mut state = host_state("limits-names", generous().clone());
    state.allow_names([mine.id()]);
    assert_eq!(state.name(mine.id()).as_deref(), Some("limits-names-MINE"));
    assert_eq!(state.name(theirs.id()), None, "interned elsewhere, not in this call");
    state.allow_names([theirs.id()]);
    assert_eq!(state.name(theirs.id()).as_deref(), Some("limits-names-PRIVATE-WALLET"));
}

#[test]
fn log_lines_over_the_budgets_are_dropped_and_counted() {
    let limits = Limits { log_lines_per_call: 3, log_lines_per_second: 5, ..generous().clone() };
    let mut state = host_state("limits-log", limits);
    let dropped = metrics().plugin_log_dropped.with_label_values(&["limits-log", "kv-probe"]);
    for _ in 0..10 {
        state.log(LogLevel::Info, "line\ninjected".into());
    }
    assert_eq!(dropped.get(), 7, "3 per call");
    state.begin_call(5_500, &Arc::from([template("limits-log")]), &[]);
    for _ in 0..3 {
        state.log(LogLevel::Info, "same second".into());
    }
    assert_eq!(dropped.get(), 8, "5 per second: the third line of the second call is over");
    state.begin_call(6_000, &Arc::from([template("limits-log")]), &[]);
    state.log(LogLevel::Info, "next second".into());
    assert_eq!(dropped.get(), 8);
}

//! Fuel and memory metering: only a metered engine counts fuel, the count
//! is deterministic, and `limits.fuel_per_call` refuses a version whose
//! smoke calls cost more per event, naming template, plugin, version, the
//! limit and the value, while a template under its limit plans.

use std::sync::Arc;

use super::{engine, generous, loaded, services, template};
use crate::plugins::{
    Domain, Instance, PluginEngine, PluginKind, PluginSlot, RuleRef, RuntimeConfig, builtin, load,
    smoke,
};

/// The stock bytes the host embeds (what a template named
/// `amount-threshold` runs).
fn stock() -> &'static [u8] {
    builtin::stock("amount-threshold").expect("stock plugin").1
}

fn metered() -> PluginEngine {
    PluginEngine::metered(&RuntimeConfig::default()).expect("metered engine")
}

fn smoke_fuel(engine: &PluginEngine, params: &str) -> u64 {
    let plugin =
        load::load(engine, "amount-threshold", "test", stock(), PluginKind::Filter).expect("loads");
    let slot = PluginSlot {
        plugin,
        params: Arc::from(params),
        domain: Domain::Trusted,
        watchlists: Arc::from([]),
    };
    let t = template("fuel");
    smoke::smoke_fuel(
        engine,
        RuleRef { template: &t, slot: &slot, limits: generous() },
        &services(),
    )
    .expect("smoke run")
}

#[test]
fn only_a_metered_engine_counts_fuel_and_the_count_is_deterministic() {
    let params = r#"{"min_notional_usd": 1000}"#;
    assert_eq!(smoke_fuel(engine(), params), 0, "the production engine counts nothing");
    let engine = metered();
    let first = smoke_fuel(&engine, params);
    assert!(first > 100, "a filter call runs more than a hundred instructions: {first}");
    assert_eq!(smoke_fuel(&engine, params), first, "the same calls, the same fuel");

    let plain = Instance::new(
        super::engine(),
        loaded("amount-threshold", PluginKind::Filter),
        &services(),
        generous().memory_bytes(),
        generous().call_timeout,
    )
    .expect("instance");
    assert_eq!(plain.fuel_used(), None);
    assert!(plain.linear_memory_bytes() >= 64 << 10, "{}", plain.linear_memory_bytes());
}

const TEMPLATES: &str = r#"
[templates.frugal]
filter = { plugin = "amount-threshold", params = { min_notional_usd = 1000 } }
limits = { fuel_per_call = 1000000000 }

[templates.greedy]
filter = { plugin = "amount-threshold", params = { min_notional_usd = 1000 } }
limits = { fuel_per_call = 1 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_over_its_fuel_per_call_is_refused_naming_everything() {
    let config = crate::config::load_str(
        &format!("[plugins]\nwatch = false\ncache_dir = \"\"\n{TEMPLATES}"),
        "fuel.toml",
    )
    .expect("config");
    let (market, _) = crate::market::MarketState::new(&config.raw().market);
    let rt = crate::app::Runtime::new(&config, &market).expect("runtime");
    let (plan, failures) = crate::pipeline::plan_enabled(&config, &rt.library, &rt.services, 1);
    let planned: Vec<&str> = plan.templates.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(planned, ["frugal"]);
    assert_eq!(failures.len(), 1);
    let issue = &failures[0].issues[0];
    assert_eq!(issue.path, "templates.greedy.filter.plugin");
    let version = load::content_version(stock()).0;
    let used = smoke_fuel(&metered(), r#"{"min_notional_usd": 1000}"#);
    assert_eq!(
        issue.message,
        format!(
            "plugin `amount-threshold` {version}: its smoke calls cost up to {used} fuel per event, over template `greedy`'s limits.fuel_per_call = 1"
        )
    );
    let rejected = crate::telemetry::metrics()
        .plugin_rejected
        .with_label_values(&["amount-threshold", "fuel"])
        .get();
    assert!(rejected >= 1);
}

#[test]
fn fuel_per_call_must_be_positive() {
    let err = crate::config::load_str(
        "[templates.t]\nfilter = { plugin = \"amount-threshold\", params = { min_notional_usd = 1 } }\nlimits = { fuel_per_call = 0 }\n",
        "zero.toml",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("templates.t.limits.fuel_per_call: must be greater than 0"),
        "{err}"
    );
}

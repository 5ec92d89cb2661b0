//! Offline tests: `cargo test`. The SDK's host double stands in for Klaxon.

use klaxon_sdk::testing::{CooldownHarness, json, set_now_ms};
use klaxon_sdk::{Alert, Decision, EventRecord, History, Pass, Severity};
use {{crate}}::Plugin;

#[test]
fn quiet_inside_the_window_then_fires_again() {
    let policy = CooldownHarness::<Plugin>::configure_json(&json!({"window_secs": 300})).unwrap();
    let alert = Alert::new("test", Pass::new("BTCUSDT", "big").with_value(1.0), EventRecord::trade("BTCUSDT", 1.0, 1.0));
    set_now_ms(1_000_000);
    let recent = History::fired(1_000_000 - 60_000, 1.0, Severity::Warning);
    assert!(matches!(policy.decide(&alert, &recent), Decision::Suppress(r) if r == "quiet 300s"));
    let old = History::fired(1_000_000 - 301_000, 1.0, Severity::Warning);
    assert!(policy.decide(&alert, &old).is_fire());
}

//! Offline tests: `cargo test`. The SDK's host double stands in for Klaxon.

use klaxon_sdk::testing::{FilterHarness, json};
use klaxon_sdk::{EventRecord, MarketRecord, Side};
use {{crate}}::Plugin;

#[test]
fn a_big_buy_passes_and_a_small_one_does_not() {
    let rule = FilterHarness::<Plugin>::configure_json(&json!({"min_notional_usd": 50000})).unwrap();
    let big = EventRecord::trade("BTCUSDT", 57310.0, 1.5).with_side(Side::Buy);
    let pass = rule.evaluate(&big, &MarketRecord::default()).into_pass().unwrap();
    assert_eq!(pass.title, "$86.0K buy on BTCUSDT");
    let small = EventRecord::trade("BTCUSDT", 57300.0, 0.2);
    assert_eq!(rule.evaluate(&small, &MarketRecord::default()).reject_reason(), Some("below threshold"));
    // The batch path gives the same passes as the single-event path.
    assert_eq!(rule.check_paths(&[(big, MarketRecord::default()), (small, MarketRecord::default())]).len(), 1);
}

#[test]
fn a_misspelt_param_is_named() {
    let err = FilterHarness::<Plugin>::configure_json(&json!({"min_notinal_usd": 1})).err().unwrap();
    assert!(err.starts_with("min_notinal_usd: unknown field"), "{err}");
}

//! Offline tests: `cargo test`. The SDK's host double stands in for Klaxon.

use klaxon_sdk::testing::{FormatterHarness, json};
use klaxon_sdk::{Alert, EventRecord, Pass};
use {{crate}}::Plugin;

#[test]
fn renders_title_fields_and_instrument() {
    let formatter = FormatterHarness::<Plugin>::configure_json(&json!({"prefix": "[test] "})).unwrap();
    let pass = Pass::new("BTCUSDT", "Big trade").with_field("notional", "$86.0K");
    let message = formatter.format(&Alert::new("test", pass, EventRecord::trade("BTCUSDT", 1.0, 1.0)));
    assert_eq!(message.title, "[test] Big trade");
    assert!(message.body.starts_with("[INFO] [test] Big trade\nnotional: $86.0K\n"), "{}", message.body);
}

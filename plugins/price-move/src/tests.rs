use klaxon_sdk::testing::{FilterHarness, Value, json};
use klaxon_sdk::{EventKind, EventRecord, MarketRecord, Severity, Window};

use super::*;

fn filter(params: Value) -> FilterHarness<PriceMove> {
    FilterHarness::configure_json(&params).unwrap()
}

fn err(params: Value) -> String {
    FilterHarness::<PriceMove>::configure_json(&params).err().unwrap()
}

fn tick() -> EventRecord {
    EventRecord::trade("BTCUSDT", 64_000.0, 0.1)
}

/// 1m and 5m known, 1h missing, last price known.
fn market(change_1m: f64, change_5m: f64, volume_5m: f64) -> MarketRecord {
    MarketRecord::unknown()
        .with_last_price(64_000.0)
        .with_window(Window::M1, change_1m, 100_000.0)
        .with_window(Window::M5, change_5m, volume_5m)
}

#[test]
fn any_change_over_threshold_passes() {
    let f = filter(json!({"min_change_1m_pct": 2, "min_change_5m_pct": 5}));
    assert_eq!(f.evaluate(&tick(), &market(1.0, 4.0, 0.0)).reject_reason(), Some("no move"));
    let pass = f.evaluate(&tick(), &market(-2.5, 1.0, 0.0)).into_pass().unwrap();
    assert_eq!(pass.title, "BTCUSDT down 2.50% in 1m");
    assert_eq!(pass.value, -2.5);
    assert_eq!(pass.alert_key, "BTCUSDT");
    assert_eq!(pass.severity, Severity::Warning);
    assert_eq!(pass.field("price"), Some("64000"));
    assert_eq!(pass.field("1m change"), Some("-2.50% on $100K"));
    assert_eq!(pass.field("1h change"), None, "missing windows are not shown");
    let pass = f.evaluate(&tick(), &market(0.5, 6.0, 0.0)).into_pass().unwrap();
    assert_eq!(pass.title, "BTCUSDT up 6.00% in 5m");
}

#[test]
fn direction_limits_the_sign() {
    let up = filter(json!({"min_change_1m_pct": 2, "direction": "up"}));
    assert!(up.evaluate(&tick(), &market(2.0, 0.0, 0.0)).is_pass());
    assert!(!up.evaluate(&tick(), &market(-3.0, 0.0, 0.0)).is_pass());
    let down = filter(json!({"min_change_1m_pct": 2, "direction": "down"}));
    assert!(down.evaluate(&tick(), &market(-3.0, 0.0, 0.0)).is_pass());
    assert!(!down.evaluate(&tick(), &market(3.0, 0.0, 0.0)).is_pass());
}

#[test]
fn all_needs_every_condition() {
    let f = filter(json!({"min_change_5m_pct": 3, "min_volume_5m_usd": 2000000, "combine": "all"}));
    assert!(!f.evaluate(&tick(), &market(0.0, 4.0, 1_000_000.0)).is_pass());
    assert!(!f.evaluate(&tick(), &market(0.0, 1.0, 3_000_000.0)).is_pass());
    let pass = f.evaluate(&tick(), &market(0.0, 4.0, 3_000_000.0)).into_pass().unwrap();
    assert_eq!(pass.title, "BTCUSDT up 4.00% in 5m on $3.00M volume in 5m");
}

#[test]
fn missing_window_never_passes() {
    let f = filter(json!({"min_change_1h_pct": 0}));
    // 1h is missing and reads as 0 change, which would pass a 0 threshold.
    assert_eq!(f.evaluate(&tick(), &market(9.0, 9.0, 0.0)).reject_reason(), Some("no move"));
    let f = filter(json!({"min_change_1m_pct": 1, "min_change_1h_pct": 1, "combine": "all"}));
    assert!(!f.evaluate(&tick(), &market(9.0, 9.0, 0.0)).is_pass());
    assert!(!f.evaluate(&tick(), &MarketRecord::unknown()).is_pass());
}

#[test]
fn volume_only() {
    let f = filter(
        json!({"min_volume_5m_usd": 1000000, "kinds": ["trade", "swap"], "severity": "info"}),
    );
    let pass = f.evaluate(&tick(), &market(0.0, 0.0, 1_500_000.0)).into_pass().unwrap();
    assert_eq!(pass.title, "BTCUSDT $1.50M volume in 5m");
    assert_eq!(pass.value, 1_500_000.0);
    assert_eq!(pass.severity, Severity::Info);
    let book = EventRecord::new(EventKind::BookTop, "BTCUSDT");
    assert_eq!(
        f.evaluate(&book, &market(0.0, 0.0, 1_500_000.0)).reject_reason(),
        Some("kind not selected")
    );
}

#[test]
fn batch_path_matches_single_path() {
    let f = filter(json!({"min_change_1m_pct": 2}));
    let rows = vec![
        (tick(), market(1.0, 0.0, 0.0)),
        (EventRecord::trade("ETHUSDT", 2000.0, 1.0), market(3.0, 0.0, 0.0)),
        (tick(), MarketRecord::unknown()),
    ];
    let passed = f.evaluate_batch(&rows);
    assert_eq!(passed.len(), 1);
    assert_eq!(passed[0].0, 1);
    assert_eq!(passed[0].1, f.evaluate(&rows[1].0, &rows[1].1).into_pass().unwrap());
}

#[test]
fn bad_params_name_the_field() {
    assert!(err(json!({})).starts_with("set at least one of `min_change_1m_pct`"));
    assert_eq!(
        err(json!({"min_change_5m_pct": -1})),
        "min_change_5m_pct: must be 0 or more, got -1"
    );
    assert!(
        err(json!({"min_change_1m_pct": 1, "combine": "most"}))
            .starts_with("combine: unknown variant `most`")
    );
    assert!(
        err(json!({"min_change_1m_pct": 1, "direction": "sideways"}))
            .starts_with("direction: unknown variant")
    );
    assert!(
        err(json!({"min_change_1m": 1}))
            .starts_with("min_change_1m: unknown field `min_change_1m`")
    );
}

#[test]
fn single_and_batch_paths_agree_on_random_rows() {
    let configs = [
        json!({"min_change_1m_pct": 5, "min_change_5m_pct": 8}),
        json!({"min_change_5m_pct": 2, "min_volume_5m_usd": 1000000, "combine": "all", "direction": "up"}),
        json!({"min_volume_1h_usd": 50000000, "kinds": ["trade"]}),
    ];
    let mut passes = 0;
    for params in configs {
        let f = filter(params);
        for (seed, n) in [(1, 1), (2, 7), (3, 64), (4, 1024)] {
            passes += f.check_paths(&klaxon_sdk::testing::random_rows(seed, n)).len();
        }
    }
    assert!(passes > 100, "{passes}");
}

use klaxon_sdk::testing::{self, FilterHarness, Value, json};
use klaxon_sdk::{Duration, EventKind, EventRecord, MarketRecord, Severity, Side};

use super::*;

fn filter(params: Value) -> FilterHarness<AmountThreshold> {
    FilterHarness::configure_json(&params).unwrap()
}

fn err(params: Value) -> String {
    FilterHarness::<AmountThreshold>::configure_json(&params).err().unwrap()
}

fn trade(symbol: &str, usd: f64) -> EventRecord {
    EventRecord::trade(symbol, 50_000.0, usd / 50_000.0).with_notional(usd).with_side(Side::Buy)
}

#[test]
fn single_trade_threshold() {
    let f = filter(json!({"min_notional_usd": 100000}));
    let m = MarketRecord::default();
    assert_eq!(
        f.evaluate(&trade("BTCUSDT", 99_999.0), &m).reject_reason(),
        Some("below threshold")
    );
    let pass = f.evaluate(&trade("BTCUSDT", 1_234_567.0), &m).into_pass().unwrap();
    assert_eq!(pass.alert_key, "BTCUSDT");
    assert_eq!(pass.title, "$1.23M buy on BTCUSDT");
    assert_eq!(pass.value, 1_234_567.0);
    assert_eq!(pass.severity, Severity::Warning);
    assert_eq!(pass.field("notional"), Some("$1.23M"));
    assert_eq!(pass.field("side"), Some("buy"));
}

#[test]
fn kinds_and_missing_notional_reject() {
    let f = filter(json!({"min_notional_usd": 10, "kinds": ["swap"], "severity": "critical"}));
    let m = MarketRecord::default();
    assert_eq!(f.evaluate(&trade("X", 1e6), &m).reject_reason(), Some("kind not selected"));
    let swap =
        EventRecord::new(EventKind::Swap, "PEPE/WETH").with_notional(50.0).with_tx_hash("0xabc");
    let pass = f.evaluate(&swap, &m).into_pass().unwrap();
    assert_eq!(pass.title, "$50 swap on PEPE/WETH");
    assert_eq!(pass.severity, Severity::Critical);
    // The tx hash reaches formatters through the alert's event, not a field.
    assert_eq!(pass.field("tx"), None);
    let unknown = EventRecord::new(EventKind::Swap, "PEPE/WETH");
    assert_eq!(f.evaluate(&unknown, &m).reject_reason(), Some("no notional"));
}

#[test]
fn batch_path_matches_single_path() {
    let f = filter(json!({"min_notional_usd": 100000}));
    let rows: Vec<_> = [5e4, 2e5, 1e3, 3e6]
        .iter()
        .map(|&usd| (trade("ETHUSDT", usd), MarketRecord::default()))
        .collect();
    let passed = f.evaluate_batch(&rows);
    assert_eq!(passed.iter().map(|(row, _)| *row).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(passed[1].1, f.evaluate(&rows[3].0, &rows[3].1).into_pass().unwrap());
}

#[test]
fn window_total_sums_per_key_and_resets() {
    testing::reset();
    let f = filter(json!({"window_total_usd": 1000000, "window": "5m"}));
    let m = MarketRecord::default();
    for _ in 0..3 {
        assert_eq!(
            f.evaluate(&trade("SOLUSDT", 300_000.0), &m).reject_reason(),
            Some("below window total")
        );
        testing::advance(Duration::from_secs(30));
    }
    // Another key does not add to SOLUSDT's sum.
    assert!(!f.evaluate(&trade("ETHUSDT", 300_000.0), &m).is_pass());
    let pass = f.evaluate(&trade("SOLUSDT", 150_000.0), &m).into_pass().unwrap();
    assert_eq!(pass.value, 1_050_000.0);
    assert_eq!(pass.title, "$1.05M on SOLUSDT in 5m");
    assert_eq!(pass.field("window"), Some("5m"));
    // The sum starts again after a pass.
    assert!(!f.evaluate(&trade("SOLUSDT", 300_000.0), &m).is_pass());
}

#[test]
fn window_forgets_old_flow() {
    testing::reset();
    let f = filter(json!({"window_total_usd": 1000000, "window": "5m"}));
    let m = MarketRecord::default();
    assert!(!f.evaluate(&trade("BTCUSDT", 600_000.0), &m).is_pass());
    testing::advance(Duration::from_mins(6));
    assert!(!f.evaluate(&trade("BTCUSDT", 600_000.0), &m).is_pass());
    testing::advance(Duration::from_mins(1));
    assert!(f.evaluate(&trade("BTCUSDT", 600_000.0), &m).is_pass());
}

#[test]
fn either_threshold_passes_when_both_set() {
    testing::reset();
    let f = filter(json!({"min_notional_usd": 500000, "window_total_usd": 800000, "window": "1m"}));
    let m = MarketRecord::default();
    assert_eq!(f.evaluate(&trade("A", 600_000.0), &m).into_pass().unwrap().title, "$600K buy on A");
    assert!(!f.evaluate(&trade("A", 400_000.0), &m).is_pass());
    assert_eq!(
        f.evaluate(&trade("A", 400_000.0), &m).into_pass().unwrap().title,
        "$800K on A in 1m"
    );
}

#[test]
fn key_by_account() {
    testing::reset();
    let f = filter(json!({"min_notional_usd": 1000, "key_by": "account"}));
    let m = MarketRecord::default();
    assert_eq!(f.evaluate(&trade("BTCUSDT", 5000.0), &m).reject_reason(), Some("no account"));
    let pass =
        f.evaluate(&trade("BTCUSDT", 5000.0).with_account("0xwhale"), &m).into_pass().unwrap();
    assert_eq!(pass.alert_key, "0xwhale");
    assert_eq!(pass.field("account"), Some("0xwhale"));
    let batch = f.evaluate_batch(&[(trade("BTCUSDT", 5000.0).with_account("0xwhale"), m)]);
    assert_eq!(batch[0].1.alert_key, "0xwhale");
}

#[test]
fn bad_params_name_the_field() {
    assert_eq!(err(json!({})), "set `min_notional_usd`, `window_total_usd`, or both");
    assert_eq!(err(json!({"window_total_usd": 5})), "window: required with `window_total_usd`");
    assert_eq!(
        err(json!({"min_notional_usd": 5, "window": "5m"})),
        "window: only used with `window_total_usd`"
    );
    assert_eq!(
        err(json!({"window_total_usd": 5, "window": "0s"})),
        "window: must be greater than 0"
    );
    assert_eq!(
        err(json!({"min_notional_usd": 5, "kinds": []})),
        "kinds: must list at least one event kind"
    );
    assert!(err(json!({"min_notinal": 5})).starts_with(
        "min_notinal: unknown field `min_notinal`, expected one of `min_notional_usd`"
    ));
    assert!(
        err(json!({"min_notional_usd": 5, "key_by": "venue"}))
            .starts_with("key_by: unknown variant `venue`")
    );
    assert!(
        err(json!({"min_notional_usd": 5, "kinds": ["trades"]}))
            .starts_with("kinds[0]: unknown variant `trades`")
    );
}

#[test]
fn single_and_batch_paths_agree_on_random_rows() {
    let configs = [
        json!({"min_notional_usd": 100000}),
        json!({"min_notional_usd": 1000, "kinds": ["swap", "perp-fill"], "key_by": "account"}),
    ];
    let mut passes = 0;
    for params in configs {
        let f = filter(params);
        for (seed, n) in [(1, 1), (2, 7), (3, 64), (4, 1024)] {
            passes += f.check_paths(&testing::random_rows(seed, n)).len();
        }
    }
    assert!(passes > 100, "{passes}");
}

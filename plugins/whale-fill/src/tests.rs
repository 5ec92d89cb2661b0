use klaxon_sdk::testing::{self, FilterHarness, Value, json};
use klaxon_sdk::{Direction, EventKind, EventRecord, MarketRecord, Severity};

use super::*;

const WHALE: &str = "0x5078C2fBEa2b2aD61bc840Bc023E35Fce56BeDb6";

fn filter(params: Value) -> FilterHarness<WhaleFill> {
    FilterHarness::configure_json(&params).unwrap()
}

fn err(params: Value) -> String {
    FilterHarness::<WhaleFill>::configure_json(&params).err().unwrap()
}

fn fill(account: &'static str, usd: f64, direction: Direction) -> EventRecord {
    EventRecord::new(EventKind::PerpFill, "ETH")
        .with_account(account)
        .with_notional(usd)
        .with_direction(direction)
        .with_closed_pnl(1234.0)
}

#[test]
fn tracked_big_fill_passes() {
    let f = filter(json!({"accounts": [WHALE.to_lowercase()], "min_notional_usd": 100000}));
    let m = MarketRecord::default();
    let pass = f.evaluate(&fill(WHALE, 1_200_000.0, Direction::OpenLong), &m).into_pass().unwrap();
    assert_eq!(pass.alert_key, format!("{WHALE}:ETH"));
    assert_eq!(
        pass.title, "Whale 0x5078…edb6 opened long ETH: $1.20M",
        "label from the account as configured"
    );
    assert_eq!(pass.value, 1_200_000.0);
    assert_eq!(pass.severity, Severity::Warning);
    assert_eq!(pass.field("closed pnl"), Some("$1.23K"));
    assert_eq!(
        f.evaluate(&fill(WHALE, 99_000.0, Direction::OpenLong), &m).reject_reason(),
        Some("below threshold")
    );
    assert_eq!(
        f.evaluate(&fill("0xother", 5e6, Direction::OpenLong), &m).reject_reason(),
        Some("account not tracked")
    );
    let no_account = EventRecord::new(EventKind::PerpFill, "ETH").with_notional(5e6);
    assert_eq!(f.evaluate(&no_account, &m).reject_reason(), Some("no account"));
    let trade = EventRecord::trade("ETH", 2000.0, 1e4).with_account(WHALE);
    assert_eq!(f.evaluate(&trade, &m).reject_reason(), Some("kind not selected"));
}

#[test]
fn directions_filter() {
    let m = MarketRecord::default();
    let open = filter(json!({"accounts": [WHALE], "directions": "open"}));
    assert!(open.evaluate(&fill(WHALE, 1.0, Direction::OpenShort), &m).is_pass());
    assert_eq!(
        open.evaluate(&fill(WHALE, 1.0, Direction::CloseLong), &m).reject_reason(),
        Some("direction not selected")
    );
    let close =
        filter(json!({"accounts": [WHALE], "directions": "close", "labels": {WHALE: "fund A"}}));
    let pass = close.evaluate(&fill(WHALE, 1.0, Direction::CloseShort), &m).into_pass().unwrap();
    assert_eq!(pass.title, "Whale fund A closed short ETH: $1");
    assert!(!close.evaluate(&fill(WHALE, 1.0, Direction::None), &m).is_pass());
}

#[test]
fn batch_path_caches_account_decisions() {
    testing::reset();
    let f = filter(json!({"accounts": [WHALE], "min_notional_usd": 10}));
    let m = MarketRecord::default();
    let rows = vec![
        (fill("0xminnow", 500.0, Direction::OpenLong), m),
        (fill(WHALE, 500.0, Direction::OpenLong), m),
        (fill("0xminnow", 500.0, Direction::OpenLong), m),
        (fill(WHALE, 5.0, Direction::OpenLong), m),
        (fill(WHALE, 700.0, Direction::CloseLong), m),
    ];
    let passed = f.evaluate_batch(&rows);
    assert_eq!(passed.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 4]);
    assert_eq!(passed[0].1, f.evaluate(&rows[1].0, &rows[1].1).into_pass().unwrap());
    // One account name and one symbol name per id; the rest is cached.
    assert_eq!(testing::name_lookups(), 3);
    f.evaluate_batch(&rows);
    assert_eq!(testing::name_lookups(), 3);
}

#[test]
fn bad_params_name_the_field() {
    let none = "accounts: list at least one account, or give a `watchlist`";
    assert_eq!(err(json!({})), none);
    assert_eq!(err(json!({"accounts": []})), none);
    assert_eq!(err(json!({"watchlist": " "})), "watchlist: must name a watchlist");
    assert_eq!(err(json!({"accounts": ["a", " "]})), "accounts[1]: must not be empty");
    assert_eq!(
        err(json!({"accounts": ["a"], "labels": {"b": "x"}})),
        "labels.b: not one of `accounts`"
    );
    assert!(
        err(json!({"accounts": ["a"], "directions": "long"}))
            .starts_with("directions: unknown variant `long`")
    );
}

#[test]
fn single_and_batch_paths_agree_on_random_rows() {
    let configs = [
        json!({"accounts": [WHALE.to_lowercase(), "whale-7"], "min_notional_usd": 1000}),
        json!({"accounts": ["0xABC"], "directions": "close", "kinds": ["perp-fill", "liquidation"]}),
    ];
    let mut passes = 0;
    for params in configs {
        let f = filter(params);
        for (seed, n) in [(1, 1), (2, 7), (3, 64), (4, 1024)] {
            passes += f.check_paths(&testing::random_rows(seed, n)).len();
        }
    }
    assert!(passes > 20, "{passes}");
}

/// Accounts on the watchlist pass with the entry's value as their label,
/// and an edit of the list applies to the next call, with no new rule.
#[test]
fn watchlist_accounts_follow_edits_of_the_list() {
    let m = MarketRecord::default();
    // Listed as written (mixed case), stored and reported in lowercase.
    testing::set_watchlist("whales", &[(WHALE, Some("fund A"))]);
    let whale: &'static str = WHALE.to_lowercase().leak();
    let f = filter(json!({"watchlist": "whales", "accounts": ["0xstatic"]}));
    let pass = f.evaluate(&fill(whale, 1e6, Direction::OpenLong), &m).into_pass().unwrap();
    assert_eq!(pass.title, "Whale fund A opened long ETH: $1.00M");
    assert!(f.evaluate(&fill("0xstatic", 1e6, Direction::OpenLong), &m).is_pass());
    let other = fill("0xb0b", 1e6, Direction::OpenLong);
    assert_eq!(f.evaluate(&other, &m).reject_reason(), Some("account not tracked"));

    testing::set_watchlist("whales", &[("0xb0b", None)]);
    let rows = [(fill(whale, 1e6, Direction::OpenLong), m), (other, m)];
    let passes = f.check_paths(&rows);
    assert_eq!(passes.len(), 1, "only the account now listed: {passes:?}");
    assert_eq!(passes[0].0, 1);
    assert_eq!(passes[0].1.title, "Whale 0xb0b opened long ETH: $1.00M");
}

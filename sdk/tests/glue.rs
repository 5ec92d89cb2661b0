//! The export glue, driven through the testing harnesses: configure errors,
//! single vs batch paths, lazy names, and the default digest.

use klaxon_sdk::testing::{self, CooldownHarness, FilterHarness, FormatterHarness, json};
use klaxon_sdk::{
    Alert, CooldownPolicy, Decision, Direction, Duration, Event, EventKind, Filter, Formatter,
    History, Market, Markup, Message, MissingFields, Pass, Severity, Verdict, Window,
    export_filter, host,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    min_notional_usd: f64,
    #[serde(default)]
    want_account: bool,
    #[serde(default)]
    #[allow(dead_code)]
    window: Option<Duration>,
}

/// Passes big trades; reads the symbol name only on a pass.
struct Big {
    params: Params,
    evaluated: u32,
}

impl Filter for Big {
    type Params = Params;

    fn new(params: Params) -> Result<Self, String> {
        if params.min_notional_usd < 0.0 {
            return Err("min_notional_usd: must not be negative".into());
        }
        Ok(Big { params, evaluated: 0 })
    }

    fn evaluate(&mut self, event: &Event, market: &Market) -> Verdict {
        self.evaluated += 1;
        let Some(usd) = event.notional_usd else { return Verdict::reject("no notional") };
        if usd < self.params.min_notional_usd {
            return Verdict::reject("below threshold");
        }
        let symbol = event.symbol.name();
        let mut pass = Pass::new(symbol, format!("Big trade on {symbol}"))
            .with_value(usd)
            .with_severity(Severity::Warning)
            .with_field(
                "1m",
                market.window(Window::M1).map_or("?".into(), |w| w.change_pct.to_string()),
            )
            .with_field("pnl", format!("{:?}", event.closed_pnl));
        if self.params.want_account {
            pass = pass.with_field("account", event.account.name().unwrap_or("-"));
        }
        pass.into()
    }
}

export_filter!(Big);

#[test]
fn configure_errors_name_the_field() {
    let err = FilterHarness::<Big>::configure(r#"{"min_notinal": 1}"#).err().unwrap();
    assert_eq!(
        err,
        "min_notinal: unknown field `min_notinal`, expected one of `min_notional_usd`, `want_account`, `window`"
    );
    let err = FilterHarness::<Big>::configure_json(
        &json!({"min_notional_usd": 1, "window": "5 parsecs"}),
    )
    .err()
    .unwrap();
    assert!(err.starts_with("window: invalid duration `5 parsecs`"), "{err}");
    let err = FilterHarness::<Big>::configure_json(&json!({"min_notional_usd": -1})).err().unwrap();
    assert_eq!(err, "min_notional_usd: must not be negative");
}

#[test]
fn batch_and_single_paths_agree() {
    let filter = FilterHarness::<Big>::configure_json(
        &json!({"min_notional_usd": 1000, "want_account": true}),
    )
    .unwrap();
    let market = Market::unknown().with_window(Window::M1, 1.5, 10.0);
    let rows = [
        (Event::trade("BTCUSDT", 50_000.0, 0.01), market), // $500: reject
        (Event::trade("BTCUSDT", 50_000.0, 1.0).with_account("0xa"), market), // pass
        (Event::trade("ETHUSDT", 2_000.0, 1.0).without_notional(), Market::unknown()),
        (Event::trade("ETHUSDT", 2_000.0, 5.0).with_closed_pnl(-3.0), Market::unknown()), // pass
    ];
    let batch = filter.evaluate_batch(&rows);
    let single: Vec<(usize, Pass)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, (e, m))| filter.evaluate(e, m).into_pass().map(|p| (i, p)))
        .collect();
    assert_eq!(batch, single);
    assert_eq!(batch.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(batch[0].1.title, "Big trade on BTCUSDT");
    assert_eq!(batch[0].1.field("account"), Some("0xa"));
    assert_eq!(batch[0].1.field("1m"), Some("1.5"));
    assert_eq!(batch[1].1.field("1m"), Some("?"));
    assert_eq!(batch[1].1.field("account"), Some("-"));
    assert_eq!(batch[1].1.field("pnl"), Some("Some(-3.0)"));
    assert_eq!(filter.evaluate(&rows[0].0, &rows[0].1).reject_reason(), Some("below threshold"));
    assert_eq!(filter.evaluate(&rows[2].0, &rows[2].1).reject_reason(), Some("no notional"));
    filter.with_plugin(|f| assert_eq!(f.evaluated, 10));
}

#[test]
fn names_resolve_lazily_once_per_id() {
    testing::reset();
    let filter = FilterHarness::<Big>::configure_json(&json!({"min_notional_usd": 1000})).unwrap();
    let small = |s| (Event::trade(s, 1.0, 1.0), Market::default());
    let big = |s| (Event::trade(s, 1.0, 5000.0), Market::default());
    // Rejected rows never ask for their symbol's name.
    assert!(filter.evaluate_batch(&[small("A"), small("B"), small("A")]).is_empty());
    assert_eq!(testing::name_lookups(), 0);
    let passed = filter.evaluate_batch(&[big("A"), big("B"), big("A"), big("B"), big("A")]);
    assert_eq!(passed.len(), 5);
    assert_eq!(testing::name_lookups(), 2);
    assert_eq!(filter.evaluate_batch(&[big("B")]).len(), 1);
    assert_eq!(testing::name_lookups(), 2, "cached for the instance's life");
}

#[test]
fn batch_carries_directions_and_missing_flags() {
    struct Echo;
    impl Filter for Echo {
        type Params = serde::de::IgnoredAny;
        fn new(_: Self::Params) -> Result<Self, String> {
            Ok(Echo)
        }
        fn evaluate(&mut self, event: &Event, market: &Market) -> Verdict {
            Pass::new(
                event.symbol.name(),
                format!("{:?} {:?} {:?}", event.kind, event.direction, market.missing),
            )
            .with_field(
                "batch",
                (event.venue.is_none() && market.window_1h.trades.is_none()).to_string(),
            )
            .into()
        }
    }
    let filter = FilterHarness::<Echo>::configure("").unwrap();
    let event = Event::new(EventKind::PerpFill, "ETH")
        .with_direction(Direction::CloseShort)
        .with_venue("hl");
    let market = Market { missing: MissingFields::BEST_ASK, ..Market::default() };
    let passed = filter.evaluate_batch(&[(event, market)]);
    assert_eq!(passed[0].1.title, "PerpFill CloseShort MissingFields(best-ask)");
    assert_eq!(passed[0].1.field("batch"), Some("true"));
    let single = filter.evaluate(&event, &market).into_pass().unwrap();
    assert_eq!(single.field("batch"), Some("false"));
}

#[test]
fn host_double_kv_expires_with_the_clock() {
    testing::reset();
    host::kv_set("a", "1", Some(Duration::from_secs(10)));
    host::kv_set_json("b", &[1, 2], None);
    assert_eq!(host::kv_get("a").as_deref(), Some("1"));
    testing::advance(Duration::from_secs(10));
    assert_eq!(host::kv_get("a"), None);
    assert_eq!(host::kv_get_json::<Vec<u32>>("b"), Some(vec![1, 2]));
    assert_eq!(host::now_ms(), testing::START_MS + 10_000);
    host::kv_delete("b");
    assert!(testing::kv_entries().is_empty());
    testing::set_price("ETH", 2000.0);
    assert_eq!(host::price("ETH"), Some(2000.0));
    assert_eq!(host::price("BTC"), None);
    host::warn("careful");
    assert_eq!(testing::logs(), [(host::LogLevel::Warn, "careful".to_owned())]);
}

struct Quiet;
impl CooldownPolicy for Quiet {
    type Params = serde::de::IgnoredAny;
    fn new(_: Self::Params) -> Result<Self, String> {
        Ok(Quiet)
    }
    fn decide(&mut self, alert: &Alert, history: &History) -> Decision {
        match history.since_last_fire_ms(host::now_ms()) {
            Some(ms) if ms < 60_000 => Decision::suppress("cooldown 1m"),
            _ => Decision::Fire(alert.severity.raised()),
        }
    }
}

struct Lines;
impl Formatter for Lines {
    type Params = serde::de::IgnoredAny;
    fn new(_: Self::Params) -> Result<Self, String> {
        Ok(Lines)
    }
    fn format(&mut self, alert: &Alert) -> Message {
        Message::new(alert.title.clone(), format!("*{}*", alert.title), Markup::MarkdownV2)
    }
}

fn alert(symbol: &str) -> Alert {
    let event = Event::trade(symbol, 10.0, 1.0).with_venue("binance-spot").to_record();
    Alert::new(
        "t",
        Pass::new(symbol, format!("{symbol} moved")).with_severity(Severity::Info),
        event,
    )
}

#[test]
fn cooldown_and_formatter_round_trip() {
    let policy = CooldownHarness::<Quiet>::configure("{}").unwrap();
    let now = host::now_ms();
    assert_eq!(policy.decide(&alert("A"), &History::default()), Decision::Fire(Severity::Warning));
    let recent = History::fired(now - 1000, 1.0, Severity::Info);
    assert_eq!(policy.decide(&alert("A"), &recent), Decision::suppress("cooldown 1m"));

    let formatter = FormatterHarness::<Lines>::configure("{}").unwrap();
    assert_eq!(formatter.format(&alert("A")).body, "*A moved*");
    let digest = formatter.format_digest(&[alert("A"), alert("B")]);
    assert_eq!(digest.title, "2 alerts");
    assert_eq!(digest.body, "*A moved*\n\n*B moved*");
    assert_eq!(digest.markup, Markup::MarkdownV2);
}

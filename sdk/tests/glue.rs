//! The export glue, driven through the testing harnesses: configure errors,
//! single vs batch paths, projection, several rules per call, scoped host
//! calls, the column-wise API, panics, lazy names, and the default digest.

use std::panic::{AssertUnwindSafe, catch_unwind};

use klaxon_sdk::testing::{
    self, CooldownHarness, FilterHarness, FormatterHarness, decide_batch, evaluate_batch, json,
};
use klaxon_sdk::{
    Alert, Batch, Columns, CooldownPolicy, Decision, Direction, Duration, Event, EventKind,
    EventRecord, Filter, Formatter, History, Market, MarketRecord, Markup, Message, MissingFields,
    Output, Pass, Rows, Severity, Verdict, Window, export_filter, host,
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

    fn columns(&self) -> Columns {
        let mut columns = Columns::NOTIONAL_USD
            | Columns::SYMBOL
            | Columns::CLOSED_PNL
            | Columns::window(Window::M1);
        if self.params.want_account {
            columns |= Columns::ACCOUNT;
        }
        columns
    }

    fn evaluate(&mut self, event: &Event, market: &Market) -> Verdict {
        self.evaluated += 1;
        let Some(usd) = event.notional_usd() else { return Verdict::reject("no notional") };
        if usd < self.params.min_notional_usd {
            return Verdict::reject("below threshold");
        }
        let symbol = event.symbol().name();
        let mut pass = Pass::new(symbol, format!("Big trade on {symbol}"))
            .with_value(usd)
            .with_severity(Severity::Warning)
            .with_field(
                "1m",
                market.window(Window::M1).map_or("?".into(), |w| {
                    format!("{} {} {}", w.change_pct, w.volume_usd, w.trades)
                }),
            )
            .with_field("pnl", format!("{:?}", event.closed_pnl()));
        if self.params.want_account {
            pass = pass.with_field("account", event.account().name().unwrap_or("-"));
        }
        pass.into()
    }
}

export_filter!(Big);

fn rows() -> Vec<(EventRecord, MarketRecord)> {
    let market =
        MarketRecord::unknown().with_window(Window::M1, 1.5, 10.0).with_trades(Window::M1, 7);
    vec![
        (EventRecord::trade("BTCUSDT", 50_000.0, 0.01), market), // $500: reject
        (EventRecord::trade("BTCUSDT", 50_000.0, 1.0).with_account("0xa"), market), // pass
        (EventRecord::trade("ETHUSDT", 2_000.0, 1.0).without_notional(), MarketRecord::unknown()),
        (
            EventRecord::trade("ETHUSDT", 2_000.0, 5.0).with_closed_pnl(-3.0),
            MarketRecord::unknown(),
        ),
    ]
}

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
    let rows = rows();
    let batch = filter.check_paths(&rows);
    assert_eq!(batch.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 3]);
    assert_eq!(batch[0].1.title, "Big trade on BTCUSDT");
    assert_eq!(batch[0].1.field("account"), Some("0xa"));
    assert_eq!(batch[0].1.field("1m"), Some("1.5 10 7"), "trade counts on both paths");
    assert_eq!(batch[1].1.field("1m"), Some("?"));
    assert_eq!(batch[1].1.field("account"), Some("-"));
    assert_eq!(batch[1].1.field("pnl"), Some("Some(-3.0)"));
    assert_eq!(filter.evaluate(&rows[0].0, &rows[0].1).reject_reason(), Some("below threshold"));
    assert_eq!(filter.evaluate(&rows[2].0, &rows[2].1).reject_reason(), Some("no notional"));
    filter.with_plugin(|f| assert_eq!(f.evaluated, 10));
    assert_eq!(
        filter.columns(),
        Columns::NOTIONAL_USD
            | Columns::SYMBOL
            | Columns::CLOSED_PNL
            | Columns::ACCOUNT
            | Columns::window(Window::M1)
            | Columns::MISSING,
        "missing is implied by a market column"
    );
}

#[test]
fn names_resolve_lazily_once_per_id() {
    testing::reset();
    let filter = FilterHarness::<Big>::configure_json(&json!({"min_notional_usd": 1000})).unwrap();
    let small = |s| (EventRecord::trade(s, 1.0, 1.0), MarketRecord::default());
    let big = |s| (EventRecord::trade(s, 1.0, 5000.0), MarketRecord::default());
    // Rejected rows never ask for their symbol's name.
    assert!(filter.evaluate_batch(&[small("A"), small("B"), small("A")]).is_empty());
    assert_eq!(testing::name_lookups(), 0);
    let passed = filter.evaluate_batch(&[big("A"), big("B"), big("A"), big("B"), big("A")]);
    assert_eq!(passed.len(), 5);
    assert_eq!(testing::name_lookups(), 2);
    assert_eq!(filter.evaluate_batch(&[big("B")]).len(), 1);
    assert!(filter.evaluate(&big("A").0, &big("A").1).is_pass());
    assert_eq!(testing::name_lookups(), 2, "cached for the instance's life, on both paths");
}

/// Reads the column its params name, declaring only `price`.
struct Reads {
    column: String,
}

impl Filter for Reads {
    type Params = serde_json::Value;
    fn new(p: serde_json::Value) -> Result<Self, String> {
        Ok(Reads { column: p["column"].as_str().unwrap_or("price").to_owned() })
    }
    fn columns(&self) -> Columns {
        Columns::PRICE
    }
    fn evaluate(&mut self, event: &Event, market: &Market) -> Verdict {
        let value = match self.column.as_str() {
            "price" => event.price(),
            "trades-1m" => market.trades(Window::M1).unwrap_or(0) as f64,
            "tx-hash" => event.tx_hash().map_or(0.0, |t| t.len() as f64),
            _ => event.notional_usd().unwrap_or(0.0),
        };
        Pass::new("k", "t").with_value(value).into()
    }
}

fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("should panic");
    err.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn undeclared_reads_panic_on_both_paths() {
    let rows = [(EventRecord::trade("X", 2.0, 3.0).with_tx_hash("0xabc"), MarketRecord::default())];
    let ok = FilterHarness::<Reads>::configure_json(&json!({})).unwrap();
    assert_eq!(ok.check_paths(&rows)[0].1.value, 2.0);
    assert_eq!(ok.columns(), Columns::PRICE);
    for column in ["trades-1m", "tx-hash", "notional-usd"] {
        let bad = FilterHarness::<Reads>::configure_json(&json!({"column": column})).unwrap();
        let expected = format!(
            "klaxon-sdk: rule read column `{column}` but columns() does not declare it; add `Columns::{}` to your Filter::columns()",
            column.to_uppercase().replace('-', "_")
        );
        assert_eq!(panic_message(|| drop(bad.evaluate(&rows[0].0, &rows[0].1))), expected);
        assert_eq!(panic_message(|| drop(bad.evaluate_batch(&rows))), expected);
        assert!(
            testing::panics().iter().any(|p| p.starts_with(&expected)),
            "{:?}",
            testing::panics()
        );
    }
}

#[test]
fn a_column_filled_for_another_rule_is_still_refused() {
    // `wide` declares notional-usd, so the host fills it; `narrow` must not read it.
    struct Wide;
    impl Filter for Wide {
        type Params = serde::de::IgnoredAny;
        fn new(_: Self::Params) -> Result<Self, String> {
            Ok(Wide)
        }
        fn columns(&self) -> Columns {
            Columns::PRICE | Columns::NOTIONAL_USD
        }
        fn evaluate(&mut self, event: &Event, _: &Market) -> Verdict {
            Pass::new("w", "w").with_value(event.notional_usd().unwrap_or(0.0)).into()
        }
    }
    let rows = [(EventRecord::trade("X", 2.0, 3.0), MarketRecord::default())];
    let wide = FilterHarness::<Wide>::configure("").unwrap();
    assert_eq!(wide.evaluate_batch(&rows)[0].1.value, 6.0);
    // Different plugin types cannot share a call; show it with `Reads`
    // rules instead: one reading price (declared), one notional (not).
    let price = FilterHarness::<Reads>::configure_json(&json!({})).unwrap();
    let notional = FilterHarness::<Reads>::configure_json(&json!({"column": "notional"})).unwrap();
    let message =
        panic_message(|| drop(evaluate_batch(&[(&price, None), (&notional, None)], &rows)));
    assert!(message.contains("`notional-usd`"), "{message}");
}

#[derive(Deserialize)]
struct Above {
    above: f64,
}

/// Passes rows priced above `above`; the row-wise way.
struct PriceAbove(f64);
impl Filter for PriceAbove {
    type Params = Above;
    fn new(p: Above) -> Result<Self, String> {
        Ok(PriceAbove(p.above))
    }
    fn columns(&self) -> Columns {
        Columns::PRICE | Columns::SYMBOL
    }
    fn evaluate(&mut self, event: &Event, _: &Market) -> Verdict {
        if event.price() <= self.0 {
            return Verdict::reject("low");
        }
        Pass::new(event.symbol().name(), format!("above {}", self.0))
            .with_value(event.price())
            .into()
    }
}

/// The same rule, column-wise.
struct PriceAboveColumns(f64);
impl Filter for PriceAboveColumns {
    type Params = Above;
    fn new(p: Above) -> Result<Self, String> {
        Ok(PriceAboveColumns(p.above))
    }
    fn columns(&self) -> Columns {
        Columns::PRICE | Columns::SYMBOL
    }
    fn evaluate(&mut self, event: &Event, market: &Market) -> Verdict {
        PriceAbove(self.0).evaluate(event, market)
    }
    fn evaluate_batch(&mut self, batch: &Batch, rows: Rows, out: &mut Output) {
        let prices = batch.prices();
        let symbols = batch.symbol_ids();
        for row in rows {
            if prices[row] > self.0 {
                let symbol = host::name(symbols[row]).unwrap_or("");
                out.pass(
                    row,
                    Pass::new(symbol, format!("above {}", self.0)).with_value(prices[row]),
                );
            }
        }
    }
}

fn priced(prices: &[f64]) -> Vec<(EventRecord, MarketRecord)> {
    prices
        .iter()
        .enumerate()
        .map(|(i, &p)| (EventRecord::trade(&format!("S{i}"), p, 1.0), MarketRecord::default()))
        .collect()
}

#[test]
fn several_rules_in_one_call_keep_their_params_and_rows() {
    let rows = priced(&[1.0, 5.0, 20.0, 3.0, 50.0]);
    let low = FilterHarness::<PriceAbove>::configure_json_for("low", &json!({"above": 2})).unwrap();
    let high =
        FilterHarness::<PriceAbove>::configure_json_for("high", &json!({"above": 10})).unwrap();
    let subset: &[u32] = &[0, 1, 4];
    let passes = evaluate_batch(&[(&high, None), (&low, Some(subset)), (&high, Some(&[3]))], &rows);
    let got: Vec<(usize, usize, f64)> = passes.iter().map(|(r, i, p)| (*r, *i, p.value)).collect();
    assert_eq!(got, [(0, 2, 20.0), (0, 4, 50.0), (1, 1, 5.0), (1, 4, 50.0)]);
    assert_eq!(passes[2].2.title, "above 2");
    assert_eq!(passes[2].2.alert_key, "S1");
}

#[test]
fn column_wise_api_matches_row_wise() {
    let rows = priced(&[1.0, 11.0, 9.0, 12.5, 10.0]);
    let row_wise = FilterHarness::<PriceAbove>::configure_json(&json!({"above": 10})).unwrap();
    let column_wise =
        FilterHarness::<PriceAboveColumns>::configure_json(&json!({"above": 10})).unwrap();
    let expected = row_wise.check_paths(&rows);
    assert_eq!(column_wise.check_paths(&rows), expected);
    let subset = evaluate_batch(&[(&column_wise, Some(&[0, 3, 4]))], &rows);
    assert_eq!(subset.iter().map(|(_, row, _)| *row).collect::<Vec<_>>(), [3]);
}

#[test]
fn a_pass_outside_the_rules_rows_panics() {
    struct Everything;
    impl Filter for Everything {
        type Params = serde::de::IgnoredAny;
        fn new(_: Self::Params) -> Result<Self, String> {
            Ok(Everything)
        }
        fn columns(&self) -> Columns {
            Columns::NONE
        }
        fn evaluate(&mut self, _: &Event, _: &Market) -> Verdict {
            Verdict::reject("no")
        }
        fn evaluate_batch(&mut self, batch: &Batch, _rows: Rows, out: &mut Output) {
            for row in 0..batch.len() {
                out.pass(row, Pass::new("k", "t"));
            }
        }
    }
    let f = FilterHarness::<Everything>::configure("").unwrap();
    let rows = priced(&[1.0, 2.0, 3.0]);
    assert_eq!(f.evaluate_batch(&rows).len(), 3);
    let message = panic_message(|| drop(evaluate_batch(&[(&f, Some(&[1]))], &rows)));
    assert!(message.starts_with("klaxon-sdk: out.pass(0)"), "{message}");
}

/// Counts events in its template's KV store.
struct Counter;
impl Filter for Counter {
    type Params = serde::de::IgnoredAny;
    fn new(_: Self::Params) -> Result<Self, String> {
        Ok(Counter)
    }
    fn columns(&self) -> Columns {
        Columns::NONE
    }
    fn evaluate(&mut self, _: &Event, _: &Market) -> Verdict {
        let n = host::kv_get("count").and_then(|v| v.parse::<u32>().ok()).unwrap_or(0) + 1;
        host::kv_set("count", &n.to_string(), None);
        host::info(&format!("count {n}"));
        Pass::new("k", "t").with_value(n as f64).into()
    }
}

#[test]
fn host_calls_are_scoped_per_rule() {
    testing::reset();
    let a = FilterHarness::<Counter>::configure_for("a", "").unwrap();
    let b = FilterHarness::<Counter>::configure_for("b", "").unwrap();
    let rows = priced(&[1.0, 2.0, 3.0]);
    let passes = evaluate_batch(&[(&a, None), (&b, Some(&[2]))], &rows);
    let values: Vec<f64> = passes.iter().map(|(_, _, p)| p.value).collect();
    assert_eq!(values, [1.0, 2.0, 3.0, 1.0]);
    assert!(b.evaluate(&rows[0].0, &rows[0].1).is_pass());
    assert_eq!(testing::kv_entries_for("a"), [("count".to_owned(), "3".to_owned())]);
    assert_eq!(testing::kv_entries_for("b"), [("count".to_owned(), "2".to_owned())]);
    assert_eq!(testing::logs_for("b").len(), 2);
    assert!(testing::kv_entries_for(testing::DEFAULT_TEMPLATE).is_empty());
}

#[test]
fn panics_are_reported_to_the_host() {
    testing::reset();
    let f = FilterHarness::<Reads>::configure_json(&json!({"column": "trades-1m"})).unwrap();
    let rows = priced(&[1.0]);
    let _ = panic_message(|| drop(f.evaluate(&rows[0].0, &rows[0].1)));
    let reported = testing::panics();
    assert_eq!(reported.len(), 1);
    assert!(reported[0].contains("`trades-1m`") && reported[0].contains(" (at "), "{reported:?}");
}

#[test]
fn every_column_reads_the_same_on_both_paths() {
    struct Echo;
    impl Filter for Echo {
        type Params = serde::de::IgnoredAny;
        fn new(_: Self::Params) -> Result<Self, String> {
            Ok(Echo)
        }
        fn columns(&self) -> Columns {
            Columns::ALL
        }
        fn evaluate(&mut self, event: &Event, market: &Market) -> Verdict {
            let windows: Vec<String> =
                Window::ALL.iter().map(|w| format!("{:?}", market.window(*w))).collect();
            Pass::new(
                event.symbol().name(),
                format!(
                    "{:?} {:?} {:?} {:?} {}",
                    event.kind(),
                    event.direction(),
                    event.side(),
                    market.missing(),
                    event.venue().name()
                ),
            )
            .with_field("record", format!("{:?}", event.to_record()))
            .with_field("windows", windows.join(","))
            .with_field(
                "market",
                format!(
                    "{:?} {:?} {:?}",
                    market.last_price(),
                    market.best_bid(),
                    market.best_ask()
                ),
            )
            .into()
        }
    }
    let filter = FilterHarness::<Echo>::configure("").unwrap();
    let event = EventRecord::new(EventKind::PerpFill, "ETH")
        .with_direction(Direction::CloseShort)
        .with_venue("hl")
        .with_id("hl:1")
        .with_tx_hash("0xdef")
        .with_account("0xa")
        .with_time(42);
    let market = MarketRecord { missing: MissingFields::BEST_ASK, ..MarketRecord::default() }
        .with_window(Window::H1, -2.0, 5.0)
        .with_trades(Window::H1, 9)
        .with_book(1.0, 2.0)
        .with_missing(MissingFields::BEST_ASK);
    let passed = filter.check_paths(&[(event.clone(), market)]);
    let pass = &passed[0].1;
    assert_eq!(pass.title, "PerpFill CloseShort Unknown MissingFields(best-ask) hl");
    assert_eq!(pass.field("record"), Some(format!("{event:?}").as_str()));
    assert!(
        pass.field("windows").unwrap().ends_with("change_pct: -2.0, volume_usd: 5.0, trades: 9 })")
    );
    assert_eq!(pass.field("market"), Some("Some(0.0) Some(1.0) None"));
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
    let id = testing::intern("BTCUSDT");
    assert_eq!(host::name(id), Some("BTCUSDT"));
    assert_eq!(host::name(0), None);
}

struct Quiet;
impl CooldownPolicy for Quiet {
    type Params = serde::de::IgnoredAny;
    fn new(_: Self::Params) -> Result<Self, String> {
        Ok(Quiet)
    }
    fn decide(&mut self, alert: &Alert, history: &History) -> Decision {
        host::kv_set("seen", &alert.alert_key, None);
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
    let event = EventRecord::trade(symbol, 10.0, 1.0).with_venue("binance-spot");
    Alert::new(
        "t",
        Pass::new(symbol, format!("{symbol} moved")).with_severity(Severity::Info),
        event,
    )
}

#[test]
fn cooldown_and_formatter_round_trip() {
    testing::reset();
    let policy = CooldownHarness::<Quiet>::configure("{}").unwrap();
    let now = host::now_ms();
    assert_eq!(policy.decide(&alert("A"), &History::default()), Decision::Fire(Severity::Warning));
    let recent = History::fired(now - 1000, 1.0, Severity::Info);
    assert_eq!(policy.decide(&alert("A"), &recent), Decision::suppress("cooldown 1m"));

    let other = CooldownHarness::<Quiet>::configure_for("other", "{}").unwrap();
    let decisions =
        decide_batch(&[(&policy, alert("B"), History::default()), (&other, alert("C"), recent)]);
    assert_eq!(decisions, [Decision::Fire(Severity::Warning), Decision::suppress("cooldown 1m")]);
    assert_eq!(testing::kv_entries_for("test"), [("seen".to_owned(), "B".to_owned())]);
    assert_eq!(testing::kv_entries_for("other"), [("seen".to_owned(), "C".to_owned())]);

    let formatter = FormatterHarness::<Lines>::configure("{}").unwrap();
    assert_eq!(formatter.format(&alert("A")).body, "*A moved*");
    let digest = formatter.format_digest(&[alert("A"), alert("B")]);
    assert_eq!(digest.title, "2 alerts");
    assert_eq!(digest.body, "*A moved*\n\n*B moved*");
    assert_eq!(digest.markup, Markup::MarkdownV2);
}

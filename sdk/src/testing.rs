//! Offline testing (non-wasm targets only): an in-memory host and harnesses
//! that drive a plugin through the same `configure` / `evaluate` /
//! `evaluate-batch` / `decide` / `format` glue as the real exports.
//!
//! The host double is thread-local. Rust's test runner gives every test its
//! own thread, so tests start from a clean host; call [`reset`] if you run
//! several scenarios in one test. The clock starts at [`START_MS`].
//!
//! ```
//! use klaxon_sdk::testing::{self, FilterHarness, json};
//! # use klaxon_sdk::{Event, Filter, Market, Verdict};
//! # struct Any;
//! # impl Filter for Any {
//! #     type Params = serde::de::IgnoredAny;
//! #     fn new(_: Self::Params) -> Result<Self, String> { Ok(Any) }
//! #     fn evaluate(&mut self, _: &Event, _: &Market) -> Verdict { Verdict::reject("no") }
//! # }
//! let filter = FilterHarness::<Any>::configure_json(&json!({})).unwrap();
//! testing::set_now_ms(1_700_000_000_000);
//! let verdict = filter.evaluate(&Event::trade("BTCUSDT", 50_000.0, 1.0), &Market::default());
//! assert_eq!(verdict.reject_reason(), Some("no"));
//! ```

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

pub use serde_json::{Value, json};

use crate::__private::{self as glue, Slot, wit};
use crate::host::LogLevel;
use crate::verdict::Field;
use crate::{
    Alert, CooldownPolicy, Decision, Duration, Event, Filter, Formatter, History, Market, Markup,
    Message, Pass, Verdict,
};

/// Where the test clock starts: 2023-11-14 22:13:20 UTC.
pub const START_MS: u64 = 1_700_000_000_000;

struct TestHost {
    now_ms: u64,
    /// key → (value, expiry in host-clock ms)
    kv: BTreeMap<String, (String, Option<u64>)>,
    prices: HashMap<String, f64>,
    /// Interned names; id = index + 1, as in the host (0 is "none").
    symbols: Vec<String>,
    accounts: Vec<String>,
    logs: Vec<(LogLevel, String)>,
    name_lookups: u32,
}

impl TestHost {
    fn new() -> TestHost {
        TestHost {
            now_ms: START_MS,
            kv: BTreeMap::new(),
            prices: HashMap::new(),
            symbols: Vec::new(),
            accounts: Vec::new(),
            logs: Vec::new(),
            name_lookups: 0,
        }
    }
}

thread_local! {
    static HOST: RefCell<TestHost> = RefCell::new(TestHost::new());
}

fn with_host<R>(f: impl FnOnce(&mut TestHost) -> R) -> R {
    HOST.with_borrow_mut(f)
}

/// Clears the KV store, prices, names, logs and the guest's name cache,
/// and puts the clock back to [`START_MS`].
pub fn reset() {
    with_host(|h| *h = TestHost::new());
    crate::names::clear();
}

/// Sets the host clock (unix ms).
pub fn set_now_ms(now_ms: u64) {
    with_host(|h| h.now_ms = now_ms);
}

/// Moves the host clock forward.
pub fn advance(by: Duration) {
    with_host(|h| h.now_ms += by.as_ms());
}

/// Sets what `host::price(symbol)` returns.
pub fn set_price(symbol: &str, price: f64) {
    with_host(|h| h.prices.insert(symbol.to_owned(), price));
}

/// Interns a symbol as the host would; the same name gets the same id.
pub fn intern_symbol(name: &str) -> u32 {
    with_host(|h| intern(&mut h.symbols, name))
}

/// Interns an account; ids start at 1 (0 means "no account").
pub fn intern_account(name: &str) -> u32 {
    with_host(|h| intern(&mut h.accounts, name))
}

fn intern(table: &mut Vec<String>, name: &str) -> u32 {
    let index = table.iter().position(|n| n == name).unwrap_or_else(|| {
        table.push(name.to_owned());
        table.len() - 1
    });
    index as u32 + 1
}

/// Live (unexpired) KV entries, sorted by key.
pub fn kv_entries() -> Vec<(String, String)> {
    with_host(|h| {
        let now = h.now_ms;
        h.kv.iter()
            .filter(|(_, (_, exp))| exp.is_none_or(|e| e > now))
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    })
}

/// Every line the plugin logged so far.
pub fn logs() -> Vec<(LogLevel, String)> {
    with_host(|h| h.logs.clone())
}

/// How many `symbol-name` / `account-name` calls reached the host; the
/// guest cache should keep this at one per distinct id.
pub fn name_lookups() -> u32 {
    with_host(|h| h.name_lookups)
}

/// The host imports, as `crate::host::raw` sees them off-wasm.
pub(crate) mod double {
    use super::*;

    pub fn log(level: LogLevel, message: &str) {
        with_host(|h| h.logs.push((level, message.to_owned())));
    }

    pub fn now_ms() -> u64 {
        with_host(|h| h.now_ms)
    }

    pub fn kv_get(key: &str) -> Option<String> {
        with_host(|h| {
            let now = h.now_ms;
            match h.kv.get(key) {
                Some((_, Some(expiry))) if *expiry <= now => {
                    h.kv.remove(key);
                    None
                }
                Some((value, _)) => Some(value.clone()),
                None => None,
            }
        })
    }

    pub fn kv_set(key: &str, value: &str, ttl_ms: Option<u64>) {
        with_host(|h| {
            let expiry = ttl_ms.map(|ttl| h.now_ms + ttl);
            h.kv.insert(key.to_owned(), (value.to_owned(), expiry));
        });
    }

    pub fn kv_delete(key: &str) {
        with_host(|h| h.kv.remove(key));
    }

    pub fn price(symbol: &str) -> Option<f64> {
        with_host(|h| h.prices.get(symbol).copied())
    }

    /// # Panics
    /// For an id nobody interned: in a test that is a bug in the test.
    pub fn symbol_name(id: u32) -> String {
        with_host(|h| {
            h.name_lookups += 1;
            let name = id.checked_sub(1).and_then(|i| h.symbols.get(i as usize));
            name.cloned().unwrap_or_else(|| {
                panic!("testing: symbol id {id} was never interned (testing::intern_symbol)")
            })
        })
    }

    pub fn account_name(id: u32) -> Option<String> {
        with_host(|h| {
            h.name_lookups += 1;
            id.checked_sub(1).and_then(|i| h.accounts.get(i as usize)).cloned()
        })
    }
}

// -------------------------------------------------------------- harnesses

/// Runs a [`Filter`] through the exported glue, on either path.
pub struct FilterHarness<F: Filter> {
    slot: Slot<F>,
}

impl<F: Filter> FilterHarness<F> {
    /// `configure(params-json)` as the host calls it; the error is the text
    /// ops would see.
    pub fn configure(params_json: &str) -> Result<Self, String> {
        let slot = RefCell::new(None);
        glue::filter_configure::<F>(&slot, params_json)?;
        Ok(FilterHarness { slot })
    }

    pub fn configure_json(params: &serde_json::Value) -> Result<Self, String> {
        Self::configure(&params.to_string())
    }

    /// The single-event export (`evaluate`).
    pub fn evaluate(&self, event: &Event<'_>, market: &Market) -> Verdict {
        match glue::filter_evaluate(&self.slot, event_to_wit(event), market_to_wit(market)) {
            wit::Verdict::Reject(reason) => Verdict::Reject(reason.into()),
            wit::Verdict::Pass(pass) => Verdict::Pass(pass_from_wit(pass)),
        }
    }

    /// The batch export (`evaluate-batch`): symbols and accounts go in as
    /// interned ids, exactly as the host sends them. Returns the passing
    /// rows' indices and passes.
    pub fn evaluate_batch(&self, rows: &[(Event<'_>, Market)]) -> Vec<(usize, Pass)> {
        let batch = batch_to_wit(rows);
        glue::filter_evaluate_batch(&self.slot, batch)
            .into_iter()
            .map(|p| (p.row as usize, pass_from_wit(p.pass)))
            .collect()
    }

    /// Direct access to the configured filter.
    pub fn with_plugin<R>(&self, f: impl FnOnce(&mut F) -> R) -> R {
        f(self.slot.borrow_mut().as_mut().expect("configured"))
    }
}

/// Runs a [`CooldownPolicy`] through the exported glue.
pub struct CooldownHarness<C: CooldownPolicy> {
    slot: Slot<C>,
}

impl<C: CooldownPolicy> CooldownHarness<C> {
    pub fn configure(params_json: &str) -> Result<Self, String> {
        let slot = RefCell::new(None);
        glue::cooldown_configure::<C>(&slot, params_json)?;
        Ok(CooldownHarness { slot })
    }

    pub fn configure_json(params: &serde_json::Value) -> Result<Self, String> {
        Self::configure(&params.to_string())
    }

    pub fn decide(&self, alert: &Alert, history: &History) -> Decision {
        let history = wit::History {
            last_fired_ms: history.last_fired_ms,
            last_value: history.last_value,
            last_severity: history.last_severity.map(glue::severity_to_wit),
            fires: history.fires,
            suppressed_since_fire: history.suppressed_since_fire,
        };
        match glue::cooldown_decide(&self.slot, alert_to_wit(alert), history) {
            wit::Decision::Fire(severity) => Decision::Fire(glue::severity_from_wit(severity)),
            wit::Decision::Suppress(reason) => Decision::Suppress(reason.into()),
        }
    }
}

/// Runs a [`Formatter`] through the exported glue.
pub struct FormatterHarness<T: Formatter> {
    slot: Slot<T>,
}

impl<T: Formatter> FormatterHarness<T> {
    pub fn configure(params_json: &str) -> Result<Self, String> {
        let slot = RefCell::new(None);
        glue::formatter_configure::<T>(&slot, params_json)?;
        Ok(FormatterHarness { slot })
    }

    pub fn configure_json(params: &serde_json::Value) -> Result<Self, String> {
        Self::configure(&params.to_string())
    }

    pub fn format(&self, alert: &Alert) -> Message {
        message_from_wit(glue::formatter_format(&self.slot, alert_to_wit(alert)))
    }

    pub fn format_digest(&self, alerts: &[Alert]) -> Message {
        message_from_wit(glue::formatter_format_digest(
            &self.slot,
            alerts.iter().map(alert_to_wit).collect(),
        ))
    }
}

// ------------------------------------------------- SDK → WIT (tests only)

fn kind_to_wit(kind: crate::EventKind) -> wit::EventKind {
    use crate::EventKind as K;
    match kind {
        K::Trade => wit::EventKind::Trade,
        K::Swap => wit::EventKind::Swap,
        K::PerpFill => wit::EventKind::PerpFill,
        K::Liquidation => wit::EventKind::Liquidation,
        K::BookTop => wit::EventKind::BookTop,
    }
}

fn side_to_wit(side: crate::Side) -> wit::Side {
    match side {
        crate::Side::Buy => wit::Side::Buy,
        crate::Side::Sell => wit::Side::Sell,
        crate::Side::Unknown => wit::Side::Unknown,
    }
}

fn direction_to_wit(direction: crate::Direction) -> wit::Direction {
    use crate::Direction as D;
    match direction {
        D::None => wit::Direction::None,
        D::OpenLong => wit::Direction::OpenLong,
        D::CloseLong => wit::Direction::CloseLong,
        D::OpenShort => wit::Direction::OpenShort,
        D::CloseShort => wit::Direction::CloseShort,
    }
}

fn event_to_wit(event: &Event<'_>) -> wit::Event {
    wit::Event {
        id: event.id.unwrap_or_default().to_owned(),
        kind: kind_to_wit(event.kind),
        venue: event.venue.unwrap_or_default().to_owned(),
        symbol: event.symbol.name().to_owned(),
        price: event.price,
        size: event.size,
        notional_usd: event.notional_usd,
        side: side_to_wit(event.side),
        account: event.account.name().map(str::to_owned),
        tx_hash: event.tx_hash.map(str::to_owned),
        exchange_time_ms: event.exchange_time_ms,
        direction: direction_to_wit(event.direction),
        closed_pnl: event.closed_pnl,
    }
}

fn market_to_wit(market: &Market) -> wit::Market {
    let stats = |w: crate::WindowStats| wit::WindowStats {
        change_pct: w.change_pct,
        volume_usd: w.volume_usd,
        trades: w.trades.unwrap_or(0),
    };
    wit::Market {
        last_price: market.last_price,
        window_1m: stats(market.window_1m),
        window_5m: stats(market.window_5m),
        window_1h: stats(market.window_1h),
        best_bid: market.best_bid,
        best_ask: market.best_ask,
        missing: wit::MissingFields::from_bits_truncate(market.missing.bits()),
    }
}

fn batch_to_wit(rows: &[(Event<'_>, Market)]) -> wit::EventBatch {
    let col = |f: &dyn Fn(&Event<'_>, &Market) -> f64| {
        rows.iter().map(|(e, m)| f(e, m)).collect::<Vec<f64>>()
    };
    wit::EventBatch {
        // Codes are the WIT enums' declaration order, as the host sends them.
        kinds: rows.iter().map(|(e, _)| kind_to_wit(e.kind) as u8).collect(),
        symbol_ids: rows
            .iter()
            .map(|(e, _)| e.symbol.id().unwrap_or_else(|| intern_symbol(e.symbol.name())))
            .collect(),
        account_ids: rows
            .iter()
            .map(|(e, _)| {
                e.account.id().or_else(|| e.account.name().map(intern_account)).unwrap_or(0)
            })
            .collect(),
        prices: col(&|e, _| e.price),
        sizes: col(&|e, _| e.size),
        notional_usd: col(&|e, _| e.notional_usd.unwrap_or(f64::NAN)),
        sides: rows.iter().map(|(e, _)| side_to_wit(e.side) as u8).collect(),
        directions: rows.iter().map(|(e, _)| direction_to_wit(e.direction) as u8).collect(),
        closed_pnl: col(&|e, _| e.closed_pnl.unwrap_or(f64::NAN)),
        exchange_time_ms: rows.iter().map(|(e, _)| e.exchange_time_ms).collect(),
        last_price: col(&|_, m| m.last_price),
        change_1m: col(&|_, m| m.window_1m.change_pct),
        change_5m: col(&|_, m| m.window_5m.change_pct),
        change_1h: col(&|_, m| m.window_1h.change_pct),
        volume_1m: col(&|_, m| m.window_1m.volume_usd),
        volume_5m: col(&|_, m| m.window_5m.volume_usd),
        volume_1h: col(&|_, m| m.window_1h.volume_usd),
        best_bid: col(&|_, m| m.best_bid),
        best_ask: col(&|_, m| m.best_ask),
        missing: rows.iter().map(|(_, m)| m.missing.bits()).collect(),
    }
}

fn pass_from_wit(pass: wit::Pass) -> Pass {
    Pass {
        alert_key: pass.alert_key,
        severity: glue::severity_from_wit(pass.severity),
        value: pass.value,
        title: pass.title,
        fields: pass.fields.into_iter().map(|f| Field { name: f.name, value: f.value }).collect(),
    }
}

fn alert_to_wit(alert: &Alert) -> wit::Alert {
    let e = &alert.event;
    wit::Alert {
        template: alert.template.clone(),
        alert_key: alert.alert_key.clone(),
        severity: glue::severity_to_wit(alert.severity),
        value: alert.value,
        title: alert.title.clone(),
        fields: alert
            .fields
            .iter()
            .map(|f| wit::Field { name: f.name.clone(), value: f.value.clone() })
            .collect(),
        event: event_to_wit(&e.view()),
    }
}

fn message_from_wit(message: wit::Message) -> Message {
    Message {
        title: message.title,
        body: message.body,
        markup: match message.markup {
            wit::Markup::Plain => Markup::Plain,
            wit::Markup::MarkdownV2 => Markup::MarkdownV2,
            wit::Markup::Markdown => Markup::Markdown,
            wit::Markup::Html => Markup::Html,
        },
    }
}

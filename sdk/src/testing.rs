//! Offline testing (non-wasm targets only): an in-memory host and harnesses
//! that drive a plugin through the same glue as the real exports (`create`,
//! `evaluate`, `evaluate-batch`, `decide-batch`, `format`, `format-digest`),
//! with the same column projection as in wasm.
//!
//! * [`FilterHarness`] is one template's filter rule. `evaluate` takes the
//!   single-event path (the record, strings only if declared);
//!   `evaluate_batch` the batch path (columns, names as interned ids, only
//!   the declared columns filled). [`evaluate_batch`] runs several rules in
//!   one call, as a shared instance sees them; [`FilterHarness::check_paths`]
//!   asserts both paths agree.
//! * [`CooldownHarness`] and [`FormatterHarness`] do the same for the other
//!   kinds.
//!
//! Watchlists are set with [`set_watchlist`].
//!
//! The host double is thread-local. Rust's test runner gives every test its
//! own thread, so tests start from a clean host; call [`reset`] if you run
//! several scenarios in one test. The clock starts at [`START_MS`]. Like the
//! real host, the double keeps one KV store and log per template: every
//! harness belongs to a template ([`DEFAULT_TEMPLATE`] unless built with
//! `configure_for`), and host calls made while serving it act for it.
//!
//! ```
//! use klaxon_sdk::testing::{self, FilterHarness, json};
//! use klaxon_sdk::{EventRecord, MarketRecord};
//! # use klaxon_sdk::{Columns, Event, Filter, Market, Verdict};
//! # struct Any;
//! # impl Filter for Any {
//! #     type Params = serde::de::IgnoredAny;
//! #     fn new(_: Self::Params) -> Result<Self, String> { Ok(Any) }
//! #     fn columns(&self) -> Columns { Columns::NONE }
//! #     fn evaluate(&mut self, _: &Event, _: &Market) -> Verdict { Verdict::reject("no") }
//! # }
//! let filter = FilterHarness::<Any>::configure_json(&json!({})).unwrap();
//! testing::set_now_ms(1_700_000_000_000);
//! let trade = EventRecord::trade("BTCUSDT", 50_000.0, 1.0);
//! let verdict = filter.evaluate(&trade, &MarketRecord::default());
//! assert_eq!(verdict.reject_reason(), Some("no"));
//! assert!(filter.check_paths(&[(trade, MarketRecord::default())]).is_empty());
//! ```

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

pub use serde_json::{Value, json};

use crate::__private::{self as glue, CooldownRule, FilterRule, FormatterRule, wit};
use crate::host::LogLevel;
use crate::verdict::Field;
use crate::{
    Alert, Columns, CooldownPolicy, Decision, Duration, EventRecord, Filter, Formatter, History,
    MarketRecord, Markup, Message, Pass, Verdict, Window,
};

/// Where the test clock starts: 2023-11-14 22:13:20 UTC.
pub const START_MS: u64 = 1_700_000_000_000;

/// The template harnesses belong to unless built with `configure_for`, and
/// the one host calls made outside any harness act for.
pub const DEFAULT_TEMPLATE: &str = "test";

struct TestHost {
    now_ms: u64,
    /// (template, key) → (value, expiry in host-clock ms)
    kv: BTreeMap<(String, String), (String, Option<u64>)>,
    prices: HashMap<String, f64>,
    /// Interned names; id = index + 1, as in the host (0 is "none").
    names: Vec<String>,
    /// (template, level, line)
    logs: Vec<(String, LogLevel, String)>,
    panics: Vec<String>,
    name_lookups: u32,
    /// The template host calls act for now.
    template: String,
    /// The templates of the current call's rules, for `scope(i)`.
    call: Vec<String>,
}

impl TestHost {
    fn new() -> TestHost {
        TestHost {
            now_ms: START_MS,
            kv: BTreeMap::new(),
            prices: HashMap::new(),
            names: Vec::new(),
            logs: Vec::new(),
            panics: Vec::new(),
            name_lookups: 0,
            template: DEFAULT_TEMPLATE.to_owned(),
            call: Vec::new(),
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
    crate::watchlist::double::clear();
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

/// Interns a venue, symbol or account name as the host would: the same
/// name gets the same id, ids start at 1, and "" is 0 ("none").
pub fn intern(name: &str) -> u32 {
    if name.is_empty() {
        return 0;
    }
    with_host(|h| {
        let index = h.names.iter().position(|n| n == name).unwrap_or_else(|| {
            h.names.push(name.to_owned());
            h.names.len() - 1
        });
        index as u32 + 1
    })
}

/// Sets watchlist `name` to `entries` (entry, optional value), replacing
/// any earlier version, as an edit of the list's file would between calls.
/// Every template may read it; a list never set is one the template did
/// not declare, and asking for it panics.
pub fn set_watchlist(name: &str, entries: &[(&str, Option<&str>)]) {
    crate::watchlist::double::set(name, entries)
}

/// The name interned as `id`, without counting a host lookup.
pub(crate) fn interned(id: u32) -> Option<String> {
    with_host(|h| id.checked_sub(1).and_then(|i| h.names.get(i as usize)).cloned())
}

/// Makes host calls outside any harness act for `template`.
pub fn act_for(template: &str) {
    with_host(|h| h.template = template.to_owned());
}

/// Live (unexpired) KV entries of the template host calls act for now
/// (the last harness's, or [`DEFAULT_TEMPLATE`]), sorted by key.
pub fn kv_entries() -> Vec<(String, String)> {
    let template = with_host(|h| h.template.clone());
    kv_entries_for(&template)
}

/// Live KV entries of `template`, sorted by key.
pub fn kv_entries_for(template: &str) -> Vec<(String, String)> {
    with_host(|h| {
        let now = h.now_ms;
        h.kv.iter()
            .filter(|((t, _), (_, exp))| t == template && exp.is_none_or(|e| e > now))
            .map(|((_, k), (v, _))| (k.clone(), v.clone()))
            .collect()
    })
}

/// Every line logged so far, any template.
pub fn logs() -> Vec<(LogLevel, String)> {
    with_host(|h| h.logs.iter().map(|(_, l, m)| (*l, m.clone())).collect())
}

/// The lines logged while acting for `template`.
pub fn logs_for(template: &str) -> Vec<(LogLevel, String)> {
    with_host(|h| {
        h.logs.iter().filter(|(t, _, _)| t == template).map(|(_, l, m)| (*l, m.clone())).collect()
    })
}

/// Messages the SDK's panic hook handed to `report-panic` on this thread.
pub fn panics() -> Vec<String> {
    with_host(|h| h.panics.clone())
}

/// How many `name` calls reached the host; the guest cache should keep
/// this at one per distinct id.
pub fn name_lookups() -> u32 {
    with_host(|h| h.name_lookups)
}

/// The host imports, as `crate::host::raw` sees them off-wasm.
pub(crate) mod double {
    use super::*;

    pub fn log(level: LogLevel, message: &str) {
        with_host(|h| {
            let template = h.template.clone();
            h.logs.push((template, level, message.to_owned()))
        });
    }

    pub fn now_ms() -> u64 {
        with_host(|h| h.now_ms)
    }

    pub fn kv_get(key: &str) -> Option<String> {
        with_host(|h| {
            let now = h.now_ms;
            let k = (h.template.clone(), key.to_owned());
            match h.kv.get(&k) {
                Some((_, Some(expiry))) if *expiry <= now => {
                    h.kv.remove(&k);
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
            h.kv.insert((h.template.clone(), key.to_owned()), (value.to_owned(), expiry));
        });
    }

    pub fn kv_delete(key: &str) {
        with_host(|h| h.kv.remove(&(h.template.clone(), key.to_owned())));
    }

    pub fn price(symbol: &str) -> Option<f64> {
        with_host(|h| h.prices.get(symbol).copied())
    }

    pub fn name(id: u32) -> Option<String> {
        with_host(|h| {
            h.name_lookups += 1;
            id.checked_sub(1).and_then(|i| h.names.get(i as usize)).cloned()
        })
    }

    /// # Panics
    /// For an index outside the current call's rules, as the host would
    /// (there, a guest error).
    pub fn scope(index: u32) {
        let ok = with_host(|h| match h.call.get(index as usize) {
            Some(template) => {
                h.template = template.clone();
                true
            }
            None => false,
        });
        assert!(ok, "testing: scope({index}) is outside the call's rules");
    }

    /// The double is told every `scope` at once: nothing to catch up.
    pub fn sync_scope() {}

    pub fn end_entries() {}

    pub fn report_panic(message: &str) {
        // The hook may run while a panic unwinds out of `with_host`.
        HOST.with(|host| {
            if let Ok(mut h) = host.try_borrow_mut() {
                h.panics.push(message.to_owned());
            }
        });
    }
}

/// Starts a call that serves `templates` (host-side `scope` targets), and
/// pre-scopes to the first, as the host does for single-rule calls.
fn begin_call(templates: &[&str]) {
    with_host(|h| {
        h.call = templates.iter().map(|t| t.to_string()).collect();
        if let Some(first) = templates.first() {
            h.template = first.to_string();
        }
    });
}

// -------------------------------------------------------------- harnesses

/// One template's [`Filter`] rule, driven through the exported glue.
pub struct FilterHarness<F: Filter> {
    rule: FilterRule<F>,
    template: String,
}

impl<F: Filter> FilterHarness<F> {
    /// `rule.create(params-json)` for [`DEFAULT_TEMPLATE`]; the error is
    /// the text ops would see.
    pub fn configure(params_json: &str) -> Result<Self, String> {
        Self::configure_for(DEFAULT_TEMPLATE, params_json)
    }

    pub fn configure_json(params: &Value) -> Result<Self, String> {
        Self::configure(&params.to_string())
    }

    /// A rule of `template` (its own KV store and log).
    pub fn configure_for(template: &str, params_json: &str) -> Result<Self, String> {
        begin_call(&[template]);
        let rule = glue::filter_create::<F>(params_json)?;
        Ok(FilterHarness { rule, template: template.to_owned() })
    }

    pub fn configure_json_for(template: &str, params: &Value) -> Result<Self, String> {
        Self::configure_for(template, &params.to_string())
    }

    pub fn template(&self) -> &str {
        &self.template
    }

    /// What the rule declared (what `columns()` tells the host), with the
    /// implied `missing`.
    pub fn columns(&self) -> Columns {
        self.rule.columns()
    }

    /// The single-event export (`rule.evaluate`): the host fills the whole
    /// record, but the strings only if declared.
    pub fn evaluate(&self, event: &EventRecord, market: &MarketRecord) -> Verdict {
        begin_call(&[&self.template]);
        let event = event_to_wit(event, self.rule.columns());
        match glue::filter_evaluate(&self.rule, event, market_to_wit(market)) {
            wit::Verdict::Reject(reason) => Verdict::Reject(reason.into()),
            wit::Verdict::Pass(pass) => Verdict::Pass(pass_from_wit(pass)),
        }
    }

    /// The batch export (`evaluate-batch`) for this rule alone, over every
    /// row. Returns the passing rows and their passes.
    pub fn evaluate_batch(&self, rows: &[(EventRecord, MarketRecord)]) -> Vec<(usize, Pass)> {
        evaluate_batch(&[(self, None)], rows)
            .into_iter()
            .map(|(_, row, pass)| (row, pass))
            .collect()
    }

    /// Runs `rows` through both paths (each row alone, then the whole batch
    /// in one call), asserts they give the same passes, and returns them.
    /// A stateful rule (KV, counters) sees every row twice.
    #[track_caller]
    pub fn check_paths(&self, rows: &[(EventRecord, MarketRecord)]) -> Vec<(usize, Pass)> {
        let single: Vec<(usize, Pass)> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, (e, m))| self.evaluate(e, m).into_pass().map(|p| (i, p)))
            .collect();
        let batch = self.evaluate_batch(rows);
        assert_eq!(single, batch, "single-event and batch paths disagree");
        batch
    }

    /// Direct access to the configured filter.
    pub fn with_plugin<R>(&self, f: impl FnOnce(&mut F) -> R) -> R {
        f(&mut self.rule.filter().borrow_mut())
    }
}

/// One `evaluate-batch` call over several rules of one plugin, as a shared
/// instance serves them: `(rule, rows)` per entry (`None`: every row, else
/// ascending row indices). Only the columns some rule declared are filled;
/// each rule still reads only its own. Returns `(entry, row, pass)`,
/// ordered by entry, then row.
pub fn evaluate_batch<F: Filter>(
    rules: &[(&FilterHarness<F>, Option<&[u32]>)],
    rows: &[(EventRecord, MarketRecord)],
) -> Vec<(usize, usize, Pass)> {
    let templates: Vec<&str> = rules.iter().map(|(r, _)| r.template.as_str()).collect();
    let union = rules.iter().fold(Columns::NONE, |c, (r, _)| c | r.rule.columns());
    let batch = batch_to_wit(rows, union);
    begin_call(&templates);
    glue::filter_evaluate_batch(&batch, rules.iter().map(|(r, rows)| (&r.rule, *rows)))
        .into_iter()
        .map(|p| (p.rule as usize, p.row as usize, pass_from_wit(p.pass)))
        .collect()
}

/// One template's [`CooldownPolicy`], driven through the exported glue.
pub struct CooldownHarness<C: CooldownPolicy> {
    rule: CooldownRule<C>,
    template: String,
}

impl<C: CooldownPolicy> CooldownHarness<C> {
    pub fn configure(params_json: &str) -> Result<Self, String> {
        Self::configure_for(DEFAULT_TEMPLATE, params_json)
    }

    pub fn configure_json(params: &Value) -> Result<Self, String> {
        Self::configure(&params.to_string())
    }

    pub fn configure_for(template: &str, params_json: &str) -> Result<Self, String> {
        begin_call(&[template]);
        let rule = glue::cooldown_create::<C>(params_json)?;
        Ok(CooldownHarness { rule, template: template.to_owned() })
    }

    pub fn configure_json_for(template: &str, params: &Value) -> Result<Self, String> {
        Self::configure_for(template, &params.to_string())
    }

    /// `decide-batch` with this one item.
    pub fn decide(&self, alert: &Alert, history: &History) -> Decision {
        decide_batch(&[(self, alert.clone(), *history)]).remove(0)
    }
}

/// One `decide-batch` call over several policies of one plugin: one
/// decision per item, in order, each scoped to its policy's template.
pub fn decide_batch<C: CooldownPolicy>(
    items: &[(&CooldownHarness<C>, Alert, History)],
) -> Vec<Decision> {
    let templates: Vec<&str> = items.iter().map(|(p, _, _)| p.template.as_str()).collect();
    begin_call(&templates);
    items
        .iter()
        .enumerate()
        .map(|(i, (policy, alert, history))| {
            // What the SDK's `decide-batch` export does per item.
            double::scope(i as u32);
            let history = wit::History {
                last_fired_ms: history.last_fired_ms,
                last_value: history.last_value,
                last_severity: history.last_severity.map(glue::severity_to_wit),
                fires: history.fires,
                suppressed_since_fire: history.suppressed_since_fire,
            };
            match glue::cooldown_decide(&policy.rule, alert_to_wit(alert), history) {
                wit::Decision::Fire(severity) => Decision::Fire(glue::severity_from_wit(severity)),
                wit::Decision::Suppress(reason) => Decision::Suppress(reason.into()),
            }
        })
        .collect()
}

/// One template's [`Formatter`], driven through the exported glue.
pub struct FormatterHarness<T: Formatter> {
    rule: FormatterRule<T>,
    template: String,
}

impl<T: Formatter> FormatterHarness<T> {
    pub fn configure(params_json: &str) -> Result<Self, String> {
        Self::configure_for(DEFAULT_TEMPLATE, params_json)
    }

    pub fn configure_json(params: &Value) -> Result<Self, String> {
        Self::configure(&params.to_string())
    }

    pub fn configure_for(template: &str, params_json: &str) -> Result<Self, String> {
        begin_call(&[template]);
        let rule = glue::formatter_create::<T>(params_json)?;
        Ok(FormatterHarness { rule, template: template.to_owned() })
    }

    pub fn format(&self, alert: &Alert) -> Message {
        begin_call(&[&self.template]);
        message_from_wit(glue::formatter_format(&self.rule, alert_to_wit(alert)))
    }

    pub fn format_digest(&self, alerts: &[Alert]) -> Message {
        begin_call(&[&self.template]);
        message_from_wit(glue::formatter_format_digest(
            &self.rule,
            alerts.iter().map(alert_to_wit).collect(),
        ))
    }
}

// ------------------------------------------------------ random inputs

/// `n` varied, deterministic rows for property tests (same `seed`, same
/// rows): every event kind, side and direction, a handful of symbols,
/// venues and accounts (some events without one), notionals from $1 to
/// $10M (some unknown), closing PnL, ids and tx hashes on some, and
/// markets with every window filled or flagged missing at random.
///
/// ```
/// # use klaxon_sdk::testing::random_rows;
/// assert_eq!(random_rows(7, 64), random_rows(7, 64));
/// assert_eq!(random_rows(7, 1024).len(), 1024);
/// ```
pub fn random_rows(seed: u64, n: usize) -> Vec<(EventRecord, MarketRecord)> {
    use crate::{Direction, EventKind, MissingFields, Side};
    const SYMBOLS: [&str; 5] = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "PEPE/WETH", "ETH"];
    const VENUES: [&str; 3] = ["binance-spot", "hyperliquid", "bsc"];
    const ACCOUNTS: [&str; 3] = ["0x5078C2fBEa2b2aD61bc840Bc023E35Fce56BeDb6", "0xabc", "whale-7"];
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545F4914F6CDD1D)
    };
    let mut unit = move || (next() >> 11) as f64 / (1u64 << 53) as f64;
    (0..n)
        .map(|i| {
            let pick = |u: f64, len: usize| ((u * len as f64) as usize).min(len - 1);
            let kind = EventKind::ALL[pick(unit(), 5)];
            let price = 10f64.powf(unit() * 5.0 - 1.0);
            let notional = 10f64.powf(unit() * 7.0);
            let mut e = EventRecord::new(kind, SYMBOLS[pick(unit(), SYMBOLS.len())])
                .with_venue(VENUES[pick(unit(), VENUES.len())])
                .with_price(price)
                .with_size(notional / price)
                .with_side([Side::Buy, Side::Sell, Side::Unknown][pick(unit(), 3)])
                .with_time(START_MS + i as u64 * 250);
            e.notional_usd = (unit() > 0.1).then_some(notional);
            if unit() < 0.6 {
                e = e.with_account(ACCOUNTS[pick(unit(), ACCOUNTS.len())]);
            }
            if kind == EventKind::PerpFill || kind == EventKind::Liquidation {
                let direction = [
                    Direction::None,
                    Direction::OpenLong,
                    Direction::CloseLong,
                    Direction::OpenShort,
                    Direction::CloseShort,
                ][pick(unit(), 5)];
                e = e.with_direction(direction);
                if direction.is_close() {
                    e = e.with_closed_pnl((unit() - 0.5) * 1e5);
                }
            }
            if unit() < 0.5 {
                e = e.with_id(&format!("x:{i}"));
            }
            if kind == EventKind::Swap {
                e = e.with_tx_hash(&format!("0x{:016x}", i * 7919));
            }
            let mut m = MarketRecord::default()
                .with_last_price(price)
                .with_book(price * 0.999, price * 1.001);
            for w in Window::ALL {
                let change = (unit() - 0.5) * 20.0;
                let volume = 10f64.powf(unit() * 8.0);
                m = m.with_window(w, change, volume).with_trades(w, (unit() * 5000.0) as u32);
            }
            let missing = MissingFields::from_bits((next_bits(unit()) & 0b11_1111) as u8);
            // Missing fields read 0, as the host sends them.
            if missing.contains(MissingFields::LAST_PRICE) {
                m.last_price = 0.0;
            }
            for w in Window::ALL {
                if missing.contains(w.missing_flag()) {
                    *match w {
                        Window::M1 => &mut m.window_1m,
                        Window::M5 => &mut m.window_5m,
                        Window::H1 => &mut m.window_1h,
                    } = crate::WindowStats::default();
                }
            }
            if missing.contains(MissingFields::BEST_BID) {
                m.best_bid = 0.0;
            }
            if missing.contains(MissingFields::BEST_ASK) {
                m.best_ask = 0.0;
            }
            (e, m.with_missing(missing))
        })
        .collect()
}

/// Mostly nothing missing, sometimes a few fields, rarely everything.
fn next_bits(u: f64) -> u32 {
    if u < 0.6 {
        0
    } else if u < 0.95 {
        1 << ((u * 1000.0) as u32 % 6)
    } else {
        0b11_1111
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

/// The single-event record the host sends a rule that declared `columns`.
fn event_to_wit(e: &EventRecord, columns: Columns) -> wit::Event {
    wit::Event {
        id: if columns.contains(Columns::EVENT_ID) { e.id.clone() } else { String::new() },
        kind: kind_to_wit(e.kind),
        venue_id: intern(&e.venue),
        symbol_id: intern(&e.symbol),
        account_id: e.account.as_deref().map_or(0, intern),
        price: e.price,
        size: e.size,
        notional_usd: e.notional_usd,
        side: side_to_wit(e.side),
        direction: direction_to_wit(e.direction),
        closed_pnl: e.closed_pnl,
        exchange_time_ms: e.exchange_time_ms,
        tx_hash: if columns.contains(Columns::TX_HASH) { e.tx_hash.clone() } else { None },
    }
}

fn stats_to_wit(w: crate::WindowStats) -> wit::WindowStats {
    wit::WindowStats { change_pct: w.change_pct, volume_usd: w.volume_usd, trades: w.trades }
}

fn market_to_wit(m: &MarketRecord) -> wit::Market {
    wit::Market {
        last_price: m.last_price,
        window_1m: stats_to_wit(m.window_1m),
        window_5m: stats_to_wit(m.window_5m),
        window_1h: stats_to_wit(m.window_1h),
        best_bid: m.best_bid,
        best_ask: m.best_ask,
        missing: wit::MissingFields::from_bits_truncate(m.missing.bits()),
    }
}

/// The columns the host sends for a call whose rules declared `union`:
/// those filled, every other one empty.
fn batch_to_wit(rows: &[(EventRecord, MarketRecord)], union: Columns) -> wit::EventBatch {
    fn col<T>(
        rows: &[(EventRecord, MarketRecord)],
        union: Columns,
        column: Columns,
        f: impl Fn(&EventRecord, &MarketRecord) -> T,
    ) -> Vec<T> {
        if union.contains(column) {
            rows.iter().map(|(e, m)| f(e, m)).collect()
        } else {
            Vec::new()
        }
    }
    let u = union;
    let w = |window: Window| move |_: &EventRecord, m: &MarketRecord| m.stats(window);
    wit::EventBatch {
        len: rows.len() as u32,
        // Codes are the WIT enums' declaration order, as the host sends them.
        kinds: col(rows, u, Columns::KIND, |e, _| kind_to_wit(e.kind) as u8),
        venue_ids: col(rows, u, Columns::VENUE, |e, _| intern(&e.venue)),
        symbol_ids: col(rows, u, Columns::SYMBOL, |e, _| intern(&e.symbol)),
        account_ids: col(rows, u, Columns::ACCOUNT, |e, _| e.account.as_deref().map_or(0, intern)),
        prices: col(rows, u, Columns::PRICE, |e, _| e.price),
        sizes: col(rows, u, Columns::SIZE, |e, _| e.size),
        notional_usd: col(rows, u, Columns::NOTIONAL_USD, |e, _| {
            e.notional_usd.unwrap_or(f64::NAN)
        }),
        sides: col(rows, u, Columns::SIDE, |e, _| side_to_wit(e.side) as u8),
        directions: col(rows, u, Columns::DIRECTION, |e, _| direction_to_wit(e.direction) as u8),
        closed_pnl: col(rows, u, Columns::CLOSED_PNL, |e, _| e.closed_pnl.unwrap_or(f64::NAN)),
        exchange_time_ms: col(rows, u, Columns::EXCHANGE_TIME, |e, _| e.exchange_time_ms),
        event_ids: col(rows, u, Columns::EVENT_ID, |e, _| e.id.clone()),
        tx_hashes: col(rows, u, Columns::TX_HASH, |e, _| e.tx_hash.clone().unwrap_or_default()),
        last_price: col(rows, u, Columns::LAST_PRICE, |_, m| m.last_price),
        change_1m: col(rows, u, Columns::CHANGE_1M, |e, m| w(Window::M1)(e, m).change_pct),
        change_5m: col(rows, u, Columns::CHANGE_5M, |e, m| w(Window::M5)(e, m).change_pct),
        change_1h: col(rows, u, Columns::CHANGE_1H, |e, m| w(Window::H1)(e, m).change_pct),
        volume_1m: col(rows, u, Columns::VOLUME_1M, |e, m| w(Window::M1)(e, m).volume_usd),
        volume_5m: col(rows, u, Columns::VOLUME_5M, |e, m| w(Window::M5)(e, m).volume_usd),
        volume_1h: col(rows, u, Columns::VOLUME_1H, |e, m| w(Window::H1)(e, m).volume_usd),
        trades_1m: col(rows, u, Columns::TRADES_1M, |e, m| w(Window::M1)(e, m).trades),
        trades_5m: col(rows, u, Columns::TRADES_5M, |e, m| w(Window::M5)(e, m).trades),
        trades_1h: col(rows, u, Columns::TRADES_1H, |e, m| w(Window::H1)(e, m).trades),
        best_bid: col(rows, u, Columns::BEST_BID, |_, m| m.best_bid),
        best_ask: col(rows, u, Columns::BEST_ASK, |_, m| m.best_ask),
        missing: col(rows, u, Columns::MISSING, |_, m| m.missing.bits()),
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
        event: wit::AlertEvent {
            id: e.id.clone(),
            kind: kind_to_wit(e.kind),
            venue: e.venue.clone(),
            symbol: e.symbol.clone(),
            price: e.price,
            size: e.size,
            notional_usd: e.notional_usd,
            side: side_to_wit(e.side),
            account: e.account.clone(),
            tx_hash: e.tx_hash.clone(),
            exchange_time_ms: e.exchange_time_ms,
            direction: direction_to_wit(e.direction),
            closed_pnl: e.closed_pnl,
        },
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

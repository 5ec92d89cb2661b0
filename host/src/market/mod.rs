//! Market state: the host-owned, bounded market context every filter reads.
//!
//! The pipeline owns one [`MarketState`] and calls [`MarketState::apply`] for
//! each event, in order, on one thread; the returned [`Snapshot`] (what the
//! market looks like including that event) travels with the event to the
//! filters. Plugins never see this state except through snapshots and the
//! [`Prices`] handle behind the `price(symbol)` host import.
//!
//! What it must not do: read the wall clock (time is the events' exchange
//! time, so replay in simulated time gives the same windows as live), block,
//! do I/O, or reach into later stages.
//!
//! # Invariants and decisions
//!
//! * **Bounded**: at most [`MarketConfig::max_symbols`] symbols; admitting
//!   one more evicts the least recently updated (in arrival order) and counts
//!   it in [`MarketState::evictions`]. Per symbol, the windows are bounded too
//!   (see [`window`](self::window)), so memory is bounded by configuration.
//! * **O(1) per event**: one hash lookup, an O(1) amortized window update and
//!   a relaxed atomic store for [`Prices`]. Allocation happens only when a
//!   symbol is admitted or its bucket queues grow to their (bounded) size.
//!   Money is converted with `dec_to_f64`, not `ToPrimitive::to_f64`; with
//!   both changes `apply` went from ~450 to ~120–170 ns/event on this
//!   (shared, loaded) machine in an ad-hoc loop, not a benchmark.
//! * **Keyed by instrument** ([`Instrument`]: venue and symbol): spot and
//!   USD-M `BTCUSDT` keep their own windows, book and last price, and so do
//!   two DEX tokens that share a ticker, whose symbols hold their chain
//!   addresses (`PEPE/WETH@0x6982…`, see `event::Listing`). Only the
//!   WIT `price(symbol)` import answers across venues ("on any venue"): one
//!   price cell per name, set by whichever venue traded last.
//! * **What feeds what**: trades, swaps, perp fills and liquidations update
//!   the last price, the windows' volume (USD notional when known, else 0)
//!   and trade counts. `BookTop` replaces best bid and ask (a side that is
//!   absent or not positive becomes missing), and its mid stands in as the
//!   last price only until the symbol's first trade: a book-only feed still
//!   answers `price()`, but once trades flow, last price means last trade.
//! * **Bad prices**: a zero or negative price never moves last price, a
//!   window's start price or `Prices`; the trade still counts in volume and
//!   trades (the notional is independent of the quoted price).
//! * **Out of order**: last price and book follow the newest exchange time
//!   (a late event does not overwrite them); late trades still count in the
//!   windows, folded into the newest bucket (see `window.rs`).
//! * **Missing flags**: `last-price` until any price is known; `window-Xm`
//!   when the window holds no trade with a usable price, and while it is
//!   *cold*: until the market has been watched for the window's whole span
//!   (from the first event the host saw, or for an instrument admitted
//!   after an eviction, from its own first event), so a fresh host never
//!   passes off 0.4 s of history as a full hour. A missing window reads 0;
//!   `best-bid` / `best-ask` until a book-top gives them.

mod prices;
mod samples;
mod snapshot;
mod table;
mod window;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use rust_decimal::Decimal;

use crate::event::dec_to_f64;
use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind, Sym};
use crate::issue::ConfigIssue;

pub use prices::Prices;
pub use samples::Samples;
pub use snapshot::{Missing, Snapshot, WindowStats};

use prices::PriceCell;
use table::Table;
use window::Windows;

/// The `[market]` section of the config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketConfig {
    /// Most symbols held at once. Admitting one more evicts the least recently
    /// updated symbol (its windows, book and last price are forgotten, and
    /// `price()` stops answering for it); evictions are counted. A symbol
    /// costs at most ~6 KB (windows full), so the default bounds market state
    /// near 60 MB even when DEX feeds bring endless new tokens. Default 10000.
    #[serde(default = "default_max_symbols")]
    pub max_symbols: usize,
    /// Flag a window missing (and read 0) until the host has watched the
    /// market for the window's whole span. `false` measures a young window
    /// from what it holds, for replays of short recordings that want
    /// changes over less than a span. Default `true`.
    #[serde(default = "yes")]
    pub flag_cold_windows: bool,
}

fn yes() -> bool {
    true
}

fn default_max_symbols() -> usize {
    10_000
}

impl Default for MarketConfig {
    fn default() -> MarketConfig {
        MarketConfig { max_symbols: default_max_symbols(), flag_cold_windows: true }
    }
}

impl MarketConfig {
    /// Local checks; paths are relative to the config file's root.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if self.max_symbols == 0 {
            issues.push(ConfigIssue::new("market.max_symbols", "must be greater than 0"));
        }
        if self.max_symbols >= u32::MAX as usize {
            issues.push(ConfigIssue::new(
                "market.max_symbols",
                format!("must be less than {}", u32::MAX),
            ));
        }
        issues
    }
}

/// What market state is kept per: one symbol on one venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instrument {
    pub venue: Sym,
    pub symbol: Sym,
}

impl Instrument {
    pub fn of(ev: &Event) -> Instrument {
        Instrument { venue: ev.venue, symbol: ev.symbol }
    }
}

/// The market stage's state. Single owner; see the module docs.
#[derive(Debug)]
pub struct MarketState {
    symbols: Table<Instrument, SymbolState>,
    prices: Prices,
    samples: Samples,
    seen: u64,
    /// Newest exchange time seen on any event: "now" for [`snapshot`](Self::snapshot).
    now_ms: u64,
    /// Exchange time of the first event: windows are cold until they reach back to it.
    watched_from: Option<u64>,
    flag_cold_windows: bool,
    evictions: u64,
}

impl MarketState {
    /// An empty market and the read-only price handle for plugin workers.
    /// `max_symbols` is clamped to `1..u32::MAX` (validation rejects the rest).
    pub fn new(cfg: &MarketConfig) -> (MarketState, Prices) {
        let prices = Prices::default();
        let state = MarketState {
            symbols: Table::new(cfg.max_symbols),
            prices: prices.clone(),
            samples: Samples::default(),
            seen: 0,
            now_ms: 0,
            watched_from: None,
            flag_cold_windows: cfg.flag_cold_windows,
            evictions: 0,
        };
        (state, prices)
    }

    /// Fold `ev` into the state and return its symbol's snapshot as of the
    /// event (including it). O(1) amortized.
    ///
    /// A swap quoted in a native coin carries [`Event::notional_ref`]; when
    /// its `notional_usd` is unknown it is filled here from the reference
    /// symbol's last price (e.g. WBNB amount × `BNBUSDT`), so filters see it.
    /// Without a price for the reference symbol it stays `None`.
    pub fn apply(&mut self, ev: &mut Event) -> Snapshot {
        self.fill_notional(ev);
        let snapshot = self.fold(ev);
        self.seen += 1;
        self.samples.offer(self.seen, ev, &snapshot);
        snapshot
    }

    /// The read-only price handle (the one `new` returned).
    pub fn prices(&self) -> Prices {
        self.prices.clone()
    }

    /// The handle smoke runs read recent real events from.
    pub fn samples(&self) -> Samples {
        self.samples.clone()
    }

    /// [`apply`](Self::apply) for an event whose notional is already final
    /// (benchmarks and tests holding shared events): folds it in unchanged.
    pub fn fold(&mut self, ev: &Event) -> Snapshot {
        self.now_ms = self.now_ms.max(ev.exchange_time_ms);
        let watched_from = *self.watched_from.get_or_insert(ev.exchange_time_ms);
        // After an eviction, a new instrument may be one whose history was
        // forgotten: its windows cover only what it has seen itself.
        let covered_from = self.flag_cold_windows.then_some(if self.evictions == 0 {
            watched_from
        } else {
            ev.exchange_time_ms
        });
        let prices = &self.prices;
        let (state, evicted) = self
            .symbols
            .upsert(Instrument::of(ev), || SymbolState::new(prices, ev.symbol, covered_from));
        state.apply(ev);
        let snapshot = state.snapshot_at(state.latest_ms);
        if let Some((_, old)) = evicted {
            self.prices.unregister(&old.name, old.cell);
            self.evictions += 1;
        }
        snapshot
    }

    /// `notional_usd = amount × last price of the reference symbol`, once.
    fn fill_notional(&self, ev: &mut Event) {
        let Some((reference, amount)) = ev.notional_ref else { return };
        if ev.notional_usd.is_some() {
            return;
        }
        // The reference is priced on any venue (`BNBUSDT` wherever it trades).
        let price = self.prices.get(&reference.name());
        if let Some(price) = price.and_then(|p| Decimal::try_from(p).ok()) {
            ev.notional_usd = amount.checked_mul(price);
        }
    }

    /// `instrument`'s snapshot now (the newest exchange time seen on any
    /// event), so an idle instrument's windows have emptied.
    /// [`Snapshot::UNKNOWN`] if it is not held. Read-only: it does not count
    /// as an update.
    pub fn snapshot(&self, instrument: Instrument) -> Snapshot {
        match self.symbols.get(instrument) {
            Some(state) => state.snapshot_at(self.now_ms.max(state.latest_ms)),
            None => Snapshot::UNKNOWN,
        }
    }

    /// Symbols held now (at most `max_symbols`).
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.symbols.len() == 0
    }

    /// Symbols evicted since start, for `klaxon_market_symbols_evicted_total`.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }
}

/// Everything held for one symbol.
#[derive(Debug)]
struct SymbolState {
    name: Arc<str>,
    /// This symbol's slot in [`Prices`], written on every price change.
    cell: Arc<PriceCell>,
    /// Newest exchange time of any event of this symbol: the windows' "now".
    latest_ms: u64,
    /// Since when this instrument's windows hold everything that happened;
    /// `None` when cold windows are not flagged.
    covered_from: Option<u64>,
    /// Last price and its exchange time.
    last: Option<(u64, f64)>,
    /// Whether `last` came from a trade (then book-top mids no longer set it).
    last_from_trade: bool,
    best_bid: Option<f64>,
    best_ask: Option<f64>,
    /// Exchange time of the book-top that set `best_bid` / `best_ask`.
    book_ms: Option<u64>,
    windows: Windows,
}

impl SymbolState {
    fn new(prices: &Prices, sym: Sym, covered_from: Option<u64>) -> SymbolState {
        let name = sym.name();
        SymbolState {
            cell: prices.register(name.clone()),
            name,
            latest_ms: 0,
            covered_from,
            last: None,
            last_from_trade: false,
            best_bid: None,
            best_ask: None,
            book_ms: None,
            windows: Windows::new(),
        }
    }

    fn apply(&mut self, ev: &Event) {
        let t = ev.exchange_time_ms;
        self.latest_ms = self.latest_ms.max(t);
        self.windows.advance(self.latest_ms);
        let price = positive(ev.price);
        match ev.kind {
            EventKind::Trade | EventKind::Swap | EventKind::PerpFill | EventKind::Liquidation => {
                let volume = ev.notional_usd.map_or(0.0, |n| dec_to_f64(n).abs());
                self.windows.record(t, self.latest_ms, price, volume);
                if let Some(p) = price
                    && (!self.last_from_trade || self.is_newest(t))
                {
                    self.set_last(t, p);
                    self.last_from_trade = true;
                }
            }
            EventKind::BookTop => {
                let (bid, ask) = (ev.best_bid.and_then(positive), ev.best_ask.and_then(positive));
                if self.book_ms.is_none_or(|b| t >= b) {
                    self.book_ms = Some(t);
                    (self.best_bid, self.best_ask) = (bid, ask);
                }
                let mid = price.or_else(|| Some((bid? + ask?) / 2.0));
                if let Some(mid) = mid.filter(|_| !self.last_from_trade && self.is_newest(t)) {
                    self.set_last(t, mid);
                }
            }
        }
    }

    /// True when an event at `t` is at least as new as the last price.
    fn is_newest(&self, t: u64) -> bool {
        self.last.is_none_or(|(ms, _)| t >= ms)
    }

    fn set_last(&mut self, t: u64, price: f64) {
        self.last = Some((t, price));
        self.cell.set(price);
    }

    fn snapshot_at(&self, now_ms: u64) -> Snapshot {
        let mut missing = Missing::NONE;
        let last = self.last.map(|(_, p)| p);
        if last.is_none() {
            missing |= Missing::LAST_PRICE;
        }
        let flags = [Missing::WINDOW_1M, Missing::WINDOW_5M, Missing::WINDOW_1H];
        let mut out = [WindowStats::default(); 3];
        let windows = self.windows.stats_at(now_ms).into_iter().zip(Windows::SPANS_MS);
        for (((stats, span), flag), out) in windows.zip(flags).zip(&mut out) {
            if self.covered_from.is_some_and(|from| now_ms.saturating_sub(from) < span) {
                missing |= flag;
                continue;
            }
            out.volume_usd = stats.volume_usd;
            out.trades = stats.trades;
            match (stats.start_price, last) {
                (Some(start), Some(last)) => out.change_pct = (last - start) / start * 100.0,
                _ => missing |= flag,
            }
        }
        if self.best_bid.is_none() {
            missing |= Missing::BEST_BID;
        }
        if self.best_ask.is_none() {
            missing |= Missing::BEST_ASK;
        }
        let [w1m, w5m, w1h] = out;
        Snapshot {
            last_price: last.unwrap_or(0.0),
            w1m,
            w5m,
            w1h,
            best_bid: self.best_bid.unwrap_or(0.0),
            best_ask: self.best_ask.unwrap_or(0.0),
            missing,
        }
    }
}

/// `d` as a strictly positive `f64`, else `None`.
fn positive(d: Decimal) -> Option<f64> {
    (d.is_sign_positive() && !d.is_zero()).then(|| dec_to_f64(d))
}

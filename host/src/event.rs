//! The normalized event: what every source emits and every later stage reads.
//!
//! Sources turn venue frames into [`Event`]s and nothing else; no later stage
//! ever sees a venue's wire format. Money stays exact (`rust_decimal`) here and
//! becomes `f64` only at the plugin boundary, where values are compared to
//! thresholds and displayed.
//!
//! Symbols and accounts are interned ([`Sym`]) once, at parse time, so the
//! column batches handed to plugins carry `u32` ids instead of strings (a
//! string costs ~55 ns to cross into WebAssembly, an id ~1 ns).

use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use ahash::AHashMap;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What happened on the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Trade,
    Swap,
    PerpFill,
    Liquidation,
    BookTop,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::Trade,
        EventKind::Swap,
        EventKind::PerpFill,
        EventKind::Liquidation,
        EventKind::BookTop,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Trade => "trade",
            EventKind::Swap => "swap",
            EventKind::PerpFill => "perp-fill",
            EventKind::Liquidation => "liquidation",
            EventKind::BookTop => "book-top",
        }
    }
}

/// The aggressor's side: `Buy` means the taker bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    Buy,
    Sell,
    #[default]
    Unknown,
}

/// For perp fills: whether the fill opened or closed a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    #[default]
    None,
    OpenLong,
    CloseLong,
    OpenShort,
    CloseShort,
}

/// An interned string (symbol, token or account).
///
/// Ids start at 1 so that 0 can mean "none" in column batches. The table only
/// grows; the number of distinct symbols and tracked accounts is bounded by
/// configuration in practice (DEX tokens are the exception, see issue 3: each
/// pool seen interns its identity, ticker and address).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

struct Interner {
    ids: AHashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

fn interner() -> &'static RwLock<Interner> {
    static TABLE: OnceLock<RwLock<Interner>> = OnceLock::new();
    TABLE.get_or_init(|| RwLock::new(Interner { ids: AHashMap::new(), names: vec![Arc::from("")] }))
}

impl Sym {
    /// Intern `name`, returning the same id for the same string process-wide.
    pub fn new(name: &str) -> Sym {
        if let Some(&id) = interner().read().expect("interner poisoned").ids.get(name) {
            return Sym(id);
        }
        let mut table = interner().write().expect("interner poisoned");
        if let Some(&id) = table.ids.get(name) {
            return Sym(id);
        }
        let id = u32::try_from(table.names.len()).expect("more than u32::MAX interned names");
        let name: Arc<str> = Arc::from(name);
        table.names.push(name.clone());
        table.ids.insert(name, id);
        Sym(id)
    }

    /// Look up an id from a column batch; `None` for 0 or an unknown id.
    pub fn from_id(id: u32) -> Option<Sym> {
        let known =
            id != 0 && (id as usize) < interner().read().expect("interner poisoned").names.len();
        known.then_some(Sym(id))
    }

    pub fn id(self) -> u32 {
        self.0
    }

    pub fn name(self) -> Arc<str> {
        interner().read().expect("interner poisoned").names[self.0 as usize].clone()
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sym({:?})", &*self.name())
    }
}

impl Serialize for Sym {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Sym {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(Sym::new(&name))
    }
}

/// One normalized event. Every venue maps onto this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Stable id for dedup, unique per venue (e.g. `binance:NKNUSDT:a:42`).
    pub id: String,
    pub kind: EventKind,
    /// Venue name, e.g. `binance`, `hyperliquid`, `ethereum`.
    pub venue: Sym,
    /// The instrument's identity on its venue: what market state, windows,
    /// routing shards and default alert keys go by. A symbol (`BTCUSDT`,
    /// `ETH`), or for a DEX swap its ticker and on-chain address
    /// (`PEPE/WETH@0x6982…`, see [`Listing`]), so copycat tokens that share a
    /// ticker never share state.
    pub symbol: Sym,
    /// For a DEX swap: its ticker and address apart, for display and for
    /// `symbols` selectors. `None` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<Listing>,
    /// Execution price in quote units; for book-top the mid price.
    pub price: Decimal,
    /// Size in base units.
    pub size: Decimal,
    /// USD value when the source could determine it.
    pub notional_usd: Option<Decimal>,
    /// For a DEX swap quoted in a chain's native coin (WETH, WBNB, SOL): the
    /// reference symbol whose last price is the coin's USD price (`ETHUSDT`)
    /// and the amount of the coin. Market state fills `notional_usd` from it
    /// when the source could not; sources never read prices themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notional_ref: Option<(Sym, Decimal)>,
    pub side: Side,
    pub account: Option<Sym>,
    pub tx_hash: Option<String>,
    /// Venue timestamp, unix milliseconds.
    pub exchange_time_ms: u64,
    pub direction: Direction,
    /// Realized PnL of a closing perp fill.
    pub closed_pnl: Option<Decimal>,
    /// Best bid and ask for book-top events.
    pub best_bid: Option<Decimal>,
    pub best_ask: Option<Decimal>,
    /// When the host received it (set as a source hands it on), for
    /// `klaxon_alert_latency_seconds`; not part of what the event is.
    #[serde(skip)]
    pub received: ReceivedAt,
}

/// A DEX instrument's names besides its identity [`Event::symbol`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Listing {
    /// `BASE/QUOTE` as the tokens call themselves: anyone can deploy a token
    /// with any ticker, so it is only shown and selected on, never keyed by.
    pub ticker: Sym,
    /// The traded (base) token's contract address or mint, lowercase for
    /// EVM; the pool's address where the token's is not known.
    pub address: Sym,
}

impl Listing {
    /// The listing and the identity symbol of `ticker` traded at `address`:
    /// `TICKER@ADDRESS`, or `TICKER@ADDRESS/QUOTE_ADDRESS` when the quote
    /// token is not one config vouches for (a stable, the wrapped native
    /// coin, a configured mint), since a copycat quote prices in other units.
    pub fn new(ticker: &str, address: &str, quote_address: Option<&str>) -> (Sym, Listing) {
        let identity = match quote_address {
            Some(quote) => format!("{ticker}@{address}/{quote}"),
            None => format!("{ticker}@{address}"),
        };
        let listing = Listing { ticker: Sym::new(ticker), address: Sym::new(address) };
        (Sym::new(&identity), listing)
    }
}

/// The monotonic instant an event entered the pipeline. It never makes two
/// events different: equality, golden files and replays ignore it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReceivedAt(Option<std::time::Instant>);

impl ReceivedAt {
    pub fn now() -> ReceivedAt {
        ReceivedAt(Some(std::time::Instant::now()))
    }

    /// Time since receipt; `None` for an event no source stamped.
    pub fn elapsed(self) -> Option<std::time::Duration> {
        self.0.map(|at| at.elapsed())
    }
}

impl PartialEq for ReceivedAt {
    fn eq(&self, _: &ReceivedAt) -> bool {
        true
    }
}

impl Event {
    /// A blank event of `kind`; sources fill in what their venue provides.
    pub fn new(
        kind: EventKind,
        venue: Sym,
        symbol: Sym,
        id: String,
        exchange_time_ms: u64,
    ) -> Event {
        Event {
            id,
            kind,
            venue,
            symbol,
            listing: None,
            price: Decimal::ZERO,
            size: Decimal::ZERO,
            notional_usd: None,
            notional_ref: None,
            side: Side::Unknown,
            account: None,
            tx_hash: None,
            exchange_time_ms,
            direction: Direction::None,
            closed_pnl: None,
            best_bid: None,
            best_ask: None,
            received: ReceivedAt::default(),
        }
    }

    /// USD notional if known, else zero.
    pub fn notional_or_zero(&self) -> Decimal {
        self.notional_usd.unwrap_or(Decimal::ZERO)
    }
}

/// A chain reorg took back an event a source had emitted (an EVM log
/// re-sent with `removed: true`). It travels forward to the alert log, which
/// marks any alert fired for the event as retracted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retraction {
    /// The retracted [`Event::id`].
    pub event_id: String,
    pub venue: Sym,
}

/// Quote assets treated as USD when computing notional.
pub const USD_QUOTES: [&str; 6] = ["USDT", "USDC", "BUSD", "FDUSD", "TUSD", "USD"];

/// `price * size` when `symbol` is quoted in a USD stable (`BTCUSDT`, `ETH/USDC`).
pub fn usd_notional(symbol: &str, price: Decimal, size: Decimal) -> Option<Decimal> {
    let quoted_in_usd = USD_QUOTES.iter().any(|q| symbol.ends_with(q));
    quoted_in_usd.then(|| price * size)
}

/// `d` as `f64` in a few ns, where `ToPrimitive::to_f64` takes ~45 (it was a
/// third of market state's `apply`). A mantissa below 2^53 over a power of ten up to 1e22 are
/// both exact, so the quotient is correctly rounded; beyond that the result is
/// within a couple of ulps, which is fine for thresholds and display (the
/// only uses of `f64` money, see DESIGN.md).
pub fn dec_to_f64(d: Decimal) -> f64 {
    const POW10: [f64; 29] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28,
    ];
    let mantissa = d.mantissa();
    // `i128 as f64` is a libcall; most mantissas fit in an `i64`.
    let mantissa = match i64::try_from(mantissa) {
        Ok(m) => m as f64,
        Err(_) => mantissa as f64,
    };
    mantissa / POW10[d.scale() as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_stable_and_never_zero() {
        let a = Sym::new("BTCUSDT");
        let b = Sym::new("BTCUSDT");
        assert_eq!(a, b);
        assert_ne!(a.id(), 0);
        assert_eq!(&*a.name(), "BTCUSDT");
        assert_eq!(Sym::from_id(a.id()), Some(a));
        assert_eq!(Sym::from_id(0), None);
    }

    #[test]
    fn usd_notional_only_for_usd_quotes() {
        let p = Decimal::new(2, 0);
        let q = Decimal::new(3, 0);
        assert_eq!(usd_notional("BTCUSDT", p, q), Some(Decimal::new(6, 0)));
        assert_eq!(usd_notional("BLZETH", p, q), None);
    }
}

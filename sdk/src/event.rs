//! What a filter sees: one event ([`Event`]); the host's market context
//! for its symbol is in `market.rs`.
//!
//! An [`Event`] is a two-word `Copy` view of one row of the columns the
//! host sent, read in place: on the batch path the batch's columns, on the
//! single-event path one-row columns over the record's fields, so both
//! paths run the same accessors over the same data. Venue, symbol and
//! account are interned ids that resolve to names only when the plugin
//! asks ([`Symbol::name`], [`Account::name`]), once per id per instance.
//!
//! Every accessor reads one column; reading a column the rule did not
//! declare in [`Filter::columns`](crate::Filter::columns) panics, naming it.

use std::fmt;

use serde::Deserialize;

use crate::cols::{Cols, at, at_str};
use crate::columns::Columns;

/// What happened on the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum EventKind {
    /// A trade on a centralized exchange (spot or futures).
    Trade,
    /// A swap on a DEX pool.
    Swap,
    /// A fill of one account's perp order (Hyperliquid `userFills`).
    #[serde(alias = "perp_fill")]
    PerpFill,
    /// A forced liquidation.
    Liquidation,
    /// A change of best bid / best ask.
    #[serde(alias = "book_top")]
    BookTop,
}

impl EventKind {
    /// Every kind, in WIT order.
    pub const ALL: [EventKind; 5] = [
        EventKind::Trade,
        EventKind::Swap,
        EventKind::PerpFill,
        EventKind::Liquidation,
        EventKind::BookTop,
    ];

    /// The WIT (and config) name, e.g. `perp-fill`.
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

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`EventKind`]s as a bit mask: a membership test is one `and`,
/// which matters on the batch path. Deserializes from a list of kind names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(from = "Vec<EventKind>")]
pub struct EventKinds(u8);

impl EventKinds {
    /// No kinds.
    pub const NONE: EventKinds = EventKinds(0);
    /// Every kind.
    pub const ALL: EventKinds = EventKinds(0b1_1111);

    /// The set holding exactly `kinds`.
    pub const fn of(kinds: &[EventKind]) -> EventKinds {
        let mut bits = 0;
        let mut i = 0;
        while i < kinds.len() {
            bits |= 1 << kinds[i] as u8;
            i += 1;
        }
        EventKinds(bits)
    }

    pub const fn contains(self, kind: EventKind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl From<Vec<EventKind>> for EventKinds {
    fn from(kinds: Vec<EventKind>) -> EventKinds {
        EventKinds::of(&kinds)
    }
}

/// The aggressor's side: `Buy` means the taker bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum Side {
    Buy,
    Sell,
    #[default]
    Unknown,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
            Side::Unknown => "unknown",
        }
    }
}

/// For perp fills: whether the fill opened or closed a position, and which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum Direction {
    #[default]
    None,
    OpenLong,
    CloseLong,
    OpenShort,
    CloseShort,
}

impl Direction {
    pub fn is_open(self) -> bool {
        matches!(self, Direction::OpenLong | Direction::OpenShort)
    }

    pub fn is_close(self) -> bool {
        matches!(self, Direction::CloseLong | Direction::CloseShort)
    }

    /// Human words, e.g. `opened long`.
    pub fn describe(self) -> &'static str {
        match self {
            Direction::None => "filled",
            Direction::OpenLong => "opened long",
            Direction::CloseLong => "closed long",
            Direction::OpenShort => "opened short",
            Direction::CloseShort => "closed short",
        }
    }
}

impl EventKind {
    /// The kind of a WIT code (its position in `event-kind`), if valid.
    pub const fn from_code(code: u8) -> Option<EventKind> {
        match code {
            0 => Some(EventKind::Trade),
            1 => Some(EventKind::Swap),
            2 => Some(EventKind::PerpFill),
            3 => Some(EventKind::Liquidation),
            4 => Some(EventKind::BookTop),
            _ => None,
        }
    }

    /// The WIT code: the kind's position in `event-kind`.
    pub const fn code(self) -> u8 {
        self as u8
    }
}

impl EventKinds {
    /// Membership of a WIT kind code (as in [`Batch::kind_codes`](crate::Batch::kind_codes));
    /// an unknown code is never a member.
    #[inline(always)]
    pub const fn contains_code(self, code: u8) -> bool {
        code < 8 && self.0 & (1 << code) != 0
    }
}

impl Side {
    /// The side of a WIT code; anything unknown reads `Unknown`.
    #[inline(always)]
    pub const fn from_code(code: u8) -> Side {
        match code {
            0 => Side::Buy,
            1 => Side::Sell,
            _ => Side::Unknown,
        }
    }
}

impl Direction {
    /// The direction of a WIT code; anything unknown reads `None`.
    #[inline(always)]
    pub const fn from_code(code: u8) -> Direction {
        match code {
            1 => Direction::OpenLong,
            2 => Direction::CloseLong,
            3 => Direction::OpenShort,
            4 => Direction::CloseShort,
            _ => Direction::None,
        }
    }
}

/// The event's venue, as an interned id (e.g. `binance-spot`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Venue(u32);

/// The event's symbol, as an interned id (`BTCUSDT`, `PEPE/WETH`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Symbol(u32);

/// The event's account (trader, maker or wallet), if the venue exposes one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Account(u32);

impl Venue {
    /// The interned id; stable for the life of the host, so a plugin may key
    /// its own caches by it.
    pub const fn id(self) -> u32 {
        self.0
    }

    /// The venue's name; the first call per id asks the host, later calls in
    /// the same instance hit a cache. Empty if the host knows no venue.
    pub fn name(self) -> &'static str {
        crate::host::name(self.0).unwrap_or("")
    }
}

impl Symbol {
    /// The interned id; stable for the life of the host.
    pub const fn id(self) -> u32 {
        self.0
    }

    /// The symbol's name (`BTCUSDT`), resolved lazily and cached like
    /// [`Venue::name`].
    pub fn name(self) -> &'static str {
        crate::host::name(self.0).unwrap_or("")
    }
}

impl Account {
    /// Whether the event has an account (no host call needed).
    pub const fn is_some(self) -> bool {
        self.0 != 0
    }

    /// The interned id (never 0), `None` without an account.
    pub const fn id(self) -> Option<u32> {
        if self.0 == 0 { None } else { Some(self.0) }
    }

    /// The account's name (an address or user id), resolved lazily and
    /// cached like [`Venue::name`].
    pub fn name(self) -> Option<&'static str> {
        if self.0 == 0 { None } else { crate::host::name(self.0) }
    }
}

impl fmt::Debug for Venue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Venue(#{})", self.0)
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Symbol(#{})", self.0)
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("Account(none)"),
            id => write!(f, "Account(#{id})"),
        }
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Venue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One normalized event: a `Copy` view of one row of the host's columns
/// (two words; nothing is copied or allocated). Each accessor reads one
/// column, which the rule must have declared in
/// [`Filter::columns`](crate::Filter::columns).
#[derive(Clone, Copy)]
pub struct Event<'a> {
    pub(crate) cols: &'a Cols<'a>,
    pub(crate) row: usize,
}

impl<'a> Event<'a> {
    /// The row of the batch (0 on the single-event path).
    pub fn row(&self) -> usize {
        self.row
    }

    /// What happened. Column [`Columns::KIND`].
    #[inline(always)]
    pub fn kind(&self) -> EventKind {
        let code = at(self.cols.kind, self.row, Columns::KIND);
        match EventKind::from_code(code) {
            Some(kind) => kind,
            None => crate::cols::bad_code("event-kind", code),
        }
    }

    /// Column [`Columns::VENUE`].
    #[inline(always)]
    pub fn venue(&self) -> Venue {
        Venue(at(self.cols.venue, self.row, Columns::VENUE))
    }

    /// Column [`Columns::SYMBOL`].
    #[inline(always)]
    pub fn symbol(&self) -> Symbol {
        Symbol(at(self.cols.symbol, self.row, Columns::SYMBOL))
    }

    /// Column [`Columns::ACCOUNT`].
    #[inline(always)]
    pub fn account(&self) -> Account {
        Account(at(self.cols.account, self.row, Columns::ACCOUNT))
    }

    /// Execution price in quote units (for book-top: the mid price).
    /// Column [`Columns::PRICE`].
    #[inline(always)]
    pub fn price(&self) -> f64 {
        at(self.cols.price, self.row, Columns::PRICE)
    }

    /// Size in base units. Column [`Columns::SIZE`].
    #[inline(always)]
    pub fn size(&self) -> f64 {
        at(self.cols.size, self.row, Columns::SIZE)
    }

    /// USD value of the event, when the host could determine it.
    /// Column [`Columns::NOTIONAL_USD`].
    #[inline(always)]
    pub fn notional_usd(&self) -> Option<f64> {
        not_nan(at(self.cols.notional, self.row, Columns::NOTIONAL_USD))
    }

    /// The aggressor's side. Column [`Columns::SIDE`].
    #[inline(always)]
    pub fn side(&self) -> Side {
        Side::from_code(at(self.cols.side, self.row, Columns::SIDE))
    }

    /// Perp fills: open/close direction. Column [`Columns::DIRECTION`].
    #[inline(always)]
    pub fn direction(&self) -> Direction {
        Direction::from_code(at(self.cols.direction, self.row, Columns::DIRECTION))
    }

    /// Perp fills: realized PnL of a closing fill, in quote units.
    /// Column [`Columns::CLOSED_PNL`].
    #[inline(always)]
    pub fn closed_pnl(&self) -> Option<f64> {
        not_nan(at(self.cols.closed_pnl, self.row, Columns::CLOSED_PNL))
    }

    /// Time the venue stamped on the event, unix milliseconds.
    /// Column [`Columns::EXCHANGE_TIME`].
    #[inline(always)]
    pub fn exchange_time_ms(&self) -> u64 {
        at(self.cols.time, self.row, Columns::EXCHANGE_TIME)
    }

    /// Dedup id (`binance:BTCUSDT:a:12345`), if the event has one.
    /// Column [`Columns::EVENT_ID`] (a string per event: declare it only if you need it).
    #[inline(always)]
    pub fn id(&self) -> Option<&'a str> {
        non_empty(at_str(self.cols.id, self.row, Columns::EVENT_ID))
    }

    /// On-chain transaction hash, if any. Column [`Columns::TX_HASH`]
    /// (a string per event: declare it only if you need it).
    #[inline(always)]
    pub fn tx_hash(&self) -> Option<&'a str> {
        non_empty(at_str(self.cols.tx, self.row, Columns::TX_HASH))
    }

    /// An owned copy of the declared columns, names resolved (undeclared
    /// ones read as zero / empty / `None`).
    pub fn to_record(&self) -> EventRecord {
        let d = self.cols.declared;
        let has = |c| d.contains(c);
        EventRecord {
            id: if has(Columns::EVENT_ID) {
                self.id().unwrap_or("").to_owned()
            } else {
                String::new()
            },
            kind: if has(Columns::KIND) { self.kind() } else { EventKind::Trade },
            venue: if has(Columns::VENUE) { self.venue().name().to_owned() } else { String::new() },
            symbol: if has(Columns::SYMBOL) {
                self.symbol().name().to_owned()
            } else {
                String::new()
            },
            price: if has(Columns::PRICE) { self.price() } else { 0.0 },
            size: if has(Columns::SIZE) { self.size() } else { 0.0 },
            notional_usd: if has(Columns::NOTIONAL_USD) { self.notional_usd() } else { None },
            side: if has(Columns::SIDE) { self.side() } else { Side::Unknown },
            account: if has(Columns::ACCOUNT) {
                self.account().name().map(str::to_owned)
            } else {
                None
            },
            tx_hash: if has(Columns::TX_HASH) { self.tx_hash().map(str::to_owned) } else { None },
            exchange_time_ms: if has(Columns::EXCHANGE_TIME) { self.exchange_time_ms() } else { 0 },
            direction: if has(Columns::DIRECTION) { self.direction() } else { Direction::None },
            closed_pnl: if has(Columns::CLOSED_PNL) { self.closed_pnl() } else { None },
        }
    }
}

impl fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Event(row {}, {:?})", self.row, self.to_record())
    }
}

#[inline(always)]
pub(crate) fn not_nan(value: f64) -> Option<f64> {
    if value.is_nan() { None } else { Some(value) }
}

#[inline(always)]
fn non_empty(text: &str) -> Option<&str> {
    if text.is_empty() { None } else { Some(text) }
}

/// An owned event: what an [`Alert`](crate::Alert) carries, and what tests
/// build ([`testing`](crate::testing) turns it into the host's record or
/// columns, interning the names).
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// Empty when unknown.
    pub id: String,
    pub kind: EventKind,
    /// Empty when unknown.
    pub venue: String,
    pub symbol: String,
    pub price: f64,
    pub size: f64,
    pub notional_usd: Option<f64>,
    pub side: Side,
    pub account: Option<String>,
    pub tx_hash: Option<String>,
    pub exchange_time_ms: u64,
    pub direction: Direction,
    pub closed_pnl: Option<f64>,
}

impl EventRecord {
    /// An event of `kind` on `symbol` with everything else zero or absent;
    /// chain the `with_*` methods.
    pub fn new(kind: EventKind, symbol: &str) -> EventRecord {
        EventRecord {
            id: String::new(),
            kind,
            venue: String::new(),
            symbol: symbol.to_owned(),
            price: 0.0,
            size: 0.0,
            notional_usd: None,
            side: Side::Unknown,
            account: None,
            tx_hash: None,
            exchange_time_ms: 0,
            direction: Direction::None,
            closed_pnl: None,
        }
    }

    /// A trade of `size` at `price`, with `notional_usd = price × size`.
    pub fn trade(symbol: &str, price: f64, size: f64) -> EventRecord {
        EventRecord {
            price,
            size,
            notional_usd: Some(price * size),
            ..EventRecord::new(EventKind::Trade, symbol)
        }
    }

    pub fn with_kind(self, kind: EventKind) -> Self {
        EventRecord { kind, ..self }
    }
    pub fn with_price(self, price: f64) -> Self {
        EventRecord { price, ..self }
    }
    pub fn with_size(self, size: f64) -> Self {
        EventRecord { size, ..self }
    }
    pub fn with_notional(self, usd: f64) -> Self {
        EventRecord { notional_usd: Some(usd), ..self }
    }
    pub fn without_notional(self) -> Self {
        EventRecord { notional_usd: None, ..self }
    }
    pub fn with_side(self, side: Side) -> Self {
        EventRecord { side, ..self }
    }
    pub fn with_account(self, account: &str) -> Self {
        EventRecord { account: Some(account.to_owned()), ..self }
    }
    pub fn with_direction(self, direction: Direction) -> Self {
        EventRecord { direction, ..self }
    }
    pub fn with_closed_pnl(self, pnl: f64) -> Self {
        EventRecord { closed_pnl: Some(pnl), ..self }
    }
    pub fn with_time(self, exchange_time_ms: u64) -> Self {
        EventRecord { exchange_time_ms, ..self }
    }
    pub fn with_venue(self, venue: &str) -> Self {
        EventRecord { venue: venue.to_owned(), ..self }
    }
    pub fn with_id(self, id: &str) -> Self {
        EventRecord { id: id.to_owned(), ..self }
    }
    pub fn with_tx_hash(self, tx_hash: &str) -> Self {
        EventRecord { tx_hash: Some(tx_hash.to_owned()), ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_mask_membership() {
        let kinds = EventKinds::of(&[EventKind::Trade, EventKind::PerpFill]);
        assert!(kinds.contains(EventKind::Trade));
        assert!(kinds.contains(EventKind::PerpFill));
        assert!(!kinds.contains(EventKind::Swap));
        assert!(kinds.contains_code(2) && !kinds.contains_code(1) && !kinds.contains_code(200));
        assert!(EventKind::ALL.iter().all(|k| EventKinds::ALL.contains(*k)));
        assert!(EventKind::ALL.iter().all(|k| EventKind::from_code(k.code()) == Some(*k)));
        let parsed: EventKinds =
            serde_json::from_str(r#"["swap", "book-top", "perp_fill"]"#).unwrap();
        assert_eq!(
            parsed,
            EventKinds::of(&[EventKind::Swap, EventKind::BookTop, EventKind::PerpFill])
        );
    }
}

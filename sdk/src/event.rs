//! What a filter sees: one event ([`Event`]); the host's market context
//! for its symbol is in `market.rs`.
//!
//! An [`Event`] is a borrowed, `Copy` view. On the single-event path it points
//! into the record the host sent; on the batch path it is assembled from one
//! row of the columns, and symbol and account are interned ids that resolve
//! to names only when the plugin asks ([`Symbol::name`], [`Account::name`]).
//! The columns carry no event id, venue or transaction hash, so those read
//! as `None` on the batch path; a filter that needs them must say so in its
//! docs (the host calls `evaluate-batch` whenever it has more than one event).

use std::fmt;

use serde::Deserialize;

use crate::names;

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

/// The event's symbol: a name, or an interned id that resolves on demand.
#[derive(Clone, Copy)]
pub struct Symbol<'a>(NameRef<'a>);

/// The event's account (trader, maker or wallet), if the venue exposes one.
#[derive(Clone, Copy)]
pub struct Account<'a>(Option<NameRef<'a>>);

#[derive(Clone, Copy)]
enum NameRef<'a> {
    Name(&'a str),
    Id(u32),
}

impl<'a> Symbol<'a> {
    pub const fn new(name: &'a str) -> Symbol<'a> {
        Symbol(NameRef::Name(name))
    }

    #[inline(always)]
    pub(crate) const fn from_id(id: u32) -> Symbol<'a> {
        Symbol(NameRef::Id(id))
    }

    /// The symbol's name (`BTCUSDT`). On the batch path the first call per
    /// id asks the host; later calls in the same instance hit a cache.
    pub fn name(&self) -> &'a str {
        match self.0 {
            NameRef::Name(name) => name,
            NameRef::Id(id) => names::symbol(id),
        }
    }

    /// The interned id on the batch path, `None` on the single-event path.
    /// Stable for the life of the host, so a plugin may key its own caches
    /// by it.
    pub fn id(&self) -> Option<u32> {
        match self.0 {
            NameRef::Name(_) => None,
            NameRef::Id(id) => Some(id),
        }
    }
}

impl<'a> Account<'a> {
    pub const NONE: Account<'static> = Account(None);

    pub const fn new(name: &'a str) -> Account<'a> {
        Account(Some(NameRef::Name(name)))
    }

    pub(crate) const fn from_option(name: Option<&'a str>) -> Account<'a> {
        match name {
            Some(name) => Account(Some(NameRef::Name(name))),
            None => Account(None),
        }
    }

    /// Id 0 means "no account", as in the WIT.
    #[inline(always)]
    pub(crate) const fn from_id(id: u32) -> Account<'a> {
        if id == 0 { Account(None) } else { Account(Some(NameRef::Id(id))) }
    }

    /// Whether the event has an account (no host call needed).
    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }

    /// The account's name (an address or user id), resolved lazily and
    /// cached like [`Symbol::name`].
    pub fn name(&self) -> Option<&'a str> {
        match self.0? {
            NameRef::Name(name) => Some(name),
            NameRef::Id(id) => names::account(id),
        }
    }

    /// The interned id on the batch path (never 0), `None` otherwise.
    pub fn id(&self) -> Option<u32> {
        match self.0? {
            NameRef::Name(_) => None,
            NameRef::Id(id) => Some(id),
        }
    }
}

impl fmt::Debug for Symbol<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            NameRef::Name(name) => write!(f, "{name:?}"),
            NameRef::Id(id) => write!(f, "#{id}"),
        }
    }
}

impl fmt::Debug for Account<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("None"),
            Some(NameRef::Name(name)) => write!(f, "{name:?}"),
            Some(NameRef::Id(id)) => write!(f, "#{id}"),
        }
    }
}

impl fmt::Display for Symbol<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One normalized event, borrowed. Fields the batch columns do not carry
/// (`id`, `venue`, `tx_hash`) are `None` there.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub kind: EventKind,
    pub symbol: Symbol<'a>,
    pub account: Account<'a>,
    /// Execution price in quote units (for book-top: the mid price).
    pub price: f64,
    /// Size in base units.
    pub size: f64,
    /// USD value of the event, when the host could determine it.
    pub notional_usd: Option<f64>,
    pub side: Side,
    /// Perp fills: open/close direction.
    pub direction: Direction,
    /// Perp fills: realized PnL of a closing fill, in quote units.
    pub closed_pnl: Option<f64>,
    /// Time the venue stamped on the event, unix milliseconds.
    pub exchange_time_ms: u64,
    /// Dedup id (`binance:BTCUSDT:a:12345`); `None` on the batch path.
    pub id: Option<&'a str>,
    /// Venue name as configured (`binance-spot`); `None` on the batch path.
    pub venue: Option<&'a str>,
    /// On-chain transaction hash; `None` on the batch path or off-chain.
    pub tx_hash: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// An event of `kind` on `symbol` with everything else zero or absent;
    /// for tests, chained with the `with_*` methods.
    pub fn new(kind: EventKind, symbol: &'a str) -> Event<'a> {
        Event {
            kind,
            symbol: Symbol::new(symbol),
            account: Account(None),
            price: 0.0,
            size: 0.0,
            notional_usd: None,
            side: Side::Unknown,
            direction: Direction::None,
            closed_pnl: None,
            exchange_time_ms: 0,
            id: None,
            venue: None,
            tx_hash: None,
        }
    }

    /// A trade of `size` at `price`, with `notional_usd = price × size`.
    pub fn trade(symbol: &'a str, price: f64, size: f64) -> Event<'a> {
        Event {
            price,
            size,
            notional_usd: Some(price * size),
            ..Event::new(EventKind::Trade, symbol)
        }
    }

    pub fn with_kind(self, kind: EventKind) -> Self {
        Event { kind, ..self }
    }
    pub fn with_notional(self, usd: f64) -> Self {
        Event { notional_usd: Some(usd), ..self }
    }
    pub fn without_notional(self) -> Self {
        Event { notional_usd: None, ..self }
    }
    pub fn with_side(self, side: Side) -> Self {
        Event { side, ..self }
    }
    pub fn with_account(self, account: &'a str) -> Self {
        Event { account: Account::new(account), ..self }
    }
    pub fn with_direction(self, direction: Direction) -> Self {
        Event { direction, ..self }
    }
    pub fn with_closed_pnl(self, pnl: f64) -> Self {
        Event { closed_pnl: Some(pnl), ..self }
    }
    pub fn with_time(self, exchange_time_ms: u64) -> Self {
        Event { exchange_time_ms, ..self }
    }
    pub fn with_venue(self, venue: &'a str) -> Self {
        Event { venue: Some(venue), ..self }
    }
    pub fn with_id(self, id: &'a str) -> Self {
        Event { id: Some(id), ..self }
    }
    pub fn with_tx_hash(self, tx_hash: &'a str) -> Self {
        Event { tx_hash: Some(tx_hash), ..self }
    }

    /// An owned copy with names resolved (what an [`Alert`](crate::Alert) carries).
    pub fn to_record(&self) -> EventRecord {
        EventRecord {
            id: self.id.unwrap_or_default().to_owned(),
            kind: self.kind,
            venue: self.venue.unwrap_or_default().to_owned(),
            symbol: self.symbol.name().to_owned(),
            price: self.price,
            size: self.size,
            notional_usd: self.notional_usd,
            side: self.side,
            account: self.account.name().map(str::to_owned),
            tx_hash: self.tx_hash.map(str::to_owned),
            exchange_time_ms: self.exchange_time_ms,
            direction: self.direction,
            closed_pnl: self.closed_pnl,
        }
    }
}

/// An owned event, as it arrives inside an [`Alert`](crate::Alert).
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: String,
    pub kind: EventKind,
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
    /// A borrowed [`Event`] over this record.
    pub fn view(&self) -> Event<'_> {
        Event {
            kind: self.kind,
            symbol: Symbol::new(&self.symbol),
            account: Account::from_option(self.account.as_deref()),
            price: self.price,
            size: self.size,
            notional_usd: self.notional_usd,
            side: self.side,
            direction: self.direction,
            closed_pnl: self.closed_pnl,
            exchange_time_ms: self.exchange_time_ms,
            id: (!self.id.is_empty()).then_some(self.id.as_str()),
            venue: (!self.venue.is_empty()).then_some(self.venue.as_str()),
            tx_hash: self.tx_hash.as_deref(),
        }
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
        assert!(EventKind::ALL.iter().all(|k| EventKinds::ALL.contains(*k)));
        let parsed: EventKinds =
            serde_json::from_str(r#"["swap", "book-top", "perp_fill"]"#).unwrap();
        assert_eq!(
            parsed,
            EventKinds::of(&[EventKind::Swap, EventKind::BookTop, EventKind::PerpFill])
        );
    }

    #[test]
    fn record_round_trips_through_view() {
        let event = Event::trade("ETH", 2000.0, 3.0)
            .with_account("0xabc")
            .with_venue("hyperliquid")
            .with_id("x:1");
        let record = event.to_record();
        assert_eq!(record.notional_usd, Some(6000.0));
        let view = record.view();
        assert_eq!(view.symbol.name(), "ETH");
        assert_eq!(view.account.name(), Some("0xabc"));
        assert_eq!(view.venue, Some("hyperliquid"));
    }
}

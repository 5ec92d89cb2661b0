//! [`Columns`]: the set of event and market columns a filter rule reads,
//! mirroring WIT `flags columns` bit for bit.
//!
//! A rule declares its set in [`Filter::columns`](crate::Filter::columns);
//! the host fills only those, and the SDK's row views refuse (panic on) a
//! read of any other, on the single-event and the batch path alike, so the
//! declaration cannot drift from what the code reads.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

use crate::window::Window;

/// A set of columns; combine with `|` (or [`Columns::union`] in `const`s).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Columns(u32);

/// Declaration order of WIT `flags columns`: bit `i` is `NAMES[i]`.
const NAMES: [&str; 26] = [
    "kind",
    "venue",
    "symbol",
    "account",
    "price",
    "size",
    "notional-usd",
    "side",
    "direction",
    "closed-pnl",
    "exchange-time",
    "event-id",
    "tx-hash",
    "last-price",
    "change-1m",
    "change-5m",
    "change-1h",
    "volume-1m",
    "volume-5m",
    "volume-1h",
    "trades-1m",
    "trades-5m",
    "trades-1h",
    "best-bid",
    "best-ask",
    "missing",
];

impl Columns {
    /// No column.
    pub const NONE: Columns = Columns(0);
    /// [`Event::kind`](crate::Event::kind).
    pub const KIND: Columns = Columns(1 << 0);
    /// [`Event::venue`](crate::Event::venue).
    pub const VENUE: Columns = Columns(1 << 1);
    /// [`Event::symbol`](crate::Event::symbol).
    pub const SYMBOL: Columns = Columns(1 << 2);
    /// [`Event::account`](crate::Event::account).
    pub const ACCOUNT: Columns = Columns(1 << 3);
    /// [`Event::price`](crate::Event::price).
    pub const PRICE: Columns = Columns(1 << 4);
    /// [`Event::size`](crate::Event::size).
    pub const SIZE: Columns = Columns(1 << 5);
    /// [`Event::notional_usd`](crate::Event::notional_usd).
    pub const NOTIONAL_USD: Columns = Columns(1 << 6);
    /// [`Event::side`](crate::Event::side).
    pub const SIDE: Columns = Columns(1 << 7);
    /// [`Event::direction`](crate::Event::direction).
    pub const DIRECTION: Columns = Columns(1 << 8);
    /// [`Event::closed_pnl`](crate::Event::closed_pnl).
    pub const CLOSED_PNL: Columns = Columns(1 << 9);
    /// [`Event::exchange_time_ms`](crate::Event::exchange_time_ms).
    pub const EXCHANGE_TIME: Columns = Columns(1 << 10);
    /// [`Event::id`](crate::Event::id): a string per event (~55 ns each).
    pub const EVENT_ID: Columns = Columns(1 << 11);
    /// [`Event::tx_hash`](crate::Event::tx_hash): a string per event (~55 ns each).
    pub const TX_HASH: Columns = Columns(1 << 12);
    /// [`Market::last_price`](crate::Market::last_price).
    pub const LAST_PRICE: Columns = Columns(1 << 13);
    pub const CHANGE_1M: Columns = Columns(1 << 14);
    pub const CHANGE_5M: Columns = Columns(1 << 15);
    pub const CHANGE_1H: Columns = Columns(1 << 16);
    pub const VOLUME_1M: Columns = Columns(1 << 17);
    pub const VOLUME_5M: Columns = Columns(1 << 18);
    pub const VOLUME_1H: Columns = Columns(1 << 19);
    pub const TRADES_1M: Columns = Columns(1 << 20);
    pub const TRADES_5M: Columns = Columns(1 << 21);
    pub const TRADES_1H: Columns = Columns(1 << 22);
    /// [`Market::best_bid`](crate::Market::best_bid).
    pub const BEST_BID: Columns = Columns(1 << 23);
    /// [`Market::best_ask`](crate::Market::best_ask).
    pub const BEST_ASK: Columns = Columns(1 << 24);
    /// [`Market::missing`](crate::Market::missing). The SDK adds it to any
    /// rule that declares a market column, so you need not.
    pub const MISSING: Columns = Columns(1 << 25);

    /// Every event column (strings included).
    pub const EVENT: Columns = Columns((1 << 13) - 1);
    /// Every event column but the two strings ([`EVENT_ID`](Self::EVENT_ID),
    /// [`TX_HASH`](Self::TX_HASH)), which cost ~55 ns per event each.
    pub const EVENT_NUMERIC: Columns =
        Columns(Self::EVENT.0 & !(Self::EVENT_ID.0 | Self::TX_HASH.0));
    /// Every market column, `missing` included.
    pub const MARKET: Columns = Columns(((1 << 26) - 1) & !Self::EVENT.0);
    /// Every column.
    pub const ALL: Columns = Columns((1 << 26) - 1);

    /// The set with both sets' columns (`|` for `const` contexts).
    pub const fn union(self, other: Columns) -> Columns {
        Columns(self.0 | other.0)
    }

    /// The columns of `self` not in `other`.
    pub const fn difference(self, other: Columns) -> Columns {
        Columns(self.0 & !other.0)
    }

    /// Whether every column of `other` is in `self`.
    pub const fn contains(self, other: Columns) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` and `other` share a column.
    pub const fn intersects(self, other: Columns) -> bool {
        self.0 & other.0 != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The bits of WIT `flags columns`.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// From WIT bits; unknown bits are dropped.
    pub const fn from_bits(bits: u32) -> Columns {
        Columns(bits & Self::ALL.0)
    }

    /// The change column of `window` ([`Market::change_pct`](crate::Market::change_pct)).
    pub const fn change(window: Window) -> Columns {
        match window {
            Window::M1 => Self::CHANGE_1M,
            Window::M5 => Self::CHANGE_5M,
            Window::H1 => Self::CHANGE_1H,
        }
    }

    /// The volume column of `window` ([`Market::volume_usd`](crate::Market::volume_usd)).
    pub const fn volume(window: Window) -> Columns {
        match window {
            Window::M1 => Self::VOLUME_1M,
            Window::M5 => Self::VOLUME_5M,
            Window::H1 => Self::VOLUME_1H,
        }
    }

    /// The trade-count column of `window` ([`Market::trades`](crate::Market::trades)).
    pub const fn trades(window: Window) -> Columns {
        match window {
            Window::M1 => Self::TRADES_1M,
            Window::M5 => Self::TRADES_5M,
            Window::H1 => Self::TRADES_1H,
        }
    }

    /// Change, volume and trade count of `window`: what
    /// [`Market::window`](crate::Market::window) reads.
    pub const fn window(window: Window) -> Columns {
        Self::change(window).union(Self::volume(window)).union(Self::trades(window))
    }

    /// The WIT names of the columns in the set, in declaration order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        NAMES.iter().enumerate().filter(move |(i, _)| self.0 & (1 << i) != 0).map(|(_, n)| *n)
    }

    /// The WIT name of a single-column set.
    pub(crate) fn name(self) -> &'static str {
        debug_assert_eq!(self.0.count_ones(), 1);
        NAMES[self.0.trailing_zeros() as usize % NAMES.len()]
    }

    /// What the SDK asks the host for: `self`, plus `missing` when any
    /// market column is read.
    pub(crate) const fn with_implied(self) -> Columns {
        if self.intersects(Self::MARKET.difference(Self::MISSING)) {
            self.union(Self::MISSING)
        } else {
            self
        }
    }
}

impl BitOr for Columns {
    type Output = Columns;
    fn bitor(self, rhs: Columns) -> Columns {
        self.union(rhs)
    }
}

impl BitOrAssign for Columns {
    fn bitor_assign(&mut self, rhs: Columns) {
        *self = self.union(rhs);
    }
}

impl fmt::Debug for Columns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Columns(")?;
        for (i, name) in self.names().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
        }
        write!(f, ")")
    }
}

/// A read of an undeclared column: the author's bug, named so it is fixed
/// in one go. Kept out of line so the accessors stay small.
#[cold]
#[inline(never)]
#[track_caller]
pub(crate) fn undeclared(column: Columns) -> ! {
    panic!(
        "klaxon-sdk: rule read column `{}` but columns() does not declare it; add `Columns::{}` \
         to your Filter::columns()",
        column.name(),
        column.name().to_uppercase().replace('-', "_")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_names() {
        let c = Columns::KIND | Columns::NOTIONAL_USD;
        assert!(c.contains(Columns::KIND));
        assert!(!c.contains(Columns::KIND | Columns::PRICE));
        assert_eq!(format!("{c:?}"), "Columns(kind | notional-usd)");
        assert_eq!(Columns::MISSING.name(), "missing");
        assert_eq!(Columns::TRADES_1M.name(), "trades-1m");
        assert_eq!(Columns::ALL.names().count(), 26);
        assert_eq!(Columns::EVENT.names().last(), Some("tx-hash"));
        assert_eq!(Columns::MARKET.names().next(), Some("last-price"));
        assert_eq!(c.with_implied(), c);
        assert_eq!(
            (Columns::KIND | Columns::TRADES_1H).with_implied(),
            Columns::KIND | Columns::TRADES_1H | Columns::MISSING
        );
        assert_eq!(
            Columns::window(Window::M5),
            Columns::CHANGE_5M | Columns::VOLUME_5M | Columns::TRADES_5M
        );
    }
}

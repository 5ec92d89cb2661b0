//! What the host knows about an event's symbol ([`Market`]): last price,
//! rolling 1m/5m/1h windows (change, volume, trade count) and top of book,
//! with flags for what it could not fill. The market already includes the
//! event being judged. A missing field reads as 0, so the accessors return
//! `None` for it: a threshold never passes on a value the host lacks.
//!
//! Like [`Event`](crate::Event), a [`Market`] is a `Copy` view of one row
//! of columns; each accessor reads the columns it names, which the rule
//! must declare (`missing` is implied by any market column).

use std::fmt;

use crate::cols::{Cols, at};
use crate::columns::Columns;

/// Which market-context fields the host could not fill (they then read as 0).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MissingFields(u8);

impl MissingFields {
    pub const NONE: MissingFields = MissingFields(0);
    pub const LAST_PRICE: MissingFields = MissingFields(1 << 0);
    pub const WINDOW_1M: MissingFields = MissingFields(1 << 1);
    pub const WINDOW_5M: MissingFields = MissingFields(1 << 2);
    pub const WINDOW_1H: MissingFields = MissingFields(1 << 3);
    pub const BEST_BID: MissingFields = MissingFields(1 << 4);
    pub const BEST_ASK: MissingFields = MissingFields(1 << 5);
    pub const ALL: MissingFields = MissingFields(0b11_1111);

    #[inline(always)]
    pub const fn from_bits(bits: u8) -> MissingFields {
        MissingFields(bits & Self::ALL.0)
    }
    pub const fn bits(self) -> u8 {
        self.0
    }
    /// Whether every field in `other` is missing.
    pub const fn contains(self, other: MissingFields) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The fields of `self` not in `other`.
    pub const fn difference(self, other: MissingFields) -> MissingFields {
        MissingFields(self.0 & !other.0)
    }
}

impl std::ops::BitOr for MissingFields {
    type Output = MissingFields;
    fn bitor(self, rhs: MissingFields) -> MissingFields {
        MissingFields(self.0 | rhs.0)
    }
}

impl fmt::Debug for MissingFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 6] =
            ["last-price", "window-1m", "window-5m", "window-1h", "best-bid", "best-ask"];
        let set: Vec<&str> = NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect();
        write!(f, "MissingFields({})", set.join(" | "))
    }
}

pub use crate::window::Window;

/// Where a window's data-quality bit lives.
impl Window {
    /// The [`MissingFields`] flag for this window.
    pub const fn missing_flag(self) -> MissingFields {
        match self {
            Window::M1 => MissingFields::WINDOW_1M,
            Window::M5 => MissingFields::WINDOW_5M,
            Window::H1 => MissingFields::WINDOW_1H,
        }
    }
}

/// Rolling statistics over one window ending at (and including) the event.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WindowStats {
    /// Price change over the window in percent (+5.0 = up 5%).
    pub change_pct: f64,
    /// Traded USD volume over the window.
    pub volume_usd: f64,
    /// Number of trades in the window.
    pub trades: u32,
}

/// What the host knows about the event's symbol, including this event: a
/// `Copy` view of one row of the host's columns.
#[derive(Clone, Copy)]
pub struct Market<'a> {
    pub(crate) cols: &'a Cols<'a>,
    pub(crate) row: usize,
}

const CHANGE: [Columns; 3] = [Columns::CHANGE_1M, Columns::CHANGE_5M, Columns::CHANGE_1H];
const VOLUME: [Columns; 3] = [Columns::VOLUME_1M, Columns::VOLUME_5M, Columns::VOLUME_1H];
const TRADES: [Columns; 3] = [Columns::TRADES_1M, Columns::TRADES_5M, Columns::TRADES_1H];

impl<'a> Market<'a> {
    /// Which fields the host could not fill. Column [`Columns::MISSING`]
    /// (implied by any market column).
    #[inline(always)]
    pub fn missing(&self) -> MissingFields {
        MissingFields::from_bits(at(self.cols.missing, self.row, Columns::MISSING))
    }

    #[inline(always)]
    fn present(&self, flag: MissingFields) -> bool {
        !self.missing().contains(flag)
    }

    /// Last price. Column [`Columns::LAST_PRICE`].
    #[inline(always)]
    pub fn last_price(&self) -> Option<f64> {
        let value = at(self.cols.last_price, self.row, Columns::LAST_PRICE);
        self.present(MissingFields::LAST_PRICE).then_some(value)
    }

    /// Price change over `window` in percent. Column [`Columns::change`]`(window)`.
    #[inline(always)]
    pub fn change_pct(&self, window: Window) -> Option<f64> {
        let i = window.index();
        let value = at(self.cols.change[i], self.row, CHANGE[i]);
        self.present(window.missing_flag()).then_some(value)
    }

    /// Traded USD volume over `window`. Column [`Columns::volume`]`(window)`.
    #[inline(always)]
    pub fn volume_usd(&self, window: Window) -> Option<f64> {
        let i = window.index();
        let value = at(self.cols.volume[i], self.row, VOLUME[i]);
        self.present(window.missing_flag()).then_some(value)
    }

    /// Number of trades in `window`. Column [`Columns::trades`]`(window)`.
    #[inline(always)]
    pub fn trades(&self, window: Window) -> Option<u32> {
        let i = window.index();
        let value = at(self.cols.trades[i], self.row, TRADES[i]);
        self.present(window.missing_flag()).then_some(value)
    }

    /// Change, volume and trade count of `window`, or `None` if the host
    /// could not fill it. Columns [`Columns::window`]`(window)` (all three).
    #[inline(always)]
    pub fn window(&self, window: Window) -> Option<WindowStats> {
        let i = window.index();
        let stats = WindowStats {
            change_pct: at(self.cols.change[i], self.row, CHANGE[i]),
            volume_usd: at(self.cols.volume[i], self.row, VOLUME[i]),
            trades: at(self.cols.trades[i], self.row, TRADES[i]),
        };
        self.present(window.missing_flag()).then_some(stats)
    }

    /// Best bid. Column [`Columns::BEST_BID`].
    #[inline(always)]
    pub fn best_bid(&self) -> Option<f64> {
        let value = at(self.cols.best_bid, self.row, Columns::BEST_BID);
        self.present(MissingFields::BEST_BID).then_some(value)
    }

    /// Best ask. Column [`Columns::BEST_ASK`].
    #[inline(always)]
    pub fn best_ask(&self) -> Option<f64> {
        let value = at(self.cols.best_ask, self.row, Columns::BEST_ASK);
        self.present(MissingFields::BEST_ASK).then_some(value)
    }
}

impl fmt::Debug for Market<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Market(row {})", self.row)
    }
}

/// An owned market context, for tests: [`testing`](crate::testing) turns
/// it into the host's record or columns. `default()` has every field
/// present and 0; [`MarketRecord::unknown`] has every field missing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MarketRecord {
    pub last_price: f64,
    pub window_1m: WindowStats,
    pub window_5m: WindowStats,
    pub window_1h: WindowStats,
    pub best_bid: f64,
    pub best_ask: f64,
    pub missing: MissingFields,
}

impl MarketRecord {
    /// A market where every field is missing (what the host sends when it
    /// knows nothing about the symbol).
    pub fn unknown() -> MarketRecord {
        MarketRecord { missing: MissingFields::ALL, ..MarketRecord::default() }
    }

    /// The stats of `window` (whether missing or not).
    pub fn stats(&self, window: Window) -> WindowStats {
        match window {
            Window::M1 => self.window_1m,
            Window::M5 => self.window_5m,
            Window::H1 => self.window_1h,
        }
    }

    fn stats_mut(&mut self, window: Window) -> &mut WindowStats {
        match window {
            Window::M1 => &mut self.window_1m,
            Window::M5 => &mut self.window_5m,
            Window::H1 => &mut self.window_1h,
        }
    }

    fn present(mut self, flag: MissingFields) -> MarketRecord {
        self.missing = MissingFields(self.missing.0 & !flag.0);
        self
    }

    /// Sets `window`'s change and volume and marks it present.
    pub fn with_window(mut self, window: Window, change_pct: f64, volume_usd: f64) -> MarketRecord {
        let stats = self.stats_mut(window);
        stats.change_pct = change_pct;
        stats.volume_usd = volume_usd;
        self.present(window.missing_flag())
    }

    /// Sets `window`'s trade count and marks it present.
    pub fn with_trades(mut self, window: Window, trades: u32) -> MarketRecord {
        self.stats_mut(window).trades = trades;
        self.present(window.missing_flag())
    }

    /// Sets the last price and marks it present.
    pub fn with_last_price(mut self, price: f64) -> MarketRecord {
        self.last_price = price;
        self.present(MissingFields::LAST_PRICE)
    }

    /// Sets the top of book and marks both sides present.
    pub fn with_book(mut self, best_bid: f64, best_ask: f64) -> MarketRecord {
        self.best_bid = best_bid;
        self.best_ask = best_ask;
        self.present(MissingFields::BEST_BID | MissingFields::BEST_ASK)
    }

    /// Marks `fields` missing (their values stay as set).
    pub fn with_missing(mut self, fields: MissingFields) -> MarketRecord {
        self.missing = self.missing | fields;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_flags_debug() {
        let market = MarketRecord::unknown().with_window(Window::M5, 3.0, 1e6);
        assert_eq!(market.missing, MissingFields::ALL.difference(MissingFields::WINDOW_5M));
        assert_eq!(
            format!("{:?}", MissingFields::WINDOW_1M | MissingFields::BEST_ASK),
            "MissingFields(window-1m | best-ask)"
        );
    }
}

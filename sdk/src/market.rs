//! What the host knows about an event's symbol ([`Market`]): last price,
//! rolling 1m/5m/1h windows and top of book, with flags for what it could
//! not fill. A missing field reads as 0, so a threshold must never pass on
//! one: use the `Option` accessors ([`Market::window`], [`Market::last_price`]).

use std::fmt;

use serde::Deserialize;

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

/// One of the host's rolling windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum Window {
    #[serde(rename = "1m")]
    M1,
    #[serde(rename = "5m")]
    M5,
    #[serde(rename = "1h")]
    H1,
}

impl Window {
    pub const ALL: [Window; 3] = [Window::M1, Window::M5, Window::H1];

    /// `1m`, `5m` or `1h`.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::M1 => "1m",
            Window::M5 => "5m",
            Window::H1 => "1h",
        }
    }

    /// The [`MissingFields`] flag for this window.
    pub fn missing_flag(self) -> MissingFields {
        match self {
            Window::M1 => MissingFields::WINDOW_1M,
            Window::M5 => MissingFields::WINDOW_5M,
            Window::H1 => MissingFields::WINDOW_1H,
        }
    }
}

/// Rolling statistics over one window ending at the event.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WindowStats {
    /// Price change over the window in percent (+5.0 = up 5%).
    pub change_pct: f64,
    /// Traded USD volume over the window.
    pub volume_usd: f64,
    /// Number of trades; `None` on the batch path (the columns omit it).
    pub trades: Option<u32>,
}

/// What the host knows about the event's symbol, including this event.
/// Check [`missing`](Market::missing) (or use the `Option` accessors): a
/// missing field reads as 0.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Market {
    pub last_price: f64,
    pub window_1m: WindowStats,
    pub window_5m: WindowStats,
    pub window_1h: WindowStats,
    pub best_bid: f64,
    pub best_ask: f64,
    pub missing: MissingFields,
}

impl Market {
    /// A market where every field is missing (what the host sends when it
    /// knows nothing about the symbol).
    pub fn unknown() -> Market {
        Market { missing: MissingFields::ALL, ..Market::default() }
    }

    /// The stats of `window`, or `None` if the host could not fill them.
    pub fn window(&self, window: Window) -> Option<WindowStats> {
        if self.missing.contains(window.missing_flag()) {
            return None;
        }
        Some(match window {
            Window::M1 => self.window_1m,
            Window::M5 => self.window_5m,
            Window::H1 => self.window_1h,
        })
    }

    pub fn last_price(&self) -> Option<f64> {
        (!self.missing.contains(MissingFields::LAST_PRICE)).then_some(self.last_price)
    }

    pub fn best_bid(&self) -> Option<f64> {
        (!self.missing.contains(MissingFields::BEST_BID)).then_some(self.best_bid)
    }

    pub fn best_ask(&self) -> Option<f64> {
        (!self.missing.contains(MissingFields::BEST_ASK)).then_some(self.best_ask)
    }

    /// Sets `window`'s change and volume and marks it present (for tests).
    pub fn with_window(mut self, window: Window, change_pct: f64, volume_usd: f64) -> Market {
        let stats = WindowStats { change_pct, volume_usd, trades: None };
        match window {
            Window::M1 => self.window_1m = stats,
            Window::M5 => self.window_5m = stats,
            Window::H1 => self.window_1h = stats,
        }
        self.missing = MissingFields(self.missing.0 & !window.missing_flag().0);
        self
    }

    /// Sets the last price and marks it present (for tests).
    pub fn with_last_price(mut self, price: f64) -> Market {
        self.last_price = price;
        self.missing = MissingFields(self.missing.0 & !MissingFields::LAST_PRICE.0);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_window_reads_as_none() {
        let market = Market::unknown().with_window(Window::M5, 3.0, 1e6);
        assert_eq!(market.window(Window::M1), None);
        assert_eq!(market.window(Window::M5).map(|w| w.change_pct), Some(3.0));
        assert_eq!(market.last_price(), None);
        assert_eq!(
            format!("{:?}", MissingFields::WINDOW_1M | MissingFields::BEST_ASK),
            "MissingFields(window-1m | best-ask)"
        );
    }
}

//! `Snapshot`: what the market stage knows about one symbol at one instant.
//!
//! It mirrors the WIT `market` record (`wit/types.wit`) field for field, in
//! plain `f64`s, so `plugins/` converts it without arithmetic. It is `Copy`
//! (~100 bytes) and is attached to every event, so it holds no pointers.
//!
//! Invariant: a field whose bit is set in `missing` reads 0, with one
//! documented exception on [`WindowStats`] (volume and trade count stay as
//! counted when a window holds trades but none with a usable price).

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// Which fields the host could not fill; same bit order as WIT `missing-fields`.
///
/// Hand-rolled rather than `bitflags` because six constants do not justify a
/// new dependency, and the bit values must match the WIT flags exactly.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Missing(u8);

impl Missing {
    pub const NONE: Missing = Missing(0);
    pub const LAST_PRICE: Missing = Missing(1);
    pub const WINDOW_1M: Missing = Missing(1 << 1);
    pub const WINDOW_5M: Missing = Missing(1 << 2);
    pub const WINDOW_1H: Missing = Missing(1 << 3);
    pub const BEST_BID: Missing = Missing(1 << 4);
    pub const BEST_ASK: Missing = Missing(1 << 5);
    pub const ALL: Missing = Missing(0b11_1111);

    const NAMES: [(Missing, &'static str); 6] = [
        (Missing::LAST_PRICE, "last-price"),
        (Missing::WINDOW_1M, "window-1m"),
        (Missing::WINDOW_5M, "window-5m"),
        (Missing::WINDOW_1H, "window-1h"),
        (Missing::BEST_BID, "best-bid"),
        (Missing::BEST_ASK, "best-ask"),
    ];

    /// The raw bits, as WIT `missing-fields` encodes them.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Build from raw bits, dropping any bit WIT does not define.
    pub const fn from_bits_truncate(bits: u8) -> Missing {
        Missing(bits & Missing::ALL.0)
    }

    pub const fn contains(self, other: Missing) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn insert(&mut self, other: Missing) {
        self.0 |= other.0;
    }
}

impl BitOr for Missing {
    type Output = Missing;
    fn bitor(self, rhs: Missing) -> Missing {
        Missing(self.0 | rhs.0)
    }
}

impl BitOrAssign for Missing {
    fn bitor_assign(&mut self, rhs: Missing) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut set = f.debug_set();
        for (flag, name) in Missing::NAMES {
            if self.contains(flag) {
                set.entry(&format_args!("{name}"));
            }
        }
        set.finish()
    }
}

/// Rolling statistics over one window ending at the event (WIT `window-stats`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WindowStats {
    /// (last price − first trade price in the window) / that price × 100.
    /// 0 when the window's `missing` bit is set.
    pub change_pct: f64,
    /// Sum of known USD notionals of the window's trades (unknown counts 0).
    /// Still reported when the window's bit is set because its only trades
    /// had no usable price (zero or negative), which is the rare exception to
    /// "missing reads 0".
    pub volume_usd: f64,
    /// Trades, swaps, perp fills and liquidations in the window.
    pub trades: u32,
}

/// The market context of one symbol (WIT `market`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    /// Newest trade price by exchange time; a book-top mid until the first trade.
    pub last_price: f64,
    pub w1m: WindowStats,
    pub w5m: WindowStats,
    pub w1h: WindowStats,
    pub best_bid: f64,
    pub best_ask: f64,
    pub missing: Missing,
}

impl Snapshot {
    /// A symbol the market stage knows nothing about: everything missing.
    pub const UNKNOWN: Snapshot = Snapshot {
        last_price: 0.0,
        w1m: WindowStats { change_pct: 0.0, volume_usd: 0.0, trades: 0 },
        w5m: WindowStats { change_pct: 0.0, volume_usd: 0.0, trades: 0 },
        w1h: WindowStats { change_pct: 0.0, volume_usd: 0.0, trades: 0 },
        best_bid: 0.0,
        best_ask: 0.0,
        missing: Missing::ALL,
    };
}

/// Defaults to [`Snapshot::UNKNOWN`], never to zeros that claim to be known.
impl Default for Snapshot {
    fn default() -> Snapshot {
        Snapshot::UNKNOWN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_bits_match_wit_order() {
        assert_eq!(Missing::LAST_PRICE.bits(), 1);
        assert_eq!(Missing::WINDOW_1M.bits(), 2);
        assert_eq!(Missing::WINDOW_5M.bits(), 4);
        assert_eq!(Missing::WINDOW_1H.bits(), 8);
        assert_eq!(Missing::BEST_BID.bits(), 16);
        assert_eq!(Missing::BEST_ASK.bits(), 32);
        assert_eq!(Missing::from_bits_truncate(0xff), Missing::ALL);
        let m = Missing::WINDOW_1M | Missing::BEST_ASK;
        assert!(m.contains(Missing::BEST_ASK) && !m.contains(Missing::BEST_BID));
        assert_eq!(format!("{m:?}"), "{window-1m, best-ask}");
    }

    #[test]
    fn default_snapshot_is_all_missing() {
        assert_eq!(Snapshot::default().missing, Missing::ALL);
        assert!(std::mem::size_of::<Snapshot>() <= 128);
    }
}

//! One symbol's local order book: price → quantity per side, and the update
//! id it reflects.
//!
//! Pure data, no I/O and no sequencing rules (those are [`super::sync`]'s).
//! Invariants: no level with quantity 0 is ever stored (a `0` removes the
//! level, and removing an unknown level is normal); `last_update_id` is the
//! snapshot's `lastUpdateId` or the `u` of the last diff applied.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::depth::{DepthDiff, DepthSnapshot, Level};

/// Best bid and best ask, either side possibly empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Top {
    pub bid: Option<Level>,
    pub ask: Option<Level>,
}

impl Top {
    /// Best prices only: a quantity change at the best level is not a move
    /// of the top of book.
    pub fn prices(&self) -> (Option<Decimal>, Option<Decimal>) {
        (self.bid.map(|l| l.0), self.ask.map(|l| l.0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderBook {
    bids: BTreeMap<Decimal, Decimal>,
    asks: BTreeMap<Decimal, Decimal>,
    last_update_id: u64,
}

impl OrderBook {
    /// The book a REST snapshot describes.
    pub fn from_snapshot(snapshot: &DepthSnapshot) -> OrderBook {
        let mut book =
            OrderBook { last_update_id: snapshot.last_update_id, ..OrderBook::default() };
        set_levels(&mut book.bids, &snapshot.bids);
        set_levels(&mut book.asks, &snapshot.asks);
        book
    }

    /// Apply a diff's absolute levels and take its `u` (sequencing already checked).
    pub fn apply(&mut self, diff: &DepthDiff) {
        set_levels(&mut self.bids, &diff.bids);
        set_levels(&mut self.asks, &diff.asks);
        self.last_update_id = diff.last_id;
    }

    pub fn last_update_id(&self) -> u64 {
        self.last_update_id
    }

    pub fn top(&self) -> Top {
        Top {
            bid: self.bids.iter().next_back().map(|(p, q)| (*p, *q)),
            ask: self.asks.iter().next().map(|(p, q)| (*p, *q)),
        }
    }

    /// The best `n` bids, highest first.
    pub fn bids(&self, n: usize) -> Vec<Level> {
        self.bids.iter().rev().take(n).map(|(p, q)| (*p, *q)).collect()
    }

    /// The best `n` asks, lowest first.
    pub fn asks(&self, n: usize) -> Vec<Level> {
        self.asks.iter().take(n).map(|(p, q)| (*p, *q)).collect()
    }

    /// Levels per side (bids, asks).
    pub fn depth(&self) -> (usize, usize) {
        (self.bids.len(), self.asks.len())
    }
}

fn set_levels(side: &mut BTreeMap<Decimal, Decimal>, levels: &[Level]) {
    for &(price, qty) in levels {
        // `normalize` so "0.35" and "0.35000000" are one level.
        let price = price.normalize();
        if qty.is_zero() {
            side.remove(&price);
        } else {
            side.insert(price, qty.normalize());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn diff(u: u64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> DepthDiff {
        let lv = |l: &[(&str, &str)]| l.iter().map(|(p, q)| (d(p), d(q))).collect();
        DepthDiff {
            symbol: "X".into(),
            first_id: u,
            last_id: u,
            prev_last_id: None,
            time_ms: 0,
            bids: lv(bids),
            asks: lv(asks),
        }
    }

    #[test]
    fn zero_removes_and_unknown_removal_is_harmless() {
        let snap = DepthSnapshot {
            last_update_id: 5,
            bids: vec![(d("1.0"), d("2")), (d("0.9"), d("1"))],
            asks: vec![(d("1.1"), d("3"))],
        };
        let mut book = OrderBook::from_snapshot(&snap);
        assert_eq!(book.top().prices(), (Some(d("1")), Some(d("1.1"))));
        book.apply(&diff(6, &[("1.00000000", "0"), ("0.5", "0")], &[("1.05", "4")]));
        assert_eq!(book.top().prices(), (Some(d("0.9")), Some(d("1.05"))));
        assert_eq!((book.last_update_id(), book.depth()), (6, (1, 2)));
        assert_eq!(book.asks(5), vec![(d("1.05"), d("4")), (d("1.1"), d("3"))]);
    }
}

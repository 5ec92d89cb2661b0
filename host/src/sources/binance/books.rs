//! The order books of one connection (or one replayed file), keyed by
//! symbol, and the `BookTop` events they yield.
//!
//! Pure: diffs and snapshots in, events and "fetch a snapshot for X" out;
//! the caller owns the REST client (live) or the recorded snapshot files
//! (replay) and the resync counter.
//!
//! Invariants:
//! * a `BookTop` is emitted only from a synced book, after the diff that
//!   moved its best bid or best ask price, with both sides present; its id is
//!   `<venue>:<SYM>:b:<u>` and its time the diff's;
//! * the last emitted top (and its `u`) survives resyncs, so a reconnect that
//!   rebuilds the same book emits nothing new and no id twice.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;

use super::book::{OrderBook, Top};
use super::depth::{DepthDiff, DepthSnapshot};
use super::sync::{BookSync, ResyncReason, Rules, SnapshotStep, Step};
use crate::event::{Event, EventKind, Sym};

/// What the caller must do after feeding a diff or a snapshot.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    /// `BookTop`s to emit, in order.
    pub events: Vec<Event>,
    /// Request a (new) snapshot for this diff's symbol.
    pub fetch: bool,
    /// The book was discarded (to count and log).
    pub resync: Option<ResyncReason>,
}

#[derive(Debug)]
struct SymbolBook {
    sync: BookSync,
    /// Best prices last emitted; kept across resyncs.
    emitted: (Option<Decimal>, Option<Decimal>),
    emitted_u: u64,
}

#[derive(Debug)]
pub struct DepthBooks {
    rules: Rules,
    venue: Sym,
    books: HashMap<String, SymbolBook>,
}

impl DepthBooks {
    pub fn new(rules: Rules, venue: Sym) -> DepthBooks {
        DepthBooks { rules, venue, books: HashMap::new() }
    }

    pub fn on_diff(&mut self, diff: DepthDiff) -> Outcome {
        let rules = self.rules;
        let symbol = diff.symbol.clone();
        let book = self.books.entry(symbol).or_insert_with(|| SymbolBook {
            sync: BookSync::new(rules),
            emitted: (None, None),
            emitted_u: 0,
        });
        let (time, u, sym) = (diff.time_ms, diff.last_id, diff.symbol.clone());
        match book.sync.on_diff(diff) {
            Step::Buffered { fetch } => Outcome { fetch, ..Outcome::default() },
            Step::Stale => Outcome::default(),
            Step::Resync(reason) => {
                Outcome { fetch: true, resync: Some(reason), events: Vec::new() }
            }
            Step::Applied => {
                let events = book.top_event(self.venue, &sym, u, time).into_iter().collect();
                Outcome { events, ..Outcome::default() }
            }
        }
    }

    /// A snapshot for `symbol` arrived.
    pub fn on_snapshot(&mut self, symbol: &str, snapshot: &DepthSnapshot) -> Outcome {
        let venue = self.venue;
        let Some(book) = self.books.get_mut(symbol) else { return Outcome::default() };
        let (applied, fetch, resync) = match book.sync.on_snapshot(snapshot) {
            SnapshotStep::Synced { applied } => (applied, false, None),
            SnapshotStep::TooOld => (Vec::new(), true, Some(ResyncReason::SnapshotTooOld)),
            SnapshotStep::Resync { reason, applied } => (applied, true, Some(reason)),
            SnapshotStep::Unexpected => (Vec::new(), false, None),
        };
        // Tops as they were after each buffered diff, so the events do not
        // depend on how long the snapshot took to arrive.
        let mut events = Vec::new();
        if !applied.is_empty() {
            let mut shadow = OrderBook::from_snapshot(snapshot);
            for diff in &applied {
                shadow.apply(diff);
                events.extend(book.top_of(venue, symbol, shadow.top(), diff.last_id, diff.time_ms));
            }
        }
        Outcome { events, fetch, resync }
    }

    /// Drop every book (the connection was replaced). Returns how many were
    /// synced or waiting, i.e. how many resyncs this causes.
    pub fn reset_all(&mut self) -> usize {
        self.books.values_mut().map(|b| b.sync.reset()).filter(|&lost| lost).count()
    }

    /// Forget one symbol entirely (replay: no usable snapshot).
    pub fn remove(&mut self, symbol: &str) {
        self.books.remove(symbol);
    }

    /// Synced books by symbol, in symbol order.
    pub fn synced(&self) -> BTreeMap<&str, &OrderBook> {
        self.books.iter().filter_map(|(s, b)| Some((s.as_str(), b.sync.book()?))).collect()
    }

    pub fn is_synced(&self, symbol: &str) -> bool {
        self.books.get(symbol).is_some_and(|b| b.sync.book().is_some())
    }
}

impl SymbolBook {
    fn top_event(&mut self, venue: Sym, symbol: &str, u: u64, time: u64) -> Option<Event> {
        let top = self.sync.book()?.top();
        self.top_of(venue, symbol, top, u, time)
    }

    /// A `BookTop` if `top`'s prices differ from the last emitted ones.
    fn top_of(&mut self, venue: Sym, symbol: &str, top: Top, u: u64, time: u64) -> Option<Event> {
        let (Some((bid, _)), Some((ask, _))) = (top.bid, top.ask) else { return None };
        if top.prices() == self.emitted || u <= self.emitted_u {
            return None;
        }
        (self.emitted, self.emitted_u) = (top.prices(), u);
        let mut event = Event::new(
            EventKind::BookTop,
            venue,
            Sym::new(symbol),
            format!("{venue}:{symbol}:b:{u}"),
            time,
        );
        event.best_bid = Some(bid);
        event.best_ask = Some(ask);
        event.price = (bid + ask) / Decimal::TWO;
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn diff(first: u64, last: u64, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> DepthDiff {
        let lv = |l: &[(&str, &str)]| l.iter().map(|(p, q)| (d(p), d(q))).collect();
        DepthDiff {
            symbol: "BTCUSDT".into(),
            first_id: first,
            last_id: last,
            prev_last_id: None,
            time_ms: 1000 + last,
            bids: lv(bids),
            asks: lv(asks),
        }
    }

    #[test]
    fn tops_follow_each_applied_diff_and_survive_a_reconnect() {
        let mut books = DepthBooks::new(Rules::Spot, Sym::new("binance"));
        assert_eq!(
            books.on_diff(diff(10, 11, &[("100", "1")], &[])),
            Outcome { fetch: true, ..Outcome::default() }
        );
        books.on_diff(diff(12, 12, &[("100.5", "1")], &[]));
        books.on_diff(diff(13, 13, &[], &[("103", "5")]));
        let snap = DepthSnapshot {
            last_update_id: 10,
            bids: vec![(d("99"), d("1"))],
            asks: vec![(d("102"), d("1"))],
        };
        let out = books.on_snapshot("BTCUSDT", &snap);
        let ids: Vec<&str> = out.events.iter().map(|e| e.id.as_str()).collect();
        // 11 moves the bid to 100, 12 to 100.5; 13 adds an ask behind the best.
        assert_eq!(ids, ["binance:BTCUSDT:b:11", "binance:BTCUSDT:b:12"]);
        let last = &out.events[1];
        assert_eq!(
            (last.best_bid, last.best_ask, last.price, last.exchange_time_ms),
            (Some(d("100.5")), Some(d("102")), d("101.25"), 1012)
        );
        // Quantity at the best level changes: not a top move.
        assert!(books.on_diff(diff(14, 14, &[("100.5", "7")], &[])).events.is_empty());
        assert_eq!(
            books.on_diff(diff(15, 15, &[], &[("101", "1")])).events[0].id,
            "binance:BTCUSDT:b:15"
        );

        // Reconnect: the same book rebuilt from a new snapshot emits nothing.
        assert_eq!(books.reset_all(), 1);
        books.on_diff(diff(16, 16, &[("1", "1")], &[]));
        let snap = DepthSnapshot {
            last_update_id: 16,
            bids: vec![(d("100.5"), d("7"))],
            asks: vec![(d("101"), d("1"))],
        };
        assert_eq!(books.on_snapshot("BTCUSDT", &snap), Outcome::default());
        assert!(books.on_diff(diff(17, 17, &[("1", "2")], &[])).events.is_empty());
        assert_eq!(books.synced()["BTCUSDT"].last_update_id(), 17);
    }

    #[test]
    fn gap_asks_for_a_snapshot_and_counts() {
        let mut books = DepthBooks::new(Rules::Spot, Sym::new("binance"));
        books.on_diff(diff(1, 1, &[], &[]));
        books.on_snapshot(
            "BTCUSDT",
            &DepthSnapshot { last_update_id: 1, bids: vec![], asks: vec![] },
        );
        let out = books.on_diff(diff(5, 5, &[], &[]));
        assert_eq!((out.fetch, out.resync), (true, Some(ResyncReason::Gap)));
        assert!(!books.is_synced("BTCUSDT"));
    }
}

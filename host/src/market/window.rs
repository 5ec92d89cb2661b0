//! Rolling windows: price change, USD volume and trade count over 1m, 5m, 1h.
//!
//! # Scheme
//!
//! Each window is a queue of time buckets holding only the buckets that saw a
//! trade, oldest first, with running sums of volume and trades:
//!
//! | window | bucket | buckets kept | covers at least |
//! | ------ | ------ | ------------ | --------------- |
//! | 1m     | 1 s    | 60           | 59 s            |
//! | 5m     | 10 s   | 30           | 4 min 50 s      |
//! | 1h     | 1 min  | 60           | 59 min          |
//!
//! A bucket with index `i` (`exchange_time_ms / bucket_ms`) is live at time
//! `now` while `i > now / bucket_ms - buckets`: the window is the current
//! bucket plus the previous `buckets - 1` whole ones, so its true span lies
//! between `W - bucket` and `W`. That granularity is the price of O(1).
//!
//! * **Cost**: recording pushes at most one bucket; advancing pops expired
//!   ones from the front. Each bucket is pushed and popped once, so both are
//!   O(1) amortized, and reading the sums is O(1) (the start price is the
//!   front bucket's, unless that bucket's trades all lacked a price).
//! * **Memory**: at most 150 buckets × 32 bytes per symbol (~5 KB with
//!   `VecDeque` rounding), and only occupied buckets: a symbol that trades
//!   once a minute keeps a handful. Nothing is allocated before the first trade.
//! * **Time** is the events' exchange time, passed in by the caller. This
//!   module never reads a clock, so replay in simulated time rolls the windows
//!   exactly as live data did.
//! * **Out of order**: a trade whose bucket is older than the newest bucket is
//!   folded into the newest bucket (its volume and count land there, so they
//!   expire up to one window later than they should), and it sets that
//!   bucket's start price only if the bucket has none. A trade older than the
//!   whole window (at the symbol's current time) is not this window's: it is
//!   skipped here, while longer windows may still count it.
//! * **Precision**: the running volume is an `f64` that is added to and
//!   subtracted from; the drift is ~1e-16 of the largest sum seen. It is reset
//!   to exactly 0 whenever the window empties and never read below 0.

use std::collections::VecDeque;

/// What one window holds at a given time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Stats {
    /// First usable trade price at or after the window's start; `None` when
    /// no trade in the window had a positive price.
    pub start_price: Option<f64>,
    pub volume_usd: f64,
    pub trades: u32,
}

/// One bucket. 32 bytes: the start price is NaN when unknown rather than an
/// `Option` (which would cost 8 more), and its time is kept as an offset
/// into the bucket (< 60 000 ms, fits `u16`).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    idx: u64,
    first_price: f64,
    volume: f64,
    trades: u32,
    first_offset_ms: u16,
}

impl Bucket {
    fn price(&self) -> Option<f64> {
        (!self.first_price.is_nan()).then_some(self.first_price)
    }
}

/// One rolling window of `N` buckets of `BUCKET_MS`; see the module docs.
///
/// The shape is in the type so that bucket indices are divisions by
/// constants, which compile to multiplications (a 64-bit `div` per window,
/// several times per event, was a visible share of `apply`).
#[derive(Debug)]
pub(super) struct Window<const BUCKET_MS: u64, const N: u64> {
    /// Occupied buckets, strictly increasing `idx`, at most `N` long.
    buckets: VecDeque<Bucket>,
    /// Sum of `buckets[..].volume`.
    volume: f64,
    /// Sum of `buckets[..].trades`.
    trades: u32,
}

impl<const BUCKET_MS: u64, const N: u64> Window<BUCKET_MS, N> {
    fn new() -> Self {
        Window { buckets: VecDeque::new(), volume: 0.0, trades: 0 }
    }

    /// True when bucket `idx` is still inside the window at bucket `cur`.
    fn live(idx: u64, cur: u64) -> bool {
        idx + N > cur
    }

    /// Drop the buckets that left the window by `now_ms`.
    pub(super) fn advance(&mut self, now_ms: u64) {
        let cur = now_ms / BUCKET_MS;
        while let Some(front) = self.buckets.front() {
            if Self::live(front.idx, cur) {
                break;
            }
            self.volume -= front.volume;
            self.trades -= front.trades;
            self.buckets.pop_front();
        }
        if self.buckets.is_empty() {
            self.volume = 0.0;
            self.trades = 0;
        }
    }

    /// Count one trade at `t_ms` as seen at `now_ms` (the symbol's newest
    /// time, `>= t_ms` unless the caller breaks that rule). `price` is `None`
    /// for a trade with no usable price; it still counts.
    ///
    /// The caller must have called [`advance`](Self::advance)`(now_ms)`.
    pub(super) fn record(&mut self, t_ms: u64, now_ms: u64, price: Option<f64>, volume: f64) {
        let cur = now_ms.max(t_ms) / BUCKET_MS;
        let idx = t_ms / BUCKET_MS;
        if !Self::live(idx, cur) {
            return; // older than the whole window
        }
        let offset = (t_ms - idx * BUCKET_MS) as u16;
        let price = price.unwrap_or(f64::NAN);
        match self.buckets.back_mut() {
            Some(back) if idx == back.idx => {
                let earlier = back.first_price.is_nan() || offset < back.first_offset_ms;
                if !price.is_nan() && earlier {
                    back.first_price = price;
                    back.first_offset_ms = offset;
                }
                back.volume += volume;
                back.trades = back.trades.saturating_add(1);
            }
            Some(back) if idx < back.idx => {
                // Late: fold into the newest bucket, never displacing its start price.
                if back.first_price.is_nan() && !price.is_nan() {
                    back.first_price = price;
                    back.first_offset_ms = 0;
                }
                back.volume += volume;
                back.trades = back.trades.saturating_add(1);
            }
            _ => {
                // Empty, or newer than every bucket. `advance(now_ms)` left only
                // live buckets and `idx <= cur`, so the length stays bounded.
                self.buckets.push_back(Bucket {
                    idx,
                    first_price: price,
                    volume,
                    trades: 1,
                    first_offset_ms: offset,
                });
            }
        }
        self.volume += volume;
        self.trades = self.trades.saturating_add(1);
    }

    /// The window's contents at `now_ms`. O(1) when nothing expired since the
    /// last `advance` (always the case right after `apply`); otherwise it
    /// walks the live buckets (at most 60), which only read-only
    /// `MarketState::snapshot` calls on idle symbols do.
    pub(super) fn stats_at(&self, now_ms: u64) -> Stats {
        let cur = now_ms / BUCKET_MS;
        let Some(front) = self.buckets.front() else {
            return Stats { start_price: None, volume_usd: 0.0, trades: 0 };
        };
        if Self::live(front.idx, cur) {
            return Stats {
                start_price: self.buckets.iter().find_map(Bucket::price),
                volume_usd: self.volume.max(0.0),
                trades: self.trades,
            };
        }
        let mut stats = Stats { start_price: None, volume_usd: 0.0, trades: 0 };
        for bucket in self.buckets.iter().filter(|b| Self::live(b.idx, cur)) {
            stats.start_price = stats.start_price.or(bucket.price());
            stats.volume_usd += bucket.volume;
            stats.trades += bucket.trades;
        }
        stats
    }
}

/// The three windows of one symbol, rolled together: 1m, 5m, 1h.
#[derive(Debug)]
pub(super) struct Windows {
    m1: Window<1_000, 60>,
    m5: Window<10_000, 30>,
    h1: Window<60_000, 60>,
}

impl Windows {
    /// Spans of the 1m, 5m and 1h windows, in `stats_at` order.
    pub(super) const SPANS_MS: [u64; 3] = [60_000, 300_000, 3_600_000];

    pub(super) fn new() -> Windows {
        Windows { m1: Window::new(), m5: Window::new(), h1: Window::new() }
    }

    pub(super) fn advance(&mut self, now_ms: u64) {
        self.m1.advance(now_ms);
        self.m5.advance(now_ms);
        self.h1.advance(now_ms);
    }

    pub(super) fn record(&mut self, t_ms: u64, now_ms: u64, price: Option<f64>, volume: f64) {
        self.m1.record(t_ms, now_ms, price, volume);
        self.m5.record(t_ms, now_ms, price, volume);
        self.h1.record(t_ms, now_ms, price, volume);
    }

    /// Stats of the 1m, 5m and 1h windows at `now_ms`.
    pub(super) fn stats_at(&self, now_ms: u64) -> [Stats; 3] {
        [self.m1.stats_at(now_ms), self.m5.stats_at(now_ms), self.h1.stats_at(now_ms)]
    }

    #[cfg(test)]
    fn occupied(&self) -> [usize; 3] {
        [self.m1.buckets.len(), self.m5.buckets.len(), self.h1.buckets.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Record a trade as `MarketState` does: advance to its time, then count it.
    fn trade(w: &mut Windows, now: &mut u64, t: u64, price: f64, volume: f64) {
        *now = (*now).max(t);
        w.advance(*now);
        w.record(t, *now, Some(price), volume);
    }

    fn change(stats: Stats, last: f64) -> f64 {
        let start = stats.start_price.expect("window has a price");
        (last - start) / start * 100.0
    }

    #[test]
    fn one_minute_change_after_ninety_seconds() {
        let (mut w, mut now) = (Windows::new(), 0);
        for s in 0..90u64 {
            trade(&mut w, &mut now, s * 1_000 + 500, 100.0 + s as f64, 10.0);
        }
        let [m1, m5, h1] = w.stats_at(now);
        // At 89.5 s the 1m window holds buckets 30..=89: 60 trades, starting at 130.
        assert_eq!(m1.trades, 60);
        assert_eq!(m1.volume_usd, 600.0);
        assert_eq!(m1.start_price, Some(130.0));
        assert!((change(m1, 189.0) - 59.0 / 130.0 * 100.0).abs() < 1e-9);
        // The longer windows do not reach back a full span: oldest price, all trades.
        assert_eq!((m5.trades, m5.start_price), (90, Some(100.0)));
        assert_eq!((h1.trades, h1.volume_usd), (90, 900.0));
        assert_eq!(w.occupied(), [60, 9, 2]);
    }

    #[test]
    fn buckets_expire_exactly_at_their_boundary() {
        let (mut w, mut now) = (Windows::new(), 0);
        trade(&mut w, &mut now, 999, 10.0, 1.0); // bucket 0
        trade(&mut w, &mut now, 1_000, 11.0, 2.0); // bucket 1
        w.advance(59_999);
        assert_eq!(w.stats_at(59_999)[0].trades, 2);
        w.advance(60_000); // bucket 0 leaves the 1m window
        let m1 = w.stats_at(60_000)[0];
        assert_eq!((m1.trades, m1.volume_usd, m1.start_price), (1, 2.0, Some(11.0)));
        w.advance(61_000);
        let m1 = w.stats_at(61_000)[0];
        assert_eq!((m1.trades, m1.volume_usd, m1.start_price), (0, 0.0, None));
        // 5m and 1h still hold both.
        assert_eq!(w.stats_at(61_000)[1].trades, 2);
        assert_eq!(w.stats_at(61_000)[2].volume_usd, 3.0);
    }

    #[test]
    fn read_only_stats_skip_expired_buckets_without_advance() {
        let (mut w, mut now) = (Windows::new(), 0);
        trade(&mut w, &mut now, 0, 10.0, 1.0);
        trade(&mut w, &mut now, 30_000, 12.0, 2.0);
        let m1 = w.stats_at(75_000)[0]; // no advance: bucket 0 is stale, 30 is live
        assert_eq!((m1.trades, m1.volume_usd, m1.start_price), (1, 2.0, Some(12.0)));
        assert_eq!(w.stats_at(3_600_000 + 30_000)[2].trades, 0);
    }

    #[test]
    fn sums_roll_over_many_windows_and_stay_bounded() {
        let (mut w, mut now) = (Windows::new(), 0);
        // Two hours of one trade every 250 ms.
        for i in 0..(2 * 3_600 * 4u64) {
            trade(&mut w, &mut now, i * 250, 50.0, 0.1);
        }
        let [m1, m5, h1] = w.stats_at(now);
        assert_eq!(m1.trades, 240);
        assert_eq!(m5.trades, 1_200); // 30 full 10 s buckets
        assert_eq!(h1.trades, 14_400);
        assert!((h1.volume_usd - 1_440.0).abs() < 1e-6);
        assert_eq!(w.occupied(), [60, 30, 60]);
    }

    #[test]
    fn late_trade_folds_into_newest_bucket() {
        let (mut w, mut now) = (Windows::new(), 0);
        trade(&mut w, &mut now, 10_000, 100.0, 1.0);
        trade(&mut w, &mut now, 20_000, 105.0, 1.0);
        // 15 s late: inside every window, older than the newest bucket.
        trade(&mut w, &mut now, 5_000, 90.0, 5.0);
        let m1 = w.stats_at(now)[0];
        assert_eq!((m1.trades, m1.volume_usd), (3, 7.0));
        assert_eq!(m1.start_price, Some(100.0), "a late trade never becomes the start price");
        // It was folded into bucket 20, so it outlives bucket 10 in the 1m window.
        w.advance(70_500);
        let m1 = w.stats_at(70_500)[0];
        assert_eq!((m1.trades, m1.volume_usd), (2, 6.0));
    }

    #[test]
    fn trade_older_than_a_window_is_skipped_by_that_window_only() {
        let (mut w, mut now) = (Windows::new(), 0);
        trade(&mut w, &mut now, 600_000, 100.0, 1.0);
        trade(&mut w, &mut now, 400_000, 99.0, 4.0); // 200 s late
        let [m1, m5, h1] = w.stats_at(now);
        assert_eq!((m1.trades, m5.trades, h1.trades), (1, 2, 2));
        assert_eq!(h1.volume_usd, 5.0);
    }

    #[test]
    fn earliest_trade_in_a_bucket_sets_its_start_price() {
        let (mut w, mut now) = (Windows::new(), 0);
        trade(&mut w, &mut now, 1_700, 11.0, 0.0);
        trade(&mut w, &mut now, 1_200, 10.0, 0.0); // same bucket, earlier
        assert_eq!(w.stats_at(now)[0].start_price, Some(10.0));
    }

    #[test]
    fn trades_without_price_count_but_do_not_start_the_window() {
        let (mut w, mut now) = (Windows::new(), 0);
        w.advance(1_000);
        w.record(1_000, 1_000, None, 3.0);
        now = now.max(1_000);
        let m1 = w.stats_at(now)[0];
        assert_eq!((m1.trades, m1.volume_usd, m1.start_price), (1, 3.0, None));
        trade(&mut w, &mut now, 2_000, 7.0, 0.0);
        assert_eq!(w.stats_at(now)[0].start_price, Some(7.0));
    }
}

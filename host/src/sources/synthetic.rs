//! The synthetic market: a seeded, reproducible stream of trades and book tops
//! for demos, tests and benchmarks, with no network.
//!
//! Each configured symbol follows a random walk. Trade sizes are heavy-tailed
//! (Pareto notional, capped well below whale size) so ordinary flow looks real,
//! and two kinds of incident occur at random so that stock alert templates
//! have something to fire on:
//! * **whale bursts**: 2–6 consecutive trades on one symbol and side, each
//!   $250k–$2.5M notional, each nudging the price its way;
//! * **fast moves**: one symbol drifts 2–6% up or down over 15–50 s.
//!
//! Invariants:
//! * same config (seed included) ⇒ identical event sequence, exchange times
//!   included: [`SyntheticMarket`] draws every random number from one
//!   `ChaCha8Rng` in a fixed order and never reads a clock;
//! * exchange times advance by exactly `1/rate` s per event (µs-exact, from the
//!   event index, so they never drift); with `rate = 0` by a nominal 1 ms;
//! * [`SyntheticMarket::next_event`] is pure and synchronous, so a benchmark
//!   can generate events without tokio. The async [`run`] only paces and sends.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tokio::time::Instant;

use super::{Emitter, Sent, SourceError, SourceSummary};
use crate::clock::{Clock, SystemClock};
use crate::event::{Event, EventKind, Side, Sym, usd_notional};

mod config;

pub use config::{SyntheticConfig, SyntheticSymbol};

/// Random-walk volatility: 0.013% per √second, ≈0.1% per minute.
const VOL_PER_SQRT_S: f64 = 1.3e-4;
/// Ordinary trades never exceed this notional, so whales stand apart.
const MAX_ORDINARY_NOTIONAL: f64 = 150_000.0;
const WHALE_NOTIONAL: std::ops::Range<f64> = 250_000.0..2_500_000.0;
const FAST_MOVE_SIZE: std::ops::Range<f64> = 0.02..0.06;
const FAST_MOVE_US: std::ops::Range<u64> = 15_000_000..50_000_000;

/// One market's state.
#[derive(Debug, Clone)]
struct Market {
    symbol: Sym,
    name: String,
    price: f64,
    /// The walk never goes below 1% of the start price.
    floor: f64,
    price_dp: u32,
    size_dp: u32,
    last_us: u64,
    drift: Option<Drift>,
}

/// An ongoing fast move: log-return per µs until `until_us`.
#[derive(Debug, Clone, Copy)]
struct Drift {
    log_per_us: f64,
    until_us: u64,
}

#[derive(Debug, Clone, Copy)]
struct Whale {
    market: usize,
    side: Side,
    remaining: u32,
}

/// Counts of what the generator has done, for demos and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyntheticStats {
    pub events: u64,
    pub whale_bursts: u64,
    pub fast_moves: u64,
}

/// The generator. Iterating honours `limit`; [`next_event`](Self::next_event)
/// always produces one more.
#[derive(Debug, Clone)]
pub struct SyntheticMarket {
    rng: ChaCha8Rng,
    venue: Sym,
    markets: Vec<Market>,
    start_us: u64,
    us_per_event: f64,
    limit: Option<u64>,
    book_top_share: f64,
    whale_probability: f64,
    fast_move_probability: f64,
    whale: Option<Whale>,
    stats: SyntheticStats,
}

/// Probabilities outside [0, 1] (or NaN) would make `random_bool` panic; an
/// unvalidated config must still not crash a benchmark.
fn probability(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
}

impl SyntheticMarket {
    /// Start at `config.start_ms` or the seed-derived epoch.
    pub fn new(config: &SyntheticConfig) -> SyntheticMarket {
        SyntheticMarket::with_start(
            config,
            config.start_ms.unwrap_or_else(|| config.default_start_ms()),
        )
    }

    /// Start at `start_ms` whatever the config says.
    pub fn with_start(config: &SyntheticConfig, start_ms: u64) -> SyntheticMarket {
        let start_us = start_ms.saturating_mul(1000);
        let markets = config
            .symbols
            .iter()
            .map(|s| {
                let price = s.price.to_f64().filter(|p| *p > 0.0).unwrap_or(1.0);
                let magnitude = price.log10();
                Market {
                    symbol: Sym::new(&s.symbol),
                    name: s.symbol.clone(),
                    price,
                    floor: price * 0.01,
                    price_dp: (6.0 - magnitude.floor()).clamp(2.0, 12.0) as u32,
                    size_dp: (1.0 + magnitude.ceil()).clamp(0.0, 8.0) as u32,
                    last_us: start_us,
                    drift: None,
                }
            })
            .collect();
        let rate = if config.rate.is_finite() && config.rate > 0.0 { config.rate } else { 1000.0 };
        SyntheticMarket {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            venue: Sym::new(&config.venue),
            markets,
            start_us,
            us_per_event: 1e6 / rate,
            limit: config.limit,
            book_top_share: probability(config.book_top_share),
            whale_probability: probability(config.whale_probability),
            fast_move_probability: probability(config.fast_move_probability),
            whale: None,
            stats: SyntheticStats::default(),
        }
    }

    pub fn stats(&self) -> SyntheticStats {
        self.stats
    }

    /// The next event, ignoring `limit`.
    ///
    /// # Panics
    /// If the config listed no symbols (validation rejects that).
    pub fn next_event(&mut self) -> Event {
        assert!(!self.markets.is_empty(), "synthetic market needs at least one symbol");
        let seq = self.stats.events;
        self.stats.events += 1;
        let now_us = self.start_us + (seq as f64 * self.us_per_event) as u64;

        if self.rng.random_bool(self.fast_move_probability) {
            self.start_fast_move(now_us);
        }
        if self.whale.is_none() && self.rng.random_bool(self.whale_probability) {
            let market = self.rng.random_range(0..self.markets.len());
            let side = if self.rng.random_bool(0.5) { Side::Buy } else { Side::Sell };
            self.whale = Some(Whale { market, side, remaining: self.rng.random_range(2..=6) });
            self.stats.whale_bursts += 1;
        }
        if let Some(mut whale) = self.whale.take() {
            let notional = self.rng.random_range(WHALE_NOTIONAL);
            let event = self.trade(whale.market, whale.side, notional, now_us, seq);
            // Size moves price: 5–20 bp in the whale's direction.
            let impact = self.rng.random_range(0.0005..0.002);
            let m = &mut self.markets[whale.market];
            m.price *= if whale.side == Side::Buy { 1.0 + impact } else { 1.0 - impact };
            whale.remaining -= 1;
            self.whale = (whale.remaining > 0).then_some(whale);
            return event;
        }
        let market = self.rng.random_range(0..self.markets.len());
        if self.rng.random_bool(self.book_top_share) {
            return self.book_top(market, now_us, seq);
        }
        // During a fast move the tape leans with it.
        let buy_share = match self.markets[market].drift {
            Some(d) if d.log_per_us > 0.0 => 0.65,
            Some(_) => 0.35,
            None => 0.5,
        };
        let side = if self.rng.random_bool(buy_share) { Side::Buy } else { Side::Sell };
        // Pareto(x_min = $25, alpha = 1.16): the "80/20" tail of retail flow.
        let u = 1.0 - self.rng.random::<f64>();
        let notional = (25.0 * u.powf(-1.0 / 1.16)).min(MAX_ORDINARY_NOTIONAL);
        self.trade(market, side, notional, now_us, seq)
    }

    fn start_fast_move(&mut self, now_us: u64) {
        let market = self.rng.random_range(0..self.markets.len());
        let size = self.rng.random_range(FAST_MOVE_SIZE);
        let up = self.rng.random_bool(0.5);
        let duration = self.rng.random_range(FAST_MOVE_US);
        let m = &mut self.markets[market];
        if m.drift.is_none() {
            let factor: f64 = if up { 1.0 + size } else { 1.0 - size };
            m.drift = Some(Drift {
                log_per_us: factor.ln() / duration as f64,
                until_us: now_us + duration,
            });
            self.stats.fast_moves += 1;
        }
    }

    /// Bring a market's price forward to `now_us`: drift, then noise.
    fn advance(&mut self, market: usize, now_us: u64) {
        let z = approx_normal(&mut self.rng);
        let m = &mut self.markets[market];
        if let Some(d) = m.drift {
            let until = d.until_us.min(now_us);
            if until > m.last_us {
                m.price *= (d.log_per_us * (until - m.last_us) as f64).exp();
            }
            if now_us >= d.until_us {
                m.drift = None;
            }
        }
        let dt_s = now_us.saturating_sub(m.last_us) as f64 / 1e6;
        m.price = (m.price * (1.0 + VOL_PER_SQRT_S * dt_s.sqrt() * z)).max(m.floor);
        m.last_us = now_us;
    }

    fn trade(&mut self, market: usize, side: Side, notional: f64, now_us: u64, seq: u64) -> Event {
        self.advance(market, now_us);
        let m = &self.markets[market];
        // Takers pay half a basis point of spread.
        let px = if side == Side::Buy { m.price * 1.00005 } else { m.price * 0.99995 };
        let price = to_decimal(px, m.price_dp);
        let unit = Decimal::new(1, m.size_dp);
        let size = to_decimal(notional / px, m.size_dp).max(unit);
        let mut e = self.event(EventKind::Trade, market, now_us, seq);
        e.price = price;
        e.size = size;
        e.side = side;
        e.notional_usd = usd_notional(&self.markets[market].name, price, size);
        e
    }

    fn book_top(&mut self, market: usize, now_us: u64, seq: u64) -> Event {
        self.advance(market, now_us);
        let half_spread_bp = self.rng.random_range(0.5..2.0);
        let m = &self.markets[market];
        let half = m.price * half_spread_bp / 10_000.0;
        let tick = Decimal::new(1, m.price_dp);
        let bid = to_decimal(m.price - half, m.price_dp);
        let ask = to_decimal(m.price + half, m.price_dp).max(bid + tick);
        let mut e = self.event(EventKind::BookTop, market, now_us, seq);
        e.best_bid = Some(bid);
        e.best_ask = Some(ask);
        e.price = (bid + ask) / Decimal::TWO;
        e
    }

    fn event(&self, kind: EventKind, market: usize, now_us: u64, seq: u64) -> Event {
        let m = &self.markets[market];
        let id = format!("{}:{}:{seq}", self.venue, m.name);
        Event::new(kind, self.venue, m.symbol, id, now_us / 1000)
    }
}

impl Iterator for SyntheticMarket {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let done = self.limit.is_some_and(|limit| self.stats.events >= limit);
        (!done && !self.markets.is_empty()).then(|| self.next_event())
    }
}

/// Irwin–Hall with four uniforms, rescaled to unit variance: close enough to
/// normal for a random walk, with no transcendental functions in the hot loop.
fn approx_normal(rng: &mut ChaCha8Rng) -> f64 {
    let sum: f64 = (0..4).map(|_| rng.random::<f64>()).sum();
    (sum - 2.0) * 3f64.sqrt()
}

fn to_decimal(x: f64, dp: u32) -> Decimal {
    Decimal::from_f64_retain(x).map_or(Decimal::ZERO, |d| d.round_dp(dp))
}

/// Most events an unpaced market hands on at once.
const EMIT_BATCH: usize = 256;

/// Paces the generator at `rate` (or not at all), anchored at the start so
/// sleeps never accumulate drift, and stops at `limit` or on cancellation.
pub(crate) async fn run(
    config: SyntheticConfig,
    mut out: Emitter,
) -> Result<SourceSummary, SourceError> {
    let live = config.rate.is_finite() && config.rate > 0.0;
    let start_ms = match config.start_ms {
        Some(ms) => ms,
        None if live => SystemClock.now_ms(),
        None => config.default_start_ms(),
    };
    let mut market = SyntheticMarket::with_start(&config, start_ms);
    let started = Instant::now();
    let mut summary = SourceSummary::default();
    // Paced, an event goes when it is due; unpaced, in batches.
    let batch = if live { 1 } else { EMIT_BATCH };
    loop {
        let events: Vec<Event> = market.by_ref().take(batch).collect();
        if events.is_empty() {
            break;
        }
        if live {
            let due = started + Duration::from_secs_f64(summary.events as f64 / config.rate);
            if out.cancel().run_until_cancelled(tokio::time::sleep_until(due)).await.is_none() {
                summary.cancelled = true;
                break;
            }
        }
        let n = events.len() as u64;
        match out.send_batch(events).await? {
            Sent::Delivered => {
                summary.frames += n;
                summary.events += n;
            }
            Sent::Cancelled => {
                summary.cancelled = true;
                break;
            }
        }
    }
    Ok(summary)
}

//! `SyntheticConfig`: the user surface of the synthetic market, with its
//! defaults and local validation. Defaults are chosen so that a bare
//! `type = "synthetic"` gives a lively demo: five liquid USDT pairs at
//! realistic prices, 100 events/s, a whale burst about every 20 s and a fast
//! move about every 100 s.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::issue::ConfigIssue;

/// 2024-01-01T00:00:00Z; the default simulated epoch is this plus
/// `seed % 365` days, so different seeds also differ in time.
const EPOCH_MS: u64 = 1_704_067_200_000;

fn default_seed() -> u64 {
    0x6b6c_6178_6f6e // "klaxon"
}
fn default_rate() -> f64 {
    100.0
}
fn default_venue() -> String {
    "synthetic".to_owned()
}
fn default_book_top_share() -> f64 {
    0.1
}
fn default_whale_probability() -> f64 {
    0.0005
}
fn default_fast_move_probability() -> f64 {
    0.0001
}
fn default_symbols() -> Vec<SyntheticSymbol> {
    [
        ("BTCUSDT", 65_000, 0),
        ("ETHUSDT", 3_400, 0),
        ("SOLUSDT", 150, 0),
        ("BNBUSDT", 580, 0),
        ("DOGEUSDT", 15, 2),
    ]
    .into_iter()
    .map(|(symbol, price, scale)| SyntheticSymbol {
        symbol: symbol.to_owned(),
        price: Decimal::new(price, scale),
    })
    .collect()
}

/// `type = "synthetic"`: a seeded random market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Generator seed: the same seed and settings give the same events.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Events per second; `0` = as fast as the pipeline accepts. Default 100.
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Stop after this many events (benchmarks, tests). Default: never.
    #[serde(default)]
    pub limit: Option<u64>,
    /// Venue name on every event. Default `synthetic`.
    #[serde(default = "default_venue")]
    pub venue: String,
    /// Markets and start prices. Default BTCUSDT 65000, ETHUSDT 3400,
    /// SOLUSDT 150, BNBUSDT 580, DOGEUSDT 0.15.
    #[serde(default = "default_symbols")]
    pub symbols: Vec<SyntheticSymbol>,
    /// Exchange time of the first event, unix ms. Default: with `rate = 0`
    /// a fixed epoch derived from the seed (reproducible); with `rate > 0`
    /// the wall clock at start, so a live-rate demo looks live.
    #[serde(default)]
    pub start_ms: Option<u64>,
    /// Share of events that are book tops rather than trades; 0 disables
    /// them. Default 0.1.
    #[serde(default = "default_book_top_share")]
    pub book_top_share: f64,
    /// Chance per event that a whale burst starts. Default 0.0005 (about one
    /// burst per 2,000 events).
    #[serde(default = "default_whale_probability")]
    pub whale_probability: f64,
    /// Chance per event that a fast move starts. Default 0.0001 (about one
    /// per 10,000 events).
    #[serde(default = "default_fast_move_probability")]
    pub fast_move_probability: f64,
}

/// One synthetic market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticSymbol {
    /// Symbol, e.g. `BTCUSDT`; a USD-stable quote gets a USD notional.
    pub symbol: String,
    /// Start price in quote units.
    pub price: Decimal,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            seed: default_seed(),
            rate: default_rate(),
            limit: None,
            venue: default_venue(),
            symbols: default_symbols(),
            start_ms: None,
            book_top_share: default_book_top_share(),
            whale_probability: default_whale_probability(),
            fast_move_probability: default_fast_move_probability(),
        }
    }
}

impl SyntheticConfig {
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if !(self.rate.is_finite() && self.rate >= 0.0) {
            issues.push(ConfigIssue::new(
                format!("{path}.rate"),
                "must be a finite number, 0 or greater",
            ));
        }
        if self.venue.trim().is_empty() {
            issues.push(ConfigIssue::new(format!("{path}.venue"), "must not be empty"));
        }
        if self.symbols.is_empty() {
            issues
                .push(ConfigIssue::new(format!("{path}.symbols"), "must list at least one symbol"));
        }
        for (i, s) in self.symbols.iter().enumerate() {
            if s.symbol.trim().is_empty() {
                issues.push(ConfigIssue::new(
                    format!("{path}.symbols.{i}.symbol"),
                    "must not be empty",
                ));
            } else if self.symbols[..i].iter().any(|o| o.symbol == s.symbol) {
                issues.push(ConfigIssue::new(
                    format!("{path}.symbols.{i}.symbol"),
                    format!("`{}` is listed twice", s.symbol),
                ));
            }
            if s.price <= Decimal::ZERO {
                issues.push(ConfigIssue::new(
                    format!("{path}.symbols.{i}.price"),
                    "must be greater than 0",
                ));
            }
        }
        for (name, p) in [
            ("book_top_share", self.book_top_share),
            ("whale_probability", self.whale_probability),
            ("fast_move_probability", self.fast_move_probability),
        ] {
            if !(0.0..=1.0).contains(&p) {
                issues.push(ConfigIssue::new(format!("{path}.{name}"), "must be between 0 and 1"));
            }
        }
        issues
    }

    /// The simulated epoch used when `start_ms` is not set and `rate = 0`.
    pub fn default_start_ms(&self) -> u64 {
        EPOCH_MS + (self.seed % 365) * 86_400_000
    }
}

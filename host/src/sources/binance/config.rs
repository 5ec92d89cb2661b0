//! `type = "binance"`: what to subscribe to and where, and how the
//! subscriptions are spread over connections.
//!
//! Owns the user surface (every field documented, real venue defaults) and
//! its validation; runs nothing. [`BinanceConfig::links`] turns it into the
//! list of combined-stream URLs, at most `streams_per_connection` streams
//! each (Binance allows 1024).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::sync::Rules;
use crate::issue::ConfigIssue;
use crate::sources::live::ConnectionConfig;

/// Binance's own cap on streams per connection.
pub const MAX_STREAMS_PER_CONNECTION: usize = 1024;
/// Binance closes every connection after 24 h.
const VENUE_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Which Binance market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Market {
    /// Spot: `wss://stream.binance.com:9443`, `https://api.binance.com`.
    #[default]
    Spot,
    /// USD-M futures: `wss://fstream.binance.com`, `https://fapi.binance.com`.
    Usdm,
}

impl Market {
    pub fn rules(self) -> Rules {
        match self {
            Market::Spot => Rules::Spot,
            Market::Usdm => Rules::UsdM,
        }
    }

    fn default_ws(self) -> &'static str {
        match self {
            Market::Spot => "wss://stream.binance.com:9443",
            Market::Usdm => "wss://fstream.binance.com",
        }
    }

    fn default_rest(self) -> &'static str {
        match self {
            Market::Spot => "https://api.binance.com",
            Market::Usdm => "https://fapi.binance.com",
        }
    }

    fn depth_path(self) -> &'static str {
        match self {
            Market::Spot => "/api/v3/depth",
            Market::Usdm => "/fapi/v1/depth",
        }
    }

    fn default_venue(self) -> &'static str {
        match self {
            Market::Spot => "binance",
            Market::Usdm => "binance-futures",
        }
    }
}

/// Which trade stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TradeStream {
    /// `<symbol>@trade`: every trade (on USD-M only `X = MARKET` ones become events).
    #[default]
    #[serde(rename = "trade")]
    Trade,
    /// `<symbol>@aggTrade`: trades aggregated per taker order and price.
    #[serde(rename = "aggTrade", alias = "agg_trade")]
    AggTrade,
}

fn default_true() -> bool {
    true
}
fn default_snapshot_limit() -> u32 {
    1000
}
fn default_streams_per_connection() -> usize {
    MAX_STREAMS_PER_CONNECTION
}
fn default_max_lifetime() -> Duration {
    Duration::from_secs(23 * 3600)
}
fn default_weight_budget() -> u32 {
    1000
}

/// `[sources.<name>]` with `type = "binance"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinanceConfig {
    /// `"spot"` (default) or `"usdm"` (USD-M futures). Picks the default
    /// URLs, venue name and order-book sequencing rules.
    #[serde(default)]
    pub market: Market,
    /// Symbols as Binance writes them, e.g. `["BTCUSDT", "ETHUSDT"]`
    /// (case-insensitive; streams use lowercase, events uppercase).
    pub symbols: Vec<String>,
    /// WebSocket base URL; default by market (`wss://stream.binance.com:9443`
    /// or `wss://fstream.binance.com`). `/stream?streams=…` is appended.
    #[serde(default)]
    pub ws_url: Option<String>,
    /// REST base URL for depth snapshots; default by market
    /// (`https://api.binance.com` or `https://fapi.binance.com`).
    #[serde(default)]
    pub rest_url: Option<String>,
    /// Trade stream: `"trade"` (default) or `"aggTrade"`.
    #[serde(default)]
    pub trades: TradeStream,
    /// Keep a local order book per symbol from `@depth@100ms` diffs and REST
    /// snapshots, and emit book tops from it (default true). When false,
    /// `@bookTicker` supplies the book tops instead.
    #[serde(default = "default_true")]
    pub depth: bool,
    /// Levels per side in a REST snapshot (default 1000). Spot: 1–5000;
    /// USD-M: 5, 10, 20, 50, 100, 500 or 1000.
    #[serde(default = "default_snapshot_limit")]
    pub snapshot_limit: u32,
    /// Subscribe `<symbol>@forceOrder` and emit liquidations (USD-M only;
    /// default false).
    #[serde(default)]
    pub liquidations: bool,
    /// Venue name on events; default `binance` (spot) or `binance-futures`.
    #[serde(default)]
    pub venue: Option<String>,
    /// Streams per connection, at most 1024 (the default); more streams open
    /// more connections, each its own combined stream.
    #[serde(default = "default_streams_per_connection")]
    pub streams_per_connection: usize,
    /// Reconnect (planned) after this long, before Binance's 24 h cut-off.
    /// Default `23h`.
    #[serde(default = "default_max_lifetime", with = "humantime_serde")]
    pub max_lifetime: Duration,
    /// REST weight per minute (`X-MBX-USED-WEIGHT-1M`) at which snapshot
    /// fetches pause until the next minute. Default 1000 (spot allows 6000,
    /// USD-M 2400).
    #[serde(default = "default_weight_budget")]
    pub weight_budget: u32,
    /// Reconnect pacing, stall detection and timeouts.
    #[serde(default)]
    pub connection: ConnectionConfig,
}

/// One connection's worth of streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// 0-based, for logs.
    pub index: usize,
    pub streams: Vec<String>,
    pub url: String,
}

impl BinanceConfig {
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = self.connection.validate(path);
        let mut issue = |field: &str, msg: String| {
            issues.push(ConfigIssue::new(format!("{path}.{field}"), msg))
        };
        if self.symbols.is_empty() {
            issue("symbols", "must list at least one symbol".into());
        }
        for (i, s) in self.symbols.iter().enumerate() {
            if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                issue(
                    &format!("symbols.{i}"),
                    format!("`{s}` is not a Binance symbol (letters, digits and `_`)"),
                );
            } else if self.symbols[..i].iter().any(|o| o.eq_ignore_ascii_case(s)) {
                issue(&format!("symbols.{i}"), format!("`{s}` is listed twice"));
            }
        }
        for (field, url, schemes) in [
            ("ws_url", &self.ws_url, ["ws://", "wss://"]),
            ("rest_url", &self.rest_url, ["http://", "https://"]),
        ] {
            if let Some(url) = url
                && !schemes.iter().any(|s| url.starts_with(s) && url.len() > s.len())
            {
                issue(field, format!("`{url}` must start with {} or {}", schemes[0], schemes[1]));
            }
        }
        match self.market {
            Market::Spot if !(1..=5000).contains(&self.snapshot_limit) => {
                issue("snapshot_limit", "must be 1 to 5000 on spot".into())
            }
            Market::Usdm if ![5, 10, 20, 50, 100, 500, 1000].contains(&self.snapshot_limit) => {
                issue(
                    "snapshot_limit",
                    "must be one of 5, 10, 20, 50, 100, 500, 1000 on usdm".into(),
                )
            }
            _ => {}
        }
        if self.liquidations && self.market == Market::Spot {
            issue(
                "liquidations",
                "only USD-M (`market = \"usdm\"`) has liquidation streams".into(),
            );
        }
        if self.venue.as_deref().is_some_and(|v| v.trim().is_empty()) {
            issue("venue", "must not be empty".into());
        }
        if !(1..=MAX_STREAMS_PER_CONNECTION).contains(&self.streams_per_connection) {
            issue("streams_per_connection", format!("must be 1 to {MAX_STREAMS_PER_CONNECTION}"));
        }
        if self.max_lifetime.is_zero() || self.max_lifetime > VENUE_LIFETIME {
            issue(
                "max_lifetime",
                "must be greater than 0 and at most 24h (Binance's limit)".into(),
            );
        }
        if self.weight_budget == 0 {
            issue("weight_budget", "must be greater than 0".into());
        }
        issues
    }

    /// The venue name events carry.
    pub fn venue_name(&self) -> &str {
        self.venue.as_deref().unwrap_or(self.market.default_venue())
    }

    /// Every stream, grouped by symbol so a symbol's streams tend to share a
    /// connection.
    pub fn streams(&self) -> Vec<String> {
        let mut streams = Vec::new();
        for symbol in &self.symbols {
            let s = symbol.to_ascii_lowercase();
            streams.push(match self.trades {
                TradeStream::Trade => format!("{s}@trade"),
                TradeStream::AggTrade => format!("{s}@aggTrade"),
            });
            streams.push(if self.depth {
                format!("{s}@depth@100ms")
            } else {
                format!("{s}@bookTicker")
            });
            if self.liquidations {
                streams.push(format!("{s}@forceOrder"));
            }
        }
        streams
    }

    /// One [`Link`] per `streams_per_connection` streams.
    pub fn links(&self) -> Vec<Link> {
        let base = self.ws_url.as_deref().unwrap_or(self.market.default_ws()).trim_end_matches('/');
        self.streams()
            .chunks(self.streams_per_connection.max(1))
            .enumerate()
            .map(|(index, chunk)| Link {
                index,
                streams: chunk.to_vec(),
                url: format!("{base}/stream?streams={}", chunk.join("/")),
            })
            .collect()
    }

    /// REST snapshot URL for `symbol` (uppercase).
    pub fn snapshot_url(&self, symbol: &str) -> String {
        let base =
            self.rest_url.as_deref().unwrap_or(self.market.default_rest()).trim_end_matches('/');
        format!("{base}{}?symbol={symbol}&limit={}", self.market.depth_path(), self.snapshot_limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_text: &str) -> BinanceConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn defaults_are_the_real_venue() {
        let c = config("symbols = [\"BTCUSDT\"]");
        assert_eq!(
            c.links()[0].url,
            "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/btcusdt@depth@100ms"
        );
        assert_eq!(
            c.snapshot_url("BTCUSDT"),
            "https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000"
        );
        assert_eq!(
            (c.venue_name(), c.max_lifetime, c.streams_per_connection),
            ("binance", Duration::from_secs(82800), 1024)
        );
        assert!(c.validate("sources.b").is_empty());
        let f = config(
            "market = \"usdm\"\nsymbols = [\"btcusdt\"]\nliquidations = true\ntrades = \"aggTrade\"\ndepth = false",
        );
        assert_eq!(
            f.links()[0].url,
            "wss://fstream.binance.com/stream?streams=btcusdt@aggTrade/btcusdt@bookTicker/btcusdt@forceOrder"
        );
        assert_eq!(
            f.snapshot_url("BTCUSDT"),
            "https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000"
        );
        assert_eq!(f.venue_name(), "binance-futures");
        assert!(f.validate("sources.f").is_empty());
    }

    #[test]
    fn streams_split_over_connections() {
        let c = config(
            "symbols = [\"A1\", \"B2\", \"C3\"]\nstreams_per_connection = 4\nws_url = \"ws://h/\"",
        );
        let links = c.links();
        let streams: Vec<&[String]> = links.iter().map(|l| l.streams.as_slice()).collect();
        assert_eq!(
            streams,
            [
                &["a1@trade", "a1@depth@100ms", "b2@trade", "b2@depth@100ms"][..],
                &["c3@trade", "c3@depth@100ms"][..]
            ]
        );
        assert_eq!(links[1].url, "ws://h/stream?streams=c3@trade/c3@depth@100ms");
    }

    #[test]
    fn every_bad_field_is_named() {
        let c = config(
            "symbols = [\"BTCUSDT\", \"btcusdt\", \"BAD-ONE\"]\nws_url = \"http://x\"\nrest_url = \"ftp://x\"\nsnapshot_limit = 0\n\
             liquidations = true\nvenue = \" \"\nstreams_per_connection = 1025\nmax_lifetime = \"25h\"\nweight_budget = 0\n\
             [connection]\nstall_after = \"0s\"",
        );
        let paths: Vec<String> = c.validate("sources.b").into_iter().map(|i| i.path).collect();
        assert_eq!(
            paths,
            [
                "sources.b.connection.stall_after",
                "sources.b.symbols.1",
                "sources.b.symbols.2",
                "sources.b.ws_url",
                "sources.b.rest_url",
                "sources.b.snapshot_limit",
                "sources.b.liquidations",
                "sources.b.venue",
                "sources.b.streams_per_connection",
                "sources.b.max_lifetime",
                "sources.b.weight_budget",
            ]
        );
        assert_eq!(config("symbols = []").validate("s")[0].path, "s.symbols");
        let f = config("market = \"usdm\"\nsymbols = [\"X\"]\nsnapshot_limit = 5000");
        assert_eq!(
            f.validate("s")[0].message,
            "must be one of 5, 10, 20, 50, 100, 500, 1000 on usdm"
        );
        assert!(
            toml::from_str::<BinanceConfig>("symbols = [\"X\"]\nsymbol = 1").is_err(),
            "unknown fields rejected"
        );
    }
}

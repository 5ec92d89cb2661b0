//! `HyperliquidConfig`: the user surface of the live Hyperliquid source, its
//! defaults (the real mainnet endpoint and the documented per-IP limits) and
//! its local validation.
//!
//! Owns no behaviour beyond checks: what to subscribe is decided in
//! `subscription.rs`, where it goes in `placement.rs`. Invariant kept by
//! [`HyperliquidConfig::validate`]: the explicitly configured subscriptions
//! always fit every limit, so only template-derived ones can be refused at
//! runtime.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::issue::ConfigIssue;
use crate::sources::live::ConnectionConfig;

/// Documented per-IP limits (protocols.md §3.4). The config may lower them
/// (several hosts behind one IP), never raise them.
pub const MAX_CONNECTIONS: usize = 10;
pub const MAX_NEW_CONNECTIONS_PER_MINUTE: u32 = 30;
pub const MAX_SUBSCRIPTIONS: usize = 1000;
pub const MAX_USERS: usize = 10;
pub const MAX_MESSAGES_PER_MINUTE: u32 = 2000;

/// The server drops a connection it sent nothing on for 60 s.
const SERVER_IDLE_CLOSE: Duration = Duration::from_secs(60);

/// A per-coin market-data channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MarketChannel {
    /// Every trade (`trades`).
    #[serde(rename = "trades")]
    Trades,
    /// Best bid and offer on change (`bbo`).
    #[serde(rename = "bbo")]
    Bbo,
    /// Full 20-level book each block (`l2Book`); only its top is used.
    #[serde(rename = "l2Book")]
    L2Book,
}

fn default_url() -> String {
    "wss://api.hyperliquid.xyz/ws".to_owned()
}
fn default_venue() -> String {
    "hyperliquid".to_owned()
}
fn default_channels() -> Vec<MarketChannel> {
    vec![MarketChannel::Trades, MarketChannel::Bbo]
}
fn yes() -> bool {
    true
}
fn default_subscriptions_per_connection() -> usize {
    100
}
fn default_max_connections() -> usize {
    MAX_CONNECTIONS
}
fn default_max_subscriptions() -> usize {
    MAX_SUBSCRIPTIONS
}
fn default_max_users() -> usize {
    MAX_USERS
}
fn default_new_connections_per_minute() -> u32 {
    MAX_NEW_CONNECTIONS_PER_MINUTE
}
fn default_messages_per_minute() -> u32 {
    MAX_MESSAGES_PER_MINUTE
}
fn default_ping_interval() -> Duration {
    Duration::from_secs(50)
}
fn default_dedup_ttl() -> Duration {
    Duration::from_secs(600)
}
fn default_dedup_capacity() -> u64 {
    200_000
}

/// `type = "hyperliquid"`: trades, books and account fills from the
/// Hyperliquid WebSocket API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HyperliquidConfig {
    /// WebSocket endpoint. Default `wss://api.hyperliquid.xyz/ws` (mainnet;
    /// testnet is `wss://api.hyperliquid-testnet.xyz/ws`).
    #[serde(default = "default_url")]
    pub url: String,
    /// Venue name on every event and in template `venues` selectors.
    /// Default `hyperliquid`.
    #[serde(default = "default_venue")]
    pub venue: String,
    /// Coins always subscribed, as Hyperliquid names them: `BTC` (perp),
    /// `@107` (spot index), `PURR/USDC`. Default: none.
    #[serde(default)]
    pub coins: Vec<String>,
    /// Market channels subscribed per coin: `trades`, `bbo`, `l2Book`.
    /// Default `["trades", "bbo"]`.
    #[serde(default = "default_channels")]
    pub channels: Vec<MarketChannel>,
    /// Accounts (0x addresses) always tracked: `userFills` and `userEvents`
    /// each. Default: none.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Also subscribe the symbols and accounts named by templates that can
    /// see this venue, and follow them across reloads. A template without a
    /// `symbols` selector adds no coins (only `coins` are subscribed for it).
    /// Default `true`.
    #[serde(default = "yes")]
    pub follow_templates: bool,
    /// Subscriptions carried by one connection. Default 100.
    #[serde(default = "default_subscriptions_per_connection")]
    pub subscriptions_per_connection: usize,
    /// Connections opened at most (venue limit 10 per IP). Default 10.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Subscriptions held at most (venue limit 1000 per IP). Default 1000.
    #[serde(default = "default_max_subscriptions")]
    pub max_subscriptions: usize,
    /// Distinct accounts tracked at most (venue limit 10 per IP). Default 10.
    #[serde(default = "default_max_users")]
    pub max_users: usize,
    /// New connections per minute at most (venue limit 30 per IP). Default 30.
    #[serde(default = "default_new_connections_per_minute")]
    pub new_connections_per_minute: u32,
    /// Messages sent per minute at most, over all connections (venue limit
    /// 2000 per IP). Default 2000.
    #[serde(default = "default_messages_per_minute")]
    pub messages_per_minute: u32,
    /// How often each connection sends `{"method":"ping"}`; must stay under
    /// the server's 60 s idle close and under `connection.stall_after`.
    /// Default `50s`.
    #[serde(default = "default_ping_interval", with = "humantime_serde")]
    pub ping_interval: Duration,
    /// How long a trade `(coin, tid)` or fill `(hash, tid, side)` is
    /// remembered, so that data replayed after a reconnect is not emitted
    /// twice. Default `10m`.
    #[serde(default = "default_dedup_ttl", with = "humantime_serde")]
    pub dedup_ttl: Duration,
    /// Ids remembered at most for deduplication. Default 200000.
    #[serde(default = "default_dedup_capacity")]
    pub dedup_capacity: u64,
    #[serde(default)]
    pub connection: ConnectionConfig,
}

impl Default for HyperliquidConfig {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

impl HyperliquidConfig {
    /// Every local problem at once; `path` is the source's TOML path.
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = self.connection.validate(path);
        let mut issue = |field: &str, message: String| {
            issues.push(ConfigIssue::new(format!("{path}.{field}"), message))
        };
        if !(self.url.starts_with("ws://") || self.url.starts_with("wss://")) {
            issue("url", format!("`{}` is not a ws:// or wss:// URL", self.url));
        }
        if self.venue.trim().is_empty() {
            issue("venue", "must not be empty".into());
        }
        let mut seen = HashSet::new();
        for (i, coin) in self.coins.iter().enumerate() {
            if coin.trim().is_empty() {
                issue(&format!("coins.{i}"), "must not be empty".into());
            } else if !seen.insert(coin) {
                issue(&format!("coins.{i}"), format!("`{coin}` is listed twice"));
            }
        }
        if self.channels.is_empty() {
            issue("channels", "must list at least one of `trades`, `bbo`, `l2Book`".into());
        }
        let mut seen = HashSet::new();
        for (i, account) in self.accounts.iter().enumerate() {
            if !is_address(account) {
                issue(
                    &format!("accounts.{i}"),
                    format!("`{account}` is not a 0x-prefixed 20-byte hex address"),
                );
            } else if !seen.insert(account.to_ascii_lowercase()) {
                issue(&format!("accounts.{i}"), format!("`{account}` is listed twice"));
            }
        }
        let limits: [(&str, usize, usize, usize); 4] = [
            ("max_connections", self.max_connections, 1, MAX_CONNECTIONS),
            ("max_subscriptions", self.max_subscriptions, 1, MAX_SUBSCRIPTIONS),
            ("max_users", self.max_users, 0, MAX_USERS),
            (
                "subscriptions_per_connection",
                self.subscriptions_per_connection,
                1,
                self.max_subscriptions.max(1),
            ),
        ];
        for (field, value, min, max) in limits {
            if value < min || value > max {
                issue(
                    field,
                    format!(
                        "must be between {min} and {max} (Hyperliquid per-IP limit), got {value}"
                    ),
                );
            }
        }
        // Rates are paced at half the limit with a half-limit burst, which
        // keeps any 60 s window within the limit; that needs at least 2.
        for (field, value, max) in [
            (
                "new_connections_per_minute",
                self.new_connections_per_minute,
                MAX_NEW_CONNECTIONS_PER_MINUTE,
            ),
            ("messages_per_minute", self.messages_per_minute, MAX_MESSAGES_PER_MINUTE),
        ] {
            if !(2..=max).contains(&value) {
                issue(
                    field,
                    format!("must be between 2 and {max} (Hyperliquid per-IP limit), got {value}"),
                );
            }
        }
        if self.ping_interval.is_zero() || self.ping_interval >= SERVER_IDLE_CLOSE {
            issue("ping_interval", "must be greater than 0 and under 60s (the server closes idle connections after 60s)".into());
        } else if self.ping_interval >= self.connection.stall_after {
            issue(
                "ping_interval",
                "must be shorter than connection.stall_after, or a quiet connection looks stalled"
                    .into(),
            );
        }
        if self.dedup_ttl.is_zero() {
            issue("dedup_ttl", "must be greater than 0".into());
        }
        if self.dedup_capacity == 0 {
            issue("dedup_capacity", "must be at least 1".into());
        }
        self.validate_fixed_set(&mut issue);
        issues
    }

    /// The configured coins and accounts must fit every limit on their own,
    /// so that refusing at runtime only ever hits template-derived ones.
    fn validate_fixed_set(&self, issue: &mut impl FnMut(&str, String)) {
        let fixed = self.coins.len() * self.channels.len() + self.accounts.len() * 2;
        let room = self.max_connections * self.subscriptions_per_connection;
        if fixed > self.max_subscriptions {
            issue(
                "coins",
                format!(
                    "{fixed} subscriptions (coins × channels + 2 per account) exceed max_subscriptions {}",
                    self.max_subscriptions
                ),
            );
        } else if fixed > room {
            issue(
                "coins",
                format!(
                    "{fixed} subscriptions do not fit max_connections × subscriptions_per_connection = {room}"
                ),
            );
        }
        if self.accounts.len() > self.max_users {
            issue(
                "accounts",
                format!("{} accounts exceed max_users {}", self.accounts.len(), self.max_users),
            );
        } else if self.accounts.len() > self.max_connections {
            // userEvents frames do not name the user, so each connection
            // carries at most one (see placement.rs).
            issue(
                "accounts",
                format!(
                    "{} accounts need as many connections (one userEvents each), max_connections is {}",
                    self.accounts.len(),
                    self.max_connections
                ),
            );
        }
    }
}

/// `0x` followed by 40 hex digits: the only form of a Hyperliquid user.
pub(crate) fn is_address(s: &str) -> bool {
    s.len() == 42 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(toml_text: &str) -> Vec<String> {
        let config: HyperliquidConfig = toml::from_str(toml_text).unwrap();
        config.validate("sources.hl").into_iter().map(|i| i.path).collect()
    }

    #[test]
    fn defaults_are_the_real_venue_and_its_limits() {
        let c = HyperliquidConfig::default();
        assert_eq!(c.url, "wss://api.hyperliquid.xyz/ws");
        assert_eq!(c.venue, "hyperliquid");
        assert_eq!(c.channels, [MarketChannel::Trades, MarketChannel::Bbo]);
        assert!(c.follow_templates);
        assert_eq!(
            (c.subscriptions_per_connection, c.max_connections, c.max_subscriptions, c.max_users),
            (100, 10, 1000, 10)
        );
        assert_eq!((c.new_connections_per_minute, c.messages_per_minute), (30, 2000));
        assert_eq!(c.ping_interval, Duration::from_secs(50));
        assert!(c.validate("sources.hl").is_empty());
    }

    #[test]
    fn channel_names_are_the_venue_names() {
        let c: HyperliquidConfig =
            toml::from_str(r#"channels = ["l2Book", "bbo", "trades"]"#).unwrap();
        assert_eq!(c.channels, [MarketChannel::L2Book, MarketChannel::Bbo, MarketChannel::Trades]);
        assert!(toml::from_str::<HyperliquidConfig>(r#"channels = ["depth"]"#).is_err());
        assert!(toml::from_str::<HyperliquidConfig>("coinz = []").is_err());
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = r#"
            url = "https://api.hyperliquid.xyz"
            venue = ""
            coins = ["BTC", "", "BTC"]
            channels = []
            accounts = ["0x12", "0x2ad7672c2990107b8fd8130d896d5bdd2aa4a6b9", "0x2AD7672C2990107B8FD8130D896D5BDD2AA4A6B9"]
            max_connections = 11
            max_subscriptions = 1001
            max_users = 11
            subscriptions_per_connection = 0
            new_connections_per_minute = 31
            messages_per_minute = 1
            ping_interval = "60s"
            dedup_ttl = "0s"
            dedup_capacity = 0
        "#;
        assert_eq!(
            paths(bad),
            [
                "sources.hl.url",
                "sources.hl.venue",
                "sources.hl.coins.1",
                "sources.hl.coins.2",
                "sources.hl.channels",
                "sources.hl.accounts.0",
                "sources.hl.accounts.2",
                "sources.hl.max_connections",
                "sources.hl.max_subscriptions",
                "sources.hl.max_users",
                "sources.hl.subscriptions_per_connection",
                "sources.hl.new_connections_per_minute",
                "sources.hl.messages_per_minute",
                "sources.hl.ping_interval",
                "sources.hl.dedup_ttl",
                "sources.hl.dedup_capacity",
                // zero per connection leaves no room for the configured accounts
                "sources.hl.coins",
            ]
        );
    }

    #[test]
    fn configured_set_must_fit_the_limits() {
        let too_many = "coins = [\"A\", \"B\", \"C\"]\nchannels = [\"trades\", \"bbo\"]\nmax_subscriptions = 5\nsubscriptions_per_connection = 5";
        assert_eq!(paths(too_many), ["sources.hl.coins"]);
        let no_room =
            "coins = [\"A\", \"B\", \"C\"]\nmax_connections = 1\nsubscriptions_per_connection = 5";
        assert_eq!(paths(no_room), ["sources.hl.coins"]);
        let accounts: Vec<String> = (0..3).map(|i| format!("\"0x{i:040x}\"")).collect();
        let users = format!("accounts = [{}]\nmax_users = 2", accounts.join(","));
        assert_eq!(paths(&users), ["sources.hl.accounts"]);
        let conns = format!("accounts = [{}]\nmax_connections = 2", accounts.join(","));
        assert_eq!(paths(&conns), ["sources.hl.accounts"]);
        assert_eq!(
            paths("ping_interval = \"59s\"\nconnection = { stall_after = \"30s\" }"),
            ["sources.hl.ping_interval"]
        );
    }
}

//! `[sources.<name>]` with `type = "evm"`: which node, which pools or tokens,
//! and what counts as USD on that chain.
//!
//! Owns the user surface and its validation only; the running source reads
//! the resolved values ([`EvmConfig::ws_url`], [`EvmConfig::stables`], …),
//! which fill in the well-known defaults of `ethereum` and `bsc` (see
//! `reference/protocols.md` §4.3). Addresses are compared lowercase.

use std::collections::HashSet;

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

use super::parse::{PoolConfig, parse_address};
use crate::issue::ConfigIssue;
use crate::sources::live::ConnectionConfig;

/// Defaults of a chain we know: public endpoints, USD stables, wrapped coin.
struct KnownChain {
    name: &'static str,
    ws_url: &'static str,
    stables: &'static [&'static str],
    wrapped_native: &'static str,
    wrapped_symbol: &'static str,
    native_reference: &'static str,
}

const KNOWN_CHAINS: [KnownChain; 2] = [
    KnownChain {
        name: "ethereum",
        ws_url: "wss://ethereum-rpc.publicnode.com",
        // USDT, USDC (6 decimals), DAI (18); decimals are read from the chain.
        stables: &[
            "0xdac17f958d2ee523a2206206994597c13d831ec7",
            "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
            "0x6b175474e89094c44da98b954eedeac495271d0f",
        ],
        wrapped_native: "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
        wrapped_symbol: "WETH",
        native_reference: "ETHUSDT",
    },
    KnownChain {
        name: "bsc",
        ws_url: "wss://bsc-rpc.publicnode.com",
        // USDT, USDC (both 18 decimals on BSC), BUSD.
        stables: &[
            "0x55d398326f99059ff775485246999027b3197955",
            "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d",
            "0xe9e7cea3dedca5984780bafc599bd69add087d56",
        ],
        wrapped_native: "0xbb4cdb9cbd36b01bd1cbaebf2de08d9173bc095c",
        wrapped_symbol: "WBNB",
        native_reference: "BNBUSDT",
    },
];

fn default_chain() -> String {
    "ethereum".to_owned()
}

/// One entry of `pools`: an address whose tokens are read from the chain, or
/// a table with manual metadata (then nothing is read for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PoolEntry {
    Address(String),
    Manual(PoolConfig),
}

/// By hand rather than `untagged`, so a bad table names its bad field
/// (`unknown field \`quot\``) instead of "did not match any variant".
impl<'de> Deserialize<'de> for PoolEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = PoolEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a pool address or a table { address, base, quote, … }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PoolEntry, E> {
                Ok(PoolEntry::Address(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<PoolEntry, A::Error> {
                PoolConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(PoolEntry::Manual)
            }
        }
        d.deserialize_any(Entry)
    }
}

impl PoolEntry {
    pub fn address(&self) -> &str {
        match self {
            PoolEntry::Address(a) => a,
            PoolEntry::Manual(p) => &p.address,
        }
    }
}

/// `type = "evm"`: DEX swaps (Uniswap V2, V3, PancakeSwap V3) from an EVM
/// node's `eth_subscribe` log stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvmConfig {
    /// Chain name, used as the events' venue and in their ids (`ethereum`,
    /// `bsc`, …). `ethereum` and `bsc` bring default URLs, stables and
    /// wrapped coin. Default `ethereum`.
    #[serde(default = "default_chain")]
    pub chain: String,
    /// Node WebSocket URL (`wss://…`). Default for `ethereum`/`bsc`: the
    /// publicnode.com endpoint; required for other chains.
    #[serde(default)]
    pub ws_url: Option<String>,
    /// JSON-RPC over HTTP, for `eth_call`, `eth_getLogs`, `eth_blockNumber`.
    /// Default: `ws_url` with `ws`→`http`, `wss`→`https`.
    #[serde(default)]
    pub http_url: Option<String>,
    /// Pools to watch: `"0x…"` (tokens read from the chain once) or a table
    /// `{ address, base, quote, decimals0, decimals1, base_is_token0 }`.
    #[serde(default)]
    pub pools: Vec<PoolEntry>,
    /// Token addresses: watch every pool that swaps one of them. The
    /// subscription then has no address filter and each new pool's tokens are
    /// read once to decide.
    #[serde(default)]
    pub tokens: Vec<String>,
    /// Token addresses treated as USD. Default: the chain's USDT, USDC and
    /// (ethereum) DAI or (bsc) BUSD.
    #[serde(default)]
    pub stables: Option<Vec<String>>,
    /// The wrapped native coin (WETH, WBNB). Default per known chain.
    #[serde(default)]
    pub wrapped_native: Option<String>,
    /// Symbol whose last price is the native coin in USD, e.g. `ETHUSDT`;
    /// feed it from a CEX source. Default `ETHUSDT` / `BNBUSDT`.
    #[serde(default)]
    pub native_reference: Option<String>,
    #[serde(default)]
    pub connection: ConnectionConfig,
}

impl EvmConfig {
    fn known(&self) -> Option<&'static KnownChain> {
        KNOWN_CHAINS.iter().find(|c| c.name == self.chain)
    }

    pub fn ws_url(&self) -> Option<String> {
        self.ws_url.clone().or_else(|| self.known().map(|c| c.ws_url.to_owned()))
    }

    pub fn http_url(&self) -> Option<String> {
        self.http_url.clone().or_else(|| self.ws_url().and_then(|ws| http_from_ws(&ws)))
    }

    pub fn stables(&self) -> HashSet<Address> {
        match &self.stables {
            Some(list) => list.iter().filter_map(|a| parse_address(a)).collect(),
            None => self
                .known()
                .map(|c| c.stables.iter().filter_map(|a| parse_address(a)).collect())
                .unwrap_or_default(),
        }
    }

    pub fn wrapped_native(&self) -> Option<Address> {
        match &self.wrapped_native {
            Some(a) => parse_address(a),
            None => self.known().and_then(|c| parse_address(c.wrapped_native)),
        }
    }

    /// The wrapped coin's symbol for manual pools (`quote = "WETH"`).
    pub fn wrapped_symbol(&self) -> Option<&'static str> {
        self.known().map(|c| c.wrapped_symbol)
    }

    pub fn native_reference(&self) -> Option<String> {
        self.native_reference
            .clone()
            .or_else(|| self.known().map(|c| c.native_reference.to_owned()))
    }

    pub fn tokens(&self) -> HashSet<Address> {
        self.tokens.iter().filter_map(|a| parse_address(a)).collect()
    }

    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = self.connection.validate(path);
        if self.chain.trim().is_empty() {
            issues.push(ConfigIssue::new(format!("{path}.chain"), "must not be empty"));
        }
        match self.ws_url() {
            None => issues.push(ConfigIssue::new(
                format!("{path}.ws_url"),
                format!("required for chain `{}` (no default)", self.chain),
            )),
            Some(url) if !(url.starts_with("ws://") || url.starts_with("wss://")) => {
                issues.push(ConfigIssue::new(
                    format!("{path}.ws_url"),
                    format!("`{url}` is not a ws:// or wss:// URL"),
                ));
            }
            Some(_) => {}
        }
        if let Some(url) = &self.http_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            issues.push(ConfigIssue::new(
                format!("{path}.http_url"),
                format!("`{url}` is not an http:// or https:// URL"),
            ));
        }
        if self.pools.is_empty() && self.tokens.is_empty() {
            issues.push(ConfigIssue::new(
                format!("{path}.pools"),
                "set `pools`, `tokens` or both: nothing to watch",
            ));
        }
        for (i, pool) in self.pools.iter().enumerate() {
            match pool {
                PoolEntry::Address(a) => check_address(&mut issues, format!("{path}.pools.{i}"), a),
                PoolEntry::Manual(p) => issues.extend(p.validate(&format!("{path}.pools.{i}"))),
            }
        }
        for (i, token) in self.tokens.iter().enumerate() {
            check_address(&mut issues, format!("{path}.tokens.{i}"), token);
        }
        for (i, stable) in self.stables.iter().flatten().enumerate() {
            check_address(&mut issues, format!("{path}.stables.{i}"), stable);
        }
        if let Some(w) = &self.wrapped_native {
            check_address(&mut issues, format!("{path}.wrapped_native"), w);
        }
        if self.native_reference.as_deref().is_some_and(|r| r.trim().is_empty()) {
            issues.push(ConfigIssue::new(format!("{path}.native_reference"), "must not be empty"));
        }
        issues
    }
}

fn check_address(issues: &mut Vec<ConfigIssue>, path: String, address: &str) {
    if parse_address(address).is_none() {
        issues.push(ConfigIssue::new(path, format!("`{address}` is not a 20-byte hex address")));
    }
}

/// `ws://` → `http://`, `wss://` → `https://`, the rest unchanged.
pub(crate) fn http_from_ws(ws: &str) -> Option<String> {
    if let Some(rest) = ws.strip_prefix("wss://") {
        return Some(format!("https://{rest}"));
    }
    ws.strip_prefix("ws://").map(|rest| format!("http://{rest}"))
}

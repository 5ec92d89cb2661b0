//! The pools the EVM parser can price: what config says about each
//! (`pools = [{ address = "0x..", base, quote, decimals… }]`), looked up by
//! address when a swap log arrives.
//!
//! Config names a pool, not its tokens, so a configured pool's identity is
//! its ticker at the *pool's* address (`PEPE/WETH@0xa43f…`): two pools
//! configured with one ticker stay apart, and reading the token addresses
//! would take the node calls that a manual entry exists to avoid.

use std::collections::HashMap;
use std::str::FromStr;

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

use crate::event::{Listing, Sym, USD_QUOTES};
use crate::issue::ConfigIssue;

fn default_decimals() -> u8 {
    18
}

fn default_true() -> bool {
    true
}

/// One pool the EVM parser can price (`pools = [{ address = "0x..", ... }]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Pool (pair) contract address, `0x` + 40 hex digits, any case.
    pub address: String,
    /// Symbol of the traded token, e.g. `PEPE`. Events read `BASE/QUOTE`,
    /// identified by the pool's address (`PEPE/WETH@0x…`).
    pub base: String,
    /// Symbol of the token prices are quoted in, e.g. `WETH` or `USDT`.
    pub quote: String,
    /// Decimals of the pool's token0 (the lower address). Default 18.
    #[serde(default = "default_decimals")]
    pub decimals0: u8,
    /// Decimals of the pool's token1. Default 18. (BSC USDT/USDC have 18.)
    #[serde(default = "default_decimals")]
    pub decimals1: u8,
    /// Whether token0 is the base. Default true.
    #[serde(default = "default_true")]
    pub base_is_token0: bool,
    /// Whether the quote is a USD stable, so the quote leg is the USD
    /// notional. Default: true when `quote` is one of USDT, USDC, BUSD, FDUSD,
    /// TUSD, USD.
    #[serde(default)]
    pub quote_is_usd: Option<bool>,
}

impl PoolConfig {
    /// Local checks; `path` is the TOML path of this entry (`sources.x.pools.0`).
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if parse_address(&self.address).is_none() {
            issues.push(ConfigIssue::new(
                format!("{path}.address"),
                format!("`{}` is not a 20-byte hex address", self.address),
            ));
        }
        for (name, value) in [("base", &self.base), ("quote", &self.quote)] {
            if value.trim().is_empty() {
                issues.push(ConfigIssue::new(format!("{path}.{name}"), "must not be empty"));
            }
        }
        // U256 holds at most 78 decimal digits.
        for (name, value) in [("decimals0", self.decimals0), ("decimals1", self.decimals1)] {
            if value > 77 {
                issues.push(ConfigIssue::new(format!("{path}.{name}"), "must be at most 77"));
            }
        }
        issues
    }
}

/// What the parser knows about one pool.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PoolInfo {
    /// The identity: `BASE/QUOTE@address` (see [`Listing::new`]).
    pub symbol: Sym,
    /// Ticker and address; `None` for a pool nobody described.
    pub listing: Option<Listing>,
    pub decimals0: u8,
    pub decimals1: u8,
    pub base_is_token0: bool,
    /// The quote leg is a USD stable: it is the notional.
    pub quote_is_usd: bool,
    /// The quote leg is the wrapped native coin, priced by this reference
    /// symbol downstream (see `Event::notional_ref`).
    pub quote_ref: Option<Sym>,
}

impl PoolInfo {
    /// A pool nobody described: symbol = its address, 18/18 decimals, no USD.
    pub(super) fn unknown(address: Address) -> PoolInfo {
        PoolInfo {
            symbol: Sym::new(&format!("{address:#x}")),
            listing: None,
            decimals0: 18,
            decimals1: 18,
            base_is_token0: true,
            quote_is_usd: false,
            quote_ref: None,
        }
    }
}

/// Pools by address, built once from config and shared read-only.
#[derive(Debug, Clone, Default)]
pub struct PoolRegistry {
    pools: HashMap<Address, PoolInfo>,
}

/// A pool entry the registry cannot use (config validation reports the same).
#[derive(Debug, thiserror::Error)]
#[error("pools.{index}.address: `{address}` is not a 20-byte hex address")]
pub struct PoolError {
    pub index: usize,
    pub address: String,
}

impl PoolRegistry {
    pub fn new(pools: &[PoolConfig]) -> Result<PoolRegistry, PoolError> {
        let mut map = HashMap::with_capacity(pools.len());
        for (index, p) in pools.iter().enumerate() {
            let address = parse_address(&p.address)
                .ok_or_else(|| PoolError { index, address: p.address.clone() })?;
            let quote_is_usd = p
                .quote_is_usd
                .unwrap_or_else(|| USD_QUOTES.contains(&p.quote.to_ascii_uppercase().as_str()));
            let ticker = format!("{}/{}", p.base, p.quote);
            let (symbol, listing) = Listing::new(&ticker, &format!("{address:#x}"), None);
            let info = PoolInfo {
                symbol,
                listing: Some(listing),
                decimals0: p.decimals0,
                decimals1: p.decimals1,
                base_is_token0: p.base_is_token0,
                quote_is_usd,
                quote_ref: None,
            };
            map.insert(address, info);
        }
        Ok(PoolRegistry { pools: map })
    }

    pub fn len(&self) -> usize {
        self.pools.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }

    pub(crate) fn get(&self, address: &Address) -> Option<&PoolInfo> {
        self.pools.get(address)
    }

    /// The configured pools and what config says about them.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&Address, &PoolInfo)> {
        self.pools.iter()
    }
}

pub(crate) fn parse_address(text: &str) -> Option<Address> {
    let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"))?;
    (hex.len() == 40).then(|| Address::from_str(hex).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_config_validation_names_fields() {
        let bad = PoolConfig {
            address: "0x1234".into(),
            base: " ".into(),
            quote: "USDT".into(),
            decimals0: 80,
            decimals1: 18,
            base_is_token0: true,
            quote_is_usd: None,
        };
        let paths: Vec<String> =
            bad.validate("sources.r.pools.0").into_iter().map(|i| i.path).collect();
        assert_eq!(
            paths,
            ["sources.r.pools.0.address", "sources.r.pools.0.base", "sources.r.pools.0.decimals0"]
        );
    }
}

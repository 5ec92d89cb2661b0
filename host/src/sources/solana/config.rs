//! `[sources.<name>]` with `type = "solana"`: the node, the Raydium AMM v4
//! pools to watch, and how mints are named and valued.
//!
//! Owns the user surface and its validation only; the running source reads
//! the resolved values ([`SolanaConfig::http_url`], [`SolanaConfig::symbol`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::parse::{PoolInfo, RAYDIUM_AMM_V4};
use super::rpc::{AmmAccount, is_pubkey};
use crate::event::{Listing, Sym, USD_QUOTES};
use crate::issue::ConfigIssue;
use crate::sources::evm::config::http_from_ws;
use crate::sources::live::ConnectionConfig;

/// Wrapped SOL, USDC and USDT mints (mainnet).
pub const SOL_MINT: &str = "So11111111111111111111111111111111111111112";
const DEFAULT_SYMBOLS: [(&str, &str); 3] = [
    (SOL_MINT, "SOL"),
    ("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "USDC"),
    ("Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB", "USDT"),
];

/// How settled a tx must be before the node reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Commitment {
    Processed,
    #[default]
    Confirmed,
    Finalized,
}

impl Commitment {
    pub fn as_str(self) -> &'static str {
        match self {
            Commitment::Processed => "processed",
            Commitment::Confirmed => "confirmed",
            Commitment::Finalized => "finalized",
        }
    }
}

fn default_ws_url() -> String {
    "wss://api.mainnet-beta.solana.com".to_owned()
}

fn default_program() -> String {
    RAYDIUM_AMM_V4.to_owned()
}

fn default_sol_reference() -> String {
    "SOLUSDT".to_owned()
}

/// `type = "solana"`: Raydium AMM v4 swaps from `logsSubscribe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolanaConfig {
    /// Node WebSocket URL. Default `wss://api.mainnet-beta.solana.com`.
    #[serde(default = "default_ws_url")]
    pub ws_url: String,
    /// JSON-RPC over HTTP for `getAccountInfo`. Default: `ws_url` with
    /// `ws`→`http`, `wss`→`https`.
    #[serde(default)]
    pub http_url: Option<String>,
    /// `processed`, `confirmed` (default) or `finalized`.
    #[serde(default)]
    pub commitment: Commitment,
    /// Raydium AMM v4 pool (AMM account) ids, base58. One subscription each:
    /// the node accepts one `mentions` key per subscription.
    pub pools: Vec<String>,
    /// The AMM program whose `ray_log` lines are swaps. Default Raydium AMM
    /// v4 `675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8`.
    #[serde(default = "default_program")]
    pub program: String,
    /// Mint → symbol, on top of the defaults (wrapped SOL `SOL`, `USDC`,
    /// `USDT`). Unknown mints are shown as `Abcd…wxyz`. A PC mint whose
    /// symbol is a USD stable (USDT, USDC, …) gives the USD notional.
    #[serde(default)]
    pub symbols: BTreeMap<String, String>,
    /// Symbol whose last price is SOL in USD (feed it from a CEX source);
    /// swaps quoted in SOL get their notional from it. Default `SOLUSDT`.
    #[serde(default = "default_sol_reference")]
    pub sol_reference: String,
    #[serde(default)]
    pub connection: ConnectionConfig,
}

impl SolanaConfig {
    pub fn http_url(&self) -> Option<String> {
        self.http_url.clone().or_else(|| http_from_ws(&self.ws_url))
    }

    /// The symbol of `mint`: configured, default, or shortened.
    pub fn symbol(&self, mint: &str) -> String {
        if let Some(s) = self.symbols.get(mint) {
            return s.clone();
        }
        if let Some((_, s)) = DEFAULT_SYMBOLS.iter().find(|(m, _)| *m == mint) {
            return (*s).to_owned();
        }
        match (mint.get(..4), mint.len().checked_sub(4).and_then(|i| mint.get(i..))) {
            (Some(head), Some(tail)) => format!("{head}…{tail}"),
            _ => mint.to_owned(),
        }
    }

    /// Whether `mint`'s symbol comes from config or the defaults (not shortened).
    fn names(&self, mint: &str) -> bool {
        self.symbols.contains_key(mint) || DEFAULT_SYMBOLS.iter().any(|(m, _)| *m == mint)
    }

    /// A pool as `COIN/PC`, with USD from a stable PC leg or the SOL reference
    /// price, identified by the coin's mint, and the PC's too unless config
    /// or the defaults name it (an unnamed PC mint may be a copycat quote).
    pub(super) fn describe(&self, account: &AmmAccount) -> PoolInfo {
        let (coin, pc) = (self.symbol(&account.coin_mint), self.symbol(&account.pc_mint));
        let pc_is_usd = USD_QUOTES.contains(&pc.to_ascii_uppercase().as_str());
        let pc_ref =
            (account.pc_mint == SOL_MINT && !pc_is_usd).then(|| Sym::new(&self.sol_reference));
        let pc_mint = (!self.names(&account.pc_mint)).then_some(account.pc_mint.as_str());
        let (symbol, listing) = Listing::new(&format!("{coin}/{pc}"), &account.coin_mint, pc_mint);
        PoolInfo {
            symbol,
            listing: Some(listing),
            coin_decimals: account.coin_decimals,
            pc_decimals: account.pc_decimals,
            pc_is_usd,
            pc_ref,
        }
    }

    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = self.connection.validate(path);
        if !(self.ws_url.starts_with("ws://") || self.ws_url.starts_with("wss://")) {
            issues.push(ConfigIssue::new(
                format!("{path}.ws_url"),
                format!("`{}` is not a ws:// or wss:// URL", self.ws_url),
            ));
        }
        if let Some(url) = &self.http_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            issues.push(ConfigIssue::new(
                format!("{path}.http_url"),
                format!("`{url}` is not an http:// or https:// URL"),
            ));
        }
        if self.pools.is_empty() {
            issues.push(ConfigIssue::new(format!("{path}.pools"), "must list at least one pool"));
        }
        for (i, pool) in self.pools.iter().enumerate() {
            if !is_pubkey(pool) {
                issues.push(ConfigIssue::new(
                    format!("{path}.pools.{i}"),
                    format!("`{pool}` is not a base58 public key"),
                ));
            }
        }
        if !is_pubkey(&self.program) {
            issues.push(ConfigIssue::new(
                format!("{path}.program"),
                format!("`{}` is not a base58 public key", self.program),
            ));
        }
        for (mint, symbol) in &self.symbols {
            if !is_pubkey(mint) {
                issues.push(ConfigIssue::new(
                    format!("{path}.symbols.{mint}"),
                    "key is not a base58 mint address",
                ));
            } else if symbol.trim().is_empty() || symbol.contains(['/', '@']) {
                issues.push(ConfigIssue::new(
                    format!("{path}.symbols.{mint}"),
                    "must be a non-empty symbol without `/` or `@`",
                ));
            }
        }
        if self.sol_reference.trim().is_empty() {
            issues.push(ConfigIssue::new(format!("{path}.sol_reference"), "must not be empty"));
        }
        issues
    }
}

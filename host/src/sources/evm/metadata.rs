//! Pool and token metadata read from the chain with `eth_call` over HTTP:
//! `token0()`, `token1()` per pool, `decimals()` and `symbol()` per token.
//!
//! Each pool and each token is read once and kept for the life of the
//! source (a reconnect does not forget it): decimals and token addresses of a
//! deployed pool never change. The maps grow with the pools actually seen,
//! which the address filter (or the watched tokens) bounds.
//!
//! A pool whose calls revert or return garbage is [`PoolMeta::Unreadable`]
//! for good (logged once, counted in `klaxon_source_metadata_failures_total`);
//! a transport failure (node down, throttled) is not remembered: the source
//! reconnects and its backfill brings the waiting swap back.

use std::collections::{HashMap, HashSet};

use alloy_primitives::{Address, Bytes};
use alloy_sol_types::SolCall;
use serde_json::{Value, json};

use super::parse::PoolInfo;
use crate::event::{Listing, Sym};
use crate::sources::live::{Rest, RestError};
use crate::telemetry::metrics;

#[allow(clippy::too_many_arguments)]
mod abi {
    alloy_sol_types::sol! {
        interface IPool {
            function token0() external view returns (address);
            function token1() external view returns (address);
        }
        interface IERC20 {
            function decimals() external view returns (uint8);
            function symbol() external view returns (string);
        }
    }
}

pub use abi::{IERC20, IPool};

/// What the source knows about one pool address.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PoolMeta {
    /// Priced with this.
    Known(PoolInfo),
    /// Neither token is watched (token mode): its swaps are ignored.
    NotWatched,
    /// Its metadata could not be read; its swaps are skipped.
    Unreadable,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub symbol: String,
    pub decimals: u8,
}

/// How pools are judged and named; fixed for the source's life.
pub(crate) struct Rules {
    /// Explicitly configured pools (always watched).
    pub pools: HashSet<Address>,
    /// Watched tokens; empty = only `pools`.
    pub tokens: HashSet<Address>,
    pub stables: HashSet<Address>,
    pub wrapped_native: Option<Address>,
    pub native_reference: Option<Sym>,
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MetaError {
    /// The node answered, but not with what a pool/token answers: permanent.
    #[error("`{call}` on {address:#x}: {reason}")]
    Contract { address: Address, call: &'static str, reason: String },
    /// The node could not be asked: try again on the next swap.
    #[error(transparent)]
    Transport(RestError),
}

/// The caches and the client that fills them.
pub(crate) struct Metadata {
    source: String,
    rest: Rest,
    url: String,
    rules: Rules,
    pools: HashMap<Address, PoolMeta>,
    tokens: HashMap<Address, Token>,
}

impl Metadata {
    pub fn new(
        source: &str,
        rest: Rest,
        url: String,
        rules: Rules,
        manual: impl IntoIterator<Item = (Address, PoolInfo)>,
    ) -> Metadata {
        let pools = manual.into_iter().map(|(a, info)| (a, PoolMeta::Known(info))).collect();
        Metadata { source: source.to_owned(), rest, url, rules, pools, tokens: HashMap::new() }
    }

    /// What is known about `pool`, reading it from the chain the first time.
    /// A transport failure is returned and nothing is remembered: the caller
    /// reconnects, and the backfill brings the swap back for another try.
    pub async fn pool(&mut self, pool: Address) -> Result<&PoolMeta, RestError> {
        if !self.pools.contains_key(&pool) {
            let meta = match self.read_pool(pool).await {
                Ok(meta) => meta,
                Err(MetaError::Transport(error)) => return Err(error),
                Err(error @ MetaError::Contract { .. }) => {
                    metrics()
                        .source_metadata_failures
                        .with_label_values(&[self.source.as_str()])
                        .inc();
                    tracing::warn!(source = %self.source, pool = %format!("{pool:#x}"), %error, "Pool metadata unreadable; skipping this pool's swaps.");
                    PoolMeta::Unreadable
                }
            };
            self.pools.insert(pool, meta);
        }
        Ok(&self.pools[&pool])
    }

    /// Whether `pool` is (or may turn out to be) watched, without I/O.
    pub fn may_watch(&self, pool: &Address) -> bool {
        match self.pools.get(pool) {
            Some(PoolMeta::Known(_)) => true,
            Some(_) => false,
            None => self.rules.pools.contains(pool) || !self.rules.tokens.is_empty(),
        }
    }

    async fn read_pool(&mut self, pool: Address) -> Result<PoolMeta, MetaError> {
        let token0 = self.call::<IPool::token0Call>(pool, IPool::token0Call {}).await?;
        let token1 = self.call::<IPool::token1Call>(pool, IPool::token1Call {}).await?;
        let watched = self.rules.pools.contains(&pool)
            || self.rules.tokens.contains(&token0)
            || self.rules.tokens.contains(&token1);
        if !watched {
            return Ok(PoolMeta::NotWatched);
        }
        let t0 = self.token(token0).await?;
        let t1 = self.token(token1).await?;
        Ok(PoolMeta::Known(self.describe((token0, &t0), (token1, &t1))))
    }

    /// Base and quote: a stable leg is the quote (its amount is USD), else the
    /// wrapped native coin (USD from the reference price downstream), else token1.
    /// Identified by the base token's address, and the quote's too when it is
    /// neither a stable nor the wrapped coin (a copycat quote prices in other units).
    pub(super) fn describe(
        &self,
        (a0, t0): (Address, &Token),
        (a1, t1): (Address, &Token),
    ) -> PoolInfo {
        let rules = &self.rules;
        let (stable, wrapped) = (
            |a: &Address| rules.stables.contains(a),
            |a: &Address| rules.wrapped_native.as_ref() == Some(a),
        );
        let token0_quotes = !stable(&a1) && (stable(&a0) || (wrapped(&a0) && !wrapped(&a1)));
        let base_is_token0 = !token0_quotes;
        let ((base, base_addr), (quote, quote_addr)) =
            if base_is_token0 { ((t0, a0), (t1, a1)) } else { ((t1, a1), (t0, a0)) };
        let quote_is_usd = rules.stables.contains(&quote_addr);
        let quote_ref = (!quote_is_usd && rules.wrapped_native == Some(quote_addr))
            .then_some(rules.native_reference)
            .flatten();
        let vouched = stable(&quote_addr) || wrapped(&quote_addr);
        let (symbol, listing) = Listing::new(
            &format!("{}/{}", base.symbol, quote.symbol),
            &format!("{base_addr:#x}"),
            (!vouched).then(|| format!("{quote_addr:#x}")).as_deref(),
        );
        PoolInfo {
            symbol,
            listing: Some(listing),
            decimals0: t0.decimals,
            decimals1: t1.decimals,
            base_is_token0,
            quote_is_usd,
            quote_ref,
        }
    }

    async fn token(&mut self, address: Address) -> Result<Token, MetaError> {
        if let Some(t) = self.tokens.get(&address) {
            return Ok(t.clone());
        }
        let decimals = self.call::<IERC20::decimalsCall>(address, IERC20::decimalsCall {}).await?;
        if decimals > 77 {
            return Err(MetaError::Contract {
                address,
                call: "decimals()",
                reason: format!("{decimals} decimals do not fit 256 bits"),
            });
        }
        let symbol = match self.raw_call(address, IERC20::symbolCall {}.abi_encode()).await? {
            Some(bytes) => symbol_from_abi(&bytes).unwrap_or_else(|| short(address)),
            None => short(address),
        };
        let token = Token { symbol, decimals };
        self.tokens.insert(address, token.clone());
        Ok(token)
    }

    async fn call<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return, MetaError> {
        let name = C::SIGNATURE;
        let bytes = self.raw_call(to, call.abi_encode()).await?.ok_or_else(|| {
            MetaError::Contract { address: to, call: name, reason: "reverted or empty".into() }
        })?;
        C::abi_decode_returns(&bytes).map_err(|e| MetaError::Contract {
            address: to,
            call: name,
            reason: e.to_string(),
        })
    }

    /// `eth_call` at `latest`; `Ok(None)` when it reverted or returned nothing.
    async fn raw_call(&self, to: Address, data: Vec<u8>) -> Result<Option<Vec<u8>>, MetaError> {
        let params =
            json!([{ "to": format!("{to:#x}"), "data": Bytes::from(data).to_string() }, "latest"]);
        match self.rest.rpc(&self.url, "eth_call", params).await {
            Ok(Value::String(hex)) => {
                let bytes =
                    alloy_primitives::hex::decode(&hex).map_err(|e| MetaError::Contract {
                        address: to,
                        call: "eth_call",
                        reason: format!("result is not hex: {e}"),
                    })?;
                Ok((!bytes.is_empty()).then_some(bytes))
            }
            Ok(other) => Err(MetaError::Contract {
                address: to,
                call: "eth_call",
                reason: format!("result is not a hex string: {other}"),
            }),
            // A revert is a JSON-RPC error: permanent for this contract.
            Err(RestError::Rpc { .. }) => Ok(None),
            Err(e) => Err(MetaError::Transport(e)),
        }
    }
}

/// `symbol()` as an ABI string, or the old bytes32 form (MKR, SAI), cleaned
/// of control characters and capped, since it becomes part of a symbol; `/`
/// and `@` go too, so no ticker can pose as another's `BASE/QUOTE@address`.
pub(crate) fn symbol_from_abi(bytes: &[u8]) -> Option<String> {
    let text = IERC20::symbolCall::abi_decode_returns(bytes).ok().or_else(|| {
        let word = bytes.get(..32)?;
        let end = word.iter().position(|b| *b == 0).unwrap_or(32);
        std::str::from_utf8(&word[..end]).ok().map(str::to_owned)
    })?;
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace() && !matches!(c, '/' | '@'))
        .take(24)
        .collect();
    (!clean.is_empty()).then_some(clean)
}

/// `0xabcd…1234` for a token without a readable symbol.
fn short(address: Address) -> String {
    let hex = format!("{address:#x}");
    format!("{}…{}", &hex[..6], &hex[hex.len() - 4..])
}

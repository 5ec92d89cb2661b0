//! EVM chains (Ethereum, BSC, any JSON-RPC node): DEX swap logs.
//!
//! * [`parse`]: pure log parser (Uniswap V2, V3, PancakeSwap V3 swaps), also
//!   used by replay;
//! * [`config`]: `type = "evm"` and the known chains' defaults;
//! * `metadata`: token0/token1/decimals/symbol read once per pool over HTTP;
//! * `source`: the live `eth_subscribe` session, reorg retractions, backfill.
//!
//! This file only runs sessions under `live::run_sessions`: every network failure
//! is a reconnect, only cancellation or a closed output ends the source.

pub mod config;
mod metadata;
mod notice;
mod parse;
mod pools;
mod source;

#[cfg(test)]
mod tests;

pub use config::{EvmConfig, PoolEntry};
pub use parse::*;

use super::live::run_sessions;
use super::{Emitter, SourceError, SourceSummary};

pub(crate) async fn run(
    config: EvmConfig,
    mut emitter: Emitter,
) -> Result<SourceSummary, SourceError> {
    let name = emitter.name().to_owned();
    let Some(mut source) = source::EvmSource::new(config, &name) else {
        // Validation rejects such configs before a source is built.
        tracing::error!(source = %name, "EVM source has no usable URL or pool list; not starting.");
        return Ok(SourceSummary::default());
    };
    run_sessions(&mut source, &mut emitter).await?;
    Ok(SourceSummary { cancelled: true, ..source.summary })
}

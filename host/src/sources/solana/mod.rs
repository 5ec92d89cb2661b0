//! Solana: Raydium AMM v4 swaps from `logsSubscribe`.
//!
//! * [`parse`]: pure parsing (`logsNotification`, `ray_log`, `AmmInfo`);
//! * [`config`]: `type = "solana"`;
//! * `source`: the live session (one subscription per pool).
//!
//! This file only runs sessions under `live::run_sessions`: every network failure
//! is a reconnect, only cancellation or a closed output ends the source.

pub mod config;
pub mod parse;
pub mod rpc;
mod source;

#[cfg(test)]
mod tests;

pub use config::SolanaConfig;

use super::live::run_sessions;
use super::{Emitter, SourceError, SourceSummary};

pub(crate) async fn run(
    config: SolanaConfig,
    mut emitter: Emitter,
) -> Result<SourceSummary, SourceError> {
    let name = emitter.name().to_owned();
    let Some(mut source) = source::SolanaSource::new(config, &name) else {
        // Validation rejects such configs before a source is built.
        tracing::error!(source = %name, "Solana source has no usable HTTP URL; not starting.");
        return Ok(SourceSummary::default());
    };
    run_sessions(&mut source, &mut emitter).await?;
    Ok(SourceSummary { cancelled: true, ..source.summary })
}

//! EVM chains (Ethereum, BSC, any JSON-RPC node): DEX swap logs.
//!
//! * [`parse`]: pure log parser (Uniswap V2, V3, PancakeSwap V3 swaps).

mod parse;

pub use parse::*;

// SKELETON (replaced by the venue's live source): config and run entry point.
use serde::{Deserialize, Serialize};

use super::live::ConnectionConfig;
use super::{Emitter, SourceError, SourceSummary};
use crate::issue::ConfigIssue;

/// `type = "evm"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvmConfig {
    #[serde(default)]
    pub connection: ConnectionConfig,
}

impl EvmConfig {
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        self.connection.validate(path)
    }
}

pub(crate) async fn run(_config: EvmConfig, emitter: Emitter) -> Result<SourceSummary, SourceError> {
    emitter.cancel().cancelled().await;
    Ok(SourceSummary { cancelled: true, ..Default::default() })
}

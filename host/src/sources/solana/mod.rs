//! Solana: Raydium AMM v4 swaps from `logsSubscribe`.

// SKELETON (replaced by the venue's live source): config and run entry point.
use serde::{Deserialize, Serialize};

use super::live::ConnectionConfig;
use super::{Emitter, SourceError, SourceSummary};
use crate::issue::ConfigIssue;

/// `type = "solana"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolanaConfig {
    #[serde(default)]
    pub connection: ConnectionConfig,
}

impl SolanaConfig {
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        self.connection.validate(path)
    }
}

pub(crate) async fn run(_config: SolanaConfig, emitter: Emitter) -> Result<SourceSummary, SourceError> {
    emitter.cancel().cancelled().await;
    Ok(SourceSummary { cancelled: true, ..Default::default() })
}

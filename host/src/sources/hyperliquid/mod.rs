//! Hyperliquid.
//!
//! * [`parse`]: pure frame parser (trades, bbo, userFills, user events).

mod parse;

pub use parse::*;

// SKELETON (replaced by the venue's live source): config and run entry point.
use serde::{Deserialize, Serialize};

use super::live::ConnectionConfig;
use super::{Emitter, SourceError, SourceSummary};
use crate::issue::ConfigIssue;

/// `type = "hyperliquid"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HyperliquidConfig {
    #[serde(default)]
    pub connection: ConnectionConfig,
}

impl HyperliquidConfig {
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        self.connection.validate(path)
    }
}

pub(crate) async fn run(_config: HyperliquidConfig, emitter: Emitter) -> Result<SourceSummary, SourceError> {
    emitter.cancel().cancelled().await;
    Ok(SourceSummary { cancelled: true, ..Default::default() })
}

//! Binance spot and USD-M futures.
//!
//! * [`parse`]: pure frame parser (trades, aggTrades, bookTicker, forceOrder).

mod parse;

pub use parse::*;

// SKELETON (replaced by the venue's live source): config and run entry point.
use serde::{Deserialize, Serialize};

use super::live::ConnectionConfig;
use super::{Emitter, SourceError, SourceSummary};
use crate::issue::ConfigIssue;

/// `type = "binance"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinanceConfig {
    #[serde(default)]
    pub connection: ConnectionConfig,
}

impl BinanceConfig {
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        self.connection.validate(path)
    }
}

pub(crate) async fn run(_config: BinanceConfig, emitter: Emitter) -> Result<SourceSummary, SourceError> {
    emitter.cancel().cancelled().await;
    Ok(SourceSummary { cancelled: true, ..Default::default() })
}

//! What every live (socket) source shares: connection settings, the
//! reconnect loop's pacing, the WebSocket wrapper, the REST client and the
//! per-source connection state that readiness reads.
//!
//! A venue module (`binance/`, `hyperliquid/`, `evm/`, `solana/`) owns its
//! protocol: what to subscribe, how to resync, what to dedup. It runs one
//! *session* per connection attempt and hands the outcome to [`Reconnect`],
//! which logs it, counts it and sleeps an exponential, jittered backoff
//! (backon) before the next attempt. A session that stayed up longer than
//! `backoff_max` resets the backoff, so a flaky hour does not leave a healthy
//! venue waiting 30 s after its next planned disconnect.
//!
//! Invariants:
//! * only cancellation or a closed output channel ends a live source; every
//!   network failure is a reconnect;
//! * a connection with no data frame for `stall_after` is dropped
//!   ([`LinkError::Stalled`]), counted in `klaxon_source_stalls_total`,
//!   logged, and reconnected;
//! * `klaxon_source_connections{source}` and [`health`] always match the
//!   sockets actually open: both are held by a [`ConnectionGuard`].

pub mod health;
pub mod rest;
mod session;
pub mod socket;

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::issue::ConfigIssue;
use crate::telemetry::metrics;

pub use health::{ConnectionGuard, LinkHealth, health};
pub use rest::{Rest, RestError};
pub(crate) use session::{Session, run_sessions};
pub use socket::{Incoming, Socket};

/// `[sources.<name>.connection]`: how a live source connects and reconnects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionConfig {
    /// First reconnect delay; doubles per failed attempt, with jitter.
    #[serde(with = "humantime_serde")]
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// Reconnect when no data frame arrived for this long (pings do not count).
    #[serde(with = "humantime_serde")]
    pub stall_after: Duration,
    /// Give up on one connect (TCP + TLS + upgrade) or REST call after this long.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            stall_after: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl ConnectionConfig {
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let zero = |d: Duration| d.is_zero();
        for (field, value) in [
            ("backoff_min", self.backoff_min),
            ("stall_after", self.stall_after),
            ("connect_timeout", self.connect_timeout),
        ] {
            if zero(value) {
                issues.push(ConfigIssue::new(
                    format!("{path}.connection.{field}"),
                    "must be greater than 0",
                ));
            }
        }
        if self.backoff_max < self.backoff_min {
            issues.push(ConfigIssue::new(
                format!("{path}.connection.backoff_max"),
                "must be at least backoff_min",
            ));
        }
        issues
    }

    fn backoff(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        ExponentialBuilder::default()
            .with_min_delay(self.backoff_min)
            .with_max_delay(self.backoff_max)
            .with_jitter()
            .without_max_times()
            .build()
    }
}

/// Why a connection ended or could not be made. Every variant is a
/// reconnect; none ends the source.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("no data for {0:?}")]
    Stalled(Duration),
    #[error("connection lost: {0}")]
    Lost(String),
    #[error("venue refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Rest(#[from] RestError),
}

impl LinkError {
    /// Bounded label for `klaxon_source_reconnects_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            LinkError::Connect { .. } => "connect_failed",
            LinkError::Stalled(_) => "stalled",
            LinkError::Lost(_) => "lost",
            LinkError::Refused(_) => "refused",
            LinkError::Rest(_) => "rest",
        }
    }
}

/// How a session ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The source was cancelled: stop, do not reconnect.
    Cancelled,
    /// The venue asked us to go (`serverShutdown`, the 24 h limit, a close
    /// frame) or the source wants a fresh connection; the label says which.
    Reconnect(&'static str),
}

/// Paces reconnects of one connection: logs and counts each outcome, then
/// sleeps the next backoff delay unless cancelled.
pub struct Reconnect {
    source: String,
    config: ConnectionConfig,
    delays: Box<dyn Iterator<Item = Duration> + Send>,
    started: Instant,
}

impl Reconnect {
    pub fn new(source: &str, config: &ConnectionConfig) -> Reconnect {
        Reconnect {
            source: source.to_owned(),
            config: config.clone(),
            delays: Box::new(config.backoff()),
            started: Instant::now(),
        }
    }

    /// Mark the start of a session (its length decides whether the backoff resets).
    pub fn session_started(&mut self) {
        self.started = Instant::now();
    }

    /// Handle a session's outcome. Returns `false` when the source must stop
    /// (cancelled), `true` once it is time to reconnect.
    pub async fn after(
        &mut self,
        outcome: Result<Ended, LinkError>,
        cancel: &CancellationToken,
    ) -> bool {
        if self.started.elapsed() > self.config.backoff_max {
            self.delays = Box::new(self.config.backoff());
        }
        let reason = match &outcome {
            Ok(Ended::Cancelled) => return false,
            Ok(Ended::Reconnect(reason)) => {
                tracing::info!(source = %self.source, reason, "Reconnecting.");
                reason
            }
            Err(error) => {
                if let LinkError::Stalled(after) = error {
                    metrics().source_stalls.with_label_values(&[self.source.as_str()]).inc();
                    tracing::warn!(source = %self.source, ?after, "Source stalled: no data; reconnecting.");
                } else {
                    tracing::warn!(source = %self.source, %error, "Connection failed; reconnecting.");
                }
                error.reason()
            }
        };
        metrics().source_reconnects.with_label_values(&[self.source.as_str(), reason]).inc();
        if cancel.is_cancelled() {
            return false;
        }
        let delay = self.delays.next().unwrap_or(self.config.backoff_max);
        cancel.run_until_cancelled(tokio::time::sleep(delay)).await.is_some()
    }
}

#[cfg(test)]
mod tests;

//! Sources: everything that produces [`Event`]s.
//!
//! One module per protocol. A source owns its input (files, generator, later
//! sockets) and emits normalized events into a bounded channel; when the
//! channel is full it waits (backpressure), it never drops. Malformed frames
//! are counted (`klaxon_source_frames_malformed_total`), logged with where they
//! came from, and skipped.
//!
//! * [`frame`]: protocol detection and the shared parse outcome/error types;
//! * [`binance`], [`hyperliquid`], [`evm`]: pure frame parsers (`&str` →
//!   events), reused by replay now and by the live sockets later;
//! * [`replay`]: recorded NDJSON frames through the same parsers;
//! * [`synthetic`]: a seeded random market for demos and benchmarks.
//!
//! This file owns the user-facing [`SourceConfig`] and how any source runs:
//! [`SourceConfig::run`] sets `klaxon_source_up` while running, counts every
//! emitted event in `klaxon_source_events_total{source,venue}`, and returns
//! promptly once its [`CancellationToken`] is cancelled (with the summary so
//! far, `cancelled: true`). Sources never reach into later stages.

pub mod binance;
pub mod evm;
pub mod frame;
pub mod hyperliquid;
pub mod replay;
pub mod synthetic;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use prometheus::IntCounter;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::event::{Event, Sym};
use crate::issue::ConfigIssue;
use crate::telemetry::metrics;

pub use frame::{Format, FrameParser, Ignored, ParseError, Parsed, Protocol};
pub use replay::{ReplayConfig, ReplayError};
pub use synthetic::{SyntheticConfig, SyntheticMarket};

/// A configured source, `[sources.<name>]` with `type = "replay"` or
/// `type = "synthetic"`. Live venue kinds join this enum in a later issue.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// Recorded frames from NDJSON files.
    Replay(ReplayConfig),
    /// A seeded random market.
    Synthetic(SyntheticConfig),
}

impl SourceConfig {
    /// Every local problem at once; `path` is the TOML path of this source,
    /// e.g. `sources.market`.
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        match self {
            SourceConfig::Replay(c) => c.validate(path),
            SourceConfig::Synthetic(c) => c.validate(path),
        }
    }

    /// `replay` or `synthetic`, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Replay(_) => "replay",
            SourceConfig::Synthetic(_) => "synthetic",
        }
    }

    /// Run the source until its input ends, `cancel` fires, or the output
    /// closes. `name` is the source's config key (the `source` metric label).
    pub async fn run(
        self,
        name: String,
        out: mpsc::Sender<Event>,
        cancel: CancellationToken,
    ) -> Result<SourceSummary, SourceError> {
        let _up = UpGuard::set(&name);
        let kind = self.kind();
        // Every log line of the run carries the source's name.
        let span = tracing::info_span!("source", source = %name, kind);
        let emitter = Emitter::new(name, out, cancel);
        async move {
            tracing::info!("Source started.");
            let result = match self {
                SourceConfig::Replay(c) => replay::run(c, emitter).await,
                SourceConfig::Synthetic(c) => synthetic::run(c, emitter).await,
            };
            match &result {
                Ok(s) => tracing::info!(events = s.events, malformed = s.malformed, cancelled = s.cancelled, "Source finished."),
                Err(error) => tracing::error!(error = %error, "Source failed."),
            }
            result
        }
        .instrument(span)
        .await
    }
}

/// What a source did. For the synthetic market `frames == events`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SourceSummary {
    /// Non-blank input frames read.
    pub frames: u64,
    /// Events emitted (sent downstream, or produced by the pure helpers).
    pub events: u64,
    /// Well-formed frames that carried no event (acks, depth, snapshots…).
    pub ignored: u64,
    /// Frames that could not be read; counted, logged and skipped.
    pub malformed: u64,
    /// EVM logs retracted by a reorg (`removed: true`); also in `ignored`.
    pub removed_logs: u64,
    /// The source stopped because it was cancelled, not because input ended.
    pub cancelled: bool,
}

/// Why a source stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source `{name}`: {error}")]
    Replay { name: String, error: ReplayError },
    /// The receiving stage went away while the source still had events; only
    /// cancellation should stop a source, so this means a later stage died.
    #[error("source `{name}`: output channel closed")]
    OutputClosed { name: String },
}

/// Sets `klaxon_source_up{source}` to 1 for its lifetime; resetting on drop
/// covers every exit, including the task being aborted.
struct UpGuard(prometheus::IntGauge);

impl UpGuard {
    fn set(name: &str) -> UpGuard {
        let gauge = metrics().source_up.with_label_values(&[name]);
        gauge.set(1);
        UpGuard(gauge)
    }
}

impl Drop for UpGuard {
    fn drop(&mut self) {
        self.0.set(0);
    }
}

/// The sending end every running source uses: backpressured sends that give
/// way to cancellation, and per-venue event counters looked up once per venue
/// rather than once per event.
pub(crate) struct Emitter {
    name: String,
    /// Closed by the receiver only when a later stage stops; see `OutputClosed`.
    out: mpsc::Sender<Event>,
    cancel: CancellationToken,
    counters: HashMap<Sym, IntCounter>,
}

/// Outcome of one send.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    Delivered,
    Cancelled,
}

impl Emitter {
    pub(crate) fn new(name: String, out: mpsc::Sender<Event>, cancel: CancellationToken) -> Emitter {
        Emitter { name, out, cancel, counters: HashMap::new() }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn cancel(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Wait for room downstream (never drop), unless cancelled first.
    pub(crate) async fn send(&mut self, event: Event) -> Result<Sent, SourceError> {
        let venue = event.venue;
        match self.cancel.run_until_cancelled(self.out.send(event)).await {
            None => Ok(Sent::Cancelled),
            Some(Err(_)) => Err(SourceError::OutputClosed { name: self.name.clone() }),
            Some(Ok(())) => {
                let name = &self.name;
                self.counters
                    .entry(venue)
                    .or_insert_with(|| metrics().source_events.with_label_values(&[name.as_str(), &venue.name()]))
                    .inc();
                Ok(Sent::Delivered)
            }
        }
    }

    /// Count a malformed frame; `venue` is a protocol label or `unknown`.
    pub(crate) fn malformed(&self, venue: &str) {
        metrics().source_frames_malformed.with_label_values(&[self.name.as_str(), venue]).inc();
    }
}

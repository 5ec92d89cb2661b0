//! Sources: everything that produces [`Event`]s.
//!
//! One module per protocol. A source owns its input (files, generator, later
//! sockets) and emits normalized events into a bounded channel; when the
//! channel is full it waits (backpressure), it never drops. Malformed frames
//! are counted (`klaxon_source_frames_malformed_total`), logged with where they
//! came from, and skipped.
//!
//! * [`frame`]: the shared parse outcome/error types and parser entry points;
//! * `shape`: a frame's top-level keys read in one pass, without a JSON tree;
//! * [`binance`], [`hyperliquid`], [`evm`], [`solana`]: pure frame parsers
//!   (`&str` → typed structs borrowing the text → events), shared by the live
//!   sockets and replay;
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
pub mod interest;
pub mod live;
pub mod replay;
pub(crate) mod shape;
pub mod solana;
pub mod synthetic;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use prometheus::IntCounter;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::event::{Event, Retraction, Sym};
use crate::issue::ConfigIssue;
use crate::telemetry::metrics;

pub use frame::{Ignored, ParseError, Parsed, VenueParser};
pub use interest::{Interest, VenueInterest};
pub use replay::{Format, FrameParser, Protocol};
pub use replay::{ReplayConfig, ReplayError};
pub use synthetic::{SyntheticConfig, SyntheticMarket};

/// A configured source, `[sources.<name>]`, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// Binance spot or USD-M futures market streams.
    Binance(binance::BinanceConfig),
    /// Hyperliquid trades, books and account fills.
    Hyperliquid(hyperliquid::HyperliquidConfig),
    /// DEX swap logs from an EVM node (`eth_subscribe`).
    Evm(evm::EvmConfig),
    /// Raydium AMM v4 swaps from a Solana node (`logsSubscribe`).
    Solana(solana::SolanaConfig),
    /// Recorded frames from NDJSON files.
    Replay(ReplayConfig),
    /// A seeded random market.
    Synthetic(SyntheticConfig),
}

impl SourceConfig {
    /// Its `type` in the config.
    pub fn type_name(&self) -> &'static str {
        match self {
            SourceConfig::Binance(_) => "binance",
            SourceConfig::Hyperliquid(_) => "hyperliquid",
            SourceConfig::Evm(_) => "evm",
            SourceConfig::Solana(_) => "solana",
            SourceConfig::Replay(_) => "replay",
            SourceConfig::Synthetic(_) => "synthetic",
        }
    }

    /// Every local problem at once; `path` is the TOML path of this source,
    /// e.g. `sources.market`.
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        match self {
            SourceConfig::Binance(c) => c.validate(path),
            SourceConfig::Hyperliquid(c) => c.validate(path),
            SourceConfig::Evm(c) => c.validate(path),
            SourceConfig::Solana(c) => c.validate(path),
            SourceConfig::Replay(c) => c.validate(path),
            SourceConfig::Synthetic(c) => c.validate(path),
        }
    }

    /// The `type`, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Binance(_) => "binance",
            SourceConfig::Hyperliquid(_) => "hyperliquid",
            SourceConfig::Evm(_) => "evm",
            SourceConfig::Solana(_) => "solana",
            SourceConfig::Replay(_) => "replay",
            SourceConfig::Synthetic(_) => "synthetic",
        }
    }

    /// Run the source until its input ends, `cancel` fires, or the output
    /// closes. `name` is the source's config key (the `source` metric label).
    pub async fn run(self, name: String, ctx: SourceContext) -> Result<SourceSummary, SourceError> {
        let _up = UpGuard::set(&name);
        let kind = self.kind();
        // Every log line of the run carries the source's name.
        let span = tracing::info_span!("source", source = %name, kind);
        let emitter = Emitter::from_context(name.clone(), ctx);
        async move {
            tracing::info!("Source started.");
            let result = match self {
                SourceConfig::Binance(c) => binance::run(c, emitter).await,
                SourceConfig::Hyperliquid(c) => hyperliquid::run(c, emitter).await,
                SourceConfig::Evm(c) => evm::run(c, emitter).await,
                SourceConfig::Solana(c) => solana::run(c, emitter).await,
                SourceConfig::Replay(c) => replay::run(c, emitter).await,
                SourceConfig::Synthetic(c) => synthetic::run(c, emitter).await,
            };
            // A stopped source no longer holds readiness back or holds
            // subscriptions, however its venue module ended.
            live::health().forget(&name);
            metrics().source_subscriptions.with_label_values(&[name.as_str()]).set(0);
            match &result {
                Ok(s) => tracing::info!(
                    events = s.events,
                    malformed = s.malformed,
                    cancelled = s.cancelled,
                    "Source finished."
                ),
                Err(error) => tracing::error!(error = %error, "Source failed."),
            }
            result
        }
        .instrument(span)
        .await
    }
}

/// Everything a running source is handed: where events go, where reorg
/// retractions go, what the templates want, and when to stop.
pub struct SourceContext {
    /// Into the pipeline's router, in batches; closed only when a later
    /// stage stops.
    pub out: mpsc::Sender<Vec<Event>>,
    /// Into the alert log; `None` where nothing can be retracted (tests, replay).
    pub retractions: Option<mpsc::Sender<Retraction>>,
    /// Updated by the app after every applied reload.
    pub interest: tokio::sync::watch::Receiver<Interest>,
    pub cancel: CancellationToken,
}

impl SourceContext {
    /// A context with no retraction sink and a fixed interest.
    pub fn new(out: mpsc::Sender<Vec<Event>>, cancel: CancellationToken) -> SourceContext {
        let (_, interest) = tokio::sync::watch::channel(Interest::default());
        SourceContext { out, retractions: None, interest, cancel }
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
/// rather than once per event. Events travel in batches: a source that has
/// several at hand (a replay, a frame of many trades, a busy connection)
/// sends them in one channel operation with [`Emitter::send_batch`].
pub(crate) struct Emitter {
    name: String,
    /// Closed by the receiver only when a later stage stops; see `OutputClosed`.
    out: mpsc::Sender<Vec<Event>>,
    cancel: CancellationToken,
    counters: HashMap<Sym, IntCounter>,
    retractions: Option<mpsc::Sender<Retraction>>,
    interest: tokio::sync::watch::Receiver<Interest>,
    /// `klaxon_source_lag_seconds{source}`; set by live sources only, since a
    /// replay's exchange times are in the past by design.
    lag: Option<prometheus::Histogram>,
    malformed_logged: u64,
}

/// Outcome of one send.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    Delivered,
    Cancelled,
}

impl Emitter {
    #[cfg(test)]
    pub(crate) fn new(
        name: String,
        out: mpsc::Sender<Vec<Event>>,
        cancel: CancellationToken,
    ) -> Emitter {
        Emitter::from_context(name, SourceContext::new(out, cancel))
    }

    pub(crate) fn from_context(name: String, ctx: SourceContext) -> Emitter {
        let SourceContext { out, retractions, interest, cancel } = ctx;
        Emitter {
            name,
            out,
            cancel,
            counters: HashMap::new(),
            retractions,
            interest,
            lag: None,
            malformed_logged: 0,
        }
    }

    /// Record stream lag (receive time − exchange time) for every event sent.
    pub(crate) fn record_lag(&mut self) {
        self.lag = Some(metrics().source_lag.with_label_values(&[self.name.as_str()]));
    }

    /// What the templates currently want; `changed()` on it wakes on reloads.
    pub(crate) fn interest(&self) -> tokio::sync::watch::Receiver<Interest> {
        self.interest.clone()
    }

    /// Tell the alert log that `event_id` was reorged away. Waits for room
    /// like `send`; without a retraction sink only the metric moves.
    pub(crate) async fn retract(&mut self, retraction: Retraction) -> Result<Sent, SourceError> {
        metrics().source_retractions.with_label_values(&[self.name.as_str()]).inc();
        let Some(tx) = &self.retractions else { return Ok(Sent::Delivered) };
        match self.cancel.run_until_cancelled(tx.send(retraction)).await {
            None => Ok(Sent::Cancelled),
            Some(Err(_)) => Err(SourceError::OutputClosed { name: self.name.clone() }),
            Some(Ok(())) => Ok(Sent::Delivered),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn cancel(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Wait for room downstream (never drop), unless cancelled first.
    pub(crate) async fn send(&mut self, event: Event) -> Result<Sent, SourceError> {
        self.send_batch(vec![event]).await
    }

    /// [`Emitter::send`] for many events, in order, in one hand-off.
    pub(crate) async fn send_batch(&mut self, mut events: Vec<Event>) -> Result<Sent, SourceError> {
        if events.is_empty() {
            return Ok(Sent::Delivered);
        }
        let received = crate::event::ReceivedAt::now();
        let mut venues: Vec<(Sym, u64)> = Vec::new();
        for event in &mut events {
            event.received = received;
            self.observe_lag(event.exchange_time_ms);
            match venues.iter_mut().find(|(v, _)| *v == event.venue) {
                Some((_, n)) => *n += 1,
                None => venues.push((event.venue, 1)),
            }
        }
        match self.cancel.run_until_cancelled(self.out.send(events)).await {
            None => Ok(Sent::Cancelled),
            Some(Err(_)) => Err(SourceError::OutputClosed { name: self.name.clone() }),
            Some(Ok(())) => {
                for (venue, n) in venues {
                    self.count(venue, n);
                }
                Ok(Sent::Delivered)
            }
        }
    }

    fn observe_lag(&self, exchange_ms: u64) {
        if let (Some(lag), true) = (&self.lag, exchange_ms > 0) {
            lag.observe(crate::clock::wall_ms().saturating_sub(exchange_ms) as f64 / 1000.0);
        }
    }

    fn count(&mut self, venue: Sym, n: u64) {
        let name = &self.name;
        self.counters
            .entry(venue)
            .or_insert_with(|| {
                metrics().source_events.with_label_values(&[name.as_str(), &venue.name()])
            })
            .inc_by(n);
    }

    /// Count a malformed frame; `venue` is a protocol label or `unknown`.
    pub(crate) fn malformed(&self, venue: &str) {
        metrics().source_frames_malformed.with_label_values(&[self.name.as_str(), venue]).inc();
    }

    /// Count, log and skip a malformed live frame. The first
    /// [`replay::MAX_LOGGED_PER_FILE`] are logged one by one, then every
    /// 1000th, so a venue sending garbage cannot flood the log.
    pub(crate) fn malformed_frame(
        &mut self,
        venue: &str,
        error: &dyn std::fmt::Display,
        frame: &str,
    ) {
        self.malformed(venue);
        self.malformed_logged += 1;
        let n = self.malformed_logged;
        if n <= replay::MAX_LOGGED_PER_FILE || n.is_multiple_of(1000) {
            tracing::warn!(venue, %error, frame = frame::truncate(frame), count = n, "Malformed frame skipped.");
        }
    }
}

//! One combined-stream connection of the live source, reconnected forever:
//! frames in, events out (into the source's internal channel).
//!
//! Owns, across reconnects, this connection's order books and trade dedup
//! state. Per session: connect, hold a [`ConnectionGuard`], read frames,
//! fetch depth snapshots concurrently (the diffs are buffered meanwhile),
//! and end on cancel, `max_lifetime` (planned), `serverShutdown`, a close,
//! a stall or an error. After every session the books are dropped and
//! counted as resyncs (`reason="reconnect"`); they resync from a new
//! snapshot, while trade dedup keeps the ids already emitted so replayed
//! frames after a reconnect alert nobody twice.
//!
//! Must not: block on anything but the socket, the snapshot tasks and
//! downstream backpressure; decide sequencing (that is `sync.rs`).

use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::books::{DepthBooks, Outcome};
use super::config::{BinanceConfig, Link};
use super::dedup::Dedup;
use super::depth::{self, DepthSnapshot};
use super::message::Message;
use super::parse::BinanceParser;
use crate::event::{Event, Sym};
use crate::sources::frame::{ParseError, Parsed};
use crate::sources::live::{
    ConnectionGuard, Ended, Incoming, LinkError, Reconnect, Rest, RestError, Socket,
};
use crate::telemetry::metrics;

/// Throttled (429/418) answers tolerated per snapshot before the session
/// gives up and reconnects; each one already waited its `Retry-After`.
const MAX_THROTTLED_RETRIES: u32 = 5;

/// Snapshot requests in flight per source. A (re)connect asks for one
/// snapshot per symbol at once; sending them all together would spend the
/// REST weight before the first `X-MBX-USED-WEIGHT-1M` could slow us down.
pub(super) const SNAPSHOTS_IN_FLIGHT: usize = 2;

/// What connections hand to the source's single emitter.
pub(super) enum Out {
    Event(Event),
    Malformed { error: String, frame: String },
}

/// Read-only for every connection of one source.
pub(super) struct Shared {
    pub source: String,
    pub config: BinanceConfig,
    pub parser: BinanceParser,
    pub venue: Sym,
    pub rest: Rest,
    /// [`SNAPSHOTS_IN_FLIGHT`] permits, shared by every connection.
    pub snapshot_permits: Arc<Semaphore>,
}

/// Survives reconnects.
struct LinkState {
    books: DepthBooks,
    dedup: Dedup,
}

type SnapshotResult = (String, Result<DepthSnapshot, LinkError>);

/// Run one connection until cancelled or the output closes.
pub(super) async fn run_link(
    link: Link,
    shared: Arc<Shared>,
    out: mpsc::Sender<Out>,
    cancel: CancellationToken,
) {
    let mut state = LinkState {
        books: DepthBooks::new(shared.config.market.rules(), shared.venue),
        dedup: Dedup::default(),
    };
    let mut reconnect = Reconnect::new(&shared.source, &shared.config.connection);
    loop {
        reconnect.session_started();
        let mut session = Session {
            link: &link,
            shared: &shared,
            state: &mut state,
            out: &out,
            cancel: &cancel,
            fetches: JoinSet::new(),
        };
        let outcome = session.run().await;
        if !matches!(outcome, Ok(Ended::Cancelled)) {
            let lost = state.books.reset_all();
            if lost > 0 {
                metrics()
                    .source_book_resyncs
                    .with_label_values(&[shared.source.as_str(), "reconnect"])
                    .inc_by(lost as u64);
            }
        }
        if !reconnect.after(outcome, &cancel).await {
            return;
        }
    }
}

/// What woke the session up.
enum Wake {
    Cancelled,
    Lifetime,
    Snapshot(Result<SnapshotResult, JoinError>),
    Frame(Result<Incoming, LinkError>),
}

struct Session<'a> {
    link: &'a Link,
    shared: &'a Shared,
    state: &'a mut LinkState,
    out: &'a mpsc::Sender<Out>,
    cancel: &'a CancellationToken,
    /// Snapshot requests in flight; aborted when the session ends.
    fetches: JoinSet<SnapshotResult>,
}

impl Session<'_> {
    async fn run(&mut self) -> Result<Ended, LinkError> {
        let config = &self.shared.config;
        let mut socket = tokio::select! {
            biased;
            _ = self.cancel.cancelled() => return Ok(Ended::Cancelled),
            socket = Socket::connect(&self.link.url, &config.connection) => socket?,
        };
        let _guard = ConnectionGuard::open(&self.shared.source);
        tracing::info!(
            link = self.link.index,
            streams = self.link.streams.len(),
            "Connected to Binance."
        );
        let retire_at = Instant::now() + config.max_lifetime;
        let ended = loop {
            let wake = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => Wake::Cancelled,
                _ = tokio::time::sleep_until(retire_at) => Wake::Lifetime,
                Some(joined) = self.fetches.join_next() => Wake::Snapshot(joined),
                incoming = socket.recv() => Wake::Frame(incoming),
            };
            let step = match wake {
                Wake::Cancelled => Some(Ok(Ended::Cancelled)),
                Wake::Lifetime => Some(Ok(Ended::Reconnect("max_lifetime"))),
                Wake::Snapshot(joined) => self.on_snapshot(joined).await,
                Wake::Frame(Err(error)) => Some(Err(error)),
                Wake::Frame(Ok(Incoming::Closed(reason))) => {
                    tracing::info!(
                        link = self.link.index,
                        reason = reason.as_deref().unwrap_or(""),
                        "Binance closed the connection."
                    );
                    Some(Ok(Ended::Reconnect("closed")))
                }
                Wake::Frame(Ok(Incoming::Text(text))) => self.on_text(text).await,
            };
            if let Some(ended) = step {
                break ended;
            }
        };
        self.fetches.abort_all();
        if !matches!(ended, Err(LinkError::Lost(_)) | Err(LinkError::Stalled(_))) {
            socket.close().await;
        }
        ended
    }

    /// Handle one frame; `Some` ends the session.
    async fn on_text(&mut self, text: String) -> Option<Result<Ended, LinkError>> {
        let message = match Message::read(&text) {
            Ok(message) => message,
            Err(error) => return self.malformed(&error, &text).await,
        };
        match message {
            Message::Shutdown => {
                tracing::info!(
                    link = self.link.index,
                    "Binance announced a server shutdown; reconnecting."
                );
                return Some(Ok(Ended::Reconnect("server_shutdown")));
            }
            Message::Depth(payload) => {
                return match depth::parse_diff(payload) {
                    Ok(diff) => {
                        let symbol = diff.symbol.clone();
                        let outcome = self.state.books.on_diff(diff);
                        self.after_book(&symbol, outcome).await
                    }
                    Err(error) => self.malformed(&error, &text).await,
                };
            }
            // With depth on, book tops come from the synced books only.
            Message::BookTicker(_) if self.shared.config.depth => return None,
            _ => {}
        }
        match self.shared.parser.events(&message) {
            Ok(Parsed::Events(events)) => {
                if !self.state.dedup.admit(message.sequence()) {
                    metrics()
                        .source_duplicates
                        .with_label_values(&[self.shared.source.as_str()])
                        .inc();
                    return None;
                }
                self.emit_all(events).await
            }
            Ok(Parsed::Ignored(_)) => None,
            Err(error) => self.malformed(&error, &text).await,
        }
    }

    async fn on_snapshot(
        &mut self,
        joined: Result<SnapshotResult, JoinError>,
    ) -> Option<Result<Ended, LinkError>> {
        let (symbol, result) = match joined {
            Ok(done) => done,
            // Aborted only when the session ends; a panic would be a bug.
            Err(error) => {
                return Some(Err(LinkError::Lost(format!("snapshot task failed: {error}"))));
            }
        };
        let snapshot = match result {
            Ok(snapshot) => snapshot,
            Err(error) => return Some(Err(error)),
        };
        tracing::debug!(
            symbol,
            last_update_id = snapshot.last_update_id,
            "Depth snapshot received."
        );
        let outcome = self.state.books.on_snapshot(&symbol, &snapshot);
        self.after_book(&symbol, outcome).await
    }

    /// Count a resync, request a snapshot, emit the tops.
    async fn after_book(
        &mut self,
        symbol: &str,
        outcome: Outcome,
    ) -> Option<Result<Ended, LinkError>> {
        if let Some(reason) = outcome.resync {
            metrics()
                .source_book_resyncs
                .with_label_values(&[self.shared.source.as_str(), reason.as_str()])
                .inc();
            tracing::warn!(
                symbol,
                reason = reason.as_str(),
                "Order book resync: fetching a new snapshot."
            );
        }
        if outcome.fetch {
            let url = self.shared.config.snapshot_url(symbol);
            let (rest, permits) = (self.shared.rest.clone(), self.shared.snapshot_permits.clone());
            let symbol = symbol.to_owned();
            self.fetches.spawn(async move {
                // Never closed, so acquiring only waits.
                let _permit = permits.acquire_owned().await;
                (symbol, fetch_snapshot(&rest, &url).await)
            });
        }
        self.emit_all(outcome.events).await
    }

    async fn emit_all(&mut self, events: Vec<Event>) -> Option<Result<Ended, LinkError>> {
        for event in events {
            if let Some(end) = self.send(Out::Event(event)).await {
                return Some(end);
            }
        }
        None
    }

    async fn malformed(
        &mut self,
        error: &ParseError,
        frame: &str,
    ) -> Option<Result<Ended, LinkError>> {
        self.send(Out::Malformed { error: error.to_string(), frame: frame.to_owned() }).await
    }

    /// `Some(Cancelled)` when the source stopped (cancelled or output gone).
    async fn send(&mut self, out: Out) -> Option<Result<Ended, LinkError>> {
        match self.cancel.run_until_cancelled(self.out.send(out)).await {
            Some(Ok(())) => None,
            None | Some(Err(_)) => Some(Ok(Ended::Cancelled)),
        }
    }
}

/// GET a snapshot; a 429/418 is waited out by [`Rest`] and retried.
async fn fetch_snapshot(rest: &Rest, url: &str) -> Result<DepthSnapshot, LinkError> {
    let mut throttled = 0;
    loop {
        match rest.get_json(url).await {
            Ok(body) => {
                return depth::parse_snapshot(&body)
                    .map_err(|e| LinkError::Refused(format!("{url}: {e}")));
            }
            Err(RestError::Throttled { status, retry_after, .. })
                if throttled < MAX_THROTTLED_RETRIES =>
            {
                throttled += 1;
                tracing::warn!(
                    url,
                    status,
                    ?retry_after,
                    "Depth snapshot throttled; retrying after the venue's delay."
                );
            }
            Err(error) => return Err(LinkError::Rest(error)),
        }
    }
}

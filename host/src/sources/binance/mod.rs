//! Binance spot and USD-M futures.
//!
//! * `message`: a frame read into a typed [`Message`] (no JSON tree);
//! * `parse`: messages → events (trades, aggTrades, bookTicker, forceOrder);
//! * [`depth`]: pure depth-diff and REST-snapshot parsing;
//! * [`book`], [`sync`], [`books`]: the local order book, the official sync
//!   procedure (spot and USD-M rules) and the `BookTop`s it yields; pure, so
//!   `klaxon replay` and the live source share them;
//! * [`dedup`]: trade and liquidation ids never emitted twice;
//! * [`recorded`]: depth snapshots recorded next to replayed frames;
//! * [`config`]: `type = "binance"`; `connection`: one live connection.
//!
//! This file runs the live source: one task per connection (streams split
//! by `streams_per_connection`), each reconnecting on its own, all feeding
//! one bounded channel that this task drains into the [`Emitter`], so
//! backpressure reaches every socket and nothing is dropped.

pub mod book;
pub mod books;
mod combined;
pub mod config;
mod connection;
pub mod dedup;
pub mod depth;
mod flat;
mod message;
mod parse;
pub mod recorded;
pub mod sync;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

pub use config::{BinanceConfig, Market, TradeStream};
pub use message::Message;
pub use parse::*;

use super::live::{Rest, health};
use super::{Emitter, Sent, SourceError, SourceSummary};
use crate::event::Sym;
use crate::telemetry::metrics;
use connection::{Out, Shared};

/// Connections → emitter. Small: it only smooths bursts; backpressure
/// beyond it waits in the connection tasks.
const CHANNEL: usize = 1024;

pub(crate) async fn run(
    config: BinanceConfig,
    mut emitter: Emitter,
) -> Result<SourceSummary, SourceError> {
    emitter.record_lag();
    let source = emitter.name().to_owned();
    let links = config.links();
    health().want(&source, links.len() as u32);
    metrics()
        .source_subscriptions
        .with_label_values(&[source.as_str()])
        .set(links.iter().map(|l| l.streams.len() as i64).sum());
    tracing::info!(market = ?config.market, connections = links.len(), symbols = config.symbols.len(), "Binance source planned.");

    let venue = config.venue_name().to_owned();
    let rest = Rest::new(&source, config.connection.connect_timeout, Some(config.weight_budget));
    let permits = Arc::new(tokio::sync::Semaphore::new(connection::SNAPSHOTS_IN_FLIGHT));
    let shared = Arc::new(Shared {
        source: source.clone(),
        parser: BinanceParser::new(&venue),
        venue: Sym::new(&venue),
        rest,
        config,
        snapshot_permits: permits,
    });
    let cancel = emitter.cancel().child_token();
    let (tx, mut rx) = mpsc::channel(CHANNEL);
    let mut tasks = JoinSet::new();
    for link in links {
        tasks.spawn(connection::run_link(link, shared.clone(), tx.clone(), cancel.clone()));
    }
    drop(tx);

    let mut summary = SourceSummary::default();
    let result = drain(&mut rx, &mut emitter, &mut summary).await;
    cancel.cancel();
    drop(rx);
    while tasks.join_next().await.is_some() {}
    summary.cancelled = emitter.cancel().is_cancelled();
    result.map(|()| summary)
}

/// Most events the source hands on at once.
const DRAIN_BATCH: usize = 256;

/// Forward until every connection task ended or the source was cancelled.
async fn drain(
    rx: &mut mpsc::Receiver<Out>,
    emitter: &mut Emitter,
    summary: &mut SourceSummary,
) -> Result<(), SourceError> {
    while let Some(out) = emitter.cancel().run_until_cancelled(rx.recv()).await.flatten() {
        let mut events = Vec::new();
        let mut next = Some(out);
        // What the connections already queued goes on in one hand-off.
        while let Some(out) = next.take() {
            match out {
                Out::Event(event) => events.push(event),
                Out::Malformed { error, frame } => {
                    summary.malformed += 1;
                    emitter.malformed_frame("binance", &error, &frame);
                }
            }
            if events.len() < DRAIN_BATCH {
                next = rx.try_recv().ok();
            }
        }
        let n = events.len() as u64;
        match emitter.send_batch(events).await? {
            Sent::Delivered => summary.events += n,
            Sent::Cancelled => break,
        }
    }
    Ok(())
}

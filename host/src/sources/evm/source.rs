//! The live EVM source: one `eth_subscribe` "logs" subscription per
//! connection, swap logs priced with metadata read over HTTP, reorg
//! retractions, and a backfill with `eth_getLogs` after every reconnect.
//!
//! Session, in order: connect; subscribe (address filter = the configured
//! pools, or none in token mode; topic0 ∈ the three swap events) and to
//! `newHeads`; wait for both subscription ids; if a block was seen before,
//! backfill from it (inclusive) to the head; then stream. Headers keep a
//! quiet pool set from tripping stall detection and move the last block seen
//! forward (to the header's parent) when no swap happens. Subscribing *before* the backfill
//! means no block falls between the two; the overlap is removed by the
//! dedup cache, keyed `(blockHash or txHash, logIndex)`.
//!
//! Invariants:
//! * a swap is emitted only with its pool's real decimals: it waits for the
//!   metadata read, and a transport failure ends the session *before* the
//!   swap's block counts as seen, so the backfill brings it back;
//! * `last_block` only moves forward, and only past logs fully handled;
//! * a `removed: true` log retracts exactly the id its swap was emitted with
//!   and forgets its dedup key, so a re-included log is emitted again.

use std::time::Duration;

use alloy_primitives::Address;
use serde_json::{Value, json};

use super::config::EvmConfig;
use super::metadata::{Metadata, PoolMeta, Rules};
use super::notice::{Notice, notification};
use super::parse::{
    PoolInfo, PoolRegistry, RawSwap, decode_log, parse_address, price_swap, quantity, swap_topics,
};
use crate::event::{Retraction, Sym, USD_QUOTES};
use crate::sources::frame::Parsed;
use crate::sources::live::{ConnectionConfig, Ended, Incoming, LinkError, Rest, Session, Socket};
use crate::sources::{Emitter, Sent, SourceError, SourceSummary};
use crate::telemetry::metrics;

/// Label for malformed-frame counts.
const VENUE: &str = "evm";
/// Request ids on the socket: the swap logs, and new block headers.
const SUBSCRIBE_ID: u64 = 1;
const HEADS_ID: u64 = 2;
/// Blocks per `eth_getLogs` call; public nodes refuse much larger ranges.
const BACKFILL_CHUNK: u64 = 1_000;
/// How long an emitted log is remembered for dedup. Reorgs and backfill
/// overlaps are minutes apart; a day is far beyond both.
const DEDUP_TTL: Duration = Duration::from_secs(24 * 3600);
const DEDUP_CAPACITY: u64 = 200_000;

/// What to do after handling one thing.
enum Step {
    Go,
    End(Result<Ended, LinkError>),
}

impl From<Sent> for Step {
    fn from(sent: Sent) -> Step {
        match sent {
            Sent::Delivered => Step::Go,
            Sent::Cancelled => Step::End(Ok(Ended::Cancelled)),
        }
    }
}

pub(crate) struct EvmSource {
    chain: Sym,
    ws_url: String,
    http_url: String,
    rest: Rest,
    config: EvmConfig,
    metadata: Metadata,
    /// Configured pool addresses, for the subscription filter.
    addresses: Vec<Address>,
    token_mode: bool,
    /// Emitted logs, `(blockHash or txHash, logIndex)`.
    dedup: moka::sync::Cache<String, ()>,
    /// Highest block whose logs were all handled; backfill starts here.
    last_block: Option<u64>,
    pub summary: SourceSummary,
}

impl EvmSource {
    /// `None` when the config lacks a URL (validation reports it first).
    pub fn new(config: EvmConfig, source: &str) -> Option<EvmSource> {
        let (ws_url, http_url) = (config.ws_url()?, config.http_url()?);
        let rest = Rest::new(source, config.connection.connect_timeout, None);
        let chain = Sym::new(&config.chain);
        let manual: Vec<_> = config
            .pools
            .iter()
            .filter_map(|p| match p {
                super::config::PoolEntry::Manual(p) => Some(p.clone()),
                super::config::PoolEntry::Address(_) => None,
            })
            .collect();
        let registry = PoolRegistry::new(&manual).ok()?;
        let reference = config.native_reference().map(|r| Sym::new(&r));
        let wrapped_symbol = config.wrapped_symbol();
        let manual =
            registry.entries().map(|(a, info)| (*a, manual_info(info, wrapped_symbol, reference)));
        let addresses: Vec<Address> =
            config.pools.iter().filter_map(|p| parse_address(p.address())).collect();
        let rules = Rules {
            pools: addresses.iter().copied().collect(),
            tokens: config.tokens(),
            stables: config.stables(),
            wrapped_native: config.wrapped_native(),
            native_reference: reference,
        };
        let metadata = Metadata::new(
            source,
            rest.clone(),
            http_url.clone(),
            rules,
            manual.collect::<Vec<_>>(),
        );
        let dedup = moka::sync::Cache::builder()
            .max_capacity(DEDUP_CAPACITY)
            .time_to_live(DEDUP_TTL)
            .build();
        let token_mode = !config.tokens.is_empty();
        Some(EvmSource {
            chain,
            ws_url,
            http_url,
            rest,
            config,
            metadata,
            addresses,
            token_mode,
            dedup,
            last_block: None,
            summary: SourceSummary::default(),
        })
    }

    async fn subscribe_and_read(
        &mut self,
        socket: &mut Socket,
        emitter: &mut Emitter,
    ) -> Result<Result<Ended, LinkError>, SourceError> {
        // Headers keep a quiet pool set from looking stalled and move the
        // backfill start forward even when no swap happens.
        let heads = json!({ "jsonrpc": "2.0", "id": HEADS_ID, "method": "eth_subscribe", "params": ["newHeads"] });
        for request in [self.subscribe_request(), heads] {
            if let Err(e) = socket.send_json(&request).await {
                return Ok(Err(e));
            }
        }
        let (subscription, heads) = match self.await_acks(socket, emitter).await {
            Ok(Ok(ids)) => ids,
            Ok(Err(ended)) => return Ok(Ok(ended)),
            Err(e) => return Ok(Err(e)),
        };
        metrics()
            .source_subscriptions
            .with_label_values(&[emitter.name()])
            .set(1 + i64::from(heads.is_some()));
        if let Some(from) = self.last_block
            && let Step::End(outcome) = self.backfill(from, emitter).await?
        {
            return Ok(outcome);
        }
        let cancel = emitter.cancel().clone();
        loop {
            let incoming = match cancel.run_until_cancelled(socket.recv()).await {
                None => return Ok(Ok(Ended::Cancelled)),
                Some(Err(e)) => return Ok(Err(e)),
                Some(Ok(Incoming::Closed(_))) => return Ok(Ok(Ended::Reconnect("closed"))),
                Some(Ok(Incoming::Text(text))) => text,
            };
            if let Step::End(outcome) =
                self.frame(&incoming, &subscription, heads.as_deref(), emitter).await?
            {
                return Ok(outcome);
            }
        }
    }

    fn subscribe_request(&self) -> Value {
        let topics: Vec<String> = swap_topics().iter().map(|t| format!("{t:#x}")).collect();
        let mut filter = json!({ "topics": [topics] });
        if !self.token_mode {
            filter["address"] =
                json!(self.addresses.iter().map(|a| format!("{a:#x}")).collect::<Vec<_>>());
        }
        json!({ "jsonrpc": "2.0", "id": SUBSCRIBE_ID, "method": "eth_subscribe", "params": ["logs", filter] })
    }

    /// Read until both `eth_subscribe` replies: the logs subscription id
    /// (refused = reconnect) and the heads one (refused = go on without).
    async fn await_acks(
        &mut self,
        socket: &mut Socket,
        emitter: &mut Emitter,
    ) -> Result<Result<(String, Option<String>), Ended>, LinkError> {
        let (mut logs, mut heads) = (None, None);
        while logs.is_none() || heads.is_none() {
            let text = match emitter.cancel().clone().run_until_cancelled(socket.recv()).await {
                None => return Ok(Err(Ended::Cancelled)),
                Some(incoming) => match incoming? {
                    Incoming::Closed(_) => return Ok(Err(Ended::Reconnect("closed"))),
                    Incoming::Text(text) => text,
                },
            };
            let Ok(value) = serde_json::from_str::<Value>(&text) else {
                emitter.malformed_frame(VENUE, &"not JSON", &text);
                continue;
            };
            let id = value.get("id").and_then(Value::as_u64);
            let result = value.get("result").and_then(Value::as_str).map(str::to_owned);
            let error = || value.get("error").map_or_else(|| text.clone(), Value::to_string);
            match (id, result) {
                (Some(SUBSCRIBE_ID), Some(sub)) => logs = Some(sub),
                (Some(SUBSCRIBE_ID), None) => {
                    return Err(LinkError::Refused(format!("eth_subscribe logs: {}", error())));
                }
                (Some(HEADS_ID), Some(sub)) => heads = Some(Some(sub)),
                (Some(HEADS_ID), None) => {
                    tracing::warn!(source = emitter.name(), error = %error(), "newHeads refused; quiet pools may look stalled.");
                    heads = Some(None);
                }
                _ => {}
            }
        }
        Ok(Ok((logs.unwrap_or_default(), heads.flatten())))
    }

    /// Logs from `from` (inclusive) to the head, in chunks, through the same
    /// handling (and dedup) as streamed logs.
    async fn backfill(&mut self, from: u64, emitter: &mut Emitter) -> Result<Step, SourceError> {
        let head = match self.rest.rpc(&self.http_url, "eth_blockNumber", json!([])).await {
            Ok(Value::String(h)) => match quantity(&h) {
                Some(h) => h,
                None => {
                    return Ok(Step::End(Err(LinkError::Refused(format!(
                        "eth_blockNumber: `{h}` is not a quantity"
                    )))));
                }
            },
            Ok(other) => {
                return Ok(Step::End(Err(LinkError::Refused(format!("eth_blockNumber: {other}")))));
            }
            Err(e) => return Ok(Step::End(Err(e.into()))),
        };
        tracing::info!(
            source = emitter.name(),
            from,
            head,
            "Backfilling swaps missed while disconnected."
        );
        let mut start = from;
        while start <= head {
            let end = head.min(start + BACKFILL_CHUNK - 1);
            let mut filter = self.subscribe_request()["params"][1].clone();
            filter["fromBlock"] = json!(format!("{start:#x}"));
            filter["toBlock"] = json!(format!("{end:#x}"));
            let logs = match self.rest.rpc(&self.http_url, "eth_getLogs", json!([filter])).await {
                Ok(Value::Array(logs)) => logs,
                Ok(other) => {
                    return Ok(Step::End(Err(LinkError::Refused(format!(
                        "eth_getLogs: not an array: {other}"
                    )))));
                }
                Err(e) => return Ok(Step::End(Err(e.into()))),
            };
            for log in &logs {
                let text = log.to_string();
                if let Step::End(outcome) = self.log(&text, &text, emitter).await? {
                    return Ok(Step::End(outcome));
                }
            }
            start = end + 1;
        }
        Ok(Step::Go)
    }

    async fn frame(
        &mut self,
        text: &str,
        subscription: &str,
        heads: Option<&str>,
        emitter: &mut Emitter,
    ) -> Result<Step, SourceError> {
        self.summary.frames += 1;
        match notification(text, subscription, heads) {
            Notice::Log(log) => self.log(log, text, emitter).await,
            Notice::Head { number, timestamp } => {
                // Logs of earlier blocks went out with those blocks; the
                // head's own block may still be in flight, so it stays in.
                self.last_block = Some(self.last_block.unwrap_or(0).max(number.saturating_sub(1)));
                // Logs carry no time, headers do: chain lag is block time →
                // header received.
                if let Some(seconds) = timestamp {
                    let lag_ms =
                        crate::clock::wall_ms().saturating_sub(seconds.saturating_mul(1000));
                    metrics()
                        .source_lag
                        .with_label_values(&[emitter.name()])
                        .observe(lag_ms as f64 / 1000.0);
                }
                Ok(Step::Go)
            }
            Notice::Other => {
                self.summary.ignored += 1;
                Ok(Step::Go)
            }
            Notice::Malformed(error) => Ok(self.malformed(emitter, &error, text)),
        }
    }

    fn malformed(
        &mut self,
        emitter: &mut Emitter,
        error: &dyn std::fmt::Display,
        text: &str,
    ) -> Step {
        self.summary.malformed += 1;
        emitter.malformed_frame(VENUE, error, text);
        Step::Go
    }

    /// One log object's text, streamed or backfilled.
    async fn log(
        &mut self,
        log: &str,
        text: &str,
        emitter: &mut Emitter,
    ) -> Result<Step, SourceError> {
        let raw = match decode_log(log) {
            Ok(Some(raw)) => raw,
            Ok(None) => {
                self.summary.ignored += 1;
                return Ok(Step::Go);
            }
            Err(e) => return Ok(self.malformed(emitter, &e, text)),
        };
        if !self.metadata.may_watch(&raw.address) {
            self.summary.ignored += 1;
            return Ok(Step::Go);
        }
        let key = dedup_key(&raw);
        if raw.removed {
            return self.retract(&raw, &key, emitter).await;
        }
        if self.dedup.contains_key(&key) {
            metrics().source_duplicates.with_label_values(&[emitter.name()]).inc();
            self.summary.ignored += 1;
            return Ok(self.seen(&raw));
        }
        let info = match self.metadata.pool(raw.address).await {
            Err(e) => return Ok(Step::End(Err(e.into()))),
            Ok(PoolMeta::Known(info)) => info.clone(),
            Ok(PoolMeta::NotWatched | PoolMeta::Unreadable) => {
                self.summary.ignored += 1;
                return Ok(self.seen(&raw));
            }
        };
        match price_swap(self.chain, &info, &raw) {
            Ok(Parsed::Events(events)) => {
                for mut event in events {
                    // Logs carry no time: the receive time stands in.
                    event.exchange_time_ms = crate::clock::wall_ms();
                    if let Step::End(outcome) = emitter.send(event).await?.into() {
                        return Ok(Step::End(outcome));
                    }
                    self.summary.events += 1;
                }
                self.dedup.insert(key, ());
            }
            Ok(Parsed::Ignored(_)) => self.summary.ignored += 1,
            Err(e) => return Ok(self.malformed(emitter, &e, text)),
        }
        Ok(self.seen(&raw))
    }

    /// The log's block counts as handled.
    fn seen(&mut self, raw: &RawSwap) -> Step {
        if let Some(block) = raw.block_number {
            self.last_block = Some(self.last_block.map_or(block, |b| b.max(block)));
        }
        Step::Go
    }

    async fn retract(
        &mut self,
        raw: &RawSwap,
        key: &str,
        emitter: &mut Emitter,
    ) -> Result<Step, SourceError> {
        self.dedup.invalidate(key);
        self.summary.removed_logs += 1;
        self.summary.ignored += 1;
        let event_id = raw.event_id(self.chain);
        tracing::info!(
            source = emitter.name(),
            event_id,
            "Swap log removed by a reorg; retracting."
        );
        Ok(emitter.retract(Retraction { event_id, venue: self.chain }).await?.into())
    }
}

/// `(blockHash or txHash, logIndex)`: the same log, streamed or backfilled.
fn dedup_key(raw: &RawSwap) -> String {
    let block = raw.block_hash.as_deref().unwrap_or(&raw.tx_hash);
    format!("{}:{}", block.to_ascii_lowercase(), raw.log_index)
}

/// A manual pool: what config says, plus the native reference when its quote
/// is the chain's wrapped coin (`quote = "WBNB"`).
fn manual_info(info: &PoolInfo, wrapped_symbol: Option<&str>, reference: Option<Sym>) -> PoolInfo {
    let ticker = info.listing.map_or(info.symbol, |l| l.ticker).name();
    let quote = ticker.rsplit('/').next().unwrap_or_default().to_ascii_uppercase();
    let is_wrapped =
        wrapped_symbol.is_some_and(|w| w == quote) && !USD_QUOTES.contains(&quote.as_str());
    PoolInfo {
        quote_ref: if is_wrapped && !info.quote_is_usd { reference } else { None },
        ..info.clone()
    }
}

impl Session for EvmSource {
    fn ws_url(&self) -> &str {
        &self.ws_url
    }

    fn connection(&self) -> &ConnectionConfig {
        &self.config.connection
    }

    async fn subscribed(
        &mut self,
        socket: &mut Socket,
        emitter: &mut Emitter,
    ) -> Result<Result<Ended, LinkError>, SourceError> {
        self.subscribe_and_read(socket, emitter).await
    }
}

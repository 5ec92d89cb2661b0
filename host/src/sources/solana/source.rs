//! The live Solana source: one WebSocket, one `logsSubscribe` per pool
//! (`{"mentions":[pool]}`: the node takes one key per subscription), each
//! subscription id mapped back to its pool; swaps priced with the pool's
//! mints and decimals read once with `getAccountInfo`.
//!
//! Session, in order: connect; read the metadata of pools not yet known
//! (kept across reconnects, so each pool's account is read once per run);
//! subscribe every readable pool, and to slots as a heartbeat; after a
//! reconnect, backfill the gap; stream. Failed txs are skipped; a tx with
//! several Raydium swaps (multi-hop) is read with `getTransaction` to learn
//! which one ran in the subscribed pool (skipped and counted if that fails).
//!
//! Invariants:
//! * a swap is emitted only with its pool's decimals (metadata first, then
//!   the subscription that delivers its swaps);
//! * a pool whose account is not an AMM v4 pool is logged, counted in
//!   `klaxon_source_metadata_failures_total` and never subscribed; a node
//!   that cannot be reached ends the session (reconnect), nothing is cached;
//! * each event id is emitted at most once (moka TTL cache), so a reconnect
//!   that re-delivers a notification does not alert twice.
//!
//! Backfill: `logsSubscribe` replays nothing, so after a reconnect the source
//! reads each pool's signatures since the last slot it saw
//! (`getSignaturesForAddress`, newest 100 per pool) and their txs
//! (`getTransaction`), through the same decoding and dedup.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use super::config::{Commitment, SolanaConfig};
use super::parse::{Frame, NoSwap, PoolInfo, Swap, TxLogs, parse_frame, pool_swap, swap_event};
use super::rpc::{amm_account, amm_ids_in_order, attribute, signatures_since, tx_logs};
use crate::event::Sym;
use crate::sources::live::{
    ConnectionConfig, Ended, Incoming, LinkError, Rest, RestError, Session, Socket,
};
use crate::sources::{Emitter, Sent, SourceError, SourceSummary};
use crate::telemetry::metrics;

const VENUE: &str = "solana";
/// Request id of the `slotSubscribe` heartbeat; pools use 1..=n.
const HEARTBEAT_ID: u64 = 0;
/// Signatures read per pool when backfilling; older ones in a longer gap are lost.
const BACKFILL_LIMIT: u64 = 100;
/// Slots the backfill reaches back before the last slot seen: heartbeat slots
/// are `processed`, ahead of what `confirmed`/`finalized` had delivered
/// (finalized trails by ~32); the dedup cache drops the overlap.
const SLOT_MARGIN: u64 = 64;
const DEDUP_TTL: Duration = Duration::from_secs(3600);
const DEDUP_CAPACITY: u64 = 100_000;

#[derive(Debug, Clone)]
enum PoolState {
    Known(PoolInfo),
    Unreadable,
}

pub(crate) struct SolanaSource {
    config: SolanaConfig,
    venue: Sym,
    http_url: String,
    rest: Rest,
    /// Pool id → what its account says; filled once per pool per run.
    pools: HashMap<String, PoolState>,
    /// Event ids already emitted.
    dedup: moka::sync::Cache<String, ()>,
    /// Newest slot seen (heartbeat or notification); the backfill after a
    /// reconnect starts here.
    last_slot: Option<u64>,
    pub summary: SourceSummary,
}

impl SolanaSource {
    pub fn new(config: SolanaConfig, source: &str) -> Option<SolanaSource> {
        let http_url = config.http_url()?;
        let rest = Rest::new(source, config.connection.connect_timeout, None);
        let dedup = moka::sync::Cache::builder()
            .max_capacity(DEDUP_CAPACITY)
            .time_to_live(DEDUP_TTL)
            .build();
        Some(SolanaSource {
            config,
            venue: Sym::new("solana"),
            http_url,
            rest,
            pools: HashMap::new(),
            dedup,
            last_slot: None,
            summary: SourceSummary::default(),
        })
    }

    async fn subscribe_and_read(
        &mut self,
        socket: &mut Socket,
        emitter: &mut Emitter,
    ) -> Result<Result<Ended, LinkError>, SourceError> {
        if let Err(e) = self.read_pools(emitter.name()).await {
            return Ok(Err(e.into()));
        }
        // Slot notifications (~2.5/s) are the heartbeat: without them a
        // quiet pool would look stalled and reconnect every `stall_after`.
        let heartbeat = json!({"jsonrpc": "2.0", "id": HEARTBEAT_ID, "method": "slotSubscribe"});
        if let Err(e) = socket.send_json(&heartbeat).await {
            return Ok(Err(e));
        }
        // Request id → pool; filled into `subscriptions` as acks arrive.
        let mut requests: HashMap<u64, String> = HashMap::new();
        for (i, pool) in self.config.pools.iter().enumerate() {
            if !matches!(self.pools.get(pool), Some(PoolState::Known(_))) {
                continue;
            }
            let id = i as u64 + 1;
            let request = json!({"jsonrpc": "2.0", "id": id, "method": "logsSubscribe",
                "params": [{"mentions": [pool]}, {"commitment": self.config.commitment.as_str()}]});
            if let Err(e) = socket.send_json(&request).await {
                return Ok(Err(e));
            }
            requests.insert(id, pool.clone());
        }
        // Subscribed first, then the gap is read: no tx falls in between;
        // the overlap is removed by the dedup cache.
        if let Some(last) = self.last_slot {
            match self.backfill(last.saturating_sub(SLOT_MARGIN), emitter).await {
                Ok(Ok(Sent::Delivered)) => {}
                Ok(Ok(Sent::Cancelled)) => return Ok(Ok(Ended::Cancelled)),
                Ok(Err(e)) => return Ok(Err(e.into())),
                Err(e) => return Err(e),
            }
        }
        let mut subscriptions: HashMap<u64, String> = HashMap::new();
        let cancel = emitter.cancel().clone();
        loop {
            let text = match cancel.run_until_cancelled(socket.recv()).await {
                None => return Ok(Ok(Ended::Cancelled)),
                Some(Err(e)) => return Ok(Err(e)),
                Some(Ok(Incoming::Closed(_))) => return Ok(Ok(Ended::Reconnect("closed"))),
                Some(Ok(Incoming::Text(text))) => text,
            };
            self.summary.frames += 1;
            match parse_frame(&text) {
                Err(e) => {
                    self.summary.malformed += 1;
                    emitter.malformed_frame(VENUE, &e, &text);
                }
                Ok(Frame::Reply { id, result }) => match (requests.get(&id), result) {
                    (Some(pool), Ok(subscription)) => {
                        subscriptions.insert(subscription, pool.clone());
                        metrics()
                            .source_subscriptions
                            .with_label_values(&[emitter.name()])
                            .set(subscriptions.len() as i64);
                    }
                    (Some(pool), Err(error)) => {
                        tracing::warn!(source = emitter.name(), pool, %error, "logsSubscribe refused for this pool.")
                    }
                    (None, result) => {
                        if id == HEARTBEAT_ID && result.is_err() {
                            tracing::warn!(
                                source = emitter.name(),
                                "slotSubscribe refused; quiet pools may look stalled."
                            );
                        }
                        self.summary.ignored += 1;
                    }
                },
                Ok(Frame::Other) => self.summary.ignored += 1,
                Ok(Frame::Slot(slot)) => self.saw_slot(slot),
                Ok(Frame::Logs(tx)) => {
                    self.saw_slot(tx.slot);
                    let pool = subscriptions.get(&tx.subscription).cloned();
                    if let Sent::Cancelled = self.tx(pool.as_deref(), &tx, &text, emitter).await? {
                        return Ok(Ok(Ended::Cancelled));
                    }
                }
            }
        }
    }

    fn saw_slot(&mut self, slot: u64) {
        self.last_slot = Some(self.last_slot.unwrap_or(0).max(slot));
    }

    /// Swaps of the pools since `from` (the last slot seen before the
    /// disconnect): `getSignaturesForAddress` per pool (newest 100), then
    /// `getTransaction` for each one at or after `from`, through the same
    /// decoding and dedup as streamed notifications.
    async fn backfill(
        &mut self,
        from: u64,
        emitter: &mut Emitter,
    ) -> Result<Result<Sent, RestError>, SourceError> {
        tracing::info!(
            source = emitter.name(),
            from_slot = from,
            "Backfilling swaps missed while disconnected."
        );
        let commitment = self.read_commitment();
        for pool in self.config.pools.clone() {
            if !matches!(self.pools.get(&pool), Some(PoolState::Known(_))) {
                continue;
            }
            let params =
                json!([pool, {"limit": BACKFILL_LIMIT, "commitment": commitment.as_str()}]);
            let signatures =
                match self.rest.rpc(&self.http_url, "getSignaturesForAddress", params).await {
                    Ok(result) => signatures_since(&result, from),
                    Err(e) => return Ok(Err(e)),
                };
            for signature in signatures {
                // Already emitted as a single swap: no need to read it.
                if self.dedup.contains_key(&format!("solana:{signature}")) {
                    metrics().source_duplicates.with_label_values(&[emitter.name()]).inc();
                    continue;
                }
                let params = json!([signature, {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0, "commitment": commitment.as_str()}]);
                let result = match self.rest.rpc(&self.http_url, "getTransaction", params).await {
                    Ok(result) => result,
                    Err(e) => return Ok(Err(e)),
                };
                let Some(tx) = tx_logs(&signature, &result) else {
                    self.summary.ignored += 1;
                    continue;
                };
                if self
                    .tx(Some(&pool), &tx, &format!("getTransaction {signature}"), emitter)
                    .await?
                    == Sent::Cancelled
                {
                    return Ok(Ok(Sent::Cancelled));
                }
            }
        }
        Ok(Ok(Sent::Delivered))
    }

    /// `getTransaction` and `getSignaturesForAddress` do not take `processed`.
    fn read_commitment(&self) -> Commitment {
        match self.config.commitment {
            Commitment::Processed => Commitment::Confirmed,
            c => c,
        }
    }

    /// Read each configured pool's account once; unreadable pools are
    /// remembered as such, a transport failure is returned (not cached).
    async fn read_pools(&mut self, source: &str) -> Result<(), RestError> {
        for pool in self.config.pools.clone() {
            if self.pools.contains_key(&pool) {
                continue;
            }
            let params = json!([pool, {"encoding": "base64", "commitment": self.config.commitment.as_str()}]);
            let account = match self.rest.rpc(&self.http_url, "getAccountInfo", params).await {
                Ok(result) => amm_account(&result).map_err(|e| e.to_string()),
                Err(RestError::Rpc { code, message, .. }) => {
                    Err(format!("JSON-RPC error {code}: {message}"))
                }
                Err(e) => return Err(e),
            };
            let state = match account {
                Ok(account) => PoolState::Known(self.config.describe(&account)),
                Err(error) => {
                    metrics().source_metadata_failures.with_label_values(&[source]).inc();
                    tracing::warn!(source, pool, %error, "Pool account unreadable; not watching this pool.");
                    PoolState::Unreadable
                }
            };
            self.pools.insert(pool, state);
        }
        Ok(())
    }

    async fn tx(
        &mut self,
        pool: Option<&str>,
        tx: &TxLogs<'_>,
        text: &str,
        emitter: &mut Emitter,
    ) -> Result<Sent, SourceError> {
        let info = match pool.and_then(|p| self.pools.get(p)) {
            Some(PoolState::Known(info)) => info.clone(),
            // Not (or no longer) ours: a stale subscription's tail.
            _ => {
                self.summary.ignored += 1;
                return Ok(Sent::Delivered);
            }
        };
        let Some(pool) = pool else { return Ok(Sent::Delivered) };
        let (swap, leg) = match pool_swap(tx, &self.config.program) {
            Ok(swap) => (swap, None),
            Err(NoSwap::Ambiguous(_)) => match self.attribute(pool, tx, emitter.name()).await {
                Ok((k, swap)) => (swap, Some(k)),
                Err(reason) => return Ok(self.no_swap(reason, tx, text, emitter)),
            },
            Err(reason) => return Ok(self.no_swap(reason, tx, text, emitter)),
        };
        let Some(mut event) = swap_event(self.venue, &info, tx, swap, leg) else {
            self.summary.ignored += 1;
            return Ok(Sent::Delivered);
        };
        if self.dedup.contains_key(&event.id) {
            metrics().source_duplicates.with_label_values(&[emitter.name()]).inc();
            self.summary.ignored += 1;
            return Ok(Sent::Delivered);
        }
        // Notifications carry a slot but no time: the receive time stands in.
        event.exchange_time_ms = crate::clock::wall_ms();
        let id = event.id.clone();
        let sent = emitter.send(event).await?;
        if sent == Sent::Delivered {
            self.summary.events += 1;
            self.dedup.insert(id, ());
        }
        Ok(sent)
    }

    /// Count (and for undecodable logs, report) a tx that gave no swap.
    fn no_swap(
        &mut self,
        reason: NoSwap,
        tx: &TxLogs<'_>,
        text: &str,
        emitter: &mut Emitter,
    ) -> Sent {
        match reason {
            NoSwap::Bad(e) => {
                self.summary.malformed += 1;
                emitter.malformed_frame(VENUE, &e, text);
            }
            NoSwap::Ambiguous(n) => {
                tracing::debug!(
                    source = emitter.name(),
                    signature = &*tx.signature,
                    swaps = n,
                    "Multi-swap tx could not be attributed; skipped."
                );
                self.summary.ignored += 1;
            }
            NoSwap::Failed | NoSwap::None => self.summary.ignored += 1,
        }
        Sent::Delivered
    }

    /// A tx with several Raydium swaps: read it (`getTransaction`) to learn
    /// which swap ran in `pool`. A failed read skips the tx (counted).
    async fn attribute(
        &self,
        pool: &str,
        tx: &TxLogs<'_>,
        source: &str,
    ) -> Result<(usize, Swap), NoSwap> {
        let commitment = self.read_commitment();
        let params = json!([tx.signature, {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0, "commitment": commitment.as_str()}]);
        let ambiguous = || NoSwap::Ambiguous(0);
        let result = match self.rest.rpc(&self.http_url, "getTransaction", params).await {
            Ok(result) => result,
            Err(error) => {
                tracing::warn!(source, signature = &*tx.signature, %error, "getTransaction failed; multi-swap tx skipped.");
                return Err(ambiguous());
            }
        };
        let ids = amm_ids_in_order(&result, &self.config.program).ok_or_else(ambiguous)?;
        attribute(tx, &self.config.program, &ids, pool)
    }
}

impl Session for SolanaSource {
    fn ws_url(&self) -> &str {
        &self.config.ws_url
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

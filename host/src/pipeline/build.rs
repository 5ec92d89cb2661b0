//! Wiring: one place that creates every channel and starts every stage.
//!
//! Shutdown needs no signals past the sources: when the last event sender
//! drops, the router drains and drops the worker channels; each worker
//! drains and drops its decider senders; each decider drains and drops its
//! alert-log and sink senders; the writer and sinks
//! flush and end. [`Pipeline::finish`] waits for all of it.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::alert::Delivery;
use crate::budget::ByteBudget;
use crate::clock::SharedClock;
use crate::config::PipelineConfig;
use crate::deliver::Holds;
use crate::event::{Event, Retraction};
use crate::market::MarketState;
use crate::plugins::host_api::HostServices;
use crate::plugins::{PluginEngine, TrapLedger};
use crate::sinks::SinkConfig;
use crate::state::HistoryStore;
use crate::store::{AlertLog, AlertLogConfig, run_retractions, run_writer};

use super::decider::spawn_decider;
use super::depth::{Depths, probe, probe_budget};
use super::digest::WindowDigests;
use super::merge::Merge;
use super::partition::ToDeciders;
use super::plan::Plan;
use super::progress::Progress;
use super::router::{ROUTE_BATCH, Router};
use super::stats::RunStats;
use super::work::DecideOutputs;
use super::worker::{WorkerContext, spawn_worker};

/// How long a retraction waits for an alert still in flight before it is
/// taken to concern an event that never alerted.
const RETRACTION_HOLD: std::time::Duration = std::time::Duration::from_secs(60);

/// Everything the pipeline is built from.
pub struct PipelineParts {
    pub pipeline: PipelineConfig,
    pub market: MarketState,
    pub engine: PluginEngine,
    pub services: HostServices,
    pub ledger: Arc<TrapLedger>,
    pub history: Arc<dyn HistoryStore>,
    pub clock: SharedClock,
    pub plan: Arc<ArcSwap<Plan>>,
    pub sinks: Vec<(String, SinkConfig)>,
    pub alert_log: AlertLogConfig,
    /// Per-owner caps on what network sinks send.
    pub owners: Arc<crate::deliver::OwnerCaps>,
}

/// A running pipeline. Sources send batches of events into `events`, and reorg retractions
/// into `retractions` (straight to the alert log, the only stage they concern).
pub struct Pipeline {
    pub events: mpsc::Sender<Vec<Event>>,
    pub retractions: mpsc::Sender<Retraction>,
    retractor: JoinHandle<Result<crate::store::RetractSummary, crate::store::StoreError>>,
    pub stats: Arc<RunStats>,
    router: std::thread::JoinHandle<()>,
    workers: Vec<std::thread::JoinHandle<()>>,
    deciders: Vec<std::thread::JoinHandle<()>>,
    sinks: Vec<(String, JoinHandle<Result<crate::sinks::SinkSummary, crate::sinks::SinkError>>)>,
    writer: JoinHandle<Result<crate::store::WriterSummary, crate::store::StoreError>>,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("alert log: {0}")]
    AlertLog(#[from] crate::store::StoreError),
    #[error("sink `{name}`: {error}")]
    Sink { name: String, error: String },
    #[error("{stage} stage panicked")]
    Panicked { stage: &'static str },
}

impl Pipeline {
    pub async fn start(parts: PipelineParts) -> Result<Pipeline, PipelineError> {
        let cap = parts.pipeline.channel_capacity;
        let stats = Arc::new(RunStats::default());

        let log = AlertLog::open(&parts.alert_log.url).await?;
        crate::store::spawn_pruner(log.clone(), &parts.alert_log);
        let (alerts_tx, alerts_rx) = mpsc::channel(cap);
        let mut depths = Depths::default();
        depths.stages.push(("alert_log", vec![probe(&alerts_tx)]));
        let (retractions, retractions_rx) = mpsc::channel(cap);
        let retractor = tokio::spawn(run_retractions(
            log.clone(),
            retractions_rx,
            parts.alert_log.flush_interval,
            RETRACTION_HOLD,
        ));
        let writer = tokio::spawn(run_writer(
            log.clone(),
            alerts_rx,
            parts.alert_log.batch_size,
            parts.alert_log.flush_interval,
        ));

        let digests: Arc<dyn crate::deliver::DigestFormat> = Arc::new(WindowDigests::new(
            parts.plan.clone(),
            parts.engine.clone(),
            parts.services.clone(),
            parts.ledger.clone(),
            parts.clock.clone(),
            parts.pipeline.time,
        ));
        let holds = Holds { caps: parts.owners.clone(), digests: Some(digests) };
        let mut sink_txs: HashMap<String, mpsc::Sender<Arc<Delivery>>> = HashMap::new();
        let mut sinks = Vec::new();
        for (name, cfg) in parts.sinks {
            let (tx, rx) = mpsc::channel(cap);
            depths.sinks.push((name.clone(), probe(&tx)));
            sink_txs.insert(name.clone(), tx);
            sinks.push((
                name.clone(),
                tokio::spawn(crate::deliver::run_sink(cfg, name, rx, log.clone(), holds.clone())),
            ));
        }

        let delivery_bytes = crate::budget::ByteBudget::new(parts.pipeline.delivery_bytes);
        let n = parts.pipeline.workers;
        let (warming, warm) = std::sync::mpsc::channel::<()>();
        let context = |id| WorkerContext {
            id,
            engine: parts.engine.clone(),
            services: parts.services.clone(),
            ledger: parts.ledger.clone(),
            history: parts.history.clone(),
            clock: parts.clock.clone(),
            time: parts.pipeline.time,
            batch_max: parts.pipeline.batch_max,
            stats: stats.clone(),
            plan: parts.plan.clone(),
            warming: Some(warming.clone()),
        };
        // Hand-offs are batches of up to ROUTE_BATCH events; a decider
        // hears from at most every worker per hand-off.
        let worker_cap = (cap / ROUTE_BATCH).max(2);
        let progress = Arc::new(Progress::new(n, n));
        let (mut decider_txs, mut deciders) = (Vec::new(), Vec::new());
        for id in 0..n {
            let (tx, rx) = mpsc::channel(worker_cap * n);
            decider_txs.push(tx);
            let outputs = DecideOutputs {
                alerts: alerts_tx.clone(),
                sinks: sink_txs.clone(),
                delivery_bytes: delivery_bytes.clone(),
            };
            let merge = Merge::new(n, progress.clone(), id);
            deciders.push(spawn_decider(context(id), merge, rx, outputs));
        }
        drop((alerts_tx, sink_txs));
        depths.stages.push(("decide", decider_txs.iter().map(probe).collect()));
        // A worker's queue holds `cap` events however they are batched: at
        // most `cap` hand-offs, each holding its events' share of a budget.
        let (mut worker_txs, mut workers, mut queued) = (Vec::new(), Vec::new(), Vec::new());
        for id in 0..n {
            let (tx, rx) = mpsc::channel(cap);
            worker_txs.push(tx);
            queued.push(ByteBudget::new(cap));
            let outputs = ToDeciders::new(id, decider_txs.clone(), progress.clone());
            workers.push(spawn_worker(context(id), rx, outputs));
        }
        drop(decider_txs);
        let probes = worker_txs.iter().zip(&queued).map(|(tx, b)| probe_budget(tx, b)).collect();
        depths.stages.push(("evaluate", probes));
        // Every stage thread drops its sender once warm (or if it dies).
        drop(warming);
        let _ = tokio::task::spawn_blocking(move || while warm.recv().is_ok() {}).await;

        // Sources send batches: up to 256 events (a replay), often one.
        let (events, events_rx) = mpsc::channel((cap / 64).max(16));
        depths.stages.push(("route", vec![probe(&events)]));
        depths.watch();
        let router = Router {
            market: parts.market,
            plan: parts.plan,
            workers: worker_txs,
            queued,
            stats: stats.clone(),
            progress,
            seq: 0,
        }
        .spawn(events_rx);
        Ok(Pipeline {
            events,
            retractions,
            retractor,
            stats,
            router,
            workers,
            deciders,
            sinks,
            writer,
        })
    }

    /// Wait until every stage has drained and flushed. Call after dropping
    /// every clone of `events` (the sources end, so does the pipeline).
    pub async fn finish(self) -> Result<(), PipelineError> {
        drop(self.events);
        let router = self.router;
        let routed = tokio::task::spawn_blocking(move || router.join().is_ok()).await;
        if !routed.unwrap_or(false) {
            return Err(PipelineError::Panicked { stage: "route" });
        }
        join_threads(self.workers, "evaluate").await?;
        join_threads(self.deciders, "decide").await?;
        let mut first_error = None;
        for (name, handle) in self.sinks {
            match handle.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    first_error =
                        first_error.or(Some(PipelineError::Sink { name, error: e.to_string() }))
                }
                Err(_) => {
                    first_error = first_error.or(Some(PipelineError::Panicked { stage: "deliver" }))
                }
            }
        }
        join_store_task(self.writer, "alert log").await?;
        // After the writer: the retractor's last pass then sees every alert.
        drop(self.retractions);
        join_store_task(self.retractor, "retractions").await?;
        first_error.map_or(Ok(()), Err)
    }
}

/// Wait for a stage's threads; a panic in any is the pipeline's error.
async fn join_threads(
    threads: Vec<std::thread::JoinHandle<()>>,
    stage: &'static str,
) -> Result<(), PipelineError> {
    let joined = tokio::task::spawn_blocking(move || threads.into_iter().all(|t| t.join().is_ok()))
        .await
        .unwrap_or(false);
    if joined { Ok(()) } else { Err(PipelineError::Panicked { stage }) }
}

/// Wait for an alert-log task; its error or panic becomes the pipeline's.
async fn join_store_task<T>(
    task: JoinHandle<Result<T, crate::store::StoreError>>,
    stage: &'static str,
) -> Result<(), PipelineError> {
    match task.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(PipelineError::Panicked { stage }),
    }
}

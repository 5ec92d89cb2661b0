//! The evaluate worker: one OS thread that runs the filters of each run of
//! events and hands the passes to the deciders that own their keys
//! (`partition.rs`, `decider.rs`).
//!
//! Workers are plain threads, not tokio tasks: plugin calls are CPU-bound
//! and synchronous, and each worker owns its instances outright (no
//! `Mutex<Store>`). The router shards events by each template's routing
//! key, so every event of one symbol (or one account, with `shard_by`)
//! reaches the same worker, in order; that is what a filter's own state
//! (its KV, such as a window sum per key) relies on.
//!
//! Batching is natural: a worker blocks for the router's first hand-off (a
//! batch of events), then takes whatever else is already queued up to
//! `batch_max` events, and never waits for a batch to fill. A quiet market
//! gets single-event latency; a busy one gets the column-batch price.
//!
//! Each item carries the plan it was routed with, so work already queued
//! when a new plan is published finishes on the old plugin versions; nothing
//! is evaluated twice or skipped across a swap.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::clock::SharedClock;
use crate::config::TimeMode;
use crate::event::Event;
use crate::plugins::host_api::HostServices;
use crate::plugins::pool::group_by_key;
use crate::plugins::{InstancePool, PluginEngine, RuleRef, TrapLedger};
use crate::state::HistoryStore;
use crate::telemetry::metrics;

use super::evaluate::Evaluate;
use super::partition::ToDeciders;
use super::plan::Plan;
use super::stats::RunStats;
use super::work::{Routed, WorkItem, same_plan_run};

pub struct WorkerContext {
    pub id: usize,
    pub engine: PluginEngine,
    pub services: HostServices,
    pub ledger: Arc<TrapLedger>,
    pub history: Arc<dyn HistoryStore>,
    pub clock: SharedClock,
    pub time: TimeMode,
    pub batch_max: usize,
    pub stats: Arc<RunStats>,
    /// The plan in force, to warm instances with before the first event.
    pub plan: Arc<arc_swap::ArcSwap<Plan>>,
    /// Dropped once this thread's instances are warm: the pipeline starts
    /// taking events when every stage thread's is.
    pub warming: Option<std::sync::mpsc::Sender<()>>,
}

/// Which plugins a stage thread calls: a worker its filters, a decider
/// its cooldowns and formatters.
#[derive(Debug, Clone, Copy)]
pub enum Stage {
    Evaluate,
    Decide,
}

/// A stage thread's instances, kept to the plan it works on: the first run
/// on a new plan drops the instances that plan no longer uses and builds
/// the shared ones it will use ([`InstancePool::warm`]).
pub struct StagePool {
    pool: InstancePool,
    generation: u64,
    stage: Stage,
}

impl StagePool {
    pub fn new(ctx: &WorkerContext, stage: Stage) -> StagePool {
        let pool = InstancePool::new(ctx.engine.clone(), ctx.services.clone(), ctx.ledger.clone());
        StagePool { pool, generation: 0, stage }
    }

    /// The instances, after retiring what `plan` does not use.
    pub fn on(&mut self, plan: &Plan) -> &mut InstancePool {
        if plan.generation != self.generation {
            self.generation = plan.generation;
            self.pool.retain(|template, plugin, domain| plan.uses(template, plugin, domain));
            self.warm(plan);
        }
        &mut self.pool
    }

    fn warm(&mut self, plan: &Plan) {
        let rules: Vec<RuleRef<'_>> = (plan.templates.iter())
            .flat_map(|tp| {
                let slots = match self.stage {
                    Stage::Evaluate => [Some(&tp.filter), None],
                    Stage::Decide => [tp.cooldown.as_ref(), tp.formatter.as_ref()],
                };
                let limits = &tp.limits;
                slots.into_iter().flatten().map(move |slot| RuleRef {
                    template: &tp.id,
                    slot,
                    limits,
                })
            })
            .collect();
        for group in group_by_key(rules.iter().map(Some)) {
            let group: Vec<RuleRef<'_>> = group.iter().map(|&i| rules[i]).collect();
            self.pool.warm(&group);
        }
    }
}

impl WorkerContext {
    /// Build `pool`'s instances for the plan in force, then say so.
    pub fn warm(&mut self, pool: &mut StagePool) {
        pool.on(&self.plan.load());
        self.warming = None;
    }

    /// The time a decision about `event` is made at.
    pub fn now_ms(&self, event: &Event) -> u64 {
        match self.time {
            TimeMode::Event => event.exchange_time_ms,
            TimeMode::Wall => self.clock.now_ms(),
        }
    }
}

pub fn spawn_worker(
    ctx: WorkerContext,
    rx: mpsc::Receiver<Routed>,
    outputs: ToDeciders,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(format!("klaxon-eval-{}", ctx.id))
        .spawn(move || Worker::new(ctx, outputs).run(rx))
        .expect("cannot spawn evaluate worker thread")
}

struct Worker {
    ctx: WorkerContext,
    outputs: ToDeciders,
    pool: StagePool,
    evaluate: Evaluate,
    label: String,
}

impl Worker {
    fn new(ctx: WorkerContext, outputs: ToDeciders) -> Worker {
        let (pool, label) = (StagePool::new(&ctx, Stage::Evaluate), ctx.id.to_string());
        Worker { ctx, outputs, pool, evaluate: Evaluate::default(), label }
    }

    fn run(mut self, mut rx: mpsc::Receiver<Routed>) {
        self.ctx.warm(&mut self.pool);
        let (mut batch, mut leases) = (Vec::with_capacity(self.ctx.batch_max), Vec::new());
        let m = metrics();
        let (batch_size, evaluated) = (
            m.batch_size.with_label_values(&[&self.label]),
            m.events_evaluated.with_label_values(&[&self.label]),
        );
        loop {
            let first = match rx.try_recv() {
                Ok(routed) => routed,
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    // Idle: the per-template counts go out before it sleeps.
                    self.evaluate.flush_counts();
                    let Some(routed) = rx.blocking_recv() else { break };
                    routed
                }
            };
            let mut upto = first.upto;
            // The leases go back once the batch is evaluated (below).
            batch.extend(first.items);
            leases.push(first.lease);
            while batch.len() < self.ctx.batch_max {
                match rx.try_recv() {
                    Ok(routed) => {
                        upto = upto.max(routed.upto);
                        batch.extend(routed.items);
                        leases.push(routed.lease);
                    }
                    Err(_) => break,
                }
            }
            for chunk in batch.chunks(self.ctx.batch_max.max(1)) {
                batch_size.observe(chunk.len() as f64);
                self.process_runs(chunk);
            }
            // A worker counts what it evaluated; the run counts each event once.
            evaluated.inc_by(batch.len() as u64);
            let events = batch.iter().filter(|i| i.first_share).count() as u64;
            RunStats::add(&self.ctx.stats.events_evaluated, events);
            batch.clear();
            leases.clear();
            if !self.outputs.flush(upto) {
                tracing::error!(worker = self.ctx.id, "A decider is gone; stopping the worker.");
                break;
            }
        }
        self.evaluate.flush_counts();
    }

    /// Split `batch` into runs routed with the same plan (a swap mid-batch).
    fn process_runs(&mut self, mut batch: &[WorkItem]) {
        while !batch.is_empty() {
            let (run, rest) = batch.split_at(same_plan_run(batch, |i| &i.plan));
            self.process(run);
            batch = rest;
        }
    }

    /// One run of events routed with one plan: its filters, then its
    /// passes on to their deciders.
    fn process(&mut self, run: &[WorkItem]) {
        let plan = run[0].plan.clone();
        let now = self.ctx.now_ms(&run[run.len() - 1].event);
        let pool = self.pool.on(&plan);
        let passed = self.evaluate.run(pool, &plan, run, now, &self.ctx.stats);
        self.outputs.push(&plan, run, passed);
    }
}

#[cfg(test)]
mod tests {
    use arc_swap::ArcSwap;

    use super::*;

    #[test]
    fn a_stage_thread_builds_its_plans_shared_instances_and_rules_first() {
        // Two templates of two owners on stock plugins: one shared domain.
        let toml = "[plugins]\nwatch = false\ncache_dir = \"\"\n\
            [templates.a]\n\
            filter = { plugin = \"amount-threshold\", params = { min_notional_usd = 1 } }\n\
            cooldown = { plugin = \"fixed\", params = { window = \"1m\" } }\n\
            formatter = { plugin = \"plain\", params = {} }\n\
            [templates.b]\nowner = \"o\"\n\
            filter = { plugin = \"amount-threshold\", params = { min_notional_usd = 2 } }\n";
        let config = crate::config::load_str(toml, "warm test").unwrap();
        let (market, _) = crate::market::MarketState::new(&config.raw().market);
        let rt = crate::app::Runtime::new(&config, &market).unwrap();
        let (plan, failures) = super::super::plan_enabled(&config, &rt.library, &rt.services, 1);
        assert!(failures.is_empty());
        let (warming, warm) = std::sync::mpsc::channel();
        let mut ctx = WorkerContext {
            id: 0,
            engine: rt.engine.clone(),
            services: rt.services.clone(),
            ledger: Arc::new(TrapLedger::new(0)),
            history: Arc::new(crate::state::MemoryHistory::default()),
            clock: Arc::new(crate::clock::SystemClock),
            time: TimeMode::Event,
            batch_max: 64,
            stats: Arc::default(),
            plan: Arc::new(ArcSwap::from_pointee(plan)),
            warming: Some(warming),
        };
        let mut filters = StagePool::new(&ctx, Stage::Evaluate);
        ctx.warm(&mut filters);
        assert!(warm.recv().is_err(), "the thread said it is warm");
        assert_eq!((filters.pool.instances(), filters.pool.rules()), (1, 2));
        let mut decisions = StagePool::new(&ctx, Stage::Decide);
        ctx.warm(&mut decisions);
        assert_eq!(
            (decisions.pool.instances(), decisions.pool.rules()),
            (2, 2),
            "a cooldown and a formatter instance, template a's rule in each"
        );
    }
}

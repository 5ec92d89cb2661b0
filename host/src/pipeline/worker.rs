//! The evaluate worker: one OS thread that runs the stages after routing,
//! in order, on each run of events: evaluate → decide → format → hand-off.
//!
//! Workers are plain threads, not tokio tasks: plugin calls are CPU-bound
//! and synchronous, and each worker owns its instances outright (no
//! `Mutex<Store>`). The router shards events by routing key, so every event
//! of an alert key reaches the same worker, in order.
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
use crate::plugins::{InstancePool, PluginEngine, TrapLedger};
use crate::state::HistoryStore;
use crate::telemetry::metrics;

use super::evaluate::Evaluate;
use super::stats::RunStats;
use super::work::{WorkItem, WorkerOutputs};
use super::{decide, deliver, format};

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
}

pub fn spawn_worker(
    ctx: WorkerContext,
    rx: mpsc::Receiver<Vec<WorkItem>>,
    outputs: WorkerOutputs,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(format!("klaxon-eval-{}", ctx.id))
        .spawn(move || Worker::new(ctx, outputs).run(rx))
        .expect("cannot spawn evaluate worker thread")
}

struct Worker {
    ctx: WorkerContext,
    outputs: WorkerOutputs,
    pool: InstancePool,
    evaluate: Evaluate,
    generation: u64,
    label: String,
}

impl Worker {
    fn new(ctx: WorkerContext, outputs: WorkerOutputs) -> Worker {
        let pool = InstancePool::new(ctx.engine.clone(), ctx.services.clone(), ctx.ledger.clone());
        let label = ctx.id.to_string();
        Worker { ctx, outputs, pool, evaluate: Evaluate::default(), generation: 0, label }
    }

    fn run(mut self, mut rx: mpsc::Receiver<Vec<WorkItem>>) {
        let mut batch = Vec::with_capacity(self.ctx.batch_max);
        let m = metrics();
        let (batch_size, evaluated) = (
            m.batch_size.with_label_values(&[&self.label]),
            m.events_evaluated.with_label_values(&[&self.label]),
        );
        while let Some(first) = rx.blocking_recv() {
            batch.extend(first);
            while batch.len() < self.ctx.batch_max {
                match rx.try_recv() {
                    Ok(items) => batch.extend(items),
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
        }
    }

    /// Split `batch` into runs routed with the same plan (a swap mid-batch).
    fn process_runs(&mut self, batch: &[WorkItem]) {
        let mut start = 0;
        while start < batch.len() {
            let plan = &batch[start].plan;
            let end =
                start + batch[start..].iter().take_while(|i| Arc::ptr_eq(&i.plan, plan)).count();
            self.process(&batch[start..end]);
            start = end;
        }
    }

    fn now_ms(&self, event: &Event) -> u64 {
        match self.ctx.time {
            TimeMode::Event => event.exchange_time_ms,
            TimeMode::Wall => self.ctx.clock.now_ms(),
        }
    }

    /// One run of events routed with one plan, through every stage.
    fn process(&mut self, run: &[WorkItem]) {
        let plan = run[0].plan.clone();
        if plan.generation != self.generation {
            self.generation = plan.generation;
            self.pool.retain(|template, plugin, domain| plan.uses(template, plugin, domain));
        }
        let now = self.now_ms(&run[run.len() - 1].event);
        let passed = self.evaluate.run(&mut self.pool, &plan, run, now, &self.ctx.stats);
        if passed.is_empty() {
            return;
        }
        let (clock, time) = (&self.ctx.clock, self.ctx.time);
        let now_of = |e: &Event| match time {
            TimeMode::Event => e.exchange_time_ms,
            TimeMode::Wall => clock.now_ms(),
        };
        let alerts =
            decide::decide(&mut self.pool, &*self.ctx.history, &plan, run, passed, |item| {
                now_of(&item.event)
            });
        let fired = deliver::log_alerts(&self.outputs, &plan, &self.ctx.stats, alerts);
        let bytes = &self.outputs.delivery_bytes;
        let deliveries =
            format::format(&mut self.pool, &plan, fired, |alert| now_of(&alert.event), bytes);
        deliver::hand_off(&self.outputs, deliveries);
    }
}

//! Evaluate: the worker threads that run filters, then decide and format.
//!
//! Workers are plain OS threads, not tokio tasks: plugin calls are CPU-bound
//! and synchronous, and each worker owns its Stores outright (no
//! `Mutex<Store>`). The router shards events by symbol, so every event of an
//! alert key reaches the same worker, in order.
//!
//! Batching is natural: a worker blocks for the first item, then takes
//! whatever else is already queued up to `batch_max`, and never waits for a
//! batch to fill. A quiet market gets single-event latency; a busy one gets
//! the column-batch price.
//!
//! Each item carries the plan it was routed with, so work already queued
//! when a new plan is published finishes on the old plugin versions; nothing
//! is evaluated twice or skipped across a swap.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::alert::{Alert, Candidate, Delivery, Pass};
use crate::clock::SharedClock;
use crate::config::TimeMode;
use crate::event::Event;
use crate::market::Snapshot;
use crate::plugins::filter::{FilterInstance, Verdict};
use crate::plugins::host_api::HostServices;
use crate::plugins::{Columns, PluginEngine, TrapLedger};
use crate::state::HistoryStore;
use crate::telemetry::metrics;

use super::decide::Decider;
use super::format::MessageFormatter;
use super::instances::InstanceCache;
use super::plan::{Plan, TemplatePlan};
use super::stats::RunStats;
use super::wait;

/// One routed event on its way to a worker.
pub struct WorkItem {
    pub event: Arc<Event>,
    pub market: Snapshot,
    pub plan: Arc<Plan>,
    /// Indices into `plan.templates`, ascending.
    pub targets: Vec<u32>,
}

/// Where a worker's results go. Senders are dropped when the worker exits,
/// which is how the alert log and sinks learn that the input has ended.
pub struct WorkerOutputs {
    pub alerts: mpsc::Sender<Arc<Alert>>,
    pub sinks: HashMap<String, mpsc::Sender<Arc<Delivery>>>,
}

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
    rx: mpsc::Receiver<WorkItem>,
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
    filters: InstanceCache<FilterInstance>,
    decider: Decider,
    formatter: MessageFormatter,
    generation: u64,
    label: String,
    /// The current run as columns, built once and shared by its templates.
    columns: Columns,
    /// Rows of `columns` for a template that sees only some of them.
    subset: Columns,
}

impl Worker {
    fn new(ctx: WorkerContext, outputs: WorkerOutputs) -> Worker {
        let decider = Decider::new(
            ctx.engine.clone(),
            ctx.services.clone(),
            ctx.ledger.clone(),
            ctx.history.clone(),
        );
        let formatter =
            MessageFormatter::new(ctx.engine.clone(), ctx.services.clone(), ctx.ledger.clone());
        let label = ctx.id.to_string();
        Worker {
            ctx,
            outputs,
            filters: InstanceCache::default(),
            decider,
            formatter,
            generation: 0,
            label,
            columns: Columns::default(),
            subset: Columns::default(),
        }
    }

    fn run(mut self, mut rx: mpsc::Receiver<WorkItem>) {
        let mut batch = Vec::with_capacity(self.ctx.batch_max);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < self.ctx.batch_max {
                match rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
            metrics().batch_size.with_label_values(&[&self.label]).observe(batch.len() as f64);
            // Split into runs routed with the same plan (a swap mid-batch).
            let mut start = 0;
            while start < batch.len() {
                let plan = &batch[start].plan;
                let end = start
                    + batch[start..].iter().take_while(|i| Arc::ptr_eq(&i.plan, plan)).count();
                self.process(&batch[start..end]);
                start = end;
            }
            let n = batch.len() as u64;
            RunStats::add(&self.ctx.stats.events_evaluated, n);
            metrics().events_evaluated.with_label_values(&[&self.label]).inc_by(n);
            batch.clear();
        }
    }

    fn now_ms(&self, event: &Event) -> u64 {
        match self.ctx.time {
            TimeMode::Event => event.exchange_time_ms,
            TimeMode::Wall => self.ctx.clock.now_ms(),
        }
    }

    fn process(&mut self, run: &[WorkItem]) {
        let plan = run[0].plan.clone();
        if plan.generation != self.generation {
            self.generation = plan.generation;
            let live = |t: &crate::alert::TemplateId| plan.templates.iter().any(|p| &p.id == t);
            self.filters.retain(live);
            self.decider.retain(live);
            self.formatter.retain(live);
        }
        let mut targets: Vec<u32> = run.iter().flat_map(|i| i.targets.iter().copied()).collect();
        targets.sort_unstable();
        targets.dedup();

        let mut candidates: Vec<(usize, u32, Pass)> = Vec::new();
        if run.len() > 1 {
            self.columns.fill(run.iter().map(|i| (&*i.event, &i.market)));
        }
        for t in targets {
            let rows: Vec<usize> =
                (0..run.len()).filter(|&r| run[r].targets.binary_search(&t).is_ok()).collect();
            let passes = self.filter(&plan.templates[t as usize], run, &rows);
            candidates.extend(passes.into_iter().map(|(row, pass)| (row, t, pass)));
        }
        // Decide in event order so each key's history sees events in order.
        candidates.sort_by_key(|(row, t, _)| (*row, *t));
        let mut fired: Vec<(u32, Arc<Alert>)> = Vec::new();
        for (row, t, pass) in candidates {
            let tp = &plan.templates[t as usize];
            let item = &run[row];
            let candidate = Candidate { template: tp.id.clone(), event: item.event.clone(), pass };
            let alert = Arc::new(self.decider.decide(tp, candidate, self.now_ms(&item.event)));
            self.account(&alert);
            if alert.fired() {
                fired.push((t, alert.clone()));
            }
            self.send_alert(alert);
        }
        self.deliver(&plan, fired);
    }

    /// Run template `t`'s filter over `rows` of `run`; (row, pass) for passes.
    fn filter(&mut self, t: &TemplatePlan, run: &[WorkItem], rows: &[usize]) -> Vec<(usize, Pass)> {
        let m = metrics();
        m.evaluations.with_label_values(&[t.id.as_str()]).inc_by(rows.len() as u64);
        RunStats::add(&self.ctx.stats.evaluations, rows.len() as u64);
        let slot = &t.filter;
        if self.ctx.ledger.is_disabled(&slot.plugin.reference) {
            return self.failed_closed(t, rows.len());
        }
        let now = self.now_ms(&run[*rows.last().expect("rows is never empty")].event);
        let (engine, services) = (&self.ctx.engine, &self.ctx.services);
        let f = match self.filters.get(&t.id, slot, || {
            FilterInstance::new(
                engine,
                &t.id,
                slot.plugin.clone(),
                &slot.params,
                services,
                t.limits,
            )
        }) {
            Ok(f) => f,
            Err(error) => {
                tracing::warn!(template = %t.id, %error, "Filter unavailable; failing closed.");
                return self.failed_closed(t, rows.len());
            }
        };
        let mut out = Vec::new();
        let result = if let [row] = rows {
            f.evaluate(&run[*row].event, &run[*row].market, now).map(|v| {
                if let Verdict::Pass(p) = v {
                    out.push((0, p));
                }
            })
        } else {
            let columns = if rows.len() == run.len() {
                &self.columns
            } else {
                self.columns.gather(rows, &mut self.subset);
                &self.subset
            };
            f.evaluate_batch(columns, now, &mut out)
        };
        match result {
            Ok(()) => out.into_iter().map(|(i, p)| (rows[i], p)).collect(),
            Err(trap) => {
                self.ctx.ledger.record(
                    &slot.plugin.reference,
                    slot.plugin.kind,
                    t.id.as_str(),
                    &trap.to_string(),
                );
                self.filters.poison(&t.id);
                self.failed_closed(t, rows.len())
            }
        }
    }

    fn failed_closed(&self, t: &TemplatePlan, n: usize) -> Vec<(usize, Pass)> {
        let plugin = &t.filter.plugin.reference;
        metrics()
            .evaluations_failed
            .with_label_values(&[t.id.as_str(), &plugin.name])
            .inc_by(n as u64);
        RunStats::add(&self.ctx.stats.evaluations_failed, n as u64);
        Vec::new()
    }

    fn account(&self, alert: &Alert) {
        let m = metrics();
        match alert.suppress_reason() {
            None => {
                m.alerts.with_label_values(&[alert.template.as_str(), "fired"]).inc();
                RunStats::add(&self.ctx.stats.fired, 1);
            }
            Some(reason) => {
                m.alerts.with_label_values(&[alert.template.as_str(), "suppressed"]).inc();
                m.alerts_suppressed
                    .with_label_values(&[alert.template.as_str(), reason_class(reason)])
                    .inc();
                self.ctx.stats.suppressed(reason);
            }
        }
    }

    fn send_alert(&self, alert: Arc<Alert>) {
        if wait::blocking_send(&self.outputs.alerts, alert, "alert_log").is_err() {
            tracing::error!("Alert log writer is gone; alert not logged.");
        }
    }

    /// Format fired alerts per template (one digest when asked) and hand the
    /// messages to the template's channels.
    fn deliver(&mut self, plan: &Plan, fired: Vec<(u32, Arc<Alert>)>) {
        let mut by_template: Vec<(u32, Vec<Arc<Alert>>)> = Vec::new();
        for (t, alert) in fired {
            match by_template.iter_mut().find(|(x, _)| *x == t) {
                Some((_, list)) if plan.templates[t as usize].digest => list.push(alert),
                _ => by_template.push((t, vec![alert])),
            }
        }
        for (t, alerts) in by_template {
            let tp = &plan.templates[t as usize];
            let now = self.now_ms(&alerts[alerts.len() - 1].event);
            let message = self.formatter.format(tp, &alerts, now);
            let delivery = Arc::new(Delivery {
                alert: alerts[alerts.len() - 1].clone(),
                message,
                channels: tp.channels.clone(),
            });
            for channel in tp.channels.iter() {
                if let Some(tx) = self.outputs.sinks.get(channel)
                    && wait::blocking_send(tx, delivery.clone(), "deliver").is_err()
                {
                    tracing::error!(channel, "Sink is gone; message not delivered.");
                }
            }
        }
    }
}

/// A bounded label for a free-text suppress reason: its first word.
fn reason_class(reason: &str) -> &str {
    let word = reason
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-')
        .next()
        .unwrap_or("");
    if word.is_empty() || word.len() > 24 { "other" } else { word }
}

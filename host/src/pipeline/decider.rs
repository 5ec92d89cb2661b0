//! The decider: one OS thread per partition of alert keys, running the
//! stages after evaluation on the candidates it owns: decide → format →
//! hand-off (alert log and sinks).
//!
//! Every candidate of one (template, key) reaches the same decider
//! (`partition.rs`), merged from all workers in event order (`merge.rs`),
//! so a key's cooldown history is read and written by one thread, in order,
//! whichever worker evaluated each of its events. That is what keeps an
//! account-keyed template from firing twice inside its cooldown when its
//! account trades symbols that live on different workers, and what makes a
//! replay's decisions the same for any worker count.
//!
//! A decider owns its cooldown and formatter instances, as a worker owns
//! its filters; like a worker it takes whatever is ready, up to
//! `batch_max` candidates, and never waits for a batch to fill.

use tokio::sync::mpsc;

use super::merge::Merge;
use super::work::{Candidate, DecideOutputs, Verdicts, same_plan_run};
use super::worker::{StagePool, WorkerContext};
use super::{decide, deliver, format};

pub fn spawn_decider(
    ctx: WorkerContext,
    workers: usize,
    rx: mpsc::Receiver<Verdicts>,
    outputs: DecideOutputs,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(format!("klaxon-decide-{}", ctx.id))
        .spawn(move || Decider::new(ctx, outputs).run(workers, rx))
        .expect("cannot spawn decider thread")
}

struct Decider {
    ctx: WorkerContext,
    outputs: DecideOutputs,
    pool: StagePool,
}

impl Decider {
    fn new(ctx: WorkerContext, outputs: DecideOutputs) -> Decider {
        let pool = StagePool::new(&ctx);
        Decider { ctx, outputs, pool }
    }

    fn run(mut self, workers: usize, mut rx: mpsc::Receiver<Verdicts>) {
        let mut merge = Merge::new(workers);
        let mut ready = Vec::with_capacity(self.ctx.batch_max);
        while let Some(first) = rx.blocking_recv() {
            merge.push(first);
            // Draining everything queued keeps workers from waiting on a
            // full channel while this one waits for a slower worker.
            while let Ok(more) = rx.try_recv() {
                merge.push(more);
            }
            self.drain(&mut merge, &mut ready);
        }
        merge.close();
        self.drain(&mut merge, &mut ready);
    }

    /// Decide everything every worker is past, a batch at a time.
    fn drain(&mut self, merge: &mut Merge, ready: &mut Vec<Candidate>) {
        loop {
            merge.take_ready(self.ctx.batch_max.max(1), ready);
            if ready.is_empty() {
                return;
            }
            while !ready.is_empty() {
                let n = same_plan_run(ready, |c| &c.plan);
                let run: Vec<Candidate> = ready.drain(..n).collect();
                self.process(run);
            }
        }
    }

    /// One run of candidates routed with one plan, through every stage.
    fn process(&mut self, run: Vec<Candidate>) {
        let plan = run[0].plan.clone();
        let (ctx, pool) = (&self.ctx, self.pool.on(&plan));
        let now_of = |e: &crate::event::Event| ctx.now_ms(e);
        let alerts = decide::decide(pool, &*ctx.history, &plan, run, now_of);
        let fired = deliver::log_alerts(&self.outputs, &plan, &ctx.stats, alerts);
        let bytes = &self.outputs.delivery_bytes;
        let deliveries = format::format(pool, &plan, fired, |alert| now_of(&alert.event), bytes);
        deliver::hand_off(&self.outputs, deliveries);
    }
}

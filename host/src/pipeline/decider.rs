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

use tokio::sync::mpsc::{self, error::TryRecvError};

use super::merge::Merge;
use super::progress::Seen;
use super::work::{Candidate, DecideOutputs, Verdicts, same_plan_run};
use super::worker::{Stage, StagePool, WorkerContext};
use super::{decide, deliver, format};

pub fn spawn_decider(
    ctx: WorkerContext,
    merge: Merge,
    rx: mpsc::Receiver<Verdicts>,
    outputs: DecideOutputs,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(format!("klaxon-decide-{}", ctx.id))
        .spawn(move || Decider::new(ctx, outputs).run(merge, rx))
        .expect("cannot spawn decider thread")
}

struct Decider {
    ctx: WorkerContext,
    outputs: DecideOutputs,
    pool: StagePool,
}

impl Decider {
    fn new(ctx: WorkerContext, outputs: DecideOutputs) -> Decider {
        let pool = StagePool::new(&ctx, Stage::Decide);
        Decider { ctx, outputs, pool }
    }

    /// Take what is ready until nothing is, then say what it waits for
    /// and sleep until a worker has something or passes it.
    fn run(mut self, mut merge: Merge, mut rx: mpsc::Receiver<Verdicts>) {
        self.ctx.warm(&mut self.pool);
        let mut ready = Vec::with_capacity(self.ctx.batch_max);
        loop {
            let seen = merge.seen();
            // Draining everything queued keeps workers from waiting on a
            // full channel while this one waits for a slower worker.
            let open = loop {
                match rx.try_recv() {
                    Ok(more) => merge.push(more),
                    Err(TryRecvError::Empty) => break true,
                    Err(TryRecvError::Disconnected) => break false,
                }
            };
            if !open {
                break;
            }
            if self.drain(&mut merge, &seen, &mut ready) || merge.wait() {
                continue;
            }
            let Some(first) = rx.blocking_recv() else { break };
            merge.awake();
            merge.push(first);
        }
        merge.close();
        let seen = merge.seen();
        self.drain(&mut merge, &seen, &mut ready);
    }

    /// Decide everything every worker is past, a batch at a time; `true`
    /// if there was anything.
    fn drain(&mut self, merge: &mut Merge, seen: &Seen, ready: &mut Vec<Candidate>) -> bool {
        let mut any = false;
        loop {
            merge.take_ready(self.ctx.batch_max.max(1), seen, ready);
            if ready.is_empty() {
                return any;
            }
            any = true;
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
        let outputs = &self.outputs;
        let hand_off = |tp: &_, delivery| deliver::hand_off(outputs, tp, delivery);
        format::format(pool, &plan, fired, |alert| now_of(&alert.event), bytes, hand_off);
    }
}

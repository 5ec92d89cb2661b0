//! The router: one OS thread of its own between the sources and the
//! workers. It folds each event into market state, finds the templates
//! whose selectors match it (through the index, not a scan), and shards it
//! to workers by each template's declared key (`shard_by`), so every event
//! of one symbol, or of one account, meets the same worker, in order.
//!
//! A thread, not a tokio task: routing is CPU-bound and runs for every
//! event, so it must not share a runtime thread with the sockets that feed
//! it. Hand-offs are batched on both sides: sources send batches of events
//! (a replay's 256, a frame's trades, what a busy connection queued), and
//! the router takes whatever is already queued (up to [`ROUTE_BATCH`]
//! events, never waiting for more) and sends each worker one `Vec` of it,
//! one channel operation per batch instead of per event.
//!
//! Every event gets a sequence number, the order the deciders keep across
//! workers. A hand-off goes only to the workers that got events; the rest
//! learn nothing and are not woken: the router publishes how far it has
//! routed (`progress.rs`), which is how the deciders know not to wait on a
//! worker that simply got nothing.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::mpsc;

use crate::budget::ByteBudget;
use crate::config::ShardKey;
use crate::event::{Event, Sym};
use crate::market::MarketState;
use crate::telemetry::metrics;

use super::plan::Plan;
use super::progress::Progress;
use super::stats::RunStats;
use super::wait;
use super::work::{Routed, WorkItem};

/// Most events routed before the router hands its batches on.
pub const ROUTE_BATCH: usize = 256;

pub struct Router {
    pub market: MarketState,
    pub plan: Arc<ArcSwap<Plan>>,
    pub workers: Vec<mpsc::Sender<Routed>>,
    /// Each worker's queue budget, in events (see [`Router::hand_off`]).
    pub queued: Vec<Arc<ByteBudget>>,
    pub stats: Arc<RunStats>,
    pub progress: Arc<Progress>,
    /// The next event's sequence number.
    pub seq: u64,
}

impl Router {
    pub fn spawn(self, rx: mpsc::Receiver<Vec<Event>>) -> std::thread::JoinHandle<()> {
        std::thread::Builder::new()
            .name("klaxon-router".into())
            .spawn(move || self.run(rx))
            .expect("cannot spawn router thread")
    }

    fn run(mut self, mut rx: mpsc::Receiver<Vec<Event>>) {
        let mut batches: Vec<Vec<WorkItem>> = self.workers.iter().map(|_| Vec::new()).collect();
        let mut route = RouteBuffers::default();
        while let Some(events) = rx.blocking_recv() {
            let mut routed = events.len();
            for event in events {
                self.route(event, &mut route, &mut batches);
            }
            while routed < ROUTE_BATCH {
                let Ok(events) = rx.try_recv() else { break };
                routed += events.len();
                for event in events {
                    self.route(event, &mut route, &mut batches);
                }
            }
            if !self.hand_off(&mut batches) {
                return;
            }
        }
    }

    /// Fold `event` into market state and queue it for each worker that
    /// owns one of its templates. The plan is read per event, so a swap
    /// applies from the next event on; each item carries its plan.
    fn route(&mut self, mut event: Event, buf: &mut RouteBuffers, out: &mut [Vec<WorkItem>]) {
        RunStats::add(&self.stats.events_in, 1);
        buf.count_in(event.venue);
        let seq = self.seq;
        self.seq += 1;
        let snapshot = self.market.apply(&mut event);
        let plan = self.plan.load_full();
        buf.targets.clear();
        plan.routes.route(&event, &mut buf.targets);
        if buf.targets.is_empty() {
            RunStats::add(&self.stats.events_unrouted, 1);
            return;
        }
        let workers = out.len();
        buf.shards.clear();
        match plan.shard_by {
            Some(key) => buf.shards.push(shard_of(key, &event, workers)),
            None => buf.shards.extend(
                (buf.targets.iter())
                    .map(|t| shard_of(plan.templates[*t as usize].shard_by, &event, workers)),
            ),
        }
        let event = Arc::new(event);
        let first = buf.shards[0];
        if buf.shards.iter().all(|&s| s == first) {
            let targets = buf.shared_targets();
            let item = WorkItem { seq, event, market: snapshot, plan, targets, first_share: true };
            out[first].push(item);
            return;
        }
        let mut first_share = true;
        for (worker, batch) in out.iter_mut().enumerate() {
            let targets: Arc<[u32]> = (buf.targets.iter().zip(&buf.shards))
                .filter(|(_, s)| **s == worker)
                .map(|(t, _)| *t)
                .collect();
            if !targets.is_empty() {
                let (event, plan) = (event.clone(), plan.clone());
                batch.push(WorkItem { seq, event, market: snapshot, plan, targets, first_share });
                first_share = false;
            }
        }
    }

    /// Publish how far routing got, then send each worker that got events
    /// its batch; `false` once a worker is gone.
    ///
    /// A worker's queue is bounded in events, not in hand-offs: a router
    /// that keeps up hands on one event at a time, and a queue of 32
    /// hand-offs then held 32 events, so a worker busy for a millisecond
    /// (a whale trade passing hundreds of thresholds) made the router, and
    /// then the sources, wait. The budget holds `channel_capacity` events
    /// per worker however they are batched.
    fn hand_off(&self, batches: &mut [Vec<WorkItem>]) -> bool {
        for (shard, batch) in batches.iter().enumerate() {
            if !batch.is_empty() {
                self.progress.routed_to(shard, self.seq);
            }
        }
        self.progress.routed(self.seq);
        for (shard, batch) in batches.iter_mut().enumerate() {
            if batch.is_empty() {
                continue;
            }
            let lease = self.queued[shard].acquire(batch.len(), "route");
            let routed = Routed { items: std::mem::take(batch), upto: self.seq, lease };
            if wait::blocking_send(&self.workers[shard], routed, "route").is_err() {
                tracing::error!(shard, "Evaluate worker is gone; stopping the router.");
                return false;
            }
        }
        true
    }
}

/// The worker that owns `event` for a template sharded by `key`.
fn shard_of(key: ShardKey, event: &Event, workers: usize) -> usize {
    let by = match key {
        ShardKey::Symbol => event.symbol,
        ShardKey::Account => event.account.unwrap_or(event.symbol),
    };
    by.id() as usize % workers
}

/// The router's reusable per-event scratch.
#[derive(Default)]
struct RouteBuffers {
    targets: Vec<u32>,
    /// The worker of each target, or one worker for all of them.
    shards: Vec<usize>,
    /// The last target list handed on: the next event that routes alike
    /// (with 1,000 templates, most do) shares it instead of a copy.
    last: Option<Arc<[u32]>>,
    /// Counter per venue, looked up once: a labelled lookup per event would
    /// hash the label on the hot path.
    events_in: HashMap<Sym, prometheus::IntCounter>,
}

impl RouteBuffers {
    fn shared_targets(&mut self) -> Arc<[u32]> {
        match &self.last {
            Some(last) if **last == self.targets[..] => last.clone(),
            _ => self.last.insert(Arc::from(&self.targets[..])).clone(),
        }
    }

    fn count_in(&mut self, venue: Sym) {
        self.events_in
            .entry(venue)
            .or_insert_with(|| metrics().pipeline_events_in.with_label_values(&[&venue.name()]))
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    fn fill(symbol: &str, account: Option<&str>) -> Event {
        let mut e =
            Event::new(EventKind::PerpFill, Sym::new("rt-venue"), Sym::new(symbol), "x".into(), 0);
        e.account = account.map(Sym::new);
        e
    }

    /// Waits (ordering only, nothing is timed) until `done` holds.
    fn settle(done: impl Fn() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    #[test]
    fn a_workers_queue_holds_its_budget_in_events_however_they_are_batched() {
        let toml = "[plugins]\nwatch = false\ncache_dir = \"\"\n\
            [templates.a]\n\
            filter = { plugin = \"amount-threshold\", params = { min_notional_usd = 1 } }\n";
        let config = crate::config::load_str(toml, "router budget test").unwrap();
        let (market, _) = MarketState::new(&config.raw().market);
        let rt = crate::app::Runtime::new(&config, &market).unwrap();
        let (plan, _) = super::super::plan_enabled(&config, &rt.library, &rt.services, 1);
        let (to_worker, mut worker) = mpsc::channel(64);
        let budget = ByteBudget::new(3);
        let router = Router {
            market,
            plan: Arc::new(ArcSwap::from_pointee(plan)),
            workers: vec![to_worker],
            queued: vec![budget.clone()],
            stats: Arc::default(),
            progress: Arc::new(Progress::new(1, 1)),
            seq: 0,
        };
        let (events, rx) = mpsc::channel(16);
        let thread = router.spawn(rx);
        // Single-event hand-offs, as a router that keeps up makes them.
        for n in 1..=3 {
            events.blocking_send(vec![fill("rt-BTC", None)]).unwrap();
            settle(|| budget.used() == n);
            assert_eq!((budget.used(), worker.len()), (n, n));
        }
        events.blocking_send(vec![fill("rt-BTC", None)]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(worker.len(), 3, "a fourth event waits: the queue holds 3 events");
        drop(worker.blocking_recv().unwrap()); // evaluated: its event's room is back
        settle(|| worker.len() == 3);
        assert_eq!((budget.used(), worker.len()), (3, 3), "and the fourth went in");
        drop(events);
        let mut rest = 0;
        while let Some(routed) = worker.blocking_recv() {
            rest += routed.items.len();
        }
        assert_eq!(rest, 3, "nothing lost");
        thread.join().unwrap();
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn an_account_sharded_template_keeps_one_account_on_one_worker() {
        let symbols = ["rt-BTC", "rt-ETH", "rt-SOL", "rt-DOGE", "rt-ARB", "rt-OP", "rt-SUI"];
        let by_account: Vec<usize> = symbols
            .iter()
            .map(|s| shard_of(ShardKey::Account, &fill(s, Some("rt-0xabc")), 4))
            .collect();
        assert!(by_account.iter().all(|&w| w == by_account[0]), "{by_account:?}");
        let by_symbol: Vec<usize> = symbols
            .iter()
            .map(|s| shard_of(ShardKey::Symbol, &fill(s, Some("rt-0xabc")), 4))
            .collect();
        assert!(by_symbol.iter().any(|&w| w != by_symbol[0]), "symbols spread: {by_symbol:?}");
        // No account: by symbol.
        let e = fill("rt-BTC", None);
        assert_eq!(shard_of(ShardKey::Account, &e, 4), shard_of(ShardKey::Symbol, &e, 4));
    }
}

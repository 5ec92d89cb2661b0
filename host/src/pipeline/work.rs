//! What moves between the stages: routed events from the router to the
//! evaluate workers, candidate alerts from the workers to the deciders, and
//! the channels a decider's results go out on. Kept apart from the threads
//! so the stages depend on this data, not on each other.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::alert::{Alert, Delivery, Pass};
use crate::event::Event;
use crate::market::Snapshot;

use super::plan::Plan;

/// One routed event on its way to a worker.
pub struct WorkItem {
    /// The router's sequence number: the event order every later stage
    /// keeps, across workers.
    pub seq: u64,
    pub event: Arc<Event>,
    pub market: Snapshot,
    pub plan: Arc<Plan>,
    /// Indices into `plan.templates`, ascending; shared by the events
    /// that route alike (the router keeps the last list).
    pub targets: Arc<[u32]>,
    /// False for the second and later shares of an event whose templates
    /// shard to different workers: the event is counted once.
    pub first_share: bool,
}

/// One hand-off from the router to a worker. `upto` is a watermark: every
/// event numbered below it has been routed, so a worker that got nothing
/// still tells the deciders they need not wait for it.
pub struct Routed {
    pub items: Vec<WorkItem>,
    pub upto: u64,
    /// The events' share of the worker's queue budget, given back once
    /// the worker has evaluated them.
    pub lease: crate::budget::Lease,
}

/// A filter's pass on its way to the decider that owns its key.
pub struct Candidate {
    pub seq: u64,
    /// Index into `plan.templates`.
    pub template: u32,
    /// Where the key's history is kept ([`super::partition::history_key`]).
    pub key: String,
    pub event: Arc<Event>,
    pub plan: Arc<Plan>,
    pub pass: Pass,
}

/// One hand-off from a worker to a decider: its candidates, in event
/// order, and the worker's watermark (every event below `upto` that was
/// routed to it has been evaluated). `u64::MAX` when the worker is done.
pub struct Verdicts {
    pub worker: usize,
    pub upto: u64,
    pub candidates: Vec<Candidate>,
}

/// Where a decider's results go. Senders are dropped when the decider
/// exits, which is how the alert log and sinks learn that the input has
/// ended.
pub struct DecideOutputs {
    pub alerts: mpsc::Sender<Arc<Alert>>,
    pub sinks: HashMap<String, mpsc::Sender<Arc<Delivery>>>,
    /// Bytes of messages the sinks may hold (`pipeline.delivery_bytes`).
    pub delivery_bytes: Arc<crate::budget::ByteBudget>,
}

/// How many of `items`, from the first, were routed with the first one's
/// plan: a plan swap splits a batch into runs, each on its own versions.
pub fn same_plan_run<T>(items: &[T], plan_of: impl Fn(&T) -> &Arc<Plan>) -> usize {
    let Some(first) = items.first() else { return 0 };
    let plan = plan_of(first);
    items.iter().take_while(|i| Arc::ptr_eq(plan_of(i), plan)).count()
}

//! What moves between the stages of a worker: the routed event coming in,
//! and the channels results go out on. Kept apart from the worker so the
//! stages depend on this data, not on the worker that runs them.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::alert::{Alert, Delivery};
use crate::event::Event;
use crate::market::Snapshot;

use super::plan::Plan;

/// One routed event on its way to a worker.
pub struct WorkItem {
    pub event: Arc<Event>,
    pub market: Snapshot,
    pub plan: Arc<Plan>,
    /// Indices into `plan.templates`, ascending.
    pub targets: Vec<u32>,
    /// False for the second and later shares of an event whose templates
    /// shard to different workers: the event is counted once.
    pub first_share: bool,
}

/// Where a worker's results go. Senders are dropped when the worker exits,
/// which is how the alert log and sinks learn that the input has ended.
pub struct WorkerOutputs {
    pub alerts: mpsc::Sender<Arc<Alert>>,
    pub sinks: HashMap<String, mpsc::Sender<Arc<Delivery>>>,
    /// Bytes of messages the sinks may hold (`pipeline.delivery_bytes`).
    pub delivery_bytes: Arc<crate::budget::ByteBudget>,
}

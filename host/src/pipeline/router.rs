//! The router: the one task between the sources and the workers. It folds
//! each event into market state, finds the templates whose selectors match
//! it (through the index, not a scan), and shards it to a worker by its
//! routing key, so every event of an alert key meets the same worker, in
//! order.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::mpsc;

use crate::event::Event;
use crate::market::MarketState;
use crate::telemetry::metrics;

use super::plan::Plan;
use super::stats::RunStats;
use super::wait;
use super::work::WorkItem;

/// The router: update market state, find matching templates, shard by
/// symbol. The plan is read per event, so a published swap applies from
/// the next event on, and each item carries the plan it was routed with.
pub async fn route_events(
    mut rx: mpsc::Receiver<Event>,
    mut market: MarketState,
    plan: Arc<ArcSwap<Plan>>,
    workers: Vec<mpsc::Sender<WorkItem>>,
    stats: Arc<RunStats>,
) {
    let mut targets = Vec::new();
    // Counter per venue, looked up once: a labelled lookup per event would
    // hash the label on the hot path.
    let mut events_in: HashMap<crate::event::Sym, prometheus::IntCounter> = HashMap::new();
    while let Some(mut event) = rx.recv().await {
        RunStats::add(&stats.events_in, 1);
        events_in
            .entry(event.venue)
            .or_insert_with(|| {
                metrics().pipeline_events_in.with_label_values(&[event.venue.name().as_ref()])
            })
            .inc();
        let snapshot = market.apply(&mut event);
        let current = plan.load_full();
        targets.clear();
        current.routes.route(&event, &mut targets);
        if targets.is_empty() {
            RunStats::add(&stats.events_unrouted, 1);
            continue;
        }
        let shard = event.symbol.id() as usize % workers.len();
        let item = WorkItem {
            event: Arc::new(event),
            market: snapshot,
            plan: current,
            targets: targets.clone(),
        };
        if wait::send(&workers[shard], item, "route").await.is_err() {
            tracing::error!(shard, "Evaluate worker is gone; stopping the router.");
            return;
        }
    }
}

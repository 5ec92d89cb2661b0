//! Queue depth per stage (`klaxon_queue_depth{stage}`,
//! `klaxon_queue_capacity{stage}`, `klaxon_sink_queue_depth{sink}`), read
//! when `/metrics` is scraped rather than kept up to date on every send:
//! the hot path pays nothing, and a stalled stage still shows its full
//! queue (a gauge set on send or receive would freeze when traffic stops).
//!
//! Probes hold weak senders, so they never keep a channel open: once every
//! stage has shut down the probe reports zeros and unregisters.

use tokio::sync::mpsc;

use crate::telemetry::metrics;

/// (items queued, capacity) of one channel, `None` once it is closed.
type Probe = Box<dyn Fn() -> Option<(usize, usize)> + Send + Sync>;

pub(super) fn probe<T: Send + 'static>(tx: &mpsc::Sender<T>) -> Probe {
    let weak = tx.downgrade();
    Box::new(move || {
        // Holding the upgraded sender for the read only: if the last real
        // sender drops meanwhile, the channel closes when this one does.
        let tx = weak.upgrade()?;
        Some((tx.max_capacity() - tx.capacity(), tx.max_capacity()))
    })
}

/// (events queued, budget) of a queue bounded in events (a worker's),
/// `None` once it is closed.
pub(super) fn probe_budget<T: Send + 'static>(
    tx: &mpsc::Sender<T>,
    budget: &std::sync::Arc<crate::budget::ByteBudget>,
) -> Probe {
    let (weak, budget) = (tx.downgrade(), budget.clone());
    Box::new(move || {
        let _open = weak.upgrade()?;
        Some((budget.used(), budget.max()))
    })
}

/// The queues of one pipeline.
#[derive(Default)]
pub(super) struct Depths {
    /// By reading stage; a stage with several queues (workers) is summed.
    pub stages: Vec<(&'static str, Vec<Probe>)>,
    /// Each sink's own queue; their sum is the `deliver` stage.
    pub sinks: Vec<(String, Probe)>,
}

impl Depths {
    /// Sample at every render from now on, while any queue is open.
    pub fn watch(self) {
        crate::telemetry::on_render(move || self.sample());
    }

    /// Set the gauges; `false` once every queue has closed.
    fn sample(&self) -> bool {
        let m = metrics();
        let read = |p: &Probe| p().unwrap_or_default();
        let mut totals: Vec<(&str, (usize, usize))> = self
            .stages
            .iter()
            .map(|(stage, probes)| (*stage, probes.iter().map(read).fold((0, 0), add)))
            .collect();
        if !self.sinks.is_empty() {
            let mut deliver = (0, 0);
            for (sink, probe) in &self.sinks {
                let queue = read(probe);
                m.sink_queue_depth.with_label_values(&[sink]).set(queue.0 as i64);
                deliver = add(deliver, queue);
            }
            totals.push(("deliver", deliver));
        }
        for (stage, (depth, capacity)) in &totals {
            m.queue_depth.with_label_values(&[stage]).set(*depth as i64);
            m.queue_capacity.with_label_values(&[stage]).set(*capacity as i64);
        }
        // A closed queue reads as capacity 0.
        totals.iter().any(|(_, (_, capacity))| *capacity > 0)
    }
}

fn add(a: (usize, usize), b: (usize, usize)) -> (usize, usize) {
    (a.0 + b.0, a.1 + b.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_read_at_render_and_the_probe_ends_with_its_queues() {
        let (a, _a_rx) = mpsc::channel::<u32>(4);
        let (b, _b_rx) = mpsc::channel::<u32>(8);
        let (s, _s_rx) = mpsc::channel::<u32>(2);
        let depths = Depths {
            stages: vec![("depth-test", vec![probe(&a), probe(&b)])],
            sinks: vec![("depth-test-sink".into(), probe(&s))],
        };
        a.try_send(1).unwrap();
        b.try_send(2).unwrap();
        b.try_send(3).unwrap();
        s.try_send(4).unwrap();
        assert!(depths.sample());
        let m = metrics();
        assert_eq!(m.queue_depth.with_label_values(&["depth-test"]).get(), 3);
        assert_eq!(m.queue_capacity.with_label_values(&["depth-test"]).get(), 12);
        assert_eq!(m.sink_queue_depth.with_label_values(&["depth-test-sink"]).get(), 1);
        // A probe does not keep its channel open.
        drop((a, b, s));
        assert!(_a_rx.is_closed());
        assert!(!depths.sample(), "every queue closed");
        assert_eq!(m.queue_depth.with_label_values(&["depth-test"]).get(), 0);
        assert_eq!(m.sink_queue_depth.with_label_values(&["depth-test-sink"]).get(), 0);
    }
}

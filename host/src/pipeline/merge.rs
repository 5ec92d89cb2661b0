//! A decider's input: one stream of candidates per worker, each already in
//! event order, merged into one in (event sequence, template) order.
//!
//! A candidate may only be taken once every worker's watermark is past it:
//! until then a slower worker may still send an earlier event of the same
//! key. Workers always send their watermark (see `partition.rs`), so an idle
//! worker never holds the merge back for longer than one hand-off, and a
//! worker that is gone counts as past everything.
//!
//! What waits here is bounded by the channels before it: a worker can only
//! run ahead of another by what the router has queued for it.

use std::collections::VecDeque;

use super::work::{Candidate, Verdicts};

pub struct Merge {
    queues: Vec<VecDeque<Candidate>>,
    /// Each worker's watermark.
    upto: Vec<u64>,
}

impl Merge {
    pub fn new(workers: usize) -> Merge {
        Merge { queues: (0..workers).map(|_| VecDeque::new()).collect(), upto: vec![0; workers] }
    }

    pub fn push(&mut self, verdicts: Verdicts) {
        let w = verdicts.worker;
        self.upto[w] = self.upto[w].max(verdicts.upto);
        self.queues[w].extend(verdicts.candidates);
    }

    /// Every worker is gone: whatever is queued can be taken.
    pub fn close(&mut self) {
        self.upto.fill(u64::MAX);
    }

    /// Move up to `max` candidates every worker is past into `out`, merged.
    pub fn take_ready(&mut self, max: usize, out: &mut Vec<Candidate>) {
        let frontier = self.upto.iter().copied().min().unwrap_or(u64::MAX);
        while out.len() < max {
            let next = (self.queues.iter().enumerate())
                .filter_map(|(w, q)| q.front().map(|c| ((c.seq, c.template), w)))
                .filter(|((seq, _), _)| *seq < frontier)
                .min();
            let Some((_, w)) = next else { break };
            out.extend(self.queues[w].pop_front());
        }
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.queues.iter().all(VecDeque::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::alert::{Pass, Severity};
    use crate::event::{Event, EventKind, Sym};
    use crate::pipeline::Plan;

    fn candidate(seq: u64, template: u32) -> Candidate {
        let event = Event::new(EventKind::Trade, Sym::new("m-v"), Sym::new("m-s"), "e".into(), 0);
        let pass = Pass {
            alert_key: "k".into(),
            severity: Severity::Info,
            value: 0.0,
            title: String::new(),
            fields: Vec::new(),
        };
        let plan = Arc::new(Plan::empty());
        Candidate { seq, template, key: "k".into(), event: Arc::new(event), plan, pass }
    }

    fn verdicts(worker: usize, upto: u64, c: &[(u64, u32)]) -> Verdicts {
        let candidates = c.iter().map(|&(s, t)| candidate(s, t)).collect();
        Verdicts { worker, upto, candidates }
    }

    fn order(out: &[Candidate]) -> Vec<(u64, u32)> {
        out.iter().map(|c| (c.seq, c.template)).collect()
    }

    #[test]
    fn waits_for_the_slowest_worker_then_merges_in_event_order() {
        let mut m = Merge::new(2);
        let mut out = Vec::new();
        m.push(verdicts(0, 10, &[(3, 0), (7, 1)]));
        m.take_ready(100, &mut out);
        assert!(out.is_empty(), "worker 1 has said nothing yet");
        m.push(verdicts(1, 5, &[(2, 0), (4, 0)]));
        m.take_ready(100, &mut out);
        assert_eq!(order(&out), [(2, 0), (3, 0), (4, 0)], "below worker 1's watermark 5");
        out.clear();
        m.push(verdicts(1, 12, &[(7, 0)]));
        m.take_ready(100, &mut out);
        assert_eq!(order(&out), [(7, 0), (7, 1)], "one event's shares in template order");
        assert!(m.is_empty());
    }

    #[test]
    fn a_closed_merge_drains_and_max_bounds_a_take() {
        let mut m = Merge::new(3);
        m.push(verdicts(0, 4, &[(1, 0), (2, 0), (3, 0)]));
        m.close();
        let mut out = Vec::new();
        m.take_ready(2, &mut out);
        assert_eq!(order(&out), [(1, 0), (2, 0)]);
        m.take_ready(10, &mut out);
        assert_eq!(out.len(), 3);
    }
}

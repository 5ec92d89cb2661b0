//! A decider's input: one stream of candidates per worker, each already in
//! event order, merged into one in (event sequence, template) order.
//!
//! A candidate may only be taken once every worker is past it: until then a
//! slower worker may still send an earlier event of the same key. How far a
//! worker is comes from its messages and from the progress it publishes
//! (`progress.rs`), so a worker with nothing for this decider need not send
//! it anything; a worker that is gone counts as past everything.
//!
//! What waits here is bounded by the channels before it: a worker can only
//! run ahead of another by what the router has queued for it.

use std::collections::VecDeque;
use std::sync::Arc;

use super::progress::{Progress, Seen};
use super::work::{Candidate, Verdicts};

pub struct Merge {
    queues: Vec<VecDeque<Candidate>>,
    /// Each worker's watermark, as its messages said.
    upto: Vec<u64>,
    /// Messages received from each worker.
    received: Vec<u64>,
    progress: Arc<Progress>,
    decider: usize,
}

impl Merge {
    pub fn new(workers: usize, progress: Arc<Progress>, decider: usize) -> Merge {
        Merge {
            queues: (0..workers).map(|_| VecDeque::new()).collect(),
            upto: vec![0; workers],
            received: vec![0; workers],
            progress,
            decider,
        }
    }

    /// Everyone's progress: read it before draining the channel.
    pub fn seen(&self) -> Seen {
        self.progress.seen(self.decider)
    }

    pub fn push(&mut self, verdicts: Verdicts) {
        let w = verdicts.worker;
        self.upto[w] = self.upto[w].max(verdicts.upto);
        self.received[w] += 1;
        self.queues[w].extend(verdicts.candidates);
    }

    /// Every worker is gone: whatever is queued can be taken.
    pub fn close(&mut self) {
        self.upto.fill(u64::MAX);
    }

    /// The first event not every worker is past.
    fn frontier(&self, seen: &Seen) -> u64 {
        (0..self.upto.len())
            .map(|w| seen.past(w, self.upto[w], self.received[w]))
            .min()
            .unwrap_or(u64::MAX)
    }

    /// Move up to `max` candidates every worker is past into `out`, merged.
    pub fn take_ready(&mut self, max: usize, seen: &Seen, out: &mut Vec<Candidate>) {
        let frontier = self.frontier(seen);
        while out.len() < max {
            let next = (self.queues.iter().enumerate())
                .filter_map(|(w, q)| q.front().map(|c| ((c.seq, c.template), w)))
                .filter(|((seq, _), _)| *seq < frontier)
                .min();
            let Some((_, w)) = next else { break };
            out.extend(self.queues[w].pop_front());
        }
    }

    /// Before sleeping: tell the workers the first event held here, then
    /// look once more. `true` if something can be taken after all.
    pub fn wait(&self) -> bool {
        let held = self.queues.iter().filter_map(|q| q.front().map(|c| c.seq)).min();
        self.progress.waiting(self.decider, held.unwrap_or(u64::MAX));
        held.is_some_and(|seq| seq < self.frontier(&self.seen()))
    }

    /// Awake: no worker need wake this decider until it waits again.
    pub fn awake(&self) {
        self.progress.waiting(self.decider, u64::MAX);
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

    fn merge(workers: usize) -> (Merge, Arc<Progress>) {
        let progress = Arc::new(Progress::new(workers, 1));
        (Merge::new(workers, progress.clone(), 0), progress)
    }

    fn take(m: &mut Merge, max: usize, out: &mut Vec<Candidate>) {
        let seen = m.seen();
        m.take_ready(max, &seen, out);
    }

    fn order(out: &[Candidate]) -> Vec<(u64, u32)> {
        out.iter().map(|c| (c.seq, c.template)).collect()
    }

    #[test]
    fn waits_for_the_slowest_worker_then_merges_in_event_order() {
        let (mut m, _) = merge(2);
        let mut out = Vec::new();
        m.push(verdicts(0, 10, &[(3, 0), (7, 1)]));
        take(&mut m, 100, &mut out);
        assert!(out.is_empty(), "worker 1 has said nothing yet");
        m.push(verdicts(1, 5, &[(2, 0), (4, 0)]));
        take(&mut m, 100, &mut out);
        assert_eq!(order(&out), [(2, 0), (3, 0), (4, 0)], "below worker 1's watermark 5");
        out.clear();
        m.push(verdicts(1, 12, &[(7, 0)]));
        take(&mut m, 100, &mut out);
        assert_eq!(order(&out), [(7, 0), (7, 1)], "one event's shares in template order");
        assert!(m.is_empty());
    }

    #[test]
    fn a_closed_merge_drains_and_max_bounds_a_take() {
        let (mut m, _) = merge(3);
        m.push(verdicts(0, 4, &[(1, 0), (2, 0), (3, 0)]));
        m.close();
        let mut out = Vec::new();
        take(&mut m, 2, &mut out);
        assert_eq!(order(&out), [(1, 0), (2, 0)]);
        take(&mut m, 10, &mut out);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn a_worker_that_got_nothing_holds_nothing_back() {
        let (mut m, progress) = merge(2);
        // Events 0..6 all went to worker 0; worker 1 never heard of them.
        progress.routed_to(0, 6);
        progress.routed(6);
        m.push(verdicts(0, 6, &[(2, 0), (5, 0)]));
        let mut out = Vec::new();
        take(&mut m, 100, &mut out);
        assert_eq!(order(&out), [(2, 0), (5, 0)]);
        // Event 6 goes to worker 1: worker 0's event 7 waits for it.
        progress.routed_to(1, 7);
        progress.routed_to(0, 8);
        progress.routed(8);
        m.push(verdicts(0, 8, &[(7, 0)]));
        assert!(!m.wait(), "worker 1 has not evaluated event 6");
        let woken: Vec<usize> = progress.evaluated(1, 7).collect();
        assert_eq!(woken, [0], "worker 1 wakes the decider it held back");
        assert!(m.wait());
        take(&mut m, 100, &mut out);
        assert_eq!(order(&out)[2..], [(7, 0)]);
    }
}

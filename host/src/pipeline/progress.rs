//! How far each stage has got, shared between the threads so that no
//! stage has to send a message only to say "nothing for you".
//!
//! The deciders merge every worker's stream in event order and may take an
//! event only once every worker is past it (`merge.rs`). Telling them so
//! with a message per hand-off woke every worker and every decider for each
//! event, most of them for nothing: on 2 cores those wake-ups were most of
//! an alert's latency. Here the router and the workers publish their
//! progress in atomics instead, and a message goes only where there is
//! work, or where a decider said it is waiting:
//!
//! * the router publishes `routed` (every event below it is queued for the
//!   workers that own it) and, per worker, `routed_to` (one past the last
//!   event it queued there). A worker that has evaluated everything routed
//!   to it is past `routed`, whether or not it got anything;
//! * a worker publishes `evaluated` (every event routed to it below it is
//!   evaluated, its candidates sent) and counts the messages it sent each
//!   decider, so a decider trusts `evaluated` only once it has received
//!   them all (a channel with several senders may show a later message
//!   before an earlier one has landed);
//! * a decider publishes `waiting`, the lowest event it holds and cannot
//!   take yet; a worker that moves past it sends that decider an empty
//!   message to wake it. Both sides store, then load, sequentially
//!   consistent, so one of them always sees the other (the worker sends, or
//!   the decider sees the new `evaluated` before it sleeps).
//!
//! Everything here is `SeqCst`: a few atomics per hand-off, not per event,
//! and one ordering to reason about.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::SeqCst;

/// The shared progress of one pipeline.
pub struct Progress {
    routed: AtomicU64,
    workers: Vec<WorkerProgress>,
    /// Per decider.
    waiting: Vec<AtomicU64>,
}

struct WorkerProgress {
    routed_to: AtomicU64,
    evaluated: AtomicU64,
    /// Messages sent to each decider.
    sent: Vec<AtomicU64>,
}

/// What a decider read of one worker's progress.
#[derive(Debug, Clone, Copy)]
pub struct WorkerMark {
    routed_to: u64,
    evaluated: u64,
    sent: u64,
}

/// What a decider read of the whole pipeline's progress, before it drained
/// its channel.
#[derive(Debug, Clone)]
pub struct Seen {
    routed: u64,
    workers: Vec<WorkerMark>,
}

impl Progress {
    pub fn new(workers: usize, deciders: usize) -> Progress {
        let zeros = |n| (0..n).map(|_| AtomicU64::new(0)).collect::<Vec<_>>();
        Progress {
            routed: AtomicU64::new(0),
            workers: (0..workers)
                .map(|_| WorkerProgress {
                    routed_to: AtomicU64::new(0),
                    evaluated: AtomicU64::new(0),
                    sent: zeros(deciders),
                })
                .collect(),
            waiting: (0..deciders).map(|_| AtomicU64::new(u64::MAX)).collect(),
        }
    }

    /// Router: events below `upto` were queued for `worker`. Call for each
    /// worker that got some, then [`Progress::routed`], then send.
    pub fn routed_to(&self, worker: usize, upto: u64) {
        self.workers[worker].routed_to.store(upto, SeqCst);
    }

    /// Router: every event below `upto` is queued for its workers.
    pub fn routed(&self, upto: u64) {
        self.routed.store(upto, SeqCst);
    }

    /// Worker: one more message sent to `decider`.
    pub fn sent(&self, worker: usize, decider: usize) {
        self.workers[worker].sent[decider].fetch_add(1, SeqCst);
    }

    /// Worker: everything routed to it below `upto` is evaluated and its
    /// candidates sent. Returns the deciders waiting for an event this
    /// moves it past, which the worker must wake.
    pub fn evaluated(&self, worker: usize, upto: u64) -> impl Iterator<Item = usize> + '_ {
        let w = &self.workers[worker];
        w.evaluated.fetch_max(upto, SeqCst);
        let past = past(upto, w.routed_to.load(SeqCst), self.routed.load(SeqCst));
        (self.waiting.iter().enumerate())
            .filter(move |(_, w)| w.load(SeqCst) < past)
            .map(|(d, _)| d)
    }

    /// Decider: the lowest event it holds and cannot take (`u64::MAX`:
    /// none). Read [`Progress::seen`] after this, before sleeping.
    pub fn waiting(&self, decider: usize, seq: u64) {
        self.waiting[decider].store(seq, SeqCst);
    }

    /// Decider: everyone's progress, read before draining its channel.
    pub fn seen(&self, decider: usize) -> Seen {
        let routed = self.routed.load(SeqCst);
        let workers = (self.workers.iter())
            .map(|w| WorkerMark {
                routed_to: w.routed_to.load(SeqCst),
                evaluated: w.evaluated.load(SeqCst),
                sent: w.sent[decider].load(SeqCst),
            })
            .collect();
        Seen { routed, workers }
    }
}

impl Seen {
    /// How far `worker` is, given what its messages said (`upto`) and how
    /// many of them arrived: its published progress counts only once every
    /// message it sent before is in; a worker that has evaluated all it was
    /// given is past everything routed.
    pub fn past(&self, worker: usize, upto: u64, received: u64) -> u64 {
        let mark = self.workers[worker];
        let evaluated = if received >= mark.sent { upto.max(mark.evaluated) } else { upto };
        past(evaluated, mark.routed_to, self.routed)
    }
}

/// How far a worker is that has evaluated what was routed to it below
/// `evaluated`: once that is all it was given (`routed_to`), it is past
/// everything routed.
fn past(evaluated: u64, routed_to: u64, routed: u64) -> u64 {
    if evaluated >= routed_to { evaluated.max(routed) } else { evaluated }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_worker_is_past_everything_routed() {
        let p = Progress::new(2, 1);
        p.routed_to(0, 5);
        p.routed(5);
        let seen = p.seen(0);
        assert_eq!(seen.past(0, 0, 0), 0, "worker 0 has not evaluated what it got");
        assert_eq!(seen.past(1, 0, 0), 5, "worker 1 got nothing");
    }

    #[test]
    fn published_progress_counts_once_its_messages_are_in() {
        let p = Progress::new(1, 1);
        p.routed_to(0, 8);
        p.routed(8);
        p.sent(0, 0);
        assert_eq!(p.evaluated(0, 8).count(), 0, "nobody waits");
        let seen = p.seen(0);
        assert_eq!(seen.past(0, 0, 0), 0, "its message has not arrived yet");
        assert_eq!(seen.past(0, 8, 1), 8);
    }

    #[test]
    fn a_waiting_decider_is_named_to_the_worker_that_passes_it() {
        let p = Progress::new(1, 2);
        p.routed_to(0, 4);
        p.routed(4);
        p.waiting(1, 3);
        assert_eq!(p.evaluated(0, 3).collect::<Vec<_>>(), Vec::<usize>::new());
        assert_eq!(p.evaluated(0, 4).collect::<Vec<_>>(), [1]);
        p.waiting(1, u64::MAX);
        assert_eq!(p.evaluated(0, 9).count(), 0);
    }

    #[test]
    fn a_worker_that_catches_up_wakes_a_decider_waiting_past_its_events() {
        // Worker 0 got event 2; event 5 went elsewhere. A decider holding
        // event 5 waits on worker 0 until it has evaluated event 2.
        let p = Progress::new(2, 1);
        p.routed_to(0, 3);
        p.routed(6);
        p.waiting(0, 5);
        assert_eq!(p.seen(0).past(0, 0, 0), 0);
        assert_eq!(p.evaluated(0, 3).collect::<Vec<_>>(), [0], "past 5 once caught up");
        assert_eq!(p.seen(0).past(0, 0, 0), 6);
    }
}

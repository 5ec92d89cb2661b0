//! Which decider owns a candidate alert: a pure function of (template,
//! history key), so every decision about one key is made by one thread,
//! whatever worker evaluated its event. Evaluation shards by the template's
//! routing key (`shard_by`); a plugin may key its alerts by something else
//! (an account across many symbols), and this is what keeps such a key's
//! cooldown on one owner.
//!
//! [`ToDeciders`] is a worker's side of the hand-off. A decider merges its
//! workers' streams in event order and may only take an event once every
//! worker is past it; the worker publishes how far it is (`progress.rs`)
//! and sends a decider a message only with candidates for it, or to wake it
//! when it waits for this worker.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::KeyScope;
use crate::event::Event;

use super::evaluate::Passed;
use super::plan::{Plan, TemplatePlan};
use super::progress::Progress;
use super::wait;
use super::work::{Candidate, Verdicts, WorkItem};

/// Where a pass's history is kept: under its key on its event's venue, so
/// spot and futures `BTCUSDT` cool down apart, unless the template keeps
/// keys across venues.
pub fn history_key(tp: &TemplatePlan, event: &Event, key: &str) -> String {
    match tp.alert_keys {
        KeyScope::CrossVenue => key.to_owned(),
        KeyScope::PerVenue => format!("{}/{key}", event.venue.name()),
    }
}

/// The decider of `key` of template `template`, out of `deciders`.
pub fn decider_of(template: &str, key: &str, deciders: usize) -> usize {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(template.as_bytes());
    h.update(&[0]);
    h.update(key.as_bytes());
    (h.digest() % deciders.max(1) as u64) as usize
}

/// A worker's senders to every decider.
pub struct ToDeciders {
    worker: usize,
    txs: Vec<mpsc::Sender<Verdicts>>,
    progress: Arc<Progress>,
    /// Candidates per decider, gathered over one hand-off.
    pending: Vec<Vec<Candidate>>,
}

impl ToDeciders {
    pub fn new(
        worker: usize,
        txs: Vec<mpsc::Sender<Verdicts>>,
        progress: Arc<Progress>,
    ) -> ToDeciders {
        let pending = txs.iter().map(|_| Vec::new()).collect();
        ToDeciders { worker, txs, progress, pending }
    }

    /// Queue the passes of one run for the deciders that own their keys.
    pub fn push(&mut self, plan: &Arc<Plan>, run: &[WorkItem], passed: Vec<Passed>) {
        for (row, t, pass) in passed {
            let tp = &plan.templates[t as usize];
            let item = &run[row];
            let key = history_key(tp, &item.event, &pass.alert_key);
            let d = decider_of(tp.id.as_str(), &key, self.txs.len());
            self.pending[d].push(Candidate {
                seq: item.seq,
                template: t,
                key,
                event: item.event.clone(),
                plan: plan.clone(),
                pass,
            });
        }
    }

    /// Send each decider what was queued for it, with the watermark, then
    /// publish the watermark and wake the deciders that wait for it.
    /// `false` once a decider is gone.
    pub fn flush(&mut self, upto: u64) -> bool {
        for d in 0..self.txs.len() {
            if !self.pending[d].is_empty() && !self.send(d, upto) {
                return false;
            }
        }
        let waiting: Vec<usize> = self.progress.evaluated(self.worker, upto).collect();
        waiting.into_iter().all(|d| self.send(d, upto))
    }

    fn send(&mut self, d: usize, upto: u64) -> bool {
        let candidates = std::mem::take(&mut self.pending[d]);
        let verdicts = Verdicts { worker: self.worker, upto, candidates };
        let sent = wait::blocking_send(&self.txs[d], verdicts, "decide").is_ok();
        self.progress.sent(self.worker, d);
        sent
    }
}

impl Drop for ToDeciders {
    /// A worker that ends, even by panicking, releases every decider from
    /// waiting for it.
    fn drop(&mut self) {
        for d in 0..self.txs.len() {
            self.send(d, u64::MAX);
        }
        self.progress.evaluated(self.worker, u64::MAX).for_each(drop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_has_one_decider_and_keys_spread() {
        let d = decider_of("t", "binance/0xabc", 4);
        assert!((0..10).all(|_| decider_of("t", "binance/0xabc", 4) == d));
        let owners: std::collections::HashSet<usize> =
            (0..64).map(|i| decider_of("t", &format!("k{i}"), 4)).collect();
        assert_eq!(owners.len(), 4, "64 keys over 4 deciders use them all");
        // The template is part of the owner: not every template's "k" meets
        // the same decider.
        let by_template: std::collections::HashSet<usize> =
            (0..64).map(|i| decider_of(&format!("t{i}"), "k", 4)).collect();
        assert!(by_template.len() > 1);
        assert_eq!(decider_of("t", "k", 1), 0);
    }
}

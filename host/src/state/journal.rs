//! The memory stores with a journal of what changed since the last flush,
//! so a persistent backend can be written behind in batches: a decision
//! costs a hash insert on the hot path, never a write.
//!
//! The journal holds keys, not values: the flush reads each key's current
//! value (or its absence: evicted, expired or deleted) when it runs, so a
//! key changed a hundred times between flushes is written once, and the
//! journal is bounded by the keys the stores hold (themselves bounded per
//! template).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Notify;

use crate::alert::{History, TemplateId};

use super::{
    HistoryBound, HistoryStore, KvError, KvQuota, KvStore, KvUsage, MemoryHistory, MemoryKv,
    Outcome,
};

/// One template's latest bound or quota, and its changed keys.
type Dirty<B> = (Option<B>, HashSet<String>);

/// Keys changed per template, with the template's latest bound or quota.
pub struct Journal<B> {
    dirty: Mutex<HashMap<TemplateId, Dirty<B>>>,
    count: AtomicUsize,
    /// Latest host time seen, for pruning in the caller's clock.
    latest_ms: AtomicU64,
    batch: usize,
    wake: std::sync::Arc<Notify>,
}

/// What one template changed, taken from a journal.
pub struct Changed<B> {
    pub template: TemplateId,
    pub limit: Option<B>,
    pub keys: Vec<String>,
}

impl<B: Copy> Journal<B> {
    pub fn new(batch: usize, wake: std::sync::Arc<Notify>) -> Journal<B> {
        Journal {
            dirty: Mutex::default(),
            count: AtomicUsize::new(0),
            latest_ms: AtomicU64::new(0),
            batch,
            wake,
        }
    }

    pub fn mark(&self, template: &TemplateId, key: &str, limit: Option<B>, now_ms: u64) {
        self.latest_ms.fetch_max(now_ms, Ordering::Relaxed);
        let mut dirty = self.dirty.lock().expect("journal lock poisoned");
        let (l, keys) = dirty.entry(template.clone()).or_default();
        if limit.is_some() {
            *l = limit;
        }
        if !keys.contains(key) {
            keys.insert(key.to_owned());
            // A full batch wakes the flusher early; otherwise it runs on
            // its interval.
            if self.count.fetch_add(1, Ordering::Relaxed) + 1 == self.batch {
                self.wake.notify_one();
            }
        }
    }

    /// Everything changed so far; the journal starts empty again.
    pub fn take(&self) -> Vec<Changed<B>> {
        let dirty = std::mem::take(&mut *self.dirty.lock().expect("journal lock poisoned"));
        self.count.store(0, Ordering::Relaxed);
        dirty
            .into_iter()
            .map(|(template, (limit, keys))| Changed {
                template,
                limit,
                keys: keys.into_iter().collect(),
            })
            .collect()
    }

    /// Put back what a failed flush took, to be written next time.
    pub fn put_back(&self, changed: Vec<Changed<B>>) {
        for c in changed {
            for key in &c.keys {
                self.mark(&c.template, key, c.limit, 0);
            }
        }
    }

    pub fn latest_ms(&self) -> u64 {
        self.latest_ms.load(Ordering::Relaxed)
    }
}

/// Cooldown history in memory, journaled.
pub struct JournaledHistory {
    pub live: MemoryHistory,
    pub journal: Journal<HistoryBound>,
}

impl HistoryStore for JournaledHistory {
    fn get(&self, template: &TemplateId, key: &str, now_ms: u64) -> History {
        self.live.get(template, key, now_ms)
    }

    fn record(
        &self,
        template: &TemplateId,
        key: &str,
        outcome: Outcome,
        now_ms: u64,
        bound: HistoryBound,
    ) {
        self.live.record(template, key, outcome, now_ms, bound);
        self.journal.mark(template, key, Some(bound), now_ms);
    }
}

/// Plugin KV in memory, journaled.
pub struct JournaledKv {
    pub live: MemoryKv,
    pub journal: Journal<KvQuota>,
}

impl KvStore for JournaledKv {
    fn get(&self, template: &TemplateId, key: &str, now_ms: u64) -> Option<String> {
        self.live.get(template, key, now_ms)
    }

    fn set(
        &self,
        template: &TemplateId,
        key: &str,
        value: String,
        ttl_ms: Option<u64>,
        now_ms: u64,
        quota: KvQuota,
    ) -> Result<(), KvError> {
        self.live.set(template, key, value, ttl_ms, now_ms, quota)?;
        self.journal.mark(template, key, Some(quota), now_ms);
        Ok(())
    }

    fn delete(&self, template: &TemplateId, key: &str) {
        self.live.delete(template, key);
        self.journal.mark(template, key, None, 0);
    }

    fn usage(&self, template: &TemplateId, now_ms: u64) -> KvUsage {
        self.live.usage(template, now_ms)
    }
}

//! State the host keeps on behalf of plugins: cooldown history per alert key,
//! and the key-value store each template's plugins may use.
//!
//! Both are traits with three backends, chosen by `[state] backend`
//! ([`StateConfig`], opened by [`open`]):
//! * `memory` (`memory.rs`): nothing survives the process;
//! * `embedded` (the default): the memory stores, journaled
//!   (`journal.rs`) and written behind in batches (`flush.rs`) to an SQLite
//!   file beside the alert log (`sqlite.rs`), restored at start;
//! * `redis` (`redis/`): history read and claimed atomically in Redis, so
//!   hosts sharing it fire a key once; KV served from a local copy, written
//!   behind to Redis under the same quotas, restored at start.
//!
//! Every key is scoped by template: one user's template can never read
//! another's keys, because the template id is part of the key and plugins
//! cannot choose it.
//!
//! Time is always passed in (`now_ms`) rather than read here, because replays
//! run in simulated time and TTLs must expire in that time, not the wall's.

mod config;
mod flush;
mod health;
mod journal;
mod memory;
mod open;
mod redis;
mod sqlite;
#[cfg(test)]
mod tests;

pub use config::{StateBackend, StateConfig};
pub use health::{StateHealth, health, register_metrics};
pub use memory::{MemoryHistory, MemoryKv};
pub use open::{StateError, StateHandle, open};

use crate::alert::{History, Severity, TemplateId};

/// What happened to one candidate alert, as history remembers it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    Fired { severity: Severity, value: f64 },
    Suppressed,
}

/// How much history one template may keep (from its `limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryBound {
    /// Alert keys kept; past it the least recently seen are forgotten.
    pub keys: usize,
    /// A key not seen for this long is forgotten.
    pub ttl_ms: u64,
}

/// Cooldown history per (template, alert key), bounded per template, so a
/// plugin minting a new key per event cannot grow the host without bound.
pub trait HistoryStore: Send + Sync + 'static {
    /// What is known about `key`; a default (never fired) history if
    /// nothing, or if it was forgotten.
    fn get(&self, template: &TemplateId, key: &str, now_ms: u64) -> History;

    /// Record a decision. Must be atomic with respect to concurrent `get`s of
    /// the same key (the pipeline keeps one key on one worker, but a shared
    /// backend may serve several hosts).
    fn record(
        &self,
        template: &TemplateId,
        key: &str,
        outcome: Outcome,
        now_ms: u64,
        bound: HistoryBound,
    );

    /// The histories of many (template, key, now) at once: one round trip
    /// on a shared backend.
    fn get_many(&self, keys: &[(&TemplateId, &str, u64)]) -> Vec<History> {
        keys.iter().map(|(t, k, now)| self.get(t, k, *now)).collect()
    }

    /// Record the decisions of one wave (distinct keys). A fire *claims* its
    /// key: on a backend shared by several hosts it is recorded only if the
    /// key's last fire is still the one in `seen`, so of two hosts firing one
    /// key at once exactly one wins; the other's fire is recorded as a
    /// suppression and comes back [`Committed::Lost`]. A backend that only
    /// this host writes always wins.
    fn commit(&self, records: &[Record<'_>]) -> Vec<Committed> {
        for r in records {
            self.record(r.template, r.key, r.outcome, r.now_ms, r.bound);
        }
        vec![Committed::Recorded; records.len()]
    }
}

/// One decision for [`HistoryStore::commit`].
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub template: &'a TemplateId,
    pub key: &'a str,
    pub outcome: Outcome,
    pub now_ms: u64,
    pub bound: HistoryBound,
    /// The history the decision was made on.
    pub seen: &'a History,
}

/// What [`HistoryStore::commit`] did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    Recorded,
    /// A fire another host claimed first; recorded as a suppression.
    Lost,
}

/// The suppression reason of a lost claim. Bounded: the decide stage maps
/// it to the reason class `claimed_elsewhere`.
pub const CLAIMED_ELSEWHERE: &str = "claimed by another host";

/// What one template may hold in the KV store (from its `limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvQuota {
    pub keys: usize,
    /// Keys plus values, bytes.
    pub bytes: usize,
}

/// What one template holds in the KV store now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KvUsage {
    pub keys: usize,
    pub bytes: usize,
}

/// Plugin key-value store, scoped per template, with optional TTL. Key and
/// value sizes are checked by the caller (the host API) before a write gets
/// here; the store holds each template to its quota of keys and bytes.
pub trait KvStore: Send + Sync + 'static {
    fn get(&self, template: &TemplateId, key: &str, now_ms: u64) -> Option<String>;
    /// Errors when the write would take the template over its quota.
    fn set(
        &self,
        template: &TemplateId,
        key: &str,
        value: String,
        ttl_ms: Option<u64>,
        now_ms: u64,
        quota: KvQuota,
    ) -> Result<(), KvError>;
    fn delete(&self, template: &TemplateId, key: &str);
    /// Live keys and bytes of `template` (expired entries not counted).
    fn usage(&self, template: &TemplateId, now_ms: u64) -> KvUsage;
}

/// A write refused by the quota: which limit (its config key), the value
/// the write would have reached, and the limit.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("KV quota `{limit}` of template `{template}` exceeded: {value} > {max}")]
pub struct KvError {
    pub template: String,
    pub limit: &'static str,
    pub value: usize,
    pub max: usize,
}

//! State the host keeps on behalf of plugins: cooldown history per alert key,
//! and the key-value store each template's plugins may use.
//!
//! Both are traits so that several hosts can share state later (a Redis
//! backend implements the same traits); `memory.rs` is the embedded default.
//! Every key is scoped by template: one user's template can never read
//! another's keys, because the template id is part of the key and plugins
//! cannot choose it.
//!
//! Time is always passed in (`now_ms`) rather than read here, because replays
//! run in simulated time and TTLs must expire in that time, not the wall's.

mod memory;

pub use memory::{MemoryHistory, MemoryKv};

use crate::alert::{History, Severity, TemplateId};

/// What happened to one candidate alert, as history remembers it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    Fired { severity: Severity, value: f64 },
    Suppressed,
}

/// Cooldown history per (template, alert key).
pub trait HistoryStore: Send + Sync + 'static {
    /// What is known about `key`; a default (never fired) history if nothing.
    fn get(&self, template: &TemplateId, key: &str) -> History;

    /// Record a decision. Must be atomic with respect to concurrent `get`s of
    /// the same key (the pipeline keeps one key on one worker, but a shared
    /// backend may serve several hosts).
    fn record(&self, template: &TemplateId, key: &str, outcome: Outcome, now_ms: u64);
}

/// Plugin key-value store, scoped per template, with optional TTL.
pub trait KvStore: Send + Sync + 'static {
    fn get(&self, template: &TemplateId, key: &str, now_ms: u64) -> Option<String>;
    /// Errors when the template is over its key quota.
    fn set(
        &self,
        template: &TemplateId,
        key: &str,
        value: String,
        ttl_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<(), KvError>;
    fn delete(&self, template: &TemplateId, key: &str);
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KvError {
    #[error("template `{template}` holds {limit} keys already (quota)")]
    QuotaExceeded { template: String, limit: usize },
    #[error("value for key `{key}` is {len} bytes, over the {limit}-byte limit")]
    ValueTooLarge { key: String, len: usize, limit: usize },
}

//! In-memory history and key-value store: the embedded default.
//!
//! A `std::sync::Mutex` rather than tokio's: callers are the evaluate worker
//! threads, critical sections are a hash lookup, and nothing awaits while
//! holding the lock (the same reasoning as mini-redis's `Db`).
//!
//! TTL expiry is lazy (on read) plus a sweep when a template hits its quota,
//! because time here is the caller's (possibly simulated) clock, which a TTL
//! cache such as moka cannot follow.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::alert::{History, TemplateId};

use super::{HistoryStore, KvError, KvStore, Outcome};

/// Cooldown history, bounded by the number of live alert keys.
#[derive(Default)]
pub struct MemoryHistory {
    entries: Mutex<HashMap<(TemplateId, String), History>>,
}

impl HistoryStore for MemoryHistory {
    fn get(&self, template: &TemplateId, key: &str) -> History {
        let entries = self.entries.lock().expect("history lock poisoned");
        entries.get(&(template.clone(), key.to_owned())).cloned().unwrap_or_default()
    }

    fn record(&self, template: &TemplateId, key: &str, outcome: Outcome, now_ms: u64) {
        let mut entries = self.entries.lock().expect("history lock poisoned");
        let h = entries.entry((template.clone(), key.to_owned())).or_default();
        match outcome {
            Outcome::Fired { severity, value } => {
                h.last_fired_ms = Some(now_ms);
                h.last_value = Some(value);
                h.last_severity = Some(severity);
                h.fires = h.fires.saturating_add(1);
                h.suppressed_since_fire = 0;
            }
            Outcome::Suppressed => {
                h.suppressed_since_fire = h.suppressed_since_fire.saturating_add(1)
            }
        }
    }
}

struct Entry {
    value: String,
    expires_at_ms: Option<u64>,
}

impl Entry {
    fn live(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_none_or(|t| t > now_ms)
    }
}

/// Plugin KV: per-template maps with a key quota and a value size limit, so
/// one template cannot exhaust host memory.
pub struct MemoryKv {
    templates: Mutex<HashMap<TemplateId, HashMap<String, Entry>>>,
    max_keys_per_template: usize,
    max_value_bytes: usize,
}

impl MemoryKv {
    pub fn new(max_keys_per_template: usize, max_value_bytes: usize) -> MemoryKv {
        MemoryKv { templates: Mutex::default(), max_keys_per_template, max_value_bytes }
    }
}

impl Default for MemoryKv {
    fn default() -> Self {
        MemoryKv::new(100_000, 64 * 1024)
    }
}

impl KvStore for MemoryKv {
    fn get(&self, template: &TemplateId, key: &str, now_ms: u64) -> Option<String> {
        let mut templates = self.templates.lock().expect("kv lock poisoned");
        let map = templates.get_mut(template)?;
        match map.get(key) {
            Some(e) if e.live(now_ms) => Some(e.value.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    fn set(
        &self,
        template: &TemplateId,
        key: &str,
        value: String,
        ttl_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<(), KvError> {
        if value.len() > self.max_value_bytes {
            return Err(KvError::ValueTooLarge {
                key: key.to_owned(),
                len: value.len(),
                limit: self.max_value_bytes,
            });
        }
        let mut templates = self.templates.lock().expect("kv lock poisoned");
        let map = templates.entry(template.clone()).or_default();
        if !map.contains_key(key) && map.len() >= self.max_keys_per_template {
            map.retain(|_, e| e.live(now_ms));
            if map.len() >= self.max_keys_per_template {
                return Err(KvError::QuotaExceeded {
                    template: template.to_string(),
                    limit: self.max_keys_per_template,
                });
            }
        }
        let expires_at_ms = ttl_ms.map(|ttl| now_ms.saturating_add(ttl));
        map.insert(key.to_owned(), Entry { value, expires_at_ms });
        Ok(())
    }

    fn delete(&self, template: &TemplateId, key: &str) {
        if let Some(map) = self.templates.lock().expect("kv lock poisoned").get_mut(template) {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;

    #[test]
    fn kv_is_scoped_per_template_and_expires_in_caller_time() {
        let kv = MemoryKv::default();
        let (a, b) = (TemplateId::new("a"), TemplateId::new("b"));
        kv.set(&a, "k", "1".into(), Some(1_000), 10_000).unwrap();
        assert_eq!(kv.get(&a, "k", 10_500).as_deref(), Some("1"));
        assert_eq!(kv.get(&b, "k", 10_500), None);
        assert_eq!(kv.get(&a, "k", 11_000), None);
    }

    #[test]
    fn kv_enforces_quota_after_sweeping_expired_keys() {
        let kv = MemoryKv::new(2, 16);
        let t = TemplateId::new("t");
        kv.set(&t, "a", "1".into(), Some(10), 0).unwrap();
        kv.set(&t, "b", "1".into(), None, 0).unwrap();
        assert!(matches!(kv.set(&t, "c", "1".into(), None, 5), Err(KvError::QuotaExceeded { .. })));
        kv.set(&t, "c", "1".into(), None, 20).unwrap();
        assert!(matches!(
            kv.set(&t, "d", "x".repeat(17), None, 20),
            Err(KvError::ValueTooLarge { .. })
        ));
    }

    #[test]
    fn history_counts_suppressions_since_last_fire() {
        let h = MemoryHistory::default();
        let t = TemplateId::new("t");
        h.record(&t, "k", Outcome::Fired { severity: Severity::Warning, value: 5.0 }, 100);
        h.record(&t, "k", Outcome::Suppressed, 150);
        h.record(&t, "k", Outcome::Suppressed, 160);
        let got = h.get(&t, "k");
        assert_eq!((got.fires, got.suppressed_since_fire, got.last_fired_ms), (1, 2, Some(100)));
        h.record(&t, "k", Outcome::Fired { severity: Severity::Critical, value: 6.0 }, 200);
        assert_eq!(h.get(&t, "k").suppressed_since_fire, 0);
    }
}

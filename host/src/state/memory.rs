//! In-memory history and key-value store: the embedded default.
//!
//! A `std::sync::Mutex` rather than tokio's: callers are the evaluate worker
//! threads, critical sections are a hash lookup, and nothing awaits while
//! holding the lock (the same reasoning as mini-redis's `Db`).
//!
//! TTL expiry is lazy (on read) plus a sweep when a template hits its quota
//! or its usage is asked for,
//! because time here is the caller's (possibly simulated) clock, which a TTL
//! cache such as moka cannot follow.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::alert::{History, TemplateId};

use super::{HistoryBound, HistoryStore, KvError, KvQuota, KvStore, KvUsage, Outcome};

/// Cooldown history: per template, keys with the host time they were last
/// seen. A full template forgets its expired keys, then the least recently
/// seen tenth in one pass (so eviction costs O(1) per insert, amortized).
#[derive(Default)]
pub struct MemoryHistory {
    templates: Mutex<HashMap<TemplateId, Keys>>,
}

/// One template's keys: history and the host time each was last seen.
type Keys = HashMap<String, (History, u64)>;

impl HistoryStore for MemoryHistory {
    fn get(&self, template: &TemplateId, key: &str, _now_ms: u64) -> History {
        let templates = self.templates.lock().expect("history lock poisoned");
        // An expired key is still exact here: it is dropped on the next
        // sweep, and its last fire is older than any sane cooldown.
        templates
            .get(template)
            .and_then(|keys| keys.get(key))
            .map(|(h, _)| h.clone())
            .unwrap_or_default()
    }

    fn record(
        &self,
        template: &TemplateId,
        key: &str,
        outcome: Outcome,
        now_ms: u64,
        bound: HistoryBound,
    ) {
        let mut templates = self.templates.lock().expect("history lock poisoned");
        let keys = templates.entry(template.clone()).or_default();
        if !keys.contains_key(key) && keys.len() >= bound.keys {
            forget_oldest(keys, now_ms, bound);
        }
        let (h, seen) = keys.entry(key.to_owned()).or_default();
        *seen = now_ms;
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

impl MemoryHistory {
    /// `key`'s history and the host time it was last seen, if kept.
    pub fn entry(&self, template: &TemplateId, key: &str) -> Option<(History, u64)> {
        let templates = self.templates.lock().expect("history lock poisoned");
        templates.get(template)?.get(key).cloned()
    }

    /// Put back a history read from a persistent store, within `bound`
    /// (restore oldest first: the most recently seen keys are kept).
    pub fn restore(
        &self,
        template: &TemplateId,
        key: &str,
        history: History,
        seen: u64,
        bound: HistoryBound,
    ) {
        let mut templates = self.templates.lock().expect("history lock poisoned");
        let keys = templates.entry(template.clone()).or_default();
        if !keys.contains_key(key) && keys.len() >= bound.keys {
            forget_oldest(keys, seen, bound);
        }
        keys.insert(key.to_owned(), (history, seen));
    }
}

/// Make room in a full template: expired keys, then the oldest tenth.
fn forget_oldest(keys: &mut Keys, now_ms: u64, bound: HistoryBound) {
    keys.retain(|_, (_, seen)| seen.saturating_add(bound.ttl_ms) > now_ms);
    if keys.len() < bound.keys {
        return;
    }
    let mut seen: Vec<u64> = keys.values().map(|(_, s)| *s).collect();
    let cut = (keys.len() / 10).max(1).min(seen.len() - 1);
    let (_, &mut oldest_kept, _) = seen.select_nth_unstable(cut);
    keys.retain(|_, (_, s)| *s >= oldest_kept);
    // Ties at the cut may keep too many; drop arbitrary ones of them.
    while keys.len() >= bound.keys {
        let Some(k) = keys.iter().find(|(_, (_, s))| *s == oldest_kept).map(|(k, _)| k.clone())
        else {
            break;
        };
        keys.remove(&k);
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

/// One template's keys and the bytes they hold (keys plus values).
#[derive(Default)]
struct Space {
    entries: HashMap<String, Entry>,
    bytes: usize,
}

impl Space {
    fn remove(&mut self, key: &str) {
        if let Some(e) = self.entries.remove(key) {
            self.bytes -= key.len() + e.value.len();
        }
    }

    fn sweep(&mut self, now_ms: u64) {
        let expired: Vec<String> =
            self.entries.iter().filter(|(_, e)| !e.live(now_ms)).map(|(k, _)| k.clone()).collect();
        for key in expired {
            self.remove(&key);
        }
    }

    fn usage(&self) -> KvUsage {
        KvUsage { keys: self.entries.len(), bytes: self.bytes }
    }
}

/// Plugin KV: one space per template, each held to its quota of keys and
/// bytes, so one template cannot exhaust host memory.
#[derive(Default)]
pub struct MemoryKv {
    templates: Mutex<HashMap<TemplateId, Space>>,
}

impl MemoryKv {
    pub fn new() -> MemoryKv {
        MemoryKv::default()
    }
}

impl KvStore for MemoryKv {
    fn get(&self, template: &TemplateId, key: &str, now_ms: u64) -> Option<String> {
        let mut templates = self.templates.lock().expect("kv lock poisoned");
        let space = templates.get_mut(template)?;
        match space.entries.get(key) {
            Some(e) if e.live(now_ms) => Some(e.value.clone()),
            Some(_) => {
                space.remove(key);
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
        quota: KvQuota,
    ) -> Result<(), KvError> {
        let expires_at_ms = ttl_ms.map(|ttl| now_ms.saturating_add(ttl));
        self.put(template, key, value, expires_at_ms, now_ms, quota)
    }

    fn delete(&self, template: &TemplateId, key: &str) {
        if let Some(space) = self.templates.lock().expect("kv lock poisoned").get_mut(template) {
            space.remove(key);
        }
    }

    fn usage(&self, template: &TemplateId, now_ms: u64) -> KvUsage {
        let mut templates = self.templates.lock().expect("kv lock poisoned");
        let Some(space) = templates.get_mut(template) else { return KvUsage::default() };
        space.sweep(now_ms);
        space.usage()
    }
}

impl MemoryKv {
    /// `key`'s value and expiry (host time), live or not, if held.
    pub fn entry(&self, template: &TemplateId, key: &str) -> Option<(String, Option<u64>)> {
        let templates = self.templates.lock().expect("kv lock poisoned");
        let e = templates.get(template)?.entries.get(key)?;
        Some((e.value.clone(), e.expires_at_ms))
    }

    /// Put back an entry read from a persistent store, held to `quota`
    /// like any write (a lowered quota keeps what fits).
    pub fn restore(
        &self,
        template: &TemplateId,
        key: &str,
        value: String,
        expires_at_ms: Option<u64>,
        quota: KvQuota,
    ) -> Result<(), KvError> {
        self.put(template, key, value, expires_at_ms, 0, quota)
    }

    fn put(
        &self,
        template: &TemplateId,
        key: &str,
        value: String,
        expires_at_ms: Option<u64>,
        now_ms: u64,
        quota: KvQuota,
    ) -> Result<(), KvError> {
        let mut templates = self.templates.lock().expect("kv lock poisoned");
        let space = templates.entry(template.clone()).or_default();
        let old = space.entries.get(key).map_or(0, |e| key.len() + e.value.len());
        let new = key.len() + value.len();
        let keys = space.entries.len() + usize::from(old == 0);
        if keys > quota.keys || space.bytes - old + new > quota.bytes {
            // Expired entries still count until swept; sweep, then decide.
            space.sweep(now_ms);
        }
        let old = space.entries.get(key).map_or(0, |e| key.len() + e.value.len());
        let refused =
            |limit, value, max| KvError { template: template.to_string(), limit, value, max };
        let keys = space.entries.len() + usize::from(old == 0);
        if keys > quota.keys {
            return Err(refused("kv_keys", keys, quota.keys));
        }
        let bytes = space.bytes - old + new;
        if bytes > quota.bytes {
            return Err(refused("kv_bytes", bytes, quota.bytes));
        }
        space.bytes = bytes;
        space.entries.insert(key.to_owned(), Entry { value, expires_at_ms });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;

    const ROOMY: KvQuota = KvQuota { keys: 100, bytes: 1 << 20 };

    #[test]
    fn kv_is_scoped_per_template_and_expires_in_caller_time() {
        let kv = MemoryKv::new();
        let (a, b) = (TemplateId::new("a"), TemplateId::new("b"));
        kv.set(&a, "k", "1".into(), Some(1_000), 10_000, ROOMY).unwrap();
        assert_eq!(kv.get(&a, "k", 10_500).as_deref(), Some("1"));
        assert_eq!(kv.get(&b, "k", 10_500), None);
        assert_eq!(kv.get(&a, "k", 11_000), None);
    }

    #[test]
    fn kv_holds_each_template_to_its_keys_and_bytes_after_sweeping_expired_keys() {
        let kv = MemoryKv::new();
        let quota = KvQuota { keys: 2, bytes: 8 };
        let t = TemplateId::new("t");
        kv.set(&t, "a", "1".into(), Some(10), 0, quota).unwrap();
        kv.set(&t, "b", "1".into(), None, 0, quota).unwrap();
        let err = kv.set(&t, "c", "1".into(), None, 5, quota).unwrap_err();
        assert_eq!((err.limit, err.value, err.max), ("kv_keys", 3, 2));
        kv.set(&t, "c", "1".into(), None, 20, quota).unwrap();
        assert_eq!(kv.usage(&t, 20), KvUsage { keys: 2, bytes: 4 });
        let err = kv.set(&t, "c", "x".repeat(7), None, 20, quota).unwrap_err();
        assert_eq!((err.limit, err.value), ("kv_bytes", 10));
        // Overwriting and deleting give bytes back.
        kv.set(&t, "c", "x".repeat(5), None, 20, quota).unwrap();
        kv.delete(&t, "b");
        assert_eq!(kv.usage(&t, 20), KvUsage { keys: 1, bytes: 6 });
        assert_eq!(kv.usage(&TemplateId::new("other"), 20), KvUsage::default());
    }

    const WIDE: HistoryBound = HistoryBound { keys: 1000, ttl_ms: u64::MAX };

    #[test]
    fn history_counts_suppressions_since_last_fire() {
        let h = MemoryHistory::default();
        let t = TemplateId::new("t");
        h.record(&t, "k", Outcome::Fired { severity: Severity::Warning, value: 5.0 }, 100, WIDE);
        h.record(&t, "k", Outcome::Suppressed, 150, WIDE);
        h.record(&t, "k", Outcome::Suppressed, 160, WIDE);
        let got = h.get(&t, "k", 160);
        assert_eq!((got.fires, got.suppressed_since_fire, got.last_fired_ms), (1, 2, Some(100)));
        h.record(&t, "k", Outcome::Fired { severity: Severity::Critical, value: 6.0 }, 200, WIDE);
        assert_eq!(h.get(&t, "k", 200).suppressed_since_fire, 0);
    }

    #[test]
    fn history_forgets_expired_then_least_recently_seen_keys_per_template() {
        let h = MemoryHistory::default();
        let (t, other) = (TemplateId::new("t"), TemplateId::new("other"));
        let bound = HistoryBound { keys: 10, ttl_ms: 1_000 };
        h.record(&other, "kept", Outcome::Suppressed, 0, bound);
        for i in 0..10u64 {
            h.record(&t, &format!("k{i}"), Outcome::Suppressed, i, bound);
        }
        h.record(&t, "k0", Outcome::Suppressed, 20, bound); // k0 seen again: now the newest
        h.record(&t, "new", Outcome::Suppressed, 30, bound); // full: k1, the oldest, goes
        assert_eq!(h.get(&t, "k1", 30).suppressed_since_fire, 0);
        assert_eq!(h.get(&t, "k0", 30).suppressed_since_fire, 2);
        // Far later, everything of `t` has expired: one new key clears them.
        for i in 0..10u64 {
            h.record(&t, &format!("late{i}"), Outcome::Suppressed, 5_000, bound);
        }
        assert_eq!(h.get(&t, "k0", 5_000).suppressed_since_fire, 0);
        assert_eq!(h.get(&t, "late9", 5_000).suppressed_since_fire, 1);
        assert_eq!(
            h.get(&other, "kept", 5_000).suppressed_since_fire,
            1,
            "other templates untouched"
        );
    }
}

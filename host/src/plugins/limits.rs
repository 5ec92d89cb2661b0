//! Bounds on everything that crosses from a guest to the host.
//!
//! The sandbox keeps a plugin from touching the machine; these keep what it
//! *returns* from hurting anyone else: an alert too big for the alert log, a
//! reason that would become a new metric series, a KV flood, a log flood.
//! Each bound has a default and a config key (the field name) under
//! `[limits]`, and every per-template key can be overridden by a template's
//! `limits` table. A breach is a [`Breach`]: a guest error for the template
//! that caused it, named with the limit and the value, counted with the
//! limit as a bounded label, and handled by the kind's failure policy.

use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Message, Pass};
use crate::state::{HistoryBound, KvQuota};

/// Per-template limits: the template's own `limits` table over `[limits]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Cap on the linear memory of the instance serving the template, MiB.
    pub memory_mib: u32,
    /// Wall-time budget of one call for one rule; batch calls scale it.
    #[serde(with = "humantime_serde")]
    pub call_timeout: Duration,
    pub alert_key_bytes: usize,
    pub title_bytes: usize,
    pub field_count: usize,
    /// Name plus value of one field.
    pub field_bytes: usize,
    /// Key, title and every field of one alert together.
    pub alert_bytes: usize,
    /// A formatter's title plus body.
    pub message_bytes: usize,
    /// The alerts handed to one `format-digest` call, together.
    pub digest_bytes: usize,
    pub suppress_reason_bytes: usize,
    pub log_line_bytes: usize,
    pub log_lines_per_call: u32,
    pub log_bytes_per_call: usize,
    /// Per template and instance (so per worker).
    pub log_lines_per_second: u32,
    pub log_bytes_per_second: usize,
    pub kv_key_bytes: usize,
    pub kv_value_bytes: usize,
    pub kv_keys: usize,
    /// Keys plus values the template holds in the KV store.
    pub kv_bytes: usize,
    /// Alert keys whose cooldown history the host keeps; the least
    /// recently used go first.
    pub history_keys: usize,
    /// History of a key not seen for this long is forgotten.
    #[serde(with = "humantime_serde")]
    pub history_ttl: Duration,
    /// Most wasm fuel (about one unit per instruction) one event may cost
    /// the plugin: a call over `n` events (rows times rules, decide items,
    /// alerts) may burn `n` times this. Checked when a version is
    /// validated (its smoke calls are measured on a metered engine), not
    /// on live calls. Unset: not checked. `klaxon plugin bench` prints it.
    pub fuel_per_call: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 16,
            call_timeout: Duration::from_millis(100),
            alert_key_bytes: 256,
            title_bytes: 512,
            field_count: 32,
            field_bytes: 1024,
            alert_bytes: 8 << 10,
            message_bytes: 16 << 10,
            digest_bytes: 256 << 10,
            suppress_reason_bytes: 256,
            log_line_bytes: 1024,
            log_lines_per_call: 20,
            log_bytes_per_call: 8 << 10,
            log_lines_per_second: 100,
            log_bytes_per_second: 64 << 10,
            kv_key_bytes: 256,
            kv_value_bytes: 16 << 10,
            kv_keys: 10_000,
            kv_bytes: 8 << 20,
            history_keys: 100_000,
            history_ttl: Duration::from_secs(24 * 3600),
            fuel_per_call: None,
        }
    }
}

impl Limits {
    pub fn memory_bytes(&self) -> usize {
        (self.memory_mib as usize) << 20
    }

    /// Every size limit, by config key, for validation (all must be > 0).
    pub(crate) fn sizes(&self) -> [(&'static str, usize); 19] {
        [
            ("memory_mib", self.memory_mib as usize),
            ("alert_key_bytes", self.alert_key_bytes),
            ("title_bytes", self.title_bytes),
            ("field_count", self.field_count),
            ("field_bytes", self.field_bytes),
            ("alert_bytes", self.alert_bytes),
            ("message_bytes", self.message_bytes),
            ("digest_bytes", self.digest_bytes),
            ("suppress_reason_bytes", self.suppress_reason_bytes),
            ("log_line_bytes", self.log_line_bytes),
            ("log_lines_per_call", self.log_lines_per_call as usize),
            ("log_bytes_per_call", self.log_bytes_per_call),
            ("log_lines_per_second", self.log_lines_per_second as usize),
            ("log_bytes_per_second", self.log_bytes_per_second),
            ("kv_key_bytes", self.kv_key_bytes),
            ("kv_value_bytes", self.kv_value_bytes),
            ("kv_keys", self.kv_keys),
            ("kv_bytes", self.kv_bytes),
            ("history_keys", self.history_keys),
        ]
    }

    /// A pass the next stages can take, or the first limit it breaks.
    pub fn check_pass(&self, pass: &Pass) -> Result<(), Breach> {
        Breach::check("alert_key_bytes", pass.alert_key.len(), self.alert_key_bytes)?;
        Breach::check("title_bytes", pass.title.len(), self.title_bytes)?;
        Breach::check("field_count", pass.fields.len(), self.field_count)?;
        let mut total = pass.alert_key.len() + pass.title.len();
        for (name, value) in &pass.fields {
            Breach::check("field_bytes", name.len() + value.len(), self.field_bytes)?;
            total += name.len() + value.len();
        }
        Breach::check("alert_bytes", total, self.alert_bytes)
    }

    pub fn check_message(&self, message: &Message) -> Result<(), Breach> {
        let len = message.title.len() + message.body.len();
        Breach::check("message_bytes", len, self.message_bytes)
    }

    pub fn history_bound(&self) -> HistoryBound {
        HistoryBound { keys: self.history_keys, ttl_ms: self.history_ttl.as_millis() as u64 }
    }

    pub fn kv_quota(&self) -> KvQuota {
        KvQuota { keys: self.kv_keys, bytes: self.kv_bytes }
    }

    pub fn check_reason(&self, reason: &str) -> Result<(), Breach> {
        Breach::check("suppress_reason_bytes", reason.len(), self.suppress_reason_bytes)
    }
}

/// Limits of the runtime as a whole: only under `[limits]`, never per
/// template, because they bound the engine, a component or a store.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeLimits {
    /// Largest plugin file accepted, bytes.
    pub component_bytes: usize,
    /// Most functions (defined, all core modules together) in one plugin:
    /// compile time and memory grow with it.
    pub component_functions: usize,
    /// Longest a plugin may take to compile before it is refused.
    #[serde(with = "humantime_serde")]
    pub compile_timeout: Duration,
    /// Most memory one compile may take, MiB (the worker process's
    /// `RLIMIT_DATA`).
    pub compile_memory_mib: usize,
    /// Maximum wasm stack of one call, bytes (wasmtime's `max_wasm_stack`).
    pub wasm_stack_bytes: usize,
    /// Most bytes one guest-to-host call may hand the host (wasmtime's
    /// hostcall fuel; its default, 128 MiB).
    pub hostcall_fuel: usize,
    /// `StoreLimits`: core instances, tables and memories per instance.
    /// componentize-py and componentize-js components link ~20 core
    /// instances (libc, the interpreter, adapters) and their tables.
    pub store_instances: usize,
    pub store_tables: usize,
    pub store_memories: usize,
    pub store_table_elements: usize,
    /// Most entries in one watchlist.
    pub watchlist_entries: usize,
    /// Most bytes of one watchlist entry, its value included.
    pub watchlist_entry_bytes: usize,
    /// Most bytes of every watchlist together (entries and values).
    pub watchlist_bytes: usize,
}

impl Default for RuntimeLimits {
    fn default() -> Self {
        RuntimeLimits {
            component_bytes: 64 << 20,
            component_functions: 50_000,
            compile_timeout: Duration::from_secs(60),
            compile_memory_mib: 2048,
            wasm_stack_bytes: 512 << 10,
            hostcall_fuel: 128 << 20,
            store_instances: 64,
            store_tables: 64,
            store_memories: 16,
            store_table_elements: 100_000,
            watchlist_entries: 100_000,
            watchlist_entry_bytes: 1024,
            watchlist_bytes: 32 << 20,
        }
    }
}

impl RuntimeLimits {
    /// The config keys that belong here rather than to a template.
    pub const KEYS: [&'static str; 13] = [
        "component_bytes",
        "component_functions",
        "compile_timeout",
        "compile_memory_mib",
        "wasm_stack_bytes",
        "hostcall_fuel",
        "store_instances",
        "store_tables",
        "store_memories",
        "store_table_elements",
        "watchlist_entries",
        "watchlist_entry_bytes",
        "watchlist_bytes",
    ];
}

/// A limit a guest's output broke: which, by how much.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("limit `{limit}` exceeded: {value} > {max}")]
pub struct Breach {
    /// The config key of the limit: a bounded metric label.
    pub limit: &'static str,
    pub value: usize,
    pub max: usize,
}

impl Breach {
    pub fn check(limit: &'static str, value: usize, max: usize) -> Result<(), Breach> {
        if value > max { Err(Breach { limit, value, max }) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;

    fn pass(key: &str, title: &str, fields: &[(&str, &str)]) -> Pass {
        Pass {
            alert_key: key.into(),
            severity: Severity::Info,
            value: 0.0,
            title: title.into(),
            fields: fields.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn a_pass_breaks_the_first_limit_it_exceeds_by_name_and_value() {
        let l = Limits { alert_key_bytes: 4, field_bytes: 6, alert_bytes: 12, ..Limits::default() };
        assert_eq!(l.check_pass(&pass("abcd", "t", &[("n", "v")])), Ok(()));
        let long_key = l.check_pass(&pass("abcde", "t", &[])).unwrap_err();
        assert_eq!((long_key.limit, long_key.value, long_key.max), ("alert_key_bytes", 5, 4));
        assert_eq!(
            l.check_pass(&pass("k", "t", &[("name", "val")])).unwrap_err().limit,
            "field_bytes"
        );
        let total = l.check_pass(&pass("k", "t", &[("a", "12345"), ("b", "12345")])).unwrap_err();
        assert_eq!((total.limit, total.value), ("alert_bytes", 14));
        assert_eq!(total.to_string(), "limit `alert_bytes` exceeded: 14 > 12");
    }

    #[test]
    fn field_count_and_message_and_reason_are_bounded() {
        let l = Limits {
            field_count: 1,
            message_bytes: 5,
            suppress_reason_bytes: 3,
            ..Limits::default()
        };
        assert_eq!(
            l.check_pass(&pass("k", "t", &[("a", "1"), ("b", "2")])).unwrap_err().limit,
            "field_count"
        );
        let message =
            Message { title: "ab".into(), body: "cdef".into(), markup: Default::default() };
        assert_eq!(l.check_message(&message).unwrap_err().value, 6);
        assert!(l.check_reason("abc").is_ok());
        assert_eq!(l.check_reason("abcd").unwrap_err().limit, "suppress_reason_bytes");
    }
}

//! What the host offers a plugin: logging, the host clock, a key-value store
//! scoped to the template, last prices, and the names of interned ids.
//!
//! Every call acts for one template: the one whose rule (policy, formatter)
//! the SDK is serving right now. The SDK tells the host which before it
//! serves each rule of a call that covers several (the private
//! `host.scope`), so a KV key or a log line always lands in the template
//! whose rule made it.
//!
//! Inside WebAssembly these call the `klaxon:plugin/host` imports. Everywhere
//! else (plain `cargo test`) they call the in-memory double in
//! [`testing`](crate::testing), because wit-bindgen's generated imports are
//! `unreachable!()` off-wasm.
//!
//! The KV store is the only state that survives the instance: the host
//! recycles instances (after a trap, a swap, or N calls), and several
//! workers may serve one template.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Duration;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// Writes a line to the host log, tagged with the template and plugin.
/// Do not log per event on the hot path: the host rate-limits plugin logs.
pub fn log(level: LogLevel, message: &str) {
    raw::log(level, message)
}

pub fn debug(message: &str) {
    log(LogLevel::Debug, message)
}

pub fn info(message: &str) {
    log(LogLevel::Info, message)
}

pub fn warn(message: &str) {
    log(LogLevel::Warn, message)
}

pub fn error(message: &str) {
    log(LogLevel::Error, message)
}

/// The host clock in unix milliseconds; simulated time during replay.
pub fn now_ms() -> u64 {
    raw::now_ms()
}

/// Reads a value from the template's key-value store.
pub fn kv_get(key: &str) -> Option<String> {
    raw::kv_get(key)
}

/// Writes a value; with `ttl` it expires that long after now (host clock).
pub fn kv_set(key: &str, value: &str, ttl: Option<Duration>) {
    raw::kv_set(key, value, ttl.map(|d| d.as_ms()))
}

/// Removes a key.
pub fn kv_delete(key: &str) {
    raw::kv_delete(key)
}

/// Reads a JSON value. A value that no longer parses as `T` (say, after a
/// plugin upgrade changed the layout) reads as `None`.
pub fn kv_get_json<T: DeserializeOwned>(key: &str) -> Option<T> {
    serde_json::from_str(&kv_get(key)?).ok()
}

/// Writes `value` as JSON.
pub fn kv_set_json<T: Serialize + ?Sized>(key: &str, value: &T, ttl: Option<Duration>) {
    // Serializing plain data into a String cannot fail; a `Serialize` impl
    // that errors is a plugin bug worth a trap.
    let json = serde_json::to_string(value).expect("kv_set_json: value does not serialize");
    kv_set(key, &json, ttl)
}

/// Last price the host has seen for `symbol` on any venue.
pub fn price(symbol: &str) -> Option<f64> {
    raw::price(symbol)
}

/// The name of an interned venue, symbol or account id (as in
/// [`Batch::symbol_ids`](crate::Batch::symbol_ids)); `None` for 0. Cached
/// per instance: each id reaches the host once.
pub fn name(id: u32) -> Option<&'static str> {
    crate::names::name(id, raw::name)
}

/// The backend: the WIT imports in wasm, the test double elsewhere.
///
/// `host.scope` is a host call of its own, and most rules of a batch make
/// no other (a threshold reads its columns and answers), so the SDK tells
/// the host which entry it serves only before a host call that acts for
/// one: [`raw::scope`] notes the entry, and every scoped import first
/// calls [`raw::sync_scope`]. A batch export ends with
/// [`raw::end_entries`], so that a later single-rule call (which the host
/// scopes itself) does not send a stale entry.
#[cfg(target_arch = "wasm32")]
pub(crate) mod raw {
    use core::sync::atomic::{AtomicU32, Ordering::Relaxed};

    use super::LogLevel;
    use crate::__private::base::klaxon::plugin::host as wit;

    const NONE: u32 = u32::MAX;
    /// The entry being served, and the one the host was last told.
    static SERVING: AtomicU32 = AtomicU32::new(NONE);
    static TOLD: AtomicU32 = AtomicU32::new(NONE);

    /// From now on, serve entry `index` of the call.
    pub fn scope(index: u32) {
        SERVING.store(index, Relaxed);
    }

    /// Tell the host the entry being served, if it does not know it yet.
    pub fn sync_scope() {
        let serving = SERVING.load(Relaxed);
        if serving != NONE && serving != TOLD.load(Relaxed) {
            wit::scope(serving);
            TOLD.store(serving, Relaxed);
        }
    }

    /// The batch export is done: the next call starts unscoped.
    pub fn end_entries() {
        SERVING.store(NONE, Relaxed);
        TOLD.store(NONE, Relaxed);
    }

    pub fn log(level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Debug => wit::LogLevel::Debug,
            LogLevel::Info => wit::LogLevel::Info,
            LogLevel::Warn => wit::LogLevel::Warn,
            LogLevel::Error => wit::LogLevel::Error,
        };
        sync_scope();
        wit::log(level, message)
    }

    pub fn now_ms() -> u64 {
        sync_scope();
        wit::now_ms()
    }

    pub fn kv_get(key: &str) -> Option<String> {
        sync_scope();
        wit::kv_get(key)
    }

    pub fn kv_set(key: &str, value: &str, ttl_ms: Option<u64>) {
        sync_scope();
        wit::kv_set(key, value, ttl_ms)
    }

    pub fn kv_delete(key: &str) {
        sync_scope();
        wit::kv_delete(key)
    }

    pub fn price(symbol: &str) -> Option<f64> {
        sync_scope();
        wit::price(symbol)
    }

    pub fn report_panic(message: &str) {
        sync_scope();
        wit::report_panic(message)
    }

    pub use wit::name;
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use crate::testing::double as raw;

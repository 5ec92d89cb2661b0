//! What a plugin may call: the `klaxon:plugin/host` interface.
//!
//! One `HostState` lives in each Store. An instance serves many rules (one
//! per template) of one trust domain, so every host call acts for the
//! template the current call is *scoped* to: the call point sets the scope
//! table before each guest call (one entry for a single-rule call, the call's
//! rule list for a batch) and the guest picks its entry with `scope`. A KV
//! call with no scope selected is refused. Nothing here blocks on I/O: a
//! guest blocked in a host call cannot be interrupted by the epoch deadline.

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::StoreLimits;

use crate::alert::TemplateId;
use crate::event::Sym;
use crate::market::Prices;
use crate::state::KvStore;

use super::PluginRef;
use super::bindings::{Host, LogLevel, filter::klaxon::plugin::types};

/// Most log lines one instance may write per call; the rest are counted.
const LOG_LINES_PER_CALL: u32 = 20;
/// Longest log line or panic message kept; longer ones are cut.
const TEXT_MAX: usize = 1024;

/// Shared, read-mostly services a plugin may use.
#[derive(Clone)]
pub struct HostServices {
    pub kv: Arc<dyn KvStore>,
    pub prices: Prices,
}

/// A buffered KV write: a value with its TTL, or `None` for a delete.
type PendingWrite = Option<(String, Option<u64>)>;

pub struct HostState {
    pub(crate) plugin: PluginRef,
    pub(crate) services: HostServices,
    /// Host clock for this call: wall time, or the event's time in replay.
    pub(crate) now_ms: u64,
    pub(crate) limits: StoreLimits,
    pub(crate) logs_this_call: u32,
    /// The templates the current call may act for, by entry index.
    pub(crate) scopes: Vec<TemplateId>,
    /// The host clock of each entry of `scopes`, if they differ.
    pub(crate) times: Vec<u64>,
    /// The entry of `scopes` host calls act for now.
    pub(crate) current: Option<usize>,
    /// What the guest's panic hook reported before trapping.
    pub(crate) panic: Option<String>,
    /// A misuse of the host API during this call (the call fails with it).
    pub(crate) guest_error: Option<String>,
    /// KV writes of the current call, applied only if the call succeeds:
    /// a call that fails is retried (see `pool`), and must not have added
    /// to a running sum the first time.
    pending: HashMap<(TemplateId, String), PendingWrite>,
}

impl HostState {
    pub fn new(plugin: PluginRef, services: HostServices, limits: StoreLimits) -> HostState {
        HostState {
            plugin,
            services,
            now_ms: 0,
            limits,
            logs_this_call: 0,
            scopes: Vec::new(),
            times: Vec::new(),
            current: None,
            panic: None,
            guest_error: None,
            pending: HashMap::new(),
        }
    }

    /// Apply the call's KV writes (it succeeded) or forget them (it failed).
    pub(crate) fn end_call(&mut self, succeeded: bool) {
        if !succeeded {
            self.pending.clear();
            return;
        }
        for ((template, key), write) in self.pending.drain() {
            let result = match write {
                Some((value, ttl)) => {
                    self.services.kv.set(&template, &key, value, ttl, self.now_ms)
                }
                None => {
                    self.services.kv.delete(&template, &key);
                    Ok(())
                }
            };
            if let Err(error) = result {
                tracing::warn!(%template, plugin = %self.plugin, %error, "Plugin KV write refused.");
            }
        }
    }

    /// Reset the per-call state: clock, log budget, scope table.
    pub(crate) fn begin_call(&mut self, now_ms: u64, scopes: &[TemplateId], times: &[u64]) {
        self.now_ms = now_ms;
        self.times.clear();
        self.times.extend_from_slice(times);
        self.logs_this_call = 0;
        self.scopes.clear();
        self.scopes.extend_from_slice(scopes);
        // A call for one template needs no `scope` from the guest.
        self.current = (scopes.len() == 1).then_some(0);
        self.panic = None;
        self.guest_error = None;
        self.pending.clear();
    }

    fn template(&mut self, what: &str) -> Option<TemplateId> {
        match self.current.and_then(|i| self.scopes.get(i)) {
            Some(t) => Some(t.clone()),
            None => {
                self.guest_error.get_or_insert_with(|| {
                    format!("called host `{what}` outside any rule's scope (no `scope` before it)")
                });
                None
            }
        }
    }
}

/// `text` cut to at most `TEXT_MAX` bytes, on a char boundary.
pub(crate) fn bounded(mut text: String) -> String {
    if text.len() > TEXT_MAX {
        let mut cut = TEXT_MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

impl types::Host for HostState {}

impl Host for HostState {
    fn scope(&mut self, index: u32) {
        let index = index as usize;
        if index < self.scopes.len() {
            self.current = Some(index);
            if let Some(&now) = self.times.get(index) {
                self.now_ms = now;
            }
        } else {
            self.current = None;
            self.guest_error.get_or_insert_with(|| {
                format!("scope({index}) is out of range: the call serves {}", self.scopes.len())
            });
        }
    }

    fn log(&mut self, level: LogLevel, message: String) {
        self.logs_this_call += 1;
        if self.logs_this_call > LOG_LINES_PER_CALL {
            return;
        }
        let message = bounded(message).escape_debug().to_string();
        let template = self.current.and_then(|i| self.scopes.get(i)).map(|t| t.to_string());
        let (template, plugin) = (template.as_deref().unwrap_or("-"), &self.plugin);
        match level {
            LogLevel::Debug => tracing::debug!(template, %plugin, "{message}"),
            LogLevel::Info => tracing::info!(template, %plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(template, %plugin, "{message}"),
            LogLevel::Error => tracing::error!(template, %plugin, "{message}"),
        }
    }

    fn report_panic(&mut self, message: String) {
        self.panic = Some(bounded(message));
    }

    fn now_ms(&mut self) -> u64 {
        self.now_ms
    }

    fn kv_get(&mut self, key: String) -> Option<String> {
        let template = self.template("kv-get")?;
        let key = (template, key);
        match self.pending.get(&key) {
            Some(write) => write.as_ref().map(|(value, _)| value.clone()),
            None => self.services.kv.get(&key.0, &key.1, self.now_ms),
        }
    }

    fn kv_set(&mut self, key: String, value: String, ttl_ms: Option<u64>) {
        if let Some(template) = self.template("kv-set") {
            self.pending.insert((template, key), Some((value, ttl_ms)));
        }
    }

    fn kv_delete(&mut self, key: String) {
        if let Some(template) = self.template("kv-delete") {
            self.pending.insert((template, key), None);
        }
    }

    fn price(&mut self, symbol: String) -> Option<f64> {
        self.services.prices.get(&symbol)
    }

    fn name(&mut self, id: u32) -> Option<String> {
        Sym::from_id(id).map(|s| s.name().to_string())
    }
}

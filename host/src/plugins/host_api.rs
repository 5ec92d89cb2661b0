//! What a plugin may call: the `klaxon:plugin/host` interface.
//!
//! One `HostState` lives in each Store, so it knows exactly which template
//! and plugin version it serves; every KV key is scoped by that template and
//! the plugin cannot name another. Nothing here blocks on I/O: a guest
//! blocked in a host call cannot be interrupted by the epoch deadline.

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
/// Longest log line kept; longer ones are cut.
const LOG_LINE_MAX: usize = 1024;

/// Shared, read-mostly services a plugin may use.
#[derive(Clone)]
pub struct HostServices {
    pub kv: Arc<dyn KvStore>,
    pub prices: Prices,
}

pub struct HostState {
    pub(crate) template: TemplateId,
    pub(crate) plugin: PluginRef,
    pub(crate) services: HostServices,
    /// Host clock for this call: wall time, or the event's time in replay.
    pub(crate) now_ms: u64,
    pub(crate) limits: StoreLimits,
    pub(crate) logs_this_call: u32,
}

impl HostState {
    pub fn new(
        template: TemplateId,
        plugin: PluginRef,
        services: HostServices,
        limits: StoreLimits,
    ) -> HostState {
        HostState { template, plugin, services, now_ms: 0, limits, logs_this_call: 0 }
    }
}

impl types::Host for HostState {}

impl Host for HostState {
    fn log(&mut self, level: LogLevel, mut message: String) {
        self.logs_this_call += 1;
        if self.logs_this_call > LOG_LINES_PER_CALL {
            return;
        }
        if message.len() > LOG_LINE_MAX {
            let mut cut = LOG_LINE_MAX;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let (template, plugin) = (&self.template, &self.plugin);
        match level {
            LogLevel::Debug => tracing::debug!(%template, %plugin, "{message}"),
            LogLevel::Info => tracing::info!(%template, %plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(%template, %plugin, "{message}"),
            LogLevel::Error => tracing::error!(%template, %plugin, "{message}"),
        }
    }

    fn now_ms(&mut self) -> u64 {
        self.now_ms
    }

    fn kv_get(&mut self, key: String) -> Option<String> {
        self.services.kv.get(&self.template, &key, self.now_ms)
    }

    fn kv_set(&mut self, key: String, value: String, ttl_ms: Option<u64>) {
        if let Err(error) = self.services.kv.set(&self.template, &key, value, ttl_ms, self.now_ms) {
            tracing::warn!(template = %self.template, plugin = %self.plugin, %error, "Plugin KV write refused.");
        }
    }

    fn kv_delete(&mut self, key: String) {
        self.services.kv.delete(&self.template, &key);
    }

    fn price(&mut self, symbol: String) -> Option<f64> {
        self.services.prices.get(&symbol)
    }

    fn symbol_name(&mut self, id: u32) -> String {
        Sym::from_id(id).map(|s| s.name().to_string()).unwrap_or_default()
    }

    fn account_name(&mut self, id: u32) -> Option<String> {
        Sym::from_id(id).map(|s| s.name().to_string())
    }
}

//! What a plugin may call: the `klaxon:plugin/host` interface.
//!
//! One `HostState` lives in each Store. An instance serves many rules (one
//! per template) of one trust domain, so every host call acts for the
//! template the current call is *scoped* to: the call point sets the scope
//! table before each guest call (one entry for a single-rule call, the call's
//! rule list for a batch) and the guest picks its entry with `scope`. A KV
//! call with no scope selected is refused. Nothing here blocks on I/O: a
//! guest blocked in a host call cannot be interrupted by the epoch deadline.
//!
//! Everything a guest hands over here is bounded by the scoped template's
//! `Limits`: KV keys, values, key count and bytes (a breach fails the
//! call, see `call`), and log lines, cut, escaped and budgeted per call and
//! per second (lines over budget are dropped and counted, not failures).
//! Names resolve only for ids that occurred in the call's own events, so a
//! tenant cannot enumerate the interner to find another tenant's accounts.
//! Watchlists (`host_watchlists`) answer only for the lists the scoped
//! template declares, from the snapshot taken when the call began.

use std::collections::HashMap;
use std::sync::Arc;

use crate::alert::TemplateId;
use crate::event::Sym;
use crate::market::{Prices, Samples};
use crate::state::{KvStore, KvUsage};
use crate::telemetry::metrics;
use crate::watchlists::{Snapshot, Watchlists};

use super::bindings::{Host, LogLevel, filter::klaxon::plugin::types};
use super::error::CallError;
use super::meter::StoreMeter;
use super::{Breach, Limits, PluginKind, PluginRef};

/// Longest panic message kept; longer ones are cut.
const TEXT_MAX: usize = 1024;

/// Shared, read-mostly services: what a plugin may use (KV, prices), and
/// the market's recent samples, which smoke runs try new versions on.
#[derive(Clone)]
pub struct HostServices {
    pub kv: Arc<dyn KvStore>,
    pub prices: Prices,
    pub samples: Samples,
    /// The live watchlists; each call pins one snapshot.
    pub watchlists: Watchlists,
}

/// A buffered KV write: a value with its TTL, or `None` for a delete.
type PendingWrite = Option<(String, Option<u64>)>;

/// One template's log budget for the current second of host time.
#[derive(Default)]
struct LogRate {
    second: u64,
    lines: u32,
    bytes: usize,
}

pub struct HostState {
    pub(crate) plugin: PluginRef,
    kind: PluginKind,
    pub(crate) services: HostServices,
    /// Host clock for this call: wall time, or the event's time in replay.
    pub(crate) now_ms: u64,
    pub(crate) limits: StoreMeter,
    /// The limits of every rule the instance holds, by template.
    pub(crate) rule_limits: ahash::AHashMap<TemplateId, Arc<Limits>>,
    /// The watchlists each template declares: all its rule may read.
    pub(crate) rule_watchlists: ahash::AHashMap<TemplateId, Arc<[Arc<str>]>>,
    /// The version of every list this call sees, taken when it starts.
    pub(crate) lists: Arc<Snapshot>,
    /// The templates the current call may act for, by entry index.
    pub(crate) scopes: Arc<[TemplateId]>,
    /// The host clock of each entry of `scopes`, if they differ.
    pub(crate) times: Vec<u64>,
    /// The entry of `scopes` host calls act for now.
    pub(crate) current: Option<usize>,
    /// Ids that occurred in the call's events: the only ones `name` resolves.
    pub(crate) names: Vec<u32>,
    names_sorted: bool,
    /// What the guest's panic hook reported before trapping.
    pub(crate) panic: Option<String>,
    /// A misuse of the host API or a breached limit during this call (the
    /// call fails with it).
    pub(crate) fault: Option<CallError>,
    /// KV writes of the current call, applied only if the call succeeds:
    /// a call that fails is retried (see `pool`), and must not have added
    /// to a running sum the first time.
    pending: HashMap<(TemplateId, String), PendingWrite>,
    /// KV usage per template as of this call's first write, plus the
    /// call's pending writes, to hold the call to the quota up front.
    usage: HashMap<TemplateId, KvUsage>,
    logs_this_call: (u32, usize),
    log_rates: HashMap<TemplateId, LogRate>,
    /// `klaxon_plugin_call_seconds` for this instance's plugin version,
    /// resolved once so that a call does not hash labels.
    pub(crate) call_seconds: prometheus::Histogram,
}

impl HostState {
    pub fn new(
        plugin: PluginRef,
        kind: PluginKind,
        services: HostServices,
        limits: StoreMeter,
    ) -> HostState {
        let call_seconds = crate::telemetry::metrics().plugin_call.with_label_values(&[
            &plugin.name,
            &plugin.version,
            kind.as_str(),
        ]);
        HostState {
            call_seconds,
            plugin,
            kind,
            services,
            now_ms: 0,
            limits,
            rule_limits: ahash::AHashMap::new(),
            rule_watchlists: ahash::AHashMap::new(),
            lists: Arc::default(),
            scopes: Arc::from(Vec::new()),
            times: Vec::new(),
            current: None,
            names: Vec::new(),
            names_sorted: true,
            panic: None,
            fault: None,
            pending: HashMap::new(),
            usage: HashMap::new(),
            logs_this_call: (0, 0),
            log_rates: HashMap::new(),
        }
    }

    /// Apply the call's KV writes (it succeeded) or forget them (it failed).
    pub(crate) fn end_call(&mut self, succeeded: bool) {
        self.usage.clear();
        if !succeeded {
            self.pending.clear();
            return;
        }
        for ((template, key), write) in self.pending.drain() {
            let result = match write {
                Some((value, ttl)) => {
                    let quota = self.rule_limits.get(&template).map(|l| l.kv_quota());
                    let quota = quota.unwrap_or_else(|| Limits::default().kv_quota());
                    self.services.kv.set(&template, &key, value, ttl, self.now_ms, quota)
                }
                None => {
                    self.services.kv.delete(&template, &key);
                    Ok(())
                }
            };
            // Only a race between workers serving one template gets here
            // (each call was held to the quota up front).
            if let Err(error) = result {
                let p = &self.plugin;
                let labels =
                    [template.as_str(), &p.name, &p.version, self.kind.as_str(), error.limit];
                metrics().plugin_limit_breaches.with_label_values(&labels).inc();
            }
        }
    }

    /// Reset the per-call state: clock, log budget, scope table, names.
    pub(crate) fn begin_call(&mut self, now_ms: u64, scopes: &Arc<[TemplateId]>, times: &[u64]) {
        self.now_ms = now_ms;
        self.times.clear();
        self.times.extend_from_slice(times);
        self.logs_this_call = (0, 0);
        self.scopes = scopes.clone();
        // A call for one template needs no `scope` from the guest.
        self.current = (scopes.len() == 1).then_some(0);
        self.panic = None;
        self.fault = None;
        self.pending.clear();
        self.usage.clear();
        self.lists = self.services.watchlists.snapshot();
    }

    /// The ids the next call may resolve with `name`.
    pub(crate) fn allow_names(&mut self, ids: impl IntoIterator<Item = u32>) {
        self.names.clear();
        self.names.extend(ids);
        self.names_sorted = false;
    }

    pub(crate) fn fail(&mut self, fault: CallError) {
        self.fault.get_or_insert(fault);
    }

    pub(crate) fn template(&mut self, what: &str) -> Option<(TemplateId, Arc<Limits>)> {
        let scoped = self.current.and_then(|i| self.scopes.get(i)).cloned();
        match scoped {
            Some(t) => {
                let limits = self.rule_limits.get(&t).cloned().unwrap_or_default();
                Some((t, limits))
            }
            None => {
                self.fail(CallError::Guest(format!(
                    "called host `{what}` outside any rule's scope (no `scope` before it)"
                )));
                None
            }
        }
    }

    /// Whether one more line of `len` bytes fits the budgets; counts it.
    fn log_fits(&mut self, template: Option<&TemplateId>, limits: &Limits, len: usize) -> bool {
        let (lines, bytes) = &mut self.logs_this_call;
        *lines += 1;
        *bytes += len;
        if *lines > limits.log_lines_per_call || *bytes > limits.log_bytes_per_call {
            return false;
        }
        let Some(template) = template else { return true };
        let rate = self.log_rates.entry(template.clone()).or_default();
        let second = self.now_ms / 1000;
        if rate.second != second {
            *rate = LogRate { second, lines: 0, bytes: 0 };
        }
        rate.lines += 1;
        rate.bytes += len;
        rate.lines <= limits.log_lines_per_second && rate.bytes <= limits.log_bytes_per_second
    }

    /// Hold a KV write to the template's key and value sizes and quota.
    fn kv_write_fits(
        &mut self,
        template: &TemplateId,
        limits: &Limits,
        key: &str,
        value: &str,
    ) -> Result<(), Breach> {
        Breach::check("kv_key_bytes", key.len(), limits.kv_key_bytes)?;
        Breach::check("kv_value_bytes", value.len(), limits.kv_value_bytes)?;
        let known = self.pending.contains_key(&(template.clone(), key.to_owned()))
            || self.services.kv.get(template, key, self.now_ms).is_some();
        let (kv, now) = (&self.services.kv, self.now_ms);
        let usage = self.usage.entry(template.clone()).or_insert_with(|| kv.usage(template, now));
        // Overwrites are charged in full: the quota errs on the safe side.
        usage.keys += usize::from(!known);
        usage.bytes += key.len() + value.len();
        Breach::check("kv_keys", usage.keys, limits.kv_keys)?;
        Breach::check("kv_bytes", usage.bytes, limits.kv_bytes)
    }
}

/// `text` cut to at most `max` bytes, on a char boundary.
pub(crate) fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut at = max;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
    }
    text
}

/// `text` cut to `TEXT_MAX` bytes, for guest text kept in errors.
pub(crate) fn bounded(text: String) -> String {
    cut(text, TEXT_MAX)
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
            let served = self.scopes.len();
            self.fail(CallError::Guest(format!(
                "scope({index}) is out of range: the call serves {served}"
            )));
        }
    }

    fn log(&mut self, level: LogLevel, message: String) {
        let scoped = self.current.and_then(|i| self.scopes.get(i)).cloned();
        let limits = scoped.as_ref().and_then(|t| self.rule_limits.get(t)).cloned();
        let limits = limits.unwrap_or_default();
        let message = cut(message, limits.log_line_bytes);
        if !self.log_fits(scoped.as_ref(), &limits, message.len()) {
            let template = scoped.as_ref().map_or("-", |t| t.as_str());
            metrics().plugin_log_dropped.with_label_values(&[template, &self.plugin.name]).inc();
            return;
        }
        // Escaped, so a newline or an escape sequence cannot forge a line.
        let message = message.escape_debug().to_string();
        let template = scoped.as_ref().map_or("-", |t| t.as_str());
        let plugin = &self.plugin;
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
        let (template, _) = self.template("kv-get")?;
        let key = (template, key);
        match self.pending.get(&key) {
            Some(write) => write.as_ref().map(|(value, _)| value.clone()),
            None => self.services.kv.get(&key.0, &key.1, self.now_ms),
        }
    }

    fn kv_set(&mut self, key: String, value: String, ttl_ms: Option<u64>) {
        let Some((template, limits)) = self.template("kv-set") else { return };
        match self.kv_write_fits(&template, &limits, &key, &value) {
            Ok(()) => drop(self.pending.insert((template, key), Some((value, ttl_ms)))),
            Err(breach) => self.fail(CallError::Limit(breach)),
        }
    }

    fn kv_delete(&mut self, key: String) {
        let Some((template, limits)) = self.template("kv-delete") else { return };
        match Breach::check("kv_key_bytes", key.len(), limits.kv_key_bytes) {
            Ok(()) => drop(self.pending.insert((template, key), None)),
            Err(breach) => self.fail(CallError::Limit(breach)),
        }
    }

    fn price(&mut self, symbol: String) -> Option<f64> {
        self.services.prices.get(&symbol)
    }

    fn name(&mut self, id: u32) -> Option<String> {
        if !self.names_sorted {
            self.names.sort_unstable();
            self.names.dedup();
            self.names_sorted = true;
        }
        self.names.binary_search(&id).ok()?;
        Sym::from_id(id).map(|s| s.name().to_string())
    }
}

//! Calling a cooldown-policy plugin.

use std::sync::Arc;

use wasmtime::Store;

use crate::alert::{Decision, History, Pass, Severity, TemplateId};
use crate::event::Event;

use super::bindings::cooldown::CooldownPolicy;
use super::convert;
use super::host_api::{HostServices, HostState};
use super::instance::{self, CallError, Limits};
use super::load::KindPre;
use super::{LoadedPlugin, PluginEngine, PluginError};

pub struct CooldownInstance {
    plugin: Arc<LoadedPlugin>,
    store: Store<HostState>,
    bindings: CooldownPolicy,
    limits: Limits,
    template: TemplateId,
}

impl CooldownInstance {
    pub fn new(engine: &PluginEngine, template: &TemplateId, plugin: Arc<LoadedPlugin>, params_json: &str, services: &HostServices, limits: Limits) -> Result<CooldownInstance, PluginError> {
        let KindPre::Cooldown(pre) = &plugin.pre else {
            panic!("CooldownInstance::new called with a {} plugin", plugin.kind.as_str());
        };
        let mut store = instance::new_store(engine, template, &plugin, services, limits);
        let bindings = pre.instantiate(&mut store).map_err(|e| instance::instantiate_error(&plugin, &e, limits))?;
        let configured = bindings.call_configure(&mut store, params_json);
        instance::configure_error(&plugin, configured, limits)?;
        Ok(CooldownInstance { plugin, store, bindings, limits, template: template.clone() })
    }

    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        &self.plugin
    }

    /// Fire or suppress the candidate `pass` raised by `event`.
    pub fn decide(&mut self, pass: &Pass, event: &Event, history: &History, now_ms: u64) -> Result<Decision, CallError> {
        instance::prepare(&mut self.store, self.limits, now_ms);
        let alert = convert::alert(&self.template, pass, pass.severity, event);
        let decision = self
            .bindings
            .call_decide(&mut self.store, &alert, convert::history(history))
            .map_err(|e| instance::classify(&e, self.limits))?;
        Ok(convert::decision(decision))
    }
}

/// The failure policy of a cooldown: the template's default fixed window.
pub fn default_decision(history: &History, window_ms: u64, severity: Severity, now_ms: u64) -> Decision {
    match history.last_fired_ms {
        Some(last) if now_ms.saturating_sub(last) < window_ms => Decision::Suppress(format!("default cooldown {}", humantime::format_duration(std::time::Duration::from_millis(window_ms)))),
        _ => Decision::Fire(severity),
    }
}

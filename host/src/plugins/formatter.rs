//! Calling a formatter plugin, and the built-in plain format it falls back to.

use std::fmt::Write;
use std::sync::Arc;

use wasmtime::Store;

use crate::alert::{Alert, Markup, Message, Pass, TemplateId};

use super::bindings::formatter::Formatter;
use super::bindings::wit;
use super::convert;
use super::host_api::{HostServices, HostState};
use super::instance::{self, CallError, Limits};
use super::load::KindPre;
use super::{LoadedPlugin, PluginEngine, PluginError};

pub struct FormatterInstance {
    plugin: Arc<LoadedPlugin>,
    store: Store<HostState>,
    bindings: Formatter,
    limits: Limits,
}

impl FormatterInstance {
    pub fn new(engine: &PluginEngine, template: &TemplateId, plugin: Arc<LoadedPlugin>, params_json: &str, services: &HostServices, limits: Limits) -> Result<FormatterInstance, PluginError> {
        let KindPre::Formatter(pre) = &plugin.pre else {
            panic!("FormatterInstance::new called with a {} plugin", plugin.kind.as_str());
        };
        let mut store = instance::new_store(engine, template, &plugin, services, limits);
        let bindings = pre.instantiate(&mut store).map_err(|e| instance::instantiate_error(&plugin, &e, limits))?;
        let configured = bindings.call_configure(&mut store, params_json);
        instance::configure_error(&plugin, configured, limits)?;
        Ok(FormatterInstance { plugin, store, bindings, limits })
    }

    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        &self.plugin
    }

    pub fn format(&mut self, alert: &Alert, now_ms: u64) -> Result<Message, CallError> {
        instance::prepare(&mut self.store, self.limits, now_ms);
        let a = to_wit(alert);
        let m = self.bindings.call_format(&mut self.store, &a).map_err(|e| instance::classify(&e, self.limits))?;
        Ok(convert::message(m))
    }

    pub fn format_digest(&mut self, alerts: &[Arc<Alert>], now_ms: u64) -> Result<Message, CallError> {
        instance::prepare(&mut self.store, self.limits, now_ms);
        let list: Vec<wit::Alert> = alerts.iter().map(|a| to_wit(a)).collect();
        let m = self.bindings.call_format_digest(&mut self.store, &list).map_err(|e| instance::classify(&e, self.limits))?;
        Ok(convert::message(m))
    }
}

fn to_wit(alert: &Alert) -> wit::Alert {
    let pass = Pass { alert_key: alert.key.clone(), severity: alert.severity, value: alert.value, title: alert.title.clone(), fields: alert.fields.clone() };
    convert::alert(&alert.template, &pass, alert.severity, &alert.event)
}

/// The built-in plain format: the failure policy of every formatter.
pub fn plain(alert: &Alert) -> Message {
    let mut body = format!("[{}] {} {}", alert.severity.as_str().to_uppercase(), alert.event.symbol, alert.title);
    for (name, value) in &alert.fields {
        let _ = write!(body, " {name}={value}");
    }
    Message { title: alert.title.clone(), body, markup: Markup::Plain }
}

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
    pub fn new(
        engine: &PluginEngine,
        template: &TemplateId,
        plugin: Arc<LoadedPlugin>,
        params_json: &str,
        services: &HostServices,
        limits: Limits,
    ) -> Result<FormatterInstance, PluginError> {
        let KindPre::Formatter(pre) = &plugin.pre else {
            panic!("FormatterInstance::new called with a {} plugin", plugin.kind.as_str());
        };
        let (store, bindings) = instance::start(
            engine,
            template,
            &plugin,
            params_json,
            services,
            limits,
            |s| pre.instantiate(s),
            |b, s, p| b.call_configure(s, p),
        )?;
        Ok(FormatterInstance { plugin, store, bindings, limits })
    }

    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        &self.plugin
    }

    pub fn format(&mut self, alert: &Alert, now_ms: u64) -> Result<Message, CallError> {
        instance::prepare(&mut self.store, self.limits, now_ms);
        let a = to_wit(alert);
        let m = self
            .bindings
            .call_format(&mut self.store, &a)
            .map_err(|e| instance::classify(&e, self.limits))?;
        Ok(convert::message(m))
    }

    pub fn format_digest(
        &mut self,
        alerts: &[Arc<Alert>],
        now_ms: u64,
    ) -> Result<Message, CallError> {
        instance::prepare(&mut self.store, self.limits, now_ms);
        let list: Vec<wit::Alert> = alerts.iter().map(|a| to_wit(a)).collect();
        let m = self
            .bindings
            .call_format_digest(&mut self.store, &list)
            .map_err(|e| instance::classify(&e, self.limits))?;
        Ok(convert::message(m))
    }
}

fn to_wit(alert: &Alert) -> wit::Alert {
    let pass = Pass {
        alert_key: alert.key.clone(),
        severity: alert.severity,
        value: alert.value,
        title: alert.title.clone(),
        fields: alert.fields.clone(),
    };
    convert::alert(&alert.template, &pass, alert.severity, &alert.event)
}

/// The built-in plain format: the title, then one `name: value` line per
/// field. Used without a formatter, and as every formatter's failure policy.
pub fn plain(alert: &Alert) -> Message {
    let mut body = alert.title.clone();
    for (name, value) in &alert.fields {
        let _ = write!(body, "\n{name}: {value}");
    }
    Message { title: alert.title.clone(), body, markup: Markup::Plain }
}

/// The stock `plain` formatter through the host, and the built-in plain
/// format every failing formatter falls back to.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{AlertId, Decision, Severity};
    use crate::plugins::PluginKind;
    use crate::plugins::tests::{GENEROUS, engine, loaded, services, template, trade};

    fn alert(title: &str) -> Arc<Alert> {
        let event = trade("BTCUSDT", 65_000, 40);
        Arc::new(Alert {
            id: AlertId::derive(&template(), "BTCUSDT", &event.id),
            template: template(),
            key: "BTCUSDT".into(),
            severity: Severity::Warning,
            value: 2_600_000.0,
            title: title.into(),
            fields: vec![("notional".into(), "$2.60M".into()), ("side".into(), "buy".into())],
            event: Arc::new(event),
            decision: Decision::Fire(Severity::Warning),
            decided_at_ms: 1,
            versions: Default::default(),
        })
    }

    /// The fallback needs no plugin and loses nothing: the title and every
    /// field reach the message (its exact layout is the format's own).
    #[test]
    fn the_built_in_plain_format_keeps_the_title_and_every_field() {
        let m = plain(&alert("$2.60M buy on BTCUSDT"));
        assert_eq!(m.title, "$2.60M buy on BTCUSDT");
        assert_eq!(m.markup, Markup::Plain);
        for part in ["$2.60M buy on BTCUSDT", "notional", "$2.60M", "side", "buy"] {
            assert!(m.body.contains(part), "{part:?} missing from {:?}", m.body);
        }
    }

    #[test]
    fn the_stock_plain_formatter_formats_alerts_and_digests() {
        let plugin = loaded("plain", PluginKind::Formatter);
        let mut f = FormatterInstance::new(
            engine(),
            &template(),
            plugin,
            r#"{"include_event": false}"#,
            &services(),
            GENEROUS,
        )
        .expect("configure");
        let one = f.format(&alert("first"), 1).expect("format");
        assert_eq!(
            one,
            Message {
                title: "first".into(),
                body: "[WARNING] first\nnotional: $2.60M\nside: buy".into(),
                markup: Markup::Plain
            }
        );
        let digest = f.format_digest(&[alert("first"), alert("second")], 1).expect("format-digest");
        assert_eq!(
            digest,
            Message {
                title: "2 alerts".into(),
                body: "2 alerts\n[WARNING] first\n[WARNING] second".into(),
                markup: Markup::Plain
            }
        );
    }
}

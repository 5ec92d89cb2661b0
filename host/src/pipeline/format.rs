//! Format: turn fired alerts into messages with the template's formatter.
//! A failing formatter falls back to the built-in plain format, so an alert
//! is never lost to a broken formatter.

use std::sync::Arc;

use crate::alert::{Alert, Markup, Message, TemplateId};
use crate::plugins::formatter::{FormatterInstance, plain};
use crate::plugins::host_api::HostServices;
use crate::plugins::{CallError, PluginEngine, TrapLedger};

use super::instances::InstanceCache;
use super::plan::TemplatePlan;

pub struct MessageFormatter {
    engine: PluginEngine,
    services: HostServices,
    ledger: Arc<TrapLedger>,
    formatters: InstanceCache<FormatterInstance>,
}

impl MessageFormatter {
    pub fn new(
        engine: PluginEngine,
        services: HostServices,
        ledger: Arc<TrapLedger>,
    ) -> MessageFormatter {
        MessageFormatter { engine, services, ledger, formatters: InstanceCache::default() }
    }

    pub fn retain(&mut self, keep: impl Fn(&TemplateId) -> bool) {
        self.formatters.retain(keep);
    }

    /// One message for one alert, or one digest for several.
    pub fn format(&mut self, t: &TemplatePlan, alerts: &[Arc<Alert>], now_ms: u64) -> Message {
        let call = |f: &mut FormatterInstance| -> Result<Message, CallError> {
            match alerts {
                [one] => f.format(one, now_ms),
                many => f.format_digest(many, now_ms),
            }
        };
        if let Some(slot) = &t.formatter
            && !self.ledger.is_disabled(&slot.plugin.reference)
        {
            let (engine, services) = (&self.engine, &self.services);
            match self.formatters.get(&t.id, slot, || {
                FormatterInstance::new(
                    engine,
                    &t.id,
                    slot.plugin.clone(),
                    &slot.params,
                    services,
                    t.limits,
                )
            }) {
                Ok(f) => match call(f) {
                    Ok(message) => return message,
                    Err(trap) => {
                        self.ledger.record(
                            &slot.plugin.reference,
                            slot.plugin.kind,
                            t.id.as_str(),
                            &trap.to_string(),
                        );
                        self.formatters.poison(&t.id);
                    }
                },
                Err(error) => {
                    tracing::warn!(template = %t.id, %error, "Formatter unavailable; using plain text.")
                }
            }
        }
        plain_digest(alerts)
    }
}

fn plain_digest(alerts: &[Arc<Alert>]) -> Message {
    match alerts {
        [one] => plain(one),
        many => {
            let lines: Vec<String> = many.iter().map(|a| plain(a).body).collect();
            Message {
                title: format!("{} alerts", many.len()),
                body: lines.join("\n"),
                markup: Markup::Plain,
            }
        }
    }
}

//! Calling formatters: one alert, or a digest of several.

use std::sync::Arc;

use crate::alert::{Alert, Message, Pass, TemplateId};

use super::bindings::{formatters, wit};
use super::call::{self, CallError};
use super::convert;
use super::instance::{Exports, Instance};

fn formatter_exports(exports: &Exports) -> &formatters::Guest {
    match exports {
        Exports::Formatter(f) => f.klaxon_plugin_formatters(),
        _ => panic!("formatter call on an instance of another world"),
    }
}

impl Instance {
    /// One message for one alert, or one digest for several.
    pub fn format(
        &mut self,
        template: &TemplateId,
        alerts: &[Arc<Alert>],
        now_ms: u64,
    ) -> Result<Message, CallError> {
        let rule = self.rule(template)?;
        let (handle, budget) = (rule.handle, rule.limits.call_budget);
        let scopes = [template.clone()];
        let spec = self.spec(budget, now_ms, &scopes);
        let exports = formatter_exports(&self.exports).formatter();
        let message = match alerts {
            [one] => {
                let alert = to_wit(one);
                call::guest(&mut self.store, &spec, |s| exports.call_format(s, handle, &alert))?
            }
            many => {
                let list: Vec<wit::Alert> = many.iter().map(|a| to_wit(a)).collect();
                call::guest(&mut self.store, &spec, |s| {
                    exports.call_format_digest(s, handle, &list)
                })?
            }
        };
        Ok(convert::message(message))
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

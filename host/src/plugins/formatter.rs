//! Calling formatters: one alert, or a digest of several.

use std::sync::Arc;

use crate::alert::{Alert, Message, TemplateId};

use super::Limits;
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
        let (handle, budget, limits) = (rule.handle, rule.limits.call_timeout, rule.limits.clone());
        let scopes = rule.scope.clone();
        let spec = self.spec(budget, now_ms, &scopes);
        let exports = formatter_exports(&self.exports).formatter();
        self.store.data_mut().allow_names(alerts.iter().flat_map(|a| convert::event_ids(&a.event)));
        let message = match alerts {
            [one] => {
                let alert = convert::alert_of(one);
                call::guest(&mut self.store, &spec, |s| exports.call_format(s, handle, &alert))?
            }
            many => {
                let list: Vec<wit::Alert> = many.iter().map(|a| convert::alert_of(a)).collect();
                call::guest(&mut self.store, &spec, |s| {
                    exports.call_format_digest(s, handle, &list)
                })?
            }
        };
        let message = convert::message(message);
        limits.check_message(&message).map_err(CallError::Limit)?;
        Ok(message)
    }
}

/// How many of `alerts` (from the first) fit one digest's input under
/// `digest_bytes`; at least one, which `alert_bytes` already bounds.
pub fn digest_fit(alerts: &[Arc<Alert>], limits: &Limits) -> usize {
    let mut total = 0;
    let fit = alerts.iter().take_while(|a| {
        total += a.size_bytes();
        total <= limits.digest_bytes
    });
    fit.count().max(1).min(alerts.len())
}

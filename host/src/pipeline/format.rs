//! Format: turn fired alerts into messages with the template's formatter,
//! one message per alert, or one digest per template when it asks for it.
//! A failing formatter falls back to the built-in plain format (the pool's
//! failure policy), so an alert is never lost to a broken formatter.

use std::sync::Arc;

use crate::alert::{Alert, Delivery};
use crate::plugins::{InstancePool, RuleRef};

use super::plan::Plan;

/// The deliveries for `fired` (template index, alert), in order.
pub fn format(
    pool: &mut InstancePool,
    plan: &Plan,
    fired: Vec<(u32, Arc<Alert>)>,
    now_ms: impl Fn(&Alert) -> u64,
) -> Vec<Arc<Delivery>> {
    let mut by_template: Vec<(u32, Vec<Arc<Alert>>)> = Vec::new();
    for (t, alert) in fired {
        match by_template.iter_mut().find(|(x, _)| *x == t) {
            Some((_, list)) if plan.templates[t as usize].digest => list.push(alert),
            _ => by_template.push((t, vec![alert])),
        }
    }
    by_template
        .into_iter()
        .map(|(t, alerts)| {
            let tp = &plan.templates[t as usize];
            let last = alerts[alerts.len() - 1].clone();
            let rule = tp.formatter.as_ref().map(|slot| RuleRef {
                template: &tp.id,
                slot,
                limits: tp.limits,
            });
            let message = pool.format(rule, &alerts, now_ms(&last));
            Arc::new(Delivery { alert: last, message, channels: tp.channels.clone() })
        })
        .collect()
}

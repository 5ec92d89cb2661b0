//! Format: turn fired alerts into messages with the template's formatter,
//! one message per alert, or one digest per template when it asks for it.
//! A failing formatter falls back to the built-in plain format (the pool's
//! failure policy), so an alert is never lost to a broken formatter. A
//! digest over the template's `digest_bytes` is split into several. Each
//! message takes its bytes from the delivery budget first (`budget`): while
//! the sinks hold too many bytes, this stage waits.

use std::collections::HashMap;
use std::sync::Arc;

use crate::alert::{Alert, Delivery};
use crate::budget::ByteBudget;
use crate::plugins::formatter::digest_fit;
use crate::plugins::{InstancePool, Limits, RuleRef};

use super::plan::{Plan, TemplatePlan};

/// The deliveries for `fired` (template index, alert), in order, each
/// handed to `deliver` as soon as it is formatted: a message does not wait
/// for the rest of its run to be formatted.
pub fn format(
    pool: &mut InstancePool,
    plan: &Plan,
    fired: Vec<(u32, Arc<Alert>)>,
    now_ms: impl Fn(&Alert) -> u64,
    bytes: &Arc<ByteBudget>,
    mut deliver: impl FnMut(&TemplatePlan, Arc<Delivery>),
) {
    // One message per alert, except a digest template's alerts, which go
    // together at its first alert's place. Indexed, not searched: a run
    // can hold alerts of 1,000 templates.
    let mut by_template: Vec<(u32, Vec<Arc<Alert>>)> = Vec::with_capacity(fired.len());
    let mut digest_at: HashMap<u32, usize> = HashMap::new();
    for (t, alert) in fired {
        if !plan.templates[t as usize].digest {
            by_template.push((t, vec![alert]));
            continue;
        }
        match digest_at.get(&t) {
            Some(&at) => by_template[at].1.push(alert),
            None => {
                digest_at.insert(t, by_template.len());
                by_template.push((t, vec![alert]));
            }
        }
    }
    by_template
        .into_iter()
        .flat_map(|(t, alerts)| {
            split_digest(alerts, &plan.templates[t as usize].limits).map(move |a| (t, a))
        })
        .for_each(|(t, alerts)| {
            let tp = &plan.templates[t as usize];
            let last = alerts[alerts.len() - 1].clone();
            let rule = tp.formatter.as_ref().map(|slot| RuleRef {
                template: &tp.id,
                slot,
                limits: &tp.limits,
            });
            let message = pool.format(rule, &alerts, now_ms(&last));
            let lease = bytes.acquire(Delivery::weight(&last, &message), "deliver_bytes");
            let channels = tp.channels.clone();
            deliver(tp, Arc::new(Delivery { alert: last, message, channels, lease }));
        });
}

/// A digest whose input would exceed `digest_bytes` goes as several, each
/// within it, so no formatter is handed more than its limit allows and no
/// alert is left out.
pub(super) fn split_digest(
    mut alerts: Vec<Arc<Alert>>,
    limits: &Limits,
) -> impl Iterator<Item = Vec<Arc<Alert>>> {
    std::iter::from_fn(move || {
        if alerts.is_empty() {
            return None;
        }
        let rest = alerts.split_off(digest_fit(&alerts, limits));
        Some(std::mem::replace(&mut alerts, rest))
    })
}

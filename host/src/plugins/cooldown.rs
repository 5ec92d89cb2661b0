//! Calling cooldown policies: every candidate of a run that one instance
//! decides, in one call.

use crate::alert::{Decision, History, Pass, TemplateId};
use crate::event::Event;

use super::bindings::{policies, wit};
use super::call::{self, CallError};
use super::convert;
use super::instance::{Exports, Instance};

/// One candidate alert to decide.
#[derive(Debug, Clone, Copy)]
pub struct DecideItem<'a> {
    pub template: &'a TemplateId,
    pub pass: &'a Pass,
    pub event: &'a Event,
    pub history: &'a History,
    /// Host clock for this item (its event's time in replay).
    pub now_ms: u64,
}

/// Items one rule budget covers before the call's budget grows.
const ITEMS_PER_BUDGET: usize = 256;

fn cooldown_policies(exports: &Exports) -> &policies::Guest {
    match exports {
        Exports::Cooldown(c) => c.klaxon_plugin_cooldown_policies(),
        _ => panic!("cooldown call on an instance of another world"),
    }
}

impl Instance {
    /// Decide `items` (in order, one decision each), each on its own clock.
    pub fn decide_batch(&mut self, items: &[DecideItem<'_>]) -> Result<Vec<Decision>, CallError> {
        let times: Vec<u64> = items.iter().map(|i| i.now_ms).collect();
        let set = self.call_set(items.iter().map(|i| i.template))?;
        let scopes = set.scopes.clone();
        let list: Vec<policies::DecideItem> = (items.iter().zip(&set.handles))
            .map(|(item, &policy)| policies::DecideItem {
                policy,
                alert: convert::alert(item.template, item.pass, item.pass.severity, item.event),
                history: convert::history(item.history),
            })
            .collect();
        let budget = set.budget * (1 + items.len() / ITEMS_PER_BUDGET) as u32;
        let now_ms = times.iter().copied().max().unwrap_or_default();
        let spec = super::call::CallSpec { times: &times, ..self.spec(budget, now_ms, &scopes) };
        let exports = cooldown_policies(&self.exports);
        self.store.data_mut().allow_names(items.iter().flat_map(|i| convert::event_ids(i.event)));
        let answers: Vec<wit::Decision> =
            call::guest(&mut self.store, &spec, |s| exports.call_decide_batch(s, &list))?;
        if answers.len() != items.len() {
            return Err(CallError::Guest(format!(
                "decide-batch answered {} decisions for {} items",
                answers.len(),
                items.len()
            )));
        }
        let decisions: Vec<Decision> = answers.into_iter().map(convert::decision).collect();
        let limits = &self.call_set.as_ref().expect("built for this call").limits;
        for (decision, limits) in decisions.iter().zip(limits) {
            if let Decision::Suppress(reason) = decision {
                limits.check_reason(reason).map_err(CallError::Limit)?;
            }
        }
        Ok(decisions)
    }
}

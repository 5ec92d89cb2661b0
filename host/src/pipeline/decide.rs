//! Decide: fire or suppress each pass, with the cooldown policy of its
//! template and the history the host keeps per alert key, and record it.
//!
//! Passes are decided in event order so each key's history sees its events
//! in order. Passes of different keys go to the policies in one call per
//! instance; a key that appears twice in a run splits it into waves, so a
//! second pass sees the first one's decision in its history.

use std::collections::HashSet;
use std::sync::Arc;

use crate::alert::{Alert, AlertId, Decision};
use crate::plugins::cooldown::DecideItem;
use crate::plugins::{DecideJob, InstancePool, RuleRef};
use crate::state::{HistoryStore, Outcome};

use crate::config::KeyScope;

use super::evaluate::Passed;
use super::plan::{Plan, TemplatePlan};
use super::work::WorkItem;

/// Decide every pass; returns (template index, alert) in pass order.
pub fn decide(
    pool: &mut InstancePool,
    history: &dyn HistoryStore,
    plan: &Plan,
    run: &[WorkItem],
    passed: Vec<Passed>,
    now_ms: impl Fn(&WorkItem) -> u64,
) -> Vec<(u32, Arc<Alert>)> {
    let mut alerts = Vec::with_capacity(passed.len());
    let mut wave: Vec<Passed> = Vec::new();
    let mut keys = HashSet::new();
    for p in passed {
        if !keys.insert((p.1, p.2.alert_key.clone())) {
            decide_wave(pool, history, plan, run, std::mem::take(&mut wave), &now_ms, &mut alerts);
            keys.clear();
            keys.insert((p.1, p.2.alert_key.clone()));
        }
        wave.push(p);
    }
    decide_wave(pool, history, plan, run, wave, &now_ms, &mut alerts);
    alerts
}

/// Where a pass's history is kept: under its key on its event's venue, so
/// spot and futures `BTCUSDT` cool down apart, unless the template keeps
/// keys across venues.
fn history_key(tp: &TemplatePlan, item: &WorkItem, key: &str) -> String {
    match tp.alert_keys {
        KeyScope::CrossVenue => key.to_owned(),
        KeyScope::PerVenue => format!("{}/{key}", item.event.venue.name()),
    }
}

/// Passes with distinct (template, key): their histories are independent.
fn decide_wave(
    pool: &mut InstancePool,
    history: &dyn HistoryStore,
    plan: &Plan,
    run: &[WorkItem],
    wave: Vec<Passed>,
    now_ms: &impl Fn(&WorkItem) -> u64,
    alerts: &mut Vec<(u32, Arc<Alert>)>,
) {
    if wave.is_empty() {
        return;
    }
    let keys: Vec<String> = wave
        .iter()
        .map(|(row, t, p)| history_key(&plan.templates[*t as usize], &run[*row], &p.alert_key))
        .collect();
    let histories: Vec<_> = wave
        .iter()
        .zip(&keys)
        .map(|((row, t, _), key)| {
            history.get(&plan.templates[*t as usize].id, key, now_ms(&run[*row]))
        })
        .collect();
    let jobs: Vec<DecideJob<'_>> = wave
        .iter()
        .zip(&histories)
        .map(|((row, t, pass), h)| {
            let tp = &plan.templates[*t as usize];
            let rule = tp.cooldown.as_ref().map(|slot| RuleRef {
                template: &tp.id,
                slot,
                limits: &tp.limits,
            });
            let item = &run[*row];
            let now_ms = now_ms(item);
            let item =
                DecideItem { template: &tp.id, pass, event: &item.event, history: h, now_ms };
            DecideJob { rule, item, default_cooldown_ms: tp.default_cooldown_ms }
        })
        .collect();
    let times: Vec<u64> = jobs.iter().map(|j| j.item.now_ms).collect();
    let decisions = pool.decide(&jobs);
    drop(jobs);
    let decided = wave.into_iter().zip(decisions).zip(times).zip(keys);
    for ((((row, t, pass), decision), now), key) in decided {
        let tp = &plan.templates[t as usize];
        let (severity, outcome) = match &decision {
            Decision::Fire(s) => (*s, Outcome::Fired { severity: *s, value: pass.value }),
            Decision::Suppress(_) => (pass.severity, Outcome::Suppressed),
        };
        history.record(&tp.id, &key, outcome, now, tp.limits.history_bound());
        let event = run[row].event.clone();
        let alert = Alert {
            id: AlertId::derive(&tp.id, &pass.alert_key, &event.id),
            template: tp.id.clone(),
            key: pass.alert_key,
            severity,
            value: pass.value,
            title: pass.title,
            fields: pass.fields,
            event,
            decision,
            decided_at_ms: now,
            versions: tp.versions.clone(),
        };
        alerts.push((t, Arc::new(alert)));
    }
}

//! Decide: fire or suppress each pass, with the cooldown policy of its
//! template and the history the host keeps per alert key, and record it.
//!
//! Passes are decided in event order so each key's history sees its events
//! in order. Passes of different keys go to the policies in one call per
//! instance; a key that appears twice in a run splits it into waves, so a
//! second pass sees the first one's decision in its history.
//!
//! A wave's histories are read in one call and its decisions committed in
//! one, so a shared backend costs two round trips per wave. A fire another
//! host claimed first comes back lost and goes on as a suppression with the
//! bounded reason [`CLAIMED_ELSEWHERE`]: each key fires on one host.

use std::collections::HashSet;
use std::sync::Arc;

use crate::alert::{Alert, AlertId, DecidedBy, Decision, DecisionTrace, History};
use crate::plugins::cooldown::DecideItem;
use crate::plugins::{DecideJob, InstancePool, RuleRef};
use crate::state::{CLAIMED_ELSEWHERE, Committed, HistoryStore, Outcome, Record};

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
    let lookups: Vec<_> = wave
        .iter()
        .zip(&keys)
        .map(|((row, t, _), key)| {
            (&plan.templates[*t as usize].id, key.as_str(), now_ms(&run[*row]))
        })
        .collect();
    let histories = history.get_many(&lookups);
    drop(lookups);
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
    let committed = commit(history, plan, (&wave, &keys), &histories, &decisions, &times);
    let decided = wave.into_iter().zip(decisions).zip(times).zip(committed).zip(histories);
    for (((((row, t, pass), decision), now), committed), history) in decided {
        let tp = &plan.templates[t as usize];
        let by = decided_by(tp, &decision, committed);
        let decision = match committed {
            Committed::Lost => Decision::Suppress(CLAIMED_ELSEWHERE.to_owned()),
            Committed::Recorded => decision,
        };
        let severity = match &decision {
            Decision::Fire(s) => *s,
            Decision::Suppress(_) => pass.severity,
        };
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
            trace: DecisionTrace { history, by },
        };
        alerts.push((t, Arc::new(alert)));
    }
}

/// Who decided: a plugin that failed falls back to the default cooldown,
/// whose reasons say so.
fn decided_by(tp: &TemplatePlan, decision: &Decision, committed: Committed) -> DecidedBy {
    match (committed, &tp.cooldown, decision) {
        (Committed::Lost, _, _) => DecidedBy::Elsewhere,
        (_, None, _) => DecidedBy::Default,
        (_, Some(_), Decision::Suppress(r)) if r.starts_with("default cooldown") => {
            DecidedBy::Default
        }
        _ => DecidedBy::Policy,
    }
}

/// Record a wave's decisions, each with the history it was made on (what
/// a fire claims).
fn commit(
    history: &dyn HistoryStore,
    plan: &Plan,
    (wave, keys): (&[Passed], &[String]),
    seen: &[History],
    decisions: &[Decision],
    times: &[u64],
) -> Vec<Committed> {
    let records: Vec<Record<'_>> = (wave.iter().zip(keys).zip(seen))
        .zip(decisions.iter().zip(times))
        .map(|((((_, t, pass), key), seen), (decision, &now_ms))| {
            let tp = &plan.templates[*t as usize];
            let outcome = match decision {
                Decision::Fire(s) => Outcome::Fired { severity: *s, value: pass.value },
                Decision::Suppress(_) => Outcome::Suppressed,
            };
            let bound = tp.limits.history_bound();
            Record { template: &tp.id, key, outcome, now_ms, bound, seen }
        })
        .collect();
    history.commit(&records)
}

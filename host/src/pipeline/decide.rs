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
use crate::event::Event;
use crate::plugins::cooldown::DecideItem;
use crate::plugins::{DecideJob, InstancePool, RuleRef};
use crate::state::{CLAIMED_ELSEWHERE, Committed, HistoryStore, Outcome, Record};

use super::plan::{Plan, TemplatePlan};
use super::work::Candidate;

/// Decide every candidate (all routed with `plan`, in event order);
/// returns (template index, alert) in the same order.
pub fn decide(
    pool: &mut InstancePool,
    history: &dyn HistoryStore,
    plan: &Plan,
    candidates: Vec<Candidate>,
    now_ms: impl Fn(&Event) -> u64,
) -> Vec<(u32, Arc<Alert>)> {
    let mut alerts = Vec::with_capacity(candidates.len());
    let mut wave: Vec<Candidate> = Vec::new();
    let mut keys = HashSet::new();
    for c in candidates {
        if !keys.insert((c.template, c.key.clone())) {
            decide_wave(pool, history, plan, std::mem::take(&mut wave), &now_ms, &mut alerts);
            keys.clear();
            keys.insert((c.template, c.key.clone()));
        }
        wave.push(c);
    }
    decide_wave(pool, history, plan, wave, &now_ms, &mut alerts);
    alerts
}

/// Candidates with distinct (template, key): their histories are independent.
fn decide_wave(
    pool: &mut InstancePool,
    history: &dyn HistoryStore,
    plan: &Plan,
    wave: Vec<Candidate>,
    now_ms: &impl Fn(&Event) -> u64,
    alerts: &mut Vec<(u32, Arc<Alert>)>,
) {
    if wave.is_empty() {
        return;
    }
    let times: Vec<u64> = wave.iter().map(|c| now_ms(&c.event)).collect();
    let lookups: Vec<_> = (wave.iter().zip(&times))
        .map(|(c, &now)| (&plan.templates[c.template as usize].id, c.key.as_str(), now))
        .collect();
    let histories = history.get_many(&lookups);
    drop(lookups);
    let jobs: Vec<DecideJob<'_>> = (wave.iter().zip(&histories).zip(&times))
        .map(|((c, h), &now_ms)| {
            let tp = &plan.templates[c.template as usize];
            let rule = tp.cooldown.as_ref().map(|slot| RuleRef {
                template: &tp.id,
                slot,
                limits: &tp.limits,
            });
            let pass = &c.pass;
            let item = DecideItem { template: &tp.id, pass, event: &c.event, history: h, now_ms };
            DecideJob { rule, item, default_cooldown_ms: tp.default_cooldown_ms }
        })
        .collect();
    let decisions = pool.decide(&jobs);
    drop(jobs);
    let committed = commit(history, plan, &wave, &histories, &decisions, &times);
    let decided = wave.into_iter().zip(decisions).zip(times).zip(committed).zip(histories);
    for ((((c, decision), now), committed), history) in decided {
        let tp = &plan.templates[c.template as usize];
        let by = decided_by(tp, &decision, committed);
        let decision = match committed {
            Committed::Lost => Decision::Suppress(CLAIMED_ELSEWHERE.to_owned()),
            Committed::Recorded => decision,
        };
        let (pass, event) = (c.pass, c.event);
        let severity = match &decision {
            Decision::Fire(s) => *s,
            Decision::Suppress(_) => pass.severity,
        };
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
        alerts.push((c.template, Arc::new(alert)));
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
    wave: &[Candidate],
    seen: &[History],
    decisions: &[Decision],
    times: &[u64],
) -> Vec<Committed> {
    let records: Vec<Record<'_>> = (wave.iter().zip(seen))
        .zip(decisions.iter().zip(times))
        .map(|((c, seen), (decision, &now_ms))| {
            let tp = &plan.templates[c.template as usize];
            let outcome = match decision {
                Decision::Fire(s) => Outcome::Fired { severity: *s, value: c.pass.value },
                Decision::Suppress(_) => Outcome::Suppressed,
            };
            let bound = tp.limits.history_bound();
            Record { template: &tp.id, key: &c.key, outcome, now_ms, bound, seen }
        })
        .collect();
    history.commit(&records)
}

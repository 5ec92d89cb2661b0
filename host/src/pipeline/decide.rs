//! Decide: fire or suppress each candidate, with the cooldown policy of its
//! template and the history the host keeps per alert key.
//!
//! Runs on the evaluate worker that produced the candidate, right after the
//! filter: all events of one alert key are on one worker, so history for a
//! key is read and written in event order without cross-worker locking.
//! A failing policy falls back to the template's default fixed cooldown.

use std::sync::Arc;

use crate::alert::{Alert, AlertId, Candidate, Decision};
use crate::plugins::cooldown::{CooldownInstance, default_decision};
use crate::plugins::host_api::HostServices;
use crate::plugins::{PluginEngine, TrapLedger};
use crate::state::{HistoryStore, Outcome};

use super::instances::InstanceCache;
use super::plan::TemplatePlan;

pub struct Decider {
    engine: PluginEngine,
    services: HostServices,
    ledger: Arc<TrapLedger>,
    history: Arc<dyn HistoryStore>,
    policies: InstanceCache<CooldownInstance>,
}

impl Decider {
    pub fn new(
        engine: PluginEngine,
        services: HostServices,
        ledger: Arc<TrapLedger>,
        history: Arc<dyn HistoryStore>,
    ) -> Decider {
        Decider { engine, services, ledger, history, policies: InstanceCache::default() }
    }

    pub fn retain(&mut self, keep: impl Fn(&crate::alert::TemplateId) -> bool) {
        self.policies.retain(keep);
    }

    /// Decide `candidate` at host time `now_ms` and record the outcome.
    pub fn decide(&mut self, t: &TemplatePlan, candidate: Candidate, now_ms: u64) -> Alert {
        let Candidate { template, event, pass } = candidate;
        let history = self.history.get(&template, &pass.alert_key);
        let fallback = || default_decision(&history, t.default_cooldown_ms, pass.severity, now_ms);
        let decision = match &t.cooldown {
            Some(slot) if !self.ledger.is_disabled(&slot.plugin.reference) => {
                let (engine, services) = (&self.engine, &self.services);
                let built = self.policies.get(&t.id, slot, || {
                    CooldownInstance::new(
                        engine,
                        &t.id,
                        slot.plugin.clone(),
                        &slot.params,
                        services,
                        t.limits,
                    )
                });
                match built.map(|p| p.decide(&pass, &event, &history, now_ms)) {
                    Ok(Ok(decision)) => decision,
                    Ok(Err(trap)) => {
                        self.ledger.record(
                            &slot.plugin.reference,
                            slot.plugin.kind,
                            t.id.as_str(),
                            &trap.to_string(),
                        );
                        self.policies.poison(&t.id);
                        fallback()
                    }
                    Err(error) => {
                        tracing::warn!(template = %t.id, %error, "Cooldown policy unavailable; using the default cooldown.");
                        fallback()
                    }
                }
            }
            _ => fallback(),
        };
        let (severity, outcome) = match &decision {
            Decision::Fire(s) => (*s, Outcome::Fired { severity: *s, value: pass.value }),
            Decision::Suppress(_) => (pass.severity, Outcome::Suppressed),
        };
        self.history.record(&template, &pass.alert_key, outcome, now_ms);
        Alert {
            id: AlertId::derive(&template, &pass.alert_key, &event.id),
            template,
            key: pass.alert_key,
            severity,
            value: pass.value,
            title: pass.title,
            fields: pass.fields,
            event,
            decision,
            decided_at_ms: now_ms,
            versions: Arc::new(crate::alert::PluginVersions {
                filter: Some(version_of(&t.filter)),
                cooldown: t.cooldown.as_ref().map(version_of),
                formatter: t.formatter.as_ref().map(version_of),
            }),
        }
    }
}

/// `name@version` of the plugin in `slot`.
fn version_of(slot: &super::plan::PluginSlot) -> String {
    let r = &slot.plugin.reference;
    format!("{}@{}", r.name, r.version)
}

//! The smoke run every rule passes before it can go live: built from its
//! template's params in a throwaway instance, then called through each of
//! its world's exports with a small, unremarkable event (a healthy plugin
//! just rejects it) and, in a batch, with a sample of recent real events
//! from market state (`market::Samples`), so a version that behaves only on
//! the synthetic event is caught. Its answers are held to the template's
//! limits like any live call's; its KV writes go to a scratch store. Any
//! failure is the reason the plan is refused. Run on a metered engine
//! ([`smoke_fuel`]), the same calls say what an event costs in fuel, for
//! `limits.fuel_per_call`.

use std::sync::Arc;

use crate::alert::{Alert, AlertId, Decision, History, Pass, Severity, TemplateId};
use crate::event::{Event, EventKind, Sym};
use crate::market::Snapshot;

use super::cooldown::DecideItem;
use super::filter::RuleRows;
use super::host_api::HostServices;
use super::{CallError, Columns, Instance, PluginEngine, PluginError, PluginKind, RuleRef};

pub fn smoke(
    engine: &PluginEngine,
    rule: RuleRef<'_>,
    services: &HostServices,
) -> Result<(), PluginError> {
    run(engine, rule, services).map(|_| ())
}

/// The smoke run on a metered engine (`PluginEngine::metered`, with the
/// plugin loaded there): the most fuel per event any of its calls burnt,
/// a call over `n` events counting `1/n` of its fuel per event. Setting
/// up (instantiation, `create`) is not counted.
pub fn smoke_fuel(
    engine: &PluginEngine,
    rule: RuleRef<'_>,
    services: &HostServices,
) -> Result<u64, PluginError> {
    run(engine, rule, services)
}

/// Every smoke call; the most fuel per event (0 on an unmetered engine).
fn run(
    engine: &PluginEngine,
    rule: RuleRef<'_>,
    services: &HostServices,
) -> Result<u64, PluginError> {
    let plugin = rule.slot.plugin.clone();
    let failed = |e: CallError| PluginError::Smoke {
        plugin: plugin.reference.clone(),
        reason: e.to_string(),
    };
    let memory = rule.limits.memory_bytes();
    // A scratch KV: what a trial call writes must not reach the live (and
    // persisted, possibly shared) store, or each start would add to it.
    let scratch = HostServices { kv: Arc::new(crate::state::MemoryKv::new()), ..services.clone() };
    let mut instance =
        Instance::new(engine, plugin.clone(), &scratch, memory, rule.limits.call_timeout)?;
    instance.grant(rule.template, &rule.slot.watchlists);
    instance.add_rule(rule.template, &rule.slot.params, rule.limits)?;
    let template = rule.template;
    let mut events = vec![(smoke_event(), Snapshot::default())];
    events.extend(services.samples.recent());
    let (event, market) = &events[0];
    let mut fuel = Fuel::default();
    match plugin.kind {
        PluginKind::Filter => {
            fuel.measure(&mut instance, 1, |i| i.evaluate(template, event, market, 1).map(drop))
                .map_err(failed)?;
            let run: Vec<(&Event, &Snapshot)> = events.iter().map(|(e, m)| (e, m)).collect();
            let mut columns = Columns::default();
            columns.reset(run.len());
            let rules = [RuleRows { template, rows: None }];
            fuel.measure(&mut instance, run.len(), |i| {
                i.evaluate_batch(&mut columns, &run, &rules, 1, &mut Vec::new())
            })
            .map_err(failed)?;
        }
        PluginKind::Cooldown => {
            let (pass, history) = (smoke_pass(), History::default());
            let items: Vec<DecideItem<'_>> = events
                .iter()
                .map(|(event, _)| DecideItem {
                    template,
                    pass: &pass,
                    event,
                    history: &history,
                    now_ms: 1,
                })
                .collect();
            fuel.measure(&mut instance, items.len(), |i| i.decide_batch(&items).map(drop))
                .map_err(failed)?;
        }
        PluginKind::Formatter => {
            let alerts: Vec<Arc<Alert>> =
                events.iter().map(|(e, _)| smoke_alert(template, e.clone())).collect();
            fuel.measure(&mut instance, 1, |i| i.format(template, &alerts[..1], 1).map(drop))
                .map_err(failed)?;
            fuel.measure(&mut instance, alerts.len(), |i| i.format(template, &alerts, 1).map(drop))
                .map_err(failed)?;
        }
    }
    Ok(fuel.per_event)
}

/// The most fuel per event seen so far.
#[derive(Default)]
struct Fuel {
    per_event: u64,
}

impl Fuel {
    fn measure<T>(
        &mut self,
        instance: &mut Instance,
        events: usize,
        call: impl FnOnce(&mut Instance) -> Result<T, CallError>,
    ) -> Result<T, CallError> {
        let before = instance.fuel_used();
        let out = call(instance)?;
        if let (Some(before), Some(after)) = (before, instance.fuel_used()) {
            self.per_event = self.per_event.max((after - before).div_ceil(events.max(1) as u64));
        }
        Ok(out)
    }
}

fn smoke_event() -> Event {
    let mut e = Event::new(
        EventKind::Trade,
        Sym::new("klaxon-smoke"),
        Sym::new("SMOKEUSDT"),
        "klaxon-smoke:1".into(),
        1,
    );
    e.price = rust_decimal::Decimal::ONE;
    e.size = rust_decimal::Decimal::ONE;
    e.notional_usd = Some(rust_decimal::Decimal::ONE);
    e
}

fn smoke_pass() -> Pass {
    Pass {
        alert_key: "SMOKEUSDT".into(),
        severity: Severity::Info,
        value: 1.0,
        title: "smoke".into(),
        fields: vec![],
    }
}

fn smoke_alert(template: &TemplateId, event: Event) -> Arc<Alert> {
    Arc::new(Alert {
        id: AlertId::derive(template, "SMOKEUSDT", &event.id),
        template: template.clone(),
        key: "SMOKEUSDT".into(),
        severity: Severity::Info,
        value: 1.0,
        title: "smoke".into(),
        fields: vec![("price".into(), "1".into())],
        event: Arc::new(event),
        decision: Decision::Fire(Severity::Info),
        decided_at_ms: 1,
        versions: Default::default(),
        trace: Default::default(),
    })
}

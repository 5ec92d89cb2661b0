//! The smoke run every rule passes before it can go live: built from its
//! template's params in a throwaway instance, then called once through each
//! of its world's exports with a small, unremarkable event, so a healthy
//! plugin just rejects it. Any failure is the reason the plan is refused.

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
    let plugin = rule.slot.plugin.clone();
    let failed = |e: CallError| PluginError::Smoke {
        plugin: plugin.reference.clone(),
        reason: e.to_string(),
    };
    let mut instance = Instance::new(
        engine,
        plugin.clone(),
        services,
        rule.limits.memory_bytes,
        rule.limits.call_budget,
    )?;
    instance.add_rule(rule.template, &rule.slot.params, rule.limits)?;
    let (template, event) = (rule.template, smoke_event());
    let market = Snapshot::default();
    match plugin.kind {
        PluginKind::Filter => {
            instance.evaluate(template, &event, &market, 1).map_err(failed)?;
            let mut columns = Columns::default();
            columns.reset(1);
            let rules = [RuleRows { template, rows: None }];
            instance
                .evaluate_batch(&mut columns, &[(&event, &market)], &rules, 1, &mut Vec::new())
                .map_err(failed)?;
        }
        PluginKind::Cooldown => {
            let pass = smoke_pass();
            let item = DecideItem {
                template,
                pass: &pass,
                event: &event,
                history: &History::default(),
                now_ms: 1,
            };
            instance.decide_batch(&[item]).map_err(failed)?;
        }
        PluginKind::Formatter => {
            let alert = smoke_alert(template, event);
            instance.format(template, std::slice::from_ref(&alert), 1).map_err(failed)?;
            instance.format(template, &[alert.clone(), alert], 1).map_err(failed)?;
        }
    }
    Ok(())
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
    })
}

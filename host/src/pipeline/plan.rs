//! The plan: the running form of the templates, built from a `ValidConfig`
//! off the hot path and published atomically (`ArcSwap<Plan>`).
//!
//! Building a plan loads every referenced plugin (compile or cache hit,
//! type-check against its world), configures it with each template's params
//! and smoke-runs it. Only if every template passes does the plan go live;
//! otherwise the caller keeps the old one and reports the issues, each naming
//! the template field, the plugin and its version.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::alert::{History, Pass, Severity, TemplateId};
use crate::config::{PluginUse, TemplateConfig, ValidConfig};
use crate::event::{Event, EventKind, Sym};
use crate::issue::ConfigIssue;
use crate::market::Snapshot;
use crate::plugins::cooldown::CooldownInstance;
use crate::plugins::filter::FilterInstance;
use crate::plugins::formatter::FormatterInstance;
use crate::plugins::host_api::HostServices;
use crate::plugins::{Limits, LoadedPlugin, PluginEngine, PluginError, PluginKind, builtin, load};
use crate::telemetry::metrics;

use super::route::RouteIndex;

/// A plugin as one template uses it.
#[derive(Debug, Clone)]
pub struct PluginSlot {
    pub plugin: Arc<LoadedPlugin>,
    pub params: Arc<str>,
}

impl PluginSlot {
    /// Same plugin version and params: an instance built for one serves the other.
    pub fn same_as(&self, other: &PluginSlot) -> bool {
        Arc::ptr_eq(&self.plugin, &other.plugin) && self.params == other.params
    }
}

/// One template, ready to run.
#[derive(Debug)]
pub struct TemplatePlan {
    pub id: TemplateId,
    pub filter: PluginSlot,
    pub cooldown: Option<PluginSlot>,
    pub default_cooldown_ms: u64,
    pub formatter: Option<PluginSlot>,
    pub digest: bool,
    pub channels: Arc<[String]>,
    pub limits: Limits,
}

/// Everything the router and workers need for one config generation.
pub struct Plan {
    pub generation: u64,
    pub templates: Vec<Arc<TemplatePlan>>,
    pub routes: RouteIndex,
}

impl Plan {
    pub fn empty() -> Plan {
        Plan { generation: 0, templates: Vec::new(), routes: RouteIndex::default() }
    }
}

/// Loaded plugin versions, reused across plans so that a reload which does
/// not touch a plugin neither recompiles it nor rebuilds its instances.
pub struct PluginLibrary {
    engine: PluginEngine,
    dir: Option<PathBuf>,
    loaded: Mutex<HashMap<(String, PluginKind, String), Arc<LoadedPlugin>>>,
}

impl PluginLibrary {
    pub fn new(engine: PluginEngine, dir: Option<PathBuf>) -> PluginLibrary {
        PluginLibrary { engine, dir, loaded: Mutex::default() }
    }

    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// `<dir>/<name>.wasm` if present, else the stock plugin `name`.
    pub fn resolve(&self, name: &str, kind: PluginKind) -> Result<Arc<LoadedPlugin>, String> {
        let (bytes, origin) = match self
            .dir
            .as_ref()
            .map(|d| d.join(format!("{name}.wasm")))
            .filter(|p| p.exists())
        {
            Some(path) => (
                std::fs::read(&path)
                    .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?,
                path.display().to_string(),
            ),
            None => match builtin::stock(name) {
                Some((_, bytes)) => (bytes.to_vec(), "builtin".to_owned()),
                None => return Err(self.not_found(name)),
            },
        };
        let version = load::content_version(&bytes).0;
        let key = (name.to_owned(), kind, version);
        if let Some(p) = self.loaded.lock().expect("library poisoned").get(&key) {
            return Ok(p.clone());
        }
        let plugin = load::load(&self.engine, name, &origin, &bytes, kind).map_err(|e| {
            metrics().plugin_rejected.with_label_values(&[name, e.reason_label()]).inc();
            e.to_string()
        })?;
        self.loaded.lock().expect("library poisoned").insert(key, plugin.clone());
        Ok(plugin)
    }

    fn not_found(&self, name: &str) -> String {
        let stock: Vec<&str> = builtin::STOCK.iter().map(|(n, _, _)| *n).collect();
        match &self.dir {
            Some(dir) => format!(
                "no plugin `{name}`: `{}` does not exist and no stock plugin has that name (stock: {})",
                dir.join(format!("{name}.wasm")).display(),
                stock.join(", ")
            ),
            None => format!(
                "no plugin `{name}`: not a stock plugin (stock: {}) and no `plugins.dir` is set",
                stock.join(", ")
            ),
        }
    }
}

/// Build a plan for every enabled template, or every issue found.
pub fn build_plan(
    config: &ValidConfig,
    library: &PluginLibrary,
    services: &HostServices,
    generation: u64,
) -> Result<Plan, Vec<ConfigIssue>> {
    let mut templates = Vec::new();
    let mut issues = Vec::new();
    for (name, t) in config.raw().templates.iter().filter(|(_, t)| t.enabled) {
        match plan_template(name, t, library, services) {
            Ok(plan) => templates.push(Arc::new(plan)),
            Err(mut found) => issues.append(&mut found),
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    let selectors: Vec<_> =
        config.raw().templates.iter().filter(|(_, t)| t.enabled).map(|(_, t)| &t.select).collect();
    let routes = RouteIndex::build(&selectors);
    Ok(Plan { generation, templates, routes })
}

fn plan_template(
    name: &str,
    t: &TemplateConfig,
    library: &PluginLibrary,
    services: &HostServices,
) -> Result<TemplatePlan, Vec<ConfigIssue>> {
    let id = TemplateId::new(name);
    let limits = Limits {
        memory_bytes: (t.limits.memory_mib as usize) << 20,
        call_budget: t.limits.call_timeout,
    };
    let mut issues = Vec::new();
    let mut slot = |field: &str, used: &PluginUse, kind: PluginKind| -> Option<PluginSlot> {
        let at = |sub: &str| format!("templates.{name}.{field}.{sub}");
        let plugin = library
            .resolve(&used.plugin, kind)
            .map_err(|e| issues.push(ConfigIssue::new(at("plugin"), e)))
            .ok()?;
        let slot = PluginSlot { plugin, params: Arc::from(used.params.to_string()) };
        if let Err(e) = smoke(library.engine(), &id, &slot, services, limits) {
            let sub = if matches!(e, PluginError::Configure { .. }) { "params" } else { "plugin" };
            metrics().plugin_rejected.with_label_values(&[&used.plugin, e.reason_label()]).inc();
            issues.push(ConfigIssue::new(at(sub), e.to_string()));
            return None;
        }
        Some(slot)
    };
    let filter = slot("filter", &t.filter, PluginKind::Filter);
    // Outer `None`: not configured (the default applies); inner: failed.
    let cooldown = t.cooldown.as_ref().map(|u| slot("cooldown", u, PluginKind::Cooldown));
    let formatter = t.formatter.as_ref().map(|u| slot("formatter", u, PluginKind::Formatter));
    let failed = |s: &Option<Option<PluginSlot>>| matches!(s, Some(None));
    match filter {
        Some(filter) if issues.is_empty() && !failed(&cooldown) && !failed(&formatter) => {
            Ok(TemplatePlan {
                id,
                filter,
                cooldown: cooldown.flatten(),
                default_cooldown_ms: t.default_cooldown.as_millis() as u64,
                formatter: formatter.flatten(),
                digest: t.digest.batches(),
                channels: t.channels.iter().cloned().collect(),
                limits,
            })
        }
        _ => Err(issues),
    }
}

/// The event every plugin is smoke-run with before going live: small and
/// unremarkable, so a healthy plugin just rejects it.
pub fn smoke_event() -> Event {
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

/// Configure `slot` in a throwaway store and make one call of each export.
fn smoke(
    engine: &PluginEngine,
    template: &TemplateId,
    slot: &PluginSlot,
    services: &HostServices,
    limits: Limits,
) -> Result<(), PluginError> {
    let event = smoke_event();
    let market = Snapshot::default();
    let plugin = slot.plugin.clone();
    let failed = |e: crate::plugins::CallError| PluginError::Smoke {
        plugin: plugin.reference.clone(),
        reason: e.to_string(),
    };
    match plugin.kind {
        PluginKind::Filter => {
            let mut f = FilterInstance::new(
                engine,
                template,
                slot.plugin.clone(),
                &slot.params,
                services,
                limits,
            )?;
            f.evaluate(&event, &market, 1).map_err(failed)?;
            let mut columns = crate::plugins::Columns::default();
            columns.fill([(&event, &market)].into_iter());
            f.evaluate_batch(&columns, 1, &mut Vec::new()).map_err(failed)?;
        }
        PluginKind::Cooldown => {
            let mut c = CooldownInstance::new(
                engine,
                template,
                slot.plugin.clone(),
                &slot.params,
                services,
                limits,
            )?;
            let pass = Pass {
                alert_key: "SMOKEUSDT".into(),
                severity: Severity::Info,
                value: 1.0,
                title: "smoke".into(),
                fields: vec![],
            };
            c.decide(&pass, &event, &History::default(), 1).map_err(failed)?;
        }
        PluginKind::Formatter => {
            let mut f = FormatterInstance::new(
                engine,
                template,
                slot.plugin.clone(),
                &slot.params,
                services,
                limits,
            )?;
            let alert = smoke_alert(template, event);
            f.format(&alert, 1).map_err(failed)?;
            f.format_digest(&[alert.clone(), alert], 1).map_err(failed)?;
        }
    }
    Ok(())
}

fn smoke_alert(template: &TemplateId, event: Event) -> Arc<crate::alert::Alert> {
    use crate::alert::{Alert, AlertId, Decision};
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

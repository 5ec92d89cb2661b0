//! The plan: the running form of the templates, built from a `ValidConfig`
//! off the hot path and published atomically (`ArcSwap<Plan>`).
//!
//! Building a plan loads every referenced plugin (compile or cache hit,
//! type-check against its world), configures it with each template's params
//! and smoke-runs it (measuring its fuel per event against
//! `limits.fuel_per_call`, where a template sets one). [`build_plan`] is all or nothing: only if every
//! template passes does the plan go live; otherwise the caller keeps the old
//! one and reports the issues, each naming the template field, the plugin
//! and its version. [`plan_enabled`] plans what it can and says why each
//! other template failed, and which plugin files failed for it (startup
//! disables those templates; a reload moves bad uploads aside).

use std::path::PathBuf;
use std::sync::Arc;

use crate::alert::TemplateId;
use crate::config::{PluginUse, ShardKey, TemplateConfig, ValidConfig};
use crate::issue::ConfigIssue;
use crate::plugins::host_api::HostServices;
use crate::plugins::{Domain, Limits, PluginError, PluginKind, RuleRef, smoke};
use crate::telemetry::metrics;

use super::route::{KeySplit, RouteIndex};
use crate::config::raw::RolloutKind;

pub use super::counters::TemplateCounters;

pub use super::library::{PluginLibrary, Unresolved};
pub use crate::plugins::PluginSlot;

/// One template, ready to run.
#[derive(Debug)]
pub struct TemplatePlan {
    pub id: TemplateId,
    pub owner: Option<Arc<str>>,
    pub filter: PluginSlot,
    pub cooldown: Option<PluginSlot>,
    pub default_cooldown_ms: u64,
    pub formatter: Option<PluginSlot>,
    pub digest: bool,
    pub channels: Arc<[String]>,
    pub limits: Limits,
    pub counters: TemplateCounters,
    /// `name@version` of each plugin, stamped on every alert it decides.
    pub versions: Arc<crate::alert::PluginVersions>,
    pub shard_by: crate::config::ShardKey,
    pub alert_keys: crate::config::KeyScope,
    /// Which side of a rollout this entry is, if the template has one.
    pub arm: Arm,
}

/// A template entry's side of a rollout: all of its keys (no rollout), or
/// those its split admits.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Arm {
    pub split: Option<KeySplit>,
    pub kind: Option<RolloutKind>,
}

impl Arm {
    fn of(t: &TemplateConfig, canary: bool) -> Arm {
        let split = t.rollout.as_ref().map(|r| KeySplit {
            share: r.share,
            canary,
            by: t.shard_by,
            scope: t.alert_keys,
        });
        Arm { split, kind: t.rollout.as_ref().map(|r| r.kind) }
    }

    pub fn is_canary(&self) -> bool {
        self.split.is_some_and(|s| s.canary)
    }

    /// The `arm` metric label.
    pub fn label(&self) -> &'static str {
        if self.is_canary() { "canary" } else { "stable" }
    }
}

/// A template that could not be planned: every issue found, and each
/// plugin file from `plugins.dir` that failed for it.
#[derive(Debug, Clone)]
pub struct TemplateFailure {
    pub template: TemplateId,
    pub issues: Vec<ConfigIssue>,
    pub files: Vec<FailedFile>,
}

/// A plugin file that failed to load, or to configure or smoke-run with
/// one template's params.
#[derive(Debug, Clone)]
pub struct FailedFile {
    /// The template field, e.g. `templates.whales.filter`.
    pub field: String,
    pub plugin: String,
    pub version: String,
    pub path: PathBuf,
    /// Failed before any params were involved (compile, API version,
    /// imports, world): the file's fault whatever the config says.
    pub at_load: bool,
    pub reason: String,
}

/// Everything the router and workers need for one config generation.
pub struct Plan {
    pub generation: u64,
    pub templates: Vec<Arc<TemplatePlan>>,
    pub routes: RouteIndex,
    /// The key every template shards by, when they all agree: the router
    /// then works out an event's worker once, not once per template.
    pub shard_by: Option<ShardKey>,
}

impl Plan {
    pub fn new(generation: u64, templates: Vec<Arc<TemplatePlan>>, routes: RouteIndex) -> Plan {
        let first = templates.first().map(|t| t.shard_by);
        let shard_by = first.filter(|k| templates.iter().all(|t| t.shard_by == *k));
        Plan { generation, templates, routes, shard_by }
    }

    pub fn empty() -> Plan {
        Plan::new(0, Vec::new(), RouteIndex::default())
    }

    /// Publish `klaxon_template_plugins` for this plan, forgetting the
    /// entries of the one it replaces.
    pub fn export_versions(&self) {
        let gauge = &metrics().template_plugins;
        gauge.reset();
        for t in &self.templates {
            let v = &t.versions;
            let share = t.arm.split.map_or(1.0, |s| if s.canary { s.share } else { 1.0 - s.share });
            let or_default = |v: &Option<String>| v.clone().unwrap_or_else(|| "default".into());
            let labels = [
                t.id.as_str(),
                t.arm.label(),
                &or_default(&v.filter),
                &or_default(&v.cooldown),
                &or_default(&v.formatter),
            ];
            gauge.with_label_values(&labels).set(share);
        }
    }

    /// Every entry with its plugin versions, for the startup and reload
    /// logs: `whale-trades[amount-threshold@1a2b.., escalate@.., plain@..]`,
    /// a canary entry marked `(canary 10%)`.
    pub fn describe(&self) -> String {
        let entry = |t: &Arc<TemplatePlan>| {
            let v = &t.versions;
            let versions: Vec<&str> = [&v.filter, &v.cooldown, &v.formatter]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            let arm = match t.arm.split {
                Some(s) if s.canary => format!(" (canary {}%)", s.share * 100.0),
                _ => String::new(),
            };
            format!("{}[{}]{arm}", t.id, versions.join(", "))
        };
        self.templates.iter().map(entry).collect::<Vec<_>>().join(" ")
    }

    /// Every plugin `template` uses in this plan.
    fn slots_of<'a>(&'a self, template: &'a TemplateId) -> impl Iterator<Item = &'a PluginSlot> {
        self.templates
            .iter()
            .filter(move |t| &t.id == template)
            .flat_map(|t| [Some(&t.filter), t.cooldown.as_ref(), t.formatter.as_ref()])
            .flatten()
    }

    /// Whether `template` runs `plugin` (any kind) in this plan.
    pub fn runs(&self, template: &TemplateId, plugin: &crate::plugins::PluginRef) -> bool {
        self.slots_of(template).any(|s| &s.plugin.reference == plugin)
    }

    /// Whether `template` runs `plugin` in `domain` (so a worker keeps that
    /// rule built).
    pub fn uses(
        &self,
        template: &TemplateId,
        plugin: &crate::plugins::PluginRef,
        domain: &Domain,
    ) -> bool {
        self.slots_of(template).any(|s| &s.plugin.reference == plugin && &s.domain == domain)
    }
}

/// Build a plan for every enabled template, or every issue found.
pub fn build_plan(
    config: &ValidConfig,
    library: &PluginLibrary,
    services: &HostServices,
    generation: u64,
) -> Result<Plan, Vec<ConfigIssue>> {
    let (plan, failures) = plan_enabled(config, library, services, generation);
    if !failures.is_empty() {
        return Err(failures.into_iter().flat_map(|f| f.issues).collect());
    }
    Ok(plan)
}

/// A plan of every enabled template that plans, and why each other failed.
pub fn plan_enabled(
    config: &ValidConfig,
    library: &PluginLibrary,
    services: &HostServices,
    generation: u64,
) -> (Plan, Vec<TemplateFailure>) {
    let mut templates = Vec::new();
    let mut selectors = Vec::new();
    let mut failures = Vec::new();
    for (name, t) in config.raw().templates.iter().filter(|(_, t)| t.enabled) {
        match plan_arms(name, t, config.limits_of(name), library, services) {
            Ok(arms) => {
                for plan in arms {
                    selectors.push((&t.select, plan.arm.split));
                    templates.push(Arc::new(plan));
                }
            }
            Err(failure) => failures.push(failure),
        }
    }
    let routes = RouteIndex::build(&selectors);
    (Plan::new(generation, templates, routes), failures)
}

/// The template's entry, and with a rollout its canary entry too; if
/// either fails, the template fails whole.
fn plan_arms(
    name: &str,
    t: &TemplateConfig,
    limits: Limits,
    library: &PluginLibrary,
    services: &HostServices,
) -> Result<Vec<TemplatePlan>, TemplateFailure> {
    let stable = plan_template(name, t, limits.clone(), library, services, Arm::of(t, false));
    let Some(rollout) = &t.rollout else { return Ok(vec![stable?]) };
    let canary_config = with_canary(t, rollout);
    let canary = plan_template(name, &canary_config, limits, library, services, Arm::of(t, true))
        .map_err(|mut f| {
            for issue in &mut f.issues {
                let field = format!("templates.{name}.{}", rollout.kind.as_str());
                issue.path = issue.path.replace(&field, &format!("templates.{name}.rollout"));
            }
            f
        });
    match (stable, canary) {
        (Ok(stable), Ok(canary)) => Ok(vec![stable, canary]),
        (Err(mut a), Err(b)) => {
            a.issues.extend(b.issues);
            a.files.extend(b.files);
            Err(a)
        }
        (Err(f), _) | (_, Err(f)) => Err(f),
    }
}

/// The template as its canary runs it: the rollout's plugin in place of
/// the one of its kind, with the rollout's params or the current ones.
fn with_canary(t: &TemplateConfig, r: &crate::config::raw::RolloutConfig) -> TemplateConfig {
    let mut canary = t.clone();
    let current = match r.kind {
        RolloutKind::Filter => Some(&mut canary.filter),
        RolloutKind::Cooldown => canary.cooldown.as_mut(),
        RolloutKind::Formatter => canary.formatter.as_mut(),
    };
    let params = r.params.clone().or_else(|| current.as_ref().map(|c| c.params.clone()));
    let used = PluginUse {
        plugin: r.plugin.clone(),
        params: params.unwrap_or_else(|| serde_json::json!({})),
    };
    match (r.kind, current) {
        (_, Some(slot)) => *slot = used,
        (RolloutKind::Cooldown, None) => canary.cooldown = Some(used),
        (_, None) => canary.formatter = Some(used),
    }
    canary
}

fn plan_template(
    name: &str,
    t: &TemplateConfig,
    limits: Limits,
    library: &PluginLibrary,
    services: &HostServices,
    arm: Arm,
) -> Result<TemplatePlan, TemplateFailure> {
    let id = TemplateId::new(name);
    let (mut issues, mut files) = (Vec::new(), Vec::new());
    let watchlists: Arc<[Arc<str>]> = t.watchlists.iter().map(|w| Arc::from(w.as_str())).collect();
    let mut slot = |field: &str, used: &PluginUse, kind: PluginKind| -> Option<PluginSlot> {
        let at = |sub: &str| format!("templates.{name}.{field}.{sub}");
        let mut failed = |path: PathBuf, version: String, at_load: bool, reason: &str| {
            let (field, plugin) = (format!("templates.{name}.{field}"), used.plugin.clone());
            files.push(FailedFile { field, plugin, version, path, at_load, reason: reason.into() });
        };
        let plugin = match library.resolve(&used.plugin, kind) {
            Ok(plugin) => plugin,
            Err((reason, file)) => {
                if let Some((path, version)) = file {
                    failed(path, version, true, &reason);
                }
                issues.push(ConfigIssue::new(at("plugin"), reason));
                return None;
            }
        };
        let domain = library.domain(&plugin, name, t.owner.as_deref());
        let params = Arc::from(used.params.to_string());
        let slot = PluginSlot { plugin, params, domain, watchlists: watchlists.clone() };
        let rule = RuleRef { template: &id, slot: &slot, limits: &limits };
        let validated = smoke::smoke(library.engine(), rule, services).and_then(|()| {
            limits.fuel_per_call.map_or(Ok(()), |max| library.check_fuel(rule, services, max))
        });
        if let Err(e) = validated {
            let sub = if matches!(e, PluginError::Configure { .. }) { "params" } else { "plugin" };
            metrics().plugin_rejected.with_label_values(&[&used.plugin, e.reason_label()]).inc();
            if slot.plugin.origin != "builtin" {
                let version = slot.plugin.reference.version.to_string();
                failed(PathBuf::from(&slot.plugin.origin), version, false, &e.to_string());
            }
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
            let (cooldown, formatter) = (cooldown.flatten(), formatter.flatten());
            let versions = Arc::new(crate::alert::PluginVersions {
                filter: Some(version_of(&filter)),
                cooldown: cooldown.as_ref().map(version_of),
                formatter: formatter.as_ref().map(version_of),
            });
            Ok(TemplatePlan {
                id,
                owner: t.owner.as_deref().map(Arc::from),
                filter,
                cooldown,
                default_cooldown_ms: t.default_cooldown.as_millis() as u64,
                formatter,
                digest: t.digest.batches(),
                channels: t.channels.iter().cloned().collect(),
                limits,
                counters: TemplateCounters::new(name, arm.label()),
                versions,
                shard_by: t.shard_by,
                alert_keys: t.alert_keys,
                arm,
            })
        }
        _ => Err(TemplateFailure { template: id, issues, files }),
    }
}

/// `name@version` of the plugin in `slot`.
fn version_of(slot: &PluginSlot) -> String {
    let r = &slot.plugin.reference;
    format!("{}@{}", r.name, r.version)
}

//! A worker's plugin instances, and the failure policy, written once.
//!
//! Instances are shared where that is safe: one per (plugin version, trust
//! domain). Stock plugins and plugins ops mark `trusted` form one domain;
//! every other plugin is its own domain per owner, so one owner's code never
//! holds another owner's rules. An instance holds one rule per template it
//! serves and is capped at the largest memory limit among them.
//!
//! Every stage asks the pool, never an instance, so the sequence lives here
//! once: skip quarantined rules → get or build the instance and its rules →
//! call → on failure find the rule to blame (see `contain`), charge it in the
//! ledger, drop the poisoned instance → answer with the kind's fallback
//! (`fallback`). Stages get plain answers and copy nothing of the policy.

use std::sync::Arc;
use std::time::Duration;

use crate::alert::{Alert, Decision, Message, TemplateId};
use crate::telemetry::metrics;

use super::Limits;
use super::call::CallError;
use super::call_set::CallSet;
use super::cooldown::DecideItem;
use super::fallback;
use super::host_api::HostServices;
use super::instance::Instance;
use super::{LoadedPlugin, PluginEngine, PluginError, PluginKind, PluginRef, TrapLedger};

/// Calls after which an instance is rebuilt anyway, so a slow leak inside a
/// guest cannot grow forever. State kept in the host KV survives it.
const RECYCLE_AFTER: u64 = 1_000_000;

/// Who may share an instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Domain {
    /// Stock plugins and plugins marked `trusted`: one instance for all.
    Trusted,
    /// Everything else: one instance per owner (or per template, when a
    /// template names no owner).
    Owner(Arc<str>),
}

/// A plugin as one template uses it.
#[derive(Debug, Clone)]
pub struct PluginSlot {
    pub plugin: Arc<LoadedPlugin>,
    pub params: Arc<str>,
    pub domain: Domain,
    /// The watchlists the template declares: the only ones its rule reads.
    pub watchlists: Arc<[Arc<str>]>,
}

/// One template's rule: who, with which plugin, within which limits.
#[derive(Debug, Clone, Copy)]
pub struct RuleRef<'a> {
    pub template: &'a TemplateId,
    pub slot: &'a PluginSlot,
    pub limits: &'a Limits,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct InstanceKey {
    plugin: PluginRef,
    kind: PluginKind,
    domain: Domain,
}

impl RuleRef<'_> {
    /// Whether `other` is served by the same instance, without building
    /// either key (this runs per rule per run).
    fn same_instance(&self, other: &RuleRef<'_>) -> bool {
        let (a, b) = (&self.slot.plugin, &other.slot.plugin);
        (Arc::ptr_eq(a, b) || (a.reference == b.reference && a.kind == b.kind))
            && self.slot.domain == other.slot.domain
    }

    pub(crate) fn key(&self) -> InstanceKey {
        let plugin = &self.slot.plugin;
        InstanceKey {
            plugin: plugin.reference.clone(),
            kind: plugin.kind,
            domain: self.slot.domain.clone(),
        }
    }
}

struct Pooled {
    instance: Instance,
    calls: u64,
}

/// One candidate to decide, with what the fallback needs.
pub struct DecideJob<'a> {
    /// `None`: the template has no cooldown plugin; the default applies.
    pub rule: Option<RuleRef<'a>>,
    pub item: DecideItem<'a>,
    pub default_cooldown_ms: u64,
}

pub struct InstancePool {
    pub(crate) engine: PluginEngine,
    pub(crate) services: HostServices,
    pub(crate) ledger: Arc<TrapLedger>,
    instances: ahash::AHashMap<InstanceKey, Pooled>,
}

impl InstancePool {
    pub fn new(
        engine: PluginEngine,
        services: HostServices,
        ledger: Arc<TrapLedger>,
    ) -> InstancePool {
        InstancePool { engine, services, ledger, instances: ahash::AHashMap::new() }
    }

    /// Keep only the rules `keep` says are still in the plan (after a
    /// reload); instances left with no rule are dropped.
    pub fn retain(&mut self, keep: impl Fn(&TemplateId, &PluginRef, &Domain) -> bool) {
        for (key, pooled) in self.instances.iter_mut() {
            let gone: Vec<TemplateId> = pooled
                .instance
                .rules
                .keys()
                .filter(|t| !keep(t, &key.plugin, &key.domain))
                .cloned()
                .collect();
            for t in gone {
                pooled.instance.drop_rule(&t);
            }
        }
        self.instances.retain(|_, p| !p.instance.rules.is_empty());
    }

    /// Number of live instances (for `bench` and tests).
    pub fn instances(&self) -> usize {
        self.instances.len()
    }

    /// Rules built, over every instance.
    #[cfg(test)]
    pub(crate) fn rules(&self) -> usize {
        self.instances.values().map(|p| p.instance.rules.len()).sum()
    }

    /// Charge a failed call to `rule`'s template.
    pub(crate) fn fail(&self, rule: &RuleRef<'_>, error: &CallError) {
        let plugin = &rule.slot.plugin;
        self.ledger.record(rule.template, &plugin.reference, plugin.kind, error);
    }

    pub(crate) fn poison(&mut self, key: &InstanceKey) {
        self.instances.remove(key);
    }

    /// The instance for `rules` (one key), with every rule that is not
    /// quarantined built and current. Returns it and the indices of the
    /// rules ready to call; a rule whose `create` fails is charged and left
    /// out (the instance is rebuilt without it if the failure poisoned it).
    pub(crate) fn prepare(&mut self, rules: &[RuleRef<'_>]) -> Option<(&mut Instance, Vec<usize>)> {
        let key = rules.first()?.key();
        let (mut live, memory, budget) = self.live(rules)?;
        let was_ready = loop {
            let plugin = &rules[live[0]].slot.plugin;
            let pooled = match self.instance_for(&key, plugin, memory, budget) {
                Ok(pooled) => pooled,
                Err(error) => {
                    tracing::warn!(%error, "Plugin instance unavailable; its failure policy applies.");
                    return None;
                }
            };
            // The rules of the last call, in its order: built and granted.
            if ready(&pooled.instance, rules, &live) {
                break true;
            }
            let failed = live.iter().position(|&i| {
                let r = &rules[i];
                build_rule(&mut pooled.instance, r).map_err(|e| {
                    tracing::warn!(template = %r.template, error = %e, "Rule cannot be built; its failure policy applies.");
                }).is_err()
            });
            let Some(at) = failed else { break false };
            let i = live.remove(at);
            self.fail(&rules[i], &CallError::Guest("create failed".into()));
            // `create` may have trapped; start from a clean instance.
            self.instances.remove(&key);
            if live.is_empty() {
                return None;
            }
        };
        let pooled = self.instances.get_mut(&key).expect("built above");
        pooled.calls += 1;
        let instance = &mut pooled.instance;
        if !was_ready {
            // Built or checked above: marked with these very params and
            // grants, so the next run with them skips the checks.
            instance.call_set =
                CallSet::build(instance, live.iter().map(|&i| rules[i].template)).ok();
        }
        Some((instance, live))
    }

    /// Build the shared instance of `rules` (one key) and their rules before
    /// any event needs them, so the first alert after a start or a deploy
    /// does not wait for instantiation and a `create` per template. Only
    /// the `Trusted` domain, one instance per plugin: an instance per owner
    /// is left for the first call. Quiet: whatever fails here is left to
    /// that first call ([`InstancePool::prepare`]), which charges it.
    pub(crate) fn warm(&mut self, rules: &[RuleRef<'_>]) {
        let Some(first) = rules.first() else { return };
        if !matches!(first.slot.domain, Domain::Trusted) {
            return;
        }
        let key = first.key();
        let Some((live, memory, budget)) = self.live(rules) else { return };
        let plugin = &rules[live[0]].slot.plugin;
        let Ok(pooled) = self.instance_for(&key, plugin, memory, budget) else { return };
        if live.iter().any(|&i| build_rule(&mut pooled.instance, &rules[i]).is_err()) {
            // `create` may have trapped: the first call starts clean.
            self.instances.remove(&key);
        }
    }

    /// The indices of `rules` not quarantined, with the memory cap and the
    /// time budget an instance for them needs; `None` if none is live.
    fn live(&self, rules: &[RuleRef<'_>]) -> Option<(Vec<usize>, usize, Duration)> {
        let live: Vec<usize> = (0..rules.len())
            .filter(|&i| {
                !self.ledger.is_disabled(rules[i].template, &rules[i].slot.plugin.reference)
            })
            .collect();
        let memory = live.iter().map(|&i| rules[i].limits.memory_bytes()).max()?;
        let budget = live.iter().map(|&i| rules[i].limits.call_timeout).max()?;
        Some((live, memory, budget))
    }

    /// The instance of `key`, first dropped if it is smaller than `memory`
    /// or due for recycling, and built if there is none.
    fn instance_for(
        &mut self,
        key: &InstanceKey,
        plugin: &Arc<LoadedPlugin>,
        memory: usize,
        budget: Duration,
    ) -> Result<&mut Pooled, PluginError> {
        let stale = (self.instances.get(key))
            .is_some_and(|p| p.instance.memory_bytes < memory || p.calls >= RECYCLE_AFTER);
        if stale {
            self.instances.remove(key);
        }
        if !self.instances.contains_key(key) {
            let plugin = plugin.clone();
            let instance = Instance::new(&self.engine, plugin, &self.services, memory, budget)?;
            self.instances.insert(key.clone(), Pooled { instance, calls: 0 });
        }
        Ok(self.instances.get_mut(key).expect("inserted above"))
    }

    /// Decide every job, in order: the policy's answer, or the template's
    /// default cooldown when it has no policy or the policy fails.
    pub fn decide(&mut self, jobs: &[DecideJob<'_>]) -> Vec<Decision> {
        let mut answers: Vec<Option<Decision>> = vec![None; jobs.len()];
        for group in group_by_key(jobs.iter().map(|j| j.rule.as_ref())) {
            self.decide_group(jobs, &group, &mut answers);
        }
        answers
            .into_iter()
            .zip(jobs)
            .map(|(answer, j)| {
                answer.unwrap_or_else(|| {
                    let severity = j.item.pass.severity;
                    fallback::default_decision(
                        j.item.history,
                        j.default_cooldown_ms,
                        severity,
                        j.item.now_ms,
                    )
                })
            })
            .collect()
    }

    fn decide_group(
        &mut self,
        jobs: &[DecideJob<'_>],
        group: &[usize],
        answers: &mut [Option<Decision>],
    ) {
        let rules: Vec<RuleRef<'_>> = group.iter().filter_map(|&j| jobs[j].rule).collect();
        let Some((instance, live)) = self.prepare(&rules) else { return };
        let items: Vec<DecideItem<'_>> = live.iter().map(|&i| jobs[group[i]].item).collect();
        match instance.decide_batch(&items) {
            Ok(decisions) => {
                for (&i, d) in live.iter().zip(decisions) {
                    answers[group[i]] = Some(d);
                }
            }
            Err(error) => {
                let key = rules[0].key();
                if error.poisons() {
                    self.poison(&key);
                }
                if live.len() == 1 {
                    self.fail(&rules[live[0]], &error);
                    return;
                }
                // Someone in the batch failed: each alone finds out who.
                for &i in &live {
                    self.decide_group(jobs, &[group[i]], answers);
                }
            }
        }
    }

    /// The message for `alerts` of one template: its formatter's, or the
    /// built-in plain format when it has none or the formatter fails.
    pub fn format(
        &mut self,
        rule: Option<RuleRef<'_>>,
        alerts: &[Arc<Alert>],
        now_ms: u64,
    ) -> Message {
        if let Some(rule) = rule
            && let Some((instance, live)) = self.prepare(&[rule])
            && !live.is_empty()
        {
            match instance.format(rule.template, alerts, now_ms) {
                Ok(message) => return message,
                Err(error) => {
                    if error.poisons() {
                        self.poison(&rule.key());
                    }
                    self.fail(&rule, &error);
                }
            }
        }
        fallback::plain_digest(alerts)
    }
}

/// Whether `instance`'s last call set is `rules[live]`, built and granted.
fn ready(instance: &Instance, rules: &[RuleRef<'_>], live: &[usize]) -> bool {
    let set = instance.call_set.as_ref();
    set.is_some_and(|set| set.ready_for(live.iter().map(|&i| rules[i])))
}

/// Give `rule` its watchlists and build it in `instance`, unless it is
/// there already, built from the same params.
fn build_rule(instance: &mut Instance, rule: &RuleRef<'_>) -> Result<(), PluginError> {
    instance.grant(rule.template, &rule.slot.watchlists);
    if instance.has_rule(rule.template, &rule.slot.params) {
        instance.adopt_params(rule.template, &rule.slot.params);
        return Ok(());
    }
    instance.add_rule(rule.template, &rule.slot.params, rule.limits)
}

/// Indices of `rules` grouped by instance key, groups in order of first
/// appearance; `None` entries (no plugin) are left out.
pub(crate) fn group_by_key<'a, 'b: 'a>(
    rules: impl Iterator<Item = Option<&'a RuleRef<'b>>>,
) -> Vec<Vec<usize>> {
    let mut groups: Vec<(&RuleRef<'b>, Vec<usize>)> = Vec::new();
    for (i, rule) in rules.enumerate() {
        let Some(rule) = rule else { continue };
        match groups.iter_mut().find(|(first, _)| first.same_instance(rule)) {
            Some((_, list)) => list.push(i),
            None => groups.push((rule, vec![i])),
        }
    }
    groups.into_iter().map(|(_, list)| list).collect()
}

/// The metric every failed-closed filter evaluation moves.
pub(crate) fn count_failed_closed(rule: &RuleRef<'_>, rows: usize) {
    let plugin = &rule.slot.plugin.reference.name;
    metrics()
        .evaluations_failed
        .with_label_values(&[rule.template.as_str(), plugin])
        .inc_by(rows as u64);
}

//! One plugin instance: a Store with its limits, the world's exports, and
//! the rules it holds — one configured resource per template it serves.
//!
//! An instance is owned by exactly one worker thread (no `Mutex<Store>`)
//! and serves one trust domain (see `pool`), so the rules it holds all
//! belong to one owner or to the operator's trusted plugins. After a
//! poisoning error the owner drops the whole instance and builds a fresh one
//! from the same `LoadedPlugin`; rules are then created again from their
//! params, and state they keep in the host KV survives.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceAny;
use wasmtime::{Store, StoreLimitsBuilder};

use crate::alert::TemplateId;

use super::bindings::{cooldown::CooldownPolicy, filter::Filter, formatter::Formatter, wit};
use super::call::{self, CallError, CallSpec};
use super::call_set::CallSet;
use super::host_api::{HostServices, HostState};
use super::load::KindPre;
use super::meter::{FUEL_TANK, StoreMeter};
use super::{Limits, LoadedPlugin, PluginEngine, PluginError};

/// The typed exports of an instance, per world.
pub(crate) enum Exports {
    Filter(Filter),
    Cooldown(CooldownPolicy),
    Formatter(Formatter),
}

/// One template's configured resource inside an instance.
pub(crate) struct Rule {
    pub(crate) handle: ResourceAny,
    pub(crate) params: Arc<str>,
    /// What a filter rule reads (empty for the other kinds).
    pub(crate) columns: wit::Columns,
    pub(crate) limits: Arc<Limits>,
    /// The template alone, as a call for this rule only is scoped.
    pub(crate) scope: Arc<[TemplateId]>,
}

pub struct Instance {
    pub(crate) plugin: Arc<LoadedPlugin>,
    pub(crate) store: Store<HostState>,
    pub(crate) exports: Exports,
    pub(crate) memory_bytes: usize,
    pub(crate) rules: ahash::AHashMap<TemplateId, Rule>,
    /// The rules of the last batch call (`call_set`).
    pub(crate) call_set: Option<CallSet>,
}

impl Instance {
    /// Instantiate `plugin` in a fresh store capped at `memory_bytes`.
    pub fn new(
        engine: &PluginEngine,
        plugin: Arc<LoadedPlugin>,
        services: &HostServices,
        memory_bytes: usize,
        budget: Duration,
    ) -> Result<Instance, PluginError> {
        let runtime = &engine.limits;
        let limits = StoreLimitsBuilder::new()
            .memory_size(memory_bytes)
            .instances(runtime.store_instances)
            .tables(runtime.store_tables)
            .memories(runtime.store_memories)
            .table_elements(runtime.store_table_elements)
            .trap_on_grow_failure(true)
            .build();
        let state = HostState::new(
            plugin.reference.clone(),
            plugin.kind,
            services.clone(),
            StoreMeter::new(limits),
        );
        let mut store = Store::new(&engine.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_hostcall_fuel(runtime.hostcall_fuel);
        if engine.settings.metered {
            store.set_fuel(FUEL_TANK).map_err(|e| PluginError::Instantiate {
                plugin: plugin.reference.clone(),
                reason: format!("cannot fill the fuel tank: {e:#}"),
            })?;
        }
        // Instantiation runs guest start code too; it gets one rule's budget.
        let none = Arc::from(Vec::new());
        let spec = CallSpec { budget, memory_bytes, now_ms: 0, scopes: &none, times: &[] };
        let exports =
            call::setup(&mut store, &spec, |s| instantiate(&plugin.pre, s)).map_err(|e| {
                PluginError::Instantiate { plugin: plugin.reference.clone(), reason: e.to_string() }
            })?;
        let rules = ahash::AHashMap::new();
        Ok(Instance { plugin, store, exports, memory_bytes, rules, call_set: None })
    }

    pub(crate) fn spec<'a>(
        &self,
        budget: Duration,
        now_ms: u64,
        scopes: &'a Arc<[TemplateId]>,
    ) -> CallSpec<'a> {
        CallSpec { budget, memory_bytes: self.memory_bytes, now_ms, scopes, times: &[] }
    }

    /// Fuel burnt so far, on a metered engine (`None` on any other).
    pub fn fuel_used(&self) -> Option<u64> {
        self.store.get_fuel().ok().map(|left| FUEL_TANK - left)
    }

    /// The instance's linear memory now, bytes.
    pub fn linear_memory_bytes(&self) -> usize {
        self.store.data().limits.memory_bytes()
    }

    /// Whether `template` has a rule here built from `params`.
    pub fn has_rule(&self, template: &TemplateId, params: &Arc<str>) -> bool {
        // The plan's own params are usually the very ones the rule was
        // built from: the pointer answers before the bytes are compared.
        self.rules
            .get(template)
            .is_some_and(|r| Arc::ptr_eq(&r.params, params) || r.params == *params)
    }

    /// Keep `params` (equal to the rule's own) as the rule's: a reload
    /// parses params anew, and later calls then compare pointers only.
    pub fn adopt_params(&mut self, template: &TemplateId, params: &Arc<str>) {
        if let Some(rule) = self.rules.get_mut(template)
            && !Arc::ptr_eq(&rule.params, params)
        {
            rule.params = params.clone();
            self.call_set = None;
        }
    }

    /// Build `template`'s rule from `params` (replacing an older one). The
    /// error names the plugin and, through the guest's message, the field.
    pub fn add_rule(
        &mut self,
        template: &TemplateId,
        params: &Arc<str>,
        limits: &Limits,
    ) -> Result<(), PluginError> {
        self.release(template);
        let limits = Arc::new(limits.clone());
        self.store.data_mut().rule_limits.insert(template.clone(), limits.clone());
        let scope: Arc<[TemplateId]> = Arc::from([template.clone()]);
        let spec = self.spec(limits.call_timeout, 0, &scope);
        let configure = |reason: String| PluginError::Configure {
            plugin: self.plugin.reference.clone(),
            reason,
        };
        let created = match &self.exports {
            Exports::Filter(f) => {
                let rule = f.klaxon_plugin_filter_rules().rule();
                call::setup(&mut self.store, &spec, |s| rule.call_create(s, params))
            }
            Exports::Cooldown(c) => {
                let policy = c.klaxon_plugin_cooldown_policies().policy();
                call::setup(&mut self.store, &spec, |s| policy.call_create(s, params))
            }
            Exports::Formatter(f) => {
                let formatter = f.klaxon_plugin_formatters().formatter();
                call::setup(&mut self.store, &spec, |s| formatter.call_create(s, params))
            }
        };
        let handle = match created {
            Ok(Ok(handle)) => handle,
            Ok(Err(reason)) => return Err(configure(super::host_api::bounded(reason))),
            Err(e) => return Err(configure(e.to_string())),
        };
        let columns = match &self.exports {
            Exports::Filter(f) => {
                let rule = f.klaxon_plugin_filter_rules().rule();
                call::setup(&mut self.store, &spec, |s| rule.call_columns(s, handle))
                    .map_err(|e| configure(format!("columns: {e}")))?
            }
            _ => wit::Columns::empty(),
        };
        let rule = Rule { handle, params: params.clone(), columns, limits, scope };
        self.rules.insert(template.clone(), rule);
        Ok(())
    }

    /// Let `template`'s rule read `watchlists` (what the template declares),
    /// and no other list.
    pub fn grant(&mut self, template: &TemplateId, watchlists: &Arc<[Arc<str>]>) {
        let grants = &mut self.store.data_mut().rule_watchlists;
        if grants.get(template).is_none_or(|w| !Arc::ptr_eq(w, watchlists)) {
            grants.insert(template.clone(), watchlists.clone());
            self.call_set = None;
        }
    }

    /// Drop `template`'s rule, if any (the guest's destructor runs).
    pub fn drop_rule(&mut self, template: &TemplateId) {
        self.store.data_mut().rule_watchlists.remove(template);
        self.release(template);
    }

    /// Drop the rule itself; its grant stays for a rebuilt rule.
    fn release(&mut self, template: &TemplateId) {
        self.call_set = None;
        self.store.data_mut().rule_limits.remove(template);
        if let Some(rule) = self.rules.remove(template) {
            // A guest whose destructor fails is poisoned by it; the next
            // call finds out and the instance is rebuilt then.
            let _ = rule.handle.resource_drop(&mut self.store);
        }
    }

    /// The call set of `templates` (in order): the last one if it serves
    /// them, else built anew.
    pub(crate) fn call_set<'t>(
        &mut self,
        templates: impl ExactSizeIterator<Item = &'t TemplateId> + Clone,
    ) -> Result<&CallSet, CallError> {
        if !self.call_set.as_ref().is_some_and(|set| set.serves(templates.clone())) {
            self.call_set = Some(CallSet::build(self, templates)?);
        }
        Ok(self.call_set.as_ref().expect("set above"))
    }

    pub(crate) fn rule(&self, template: &TemplateId) -> Result<&Rule, CallError> {
        self.rules
            .get(template)
            .ok_or_else(|| CallError::Guest(format!("no rule for template `{template}`")))
    }
}

fn instantiate(pre: &KindPre, store: &mut Store<HostState>) -> wasmtime::Result<Exports> {
    Ok(match pre {
        KindPre::Filter(pre) => Exports::Filter(pre.instantiate(store)?),
        KindPre::Cooldown(pre) => Exports::Cooldown(pre.instantiate(store)?),
        KindPre::Formatter(pre) => Exports::Formatter(pre.instantiate(store)?),
    })
}

//! The rules of one batch call, in call order, kept from the last call on
//! an instance.
//!
//! A worker hands a shared instance the same templates run after run
//! (every template routed to it, in plan order), so what a batch call lends
//! the guest (the rule handles, the templates it may act for, their limits
//! and columns) is built once and reused while the templates stay the same.
//! A rule then costs a call a few pointer comparisons, instead of hash
//! lookups and reference-count traffic on names that every stage thread of
//! the plan shares (on 2 cores, that traffic was most of a 1,000-rule run).
//!
//! Reuse is decided by pointer: a set matches only the very `Arc`s it was
//! built from, and holds them, so an `Arc` of another plan cannot land on
//! the same address while it does. Building, dropping or re-granting a rule
//! drops the set (`Instance`).

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceAny;

use crate::alert::TemplateId;

use super::Limits;
use super::bindings::wit;
use super::call::CallError;
use super::instance::Instance;
use super::pool::RuleRef;

pub(crate) struct CallSet {
    /// The templates the call serves, by entry index (`host.scope`).
    pub(crate) scopes: Arc<[TemplateId]>,
    /// What each entry's rule was built from and granted, in `scopes` order.
    marks: Vec<Mark>,
    pub(crate) handles: Vec<ResourceAny>,
    pub(crate) limits: Vec<Arc<Limits>>,
    /// Every column some rule declared.
    pub(crate) columns: wit::Columns,
    /// The longest call budget among the rules.
    pub(crate) budget: Duration,
}

struct Mark {
    params: Arc<str>,
    watchlists: Option<Arc<[Arc<str>]>>,
}

impl CallSet {
    /// The set of `templates` (rules `instance` holds), in that order.
    pub(crate) fn build<'t>(
        instance: &Instance,
        templates: impl Iterator<Item = &'t TemplateId>,
    ) -> Result<CallSet, CallError> {
        let mut set = CallSet {
            marks: Vec::new(),
            scopes: Arc::from(Vec::new()),
            handles: Vec::new(),
            limits: Vec::new(),
            columns: wit::Columns::empty(),
            budget: Duration::ZERO,
        };
        let mut scopes = Vec::new();
        let grants = &instance.store.data().rule_watchlists;
        for template in templates {
            let rule = instance.rule(template)?;
            set.marks.push(Mark {
                params: rule.params.clone(),
                watchlists: grants.get(template).cloned(),
            });
            scopes.push(template.clone());
            set.handles.push(rule.handle);
            set.limits.push(rule.limits.clone());
            set.columns |= rule.columns;
            set.budget = set.budget.max(rule.limits.call_timeout);
        }
        set.scopes = Arc::from(scopes);
        Ok(set)
    }

    /// Whether the set is `templates`, in order.
    pub(crate) fn serves<'t>(
        &self,
        templates: impl ExactSizeIterator<Item = &'t TemplateId>,
    ) -> bool {
        templates.len() == self.scopes.len()
            && templates.zip(self.scopes.iter()).all(|(t, s)| Arc::ptr_eq(&t.0, &s.0))
    }

    /// Whether the set is `rules`, in order, each built from its params
    /// and granted its watchlists: nothing to build before calling them.
    pub(crate) fn ready_for<'r>(&self, rules: impl ExactSizeIterator<Item = RuleRef<'r>>) -> bool {
        rules.len() == self.scopes.len()
            && rules.zip(self.scopes.iter().zip(&self.marks)).all(|(r, (t, m))| {
                Arc::ptr_eq(&r.template.0, &t.0)
                    && Arc::ptr_eq(&r.slot.params, &m.params)
                    && m.watchlists.as_ref().is_some_and(|w| Arc::ptr_eq(w, &r.slot.watchlists))
            })
    }
}

//! Per-worker cache of plugin instances, one per template and plugin kind.
//!
//! An instance is rebuilt when its template's plugin version or params change
//! (hot swap), after a trap (poisoned), or every `RECYCLE_AFTER` calls so a
//! slow leak inside a guest cannot grow forever. Stateful plugins keep their
//! state in the host KV, which survives all of these.

use std::collections::HashMap;

use crate::alert::TemplateId;
use crate::plugins::PluginError;

use super::plan::PluginSlot;

const RECYCLE_AFTER: u64 = 1_000_000;

struct Cached<T> {
    slot: PluginSlot,
    instance: T,
    calls: u64,
}

pub struct InstanceCache<T> {
    map: HashMap<TemplateId, Cached<T>>,
}

impl<T> Default for InstanceCache<T> {
    fn default() -> Self {
        InstanceCache { map: HashMap::new() }
    }
}

impl<T> InstanceCache<T> {
    /// The instance serving `template` with `slot`, built by `build` if
    /// missing or stale.
    pub fn get(
        &mut self,
        template: &TemplateId,
        slot: &PluginSlot,
        build: impl FnOnce() -> Result<T, PluginError>,
    ) -> Result<&mut T, PluginError> {
        let fresh = match self.map.get(template) {
            Some(c) => !c.slot.same_as(slot) || c.calls >= RECYCLE_AFTER,
            None => true,
        };
        if fresh {
            self.map.remove(template);
            let instance = build()?;
            self.map.insert(template.clone(), Cached { slot: slot.clone(), instance, calls: 0 });
        }
        let cached = self.map.get_mut(template).expect("inserted above");
        cached.calls += 1;
        Ok(&mut cached.instance)
    }

    /// Drop a trapped instance; the next call builds a new one.
    pub fn poison(&mut self, template: &TemplateId) {
        self.map.remove(template);
    }

    /// Forget templates that are no longer in the plan.
    pub fn retain(&mut self, keep: impl Fn(&TemplateId) -> bool) {
        self.map.retain(|t, _| keep(t));
    }
}

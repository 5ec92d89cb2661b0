//! Calling a filter plugin: single events and column batches.

use std::sync::Arc;

use wasmtime::Store;

use crate::alert::{Pass, TemplateId};
use crate::event::Event;
use crate::market::Snapshot;

use super::bindings::{filter::Filter, wit};
use super::columns::Columns;
use super::convert;
use super::host_api::{HostServices, HostState};
use super::instance::{self, CallError, Limits};
use super::load::KindPre;
use super::{LoadedPlugin, PluginEngine, PluginError};

/// A filter's answer for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Reject(String),
    Pass(Pass),
}

/// A configured filter instance, owned by one worker.
pub struct FilterInstance {
    plugin: Arc<LoadedPlugin>,
    store: Store<HostState>,
    bindings: Filter,
    limits: Limits,
}

impl FilterInstance {
    /// Instantiate `plugin` for `template` and configure it with `params_json`.
    pub fn new(engine: &PluginEngine, template: &TemplateId, plugin: Arc<LoadedPlugin>, params_json: &str, services: &HostServices, limits: Limits) -> Result<FilterInstance, PluginError> {
        let KindPre::Filter(pre) = &plugin.pre else {
            panic!("FilterInstance::new called with a {} plugin", plugin.kind.as_str());
        };
        let mut store = instance::new_store(engine, template, &plugin, services, limits);
        let bindings = pre.instantiate(&mut store).map_err(|e| instance::instantiate_error(&plugin, &e, limits))?;
        let configured = bindings.call_configure(&mut store, params_json);
        instance::configure_error(&plugin, configured, limits)?;
        Ok(FilterInstance { plugin, store, bindings, limits })
    }

    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        &self.plugin
    }

    /// Judge one event.
    pub fn evaluate(&mut self, event: &Event, market: &Snapshot, now_ms: u64) -> Result<Verdict, CallError> {
        instance::prepare(&mut self.store, self.limits, now_ms);
        let verdict = self
            .bindings
            .call_evaluate(&mut self.store, &convert::event(event), convert::market(market))
            .map_err(|e| instance::classify(&e, self.limits))?;
        Ok(match verdict {
            wit::Verdict::Reject(reason) => Verdict::Reject(reason),
            wit::Verdict::Pass(p) => Verdict::Pass(convert::pass(p)),
        })
    }

    /// Judge a column batch; passing rows (index into `columns`, pass) are
    /// appended to `out`.
    pub fn evaluate_batch(&mut self, columns: &Columns, now_ms: u64, out: &mut Vec<(usize, Pass)>) -> Result<(), CallError> {
        let n = columns.len();
        instance::prepare(&mut self.store, self.limits, now_ms);
        let passed = self.bindings.call_evaluate_batch(&mut self.store, &columns.batch).map_err(|e| instance::classify(&e, self.limits))?;
        for p in passed {
            let row = p.row as usize;
            // A row out of range is a guest bug; treat it as a trap so the
            // failure policy applies instead of misattributing an alert.
            if row >= n {
                return Err(CallError::Trap(format!("evaluate-batch returned row {row} for a batch of {n}")));
            }
            out.push((row, convert::pass(p.pass)));
        }
        Ok(())
    }
}

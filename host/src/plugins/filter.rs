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
    pub fn new(
        engine: &PluginEngine,
        template: &TemplateId,
        plugin: Arc<LoadedPlugin>,
        params_json: &str,
        services: &HostServices,
        limits: Limits,
    ) -> Result<FilterInstance, PluginError> {
        let KindPre::Filter(pre) = &plugin.pre else {
            panic!("FilterInstance::new called with a {} plugin", plugin.kind.as_str());
        };
        let (store, bindings) = instance::start(
            engine,
            template,
            &plugin,
            params_json,
            services,
            limits,
            |s| pre.instantiate(s),
            |b, s, p| b.call_configure(s, p),
        )?;
        Ok(FilterInstance { plugin, store, bindings, limits })
    }

    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        &self.plugin
    }

    /// Judge one event.
    pub fn evaluate(
        &mut self,
        event: &Event,
        market: &Snapshot,
        now_ms: u64,
    ) -> Result<Verdict, CallError> {
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
    pub fn evaluate_batch(
        &mut self,
        columns: &Columns,
        now_ms: u64,
        out: &mut Vec<(usize, Pass)>,
    ) -> Result<(), CallError> {
        let n = columns.len();
        instance::prepare(&mut self.store, self.limits, now_ms);
        let passed = self
            .bindings
            .call_evaluate_batch(&mut self.store, &columns.batch)
            .map_err(|e| instance::classify(&e, self.limits))?;
        for p in passed {
            let row = p.row as usize;
            // A row out of range is a guest bug; treat it as a trap so the
            // failure policy applies instead of misattributing an alert.
            if row >= n {
                return Err(CallError::Trap(format!(
                    "evaluate-batch returned row {row} for a batch of {n}"
                )));
            }
            out.push((row, convert::pass(p.pass)));
        }
        Ok(())
    }
}

/// The two call paths of a filter agree, and `configure` errors name the
/// offending param.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::MarketState;
    use crate::plugins::load::content_version;
    use crate::plugins::tests::{GENEROUS, filter, wasm};
    use crate::sources::synthetic::{SyntheticConfig, SyntheticMarket};

    /// Seeded synthetic trades and book tops, each with the snapshot it produced.
    fn market_data(n: usize) -> Vec<(Event, Snapshot)> {
        let mut generator = SyntheticMarket::new(&SyntheticConfig {
            seed: 11,
            whale_probability: 0.01,
            ..SyntheticConfig::default()
        });
        let (mut market, _) = MarketState::new(&Default::default());
        (0..n)
            .map(|_| {
                let e = generator.next_event();
                let s = market.fold(&e);
                (e, s)
            })
            .collect()
    }

    #[test]
    fn batch_and_single_event_paths_give_the_same_verdicts() {
        let data = market_data(3000);
        let params = r#"{"min_notional_usd": 40000, "severity": "critical"}"#;
        let mut single = filter("amount-threshold", params, GENEROUS).expect("configure");
        let mut batched = filter("amount-threshold", params, GENEROUS).expect("configure");

        let mut expected: Vec<(usize, Pass)> = Vec::new();
        for (i, (e, s)) in data.iter().enumerate() {
            match single.evaluate(e, s, e.exchange_time_ms).expect("evaluate") {
                Verdict::Pass(p) => expected.push((i, p)),
                Verdict::Reject(_) => {}
            }
        }
        // Uneven batch sizes, so batches start mid-burst and a batch of one
        // takes the column path too.
        let mut got: Vec<(usize, Pass)> = Vec::new();
        let (mut start, mut columns, mut out) = (0, Columns::default(), Vec::new());
        for size in [1, 7, 64, 1024].into_iter().cycle() {
            if start >= data.len() {
                break;
            }
            let chunk = &data[start..(start + size).min(data.len())];
            columns.fill(chunk.iter().map(|(e, s)| (e, s)));
            out.clear();
            batched
                .evaluate_batch(&columns, chunk[chunk.len() - 1].0.exchange_time_ms, &mut out)
                .expect("evaluate-batch");
            got.extend(out.drain(..).map(|(row, p)| (start + row, p)));
            start += chunk.len();
        }

        assert!(
            expected.len() > 10 && expected.len() < data.len() / 2,
            "threshold should pass some events, not most: {}",
            expected.len()
        );
        // Stock filters judge and describe an event from what both paths
        // carry, so a quiet market (single calls) and a busy one (batches)
        // raise identical alerts; venue and tx reach formatters through the
        // event the host attaches to every alert.
        if let Some(i) = (0..got.len().max(expected.len())).find(|&i| got.get(i) != expected.get(i))
        {
            panic!(
                "first difference at {i} of {} single / {} batch passes:\n single: {:?}\n batch:  {:?}",
                expected.len(),
                got.len(),
                expected.get(i),
                got.get(i)
            );
        }
        let (_, pass) = &expected[0];
        assert_eq!(pass.severity, crate::alert::Severity::Critical);
        assert_eq!(pass.alert_key, data[expected[0].0].0.symbol.name().as_ref());
    }

    #[test]
    fn a_misspelled_param_is_a_configure_error_naming_the_field() {
        let err = filter("amount-threshold", r#"{"min_notinal_usd": 250000}"#, GENEROUS)
            .err()
            .expect("configure must fail");
        let version = content_version(&wasm("amount-threshold")).0;
        let PluginError::Configure { plugin, reason } = &err else {
            panic!("not a configure error: {err:?}")
        };
        assert_eq!((&*plugin.name, &*plugin.version), ("amount-threshold", version.as_str()));
        assert_eq!(
            reason,
            "min_notinal_usd: unknown field `min_notinal_usd`, expected one of `min_notional_usd`, `window_total_usd`, `window`, `kinds`, `key_by`, `severity`"
        );
        assert!(err.to_string().starts_with(&format!("plugin `amount-threshold` {version}: configure rejected params: min_notinal_usd: unknown field")), "{err}");
    }

    #[test]
    fn params_that_are_not_json_are_a_configure_error() {
        let err = filter("amount-threshold", "min_notional_usd = 1", GENEROUS)
            .err()
            .expect("configure must fail");
        assert!(matches!(err, PluginError::Configure { .. }), "{err:?}");
    }
}

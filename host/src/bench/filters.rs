//! Filter costs, WASM against native, in one run: the column path by batch
//! size, the single-event path, many rules in one shared instance, and the
//! hot loop a worker runs (market state, routing, filters).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::alert::{Pass, TemplateId};
use crate::config::Selectors;
use crate::event::Event;
use crate::market::{MarketState, Prices, Snapshot};
use crate::pipeline::route::RouteIndex;
use crate::plugins::filter::{RulePass, RuleRows};
use crate::plugins::host_api::HostServices;
use crate::plugins::{
    ColumnSet, Columns, Instance, Limits, PluginEngine, PluginKind, RuntimeConfig, builtin, load,
};
use crate::state::MemoryKv;

use super::setup::threshold;
use super::{BenchArgs, median_ns, native};

/// What the native rule reads.
fn native_reads() -> ColumnSet {
    ColumnSet::KIND | ColumnSet::NOTIONAL_USD | ColumnSet::SYMBOL
}

struct Bench<'a> {
    args: &'a BenchArgs,
    data: &'a [(Event, Snapshot)],
    instance: Instance,
    templates: Vec<TemplateId>,
}

pub fn run(args: &BenchArgs, data: &[(Event, Snapshot)]) -> Result<(), String> {
    let mut b = Bench::new(args, data, 1000)?;
    println!("\nper evaluation, one amount-threshold rule (wasm column path vs native closure):");
    for batch in [1, 16, 64, 1024] {
        let (wasm, native) = b.per_evaluation(batch, 1);
        println!(
            "  batch {batch:>4}   wasm {wasm:>7.1} ns   native {native:>6.1} ns   {:>6.2}x",
            wasm / native
        );
    }
    let single = b.single_event();
    println!("  single-event call  {single:>7.1} ns/call");
    println!("\nper evaluation, N rules in one shared instance, batch 64:");
    for rules in [1, 100, 1000] {
        let (wasm, native) = b.per_evaluation(64, rules);
        println!(
            "  {rules:>4} rules   wasm {wasm:>7.2} ns   native {native:>6.2} ns   {:>6.2}x",
            wasm / native
        );
    }
    let (wasm, native) = b.hot_loop(100, 1024);
    println!("\nhot loop (market state + route + 100 filters, one thread, batch 1024):");
    println!("  wasm    {:>10.0} events/s  {wasm:>8.1} ns/event", 1e9 / wasm);
    println!("  native  {:>10.0} events/s  {native:>8.1} ns/event", 1e9 / native);
    println!("  wasm / native {:>8.2}x", wasm / native);
    Ok(())
}

/// The single-event call alone, for profiling it.
pub fn single_only(args: &BenchArgs, data: &[(Event, Snapshot)]) -> Result<(), String> {
    let mut b = Bench::new(args, data, 1)?;
    println!("single-event call  {:>7.1} ns/call", b.single_event());
    Ok(())
}

impl<'a> Bench<'a> {
    fn new(
        args: &'a BenchArgs,
        data: &'a [(Event, Snapshot)],
        rules: usize,
    ) -> Result<Self, String> {
        let engine = PluginEngine::new(&RuntimeConfig::default())?;
        let (_, bytes) = builtin::stock("amount-threshold").ok_or("no stock amount-threshold")?;
        let plugin = load::load(&engine, "amount-threshold", "builtin", bytes, PluginKind::Filter)
            .map_err(|e| e.to_string())?;
        let services = HostServices {
            kv: Arc::new(MemoryKv::new()),
            prices: Prices::default(),
            samples: Default::default(),
            watchlists: Default::default(),
        };
        let limits = Limits::default();
        let mut instance =
            Instance::new(&engine, plugin, &services, limits.memory_bytes(), limits.call_timeout)
                .map_err(|e| e.to_string())?;
        let templates: Vec<TemplateId> =
            (0..rules).map(|i| TemplateId::new(&format!("t{i}"))).collect();
        for (i, t) in templates.iter().enumerate() {
            let params: Arc<str> =
                Arc::from(format!(r#"{{"min_notional_usd": {}}}"#, threshold(i)));
            instance.add_rule(t, &params, &limits).map_err(|e| e.to_string())?;
        }
        Ok(Bench { args, data, instance, templates })
    }

    /// Chunks of `batch` events as columns, filled before timing with what
    /// the rule declared and the native rule reads, so the timed part of
    /// both sides is the call on prepared columns.
    fn chunks(&self, batch: usize) -> Vec<(Columns, Vec<(&'a Event, &'a Snapshot)>)> {
        let need = self.instance.columns_of(&self.templates[0]).unwrap_or(ColumnSet::all())
            | native_reads();
        self.data
            .chunks(batch)
            .map(|chunk| {
                let rows: Vec<_> = chunk.iter().map(|(e, s)| (e, s)).collect();
                let mut columns = Columns::default();
                columns.reset(rows.len());
                columns.fill(need, &rows);
                (columns, rows)
            })
            .collect()
    }

    /// ns per (event, rule) for `rules` rules at `batch`: wasm, native.
    fn per_evaluation(&mut self, batch: usize, rules: usize) -> (f64, f64) {
        let mut chunks = self.chunks(batch);
        let rule_rows: Vec<RuleRows<'_>> =
            self.templates[..rules].iter().map(|t| RuleRows { template: t, rows: None }).collect();
        let (mut wasm, mut native_t) = (Vec::new(), Vec::new());
        let (mut out, mut native_out): (Vec<RulePass>, Vec<(usize, Pass)>) =
            (Vec::new(), Vec::new());
        let events = self.events_for(batch, rules);
        for _ in 0..self.args.rounds {
            wasm.push(time(|| {
                for (columns, rows) in chunks.iter_mut().take(events / batch) {
                    out.clear();
                    self.instance
                        .evaluate_batch(columns, rows, &rule_rows, 0, &mut out)
                        .expect("evaluate-batch");
                }
            }));
            native_t.push(time(|| {
                for (columns, _) in chunks.iter().take(events / batch) {
                    native_rules(columns, rules, &mut native_out);
                }
            }));
        }
        let n = ((events / batch).min(chunks.len()) * batch * rules) as u64;
        (median_ns(wasm, n), median_ns(native_t, n))
    }

    /// Events to use so that every configuration does about the same work.
    fn events_for(&self, batch: usize, rules: usize) -> usize {
        let budget = (self.data.len() * 4 / rules.max(1)).max(batch * 4);
        budget.min(self.data.len()) / batch * batch
    }

    fn single_event(&mut self) -> f64 {
        let t = self.templates[0].clone();
        let calls = self.data.len().min(50_000);
        let samples = (0..self.args.rounds)
            .map(|_| {
                time(|| {
                    for (e, s) in &self.data[..calls] {
                        self.instance.evaluate(&t, e, s, 0).expect("evaluate");
                    }
                })
            })
            .collect();
        median_ns(samples, calls as u64)
    }

    /// ns per event through market state, routing and `rules` filters.
    fn hot_loop(&mut self, rules: usize, batch: usize) -> (f64, f64) {
        let selectors = vec![Selectors::default(); rules];
        let routes = RouteIndex::build(&selectors.iter().map(|s| (s, None)).collect::<Vec<_>>());
        let rule_rows: Vec<RuleRows<'_>> =
            self.templates[..rules].iter().map(|t| RuleRows { template: t, rows: None }).collect();
        let events: Vec<&Event> = self.data.iter().map(|(e, _)| e).collect();
        let mut once = |use_wasm: bool| {
            let (mut market, _) = MarketState::new(&Default::default());
            let (mut columns, mut out, mut native_out, mut targets, mut snaps) =
                (Columns::default(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
            time(|| {
                for chunk in events.chunks(batch) {
                    snaps.clear();
                    for e in chunk {
                        targets.clear();
                        routes.route(e, &mut targets);
                        snaps.push(market.fold(e));
                    }
                    let rows: Vec<_> = chunk.iter().copied().zip(snaps.iter()).collect();
                    columns.reset(rows.len());
                    if use_wasm {
                        out.clear();
                        self.instance
                            .evaluate_batch(&mut columns, &rows, &rule_rows, 0, &mut out)
                            .expect("evaluate-batch");
                    } else {
                        columns.fill(native_reads(), &rows);
                        native_rules(&columns, rules, &mut native_out);
                    }
                }
            })
        };
        let (mut wasm, mut native_t) = (Vec::new(), Vec::new());
        for _ in 0..self.args.rounds {
            wasm.push(once(true));
            native_t.push(once(false));
        }
        let n = self.data.len() as u64;
        (median_ns(wasm, n), median_ns(native_t, n))
    }
}

/// The native side: `rules` thresholds over one chunk's columns.
fn native_rules(columns: &Columns, rules: usize, out: &mut Vec<(usize, Pass)>) {
    for r in 0..rules {
        out.clear();
        native::amount_threshold(
            columns.kinds(),
            columns.notional_usd(),
            columns.symbol_ids(),
            threshold(r),
            out,
        );
    }
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

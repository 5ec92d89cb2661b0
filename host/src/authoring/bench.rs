//! `klaxon plugin bench FILE|DIR [--frames F…]`: what one event costs a
//! plugin, before it is deployed.
//!
//! * wall time per event, on an engine set up like production's (epoch
//!   budgets, no fuel): medians of `--rounds`;
//! * wasm fuel per event (about one unit per instruction), counted on a
//!   separate metered engine (`PluginEngine::metered`), so the production
//!   engine never pays for the instrumentation. This is the figure
//!   `limits.fuel_per_call` is held to;
//! * linear memory per instance once it has served the whole run.
//!
//! The events are the recorded frames given, or the seeded synthetic market
//! the product generates (`sources::synthetic`), folded through the real
//! market state. A filter is measured on the column path (batches of
//! `--batch`, what workers run) and on the single-event path; a cooldown
//! policy per decide item, keyed by symbol; a formatter per alert.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Kind, Manifest, builder};
use crate::alert::{Alert, AlertId, Decision, History, Pass, Severity, TemplateId};
use crate::event::Event;
use crate::market::{MarketState, Prices, Snapshot};
use crate::plugins::cooldown::DecideItem;
use crate::plugins::filter::{RuleRows, Verdict};
use crate::plugins::host_api::HostServices;
use crate::plugins::{Columns, Instance, Limits, LoadedPlugin, PluginEngine, PluginKind, load};
use crate::sources::replay::{ReplayConfig, replay_files};
use crate::sources::synthetic::{SyntheticConfig, SyntheticMarket};
use crate::state::MemoryKv;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// A built `.wasm` file, or a project directory (built if needed).
    pub target: PathBuf,
    /// NDJSON files of recorded venue frames; default: the synthetic market.
    #[arg(long, num_args = 1..)]
    pub frames: Vec<PathBuf>,
    /// The plugin's params, as JSON (default: the project's `[test]`
    /// params, else `{}`).
    #[arg(long)]
    pub params: Option<String>,
    /// The kind of a bare `.wasm` (default: the world it implements).
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Synthetic events (ignored with --frames).
    #[arg(long, default_value_t = 20_000)]
    pub events: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Timed repetitions; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Events per call on a filter's column path.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
}

/// One measured path: wall time and fuel per event.
#[derive(Debug, Clone)]
pub struct PathCost {
    pub path: String,
    pub ns_per_event: f64,
    pub fuel_per_event: f64,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub name: String,
    pub version: String,
    pub kind: PluginKind,
    /// Where the events came from.
    pub source: String,
    pub events: usize,
    pub rounds: usize,
    pub paths: Vec<PathCost>,
    pub memory_bytes: usize,
    /// Events a filter passed (the same on every path), decisions to fire,
    /// or messages made.
    pub outputs: usize,
}

impl Report {
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!(
                "bench `{}` {} ({}, world klaxon:plugin/{}@{})",
                self.name,
                self.version,
                self.kind.as_str(),
                self.kind.world(),
                crate::plugins::bindings::API_VERSION
            ),
            format!(
                "{} events from {}; medians of {} rounds",
                self.events, self.source, self.rounds
            ),
        ];
        for p in &self.paths {
            out.push(format!(
                "  {:<14} {:>10.1} ns/event  {:>10.0} fuel/event",
                p.path, p.ns_per_event, p.fuel_per_event
            ));
        }
        out.push(format!(
            "  {:<14} {:>10.2} MiB per instance (linear memory after the run)",
            "memory",
            self.memory_bytes as f64 / f64::from(1 << 20)
        ));
        let what = match self.kind {
            PluginKind::Filter => "passes",
            PluginKind::Cooldown => "fires",
            PluginKind::Formatter => "messages",
        };
        out.push(format!("  {what:<14} {:>10} of {} events", self.outputs, self.events));
        out
    }
}

/// What is measured: the plugin's bytes, name, kind and params.
struct Subject {
    name: String,
    bytes: Vec<u8>,
    kind: Option<PluginKind>,
    params: Arc<str>,
}

fn subject(args: &BenchArgs) -> Result<Subject, String> {
    let (name, path, mut kind, mut params) = if args.target.is_dir() {
        let m = Manifest::read(&args.target)?;
        let wasm = builder::default_output(&args.target, &m);
        if !wasm.is_file() {
            builder::build(&args.target, None)?;
        }
        let params = m.test.params.as_ref().map(serde_json::to_string).transpose();
        (m.name.clone(), wasm, Some(m.kind), params.map_err(|e| e.to_string())?)
    } else {
        let stem = args.target.file_stem().and_then(|s| s.to_str()).unwrap_or("plugin");
        (stem.to_owned(), args.target.clone(), None, None)
    };
    if let Some(p) = &args.params {
        serde_json::from_str::<serde_json::Value>(p).map_err(|e| format!("--params: {e}"))?;
        params = Some(p.clone());
    }
    kind = args.kind.or(kind);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Subject {
        name,
        bytes,
        kind: kind.map(Kind::plugin_kind),
        params: Arc::from(params.unwrap_or_else(|| "{}".into())),
    })
}

/// Loads on `engine` as `kind`, or as the first world it fits.
fn load_on(
    engine: &PluginEngine,
    s: &Subject,
    kind: Option<PluginKind>,
) -> Result<Arc<LoadedPlugin>, String> {
    let kinds = match kind {
        Some(kind) => vec![kind],
        None => vec![PluginKind::Filter, PluginKind::Cooldown, PluginKind::Formatter],
    };
    let mut reasons = Vec::new();
    for kind in kinds {
        match load::load(engine, &s.name, "bench", &s.bytes, kind) {
            Ok(plugin) => return Ok(plugin),
            Err(e) => reasons.push(e.to_string()),
        }
    }
    Err(reasons.join("\n"))
}

/// The events and the market snapshot each one produced.
fn events(args: &BenchArgs) -> Result<(Vec<(Event, Snapshot)>, String), String> {
    let (raw, source) = if args.frames.is_empty() {
        let cfg = SyntheticConfig { seed: args.seed, ..SyntheticConfig::default() };
        let mut market = SyntheticMarket::new(&cfg);
        let events = (0..args.events).map(|_| market.next_event()).collect();
        (events, format!("the synthetic market (seed {})", args.seed))
    } else {
        let replayed =
            replay_files(&ReplayConfig::new(args.frames.clone())).map_err(|e| e.to_string())?;
        let names: Vec<String> = args.frames.iter().map(|f| f.display().to_string()).collect();
        (replayed.events, names.join(", "))
    };
    if raw.is_empty() {
        return Err(format!("no events in {source}"));
    }
    let (mut market, _) = MarketState::new(&Default::default());
    let data = raw
        .into_iter()
        .map(|mut e| {
            let s = market.apply(&mut e);
            (e, s)
        })
        .collect();
    Ok((data, source))
}

pub fn run(args: &BenchArgs) -> Result<Report, String> {
    let s = subject(args)?;
    let (data, source) = events(args)?;
    let runtime = super::author_runtime();
    let engine = PluginEngine::new(&runtime)?;
    let plugin = load_on(&engine, &s, s.kind)?;
    let metered_engine = PluginEngine::metered(&runtime)?;
    let metered = load_on(&metered_engine, &s, Some(plugin.kind))?;
    let mut wall = Bench::new(&engine, plugin, &s.params, &data)?;
    let mut fuel = Bench::new(&metered_engine, metered, &s.params, &data)?;
    let mut paths = Vec::new();
    let mut outputs = 0;
    for path in wall.paths(args.batch) {
        let (used, n) = fuel.fuel(&path)?;
        let mut samples = Vec::new();
        for _ in 0..args.rounds.max(1) {
            let start = Instant::now();
            outputs = wall.once(&path)?;
            samples.push(start.elapsed());
        }
        // The same plugin on the same events: anything else is a bug here.
        if n != outputs {
            return Err(format!("{}: {n} outputs metered, {outputs} timed", path.name()));
        }
        paths.push(PathCost {
            path: path.name(),
            ns_per_event: median(samples).as_nanos() as f64 / data.len() as f64,
            fuel_per_event: used as f64 / data.len() as f64,
        });
    }
    let plugin = &wall.instance.plugin;
    Ok(Report {
        name: s.name.clone(),
        version: plugin.reference.version.to_string(),
        kind: plugin.kind,
        source,
        events: data.len(),
        rounds: args.rounds.max(1),
        paths,
        memory_bytes: wall.instance.linear_memory_bytes(),
        outputs,
    })
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// How events reach the plugin.
enum Path {
    Batch(usize),
    Single,
    Decide,
    Format,
}

impl Path {
    fn name(&self) -> String {
        match self {
            Path::Batch(n) => format!("batch {n}"),
            Path::Single => "single-event".into(),
            Path::Decide => "decide".into(),
            Path::Format => "format".into(),
        }
    }
}

/// One instance with one rule, over the events.
struct Bench<'a> {
    instance: Instance,
    template: TemplateId,
    data: &'a [(Event, Snapshot)],
}

impl<'a> Bench<'a> {
    fn new(
        engine: &PluginEngine,
        plugin: Arc<LoadedPlugin>,
        params: &Arc<str>,
        data: &'a [(Event, Snapshot)],
    ) -> Result<Bench<'a>, String> {
        let services = HostServices {
            kv: Arc::new(MemoryKv::new()),
            prices: Prices::default(),
            samples: Default::default(),
            watchlists: Default::default(),
        };
        // Generous: the bench measures, it does not police.
        let limits =
            Limits { memory_mib: 256, call_timeout: Duration::from_secs(10), ..Limits::default() };
        let template = TemplateId::new("bench");
        let mut instance =
            Instance::new(engine, plugin, &services, limits.memory_bytes(), limits.call_timeout)
                .map_err(|e| e.to_string())?;
        instance.add_rule(&template, params, &limits).map_err(|e| e.to_string())?;
        Ok(Bench { instance, template, data })
    }

    fn paths(&self, batch: usize) -> Vec<Path> {
        match self.instance.plugin.kind {
            PluginKind::Filter => vec![Path::Batch(batch.max(1)), Path::Single],
            PluginKind::Cooldown => vec![Path::Decide],
            PluginKind::Formatter => vec![Path::Format],
        }
    }

    /// Fuel the whole run of `path` burns, and its outputs.
    fn fuel(&mut self, path: &Path) -> Result<(u64, usize), String> {
        let before = self.instance.fuel_used().ok_or("the metered engine counts no fuel")?;
        let outputs = self.once(path)?;
        Ok((self.instance.fuel_used().unwrap_or(before) - before, outputs))
    }

    /// Every event through `path` once; the outputs.
    fn once(&mut self, path: &Path) -> Result<usize, String> {
        let t = &self.template;
        let failed = |e: crate::plugins::CallError| format!("{}: {e}", path.name());
        let mut outputs = 0;
        match path {
            Path::Batch(n) => {
                let rules = [RuleRows { template: t, rows: None }];
                let (mut columns, mut out) = (Columns::default(), Vec::new());
                for chunk in self.data.chunks(*n) {
                    let rows: Vec<(&Event, &Snapshot)> =
                        chunk.iter().map(|(e, s)| (e, s)).collect();
                    columns.reset(rows.len());
                    out.clear();
                    self.instance
                        .evaluate_batch(&mut columns, &rows, &rules, time(chunk), &mut out)
                        .map_err(failed)?;
                    outputs += out.len();
                }
            }
            Path::Single => {
                for (e, s) in self.data {
                    let verdict =
                        self.instance.evaluate(t, e, s, e.exchange_time_ms).map_err(failed)?;
                    outputs += usize::from(matches!(verdict, Verdict::Pass(_)));
                }
            }
            Path::Decide => {
                let history = History::default();
                let passes: Vec<Pass> = self.data.iter().map(|(e, _)| pass_of(e)).collect();
                for (chunk, passes) in self.data.chunks(64).zip(passes.chunks(64)) {
                    let items: Vec<DecideItem<'_>> = chunk
                        .iter()
                        .zip(passes)
                        .map(|((event, _), pass)| DecideItem {
                            template: t,
                            pass,
                            event,
                            history: &history,
                            now_ms: event.exchange_time_ms,
                        })
                        .collect();
                    let decisions = self.instance.decide_batch(&items).map_err(failed)?;
                    outputs += decisions.iter().filter(|d| matches!(d, Decision::Fire(_))).count();
                }
            }
            Path::Format => {
                for (e, _) in self.data {
                    let alert = alert_of(t, e);
                    self.instance.format(t, &[alert], e.exchange_time_ms).map_err(failed)?;
                    outputs += 1;
                }
            }
        }
        Ok(outputs)
    }
}

fn time(chunk: &[(Event, Snapshot)]) -> u64 {
    chunk.last().map_or(0, |(e, _)| e.exchange_time_ms)
}

fn pass_of(e: &Event) -> Pass {
    let value = e.notional_usd.and_then(|d| f64::try_from(d).ok()).unwrap_or(0.0);
    Pass {
        alert_key: e.symbol.to_string(),
        severity: Severity::Warning,
        value,
        title: format!("bench {}", e.symbol),
        fields: vec![],
    }
}

fn alert_of(template: &TemplateId, e: &Event) -> Arc<Alert> {
    let p = pass_of(e);
    Arc::new(Alert {
        id: AlertId::derive(template, &p.alert_key, &e.id),
        template: template.clone(),
        key: p.alert_key,
        severity: p.severity,
        value: p.value,
        title: p.title,
        fields: vec![("price".into(), e.price.to_string())],
        event: Arc::new(e.clone()),
        decision: Decision::Fire(p.severity),
        decided_at_ms: e.exchange_time_ms,
        versions: Default::default(),
        trace: Default::default(),
    })
}

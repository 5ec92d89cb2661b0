//! The measurements behind `klaxon bench`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::config::{self, ValidConfig};
use crate::event::Event;
use crate::market::{MarketState, Snapshot};
use crate::pipeline::{Pipeline, PipelineParts, Plan};
use crate::plugins::filter::FilterInstance;
use crate::plugins::{Columns, TrapLedger};
use crate::sources::synthetic::{SyntheticConfig, SyntheticMarket};
use crate::state::MemoryHistory;

use super::{median_ns, native};

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Synthetic events per round.
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
    /// Templates (stock `amount-threshold` filters, each its own threshold).
    #[arg(long, default_value_t = 8)]
    pub templates: usize,
    /// Column batch size.
    #[arg(long, default_value_t = 1024)]
    pub batch: usize,
    /// Repetitions; medians are reported.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// Thresholds: the first template is the one the per-evaluation figures use.
fn threshold(i: usize) -> f64 {
    250_000.0 * (i as f64 + 1.0)
}

fn bench_config(args: &BenchArgs, db: &std::path::Path) -> Result<ValidConfig, String> {
    let mut toml = format!(
        "[pipeline]\nbatch_max = {}\ntime = \"event\"\n[plugins]\nwatch = false\ncache_dir = \"\"\n[alert_log]\nurl = \"sqlite://{}\"\n",
        args.batch,
        db.display()
    );
    for i in 0..args.templates {
        toml.push_str(&format!(
            "[templates.t{i}]\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = {} }} }}\ndefault_cooldown = \"1m\"\n",
            threshold(i)
        ));
    }
    config::load_str(&toml, "bench config").map_err(|e| e.to_string())
}

/// The synthetic market's events with the snapshot each one produced.
fn market_data(args: &BenchArgs) -> Vec<(Event, Snapshot)> {
    let cfg = SyntheticConfig { seed: args.seed, ..SyntheticConfig::default() };
    let mut generator = SyntheticMarket::new(&cfg);
    let (mut market, _) = MarketState::new(&Default::default());
    (0..args.events)
        .map(|_| {
            let e = generator.next_event();
            let s = market.fold(&e);
            (e, s)
        })
        .collect()
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    let dir = tempfile_dir()?;
    let config = bench_config(&args, &dir.join("bench.db"))?;
    let (_, prices) = MarketState::new(&config.raw().market);
    let rt = crate::app::Runtime::new(&config, prices).map_err(|e| e.to_string())?;
    let plan = Arc::new(crate::app::first_plan(&config, &rt).await.map_err(|e| e.to_string())?);
    println!(
        "klaxon bench: {} events x {} rounds, {} templates, batch {}",
        args.events, args.rounds, args.templates, args.batch
    );
    let data = market_data(&args);

    let (batch_ns, single_ns, native_ns) = per_evaluation(&args, &rt, &plan, &data)?;
    println!("\nper evaluation (one amount-threshold filter, prepared columns):");
    println!("  wasm column batch   {batch_ns:>9.1} ns/event");
    println!("  wasm single event   {single_ns:>9.1} ns/event");
    println!("  native closure      {native_ns:>9.1} ns/event");
    println!("  batch / native      {:>9.2}x", batch_ns / native_ns);
    println!("  single / batch      {:>9.2}x", single_ns / batch_ns);

    let (wasm_loop, native_loop) = hot_loop(&args, &rt, &plan, &data)?;
    println!("\nhot loop (market state + route + {} filters, one thread):", args.templates);
    println!("  wasm filters   {:>12.0} events/s  {:>8.1} ns/event", 1e9 / wasm_loop, wasm_loop);
    println!(
        "  native rules   {:>12.0} events/s  {:>8.1} ns/event",
        1e9 / native_loop,
        native_loop
    );
    println!("  wasm / native  {:>12.2}x", wasm_loop / native_loop);

    let pipeline_ns = pipeline(&args, &config, &rt, plan, &data).await;
    let rows_per_s =
        super::alert_log::sqlite_rows_per_second(&dir, 100_000, 256, args.rounds).await;
    let _ = std::fs::remove_dir_all(&dir);
    let pipeline_ns = pipeline_ns?;
    println!(
        "\npipeline (threads, decide, format, alert log; {} workers):",
        config.raw().pipeline.workers
    );
    println!(
        "  wasm filters   {:>12.0} events/s  {:>8.1} ns/event",
        1e9 / pipeline_ns,
        pipeline_ns
    );
    println!("\nalert log (SQLite, 100,000 rows in batches of 256):");
    println!("  writes         {:>12.0} rows/s", rows_per_s?);
    Ok(())
}

fn filter_for(rt: &crate::app::Runtime, plan: &Plan, i: usize) -> Result<FilterInstance, String> {
    let t = &plan.templates[i];
    FilterInstance::new(
        &rt.engine,
        &t.id,
        t.filter.plugin.clone(),
        &t.filter.params,
        &rt.services,
        t.limits,
    )
    .map_err(|e| e.to_string())
}

fn per_evaluation(
    args: &BenchArgs,
    rt: &crate::app::Runtime,
    plan: &Plan,
    data: &[(Event, Snapshot)],
) -> Result<(f64, f64, f64), String> {
    let mut filter = filter_for(rt, plan, 0)?;
    let chunks: Vec<Columns> = data
        .chunks(args.batch)
        .map(|c| {
            let mut cols = Columns::default();
            cols.fill(c.iter().map(|(e, s)| (e, s)));
            cols
        })
        .collect();
    let mut out = Vec::new();
    let (mut batch, mut single, mut native_t) = (Vec::new(), Vec::new(), Vec::new());
    let singles = data.len().min(50_000);
    for _ in 0..args.rounds {
        let t = Instant::now();
        for cols in &chunks {
            out.clear();
            filter.evaluate_batch(cols, 0, &mut out).map_err(|e| e.to_string())?;
        }
        batch.push(t.elapsed());
        let t = Instant::now();
        for (e, s) in &data[..singles] {
            filter.evaluate(e, s, 0).map_err(|e| e.to_string())?;
        }
        single.push(t.elapsed());
        let t = Instant::now();
        for cols in &chunks {
            out.clear();
            native::amount_threshold(
                cols.notional_usd(),
                cols.symbol_ids(),
                threshold(0),
                &mut out,
            );
        }
        native_t.push(t.elapsed());
    }
    let n = data.len() as u64;
    Ok((median_ns(batch, n), median_ns(single, singles as u64), median_ns(native_t, n)))
}

fn hot_loop(
    args: &BenchArgs,
    rt: &crate::app::Runtime,
    plan: &Plan,
    data: &[(Event, Snapshot)],
) -> Result<(f64, f64), String> {
    let mut filters: Vec<FilterInstance> =
        (0..plan.templates.len()).map(|i| filter_for(rt, plan, i)).collect::<Result<_, _>>()?;
    let events: Vec<&Event> = data.iter().map(|(e, _)| e).collect();
    let (mut wasm, mut native_t) = (Vec::new(), Vec::new());
    let mut run_once = |use_wasm: bool| -> Result<Duration, String> {
        let (mut market, _) = MarketState::new(&Default::default());
        let (mut cols, mut out, mut targets, mut snaps) =
            (Columns::default(), Vec::new(), Vec::new(), Vec::new());
        let t = Instant::now();
        for chunk in events.chunks(args.batch) {
            snaps.clear();
            for e in chunk {
                targets.clear();
                plan.routes.route(e, &mut targets);
                snaps.push(market.fold(e));
            }
            cols.fill(chunk.iter().copied().zip(snaps.iter()));
            for (i, f) in filters.iter_mut().enumerate() {
                out.clear();
                if use_wasm {
                    f.evaluate_batch(&cols, 0, &mut out).map_err(|e| e.to_string())?;
                } else {
                    native::amount_threshold(
                        cols.notional_usd(),
                        cols.symbol_ids(),
                        threshold(i),
                        &mut out,
                    );
                }
            }
        }
        Ok(t.elapsed())
    };
    for _ in 0..args.rounds {
        wasm.push(run_once(true)?);
        native_t.push(run_once(false)?);
    }
    let n = data.len() as u64;
    Ok((median_ns(wasm, n), median_ns(native_t, n)))
}

async fn pipeline(
    args: &BenchArgs,
    config: &ValidConfig,
    rt: &crate::app::Runtime,
    plan: Arc<Plan>,
    data: &[(Event, Snapshot)],
) -> Result<f64, String> {
    let mut samples = Vec::new();
    for _ in 0..args.rounds.min(3) {
        let (market, _) = MarketState::new(&config.raw().market);
        let parts = PipelineParts {
            pipeline: config.raw().pipeline.clone(),
            market,
            engine: rt.engine.clone(),
            services: rt.services.clone(),
            ledger: Arc::new(TrapLedger::new(0)),
            history: Arc::new(MemoryHistory::default()),
            clock: Arc::new(crate::clock::SystemClock),
            plan: Arc::new(ArcSwap::new(plan.clone())),
            sinks: Vec::new(),
            alert_log: config.raw().alert_log.clone(),
            owners: Arc::default(),
        };
        let p = Pipeline::start(parts).await.map_err(|e| e.to_string())?;
        let tx = p.events.clone();
        let events: Vec<Event> = data.iter().map(|(e, _)| e.clone()).collect();
        let t = Instant::now();
        for e in events {
            tx.send(e).await.map_err(|_| "pipeline closed early".to_owned())?;
        }
        drop(tx);
        p.finish().await.map_err(|e| e.to_string())?;
        samples.push(t.elapsed());
    }
    Ok(median_ns(samples, data.len() as u64))
}

fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("klaxon-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

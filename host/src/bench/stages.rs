//! The evaluate stage alone, as a worker runs it (`pipeline::evaluate`
//! over a real plan and instance pool, not the bare guest call the filter
//! rows above time): 100 and 1,000 templates of as many owners on the stock
//! `amount-threshold`, every template routed every event, in runs of 1 and
//! 64 events. A quiet market hands a worker runs of one event, so the
//! first column is the fixed cost each of its events pays; latency and the
//! 1,000-template scenario are bound by it.

use std::sync::Arc;
use std::time::Instant;

use crate::event::Event;
use crate::market::Snapshot;
use crate::pipeline::evaluate::Evaluate;
use crate::pipeline::work::WorkItem;
use crate::pipeline::{Plan, RunStats};
use crate::plugins::{InstancePool, TrapLedger};

use super::{BenchArgs, median_ns, setup};

pub async fn run(args: &BenchArgs, data: &[(Event, Snapshot)]) -> Result<(), String> {
    println!("\nevaluate stage (pool, plan, every template routed every event), per run:");
    println!("  {:<10} {:>6} {:>12} {:>14}", "templates", "run", "µs per run", "ns per eval");
    let dir = setup::scratch()?;
    for templates in [100, 1000] {
        let config = setup::config(templates, &dir.join("stages.db"))?;
        let (rt, plan) = setup::runtime(&config).await?;
        let ledger = Arc::new(TrapLedger::new(config.raw().pipeline.disable_after_traps));
        let mut pool = InstancePool::new(rt.engine.clone(), rt.services.clone(), ledger);
        for run in [1, 64] {
            let ns = per_run(args, data, &plan, &mut pool, run);
            println!(
                "  {templates:<10} {run:>6} {:>12.1} {:>14.1}",
                ns / 1e3,
                ns / (run * templates) as f64
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Median ns per run of `len` events through [`Evaluate::run`].
fn per_run(
    args: &BenchArgs,
    data: &[(Event, Snapshot)],
    plan: &Arc<Plan>,
    pool: &mut InstancePool,
    len: usize,
) -> f64 {
    let targets: Arc<[u32]> = (0..plan.templates.len() as u32).collect();
    let runs = (20_000 / plan.templates.len()).max(4);
    let items: Vec<Vec<WorkItem>> = (data.chunks(len).take(runs))
        .map(|chunk| {
            (chunk.iter().enumerate())
                .map(|(seq, (event, market))| WorkItem {
                    seq: seq as u64,
                    event: Arc::new(event.clone()),
                    market: *market,
                    plan: plan.clone(),
                    targets: targets.clone(),
                    first_share: true,
                })
                .collect()
        })
        .collect();
    let (mut evaluate, stats) = (Evaluate::default(), RunStats::default());
    // The first call builds every rule: not part of what is timed.
    evaluate.run(pool, plan, &items[0], 0, &stats);
    let samples = (0..args.rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            for run in &items {
                std::hint::black_box(evaluate.run(pool, plan, run, 0, &stats));
            }
            t.elapsed()
        })
        .collect();
    median_ns(samples, items.len() as u64)
}

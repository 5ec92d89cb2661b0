//! The real threaded pipeline (route, market state, evaluate, decide,
//! format, alert log), fed as fast as it takes events, with 100 and 1,000
//! templates of as many owners: events/s it sustains.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;

use crate::event::Event;
use crate::market::{MarketState, Snapshot};
use crate::pipeline::{Pipeline, PipelineParts};
use crate::plugins::TrapLedger;
use crate::state::MemoryHistory;

use super::{BenchArgs, median_ns, setup};

pub async fn run(args: &BenchArgs, data: &[(Event, Snapshot)]) -> Result<(), String> {
    println!("\npipeline (2 workers, decide, format, SQLite alert log), unthrottled:");
    let dir = setup::scratch()?;
    for templates in [100, 1000] {
        let ns =
            sustained(args, data, templates, &dir.join(format!("pipeline-{templates}.db"))).await?;
        println!("  {templates:>4} templates  {:>10.0} events/s  {ns:>8.1} ns/event", 1e9 / ns);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn sustained(
    args: &BenchArgs,
    data: &[(Event, Snapshot)],
    templates: usize,
    db: &std::path::Path,
) -> Result<f64, String> {
    let config = setup::config(templates, db)?;
    let (rt, plan) = setup::runtime(&config).await?;
    let events = data.len().min(100_000);
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
        // Batches of 256, as a replay source hands them on.
        let input: Vec<Vec<Event>> = data[..events]
            .chunks(256)
            .map(|chunk| chunk.iter().map(|(e, _)| e.clone()).collect())
            .collect();
        let t = Instant::now();
        for batch in input {
            tx.send(batch).await.map_err(|_| "pipeline closed early".to_owned())?;
        }
        drop(tx);
        p.finish().await.map_err(|e| e.to_string())?;
        samples.push(t.elapsed());
    }
    Ok(median_ns(samples, events as u64))
}

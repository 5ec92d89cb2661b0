//! The real threaded pipeline (route, market state, evaluate, decide,
//! format, alert log), fed as fast as it takes events, with 100 and 1,000
//! templates of as many owners: events/s it sustains.

use crate::event::Event;
use crate::market::Snapshot;
use crate::pipeline::StatsSnapshot;

use super::{BenchArgs, drive, median_ns, setup};

pub async fn run(args: &BenchArgs, data: &[(Event, Snapshot)]) -> Result<(), String> {
    println!("\npipeline (2 workers, decide, format, SQLite alert log), unthrottled:");
    let dir = setup::scratch()?;
    for templates in [100, 1000] {
        let config = setup::config(templates, &dir.join(format!("pipeline-{templates}.db")))?;
        let (ns, _) = sustained(args, data, &config).await?;
        println!("  {templates:>4} templates  {:>10.0} events/s  {ns:>8.1} ns/event", 1e9 / ns);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Median ns per event over up to 3 unthrottled runs of up to 100,000
/// events of `data` through the pipeline of `config`, and the last run's
/// counts.
pub async fn sustained(
    args: &BenchArgs,
    data: &[(Event, Snapshot)],
    config: &crate::config::ValidConfig,
) -> Result<(f64, StatsSnapshot), String> {
    let (rt, plan) = setup::runtime(config).await?;
    let events = data.len().min(100_000);
    let (mut samples, mut stats) = (Vec::new(), StatsSnapshot::default());
    for _ in 0..args.rounds.clamp(1, 3) {
        let input: Vec<Event> = data[..events].iter().map(|(e, _)| e.clone()).collect();
        let run = drive::run(config, &rt, &plan, input.into_iter(), None).await?;
        samples.push(run.elapsed);
        stats = run.stats;
    }
    Ok((median_ns(samples, events as u64), stats))
}

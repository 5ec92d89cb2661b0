//! `klaxon bench`: what the plugin path costs, against the same rules
//! compiled natively, measured in one run so the ratios are comparable.
//!
//! All over the same seeded synthetic market, the bench's own data:
//! 1. [`filters`]: one `amount-threshold` rule on the column path at batch
//!    sizes 1, 16, 64 and 1024 and on the single-event path; 1, 100 and
//!    1,000 rules in one shared instance at batch 64; the hot loop (market
//!    state + routing + 100 filters on one thread); each beside the same
//!    rule as a native closure, with the ratio;
//! 2. [`footprint`]: 1,000 templates of 1,000 owners on the stock plugins,
//!    built on 2 workers: RSS after instantiation and time per template;
//! 3. [`pipeline`]: the real threaded pipeline (route, market state,
//!    evaluate, decide, format, alert log) with 100 and 1,000 templates, in
//!    events/s;
//! 4. [`alert_log`]: rows/s written into SQLite, batch by batch;
//! 5. [`ingest`]: ns per wire frame → `Event` for each venue format, over
//!    frames the bench generates ([`frames`]), beside the cost of only
//!    building a JSON tree of the same frame.
//!
//! Figures are medians of `--rounds` repetitions. Nothing here asserts a
//! time; tests check behaviour, this reports.

mod alert_log;
mod filters;
mod footprint;
mod frames;
mod ingest;
mod legacy;
mod native;
mod pipeline;
mod setup;

use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Synthetic events per round.
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
    /// Repetitions; medians are reported.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Run one part only: `filters`, `footprint`, `pipeline`, `alert_log` or
    /// `ingest` (or `single`, the single-event call alone, for profiling).
    #[arg(long)]
    pub only: Option<String>,
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    println!("klaxon bench: {} synthetic events, medians of {} rounds", args.events, args.rounds);
    let wanted = |part: &str| args.only.as_deref().is_none_or(|only| only == part);
    // First, so the RSS it reports holds no benchmark data.
    if wanted("footprint") {
        footprint::run(1000, 2).await?;
    }
    if wanted("ingest") {
        ingest::run(&args)?;
    }
    let data = setup::market_data(args.events, args.seed);
    if wanted("filters") {
        filters::run(&args, &data)?;
    }
    if args.only.as_deref() == Some("single") {
        filters::single_only(&args, &data)?;
    }
    if wanted("pipeline") {
        pipeline::run(&args, &data).await?;
    }
    if wanted("alert_log") {
        alert_log::run(&args).await?;
    }
    Ok(())
}

/// Median of measured durations divided by `per`, in nanoseconds.
fn median_ns(mut samples: Vec<Duration>, per: u64) -> f64 {
    samples.sort();
    let mid = samples[samples.len() / 2];
    mid.as_nanos() as f64 / per.max(1) as f64
}

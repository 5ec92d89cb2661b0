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
//! 3. [`stages`]: the evaluate stage alone (pool, plan, 100 and 1,000
//!    templates) in runs of 1 and 64 events: the fixed cost per run;
//! 4. [`pipeline`]: the real threaded pipeline (route, market state,
//!    evaluate, decide, format, alert log) with 100 and 1,000 templates, in
//!    events/s;
//! 5. [`alert_log`]: rows/s written into SQLite, batch by batch;
//! 6. [`ingest`]: ns per wire frame → `Event` for each venue format, over
//!    frames the bench generates ([`frames`]), beside the cost of only
//!    building a JSON tree of the same frame;
//! 7. [`replay`]: `--frames` generated Binance trade frames through the
//!    real replay source, the pipeline with 10 templates and the alert log;
//! 8. [`selectors`]: 100 templates selecting 1 of 10 symbols each;
//! 9. [`owners`]: 1,000 templates of 1,000 owners at a fixed 50k events/s:
//!    events a non-waiting source would have dropped, and RSS;
//! 10. [`alerts`]: an alert-heavy run deciding about 60,000 alerts;
//! 11. [`latency`]: p50/p99/p999 receive → delivery hand-off with 100
//!     templates at fixed rates.
//!
//! The real pipeline is started and fed by [`drive`]. The run ends with
//! the target rows and this run's figure beside each
//! ([`summary`]). Figures are medians of `--rounds` repetitions (fixed-rate
//! runs are one run of `--seconds`). Nothing here asserts a time; tests
//! check behaviour, this reports.

mod alert_log;
mod alerts;
mod drive;
mod filters;
mod footprint;
mod frames;
mod ingest;
mod latency;
mod legacy;
mod native;
mod owners;
mod pipeline;
mod replay;
mod selectors;
mod setup;
mod stages;
mod summary;
#[cfg(test)]
mod tests;

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
    /// Run one part only: `filters`, `footprint`, `stages`, `pipeline`, `alert_log`,
    /// `ingest`, `replay`, `selectors`, `owners`, `alerts` or `latency` (or
    /// `single`, the single-event call alone, for profiling).
    #[arg(long)]
    pub only: Option<String>,
    /// Generated Binance trade frames the `replay` part replays.
    #[arg(long, default_value_t = 1_000_000)]
    pub frames: usize,
    /// Seconds each fixed-rate run (`owners`, `latency`) lasts.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
}

impl BenchArgs {
    /// Sizes small enough for a unit test.
    #[cfg(test)]
    pub fn tiny() -> BenchArgs {
        BenchArgs { events: 2_000, rounds: 1, seed: 11, only: None, frames: 2_000, seconds: 0.2 }
    }
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    println!("klaxon bench: {} synthetic events, medians of {} rounds", args.events, args.rounds);
    let wanted = |part: &str| args.only.as_deref().is_none_or(|only| only == part);
    let mut figures = summary::Figures::default();
    // First, so the RSS they report holds no benchmark data.
    if wanted("footprint") {
        footprint::run(1000, 2).await?;
    }
    if wanted("owners") {
        figures.owners = Some(owners::run(&args).await?);
    }
    if wanted("ingest") {
        figures.ingest_ns = Some(ingest::run(&args)?);
    }
    if wanted("replay") {
        figures.replay = Some(replay::run(&args).await?);
    }
    if wanted("selectors") {
        selectors::run(&args).await?;
    }
    let data = setup::market_data(args.events, args.seed);
    if wanted("filters") {
        filters::run(&args, &data)?;
    }
    if args.only.as_deref() == Some("single") {
        filters::single_only(&args, &data)?;
    }
    if wanted("stages") {
        stages::run(&args, &data).await?;
    }
    if wanted("pipeline") {
        pipeline::run(&args, &data).await?;
    }
    if wanted("alert_log") {
        alert_log::run(&args).await?;
    }
    if wanted("alerts") {
        alerts::run(&args, &data).await?;
    }
    if wanted("latency") {
        let p99s = latency::run(&args).await?;
        let at_10k = latency::RATES.iter().position(|&r| r == 10_000);
        figures.p99_10k = at_10k.map(|i| (p99s.per_symbol[i], p99s.all_match[i]));
    }
    summary::print(&figures, args.frames);
    Ok(())
}

/// Median of measured durations divided by `per`, in nanoseconds.
fn median_ns(mut samples: Vec<Duration>, per: u64) -> f64 {
    samples.sort();
    let mid = samples[samples.len() / 2];
    mid.as_nanos() as f64 / per.max(1) as f64
}

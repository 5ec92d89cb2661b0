//! Owners: 1,000 templates of 1,000 owners on the stock plugins, fed the
//! synthetic market at a fixed 50,000 events/s for `--seconds`: whether the
//! pipeline keeps the pace, and the process RSS while it runs.
//!
//! The pipeline never drops an event: a full queue makes the stage before
//! it wait. So "dropped" here is what a source that cannot wait would have
//! lost: events that found the pipeline's input queue full at their turn
//! ([`drive::Fed::found_full`]). The driver then waits and sends them, so
//! the run still delivers all; how far it fell behind is shown too.
//! Events are generated as they are sent, so the RSS holds no bench data.

use crate::sources::SyntheticMarket;
use crate::sources::synthetic::SyntheticConfig;

use super::{BenchArgs, drive, setup};

const TEMPLATES: usize = 1000;
pub const RATE: f64 = 50_000.0;

/// What the summary needs: events dropped, peak RSS in bytes.
pub struct Owners {
    pub dropped: u64,
    pub peak_rss: u64,
}

pub async fn run(args: &BenchArgs) -> Result<Owners, String> {
    let dir = setup::scratch()?;
    let config = setup::config(TEMPLATES, &dir.join("owners.db"))?;
    let (rt, plan) = setup::runtime(&config).await?;
    let events = (RATE * args.seconds) as usize;
    let mut market =
        SyntheticMarket::new(&SyntheticConfig { seed: args.seed, ..Default::default() });
    let input = std::iter::repeat_with(move || market.next_event()).take(events);
    let before = super::footprint::rss_bytes();
    let run = drive::run(&config, &rt, &plan, input, Some(RATE)).await?;
    println!(
        "\n{TEMPLATES} templates of {TEMPLATES} owners at {RATE:.0} events/s for {:.0} s ({events} events):",
        args.seconds
    );
    println!(
        "  dropped      {:>8}  (events that found the input queue full; all were then sent)",
        run.fed.found_full
    );
    println!(
        "  kept pace    {:>8.0} events/s over the run, worst {:.1} ms behind schedule",
        run.events_per_s(),
        run.fed.max_behind.as_secs_f64() * 1e3
    );
    println!("  alerts       {:>8} decided, {} fired", run.decided(), run.stats.fired);
    println!(
        "  RSS          {:>8.1} MiB peak while running ({:.1} MiB before the pipeline started)",
        drive::mib(run.peak_rss),
        drive::mib(before)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Owners { dropped: run.fed.found_full, peak_rss: run.peak_rss })
}

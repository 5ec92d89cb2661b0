//! Latency: 100 templates fed the synthetic market at fixed rates (1k, 10k
//! and 50k events/s, `--seconds` each), and every message's time from its
//! event's receipt (stamped as a source stamps it, just before the send)
//! to its hand-off to delivery, the span `klaxon_alert_latency_seconds`
//! measures. The bench hears each value through the hand-off's tap, since
//! percentiles up to p999 need more than the histogram's buckets.
//!
//! Two sets of 100 templates, each firing on every pass (a `0s` cooldown):
//! * **all match**: every template sees every event; template `i` passes
//!   the top 0.02–0.2% of trades by notional, so a big trade makes dozens
//!   of messages at once, and the last of them waits for all the others'
//!   decide and format: the stress case, reported beside the target;
//! * **10 per symbol**: template `i` selects 1 of 10 symbols (as in
//!   [`super::selectors`], the 100-template scenario) and passes
//!   the top 0.2–2% of trades, so an event makes at most 10 messages,
//!   about as many per event overall. The target row gets this figure.

use std::time::Duration;

use crate::sources::SyntheticMarket;
use crate::sources::synthetic::SyntheticConfig;

use super::drive::{self, Tap, quantile};
use super::{BenchArgs, setup};

const TEMPLATES: usize = 100;
pub const RATES: [u32; 3] = [1_000, 10_000, 50_000];

/// One set of templates over one market.
struct Case {
    name: &'static str,
    market: SyntheticConfig,
    /// 0: every template sees every event; else template `i` selects
    /// symbol `i % symbols`.
    symbols: usize,
}

/// p99 at each of [`RATES`], per case.
pub struct P99s {
    pub all_match: Vec<Duration>,
    pub per_symbol: Vec<Duration>,
}

pub async fn run(args: &BenchArgs) -> Result<P99s, String> {
    let cases = [
        Case {
            name: "all match",
            market: SyntheticConfig { seed: args.seed, ..Default::default() },
            symbols: 0,
        },
        Case { name: "10 per symbol", market: setup::wide_market(args.seed, 10), symbols: 10 },
    ];
    println!("\nlatency, receive -> delivery hand-off, {TEMPLATES} templates, fixed input rates:");
    println!(
        "  {:<14} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "templates", "events/s", "messages", "p50 µs", "p99 µs", "p999 µs", "max µs", "behind ms"
    );
    let [all, per_symbol] = cases;
    let all_match = run_case(args, &all).await?;
    let per_symbol = run_case(args, &per_symbol).await?;
    Ok(P99s { all_match, per_symbol })
}

async fn run_case(args: &BenchArgs, case: &Case) -> Result<Vec<Duration>, String> {
    let dir = setup::scratch()?;
    let data = setup::market_data_of(&case.market, args.events);
    // A template that sees a tenth of the events passes ten times their
    // share, so both cases make about as many messages per event.
    let share = case.symbols.max(1);
    let ranks: Vec<f64> = (0..TEMPLATES)
        .map(|i| setup::notional_rank(&data, data.len() * share * (1 + i % 10) / 5_000))
        .collect();
    drop(data);
    let templates = setup::Templates {
        threshold: Box::new(move |i: usize| ranks[i]),
        symbols: case.symbols,
        window: "0s",
        ..setup::Templates::new(TEMPLATES)
    };
    let config = setup::config_of(&templates, &dir.join("latency.db"))?;
    let (rt, plan) = setup::runtime(&config).await?;
    let mut p99s = Vec::new();
    for rate in RATES.map(f64::from) {
        let events = (rate * args.seconds) as usize;
        let mut market = SyntheticMarket::new(&case.market);
        let input = std::iter::repeat_with(move || market.next_event()).take(events);
        let tap = Tap::install();
        let run = drive::run(&config, &rt, &plan, input, Some(rate)).await?;
        let all = tap.take();
        let us = |q: f64| quantile(&all, q).as_secs_f64() * 1e6;
        println!(
            "  {:<14} {rate:>9.0} {:>9} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>10.1}",
            case.name,
            all.len(),
            us(0.5),
            us(0.99),
            us(0.999),
            us(1.0),
            run.fed.max_behind.as_secs_f64() * 1e3
        );
        p99s.push(quantile(&all, 0.99));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(p99s)
}

//! Latency: 100 templates fed the synthetic market at fixed rates (1k, 10k
//! and 50k events/s, `--seconds` each), and every message's time from its
//! event's receipt (stamped as a source stamps it, just before the send)
//! to its hand-off to delivery, the span `klaxon_alert_latency_seconds`
//! measures. The bench hears each value through the hand-off's tap, since
//! percentiles up to p999 need more than the histogram's buckets.
//!
//! Template `i` passes the top 0.02–0.2% of trades by notional (picked from
//! the same seeded market) and fires on every pass (a `0s` cooldown), so
//! about one event in ten makes messages, big trades several at once.

use std::time::Duration;

use crate::event::Event;
use crate::market::Snapshot;
use crate::sources::SyntheticMarket;
use crate::sources::synthetic::SyntheticConfig;

use super::drive::{self, Tap, quantile};
use super::{BenchArgs, setup};

const TEMPLATES: usize = 100;
pub const RATES: [u32; 3] = [1_000, 10_000, 50_000];

/// p99 at each of [`RATES`].
pub async fn run(args: &BenchArgs, data: &[(Event, Snapshot)]) -> Result<Vec<Duration>, String> {
    let dir = setup::scratch()?;
    let ranks: Vec<f64> = (0..TEMPLATES)
        .map(|i| setup::notional_rank(data, data.len() * (1 + i % 10) / 5_000))
        .collect();
    let templates = setup::Templates {
        threshold: Box::new(move |i: usize| ranks[i]),
        window: "0s",
        ..setup::Templates::new(TEMPLATES)
    };
    let config = setup::config_of(&templates, &dir.join("latency.db"))?;
    let (rt, plan) = setup::runtime(&config).await?;
    println!("\nlatency, receive -> delivery hand-off, {TEMPLATES} templates, fixed input rates:");
    println!(
        "  {:>12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "events/s", "messages", "p50 µs", "p99 µs", "p999 µs", "max µs", "behind ms"
    );
    let mut p99s = Vec::new();
    for rate in RATES {
        let rate = f64::from(rate);
        let events = (rate * args.seconds) as usize;
        let mut market =
            SyntheticMarket::new(&SyntheticConfig { seed: args.seed, ..Default::default() });
        let input = std::iter::repeat_with(move || market.next_event()).take(events);
        let tap = Tap::install();
        let run = drive::run(&config, &rt, &plan, input, Some(rate)).await?;
        let all = tap.take();
        let us = |q: f64| quantile(&all, q).as_secs_f64() * 1e6;
        println!(
            "  {rate:>12.0} {:>9} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>11.1}",
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

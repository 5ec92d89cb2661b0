//! `klaxon bench`: what the plugin path costs, against the same rules
//! compiled natively, measured in one run so the ratios are comparable.
//!
//! Three measurements, all over the same seeded synthetic market:
//! 1. **pipeline**: the real threaded pipeline (route, market state,
//!    evaluate, decide, format, alert log) with N stock `amount-threshold`
//!    templates, in events/s;
//! 2. **hot loop**: market state + routing + filtering on one thread, once
//!    with the WASM filters (column batches) and once with the same rules as
//!    native closures; events/s, ns/event and their ratio;
//! 3. **per evaluation**: one filter over prepared columns on the batch
//!    path, on the single-event path, and natively, in ns per event;
//! 4. **alert log**: rows/s written into SQLite, batch by batch.
//!
//! Figures are medians of `--rounds` repetitions. Nothing here asserts a
//! time; tests check behaviour, this reports.

mod alert_log;
mod measure;
mod native;

use std::time::Duration;

pub use measure::{BenchArgs, run};

/// Median of measured durations divided by `per`, in nanoseconds.
fn median_ns(mut samples: Vec<Duration>, per: u64) -> f64 {
    samples.sort();
    let mid = samples[samples.len() / 2];
    mid.as_nanos() as f64 / per.max(1) as f64
}

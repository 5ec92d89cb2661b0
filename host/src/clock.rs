//! The wall clock, behind a trait so stages that read "now" can be given
//! another clock in tests.
//!
//! Replays do not use a clock at all: with `pipeline.time = "event"` the
//! evaluate worker takes each event's exchange time as "now" for cooldowns,
//! windows and the plugins' `now-ms`, so replay output is the same at any
//! speed (see `pipeline/evaluate.rs`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of "now" in unix milliseconds.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> u64;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    }
}

/// Wall-clock unix milliseconds, for code that has no `Clock` handle and only
/// measures (stream lag), never decides.
pub fn wall_ms() -> u64 {
    SystemClock.now_ms()
}

/// Shared handle to the pipeline's clock.
pub type SharedClock = Arc<dyn Clock>;

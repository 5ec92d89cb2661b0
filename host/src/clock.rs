//! Time as the pipeline sees it.
//!
//! Live runs use the wall clock. Replays use simulated time: the clock reads
//! the exchange time of the newest event that entered the pipeline, so
//! cooldowns, windows and the plugins' `now-ms` behave exactly as they would
//! have live, at any replay speed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// Simulated time, advanced by whoever feeds events in. Never goes backwards,
/// so an out-of-order frame cannot rewind cooldowns.
#[derive(Debug, Default)]
pub struct SimulatedClock {
    now: AtomicU64,
}

impl SimulatedClock {
    pub fn new(start_ms: u64) -> Arc<SimulatedClock> {
        Arc::new(SimulatedClock { now: AtomicU64::new(start_ms) })
    }

    pub fn advance_to(&self, ms: u64) {
        self.now.fetch_max(ms, Ordering::Relaxed);
    }
}

impl Clock for SimulatedClock {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }
}

/// Shared handle to the pipeline's clock.
pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_clock_never_rewinds() {
        let c = SimulatedClock::new(10);
        c.advance_to(50);
        c.advance_to(20);
        assert_eq!(c.now_ms(), 50);
    }
}

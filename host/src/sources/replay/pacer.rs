//! Replay pacing: exchange-time deltas become wall-clock deadlines at
//! `speed` × real time, anchored at the first timed event so long files do
//! not drift.

use std::time::Duration;

use tokio::time::Instant;

/// Maps exchange time to wall deadlines at `speed` × real time.
pub(super) struct Pacer {
    speed: f64,
    /// (when the first timed event went out, its exchange time)
    anchor: Option<(Instant, u64)>,
}

impl Pacer {
    pub(super) fn new(speed: f64) -> Pacer {
        Pacer { speed, anchor: None }
    }

    /// When an event stamped `time_ms` is due; `None` = send now.
    pub(super) fn deadline(&mut self, time_ms: u64) -> Option<Instant> {
        if self.speed.is_nan() || self.speed <= 0.0 || time_ms == 0 {
            return None;
        }
        let (start, first_ms) = *self.anchor.get_or_insert_with(|| (Instant::now(), time_ms));
        let ahead_ms = time_ms.checked_sub(first_ms)?;
        // Capped at ~30 years so an absurdly small speed cannot overflow.
        let secs = (ahead_ms as f64 / 1000.0 / self.speed).min(1e9);
        Some(start + Duration::from_secs_f64(secs))
    }
}

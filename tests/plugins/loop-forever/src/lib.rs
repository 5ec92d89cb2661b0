//! Broken on purpose: `evaluate` (and `evaluate-batch`) never return. The
//! host's epoch deadline must interrupt it, poison the instance and fail
//! the event closed. `configure` succeeds, so the plugin loads.

use klaxon_sdk::{Event, Filter, Market, Verdict, export_filter};

pub struct LoopForever;

impl Filter for LoopForever {
    type Params = serde::de::IgnoredAny;

    fn new(_: Self::Params) -> Result<Self, String> {
        Ok(LoopForever)
    }

    fn evaluate(&mut self, _: &Event, _: &Market) -> Verdict {
        let mut spins: u64 = 0;
        loop {
            // black_box keeps the loop from being optimized into `unreachable`.
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
    }
}

export_filter!(LoopForever);

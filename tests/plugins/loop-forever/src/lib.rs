//! Broken on purpose: `evaluate` (and `evaluate-batch`) never return for an
//! event priced above `above_price`. The
//! host's epoch deadline must interrupt it, poison the instance and fail
//! the event closed. `configure` succeeds, so the plugin loads.

use klaxon_sdk::{Columns, Event, Filter, Market, Verdict, export_filter};

/// Params: misbehave only for events priced above `above_price` (default
/// 10), so the host's smoke run (price 1) passes and the plugin goes live;
/// set it to 0 to misbehave on every event, smoke run included.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "default_above_price")]
    pub above_price: f64,
}

fn default_above_price() -> f64 {
    10.0
}

pub struct LoopForever {
    above_price: f64,
}

impl Filter for LoopForever {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        Ok(LoopForever { above_price: p.above_price })
    }

    fn columns(&self) -> Columns {
        Columns::PRICE
    }

    fn evaluate(&mut self, event: &Event, _: &Market) -> Verdict {
        if event.price() <= self.above_price {
            return Verdict::reject("below trigger price");
        }
        let mut spins: u64 = 0;
        loop {
            // black_box keeps the loop from being optimized into `unreachable`.
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
    }
}

export_filter!(LoopForever);

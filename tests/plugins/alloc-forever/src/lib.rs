//! Broken on purpose: for an event priced above `above_price`, `evaluate`
//! allocates (and touches) 1 MiB after 1 MiB
//! and never lets go. The host's memory limit must stop it with a trap.
//! `configure` succeeds, so the plugin loads.

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

pub struct AllocForever {
    above_price: f64,
}

impl Filter for AllocForever {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        Ok(AllocForever { above_price: p.above_price })
    }

    fn columns(&self) -> Columns {
        Columns::PRICE
    }

    fn evaluate(&mut self, event: &Event, _: &Market) -> Verdict {
        if event.price() <= self.above_price {
            return Verdict::reject("below trigger price");
        }
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(std::hint::black_box(vec![0xA5; 1 << 20]));
        }
    }
}

export_filter!(AllocForever);

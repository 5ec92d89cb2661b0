//! Broken on purpose: `evaluate` allocates (and touches) 1 MiB after 1 MiB
//! and never lets go. The host's memory limit must stop it with a trap.
//! `configure` succeeds, so the plugin loads.

use klaxon_sdk::{Event, Filter, Market, Verdict, export_filter};

pub struct AllocForever;

impl Filter for AllocForever {
    type Params = serde::de::IgnoredAny;

    fn new(_: Self::Params) -> Result<Self, String> {
        Ok(AllocForever)
    }

    fn evaluate(&mut self, _: &Event, _: &Market) -> Verdict {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(std::hint::black_box(vec![0xA5; 1 << 20]));
        }
    }
}

export_filter!(AllocForever);

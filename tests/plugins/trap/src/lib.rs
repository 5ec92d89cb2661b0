//! Broken on purpose: panics (a wasm `unreachable` trap) on any event whose
//! price is above `above_price`, and rejects the rest. So a test picks per
//! event whether the call traps.

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

pub struct Trap {
    above_price: f64,
}

impl Filter for Trap {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        Ok(Trap { above_price: p.above_price })
    }

    fn columns(&self) -> Columns {
        Columns::PRICE
    }

    fn evaluate(&mut self, event: &Event, _: &Market) -> Verdict {
        if event.price() > self.above_price {
            panic!("trap plugin: price {} > {}", event.price(), self.above_price);
        }
        Verdict::reject("below trigger price")
    }
}

export_filter!(Trap);

#[cfg(test)]
mod tests {
    use klaxon_sdk::testing::FilterHarness;
    use klaxon_sdk::{EventRecord, MarketRecord};

    use super::*;

    #[test]
    #[should_panic(expected = "trap plugin: price 11 > 10")]
    fn panics_on_positive_price() {
        let f = FilterHarness::<Trap>::configure("{}").unwrap();
        f.evaluate(&EventRecord::trade("X", 11.0, 1.0), &MarketRecord::default());
    }

    #[test]
    fn rejects_otherwise() {
        let f = FilterHarness::<Trap>::configure("{}").unwrap();
        assert_eq!(
            f.evaluate(&EventRecord::trade("X", 1.0, 1.0), &MarketRecord::default())
                .reject_reason(),
            Some("below trigger price")
        );
    }
}

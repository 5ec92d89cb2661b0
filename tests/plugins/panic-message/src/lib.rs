//! Broken on purpose: panics with `panic-message plugin: price {price}
//! above {above_price}` for an event priced above `above_price` (default
//! 10), and rejects the rest. The SDK's panic hook hands that message to
//! the host before the trap, so host tests can look for it in the log.

use klaxon_sdk::{Columns, Event, Filter, Market, Verdict, export_filter};

/// Params: misbehave only above `above_price` (default 10), so the host's
/// smoke run (price 1) passes.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "default_above_price")]
    pub above_price: f64,
}

fn default_above_price() -> f64 {
    10.0
}

pub struct PanicMessage {
    above_price: f64,
}

impl Filter for PanicMessage {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        Ok(PanicMessage { above_price: p.above_price })
    }

    fn columns(&self) -> Columns {
        Columns::PRICE
    }

    fn evaluate(&mut self, event: &Event, _: &Market) -> Verdict {
        let price = event.price();
        if price > self.above_price {
            panic!("panic-message plugin: price {price} above {}", self.above_price);
        }
        Verdict::reject("below trigger price")
    }
}

export_filter!(PanicMessage);

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use klaxon_sdk::testing::{self, FilterHarness};
    use klaxon_sdk::{EventRecord, MarketRecord};

    use super::*;

    #[test]
    fn the_message_reaches_the_host() {
        testing::reset();
        let f = FilterHarness::<PanicMessage>::configure("{}").unwrap();
        let low = EventRecord::trade("X", 1.0, 1.0);
        assert_eq!(
            f.evaluate(&low, &MarketRecord::default()).reject_reason(),
            Some("below trigger price")
        );
        let high = EventRecord::trade("X", 11.0, 1.0);
        let result = catch_unwind(AssertUnwindSafe(|| f.evaluate(&high, &MarketRecord::default())));
        assert!(result.is_err());
        let reported = testing::panics();
        assert_eq!(reported.len(), 1);
        assert!(
            reported[0].starts_with("panic-message plugin: price 11 above 10 (at "),
            "{reported:?}"
        );
    }
}

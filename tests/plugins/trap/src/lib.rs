//! Broken on purpose: panics (a wasm `unreachable` trap) on any event whose
//! price is above 0, and rejects the rest with `price not positive`. So a
//! test picks per event whether the call traps.

use klaxon_sdk::{Event, Filter, Market, Verdict, export_filter};

pub struct Trap;

impl Filter for Trap {
    type Params = serde::de::IgnoredAny;

    fn new(_: Self::Params) -> Result<Self, String> {
        Ok(Trap)
    }

    fn evaluate(&mut self, event: &Event, _: &Market) -> Verdict {
        if event.price > 0.0 {
            panic!("trap plugin: price {} > 0", event.price);
        }
        Verdict::reject("price not positive")
    }
}

export_filter!(Trap);

#[cfg(test)]
mod tests {
    use klaxon_sdk::testing::FilterHarness;
    use klaxon_sdk::{Event, Market};

    use super::*;

    #[test]
    #[should_panic(expected = "trap plugin: price 1 > 0")]
    fn panics_on_positive_price() {
        let f = FilterHarness::<Trap>::configure("{}").unwrap();
        f.evaluate(&Event::trade("X", 1.0, 1.0), &Market::default());
    }

    #[test]
    fn rejects_otherwise() {
        let f = FilterHarness::<Trap>::configure("{}").unwrap();
        assert_eq!(f.evaluate(&Event::trade("X", 0.0, 1.0), &Market::default()).reject_reason(), Some("price not positive"));
    }
}

//! Broken on purpose: panics (a wasm `unreachable` trap) on any event whose
//! price is above `above_price`, and rejects the rest, except that with
//! `pass_from` set, an event priced at least that (and not above
//! `above_price`) passes, keyed by its symbol. So a test picks per event
//! whether the call traps, and per template whether a healthy rule of the
//! same plugin alerts beside a trapping one.

use klaxon_sdk::{Columns, Event, Filter, Market, Pass, Verdict, export_filter};

/// Params: misbehave only for events priced above `above_price` (default
/// 10), so the host's smoke run (price 1) passes and the plugin goes live;
/// set it to 0 to misbehave on every event, smoke run included.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "default_above_price")]
    pub above_price: f64,
    /// Pass events priced at least this (default: never).
    #[serde(default)]
    pub pass_from: Option<f64>,
}

fn default_above_price() -> f64 {
    10.0
}

pub struct Trap {
    above_price: f64,
    pass_from: f64,
}

impl Filter for Trap {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        Ok(Trap { above_price: p.above_price, pass_from: p.pass_from.unwrap_or(f64::INFINITY) })
    }

    fn columns(&self) -> Columns {
        Columns::PRICE | Columns::SYMBOL
    }

    fn evaluate(&mut self, event: &Event, _: &Market) -> Verdict {
        if event.price() > self.above_price {
            panic!("trap plugin: price {} > {}", event.price(), self.above_price);
        }
        if event.price() >= self.pass_from {
            let symbol = event.symbol().name();
            return Pass::new(symbol, format!("price {} on {symbol}", event.price())).into();
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

//! For hot-swap tests: passes every event, with the build's version in the
//! title (`swap-probe v1` / `swap-probe v2`) and in the `version` field.
//! Built twice by `host/build.rs`: without and with the `v2` feature.

use klaxon_sdk::{Columns, Event, Filter, Market, Pass, Verdict, export_filter};

pub const VERSION: &str = if cfg!(feature = "v2") { "v2" } else { "v1" };

pub struct SwapProbe;

impl Filter for SwapProbe {
    type Params = serde::de::IgnoredAny;

    fn new(_: Self::Params) -> Result<Self, String> {
        Ok(SwapProbe)
    }

    fn columns(&self) -> Columns {
        Columns::SYMBOL | Columns::PRICE
    }

    fn evaluate(&mut self, event: &Event, _: &Market) -> Verdict {
        Pass::new(event.symbol().name(), format!("swap-probe {VERSION}"))
            .with_value(event.price())
            .with_field("version", VERSION)
            .into()
    }
}

export_filter!(SwapProbe);

#[cfg(test)]
mod tests {
    use klaxon_sdk::testing::FilterHarness;
    use klaxon_sdk::{EventRecord, MarketRecord};

    use super::*;

    #[test]
    fn passes_everything_with_its_version() {
        let f = FilterHarness::<SwapProbe>::configure("").unwrap();
        let pass = f
            .evaluate(&EventRecord::trade("BTCUSDT", 2.0, 1.0), &MarketRecord::default())
            .into_pass()
            .unwrap();
        assert_eq!(pass.title, format!("swap-probe {VERSION}"));
        assert_eq!(pass.field("version"), Some(VERSION));
        assert_eq!(pass.alert_key, "BTCUSDT");
    }
}

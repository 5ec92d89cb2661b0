//! For host tests: passes an event whose USD notional is at least
//! `multiple` times the 1-minute average trade (`volume_1m / trades_1m`),
//! and rejects the rest (also when the 1m window is missing or has no
//! trades). It reads the window trade count, which the 0.1 batch path did
//! not carry, so it proves trade counts reach both paths.
//!
//! Alert key: the symbol. Value: the notional.

use klaxon_sdk::{Columns, Event, Filter, Market, Pass, Verdict, Window, export_filter};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// How many average trades an event must be worth.
    pub multiple: f64,
}

pub struct AvgTrade {
    multiple: f64,
}

impl Filter for AvgTrade {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        if !p.multiple.is_finite() || p.multiple < 0.0 {
            return Err(format!("multiple: must be 0 or more, got {}", p.multiple));
        }
        Ok(AvgTrade { multiple: p.multiple })
    }

    fn columns(&self) -> Columns {
        Columns::NOTIONAL_USD | Columns::VOLUME_1M | Columns::TRADES_1M | Columns::SYMBOL
    }

    fn evaluate(&mut self, event: &Event, market: &Market) -> Verdict {
        let Some(notional) = event.notional_usd() else { return Verdict::reject("no notional") };
        let (Some(volume), Some(trades)) =
            (market.volume_usd(Window::M1), market.trades(Window::M1))
        else {
            return Verdict::reject("1m window missing");
        };
        if trades == 0 {
            return Verdict::reject("no trades in 1m");
        }
        if notional < self.multiple * volume / f64::from(trades) {
            return Verdict::reject("below average multiple");
        }
        let symbol = event.symbol().name();
        Pass::new(symbol, format!("avg-trade {symbol}"))
            .with_value(notional)
            .with_field("trades 1m", trades.to_string())
            .into()
    }
}

export_filter!(AvgTrade);

#[cfg(test)]
mod tests {
    use klaxon_sdk::testing::{FilterHarness, json};
    use klaxon_sdk::{EventRecord, MarketRecord, Window};

    use super::*;

    #[test]
    fn trade_counts_decide_on_both_paths() {
        let f = FilterHarness::<AvgTrade>::configure_json(&json!({"multiple": 5})).unwrap();
        // Average trade $1,000: $5,000 passes, $4,999 does not.
        let market = MarketRecord::unknown()
            .with_window(Window::M1, 0.0, 100_000.0)
            .with_trades(Window::M1, 100);
        let rows = vec![
            (EventRecord::trade("BTCUSDT", 1.0, 5_000.0), market),
            (EventRecord::trade("BTCUSDT", 1.0, 4_999.0), market),
            (EventRecord::trade("BTCUSDT", 1.0, 1e9), MarketRecord::unknown()),
            (EventRecord::trade("ETHUSDT", 1.0, 1e9), market.with_trades(Window::M1, 0)),
        ];
        let passed = f.check_paths(&rows);
        assert_eq!(passed.len(), 1);
        assert_eq!(passed[0].0, 0);
        assert_eq!(passed[0].1.alert_key, "BTCUSDT");
        assert_eq!(passed[0].1.value, 5_000.0);
    }
}

//! `{{name}}`: a filter. One trade whose USD notional reaches
//! `min_notional_usd` raises an alert keyed by its symbol.

use klaxon_sdk::fmt::{price, usd};
use klaxon_sdk::{
    Columns, Event, EventKind, Filter, Market, Pass, Severity, Side, Verdict, export_filter,
};
use serde::Deserialize;

/// Params, as written in the template. A typo is an error naming the field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Smallest trade worth an alert, in USD.
    pub min_notional_usd: f64,
    /// `"info"`, `"warning"` (default) or `"critical"`.
    #[serde(default = "warning")]
    pub severity: Severity,
}

fn warning() -> Severity {
    Severity::Warning
}

pub struct Plugin {
    min: f64,
    severity: Severity,
}

impl Filter for Plugin {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        if !(p.min_notional_usd >= 0.0) {
            return Err(format!("min_notional_usd: must be 0 or more, got {}", p.min_notional_usd));
        }
        Ok(Plugin { min: p.min_notional_usd, severity: p.severity })
    }

    /// Exactly what `evaluate` reads; the host sends nothing else.
    fn columns(&self) -> Columns {
        Columns::KIND | Columns::NOTIONAL_USD | Columns::SYMBOL | Columns::SIDE | Columns::PRICE
    }

    fn evaluate(&mut self, event: &Event, _market: &Market) -> Verdict {
        if event.kind() != EventKind::Trade {
            return Verdict::reject("not a trade");
        }
        let Some(notional) = event.notional_usd() else { return Verdict::reject("no notional") };
        if notional < self.min {
            return Verdict::reject("below threshold");
        }
        let symbol = event.symbol().name();
        let side = match event.side() {
            Side::Buy => "buy",
            Side::Sell => "sell",
            Side::Unknown => "trade",
        };
        Pass::new(symbol, format!("{} {side} on {symbol}", usd(notional)))
            .with_severity(self.severity)
            .with_value(notional)
            .with_field("notional", usd(notional))
            .with_field("price", price(event.price()))
            .into()
    }
}

export_filter!(Plugin);

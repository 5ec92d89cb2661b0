//! The stock `amount-threshold` rule compiled natively, for comparison. It
//! builds the same `Pass` the plugin builds for a passing row, so both sides
//! pay for their results the same way.

use crate::alert::{Pass, Severity};
use crate::event::Sym;

/// `notional >= min_notional_usd` over the notional column.
pub fn amount_threshold(
    notional: &[f64],
    symbols: &[u32],
    min_notional_usd: f64,
    out: &mut Vec<(usize, Pass)>,
) {
    for (row, &n) in notional.iter().enumerate() {
        if n >= min_notional_usd {
            let symbol =
                Sym::from_id(symbols[row]).map(|s| s.name().to_string()).unwrap_or_default();
            out.push((
                row,
                Pass {
                    title: format!("Large trade on {symbol}"),
                    alert_key: symbol,
                    severity: Severity::Warning,
                    value: n,
                    fields: vec![("notional".into(), format!("{n:.0}"))],
                },
            ));
        }
    }
}

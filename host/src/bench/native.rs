//! The stock `amount-threshold` rule compiled natively, for comparison. It
//! reads the same columns the plugin declares (kind and notional) and builds
//! the same kind of `Pass` for a passing row, so both sides pay for their
//! results the same way.

use crate::alert::{Pass, Severity};
use crate::event::{EventKind, Sym};

/// `kind != book-top && notional >= min_notional_usd` over the columns.
pub fn amount_threshold(
    kinds: &[u8],
    notional: &[f64],
    symbols: &[u32],
    min: f64,
    out: &mut Vec<(usize, Pass)>,
) {
    for (row, (&kind, &n)) in kinds.iter().zip(notional).enumerate() {
        if kind != EventKind::BookTop as u8 && n >= min {
            out.push((row, pass(symbols[row], n)));
        }
    }
}

#[inline(never)]
fn pass(symbol: u32, notional: f64) -> Pass {
    let symbol = Sym::from_id(symbol).map(|s| s.name().to_string()).unwrap_or_default();
    Pass {
        title: format!("Large trade on {symbol}"),
        alert_key: symbol,
        severity: Severity::Warning,
        value: notional,
        fields: vec![("notional".into(), format!("{notional:.0}"))],
    }
}

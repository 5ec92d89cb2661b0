//! Column batches for `evaluate-batch`, the filters' hot path.
//!
//! A string costs ~55 ns to cross into WebAssembly, a column value ~1–2 ns,
//! so a batch is a set of plain lists with symbols and accounts as interned
//! ids and enums as `u8` codes (their declaration order, which the host
//! enums share with the WIT: see `wit/types.wit`). A worker converts its batch to columns once (decimals to `f64`) and
//! reuses them for every template: templates that see every row get the
//! batch as is, the others a gathered subset. Buffers are reused, so a warm
//! worker allocates nothing here.

use crate::event::Event;
use crate::market::Snapshot;

use super::bindings::wit;
use super::convert::f;

/// Reusable column buffers.
pub struct Columns {
    pub(crate) batch: wit::EventBatch,
}

impl Default for Columns {
    fn default() -> Self {
        Columns { batch: empty_batch() }
    }
}

macro_rules! each_column {
    ($b:expr, $op:ident $(, $arg:expr)?) => {{
        let b = $b;
        b.kinds.$op($($arg)?);
        b.symbol_ids.$op($($arg)?);
        b.account_ids.$op($($arg)?);
        b.prices.$op($($arg)?);
        b.sizes.$op($($arg)?);
        b.notional_usd.$op($($arg)?);
        b.sides.$op($($arg)?);
        b.directions.$op($($arg)?);
        b.closed_pnl.$op($($arg)?);
        b.exchange_time_ms.$op($($arg)?);
        b.last_price.$op($($arg)?);
        b.change_1m.$op($($arg)?);
        b.change_5m.$op($($arg)?);
        b.change_1h.$op($($arg)?);
        b.volume_1m.$op($($arg)?);
        b.volume_5m.$op($($arg)?);
        b.volume_1h.$op($($arg)?);
        b.best_bid.$op($($arg)?);
        b.best_ask.$op($($arg)?);
        b.missing.$op($($arg)?);
    }};
}

impl Columns {
    pub fn len(&self) -> usize {
        self.batch.prices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replace the contents with `rows`.
    pub fn fill<'a>(&mut self, rows: impl Iterator<Item = (&'a Event, &'a Snapshot)>) {
        each_column!(&mut self.batch, clear);
        let b = &mut self.batch;
        for (e, m) in rows {
            b.kinds.push(e.kind as u8);
            b.symbol_ids.push(e.symbol.id());
            b.account_ids.push(e.account.map_or(0, |a| a.id()));
            b.prices.push(f(e.price));
            b.sizes.push(f(e.size));
            b.notional_usd.push(e.notional_usd.map_or(f64::NAN, f));
            b.sides.push(e.side as u8);
            b.directions.push(e.direction as u8);
            b.closed_pnl.push(e.closed_pnl.map_or(f64::NAN, f));
            b.exchange_time_ms.push(e.exchange_time_ms);
            b.last_price.push(m.last_price);
            b.change_1m.push(m.w1m.change_pct);
            b.change_5m.push(m.w5m.change_pct);
            b.change_1h.push(m.w1h.change_pct);
            b.volume_1m.push(m.w1m.volume_usd);
            b.volume_5m.push(m.w5m.volume_usd);
            b.volume_1h.push(m.w1h.volume_usd);
            b.best_bid.push(m.best_bid);
            b.best_ask.push(m.best_ask);
            b.missing.push(m.missing.bits());
        }
    }

    /// Copy `rows` (ascending indices into `self`) into `into`.
    pub fn gather(&self, rows: &[usize], into: &mut Columns) {
        each_column!(&mut into.batch, clear);
        let (src, dst) = (&self.batch, &mut into.batch);
        for &r in rows {
            dst.kinds.push(src.kinds[r]);
            dst.symbol_ids.push(src.symbol_ids[r]);
            dst.account_ids.push(src.account_ids[r]);
            dst.prices.push(src.prices[r]);
            dst.sizes.push(src.sizes[r]);
            dst.notional_usd.push(src.notional_usd[r]);
            dst.sides.push(src.sides[r]);
            dst.directions.push(src.directions[r]);
            dst.closed_pnl.push(src.closed_pnl[r]);
            dst.exchange_time_ms.push(src.exchange_time_ms[r]);
            dst.last_price.push(src.last_price[r]);
            dst.change_1m.push(src.change_1m[r]);
            dst.change_5m.push(src.change_5m[r]);
            dst.change_1h.push(src.change_1h[r]);
            dst.volume_1m.push(src.volume_1m[r]);
            dst.volume_5m.push(src.volume_5m[r]);
            dst.volume_1h.push(src.volume_1h[r]);
            dst.best_bid.push(src.best_bid[r]);
            dst.best_ask.push(src.best_ask[r]);
            dst.missing.push(src.missing[r]);
        }
    }

    /// Notional column (NaN when unknown), for native comparisons in `bench`.
    pub fn notional_usd(&self) -> &[f64] {
        &self.batch.notional_usd
    }

    pub fn symbol_ids(&self) -> &[u32] {
        &self.batch.symbol_ids
    }
}

fn empty_batch() -> wit::EventBatch {
    wit::EventBatch {
        kinds: Vec::new(),
        symbol_ids: Vec::new(),
        account_ids: Vec::new(),
        prices: Vec::new(),
        sizes: Vec::new(),
        notional_usd: Vec::new(),
        sides: Vec::new(),
        directions: Vec::new(),
        closed_pnl: Vec::new(),
        exchange_time_ms: Vec::new(),
        last_price: Vec::new(),
        change_1m: Vec::new(),
        change_5m: Vec::new(),
        change_1h: Vec::new(),
        volume_1m: Vec::new(),
        volume_5m: Vec::new(),
        volume_1h: Vec::new(),
        best_bid: Vec::new(),
        best_ask: Vec::new(),
        missing: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::convert::{direction, kind, side};
    use crate::event::{Direction, EventKind, Side};

    /// The batch sends host enums as `u8`; their order must be the WIT's.
    #[test]
    fn host_enum_codes_are_the_wit_declaration_order() {
        for k in EventKind::ALL {
            assert_eq!(k as u8, kind(k) as u8, "{k:?}");
        }
        for s in [Side::Buy, Side::Sell, Side::Unknown] {
            assert_eq!(s as u8, side(s) as u8, "{s:?}");
        }
        for d in [
            Direction::None,
            Direction::OpenLong,
            Direction::CloseLong,
            Direction::OpenShort,
            Direction::CloseShort,
        ] {
            assert_eq!(d as u8, direction(d) as u8, "{d:?}");
        }
    }
}

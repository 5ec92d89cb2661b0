//! Column batches for `evaluate-batch`, the filters' hot path, with
//! projection: a rule declares the columns it reads and only those cross.
//!
//! A string costs ~55 ns to cross into WebAssembly, a column value ~1–2 ns,
//! so a batch is a set of plain lists with venues, symbols and accounts as
//! interned ids and enums as `u8` codes (their declaration order, which the
//! host enums share with the WIT: see `wit/types.wit`). A worker fills a
//! column at most once per run of events, the first time a rule needs it
//! (decimals to `f64` here and only here), then lends the columns a call
//! needs to that call by moving the vectors, so nothing is copied twice
//! and a warm worker allocates nothing.

use crate::event::Event;
use crate::market::Snapshot;

use super::bindings::wit;
use super::convert::f;

pub use super::bindings::wit::Columns as ColumnSet;

/// Reusable column buffers for one run of events.
#[derive(Default)]
pub struct Columns {
    batch: Buffers,
    /// The columns filled for the current run.
    filled: ColumnSet,
    len: usize,
}

/// One `Vec` per column, under the names of `wit::EventBatch`.
#[derive(Default)]
struct Buffers {
    kinds: Vec<u8>,
    venue_ids: Vec<u32>,
    symbol_ids: Vec<u32>,
    account_ids: Vec<u32>,
    prices: Vec<f64>,
    sizes: Vec<f64>,
    notional_usd: Vec<f64>,
    sides: Vec<u8>,
    directions: Vec<u8>,
    closed_pnl: Vec<f64>,
    exchange_time_ms: Vec<u64>,
    event_ids: Vec<String>,
    tx_hashes: Vec<String>,
    last_price: Vec<f64>,
    change_1m: Vec<f64>,
    change_5m: Vec<f64>,
    change_1h: Vec<f64>,
    volume_1m: Vec<f64>,
    volume_5m: Vec<f64>,
    volume_1h: Vec<f64>,
    trades_1m: Vec<u32>,
    trades_5m: Vec<u32>,
    trades_1h: Vec<u32>,
    best_bid: Vec<f64>,
    best_ask: Vec<f64>,
    missing: Vec<u8>,
}

/// `(flag, field, value of one row)` for every column, once: filling,
/// lending and returning all walk this list.
macro_rules! each_column {
    ($m:ident) => {
        $m! {
            KIND kinds |e, _m| e.kind as u8;
            VENUE venue_ids |e, _m| e.venue.id();
            SYMBOL symbol_ids |e, _m| e.symbol.id();
            ACCOUNT account_ids |e, _m| e.account.map_or(0, |a| a.id());
            PRICE prices |e, _m| f(e.price);
            SIZE sizes |e, _m| f(e.size);
            NOTIONAL_USD notional_usd |e, _m| e.notional_usd.map_or(f64::NAN, f);
            SIDE sides |e, _m| e.side as u8;
            DIRECTION directions |e, _m| e.direction as u8;
            CLOSED_PNL closed_pnl |e, _m| e.closed_pnl.map_or(f64::NAN, f);
            EXCHANGE_TIME exchange_time_ms |e, _m| e.exchange_time_ms;
            EVENT_ID event_ids |e, _m| e.id.clone();
            TX_HASH tx_hashes |e, _m| e.tx_hash.clone().unwrap_or_default();
            LAST_PRICE last_price |_e, m| m.last_price;
            CHANGE_1M change_1m |_e, m| m.w1m.change_pct;
            CHANGE_5M change_5m |_e, m| m.w5m.change_pct;
            CHANGE_1H change_1h |_e, m| m.w1h.change_pct;
            VOLUME_1M volume_1m |_e, m| m.w1m.volume_usd;
            VOLUME_5M volume_5m |_e, m| m.w5m.volume_usd;
            VOLUME_1H volume_1h |_e, m| m.w1h.volume_usd;
            TRADES_1M trades_1m |_e, m| m.w1m.trades;
            TRADES_5M trades_5m |_e, m| m.w5m.trades;
            TRADES_1H trades_1h |_e, m| m.w1h.trades;
            BEST_BID best_bid |_e, m| m.best_bid;
            BEST_ASK best_ask |_e, m| m.best_ask;
            MISSING missing |_e, m| m.missing.bits();
        }
    };
}

macro_rules! fill_columns {
    ($($flag:ident $field:ident |$e:ident, $m:ident| $value:expr;)*) => {
        fn fill_missing(&mut self, need: ColumnSet, rows: &[(&Event, &Snapshot)]) {
            $(
                if need.contains(ColumnSet::$flag) && !self.filled.contains(ColumnSet::$flag) {
                    let column = &mut self.batch.$field;
                    column.clear();
                    column.extend(rows.iter().map(|&($e, $m)| $value));
                }
            )*
            self.filled |= need;
        }

        fn lend_columns(&mut self, need: ColumnSet) -> wit::EventBatch {
            wit::EventBatch {
                len: self.len as u32,
                $($field: if need.contains(ColumnSet::$flag) {
                    std::mem::take(&mut self.batch.$field)
                } else {
                    Vec::new()
                },)*
            }
        }

        fn return_columns(&mut self, need: ColumnSet, lent: wit::EventBatch) {
            $(
                if need.contains(ColumnSet::$flag) {
                    self.batch.$field = lent.$field;
                }
            )*
        }
    };
}

impl Columns {
    each_column!(fill_columns);

    /// Start a new run of `len` events: nothing is filled yet.
    pub fn reset(&mut self, len: usize) {
        self.filled = ColumnSet::empty();
        self.len = len;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Make sure every column in `need` holds `rows` (the current run).
    pub fn fill(&mut self, need: ColumnSet, rows: &[(&Event, &Snapshot)]) {
        debug_assert_eq!(rows.len(), self.len, "fill with the run given to reset");
        self.fill_missing(need, rows);
    }

    /// Run `call` with a batch holding exactly the columns in `need`
    /// (filled before), then take the buffers back.
    pub fn with_batch<T>(
        &mut self,
        need: ColumnSet,
        call: impl FnOnce(&wit::EventBatch) -> T,
    ) -> T {
        debug_assert!(self.filled.contains(need), "columns lent before they were filled");
        let batch = self.lend_columns(need);
        let out = call(&batch);
        self.return_columns(need, batch);
        out
    }

    /// The notional column of the current run (NaN when unknown), for the
    /// native comparisons in `bench`.
    pub fn notional_usd(&self) -> &[f64] {
        &self.batch.notional_usd
    }

    /// Kind codes of the current run, for `bench`.
    pub fn kinds(&self) -> &[u8] {
        &self.batch.kinds
    }

    /// Symbol ids of the current run, for `bench`.
    pub fn symbol_ids(&self) -> &[u32] {
        &self.batch.symbol_ids
    }
}

/// Every column, so the union of what a set of rules reads is a fold.
pub fn union<'a>(sets: impl IntoIterator<Item = &'a ColumnSet>) -> ColumnSet {
    sets.into_iter().fold(ColumnSet::empty(), |acc, s| acc | *s)
}

#[cfg(test)]
mod tests {
    use super::super::convert::{direction, kind, side};
    use super::*;
    use crate::event::{Direction, EventKind, Side};
    use crate::plugins::tests::trade;

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

    /// Only the asked-for columns cross, each with one entry per row, and
    /// lending gives the buffers back for the next rule.
    #[test]
    fn a_batch_carries_exactly_the_projected_columns() {
        let (a, b) = (trade("BTCUSDT", 65_000, 2), trade("ETHUSDT", 3_000, 1));
        let market = Snapshot::default();
        let rows = [(&a, &market), (&b, &market)];
        let mut columns = Columns::default();
        columns.reset(2);
        let need = ColumnSet::NOTIONAL_USD | ColumnSet::TRADES_1M;
        columns.fill(need, &rows);
        let seen = columns.with_batch(need, |batch| {
            (batch.len, batch.notional_usd.clone(), batch.trades_1m.len(), batch.prices.len())
        });
        assert_eq!(seen, (2, vec![130_000.0, 3_000.0], 2, 0));
        assert_eq!(columns.notional_usd(), [130_000.0, 3_000.0], "buffers come back");
        columns.fill(ColumnSet::PRICE, &rows);
        let prices = columns.with_batch(ColumnSet::PRICE, |b| b.prices.clone());
        assert_eq!(prices, [65_000.0, 3_000.0]);
    }
}

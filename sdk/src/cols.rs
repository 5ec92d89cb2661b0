//! One rule's view of the columns ([`Cols`]), shared by the row views
//! (`event.rs`, `market.rs`) and the column-wise API (`batch.rs`).
//!
//! Both paths build one `Cols` per rule: on the batch path over the host's
//! lists, on the single-event path over one-row slices of the record's
//! fields. Columns the rule did not declare are *empty* slices, even when
//! another rule of the call had them filled, and every declared one has
//! exactly `len` rows (checked once per rule). So the one bounds check of a
//! row read is also the projection check.

use crate::columns::{Columns, undeclared};
use crate::window::Window;

/// One rule's view of the columns: undeclared ones are empty.
#[derive(Clone, Copy)]
pub(crate) struct Cols<'a> {
    pub len: usize,
    pub declared: Columns,
    pub kind: &'a [u8],
    pub venue: &'a [u32],
    pub symbol: &'a [u32],
    pub account: &'a [u32],
    pub price: &'a [f64],
    pub size: &'a [f64],
    pub notional: &'a [f64],
    pub side: &'a [u8],
    pub direction: &'a [u8],
    pub closed_pnl: &'a [f64],
    pub time: &'a [u64],
    pub id: &'a [String],
    pub tx: &'a [String],
    pub last_price: &'a [f64],
    pub change: [&'a [f64]; 3],
    pub volume: [&'a [f64]; 3],
    pub trades: [&'a [u32]; 3],
    pub best_bid: &'a [f64],
    pub best_ask: &'a [f64],
    pub missing: &'a [u8],
}

/// Keeps a declared column (which must then have `len` rows) and empties
/// an undeclared one.
#[inline(always)]
fn keep<T>(col: &[T], declared: Columns, column: Columns, len: usize) -> &[T] {
    if !declared.contains(column) {
        return &[];
    }
    if col.len() != len {
        misaligned(column, col.len(), len);
    }
    col
}

#[cold]
#[inline(never)]
fn misaligned(column: Columns, got: usize, len: usize) -> ! {
    panic!(
        "klaxon-sdk: host bug: column `{}` has {got} rows, the batch has {len} (a declared column \
         must be filled for every row)",
        column.name()
    )
}

#[cold]
#[inline(never)]
pub(crate) fn bad_code(what: &str, code: u8) -> ! {
    panic!("klaxon-sdk: host bug: unknown {what} code {code}")
}

impl<'a> Cols<'a> {
    /// This rule's view: `self` (the host's columns, all rows) narrowed to
    /// `declared`.
    pub(crate) fn narrow(&self, declared: Columns) -> Cols<'a> {
        let n = self.len;
        let d = declared;
        Cols {
            len: n,
            declared,
            kind: keep(self.kind, d, Columns::KIND, n),
            venue: keep(self.venue, d, Columns::VENUE, n),
            symbol: keep(self.symbol, d, Columns::SYMBOL, n),
            account: keep(self.account, d, Columns::ACCOUNT, n),
            price: keep(self.price, d, Columns::PRICE, n),
            size: keep(self.size, d, Columns::SIZE, n),
            notional: keep(self.notional, d, Columns::NOTIONAL_USD, n),
            side: keep(self.side, d, Columns::SIDE, n),
            direction: keep(self.direction, d, Columns::DIRECTION, n),
            closed_pnl: keep(self.closed_pnl, d, Columns::CLOSED_PNL, n),
            time: keep(self.time, d, Columns::EXCHANGE_TIME, n),
            id: keep(self.id, d, Columns::EVENT_ID, n),
            tx: keep(self.tx, d, Columns::TX_HASH, n),
            last_price: keep(self.last_price, d, Columns::LAST_PRICE, n),
            change: Window::ALL.map(|w| keep(self.change[w.index()], d, Columns::change(w), n)),
            volume: Window::ALL.map(|w| keep(self.volume[w.index()], d, Columns::volume(w), n)),
            trades: Window::ALL.map(|w| keep(self.trades[w.index()], d, Columns::trades(w), n)),
            best_bid: keep(self.best_bid, d, Columns::BEST_BID, n),
            best_ask: keep(self.best_ask, d, Columns::BEST_ASK, n),
            missing: keep(self.missing, d, Columns::MISSING, n),
        }
    }
}

/// Row `row` of a column, or the undeclared-column panic. The slice is
/// either the rule's declared column (exactly `len` rows, and rows handed
/// to the rule are below `len`) or empty.
#[inline(always)]
#[track_caller]
pub(crate) fn at<T: Copy>(col: &[T], row: usize, column: Columns) -> T {
    match col.get(row) {
        Some(value) => *value,
        None => read_failed(col.len(), row, column),
    }
}

#[inline(always)]
#[track_caller]
pub(crate) fn at_str(col: &[String], row: usize, column: Columns) -> &str {
    match col.get(row) {
        Some(value) => value,
        None => read_failed(col.len(), row, column),
    }
}

/// An empty column is an undeclared one; a filled one was read past its
/// end (a view built for a row outside the batch).
#[cold]
#[inline(never)]
#[track_caller]
fn read_failed(len: usize, row: usize, column: Columns) -> ! {
    if len == 0 {
        undeclared(column)
    }
    panic!("klaxon-sdk: row {row} read past the batch's {len} rows (column `{}`)", column.name())
}

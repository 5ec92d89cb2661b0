//! The columns a rule reads, and the column-wise API ([`Batch`], [`Rows`],
//! [`Output`]).
//!
//! Both paths build one [`Cols`] per rule: on the batch path over the
//! host's lists, on the single-event path over one-row slices of the
//! record's fields. Columns the rule did not declare are *empty* slices in
//! the rule's `Cols`, even when another rule of the call had them filled,
//! and every declared one has exactly `len` rows (checked once per rule).
//! So the one bounds check of a row read is also the projection check: an
//! in-range row of a declared column is always there, and a read of an
//! undeclared column finds an empty slice and panics, naming it.

use std::borrow::Cow;

use crate::cols::Cols;
use crate::columns::{Columns, undeclared};
use crate::event::{Event, not_nan};
use crate::market::{Market, Window};
use crate::verdict::{Pass, Verdict};

/// The column-wise view of a batch, for
/// [`Filter::evaluate_batch`](crate::Filter::evaluate_batch): typed slices
/// of `len()` rows each. Like the row views, every getter panics if the
/// rule did not declare its column.
#[derive(Clone, Copy)]
pub struct Batch<'a> {
    pub(crate) cols: &'a Cols<'a>,
}

macro_rules! slice_getters {
    ($($(#[$doc:meta])* $name:ident: $field:ident: $ty:ty = $column:ident;)*) => {
        $(
            $(#[$doc])*
            #[inline(always)]
            #[track_caller]
            pub fn $name(&self) -> &'a [$ty] {
                self.need(Columns::$column);
                self.cols.$field
            }
        )*
    };
}

impl<'a> Batch<'a> {
    /// Number of rows in the batch (not all of which this rule may judge:
    /// see [`Rows`]).
    pub fn len(&self) -> usize {
        self.cols.len
    }

    pub fn is_empty(&self) -> bool {
        self.cols.len == 0
    }

    /// The columns this rule declared (with implied `missing`).
    pub fn columns(&self) -> Columns {
        self.cols.declared
    }

    /// Row `row` as an [`Event`] view.
    ///
    /// # Panics
    /// If `row` is out of range.
    #[inline(always)]
    pub fn event(&self, row: usize) -> Event<'a> {
        assert!(row < self.cols.len, "klaxon-sdk: row {row} out of range ({} rows)", self.cols.len);
        Event { cols: self.cols, row }
    }

    /// Row `row` as a [`Market`] view.
    ///
    /// # Panics
    /// If `row` is out of range.
    #[inline(always)]
    pub fn market(&self, row: usize) -> Market<'a> {
        assert!(row < self.cols.len, "klaxon-sdk: row {row} out of range ({} rows)", self.cols.len);
        Market { cols: self.cols, row }
    }

    #[inline(always)]
    #[track_caller]
    fn need(&self, column: Columns) {
        if !self.cols.declared.contains(column) {
            undeclared(column)
        }
    }

    slice_getters! {
        /// `event-kind` codes ([`EventKind::from_code`](crate::EventKind::from_code),
        /// [`EventKinds::contains_code`](crate::EventKinds::contains_code)).
        kind_codes: kind: u8 = KIND;
        /// Interned venue ids.
        venue_ids: venue: u32 = VENUE;
        /// Interned symbol ids ([`names`](crate::host::name) resolve them).
        symbol_ids: symbol: u32 = SYMBOL;
        /// Interned account ids; 0 means no account.
        account_ids: account: u32 = ACCOUNT;
        prices: price: f64 = PRICE;
        sizes: size: f64 = SIZE;
        /// USD notional; NaN when unknown.
        notional_usd: notional: f64 = NOTIONAL_USD;
        /// `side` codes ([`Side::from_code`](crate::Side::from_code)).
        side_codes: side: u8 = SIDE;
        /// `direction` codes ([`Direction::from_code`](crate::Direction::from_code)).
        direction_codes: direction: u8 = DIRECTION;
        /// Realized PnL; NaN when not a closing perp fill.
        closed_pnl: closed_pnl: f64 = CLOSED_PNL;
        exchange_time_ms: time: u64 = EXCHANGE_TIME;
        /// Event ids; empty when unknown.
        event_ids: id: String = EVENT_ID;
        /// Transaction hashes; empty when the event has none.
        tx_hashes: tx: String = TX_HASH;
        /// Last prices; 0 where [`missing_bits`](Self::missing_bits) has `last-price`.
        last_price: last_price: f64 = LAST_PRICE;
        best_bid: best_bid: f64 = BEST_BID;
        best_ask: best_ask: f64 = BEST_ASK;
        /// [`MissingFields`](crate::MissingFields) bits per row.
        missing_bits: missing: u8 = MISSING;
    }

    /// Price change over `window` in percent; 0 where the window is missing.
    #[inline(always)]
    #[track_caller]
    pub fn change_pct(&self, window: Window) -> &'a [f64] {
        self.need(Columns::change(window));
        self.cols.change[window.index()]
    }

    /// USD volume over `window`; 0 where the window is missing.
    #[inline(always)]
    #[track_caller]
    pub fn volume_usd(&self, window: Window) -> &'a [f64] {
        self.need(Columns::volume(window));
        self.cols.volume[window.index()]
    }

    /// Trade count over `window`; 0 where the window is missing.
    #[inline(always)]
    #[track_caller]
    pub fn trades(&self, window: Window) -> &'a [u32] {
        self.need(Columns::trades(window));
        self.cols.trades[window.index()]
    }

    /// Row `row` of [`notional_usd`](Self::notional_usd) as an option.
    #[inline(always)]
    pub fn notional_at(&self, row: usize) -> Option<f64> {
        not_nan(self.notional_usd()[row])
    }
}

/// The rows of a batch one rule judges: all of them, or an ascending
/// subset. Iterates as `usize` row indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows<'a> {
    /// Rows `0..n`.
    All(usize),
    /// These rows, ascending, each below the batch's length.
    Only(&'a [u32]),
}

impl<'a> Rows<'a> {
    pub fn len(&self) -> usize {
        match self {
            Rows::All(n) => *n,
            Rows::Only(rows) => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> RowsIter<'a> {
        match *self {
            Rows::All(n) => RowsIter::All(0..n),
            Rows::Only(rows) => RowsIter::Only(rows.iter()),
        }
    }

    /// Checks the host's list: ascending, below `len`.
    pub(crate) fn checked(rows: Option<&'a [u32]>, len: usize) -> Rows<'a> {
        let Some(rows) = rows else { return Rows::All(len) };
        let ascending = rows.windows(2).all(|w| w[0] < w[1]);
        let in_range = rows.last().is_none_or(|&last| (last as usize) < len);
        if !ascending || !in_range {
            panic!("klaxon-sdk: host bug: rule rows must ascend and stay below {len}: {rows:?}");
        }
        Rows::Only(rows)
    }
}

impl<'a> IntoIterator for Rows<'a> {
    type Item = usize;
    type IntoIter = RowsIter<'a>;
    fn into_iter(self) -> RowsIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Rows`].
#[derive(Debug, Clone)]
pub enum RowsIter<'a> {
    All(std::ops::Range<usize>),
    Only(std::slice::Iter<'a, u32>),
}

impl Iterator for RowsIter<'_> {
    type Item = usize;
    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        match self {
            RowsIter::All(range) => range.next(),
            RowsIter::Only(rows) => rows.next().map(|&r| r as usize),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            RowsIter::All(range) => range.size_hint(),
            RowsIter::Only(rows) => rows.size_hint(),
        }
    }
}

impl ExactSizeIterator for RowsIter<'_> {}

/// Collects one rule's passes on the batch path. Passes must come in
/// ascending row order, one per row at most, and only for rows in the
/// rule's [`Rows`]; anything else panics (a pass for a row the host did not
/// route to this template would alert the wrong template).
pub struct Output<'a> {
    pub(crate) rule: u32,
    pub(crate) rows: Rows<'a>,
    /// Index into `Rows::Only` of the next candidate row.
    pub(crate) cursor: usize,
    pub(crate) next_row: usize,
    pub(crate) passes: &'a mut Vec<crate::__private::wit::RulePass>,
}

impl Output<'_> {
    /// Records that `row` passes with `pass`.
    pub fn pass(&mut self, row: usize, pass: Pass) {
        let ok = row >= self.next_row
            && match self.rows {
                Rows::All(n) => row < n,
                Rows::Only(rows) => {
                    while self.cursor < rows.len() && (rows[self.cursor] as usize) < row {
                        self.cursor += 1;
                    }
                    self.cursor < rows.len() && rows[self.cursor] as usize == row
                }
            };
        if !ok {
            bad_pass(row, self.next_row);
        }
        self.next_row = row + 1;
        self.passes.push(crate::__private::wit::RulePass {
            rule: self.rule,
            row: row as u32,
            pass: crate::__private::pass_to_wit(pass),
        });
    }

    /// Records `verdict` for `row`: a pass is [`pass`](Self::pass)ed, a
    /// reject is dropped.
    #[inline(always)]
    pub fn verdict(&mut self, row: usize, verdict: Verdict) {
        match verdict {
            // The common case; matching it apart keeps the drop glue (an
            // out-of-line call) off the hot path.
            Verdict::Reject(Cow::Borrowed(_)) => {}
            Verdict::Reject(Cow::Owned(reason)) => drop(reason),
            Verdict::Pass(pass) => self.pass(row, pass),
        }
    }
}

#[cold]
#[inline(never)]
fn bad_pass(row: usize, next: usize) -> ! {
    panic!(
        "klaxon-sdk: out.pass({row}): passes must name rows of this rule's `Rows`, in ascending \
         order, once each (next allowed row: {next})"
    )
}

//! Isolating a row the database refuses, so it cannot take its batch (and
//! with it the alert log) down.
//!
//! A failed write is one of two things:
//!
//! * a **refusal** of something in the rows: a constraint, a value out of
//!   range or an index entry too large (Postgres SQLSTATE classes 22, 23 and
//!   54; SQLite `CONSTRAINT`, `TOOBIG`, `MISMATCH`). Retrying the same rows
//!   can never succeed, so the batch is split in halves, and halves of
//!   halves, until every good row is written and each refused row stands
//!   alone, to be reported and left out. One bad row in a batch of 256 costs
//!   about 16 extra transactions, never a lost batch.
//! * anything else (connection lost, database down or locked, disk full, a
//!   schema gone): not the rows' fault. The caller's write retries it; if it
//!   still fails, splitting would not help, and the batch's unwritten rows
//!   are reported lost (only ever at shutdown, for the alert-log writer).
//!
//! Writes must be idempotent (alert and delivery ids are), so a part written
//! before a later part fails is simply skipped as a duplicate on a retry.

use std::ops::Range;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::{Backend, StoreError, error_chain};

/// Which rows of a batch are still to write, and which were refused. The
/// caller writes [`next`](Split::next) in one transaction and reports a
/// refusal with [`refuse`](Split::refuse); refused ranges are split in
/// halves until each refused row stands alone.
#[derive(Debug)]
pub(crate) struct Split {
    /// Last in, first out: the first half is pushed last, so rows are
    /// written in their order.
    todo: Vec<Range<usize>>,
    refused: Vec<(usize, StoreError)>,
}

impl Split {
    /// All of rows `0..len` to write.
    pub fn new(len: usize) -> Split {
        let mut todo = Vec::new();
        if len > 0 {
            todo.push(0..len);
        }
        Split { todo, refused: Vec::new() }
    }

    /// The next range to write in one transaction, in row order.
    pub fn next(&mut self) -> Option<Range<usize>> {
        self.todo.pop()
    }

    /// The database refused `range` (just taken from [`next`](Split::next)).
    pub fn refuse(&mut self, range: Range<usize>, error: StoreError) {
        if range.len() == 1 {
            self.refused.push((range.start, error));
            return;
        }
        let mid = range.start + range.len() / 2;
        self.todo.push(mid..range.end);
        self.todo.push(range.start..mid);
    }

    /// Rows still unwritten when the write of `failed` failed for good.
    pub fn unwritten(&self, failed: &Range<usize>) -> usize {
        failed.len() + self.todo.iter().map(|r| r.len()).sum::<usize>()
    }

    /// Each refused row's index, in order, with the database's reason.
    pub fn into_refused(self) -> Vec<(usize, StoreError)> {
        self.refused
    }
}

/// Log a row the database refused: `what` it was (`alert`, `delivery`),
/// its template, id and the database's reason. At most 10 lines a minute
/// (a flood of bad rows must not become a flood of logs); each line says
/// how many went unlogged before it. Callers count every row in metrics.
pub(crate) fn log_refused(what: &'static str, template: &str, id: &str, error: &StoreError) {
    static LINES: OnceLock<DefaultDirectRateLimiter> = OnceLock::new();
    static UNLOGGED: AtomicU64 = AtomicU64::new(0);
    let lines = LINES.get_or_init(|| {
        RateLimiter::direct(Quota::per_minute(std::num::NonZeroU32::new(10).expect("10 > 0")))
    });
    if lines.check().is_err() {
        UNLOGGED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    tracing::error!(
        row = what, template, id, error = %error_chain(error),
        unlogged_before = UNLOGGED.swap(0, Ordering::Relaxed),
        "The alert log refused a row; it is left out and the rest of its batch is written."
    );
}

impl StoreError {
    /// Whether the database refused something in the rows themselves, so
    /// that writing the same rows again would fail again.
    pub fn is_refusal(&self) -> bool {
        let StoreError::Query { url, source: sqlx::Error::Database(db), .. } = self else {
            return false;
        };
        let Some(code) = db.code() else { return false };
        match Backend::from_url(url) {
            Ok(Backend::Postgres) => postgres_refusal(&code),
            Ok(Backend::Sqlite) => sqlite_refusal(&code),
            Err(_) => false,
        }
    }
}

/// SQLSTATE classes 22 (data exception: bad encoding, NUL, value too long),
/// 23 (integrity constraint) and 54 (program limit exceeded: `index row
/// size … exceeds btree version 4 maximum 2704`).
fn postgres_refusal(sqlstate: &str) -> bool {
    ["22", "23", "54"].iter().any(|class| sqlstate.starts_with(class))
}

/// sqlx reports SQLite's extended result code; its low byte is the primary
/// code: 18 `TOOBIG`, 19 `CONSTRAINT` (check, not null, trigger `RAISE`),
/// 20 `MISMATCH`. `BUSY`, `LOCKED`, `IOERR`, `FULL` and the rest are not the
/// rows' fault.
fn sqlite_refusal(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 18..=20))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> StoreError {
        StoreError::Decode { url: "sqlite::memory:".into(), column: "status", value: "?".into() }
    }

    /// Drive `split` as a writer does, refusing every range holding a row of
    /// `bad`; returns the rows written, in the order written.
    fn drive(split: &mut Split, bad: &[usize]) -> Vec<usize> {
        let mut written = Vec::new();
        while let Some(range) = split.next() {
            if bad.iter().any(|b| range.contains(b)) {
                split.refuse(range, refused());
            } else {
                written.extend(range);
            }
        }
        written
    }

    #[test]
    fn refused_rows_are_split_out_and_every_other_row_is_written_once_in_order() {
        let bad = [5, 6, 13];
        let mut split = Split::new(16);
        let written = drive(&mut split, &bad);
        let good: Vec<usize> = (0..16).filter(|i| !bad.contains(i)).collect();
        assert_eq!(written, good);
        let refused: Vec<usize> = split.into_refused().iter().map(|(i, _)| *i).collect();
        assert_eq!(refused, bad);
    }

    #[test]
    fn one_bad_row_costs_about_two_writes_per_halving() {
        let mut split = Split::new(256);
        let mut writes = 0;
        while let Some(range) = split.next() {
            writes += 1;
            if range.contains(&100) {
                split.refuse(range, refused());
            }
        }
        // 9 refused ranges (256 down to 1) and 8 written halves.
        assert_eq!(writes, 17);
    }

    #[test]
    fn unwritten_counts_the_failed_range_and_everything_still_to_write() {
        let mut split = Split::new(16);
        let all = split.next().unwrap();
        split.refuse(all, refused());
        let first = split.next().unwrap();
        assert_eq!(first, 0..8);
        assert_eq!(split.unwritten(&first), 16);
        assert!(Split::new(0).next().is_none());
    }

    #[test]
    fn postgres_classes() {
        for refused in ["54000", "22021", "22001", "23514", "23505"] {
            assert!(postgres_refusal(refused), "{refused}");
        }
        for transient in ["08006", "57P01", "40001", "53100", "42P01"] {
            assert!(!postgres_refusal(transient), "{transient}");
        }
    }

    #[test]
    fn sqlite_codes() {
        // CONSTRAINT_CHECK (275), CONSTRAINT_TRIGGER (1811), TOOBIG.
        for refused in ["275", "1811", "18", "19"] {
            assert!(sqlite_refusal(refused), "{refused}");
        }
        // BUSY, LOCKED, IOERR_WRITE (778), FULL, ERROR (no such table).
        for transient in ["5", "6", "778", "13", "1", "x"] {
            assert!(!sqlite_refusal(transient), "{transient}");
        }
    }
}

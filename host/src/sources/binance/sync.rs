//! The official "manage a local order book" procedure, as a pure state
//! machine per symbol: no sockets, no REST, no clock. The live source and
//! `klaxon replay` drive the same code; they differ only in where the
//! snapshot comes from.
//!
//! States: `Idle` (nothing since the last reset) → `Buffering` (diffs kept,
//! a snapshot wanted) → `Synced` (book = snapshot + every diff since).
//!
//! Spot rules: drop buffered diffs with `u <= lastUpdateId`; the first one
//! applied must have `U <= lastUpdateId + 1 <= u`; afterwards each `U` must
//! be the previous `u + 1`.
//! USD-M rules: drop `u < lastUpdateId`; the first applied must have
//! `U <= lastUpdateId <= u`; afterwards each `pu` must equal the previous `u`.
//!
//! Invariants: a break of the chain never leaves a wrong book behind: the
//! book is discarded, the breaking diff starts a new buffer, and the caller
//! is told to fetch a snapshot ([`Step::Resync`]); a snapshot older than the
//! first buffered diff is refused ([`SnapshotStep::TooOld`]) and the buffer
//! kept for the next one; the buffer is bounded ([`MAX_BUFFERED`]).

use super::book::OrderBook;
use super::depth::{DepthDiff, DepthSnapshot};

/// Diffs kept per symbol while a snapshot is on its way; past this the
/// buffer restarts (a snapshot that slow would be too old anyway).
pub const MAX_BUFFERED: usize = 10_000;

/// Which sequencing rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    Spot,
    UsdM,
}

/// Why a book was thrown away (the `reason` label of
/// `klaxon_source_book_resyncs_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncReason {
    /// A diff starts after the id the book needs next (spot: `U` is not the
    /// previous `u + 1`; either market: the first diff after the snapshot
    /// does not cover it).
    Gap,
    /// USD-M: a diff's `pu` was not the previous `u`.
    PuMismatch,
    /// The snapshot predates the first buffered diff; fetch another.
    SnapshotTooOld,
    /// More than [`MAX_BUFFERED`] diffs waited for a snapshot.
    BufferOverflow,
    /// The connection was replaced; the stream may have missed diffs.
    Reconnect,
}

impl ResyncReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ResyncReason::Gap => "gap",
            ResyncReason::PuMismatch => "pu_mismatch",
            ResyncReason::SnapshotTooOld => "snapshot_too_old",
            ResyncReason::BufferOverflow => "buffer_overflow",
            ResyncReason::Reconnect => "reconnect",
        }
    }
}

/// What a diff did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Kept until a snapshot arrives; `fetch` = request one now (the first
    /// diff of a new buffer).
    Buffered { fetch: bool },
    /// Applied to the synced book.
    Applied,
    /// Older than the book; dropped.
    Stale,
    /// The chain broke: book discarded, this diff starts a new buffer; fetch
    /// a snapshot.
    Resync(ResyncReason),
}

/// What a snapshot did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotStep {
    /// The book is synced; `applied` buffered diffs were applied on top, in order.
    Synced { applied: Vec<DepthDiff> },
    /// Older than the first buffered diff: fetch again (buffer kept).
    TooOld,
    /// Buffered diffs broke the chain after the snapshot: a new buffer starts
    /// with the breaking diff; fetch again. `applied` were applied before it.
    Resync { reason: ResyncReason, applied: Vec<DepthDiff> },
    /// No snapshot was wanted (not buffering); ignored.
    Unexpected,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Idle,
    Buffering(Vec<DepthDiff>),
    Synced { book: OrderBook, first_pending: bool },
}

/// One symbol's sync state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookSync {
    rules: Rules,
    state: State,
}

impl BookSync {
    pub fn new(rules: Rules) -> BookSync {
        BookSync { rules, state: State::Idle }
    }

    /// The book, once synced.
    pub fn book(&self) -> Option<&OrderBook> {
        match &self.state {
            State::Synced { book, .. } => Some(book),
            _ => None,
        }
    }

    /// Waiting for a snapshot.
    pub fn is_buffering(&self) -> bool {
        matches!(self.state, State::Buffering(_))
    }

    /// Forget everything (connection replaced). Returns whether there was
    /// anything to lose, i.e. whether this counts as a resync.
    pub fn reset(&mut self) -> bool {
        let had = !matches!(self.state, State::Idle);
        self.state = State::Idle;
        had
    }

    pub fn on_diff(&mut self, diff: DepthDiff) -> Step {
        match &mut self.state {
            State::Idle => {
                self.state = State::Buffering(vec![diff]);
                Step::Buffered { fetch: true }
            }
            State::Buffering(buffer) => {
                if buffer.len() >= MAX_BUFFERED {
                    self.state = State::Buffering(vec![diff]);
                    return Step::Resync(ResyncReason::BufferOverflow);
                }
                buffer.push(diff);
                Step::Buffered { fetch: false }
            }
            State::Synced { book, first_pending } => {
                match check(self.rules, book.last_update_id(), *first_pending, &diff) {
                    Check::Stale => Step::Stale,
                    Check::Apply => {
                        book.apply(&diff);
                        *first_pending = false;
                        Step::Applied
                    }
                    Check::Break(reason) => {
                        self.state = State::Buffering(vec![diff]);
                        Step::Resync(reason)
                    }
                }
            }
        }
    }

    pub fn on_snapshot(&mut self, snapshot: &DepthSnapshot) -> SnapshotStep {
        let State::Buffering(buffer) = &mut self.state else { return SnapshotStep::Unexpected };
        let last = snapshot.last_update_id;
        let stale = |d: &DepthDiff| match self.rules {
            Rules::Spot => d.last_id <= last,
            Rules::UsdM => d.last_id < last,
        };
        let first_live = buffer.iter().position(|d| !stale(d)).unwrap_or(buffer.len());
        if let Some(first) = buffer.get(first_live) {
            let too_old = match self.rules {
                Rules::Spot => first.first_id > last + 1,
                Rules::UsdM => first.first_id > last,
            };
            if too_old {
                return SnapshotStep::TooOld;
            }
        }
        let pending: Vec<DepthDiff> = buffer.drain(first_live..).collect();
        self.state =
            State::Synced { book: OrderBook::from_snapshot(snapshot), first_pending: true };
        let mut applied = Vec::with_capacity(pending.len());
        let mut pending = pending.into_iter();
        while let Some(diff) = pending.next() {
            match self.on_diff(diff.clone()) {
                Step::Applied => applied.push(diff),
                Step::Stale => {}
                Step::Resync(reason) => {
                    // The breaking diff already started the new buffer; the
                    // rest follow it.
                    if let State::Buffering(buffer) = &mut self.state {
                        buffer.extend(pending);
                    }
                    return SnapshotStep::Resync { reason, applied };
                }
                Step::Buffered { .. } => unreachable!("a synced book never buffers"),
            }
        }
        SnapshotStep::Synced { applied }
    }
}

enum Check {
    Apply,
    Stale,
    Break(ResyncReason),
}

/// Whether `diff` continues a book at update id `last`.
fn check(rules: Rules, last: u64, first_pending: bool, diff: &DepthDiff) -> Check {
    match rules {
        Rules::Spot => {
            if diff.last_id <= last {
                Check::Stale
            } else if (first_pending && diff.first_id <= last + 1) || diff.first_id == last + 1 {
                Check::Apply
            } else {
                Check::Break(ResyncReason::Gap)
            }
        }
        Rules::UsdM if first_pending => {
            if diff.last_id < last {
                Check::Stale
            } else if diff.first_id <= last {
                Check::Apply
            } else {
                Check::Break(ResyncReason::Gap)
            }
        }
        Rules::UsdM => {
            if diff.last_id <= last {
                // A replayed event (e.g. overlap after a reconnect), not a break.
                Check::Stale
            } else if diff.prev_last_id == Some(last) {
                Check::Apply
            } else {
                Check::Break(ResyncReason::PuMismatch)
            }
        }
    }
}

#[cfg(test)]
#[path = "sync_tests.rs"]
mod tests;

//! Order books in `klaxon replay`, from REST depth snapshots recorded next
//! to the frames: for `X.ndjson`, a directory `X.snapshots/` holding
//! `<SYMBOL>.json` (found by [`snapshot_dir_for`]), or one given explicitly.
//!
//! The diffs go through exactly the live source's sync code ([`DepthBooks`]);
//! only the snapshot's origin differs. A recording holds one snapshot per
//! symbol, so a snapshot is used once: if the book ever needs another (too
//! old, or a gap in the recording) the symbol is dropped with a warning and
//! a counted resync, rather than pretending to be synced.
//!
//! Symbols with a snapshot get their book tops from the book; their
//! `bookTicker` frames are ignored ([`RecordedBooks::tracks`]), as live.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::book::OrderBook;
use super::books::{DepthBooks, Outcome};
use super::depth::{self, DepthDiff, Level};
use super::message::Message;
use super::sync::Rules;
use crate::event::{Event, Sym};
use crate::sources::frame::{Ignored, ParseError, Parsed};
use crate::telemetry::metrics;

/// One synced order book at the end of a replay.
#[derive(Debug, Clone, PartialEq)]
pub struct BookView {
    pub symbol: String,
    pub last_update_id: u64,
    /// Every level, best first.
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

impl BookView {
    fn of(symbol: &str, book: &OrderBook) -> BookView {
        BookView {
            symbol: symbol.to_owned(),
            last_update_id: book.last_update_id(),
            bids: book.bids(usize::MAX),
            asks: book.asks(usize::MAX),
        }
    }
}

/// `X.snapshots/` next to `X.ndjson`. Tries the name without its last
/// extension first, then with each further one stripped, so the fixture
/// layout `spot.combined.ndjson` + `spot.snapshots/` is found too.
pub fn snapshot_dir_for(file: &Path) -> Option<PathBuf> {
    let parent = file.parent().unwrap_or(Path::new(""));
    let mut stem = file.file_name()?.to_str()?;
    while let Some((shorter, _ext)) = stem.rsplit_once('.') {
        let dir = parent.join(format!("{shorter}.snapshots"));
        if dir.is_dir() {
            return Some(dir);
        }
        stem = shorter;
    }
    None
}

pub struct RecordedBooks {
    dir: PathBuf,
    /// `source` label for the resync counter.
    source: String,
    books: DepthBooks,
    /// Symbols whose snapshot was already applied.
    used: HashSet<String>,
    /// Symbols given up on (no usable snapshot); their diffs are ignored.
    dropped: HashSet<String>,
    /// Whether `<SYMBOL>.json` exists, looked up once per symbol.
    present: HashMap<String, bool>,
}

impl RecordedBooks {
    pub fn new(dir: PathBuf, rules: Rules, venue: Sym, source: &str) -> RecordedBooks {
        RecordedBooks {
            dir,
            source: source.to_owned(),
            books: DepthBooks::new(rules, venue),
            used: HashSet::new(),
            dropped: HashSet::new(),
            present: HashMap::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether `symbol` has a recorded snapshot still in use.
    pub fn tracks(&mut self, symbol: &str) -> bool {
        if self.dropped.contains(symbol) {
            return false;
        }
        if let Some(&present) = self.present.get(symbol) {
            return present;
        }
        let present = self.snapshot_path(symbol).is_some_and(|p| p.is_file());
        self.present.insert(symbol.to_owned(), present);
        present
    }

    /// Feed one diff; `None` if its symbol has no snapshot (the diff is just
    /// ignored, as without snapshots).
    pub fn on_diff(&mut self, diff: DepthDiff) -> Option<Vec<Event>> {
        let symbol = diff.symbol.clone();
        if !self.tracks(&symbol) {
            return None;
        }
        let outcome = self.books.on_diff(diff);
        Some(self.settle(&symbol, outcome))
    }

    /// Synced books by symbol.
    pub fn synced(&self) -> BTreeMap<&str, &OrderBook> {
        self.books.synced()
    }

    /// The synced books, every level, in symbol order.
    pub fn views(&self) -> Vec<BookView> {
        self.synced().into_iter().map(|(symbol, book)| BookView::of(symbol, book)).collect()
    }

    /// A replayed Binance frame: a depth diff, or a `bookTicker` of a symbol
    /// whose book is kept (ignored); `None` leaves it to the parser.
    pub fn message(&mut self, message: &Message<'_>) -> Option<Result<Parsed, ParseError>> {
        match message {
            Message::Depth(payload) => {
                Some(depth::parse_diff(payload).map(|diff| match self.on_diff(diff) {
                    Some(events) => Parsed::Events(events),
                    None => Parsed::Ignored(Ignored::Unhandled),
                }))
            }
            Message::BookTicker(m) => {
                self.tracks(&m.symbol).then_some(Ok(Parsed::Ignored(Ignored::Unhandled)))
            }
            _ => None,
        }
    }

    /// Count a resync, serve the snapshot if one is wanted, collect the tops.
    fn settle(&mut self, symbol: &str, outcome: Outcome) -> Vec<Event> {
        let mut events = outcome.events;
        if let Some(reason) = outcome.resync {
            metrics()
                .source_book_resyncs
                .with_label_values(&[self.source.as_str(), reason.as_str()])
                .inc();
            tracing::warn!(
                symbol,
                reason = reason.as_str(),
                "Replayed order book broke its sequence."
            );
        }
        if !outcome.fetch {
            return events;
        }
        if self.used.contains(symbol) {
            self.drop_symbol(symbol, "the recording has no newer snapshot");
            return events;
        }
        self.used.insert(symbol.to_owned());
        let Some(path) = self.snapshot_path(symbol) else { return events };
        let snapshot = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| depth::parse_snapshot_text(&t).map_err(|e| e.to_string()))
        {
            Ok(snapshot) => snapshot,
            Err(error) => {
                self.drop_symbol(symbol, &format!("{}: {error}", path.display()));
                return events;
            }
        };
        let after = self.books.on_snapshot(symbol, &snapshot);
        events.extend(after.events);
        if let Some(reason) = after.resync {
            metrics()
                .source_book_resyncs
                .with_label_values(&[self.source.as_str(), reason.as_str()])
                .inc();
            self.drop_symbol(symbol, reason.as_str());
        }
        events
    }

    fn drop_symbol(&mut self, symbol: &str, why: &str) {
        tracing::warn!(
            symbol,
            why,
            "Replay cannot keep this order book; its depth diffs are ignored from here."
        );
        self.books.remove(symbol);
        self.dropped.insert(symbol.to_owned());
    }

    /// `<dir>/<SYMBOL>.json`, refusing names that could leave the directory.
    fn snapshot_path(&self, symbol: &str) -> Option<PathBuf> {
        let safe =
            !symbol.is_empty() && symbol.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        safe.then(|| self.dir.join(format!("{symbol}.json")))
    }
}

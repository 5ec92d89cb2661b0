//! Replay: recorded frames from NDJSON files, through the live parsers.
//!
//! Each non-blank line is one venue frame, its protocol detected per line
//! (or forced with `format`), parsed by exactly the code the live sources use.
//! Files are read in order, streamed (never loaded whole), and events are
//! sent with backpressure: the replay waits for the pipeline, never drops.
//!
//! Invariants:
//! * a malformed line (bad UTF-8, bad JSON, unknown shape, bad field) is
//!   counted in `klaxon_source_frames_malformed_total`, logged with
//!   `file:line` and the reason (the first [`MAX_LOGGED_PER_FILE`] per file,
//!   then a count), and skipped; it never aborts the replay. Only an
//!   unreadable file does;
//! * exchange times are never 0 downstream once any frame carried a time:
//!   frames without one (spot `bookTicker`, EVM logs) get the latest
//!   exchange time seen so far in this run, so the simulated clock and the
//!   pacing stay monotone;
//! * `speed = N > 0` paces events so that exchange-time deltas take 1/N of
//!   their real duration, anchored at the first timed event (no drift over
//!   long files); events that go back in time are sent without waiting.
//!
//! Binance order books: when recorded REST depth snapshots sit next to a
//! file (`X.snapshots/<SYMBOL>.json` for `X.ndjson`, or `snapshots = <dir>`),
//! its depth diffs go through the live source's sync procedure
//! ([`binance::recorded`]), spot or USD-M rules (`market`), and synced books
//! yield `BookTop` events; those symbols' `bookTicker` frames are ignored.
//!
//! The pure helpers [`parse_ndjson`] and [`parse_file`] give the same events
//! and counts without tokio (and without books), for tests; [`replay_files`]
//! is the pure equivalent of the whole source, books included.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SourceSummary;
pub use super::binance::recorded::BookView;
use super::binance::recorded::{RecordedBooks, snapshot_dir_for};
use super::binance::sync::Rules;
use super::binance::{BinanceParser, Market};
use super::evm::{EvmParser, PoolConfig, PoolError, PoolRegistry};
use super::frame::{Ignored, ParseError, Parsed};
use super::hyperliquid::HyperliquidParser;
use crate::event::{Event, Sym};
use crate::issue::ConfigIssue;

mod detect;
mod pacer;
mod stream;

pub use detect::{Format, FrameParser, Protocol};

pub(crate) use stream::run;

/// Malformed lines logged one by one per file; the rest are only counted, so
/// a corrupt file cannot flood the log.
pub const MAX_LOGGED_PER_FILE: u64 = 20;

fn default_chain() -> String {
    "ethereum".to_owned()
}

/// `type = "replay"`: recorded frames from NDJSON files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayConfig {
    /// NDJSON files of recorded frames, one frame per line, replayed in
    /// order. Relative paths resolve against the working directory.
    pub files: Vec<PathBuf>,
    /// Protocol of the frames: `auto` (default) detects it per line;
    /// `binance`, `hyperliquid` or `evm` force one.
    #[serde(default)]
    pub format: Format,
    /// Pacing. `0` (default) replays as fast as the pipeline accepts events;
    /// `N` replays at N × real time from exchange-time deltas (`0.5` = half
    /// speed).
    #[serde(default)]
    pub speed: f64,
    /// Venue name for Binance and Hyperliquid events instead of the
    /// protocol's own (`binance`, `hyperliquid`), e.g. `binance-futures` for a
    /// USD-M recording. EVM events use `chain`.
    #[serde(default)]
    pub venue: Option<String>,
    /// EVM chain name: venue of swap events and part of their ids.
    /// Default `ethereum`.
    #[serde(default = "default_chain")]
    pub chain: String,
    /// Pools the EVM parser can price. Swaps in other pools are still
    /// emitted, with the pool address as symbol and no USD notional.
    #[serde(default)]
    pub pools: Vec<PoolConfig>,
    /// Directory of recorded Binance REST depth snapshots (`<SYMBOL>.json`)
    /// for the depth diffs of every file. Default: for each `X.ndjson`, the
    /// directory `X.snapshots/` beside it when there is one.
    #[serde(default)]
    pub snapshots: Option<PathBuf>,
    /// Order-book rules for Binance depth diffs: `spot` or `usdm`. Default:
    /// `usdm` when `venue = "binance-futures"`, else `spot`.
    #[serde(default)]
    pub market: Option<Market>,
}

impl ReplayConfig {
    /// Defaults for everything but the files.
    pub fn new(files: Vec<PathBuf>) -> ReplayConfig {
        ReplayConfig {
            files,
            format: Format::Auto,
            speed: 0.0,
            venue: None,
            chain: default_chain(),
            pools: Vec::new(),
            snapshots: None,
            market: None,
        }
    }

    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if self.files.is_empty() {
            issues.push(ConfigIssue::new(format!("{path}.files"), "must list at least one file"));
        }
        for (i, file) in self.files.iter().enumerate() {
            if !file.exists() {
                issues.push(ConfigIssue::new(
                    format!("{path}.files.{i}"),
                    format!("file `{}` does not exist", file.display()),
                ));
            } else if file.is_dir() {
                issues.push(ConfigIssue::new(
                    format!("{path}.files.{i}"),
                    format!("`{}` is a directory", file.display()),
                ));
            }
        }
        if !(self.speed.is_finite() && self.speed >= 0.0) {
            issues.push(ConfigIssue::new(
                format!("{path}.speed"),
                "must be a finite number, 0 or greater",
            ));
        }
        if self.venue.as_deref().is_some_and(|v| v.trim().is_empty()) {
            issues.push(ConfigIssue::new(format!("{path}.venue"), "must not be empty"));
        }
        if let Some(dir) = &self.snapshots
            && !dir.is_dir()
        {
            issues.push(ConfigIssue::new(
                format!("{path}.snapshots"),
                format!("`{}` is not a directory", dir.display()),
            ));
        }
        if self.chain.trim().is_empty() {
            issues.push(ConfigIssue::new(format!("{path}.chain"), "must not be empty"));
        }
        for (i, pool) in self.pools.iter().enumerate() {
            issues.extend(pool.validate(&format!("{path}.pools.{i}")));
            let first =
                self.pools.iter().position(|p| p.address.eq_ignore_ascii_case(&pool.address));
            if let Some(first) = first.filter(|&first| first < i) {
                issues.push(ConfigIssue::new(
                    format!("{path}.pools.{i}.address"),
                    format!("duplicates `pools.{first}`"),
                ));
            }
        }
        issues
    }

    /// Sequencing rules for replayed Binance depth diffs.
    pub fn book_rules(&self) -> Rules {
        match self.market {
            Some(market) => market.rules(),
            None if self.venue.as_deref() == Some("binance-futures") => Rules::UsdM,
            None => Rules::Spot,
        }
    }

    /// Where `file`'s depth snapshots are, if anywhere (and if Binance
    /// frames can be in it at all).
    fn snapshot_dir(&self, file: &Path) -> Option<PathBuf> {
        if !matches!(self.format, Format::Auto | Format::Binance) {
            return None;
        }
        self.snapshots.clone().or_else(|| snapshot_dir_for(file))
    }

    /// Point `lines` at `file`'s snapshots, keeping the books when the
    /// directory is the same as the previous file's.
    fn books_for(&self, file: &Path, lines: &mut Lines<'_>, source: &str) {
        let dir = self.snapshot_dir(file);
        if lines.books.as_ref().map(|b| b.dir()) == dir.as_deref() {
            return;
        }
        lines.books = dir.map(|dir| {
            tracing::info!(file = %file.display(), snapshots = %dir.display(), "Replaying Binance depth with recorded snapshots.");
            let venue = Sym::new(self.venue.as_deref().unwrap_or("binance"));
            RecordedBooks::new(dir, self.book_rules(), venue, source)
        });
    }

    /// The frame parser this config describes.
    pub fn parser(&self) -> Result<FrameParser, PoolError> {
        let binance = BinanceParser::new(self.venue.as_deref().unwrap_or("binance"));
        let hyperliquid = HyperliquidParser::new(self.venue.as_deref().unwrap_or("hyperliquid"));
        let evm = EvmParser::new(&self.chain, PoolRegistry::new(&self.pools)?);
        Ok(FrameParser::new(self.format, binance, hyperliquid, evm))
    }
}

/// A replay that could not go on, or (for logs and [`ParsedFile::errors`]) a
/// line that was skipped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{}: cannot read: {error}", path.display())]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{}:{line}: {fault}", path.display())]
    Line { path: PathBuf, line: u64, fault: LineFault },
    #[error("{0}")]
    Pool(#[from] PoolError),
}

/// What was wrong with one line.
#[derive(Debug, thiserror::Error)]
pub enum LineFault {
    #[error("not UTF-8")]
    Utf8,
    #[error("{0}")]
    Parse(#[from] ParseError),
}

/// One line's outcome.
enum Line {
    Blank,
    Events(Vec<Event>),
    Ignored,
    /// `venue` is the protocol the line was attributed to, or `unknown`.
    Malformed {
        venue: &'static str,
        fault: LineFault,
    },
}

/// Lines → outcomes, updating the summary. Shared by the async source and the
/// pure helpers so both count the same way.
struct Lines<'p> {
    parser: &'p FrameParser,
    /// Latest exchange time seen in this run; fills frames that carry none.
    latest_ms: u64,
    /// Order books of the current file, when it has recorded snapshots.
    books: Option<RecordedBooks>,
}

impl Lines<'_> {
    fn read(&mut self, raw: &[u8], summary: &mut SourceSummary) -> Line {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(text) = std::str::from_utf8(raw) else {
            summary.frames += 1;
            summary.malformed += 1;
            return Line::Malformed { venue: "unknown", fault: LineFault::Utf8 };
        };
        if text.trim().is_empty() {
            return Line::Blank;
        }
        summary.frames += 1;
        let parsed = self.parser.parse_with_books(text, self.books.as_mut());
        match parsed {
            Ok((_, Parsed::Events(mut events))) => {
                for e in &mut events {
                    if e.exchange_time_ms == 0 {
                        e.exchange_time_ms = self.latest_ms;
                    } else {
                        self.latest_ms = self.latest_ms.max(e.exchange_time_ms);
                    }
                }
                Line::Events(events)
            }
            Ok((_, Parsed::Ignored(why))) => {
                summary.ignored += 1;
                if why == Ignored::RemovedLog {
                    summary.removed_logs += 1;
                }
                Line::Ignored
            }
            Err(error) => {
                summary.malformed += 1;
                Line::Malformed {
                    venue: error.venue().unwrap_or("unknown"),
                    fault: LineFault::Parse(error),
                }
            }
        }
    }

    /// Every line of one file's bytes, collecting events and one error per
    /// malformed line (numbered from 1); `path` only labels errors.
    fn read_all(&mut self, bytes: &[u8], path: &Path, out: &mut ParsedFile) {
        for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            match self.read(raw, &mut out.summary) {
                Line::Blank | Line::Ignored => {}
                Line::Events(events) => out.events.extend(events),
                Line::Malformed { fault, .. } => {
                    out.errors.push(ReplayError::Line {
                        path: path.to_owned(),
                        line: i as u64 + 1,
                        fault,
                    });
                }
            }
        }
    }
}

/// Everything replaying one file would emit, computed without tokio.
#[derive(Debug, Default)]
pub struct ParsedFile {
    pub events: Vec<Event>,
    pub summary: SourceSummary,
    /// One [`ReplayError::Line`] per malformed line, in file order.
    pub errors: Vec<ReplayError>,
}

/// Parse NDJSON text; `path` only labels errors.
pub fn parse_ndjson(bytes: &[u8], path: &Path, parser: &FrameParser) -> ParsedFile {
    let mut lines = Lines { parser, latest_ms: 0, books: None };
    let mut out = ParsedFile::default();
    lines.read_all(bytes, path, &mut out);
    out.summary.events = out.events.len() as u64;
    out
}

/// Read and parse a whole file (see [`parse_ndjson`]).
pub fn parse_file(path: &Path, parser: &FrameParser) -> Result<ParsedFile, ReplayError> {
    let bytes =
        std::fs::read(path).map_err(|error| ReplayError::Read { path: path.to_owned(), error })?;
    Ok(parse_ndjson(&bytes, path, parser))
}

/// What [`replay_files`] computed.
#[derive(Debug, Default)]
pub struct Replayed {
    pub events: Vec<Event>,
    pub summary: SourceSummary,
    pub errors: Vec<ReplayError>,
    /// Synced books at the end of each snapshot directory's files, by symbol.
    pub books: Vec<BookView>,
}

/// The whole replay source without tokio: every file of `config` in order,
/// with order books from recorded snapshots, as `klaxon replay` runs it.
pub fn replay_files(config: &ReplayConfig) -> Result<Replayed, ReplayError> {
    let parser = config.parser()?;
    let mut lines = Lines { parser: &parser, latest_ms: 0, books: None };
    let mut parsed = ParsedFile::default();
    let mut books: Vec<BookView> = Vec::new();
    for path in &config.files {
        config.books_for(path, &mut lines, "replay");
        let bytes = std::fs::read(path)
            .map_err(|error| ReplayError::Read { path: path.to_owned(), error })?;
        lines.read_all(&bytes, path, &mut parsed);
        if let Some(synced) = &lines.books {
            books.retain(|b| !synced.synced().contains_key(b.symbol.as_str()));
            books.extend(synced.views());
        }
    }
    books.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    parsed.summary.events = parsed.events.len() as u64;
    Ok(Replayed { events: parsed.events, summary: parsed.summary, errors: parsed.errors, books })
}

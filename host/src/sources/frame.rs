//! Raw frames: which venue protocol a frame belongs to, and what parsing it yields.
//!
//! Every parser in `sources/` is pure: text in, [`Parsed`] or [`ParseError`]
//! out, no I/O and no clocks, so replay, the live sockets (a later issue) and
//! tests share exactly the same code. This module owns the pieces they have in
//! common: the outcome of one frame ([`Parsed`], [`Ignored`]), the error
//! enum, and the [`VenueParser`] entry points. Telling venues apart by a
//! frame's shape is replay's business (`replay/detect.rs`): a live source
//! knows its venue, so no venue parser depends on the others.
//!
//! Invariants:
//! * a parser never panics on any input (property-tested in `tests/props.rs`);
//! * a frame the venue legitimately sends but that carries no market event
//!   (acks, pongs, depth diffs, snapshots, reorged logs…) is `Ignored`, never an
//!   error, so the malformed counter only moves for frames we truly cannot read;
//! * an exchange time of `0` means "the venue did not say" (spot `bookTicker`,
//!   EVM logs); whoever owns the clock (replay, the live source) fills it in.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::event::Event;

/// What one frame turned into.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// Market data. May be empty (e.g. a Hyperliquid `trades` frame with `[]`).
    Events(Vec<Event>),
    /// A well-formed frame that carries no event for us.
    Ignored(Ignored),
}

impl Parsed {
    pub fn into_events(self) -> Vec<Event> {
        match self {
            Parsed::Events(events) => events,
            Parsed::Ignored(_) => Vec::new(),
        }
    }
}

/// Why a well-formed frame produced no events. Bounded, so usable as a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ignored {
    /// Talks about the connection, not the market: subscription acks, pongs,
    /// venue error replies, `serverShutdown`, Hyperliquid's greeting text.
    Control,
    /// Market data we do not turn into events: depth diffs and partial books,
    /// klines, mark price, tickers, asset contexts, funding, order updates.
    Unhandled,
    /// A Hyperliquid snapshot (`isSnapshot` truthy): history replayed on
    /// subscribe, never alerted on.
    Snapshot,
    /// A Binance futures trade whose `X` is not `MARKET` (ADL, insurance fund).
    NonMarketTrade,
    /// A book top with an empty side: no mid price, so no event.
    OneSidedBook,
    /// An EVM log retracted by a reorg (`removed: true`); retraction of alerts
    /// is a later issue, for now they are only counted.
    RemovedLog,
    /// An EVM log that is not a swap we decode (Sync, Transfer, Approval…).
    OtherLog,
    /// A swap that moved no base token, so it has no price.
    EmptySwap,
}

impl Ignored {
    pub fn as_str(self) -> &'static str {
        match self {
            Ignored::Control => "control",
            Ignored::Unhandled => "unhandled",
            Ignored::Snapshot => "snapshot",
            Ignored::NonMarketTrade => "non_market_trade",
            Ignored::OneSidedBook => "one_sided_book",
            Ignored::RemovedLog => "removed_log",
            Ignored::OtherLog => "other_log",
            Ignored::EmptySwap => "empty_swap",
        }
    }
}

/// A frame we could not read. Each variant names the venue protocol and, where
/// known, the message kind and the field.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("frame matches no known venue protocol")]
    UnknownProtocol,
    #[error("{venue}: unrecognized frame: {what}")]
    Unrecognized { venue: &'static str, what: String },
    /// Missing or mistyped fields, as reported by serde (which names the field).
    #[error("{venue} `{kind}`: {error}")]
    Shape { venue: &'static str, kind: &'static str, error: serde_json::Error },
    #[error("{venue} `{kind}`: field `{field}`: {reason}")]
    Field { venue: &'static str, kind: &'static str, field: &'static str, reason: String },
}

impl ParseError {
    /// The protocol the frame was attributed to, if it got that far.
    pub fn venue(&self) -> Option<&'static str> {
        match self {
            ParseError::Json(_) | ParseError::UnknownProtocol => None,
            ParseError::Unrecognized { venue, .. }
            | ParseError::Shape { venue, .. }
            | ParseError::Field { venue, .. } => Some(venue),
        }
    }
}

/// A venue's pure frame parser: text in, typed structs borrowed from the text
/// (never a `serde_json::Value` tree), events out.
pub trait VenueParser {
    /// One frame → events or the reason it carries none.
    fn parse_frame(&self, frame: &str) -> Result<Parsed, ParseError>;

    /// One frame → its events (ignored frames give none).
    fn parse(&self, frame: &str) -> Result<Vec<Event>, ParseError> {
        self.parse_frame(frame).map(Parsed::into_events)
    }
}

/// Decode a typed message straight from its JSON text, borrowing its strings;
/// serde's error names the missing or mistyped field.
pub(crate) fn typed<'a, T: Deserialize<'a>>(
    text: &'a str,
    venue: &'static str,
    kind: &'static str,
) -> Result<T, ParseError> {
    serde_json::from_str(text).map_err(|error| ParseError::Shape { venue, kind, error })
}

/// Parse a decimal string field. Venues send prices and sizes as strings so
/// they stay exact; this keeps them exact.
pub(crate) fn decimal(
    text: &str,
    venue: &'static str,
    kind: &'static str,
    field: &'static str,
) -> Result<Decimal, ParseError> {
    Decimal::from_str(text).map_err(|e| ParseError::Field {
        venue,
        kind,
        field,
        reason: format!("`{}` is not a decimal: {e}", truncate(text)),
    })
}

/// Keep error messages (and logs) bounded when a field holds garbage.
pub(crate) fn truncate(text: &str) -> &str {
    match text.char_indices().nth(40) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_is_char_safe() {
        let long = "é".repeat(100);
        assert_eq!(truncate(&long).chars().count(), 40);
        assert_eq!(truncate("short"), "short");
    }
}

//! Raw frames: which venue protocol a frame belongs to, and what parsing it yields.
//!
//! Every parser in `sources/` is pure: text in, [`Parsed`] or [`ParseError`]
//! out, no I/O and no clocks, so replay, the live sockets (a later issue) and
//! tests share exactly the same code. This module owns the pieces they have in
//! common: protocol detection by shape ([`detect`]), the outcome of one frame
//! ([`Parsed`], [`Ignored`]), the error enum, and [`FrameParser`], which routes
//! a frame to the right venue parser (auto-detected per frame, or forced).
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
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::binance::BinanceParser;
use super::evm::EvmParser;
use super::hyperliquid::{self, HyperliquidParser};
use crate::event::Event;

/// A venue wire protocol we can parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Binance spot and USD-M futures market streams, raw or combined.
    Binance,
    /// Hyperliquid `{"channel":..,"data":..}` frames.
    Hyperliquid,
    /// JSON-RPC `eth_subscription` log notifications (any EVM chain).
    Evm,
}

impl Protocol {
    /// Bounded label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Binance => "binance",
            Protocol::Hyperliquid => "hyperliquid",
            Protocol::Evm => "evm",
        }
    }
}

/// How a stream of frames is to be read: detected per frame, or forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Detect the protocol of every frame from its shape (see [`detect`]).
    #[default]
    Auto,
    Binance,
    Hyperliquid,
    Evm,
}

/// Which protocol a decoded frame belongs to, judged from its shape alone.
///
/// `method == "eth_subscription"` or a `jsonrpc` key (subscription acks) or a
/// bare log (`topics` + `address`) → EVM; `channel` → Hyperliquid; `stream`,
/// `e`, or Binance's control/bookTicker/partial-depth shapes → Binance. Order
/// matters: a JSON-RPC ack has `result` and `id` like a Binance ack, so the
/// `jsonrpc` check runs first.
pub fn detect(frame: &Value) -> Option<Protocol> {
    let obj = frame.as_object()?;
    if obj.get("method").and_then(Value::as_str) == Some("eth_subscription")
        || obj.contains_key("jsonrpc")
        || (obj.contains_key("topics") && obj.contains_key("address"))
    {
        return Some(Protocol::Evm);
    }
    if obj.contains_key("channel") {
        return Some(Protocol::Hyperliquid);
    }
    let binance_shape = obj.contains_key("stream")
        || obj.contains_key("e")
        || (obj.contains_key("result") && obj.contains_key("id"))
        || (obj.contains_key("code") && obj.contains_key("msg"))
        || obj.contains_key("lastUpdateId")
        || ["u", "s", "b", "a"].iter().all(|k| obj.contains_key(*k));
    binance_shape.then_some(Protocol::Binance)
}

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

/// A venue's pure frame parser. Each venue implements only `parse_value`;
/// the text entry points follow from it.
pub trait VenueParser {
    /// One already-decoded frame → events or the reason it carries none.
    fn parse_value(&self, value: &Value) -> Result<Parsed, ParseError>;

    /// One frame → events or the reason it carries none.
    fn parse_frame(&self, frame: &str) -> Result<Parsed, ParseError> {
        let value: Value = serde_json::from_str(frame).map_err(ParseError::Json)?;
        self.parse_value(&value)
    }

    /// One frame → its events (ignored frames give none).
    fn parse(&self, frame: &str) -> Result<Vec<Event>, ParseError> {
        self.parse_frame(frame).map(Parsed::into_events)
    }
}

/// Decode a typed message out of an already-parsed JSON value; serde's error
/// names the missing or mistyped field.
pub(crate) fn typed<'a, T: Deserialize<'a>>(
    value: &'a Value,
    venue: &'static str,
    kind: &'static str,
) -> Result<T, ParseError> {
    T::deserialize(value).map_err(|error| ParseError::Shape { venue, kind, error })
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

/// Routes frames to the venue parsers, detecting the protocol per frame
/// unless a [`Format`] is forced. Cheap to share: it only holds names and the
/// EVM pool registry.
#[derive(Debug, Clone, Default)]
pub struct FrameParser {
    format: Format,
    binance: BinanceParser,
    hyperliquid: HyperliquidParser,
    evm: EvmParser,
}

impl FrameParser {
    pub fn new(
        format: Format,
        binance: BinanceParser,
        hyperliquid: HyperliquidParser,
        evm: EvmParser,
    ) -> FrameParser {
        FrameParser { format, binance, hyperliquid, evm }
    }

    /// Parse one frame. Returns the protocol it was read as (for metrics
    /// labels) or the error; the error's [`ParseError::venue`] says how far
    /// attribution got.
    pub fn parse(&self, frame: &str) -> Result<(Protocol, Parsed), ParseError> {
        let value: Value = match serde_json::from_str(frame) {
            Ok(value) => value,
            // Hyperliquid's legacy non-JSON greeting must not count as malformed.
            Err(_)
                if matches!(self.format, Format::Auto | Format::Hyperliquid)
                    && hyperliquid::is_greeting(frame) =>
            {
                return Ok((Protocol::Hyperliquid, Parsed::Ignored(Ignored::Control)));
            }
            Err(e) => return Err(ParseError::Json(e)),
        };
        let protocol = match self.format {
            Format::Auto => detect(&value).ok_or(ParseError::UnknownProtocol)?,
            Format::Binance => Protocol::Binance,
            Format::Hyperliquid => Protocol::Hyperliquid,
            Format::Evm => Protocol::Evm,
        };
        let parsed = match protocol {
            Protocol::Binance => self.binance.parse_value(&value)?,
            Protocol::Hyperliquid => self.hyperliquid.parse_value(&value)?,
            Protocol::Evm => self.evm.parse_value(&value)?,
        };
        Ok((protocol, parsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect_str(s: &str) -> Option<Protocol> {
        detect(&serde_json::from_str(s).unwrap())
    }

    #[test]
    fn detects_each_protocol_by_shape() {
        assert_eq!(detect_str(r#"{"stream":"x@trade","data":{}}"#), Some(Protocol::Binance));
        assert_eq!(detect_str(r#"{"e":"aggTrade"}"#), Some(Protocol::Binance));
        assert_eq!(
            detect_str(r#"{"u":1,"s":"X","b":"1","B":"1","a":"2","A":"1"}"#),
            Some(Protocol::Binance)
        );
        assert_eq!(detect_str(r#"{"result":null,"id":1}"#), Some(Protocol::Binance));
        assert_eq!(detect_str(r#"{"channel":"pong"}"#), Some(Protocol::Hyperliquid));
        assert_eq!(
            detect_str(r#"{"jsonrpc":"2.0","method":"eth_subscription","params":{}}"#),
            Some(Protocol::Evm)
        );
        assert_eq!(detect_str(r#"{"jsonrpc":"2.0","id":1,"result":"0xcd"}"#), Some(Protocol::Evm));
        assert_eq!(detect_str(r#"{"hello":1}"#), None);
        assert_eq!(detect_str("[1,2]"), None);
    }

    #[test]
    fn auto_parser_reports_garbage_and_greeting_apart() {
        let p = FrameParser::default();
        assert!(matches!(p.parse("{not json"), Err(ParseError::Json(_))));
        assert!(matches!(p.parse(r#"{"x":1}"#), Err(ParseError::UnknownProtocol)));
        assert_eq!(
            p.parse("Websocket connection established.").unwrap(),
            (Protocol::Hyperliquid, Parsed::Ignored(Ignored::Control))
        );
    }

    #[test]
    fn truncate_is_char_safe() {
        let long = "é".repeat(100);
        assert_eq!(truncate(&long).chars().count(), 40);
        assert_eq!(truncate("short"), "short");
    }
}

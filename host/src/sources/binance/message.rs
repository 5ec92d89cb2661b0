//! One Binance frame → a typed [`Message`], without building a JSON tree.
//!
//! Accepts combined-stream frames `{"stream":..,"data":..}` and raw payloads.
//! The frame the live source and recordings mostly send, a combined frame
//! with `stream` first naming a kind we turn into events, is read in one
//! pass (`combined.rs`). Anything else takes the general path: the
//! envelope's top-level keys ([`Shape`], the payload kept as a raw slice),
//! then a typed parse of the payload the stream names, checked against its
//! `e`; raw payloads, acks, untyped shapes and disagreements go through the
//! payload's own [`Shape`] first. All paths give the same result.
//!
//! The kind is decided by `e` when present, else by the stream name, else
//! by shape (acks, error replies, partial depth, spot `bookTicker`, which
//! has no `e`). An unknown `e` or stream type is an error, so a protocol
//! change shows up in the malformed counter.

use std::borrow::Cow;

use serde::Deserialize;

use super::dedup::Seq;
use super::{combined, flat};
use crate::sources::frame::{self, Ignored, ParseError};
use crate::sources::shape::{self, Raw, Shape, is_object, present};

pub(super) const VENUE: &str = "binance";

/// `e` values of streams we subscribe to only for other stages (order books)
/// or never turn into events.
const UNHANDLED_TYPES: &[&str] = &[
    "kline",
    "continuous_kline",
    "markPriceUpdate",
    "indexPriceUpdate",
    "markPrice_kline",
    "indexPrice_kline",
    "24hrTicker",
    "24hrMiniTicker",
    "1hTicker",
    "4hTicker",
    "1dTicker",
    "avgPrice",
    "compositeIndex",
    "contractInfo",
    "assetIndexUpdate",
];

/// Stream-name types (the part after `@`, or after `!`) of the same kind;
/// matched as prefixes so `depth20`, `kline_1m`, `markPrice@1s` all match.
const UNHANDLED_STREAMS: &[&str] = &[
    "depth",
    "kline",
    "continuousKline",
    "markPrice",
    "indexPrice",
    "ticker",
    "miniTicker",
    "avgPrice",
    "compositeIndex",
    "contractInfo",
    "assetIndex",
    "blockTrade",
    "referencePrice",
];

/// A classified frame, borrowing from its text.
// Lives on the stack for one frame; boxing the big variants would cost an
// allocation per frame on the hot path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Message<'a> {
    Trade(TradeMsg<'a>),
    AggTrade(AggTradeMsg<'a>),
    BookTicker(BookTickerMsg<'a>),
    ForceOrder(ForceOrderMsg<'a>),
    /// A `depthUpdate` payload, left as text: only the order books read it.
    Depth(&'a str),
    /// `serverShutdown`: the venue is about to close this connection.
    Shutdown,
    /// Well-formed, but carries nothing for us.
    Ignored(Ignored),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Trade,
    AggTrade,
    BookTicker,
    ForceOrder,
}

impl Kind {
    /// The kind a stream type names, if it is one we turn into events.
    pub(super) fn of_stream(t: &str) -> Option<Kind> {
        match t {
            "trade" => Some(Kind::Trade),
            "aggTrade" => Some(Kind::AggTrade),
            "bookTicker" => Some(Kind::BookTicker),
            "forceOrder" => Some(Kind::ForceOrder),
            _ => None,
        }
    }

    /// `e` as it appears in the frame, quotes included, for the fast check.
    pub(super) fn quoted(self) -> &'static str {
        match self {
            Kind::Trade => "\"trade\"",
            Kind::AggTrade => "\"aggTrade\"",
            Kind::BookTicker => "\"bookTicker\"",
            Kind::ForceOrder => "\"forceOrder\"",
        }
    }
}

impl<'a> Message<'a> {
    /// Classify and read one frame: the hot frames by a scanner made for
    /// them (`flat.rs`), other combined frames of the common shape in one
    /// serde pass (`combined.rs`), anything else the general way.
    pub fn read(frame: &'a str) -> Result<Message<'a>, ParseError> {
        match Message::read_one_pass(frame) {
            Some(message) => Ok(message),
            None => Message::read_general(frame),
        }
    }

    /// The one-pass shortcut alone: `Some` only for a combined frame of the
    /// common shape (`stream` and `data`, nothing else), which is Binance's
    /// whatever else might read it, so replay may take it before detecting.
    pub(crate) fn read_one_pass(frame: &'a str) -> Option<Message<'a>> {
        flat::read(frame).or_else(|| combined::read(frame))
    }

    /// [`Message::read`] without the one-pass shortcut.
    pub(super) fn read_general(frame: &'a str) -> Result<Message<'a>, ParseError> {
        let shape = Shape::of(frame)?.ok_or_else(|| unrecognized("not a JSON object"))?;
        Message::from_shape(frame, &shape)
    }

    /// As [`Message::read`], for a frame whose top-level keys were read
    /// already (replay reads them once to detect the venue).
    pub(crate) fn from_shape(frame: &'a str, shape: &Shape<'a>) -> Result<Message<'a>, ParseError> {
        match (shape.stream, shape.data) {
            (Some(stream), Some(data)) => {
                let stream = shape::string(stream)
                    .ok_or_else(|| field("combined", "stream", "not a string"))?;
                payload(data.get(), Some(stream_type(&stream)))
            }
            _ => classify(frame, shape, None),
        }
    }

    /// (symbol, sequence, id) of a trade, aggTrade or forceOrder, for dedup.
    pub fn sequence(&self) -> Option<(&str, Seq, u64)> {
        match self {
            Message::Trade(m) => Some((&*m.symbol, Seq::Trade, m.trade_id)),
            Message::AggTrade(m) => Some((&*m.symbol, Seq::AggTrade, m.agg_id?)),
            Message::ForceOrder(m) => {
                Some((&*m.order.symbol, Seq::Liquidation, m.order.trade_time?))
            }
            _ => None,
        }
    }

    /// Read `text` as the message `kind` names; serde's error names the field.
    fn typed(kind: Kind, text: &'a str) -> Result<Message<'a>, ParseError> {
        Ok(match kind {
            Kind::Trade => Message::Trade(frame::typed(text, VENUE, "trade")?),
            Kind::AggTrade => Message::AggTrade(frame::typed(text, VENUE, "aggTrade")?),
            Kind::BookTicker => Message::BookTicker(frame::typed(text, VENUE, "bookTicker")?),
            Kind::ForceOrder => Message::ForceOrder(frame::typed(text, VENUE, "forceOrder")?),
        })
    }

    /// The message's own `e`, if it has one.
    pub(super) fn e(&self) -> Raw<'a> {
        match self {
            Message::Trade(m) => m.e,
            Message::AggTrade(m) => m.e,
            Message::BookTicker(m) => m.e,
            Message::ForceOrder(m) => m.e,
            _ => None,
        }
    }
}

/// A combined frame's payload.
fn payload<'a>(text: &'a str, stream_type: Option<&str>) -> Result<Message<'a>, ParseError> {
    if !is_object(text) {
        // `!ticker@arr` and friends push arrays; nothing we handle does.
        return match stream_type {
            Some(t) if is_unhandled_stream(t) => Ok(Message::Ignored(Ignored::Unhandled)),
            _ => Err(unrecognized("payload is not a JSON object")),
        };
    }
    if let Some(kind) = stream_type.and_then(Kind::of_stream) {
        // `e`, when present, decides; a payload that disagrees or does not
        // parse goes the general way, which reports it properly.
        let fast = Message::typed(kind, text).ok();
        if let Some(msg) = fast.filter(|m| m.e().is_none_or(|e| e.get() == kind.quoted())) {
            return Ok(msg);
        }
    }
    let shape = Shape::of(text)?.unwrap_or_default();
    classify(text, &shape, stream_type)
}

/// A payload (`text`, with its top-level keys in `shape`) → its message.
fn classify<'a>(
    text: &'a str,
    shape: &Shape<'a>,
    stream_type: Option<&str>,
) -> Result<Message<'a>, ParseError> {
    let kind = match shape.e {
        Some(e) => match shape::string(e).as_deref() {
            Some("trade") => Kind::Trade,
            Some("aggTrade") => Kind::AggTrade,
            Some("bookTicker") => Kind::BookTicker,
            Some("forceOrder") => Kind::ForceOrder,
            Some("depthUpdate") => return Ok(Message::Depth(text)),
            Some("serverShutdown") => return Ok(Message::Shutdown),
            Some(e) if UNHANDLED_TYPES.contains(&e) => {
                return Ok(Message::Ignored(Ignored::Unhandled));
            }
            Some(e) => return Err(unrecognized(&format!("event type `{}`", frame::truncate(e)))),
            None => return Err(field("payload", "e", "not a string")),
        },
        None => match classify_untyped(shape, stream_type)? {
            Ok(kind) => kind,
            Err(ignored) => return Ok(Message::Ignored(ignored)),
        },
    };
    Message::typed(kind, text)
}

/// A payload without `e`: spot bookTicker, partial depth, acks, error replies.
/// Returns the kind to parse, or why the frame is ignored.
fn classify_untyped(
    shape: &Shape<'_>,
    stream_type: Option<&str>,
) -> Result<Result<Kind, Ignored>, ParseError> {
    if let Some(t) = stream_type {
        return match t {
            "serverShutdown" => Ok(Err(Ignored::Control)),
            t if is_unhandled_stream(t) => Ok(Err(Ignored::Unhandled)),
            t => match Kind::of_stream(t) {
                Some(kind) => Ok(Ok(kind)),
                None => Err(unrecognized(&format!("stream type `{}`", frame::truncate(t)))),
            },
        };
    }
    let s = shape;
    if (s.result.is_some() && s.id.is_some()) || (s.code.is_some() && s.msg.is_some()) {
        Ok(Err(Ignored::Control))
    } else if s.last_update_id.is_some() {
        Ok(Err(Ignored::Unhandled))
    } else if s.u.is_some() && s.s.is_some() && s.b.is_some() && s.a.is_some() {
        Ok(Ok(Kind::BookTicker))
    } else {
        Err(unrecognized("no `e`, no stream name and no known shape"))
    }
}

/// `btcusdt@depth@100ms` → `depth`; `!forceOrder@arr` → `forceOrder`.
pub(super) fn stream_type(stream: &str) -> &str {
    let rest = match stream.strip_prefix('!') {
        Some(rest) => rest,
        None => stream.split_once('@').map_or("", |(_, rest)| rest),
    };
    rest.split('@').next().unwrap_or("")
}

fn is_unhandled_stream(t: &str) -> bool {
    UNHANDLED_STREAMS.iter().any(|p| t.starts_with(p))
}

fn unrecognized(what: &str) -> ParseError {
    ParseError::Unrecognized { venue: VENUE, what: what.to_owned() }
}

pub(super) fn field(kind: &'static str, field: &'static str, reason: &str) -> ParseError {
    ParseError::Field { venue: VENUE, kind, field, reason: reason.to_owned() }
}

// The payloads. Strings are `Cow`: borrowed from the frame unless escaped.

#[derive(Debug, Deserialize)]
pub struct TradeMsg<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    pub(super) e: Raw<'a>,
    #[serde(rename = "s", borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(rename = "t")]
    pub trade_id: u64,
    #[serde(rename = "p", borrow)]
    pub price: Cow<'a, str>,
    #[serde(rename = "q", borrow)]
    pub qty: Cow<'a, str>,
    #[serde(rename = "T")]
    pub trade_time: Option<u64>,
    #[serde(rename = "E")]
    pub event_time: Option<u64>,
    #[serde(rename = "m")]
    pub maker: bool,
    /// Futures only: order type behind the trade.
    #[serde(rename = "X", borrow)]
    pub order_type: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct AggTradeMsg<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    pub(super) e: Raw<'a>,
    #[serde(rename = "s", borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(rename = "a")]
    pub agg_id: Option<u64>,
    #[serde(rename = "f")]
    pub first_id: Option<u64>,
    #[serde(rename = "l")]
    pub last_id: Option<u64>,
    #[serde(rename = "p", borrow)]
    pub price: Cow<'a, str>,
    #[serde(rename = "q", borrow)]
    pub qty: Cow<'a, str>,
    #[serde(rename = "T")]
    pub trade_time: Option<u64>,
    #[serde(rename = "E")]
    pub event_time: Option<u64>,
    #[serde(rename = "m")]
    pub maker: bool,
}

#[derive(Debug, Deserialize)]
pub struct BookTickerMsg<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    pub(super) e: Raw<'a>,
    #[serde(rename = "s", borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(rename = "u")]
    pub update_id: Option<u64>,
    #[serde(rename = "b", borrow)]
    pub bid: Cow<'a, str>,
    #[serde(rename = "a", borrow)]
    pub ask: Cow<'a, str>,
    #[serde(rename = "T")]
    pub trade_time: Option<u64>,
    #[serde(rename = "E")]
    pub event_time: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct ForceOrderMsg<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    pub(super) e: Raw<'a>,
    #[serde(rename = "E")]
    pub event_time: Option<u64>,
    #[serde(rename = "o", borrow)]
    pub order: ForceOrderInner<'a>,
}

#[derive(Debug, Deserialize)]
pub struct ForceOrderInner<'a> {
    #[serde(rename = "s", borrow)]
    pub symbol: Cow<'a, str>,
    #[serde(rename = "S", borrow)]
    pub side: Cow<'a, str>,
    #[serde(rename = "q", borrow)]
    pub qty: Cow<'a, str>,
    #[serde(rename = "p", borrow)]
    pub price: Cow<'a, str>,
    #[serde(rename = "ap", borrow)]
    pub avg_price: Option<Cow<'a, str>>,
    #[serde(rename = "z", borrow)]
    pub filled_qty: Option<Cow<'a, str>>,
    #[serde(rename = "T")]
    pub trade_time: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_types() {
        assert_eq!(stream_type("btcusdt@depth@100ms"), "depth");
        assert_eq!(stream_type("!forceOrder@arr"), "forceOrder");
        assert_eq!(stream_type("nknusdt@kline_1m"), "kline_1m");
        assert_eq!(stream_type("nonsense"), "");
    }

    #[test]
    fn e_decides_over_the_stream_name_on_both_paths() {
        let agg = r#"{"stream":"x@trade","data":{"e":"aggTrade","s":"X","a":1,"p":"1","q":"1","m":true}}"#;
        assert!(matches!(Message::read(agg).unwrap(), Message::AggTrade(_)));
        let depth =
            r#"{"stream":"x@trade","data":{"e":"depthUpdate","s":"X","U":1,"u":2,"b":[],"a":[]}}"#;
        assert!(matches!(Message::read(depth).unwrap(), Message::Depth(_)));
        let untyped = r#"{"stream":"x@trade","data":{"s":"X","t":1,"p":"1","q":"1","m":true}}"#;
        assert!(matches!(Message::read(untyped).unwrap(), Message::Trade(_)));
        let escaped = r#"{"stream":"x@trade","data":{"e":"tr\u0061de","s":"X","t":1,"p":"1","q":"1","m":true}}"#;
        assert!(matches!(Message::read(escaped).unwrap(), Message::Trade(_)));
    }

    #[test]
    fn a_null_or_non_string_e_is_an_error_not_a_guess() {
        for e in ["null", "1", "{}"] {
            let frame = format!(
                r#"{{"stream":"x@trade","data":{{"e":{e},"s":"X","t":1,"p":"1","q":"1","m":true}}}}"#
            );
            let err = Message::read(&frame).unwrap_err().to_string();
            assert_eq!(err, "binance `payload`: field `e`: not a string", "{e}");
        }
    }
}

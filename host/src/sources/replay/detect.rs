//! Which venue a recorded frame belongs to, judged from its shape, and the
//! router that hands it to that venue's parser. Only replay needs this: a
//! live source knows its venue. Living here keeps the venue parsers free of
//! each other (they import `frame`, and `frame` imports none of them).
//!
//! A frame's top-level keys are read once ([`Shape`]) and serve both the
//! detection and the venue parser's own dispatch, so replay reads a frame
//! no more often than the live source does.

use serde::{Deserialize, Serialize};

use crate::sources::binance::recorded::RecordedBooks;
use crate::sources::binance::{BinanceParser, Message};
use crate::sources::evm::EvmParser;
use crate::sources::frame::{Ignored, ParseError, Parsed, VenueParser};
use crate::sources::hyperliquid::{self, HyperliquidParser};
use crate::sources::shape::{Shape, is_str};

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

/// Which protocol a frame belongs to, judged from its top-level keys alone.
///
/// `method == "eth_subscription"` or a `jsonrpc` key (subscription acks) or a
/// bare log (`topics` + `address`) → EVM; `channel` → Hyperliquid; `stream`,
/// `e`, or Binance's control/bookTicker/partial-depth shapes → Binance. Order
/// matters: a JSON-RPC ack has `result` and `id` like a Binance ack, so the
/// `jsonrpc` check runs first.
pub(crate) fn detect(s: &Shape<'_>) -> Option<Protocol> {
    if is_str(s.method, "eth_subscription")
        || s.jsonrpc.is_some()
        || (s.topics.is_some() && s.address.is_some())
    {
        return Some(Protocol::Evm);
    }
    if s.channel.is_some() {
        return Some(Protocol::Hyperliquid);
    }
    let binance_shape = s.stream.is_some()
        || s.e.is_some()
        || (s.result.is_some() && s.id.is_some())
        || (s.code.is_some() && s.msg.is_some())
        || s.last_update_id.is_some()
        || (s.u.is_some() && s.s.is_some() && s.b.is_some() && s.a.is_some());
    binance_shape.then_some(Protocol::Binance)
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
        self.parse_with_books(frame, None)
    }

    /// As [`FrameParser::parse`], with Binance depth diffs and tracked
    /// symbols' book tickers going to recorded order books.
    pub(crate) fn parse_with_books(
        &self,
        frame: &str,
        books: Option<&mut RecordedBooks>,
    ) -> Result<(Protocol, Parsed), ParseError> {
        // The live source's one-pass read first: a frame it takes has only
        // `stream` and `data`, so detection could only say Binance.
        if matches!(self.format, Format::Auto | Format::Binance)
            && let Some(message) = Message::read_one_pass(frame)
        {
            return Ok((Protocol::Binance, self.binance_events(&message, books)?));
        }
        let shape = match Shape::of(frame) {
            Ok(Some(shape)) => shape,
            // Valid JSON but not an object: only a forced venue's own words
            // can say what is wrong with it.
            Ok(None) => return self.not_an_object(frame),
            // Hyperliquid's legacy non-JSON greeting must not count as malformed.
            Err(_)
                if matches!(self.format, Format::Auto | Format::Hyperliquid)
                    && hyperliquid::is_greeting(frame) =>
            {
                return Ok((Protocol::Hyperliquid, Parsed::Ignored(Ignored::Control)));
            }
            Err(e) => return Err(e),
        };
        let protocol = match self.format {
            Format::Auto => detect(&shape).ok_or(ParseError::UnknownProtocol)?,
            Format::Binance => Protocol::Binance,
            Format::Hyperliquid => Protocol::Hyperliquid,
            Format::Evm => Protocol::Evm,
        };
        let parsed = match protocol {
            Protocol::Binance => {
                self.binance_events(&Message::from_shape(frame, &shape)?, books)?
            }
            Protocol::Hyperliquid => self.hyperliquid.parse_shape(&shape)?,
            Protocol::Evm => self.evm.parse_shape(frame, &shape)?,
        };
        Ok((protocol, parsed))
    }

    /// A Binance message's events, depth diffs and tracked symbols' book
    /// tickers through the recorded books when there are any.
    fn binance_events(
        &self,
        message: &Message<'_>,
        books: Option<&mut RecordedBooks>,
    ) -> Result<Parsed, ParseError> {
        match books.and_then(|books| books.message(message)) {
            Some(handled) => handled,
            None => self.binance.events(message),
        }
    }

    fn not_an_object(&self, frame: &str) -> Result<(Protocol, Parsed), ParseError> {
        let (protocol, parser): (Protocol, &dyn VenueParser) = match self.format {
            Format::Auto => return Err(ParseError::UnknownProtocol),
            Format::Binance => (Protocol::Binance, &self.binance),
            Format::Hyperliquid => (Protocol::Hyperliquid, &self.hyperliquid),
            Format::Evm => (Protocol::Evm, &self.evm),
        };
        parser.parse_frame(frame).map(|parsed| (protocol, parsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect_str(s: &str) -> Option<Protocol> {
        detect(&Shape::of(s).unwrap()?)
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
}

//! Which venue a recorded frame belongs to, judged from its shape, and the
//! router that hands it to that venue's parser. Only replay needs this: a
//! live source knows its venue. Living here keeps the venue parsers free of
//! each other (they import `frame`, and `frame` imports none of them).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sources::binance::BinanceParser;
use crate::sources::evm::EvmParser;
use crate::sources::frame::{Ignored, ParseError, Parsed, VenueParser};
use crate::sources::hyperliquid::{self, HyperliquidParser};

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
}

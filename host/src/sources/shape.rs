//! A frame's top-level keys, read in one pass without building a tree.
//!
//! Venue parsers dispatch on a few top-level keys (`stream`, `e`, `channel`,
//! `method`…) and only then know which typed struct the payload is. Reading
//! the frame into a `serde_json::Value` first cost ~5 µs per Binance trade
//! (a map insert and an allocation per key); [`Shape`] instead records, for
//! the keys any parser or replay's detector looks at, the exact text of the
//! value (`&RawValue`, a borrowed slice of the frame), and skips the rest.
//! The payload is then deserialized once, from its own slice, into a typed
//! struct that borrows its strings.
//!
//! A key that is present with `null` is still `Some` here, as `contains_key`
//! was on a `Value`: Binance acks are `{"result":null,"id":1}`.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::frame::ParseError;

/// A present key's value, unparsed.
pub(crate) type Raw<'a> = Option<&'a RawValue>;

/// Every top-level key some venue parser or the replay detector looks at,
/// across venues (one struct, so replay reads a frame's shape only once).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Shape<'a> {
    // Binance: combined envelope, event type, untyped payload shapes.
    #[serde(borrow, default, deserialize_with = "present")]
    pub stream: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub data: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub e: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub result: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub id: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub code: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub msg: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present", rename = "lastUpdateId")]
    pub last_update_id: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub u: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub s: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub b: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub a: Raw<'a>,
    // Hyperliquid.
    #[serde(borrow, default, deserialize_with = "present")]
    pub channel: Raw<'a>,
    // JSON-RPC (EVM, Solana) and bare EVM logs.
    #[serde(borrow, default, deserialize_with = "present")]
    pub jsonrpc: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub method: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub params: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub error: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub topics: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    pub address: Raw<'a>,
}

impl<'a> Shape<'a> {
    /// The top-level keys of `frame`, which must be a JSON object.
    /// Invalid JSON is [`ParseError::Json`]; valid JSON that is not an object
    /// is `Ok(None)`, so each venue can say so in its own words.
    pub fn of(frame: &'a str) -> Result<Option<Shape<'a>>, ParseError> {
        if !is_object(frame) {
            return match serde_json::from_str::<IgnoredAny>(frame) {
                Ok(_) => Ok(None),
                Err(e) => Err(ParseError::Json(e)),
            };
        }
        // Every field takes any value, so only bad JSON (or a duplicated
        // key we dispatch on) fails here.
        serde_json::from_str(frame).map(Some).map_err(ParseError::Json)
    }
}

/// `deserialize_with` for [`Raw`] fields: a present key is `Some`, even with
/// `null` (a plain `Option` would read `null` as absent).
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Raw<'de>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Whether JSON text is an object. Checked before typed parsing because
/// serde's derived structs also accept arrays (as positional fields), which
/// no venue sends in place of an object.
pub(crate) fn is_object(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// A raw value's string, borrowed unless it has escapes; `None` if it is not
/// a string. The raw text was validated by the parse that captured it.
pub(crate) fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

/// Whether a raw value is the JSON string `want` (escapes decoded).
pub(crate) fn is_str(raw: Raw<'_>, want: &str) -> bool {
    raw.and_then(string).is_some_and(|s| s == want)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_counts_as_present_and_strings_borrow_unless_escaped() {
        let shape =
            Shape::of(r#"{"result":null,"id":1,"e":"tr\u0061de","s":"BTC"}"#).unwrap().unwrap();
        assert!(shape.result.is_some() && shape.stream.is_none());
        assert!(is_str(shape.e, "trade"));
        assert!(matches!(shape.s.and_then(string), Some(Cow::Borrowed("BTC"))));
        assert_eq!(shape.id.and_then(string), None);
    }

    #[test]
    fn non_objects_and_bad_json_are_told_apart() {
        assert!(Shape::of("[1,2]").unwrap().is_none());
        assert!(Shape::of(" \"x\"").unwrap().is_none());
        assert!(matches!(Shape::of("{not json"), Err(ParseError::Json(_))));
        assert!(matches!(Shape::of("[1,"), Err(ParseError::Json(_))));
    }
}

//! The one-pass read of the common frame: a combined-stream envelope
//! `{"stream":"btcusdt@trade","data":{…}}` with `stream` first, naming a kind
//! we turn into events.
//!
//! The general path ([`Message::read`]'s fallback) reads the envelope's
//! top-level keys first, which scans the whole payload once to capture it as
//! a raw slice, then parses the payload again as the typed message. Here the
//! envelope's map is walked by hand: `stream` is read, and `data` is
//! deserialized in place, straight into the message the stream names.
//!
//! Only the exact common shape is taken: anything else (other key order,
//! extra keys, an escaped stream name, a payload that is not an object or
//! does not parse as the named kind, an `e` that disagrees, trailing text)
//! returns `None` and the caller takes the general path, which decides and
//! reports exactly as before. So a frame read here gives what the general
//! path would give; `flat_tests.rs` checks that on mutated frames.

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::message::{
    AggTradeMsg, BookTickerMsg, ForceOrderMsg, Kind, Message, TradeMsg, stream_type,
};

/// The frame's message, if it has the common combined shape (see above).
pub(super) fn read(frame: &str) -> Option<Message<'_>> {
    let mut de = serde_json::Deserializer::from_str(frame);
    let message = de.deserialize_map(Envelope).ok()??;
    // Trailing text after the envelope: the general path reports it.
    de.end().ok()?;
    Some(message)
}

/// Walks the envelope's map; `Ok(None)` (or any error) means "not the
/// common shape", never "malformed".
struct Envelope;

impl<'de> Visitor<'de> for Envelope {
    type Value = Option<Message<'de>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a combined-stream envelope")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        if map.next_key::<&str>()? != Some("stream") {
            return Ok(None);
        }
        let stream: &str = map.next_value()?;
        let Some(kind) = Kind::of_stream(stream_type(stream)) else { return Ok(None) };
        if map.next_key::<&str>()? != Some("data") {
            return Ok(None);
        }
        let message = map.next_value_seed(Payload(kind))?;
        // A third key could be a duplicate `stream`/`data`, which the
        // general path rejects: leave every such frame to it.
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Ok(None);
        }
        // `e`, when present, decides the kind: a disagreement goes the
        // general way.
        Ok(message.e().is_none_or(|e| e.get() == kind.quoted()).then_some(message))
    }
}

/// `data` read as the message `kind` names. Objects only: serde's derived
/// structs would also take an array as positional fields.
struct Payload(Kind);

impl<'de> DeserializeSeed<'de> for Payload {
    type Value = Message<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Message<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Payload {
    type Value = Message<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a payload object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Message<'de>, A::Error> {
        let d = MapAccessDeserializer::new(map);
        Ok(match self.0 {
            Kind::Trade => Message::Trade(TradeMsg::deserialize(d)?),
            Kind::AggTrade => Message::AggTrade(AggTradeMsg::deserialize(d)?),
            Kind::BookTicker => Message::BookTicker(BookTickerMsg::deserialize(d)?),
            Kind::ForceOrder => Message::ForceOrder(ForceOrderMsg::deserialize(d)?),
        })
    }
}

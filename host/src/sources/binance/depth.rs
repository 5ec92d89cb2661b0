//! Binance depth messages: diff-depth events (`<symbol>@depth@100ms`, spot
//! and USD-M) and REST depth snapshots (`/api/v3/depth`, `/fapi/v1/depth`).
//!
//! Which frames are depth diffs is decided by [`super::Message`]; this file
//! reads their payload text (and snapshot bodies) into typed structs.
//!
//! Pure parsing only: text or JSON in, [`DepthDiff`] / [`DepthSnapshot`] or a
//! [`ParseError`] naming the field out. Never panics on any input (property
//! tested in `sources/tests/props.rs`). What to do with the levels is
//! [`super::sync`]'s job.
//!
//! Prices and quantities stay exact (`Decimal`); a quantity of `0` means
//! "remove this level" and is kept as is here.

use std::borrow::Cow;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use super::message::Message;
use crate::sources::frame::{self, ParseError};

const VENUE: &str = "binance";

/// One `[price, quantity]` level, both absolute.
pub type Level = (Decimal, Decimal);

/// One `depthUpdate` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthDiff {
    /// Uppercase symbol (`s`).
    pub symbol: String,
    /// `U`: first update id in the event.
    pub first_id: u64,
    /// `u`: final update id in the event.
    pub last_id: u64,
    /// `pu`: final update id of the previous event (USD-M only).
    pub prev_last_id: Option<u64>,
    /// Transaction time `T` (USD-M) or event time `E`, ms; 0 if absent.
    pub time_ms: u64,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// A REST depth snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthSnapshot {
    pub last_update_id: u64,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

#[derive(Deserialize)]
struct DiffMsg<'a> {
    #[serde(rename = "s", borrow)]
    symbol: Cow<'a, str>,
    #[serde(rename = "U")]
    first_id: u64,
    #[serde(rename = "u")]
    last_id: u64,
    #[serde(rename = "pu")]
    prev_last_id: Option<u64>,
    #[serde(rename = "E")]
    event_time: Option<u64>,
    #[serde(rename = "T")]
    trade_time: Option<u64>,
    #[serde(rename = "b", borrow)]
    bids: Vec<(&'a str, &'a str)>,
    #[serde(rename = "a", borrow)]
    asks: Vec<(&'a str, &'a str)>,
}

#[derive(Deserialize)]
struct SnapshotMsg<'a> {
    #[serde(rename = "lastUpdateId")]
    last_update_id: u64,
    #[serde(borrow)]
    bids: Vec<(&'a str, &'a str)>,
    #[serde(borrow)]
    asks: Vec<(&'a str, &'a str)>,
}

/// Parse a frame's text: `Ok(None)` if it is valid JSON but not a depth diff.
pub fn parse_depth_frame(text: &str) -> Result<Option<DepthDiff>, ParseError> {
    match Message::read(text) {
        Ok(Message::Depth(payload)) => parse_diff(payload).map(Some),
        Ok(_) => Ok(None),
        Err(e @ ParseError::Json(_)) => Err(e),
        // Valid JSON, just not a Binance frame: not a depth diff either.
        Err(_) => Ok(None),
    }
}

/// Decode a `depthUpdate` payload's text.
pub fn parse_diff(data: &str) -> Result<DepthDiff, ParseError> {
    const K: &str = "depthUpdate";
    let msg: DiffMsg = frame::typed(data, VENUE, K)?;
    if msg.first_id > msg.last_id {
        return Err(ParseError::Field {
            venue: VENUE,
            kind: K,
            field: "U",
            reason: format!("{} is after `u` {}", msg.first_id, msg.last_id),
        });
    }
    Ok(DepthDiff {
        symbol: msg.symbol.into_owned(),
        first_id: msg.first_id,
        last_id: msg.last_id,
        prev_last_id: msg.prev_last_id,
        time_ms: msg.trade_time.or(msg.event_time).unwrap_or(0),
        bids: levels(&msg.bids, K, "b")?,
        asks: levels(&msg.asks, K, "a")?,
    })
}

/// Decode a REST snapshot body (`{"lastUpdateId":..,"bids":..,"asks":..}`),
/// as the REST client returns it (a snapshot is fetched once per resync, so
/// the tree costs nothing that matters).
pub fn parse_snapshot(body: &Value) -> Result<DepthSnapshot, ParseError> {
    const K: &str = "depth snapshot";
    let msg = SnapshotMsg::deserialize(body).map_err(|error| ParseError::Shape {
        venue: VENUE,
        kind: K,
        error,
    })?;
    snapshot(msg)
}

fn snapshot(msg: SnapshotMsg<'_>) -> Result<DepthSnapshot, ParseError> {
    const K: &str = "depth snapshot";
    Ok(DepthSnapshot {
        last_update_id: msg.last_update_id,
        bids: levels(&msg.bids, K, "bids")?,
        asks: levels(&msg.asks, K, "asks")?,
    })
}

/// Parse a snapshot from text (a recorded `<SYMBOL>.json`).
pub fn parse_snapshot_text(text: &str) -> Result<DepthSnapshot, ParseError> {
    const K: &str = "depth snapshot";
    snapshot(frame::typed(text, VENUE, K)?)
}

fn levels(
    raw: &[(&str, &str)],
    kind: &'static str,
    field: &'static str,
) -> Result<Vec<Level>, ParseError> {
    raw.iter()
        .map(|(price, qty)| {
            let price = level_decimal(price, kind, field)?;
            let qty = level_decimal(qty, kind, field)?;
            if price.is_sign_negative() || qty.is_sign_negative() {
                return Err(ParseError::Field {
                    venue: VENUE,
                    kind,
                    field,
                    reason: format!("negative level `{price}` x `{qty}`"),
                });
            }
            Ok((price, qty))
        })
        .collect()
}

fn level_decimal(
    text: &str,
    kind: &'static str,
    field: &'static str,
) -> Result<Decimal, ParseError> {
    // Exponent forms are not Binance's; from_str rejects them with a clear error.
    Decimal::from_str(text).map_err(|e| ParseError::Field {
        venue: VENUE,
        kind,
        field,
        reason: format!("`{}` is not a decimal: {e}", frame::truncate(text)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spot_diff_from_the_real_recording() {
        let text = r#"{"stream":"nknusdt@depth@100ms","data":{"e":"depthUpdate","E":1633998512068,"s":"NKNUSDT","U":499869750,"u":499869752,"b":[["0.35130000","6195.00000000"],["0.34750000","0.00000000"]],"a":[]}}"#;
        let diff = parse_depth_frame(text).unwrap().unwrap();
        assert_eq!(
            (diff.symbol.as_str(), diff.first_id, diff.last_id, diff.prev_last_id),
            ("NKNUSDT", 499869750, 499869752, None)
        );
        assert_eq!(diff.time_ms, 1633998512068);
        assert_eq!(diff.bids[1], (Decimal::from_str("0.3475").unwrap(), Decimal::ZERO));
        assert!(diff.asks.is_empty());
    }

    #[test]
    fn futures_diff_carries_pu_and_transaction_time() {
        let text = r#"{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#;
        let diff = parse_depth_frame(text).unwrap().unwrap();
        assert_eq!((diff.prev_last_id, diff.time_ms), (Some(149), 123456788));
    }

    #[test]
    fn other_frames_are_not_depth() {
        assert_eq!(
            parse_depth_frame(r#"{"stream":"x@aggTrade","data":{"e":"aggTrade"}}"#).unwrap(),
            None
        );
        assert_eq!(parse_depth_frame(r#"{"lastUpdateId":1,"bids":[],"asks":[]}"#).unwrap(), None);
    }

    #[test]
    fn bad_depth_names_the_field() {
        let err =
            parse_depth_frame(r#"{"e":"depthUpdate","s":"X","U":1,"u":2,"b":[["x","1"]],"a":[]}"#)
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "binance `depthUpdate`: field `b`: `x` is not a decimal: Invalid decimal: unknown character"
        );
        let err = parse_depth_frame(r#"{"e":"depthUpdate","s":"X","U":3,"u":2,"b":[],"a":[]}"#)
            .unwrap_err();
        assert!(err.to_string().contains("field `U`"), "{err}");
        assert!(parse_depth_frame(r#"{"e":"depthUpdate","s":"X","U":1,"b":[],"a":[]}"#).is_err());
        assert!(parse_snapshot_text(r#"{"lastUpdateId":1,"bids":[["1"]],"asks":[]}"#).is_err());
    }

    #[test]
    fn snapshot_parses() {
        let snap = parse_snapshot_text(r#"{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}"#).unwrap();
        assert_eq!(snap.last_update_id, 1027024);
        assert_eq!(snap.asks, vec![(Decimal::from_str("4.000002").unwrap(), Decimal::from(12))]);
    }
}

//! Hyperliquid WebSocket frames `{"channel":..,"data":..}` → [`Event`]s.
//!
//! Pure parsing, shared by the live source and replay: the frame's
//! top-level keys are read without a tree ([`Shape`]), then `data` once into
//! the channel's typed struct, borrowing its strings.
//!
//! * `trades` (WsTrade[]) → `Trade`: side `B` = aggressor bought, `A` = sold;
//!   id `<venue>:<coin>:<tid>`; notional `px × sz` (perps are USD-quoted, spot
//!   pairs are USDC-quoted). `users` is ignored: interning every trader would
//!   grow the symbol table without bound, so trades carry no account.
//! * `userFills` (WsUserFills) → one event per fill, **the whole frame skipped
//!   when `isSnapshot` is truthy** (history replayed on subscribe; a missing
//!   key means live). `user` (userEvents) frames with `fills` get the same
//!   treatment; their other variants (funding, liquidation, nonUserCancel) are
//!   ignored. A fill is a `PerpFill` with account = `user` (the `user` channel
//!   does not name the user, so `None` there), side = the account's side,
//!   direction from `dir`, `closedPnl`, tx hash, and id
//!   `<venue>:fill:<hash>:<tid>:<side>` (both counterparties of one trade share
//!   hash and tid but never the side; the id does not depend on the channel,
//!   so the same fill seen on `userFills` and `user` dedups).
//!   **A fill carrying `liquidation` (or the old non-null `liquidationMarkPx`)
//!   becomes kind `Liquidation`** with every PerpFill field kept, so templates
//!   that select liquidations see Hyperliquid ones.
//! * `bbo` and `l2Book` → `BookTop` from the best levels, price = mid; a book
//!   with an empty side is `Ignored::OneSidedBook` (no mid to report).
//! * `subscriptionResponse`, `pong`, `error`, `post` and the greeting text are
//!   `Ignored::Control`; every other channel is `Ignored::Unhandled`.
//!
//! Parsing is permissive about keys: old testnet frames lack `feeToken` and
//! carry `liquidationMarkPx`, new ones add `twapId`, `cloid`, `builderFee`.

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::event::{Direction, Event, EventKind, Side, Sym};
use crate::sources::frame::{self, Ignored, ParseError, Parsed, VenueParser};
use crate::sources::shape::{self, Raw, Shape, is_object, present};

const VENUE: &str = "hyperliquid";

/// The non-JSON text some Hyperliquid servers sent on connect.
const GREETING: &str = "Websocket connection established.";

pub(crate) fn is_greeting(frame: &str) -> bool {
    frame.trim() == GREETING
}

/// Parses Hyperliquid frames; events carry `venue` (default `hyperliquid`).
#[derive(Debug, Clone)]
pub struct HyperliquidParser {
    venue: Sym,
}

impl Default for HyperliquidParser {
    fn default() -> Self {
        HyperliquidParser::new(VENUE)
    }
}

impl HyperliquidParser {
    pub fn new(venue: &str) -> HyperliquidParser {
        HyperliquidParser { venue: Sym::new(venue) }
    }

    /// A frame whose top-level keys were read (`channel`, `data` as raw
    /// text) → events; `data` is then read once, into the channel's type.
    pub(crate) fn parse_shape(&self, shape: &Shape<'_>) -> Result<Parsed, ParseError> {
        let channel = shape.channel.ok_or_else(|| unrecognized("no `channel`"))?;
        let channel =
            shape::string(channel).ok_or_else(|| field("frame", "channel", "not a string"))?;
        let data = shape.data.map_or("null", RawValue::get);
        match channel.as_ref() {
            "trades" => self.trades(data),
            "userFills" => self.user_fills(data),
            "user" => self.user_events(data),
            "bbo" => self.bbo(data),
            "l2Book" => self.l2_book(data),
            "subscriptionResponse" | "pong" | "error" | "post" => {
                Ok(Parsed::Ignored(Ignored::Control))
            }
            _ => Ok(Parsed::Ignored(Ignored::Unhandled)),
        }
    }

    fn trades(&self, data: &str) -> Result<Parsed, ParseError> {
        const K: &str = "trades";
        let trades: Vec<WsTrade> = frame::typed(data, VENUE, K)?;
        let mut events = Vec::with_capacity(trades.len());
        for t in trades {
            let id = format!("{}:{}:{}", self.venue, t.coin, t.tid);
            let mut e = Event::new(EventKind::Trade, self.venue, Sym::new(&t.coin), id, t.time);
            e.price = frame::decimal(&t.px, VENUE, K, "px")?;
            e.size = frame::decimal(&t.sz, VENUE, K, "sz")?;
            e.side = side(&t.side);
            e.notional_usd = Some(e.price * e.size);
            e.tx_hash = t.hash.map(Cow::into_owned);
            events.push(e);
        }
        Ok(Parsed::Events(events))
    }

    fn user_fills(&self, data: &str) -> Result<Parsed, ParseError> {
        const K: &str = "userFills";
        let msg: WsUserFills = frame::typed(data, VENUE, K)?;
        if msg.is_snapshot.is_some_and(truthy) {
            return Ok(Parsed::Ignored(Ignored::Snapshot));
        }
        self.fills(&msg.fills, msg.user.as_deref(), K)
    }

    fn user_events(&self, data: &str) -> Result<Parsed, ParseError> {
        const K: &str = "user";
        if !is_object(data) {
            return Err(field(K, "data", "not an object"));
        }
        let event: WsUserEvent = frame::typed(data, VENUE, K)?;
        if event.fills.is_none() {
            // funding, liquidation (of the whole account), nonUserCancel
            return Ok(Parsed::Ignored(Ignored::Unhandled));
        }
        let msg: WsUserFills = frame::typed(data, VENUE, K)?;
        if msg.is_snapshot.is_some_and(truthy) {
            return Ok(Parsed::Ignored(Ignored::Snapshot));
        }
        self.fills(&msg.fills, msg.user.as_deref(), K)
    }

    fn fills(
        &self,
        fills: &[WsFill],
        user: Option<&str>,
        kind: &'static str,
    ) -> Result<Parsed, ParseError> {
        let account = user.map(Sym::new);
        let mut events = Vec::with_capacity(fills.len());
        for f in fills {
            let liquidated = f.liquidation.is_some() || f.liquidation_mark_px.is_some();
            let event_kind = if liquidated { EventKind::Liquidation } else { EventKind::PerpFill };
            let hash = f.hash.as_deref().unwrap_or("");
            let id = format!("{}:fill:{hash}:{}:{}", self.venue, f.tid, f.side);
            let mut e = Event::new(event_kind, self.venue, Sym::new(&f.coin), id, f.time);
            e.price = frame::decimal(&f.px, VENUE, kind, "px")?;
            e.size = frame::decimal(&f.sz, VENUE, kind, "sz")?;
            e.side = side(&f.side);
            e.notional_usd = Some(e.price * e.size);
            e.account = account;
            e.tx_hash = f.hash.as_deref().map(str::to_owned);
            e.direction = f.dir.as_deref().map_or(Direction::None, direction);
            e.closed_pnl = f
                .closed_pnl
                .as_deref()
                .map(|p| frame::decimal(p, VENUE, kind, "closedPnl"))
                .transpose()?;
            events.push(e);
        }
        Ok(Parsed::Events(events))
    }

    fn bbo(&self, data: &str) -> Result<Parsed, ParseError> {
        const K: &str = "bbo";
        let msg: WsBbo = frame::typed(data, VENUE, K)?;
        let bid = msg.bbo.first().and_then(Option::as_ref);
        let ask = msg.bbo.get(1).and_then(Option::as_ref);
        self.book_top(&msg.coin, msg.time, bid, ask, K)
    }

    fn l2_book(&self, data: &str) -> Result<Parsed, ParseError> {
        const K: &str = "l2Book";
        let msg: WsBook = frame::typed(data, VENUE, K)?;
        // Bids descend and asks ascend, so the first level of each is the best.
        let bid = msg.levels.first().and_then(|side| side.first());
        let ask = msg.levels.get(1).and_then(|side| side.first());
        self.book_top(&msg.coin, msg.time, bid, ask, K)
    }

    fn book_top(
        &self,
        coin: &str,
        time: u64,
        bid: Option<&WsLevel>,
        ask: Option<&WsLevel>,
        kind: &'static str,
    ) -> Result<Parsed, ParseError> {
        let (Some(bid), Some(ask)) = (bid, ask) else {
            return Ok(Parsed::Ignored(Ignored::OneSidedBook));
        };
        let bid = frame::decimal(&bid.px, VENUE, kind, "px")?;
        let ask = frame::decimal(&ask.px, VENUE, kind, "px")?;
        let id = format!("{}:{coin}:book:{time}", self.venue);
        let mut e = Event::new(EventKind::BookTop, self.venue, Sym::new(coin), id, time);
        e.best_bid = Some(bid);
        e.best_ask = Some(ask);
        e.price = (bid + ask) / Decimal::TWO;
        Ok(Parsed::Events(vec![e]))
    }
}

impl VenueParser for HyperliquidParser {
    /// The legacy non-JSON greeting is a control frame, not malformed.
    fn parse_frame(&self, frame: &str) -> Result<Parsed, ParseError> {
        if is_greeting(frame) {
            return Ok(Parsed::Ignored(Ignored::Control));
        }
        // Valid JSON that is not an object has no `channel`, as an empty one.
        self.parse_shape(&Shape::of(frame)?.unwrap_or_default())
    }
}

/// `isSnapshot` may be absent, `false`, `true`, or (defensively) a number or
/// string; anything but an explicit falsy value counts as a snapshot.
fn truthy(value: &RawValue) -> bool {
    let text = value.get();
    match text.as_bytes().first() {
        Some(b'n') => false,
        Some(b't') => true,
        Some(b'f') => false,
        Some(b'"') => shape::string(value)
            .is_some_and(|s| !(s.is_empty() || s.eq_ignore_ascii_case("false") || s == "0")),
        Some(b'[' | b'{') => true,
        _ => text.parse::<f64>().is_ok_and(|n| n != 0.0),
    }
}

fn side(s: &str) -> Side {
    match s {
        "B" => Side::Buy,
        "A" => Side::Sell,
        _ => Side::Unknown,
    }
}

/// `dir` is free text; only the four plain open/close forms map. Flips
/// ("Long > Short"), spot ("Buy"/"Sell") and settlement texts stay `None`.
fn direction(dir: &str) -> Direction {
    match dir {
        "Open Long" => Direction::OpenLong,
        "Close Long" => Direction::CloseLong,
        "Open Short" => Direction::OpenShort,
        "Close Short" => Direction::CloseShort,
        _ => Direction::None,
    }
}

fn unrecognized(what: &str) -> ParseError {
    ParseError::Unrecognized { venue: VENUE, what: what.to_owned() }
}

fn field(kind: &'static str, field: &'static str, reason: &str) -> ParseError {
    ParseError::Field { venue: VENUE, kind, field, reason: reason.to_owned() }
}

// The payloads. Strings are `Cow`: borrowed from the frame unless escaped.

#[derive(Deserialize)]
struct WsTrade<'a> {
    #[serde(borrow)]
    coin: Cow<'a, str>,
    #[serde(borrow)]
    side: Cow<'a, str>,
    #[serde(borrow)]
    px: Cow<'a, str>,
    #[serde(borrow)]
    sz: Cow<'a, str>,
    time: u64,
    #[serde(borrow)]
    hash: Option<Cow<'a, str>>,
    tid: u64,
}

/// Only whether a `user` frame carries fills (key present, even `null`).
#[derive(Deserialize)]
struct WsUserEvent<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    fills: Raw<'a>,
}

#[derive(Deserialize)]
struct WsUserFills<'a> {
    #[serde(rename = "isSnapshot", borrow)]
    is_snapshot: Option<&'a RawValue>,
    #[serde(borrow)]
    user: Option<Cow<'a, str>>,
    #[serde(borrow)]
    fills: Vec<WsFill<'a>>,
}

#[derive(Deserialize)]
struct WsFill<'a> {
    #[serde(borrow)]
    coin: Cow<'a, str>,
    #[serde(borrow)]
    px: Cow<'a, str>,
    #[serde(borrow)]
    sz: Cow<'a, str>,
    #[serde(borrow)]
    side: Cow<'a, str>,
    time: u64,
    #[serde(borrow)]
    dir: Option<Cow<'a, str>>,
    #[serde(rename = "closedPnl", borrow)]
    closed_pnl: Option<Cow<'a, str>>,
    #[serde(borrow)]
    hash: Option<Cow<'a, str>>,
    tid: u64,
    /// Only whether it is there and not `null`.
    liquidation: Option<IgnoredAny>,
    #[serde(rename = "liquidationMarkPx")]
    liquidation_mark_px: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct WsLevel<'a> {
    #[serde(borrow)]
    px: Cow<'a, str>,
}

#[derive(Deserialize)]
struct WsBbo<'a> {
    #[serde(borrow)]
    coin: Cow<'a, str>,
    time: u64,
    #[serde(borrow)]
    bbo: Vec<Option<WsLevel<'a>>>,
}

#[derive(Deserialize)]
struct WsBook<'a> {
    #[serde(borrow)]
    coin: Cow<'a, str>,
    time: u64,
    #[serde(borrow)]
    levels: Vec<Vec<WsLevel<'a>>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(frame: &str) -> Parsed {
        HyperliquidParser::default().parse_frame(frame).unwrap()
    }

    #[test]
    fn control_and_other_channels_are_ignored() {
        assert_eq!(parsed(r#"{"channel":"pong"}"#), Parsed::Ignored(Ignored::Control));
        assert_eq!(
            parsed(r#"{"channel":"error","data":"Already subscribed"}"#),
            Parsed::Ignored(Ignored::Control)
        );
        assert_eq!(
            parsed(r#"{"channel":"allMids","data":{"mids":{}}}"#),
            Parsed::Ignored(Ignored::Unhandled)
        );
        assert_eq!(
            parsed(r#"{"channel":"user","data":{"funding":{}}}"#),
            Parsed::Ignored(Ignored::Unhandled)
        );
        assert_eq!(parsed(GREETING), Parsed::Ignored(Ignored::Control));
    }

    #[test]
    fn snapshot_flag_is_tested_for_truthiness() {
        let frame = |flag: &str| {
            format!(
                r#"{{"channel":"userFills","data":{{{flag}"user":"0xa","fills":[{{"coin":"ETH","px":"1","sz":"2","side":"B","time":5,"tid":9}}]}}}}"#
            )
        };
        assert_eq!(parsed(&frame(r#""isSnapshot":true,"#)), Parsed::Ignored(Ignored::Snapshot));
        assert_eq!(parsed(&frame(r#""isSnapshot":1,"#)), Parsed::Ignored(Ignored::Snapshot));
        for live in ["", r#""isSnapshot":false,"#, r#""isSnapshot":null,"#] {
            let events = parsed(&frame(live)).into_events();
            assert_eq!(events.len(), 1, "{live}");
            assert_eq!(events[0].id, "hyperliquid:fill::9:B");
            assert_eq!(events[0].direction, Direction::None);
        }
    }

    #[test]
    fn empty_trades_frame_is_zero_events_not_error() {
        assert_eq!(parsed(r#"{"channel":"trades","data":[]}"#), Parsed::Events(vec![]));
    }

    #[test]
    fn malformed_data_names_the_channel() {
        let err = HyperliquidParser::default()
            .parse(r#"{"channel":"trades","data":[{"coin":"BTC"}]}"#)
            .unwrap_err();
        assert!(err.to_string().starts_with("hyperliquid `trades`: missing field"), "{err}");
        let err = HyperliquidParser::default()
            .parse(
                r#"{"channel":"bbo","data":{"coin":"X","time":1,"bbo":[{"px":"x"},{"px":"1"}]}}"#,
            )
            .unwrap_err();
        assert!(err.to_string().contains("field `px`"), "{err}");
    }
}

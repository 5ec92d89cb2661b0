//! The Binance `@trade` path as it was before the parsers read typed structs
//! straight from the text: the frame into a `serde_json::Value` tree, the
//! payload found and dispatched on in the tree, the typed message read out
//! of the tree, then the same event. Kept for the bench only, as the
//! baseline of the ingest ratio; nothing else calls it.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use crate::event::{Event, EventKind, Side, Sym, usd_notional};

#[derive(Deserialize)]
struct TradeMsg<'a> {
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "t")]
    trade_id: u64,
    #[serde(rename = "p")]
    price: &'a str,
    #[serde(rename = "q")]
    qty: &'a str,
    #[serde(rename = "T")]
    trade_time: Option<u64>,
    #[serde(rename = "E")]
    event_time: Option<u64>,
    #[serde(rename = "m")]
    maker: bool,
    #[serde(rename = "X")]
    order_type: Option<&'a str>,
}

/// One combined `@trade` frame → its event, the old way; `None` for
/// anything else (the bench feeds it trades only).
pub fn binance_trade(venue: Sym, frame: &str) -> Option<Event> {
    let value: Value = serde_json::from_str(frame).ok()?;
    let obj = value.as_object()?;
    let data = match (obj.get("stream"), obj.get("data")) {
        (Some(Value::String(_)), Some(data)) => data,
        _ => &value,
    };
    if data.as_object()?.get("e")?.as_str()? != "trade" {
        return None;
    }
    let msg = TradeMsg::deserialize(data).ok()?;
    if msg.order_type.is_some_and(|x| x != "MARKET") {
        return None;
    }
    let id = format!("{}:{}:t:{}", venue, msg.symbol, msg.trade_id);
    let time = msg.trade_time.or(msg.event_time).unwrap_or(0);
    let mut event = Event::new(EventKind::Trade, venue, Sym::new(msg.symbol), id, time);
    event.price = Decimal::from_str(msg.price).ok()?;
    event.size = Decimal::from_str(msg.qty).ok()?;
    event.side = if msg.maker { Side::Sell } else { Side::Buy };
    event.notional_usd = usd_notional(msg.symbol, event.price, event.size);
    Some(event)
}

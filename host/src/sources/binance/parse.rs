//! Binance spot and USD-M futures market-stream frames → [`Event`]s.
//!
//! Pure parsing (no sockets here; the live source of a later issue reuses it).
//! Accepts combined-stream frames `{"stream":..,"data":..}` and raw payloads.
//!
//! * `trade`, `aggTrade` → `Trade`. `m:true` means the buyer was the maker, so
//!   the taker sold: `Side::Sell`. Ids: `<venue>:<SYM>:t:<t>` and
//!   `<venue>:<SYM>:a:<a>`. Futures `@trade` carries `X`; only `X == "MARKET"`
//!   is a market trade, the rest (ADL, insurance fund) are `Ignored`.
//! * `bookTicker` → `BookTop` with best bid/ask and price = mid. Spot
//!   `bookTicker` has no `e` (and no time, so exchange time is 0 = unknown), so
//!   it is recognized by stream name or, for raw payloads, by its shape.
//! * `forceOrder` → `Liquidation`: side is the liquidation order's `S` (SELL =
//!   a long was liquidated), price `ap`, size `z`, notional ≈ `ap × z`.
//! * Depth, kline, mark price, tickers → `Ignored::Unhandled`; subscription
//!   acks, error replies and `serverShutdown` → `Ignored::Control`. Anything
//!   else is an error, so a protocol change shows up in the malformed counter.
//!
//! Exchange time is the trade/transaction time `T` when present, else the
//! event time `E`. Notional is set only when the quote is a USD stable.

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::event::{Event, EventKind, Side, Sym, usd_notional};
use crate::sources::frame::{self, Ignored, ParseError, Parsed, VenueParser};

const VENUE: &str = "binance";

/// `e` values of streams we subscribe to only for other stages (order books)
/// or never turn into events.
const UNHANDLED_TYPES: &[&str] = &[
    "depthUpdate",
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

/// Parses Binance frames; events carry `venue` (default `binance`; set e.g.
/// `binance-futures` so spot and futures ids never collide).
#[derive(Debug, Clone)]
pub struct BinanceParser {
    venue: Sym,
}

impl Default for BinanceParser {
    fn default() -> Self {
        BinanceParser::new(VENUE)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Trade,
    AggTrade,
    BookTicker,
    ForceOrder,
}

impl BinanceParser {
    pub fn new(venue: &str) -> BinanceParser {
        BinanceParser { venue: Sym::new(venue) }
    }

    fn payload(&self, data: &Value, stream: Option<&str>) -> Result<Parsed, ParseError> {
        let stream_type = stream.map(stream_type);
        let Some(obj) = data.as_object() else {
            // `!ticker@arr` and friends push arrays; nothing we handle does.
            return match stream_type {
                Some(t) if is_unhandled_stream(t) => Ok(Parsed::Ignored(Ignored::Unhandled)),
                _ => Err(unrecognized("payload is not a JSON object")),
            };
        };
        let kind = match obj.get("e") {
            Some(Value::String(e)) => match e.as_str() {
                "trade" => Kind::Trade,
                "aggTrade" => Kind::AggTrade,
                "bookTicker" => Kind::BookTicker,
                "forceOrder" => Kind::ForceOrder,
                "serverShutdown" => return Ok(Parsed::Ignored(Ignored::Control)),
                e if UNHANDLED_TYPES.contains(&e) => {
                    return Ok(Parsed::Ignored(Ignored::Unhandled));
                }
                e => return Err(unrecognized(&format!("event type `{}`", frame::truncate(e)))),
            },
            Some(_) => return Err(field("payload", "e", "not a string")),
            None => match classify_untyped(obj, stream_type)? {
                Ok(kind) => kind,
                Err(ignored) => return Ok(Parsed::Ignored(ignored)),
            },
        };
        match kind {
            Kind::Trade => self.trade(data),
            Kind::AggTrade => self.agg_trade(data),
            Kind::BookTicker => self.book_ticker(data),
            Kind::ForceOrder => self.force_order(data),
        }
    }

    fn trade(&self, data: &Value) -> Result<Parsed, ParseError> {
        const K: &str = "trade";
        let msg: TradeMsg = frame::typed(data, VENUE, K)?;
        if msg.order_type.is_some_and(|x| x != "MARKET") {
            return Ok(Parsed::Ignored(Ignored::NonMarketTrade));
        }
        let id = format!("{}:{}:t:{}", self.venue, msg.symbol, msg.trade_id);
        let fields = TradeFields {
            symbol: msg.symbol,
            price: msg.price,
            qty: msg.qty,
            buyer_is_maker: msg.maker,
            time: msg.trade_time.or(msg.event_time),
        };
        Ok(Parsed::Events(vec![self.trade_event(id, fields, K)?]))
    }

    fn agg_trade(&self, data: &Value) -> Result<Parsed, ParseError> {
        const K: &str = "aggTrade";
        let msg: AggTradeMsg = frame::typed(data, VENUE, K)?;
        // Old futures recordings lack `a`; fall back to the underlying trade
        // ids, which are just as unique within the symbol.
        let id = match (msg.agg_id, msg.first_id, msg.last_id) {
            (Some(a), _, _) => format!("{}:{}:a:{a}", self.venue, msg.symbol),
            (None, Some(f), Some(l)) if f != l => {
                format!("{}:{}:t:{f}-{l}", self.venue, msg.symbol)
            }
            (None, Some(f), _) => format!("{}:{}:t:{f}", self.venue, msg.symbol),
            (None, None, _) => return Err(field(K, "a", "missing, and no `f` to fall back on")),
        };
        let fields = TradeFields {
            symbol: msg.symbol,
            price: msg.price,
            qty: msg.qty,
            buyer_is_maker: msg.maker,
            time: msg.trade_time.or(msg.event_time),
        };
        Ok(Parsed::Events(vec![self.trade_event(id, fields, K)?]))
    }

    fn trade_event(
        &self,
        id: String,
        t: TradeFields<'_>,
        kind: &'static str,
    ) -> Result<Event, ParseError> {
        let mut event =
            Event::new(EventKind::Trade, self.venue, Sym::new(t.symbol), id, t.time.unwrap_or(0));
        event.price = frame::decimal(t.price, VENUE, kind, "p")?;
        event.size = frame::decimal(t.qty, VENUE, kind, "q")?;
        event.side = if t.buyer_is_maker { Side::Sell } else { Side::Buy };
        event.notional_usd = usd_notional(t.symbol, event.price, event.size);
        Ok(event)
    }

    fn book_ticker(&self, data: &Value) -> Result<Parsed, ParseError> {
        const K: &str = "bookTicker";
        let msg: BookTickerMsg = frame::typed(data, VENUE, K)?;
        let bid = frame::decimal(msg.bid, VENUE, K, "b")?;
        let ask = frame::decimal(msg.ask, VENUE, K, "a")?;
        // Binance sends "0" for an empty side; a mid price would be nonsense.
        if bid <= Decimal::ZERO || ask <= Decimal::ZERO {
            return Ok(Parsed::Ignored(Ignored::OneSidedBook));
        }
        let time = msg.trade_time.or(msg.event_time).unwrap_or(0);
        // `u` is the book update id, unique per symbol; fall back to time.
        let seq = msg.update_id.unwrap_or(time);
        let id = format!("{}:{}:b:{seq}", self.venue, msg.symbol);
        let mut event = Event::new(EventKind::BookTop, self.venue, Sym::new(msg.symbol), id, time);
        event.best_bid = Some(bid);
        event.best_ask = Some(ask);
        event.price = (bid + ask) / Decimal::TWO;
        Ok(Parsed::Events(vec![event]))
    }

    fn force_order(&self, data: &Value) -> Result<Parsed, ParseError> {
        const K: &str = "forceOrder";
        let msg: ForceOrderMsg = frame::typed(data, VENUE, K)?;
        let o = msg.order;
        let side = match o.side {
            "BUY" => Side::Buy,
            "SELL" => Side::Sell,
            other => {
                return Err(field(K, "o.S", &format!("unknown side `{}`", frame::truncate(other))));
            }
        };
        // `ap`/`z` are what actually filled; fall back to the order's own
        // price/quantity when the fill fields are absent or zero.
        let avg = o.avg_price.map(|p| frame::decimal(p, VENUE, K, "o.ap")).transpose()?;
        let price = match avg {
            Some(p) if !p.is_zero() => p,
            _ => frame::decimal(o.price, VENUE, K, "o.p")?,
        };
        let filled = o.filled_qty.map(|z| frame::decimal(z, VENUE, K, "o.z")).transpose()?;
        let size = match filled {
            Some(z) if !z.is_zero() => z,
            _ => frame::decimal(o.qty, VENUE, K, "o.q")?,
        };
        let time = o.trade_time.or(msg.event_time).unwrap_or(0);
        let id = format!("{}:{}:l:{time}:{}", self.venue, o.symbol, o.side);
        let mut event =
            Event::new(EventKind::Liquidation, self.venue, Sym::new(o.symbol), id, time);
        event.side = side;
        event.price = price;
        event.size = size;
        event.notional_usd = usd_notional(o.symbol, price, size);
        Ok(Parsed::Events(vec![event]))
    }
}

impl VenueParser for BinanceParser {
    fn parse_value(&self, value: &Value) -> Result<Parsed, ParseError> {
        let obj = value.as_object().ok_or_else(|| unrecognized("not a JSON object"))?;
        match (obj.get("stream"), obj.get("data")) {
            (Some(stream), Some(data)) => {
                let stream =
                    stream.as_str().ok_or_else(|| field("combined", "stream", "not a string"))?;
                self.payload(data, Some(stream))
            }
            _ => self.payload(value, None),
        }
    }
}

/// A payload without `e`: spot bookTicker, partial depth, acks, error replies.
/// Returns the kind to parse, or why the frame is ignored.
fn classify_untyped(
    obj: &Map<String, Value>,
    stream_type: Option<&str>,
) -> Result<Result<Kind, Ignored>, ParseError> {
    if let Some(t) = stream_type {
        return match t {
            "bookTicker" => Ok(Ok(Kind::BookTicker)),
            "trade" => Ok(Ok(Kind::Trade)),
            "aggTrade" => Ok(Ok(Kind::AggTrade)),
            "forceOrder" => Ok(Ok(Kind::ForceOrder)),
            "serverShutdown" => Ok(Err(Ignored::Control)),
            t if is_unhandled_stream(t) => Ok(Err(Ignored::Unhandled)),
            t => Err(unrecognized(&format!("stream type `{}`", frame::truncate(t)))),
        };
    }
    let has = |k: &str| obj.contains_key(k);
    if (has("result") && has("id")) || (has("code") && has("msg")) {
        Ok(Err(Ignored::Control))
    } else if has("lastUpdateId") {
        Ok(Err(Ignored::Unhandled))
    } else if ["u", "s", "b", "a"].iter().all(|k| has(k)) {
        Ok(Ok(Kind::BookTicker))
    } else {
        Err(unrecognized("no `e`, no stream name and no known shape"))
    }
}

/// `btcusdt@depth@100ms` → `depth`; `!forceOrder@arr` → `forceOrder`.
fn stream_type(stream: &str) -> &str {
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

fn field(kind: &'static str, field: &'static str, reason: &str) -> ParseError {
    ParseError::Field { venue: VENUE, kind, field, reason: reason.to_owned() }
}

/// What `trade` and `aggTrade` have in common.
struct TradeFields<'a> {
    symbol: &'a str,
    price: &'a str,
    qty: &'a str,
    buyer_is_maker: bool,
    time: Option<u64>,
}

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
    /// Futures only: order type behind the trade.
    #[serde(rename = "X")]
    order_type: Option<&'a str>,
}

#[derive(Deserialize)]
struct AggTradeMsg<'a> {
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "a")]
    agg_id: Option<u64>,
    #[serde(rename = "f")]
    first_id: Option<u64>,
    #[serde(rename = "l")]
    last_id: Option<u64>,
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
}

#[derive(Deserialize)]
struct BookTickerMsg<'a> {
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "u")]
    update_id: Option<u64>,
    #[serde(rename = "b")]
    bid: &'a str,
    #[serde(rename = "a")]
    ask: &'a str,
    #[serde(rename = "T")]
    trade_time: Option<u64>,
    #[serde(rename = "E")]
    event_time: Option<u64>,
}

#[derive(Deserialize)]
struct ForceOrderMsg<'a> {
    #[serde(rename = "E")]
    event_time: Option<u64>,
    #[serde(rename = "o", borrow)]
    order: ForceOrderInner<'a>,
}

#[derive(Deserialize)]
struct ForceOrderInner<'a> {
    #[serde(rename = "s")]
    symbol: &'a str,
    #[serde(rename = "S")]
    side: &'a str,
    #[serde(rename = "q")]
    qty: &'a str,
    #[serde(rename = "p")]
    price: &'a str,
    #[serde(rename = "ap")]
    avg_price: Option<&'a str>,
    #[serde(rename = "z")]
    filled_qty: Option<&'a str>,
    #[serde(rename = "T")]
    trade_time: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(frame: &str) -> Event {
        let mut events = BinanceParser::default().parse(frame).unwrap();
        assert_eq!(events.len(), 1, "{frame}");
        events.pop().unwrap()
    }

    fn ignored(frame: &str) -> Ignored {
        match BinanceParser::default().parse_frame(frame).unwrap() {
            Parsed::Ignored(why) => why,
            other => panic!("expected ignored, got {other:?}"),
        }
    }

    #[test]
    fn raw_trade_maker_buyer_means_taker_sold() {
        let e = one(
            r#"{"e":"trade","E":1672515782136,"s":"BNBUSDT","t":12345,"p":"300.5","q":"2","T":1672515782130,"m":true,"M":true}"#,
        );
        assert_eq!(e.id, "binance:BNBUSDT:t:12345");
        assert_eq!(e.side, Side::Sell);
        assert_eq!(e.exchange_time_ms, 1672515782130);
        assert_eq!(e.notional_usd, Some(Decimal::new(601, 0)));
    }

    #[test]
    fn non_usd_quote_has_no_notional() {
        let e = one(
            r#"{"e":"aggTrade","E":1,"s":"BNBBTC","a":7,"p":"0.001","q":"100","T":2,"m":false}"#,
        );
        assert_eq!(
            (e.id.as_str(), e.side, e.notional_usd),
            ("binance:BNBBTC:a:7", Side::Buy, None)
        );
    }

    #[test]
    fn raw_spot_book_ticker_by_shape() {
        let e = one(
            r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#,
        );
        assert_eq!(e.kind, EventKind::BookTop);
        assert_eq!(e.price, Decimal::new(2_535_855, 5));
        assert_eq!(e.exchange_time_ms, 0);
    }

    #[test]
    fn control_and_unhandled_frames_are_ignored() {
        assert_eq!(ignored(r#"{"result":null,"id":1}"#), Ignored::Control);
        assert_eq!(ignored(r#"{"code":2,"msg":"Invalid request","id":3}"#), Ignored::Control);
        assert_eq!(
            ignored(r#"{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}"#),
            Ignored::Control
        );
        assert_eq!(
            ignored(
                r#"{"stream":"x@depth20@100ms","data":{"lastUpdateId":1,"bids":[],"asks":[]}}"#
            ),
            Ignored::Unhandled
        );
        assert_eq!(ignored(r#"{"stream":"!ticker@arr","data":[]}"#), Ignored::Unhandled);
        assert_eq!(
            ignored(r#"{"u":1,"s":"X","b":"0","B":"0","a":"1","A":"1"}"#),
            Ignored::OneSidedBook
        );
    }

    #[test]
    fn garbage_is_an_error_naming_the_field() {
        let p = BinanceParser::default();
        let err = p.parse(r#"{"e":"trade","s":"X","t":1,"p":"abc","q":"1","m":true}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "binance `trade`: field `p`: `abc` is not a decimal: Invalid decimal: unknown character"
        );
        let err = p.parse(r#"{"e":"trade","s":"X","p":"1","q":"1","m":true}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `t`"), "{err}");
        assert!(p.parse(r#"{"e":"mystery"}"#).is_err());
        assert!(p.parse(r#"{"stream":"x@mystery","data":{}}"#).is_err());
        assert!(p.parse("[]").is_err());
    }

    #[test]
    fn stream_types() {
        assert_eq!(stream_type("btcusdt@depth@100ms"), "depth");
        assert_eq!(stream_type("!forceOrder@arr"), "forceOrder");
        assert_eq!(stream_type("nknusdt@kline_1m"), "kline_1m");
        assert_eq!(stream_type("nonsense"), "");
    }
}

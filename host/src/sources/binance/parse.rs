//! Binance spot and USD-M futures market-stream frames → [`Event`]s.
//!
//! Pure parsing (no sockets here; the live source reuses it). Reading a frame
//! into a typed [`Message`] is `message.rs`; this file turns messages into
//! events:
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

use std::cell::RefCell;

use ahash::AHashMap;
use rust_decimal::Decimal;

use super::message::{AggTradeMsg, BookTickerMsg, ForceOrderMsg, Message, TradeMsg, VENUE, field};
use crate::event::{Event, EventKind, Side, Sym, usd_notional};
use crate::sources::frame::{self, Ignored, ParseError, Parsed, VenueParser};

/// Parses Binance frames; events carry `venue` (default `binance`; set e.g.
/// `binance-futures` so spot and futures ids never collide).
#[derive(Debug, Clone)]
pub struct BinanceParser {
    venue: Sym,
    /// The venue's name, kept to build ids without a symbol-table lookup.
    venue_name: String,
}

impl Default for BinanceParser {
    fn default() -> Self {
        BinanceParser::new(VENUE)
    }
}

impl BinanceParser {
    pub fn new(venue: &str) -> BinanceParser {
        BinanceParser { venue: Sym::new(venue), venue_name: venue.to_owned() }
    }

    /// A classified frame → events or the reason it carries none.
    pub fn events(&self, message: &Message<'_>) -> Result<Parsed, ParseError> {
        match message {
            Message::Trade(m) => self.trade(m),
            Message::AggTrade(m) => self.agg_trade(m),
            Message::BookTicker(m) => self.book_ticker(m),
            Message::ForceOrder(m) => self.force_order(m),
            Message::Depth(_) => Ok(Parsed::Ignored(Ignored::Unhandled)),
            Message::Shutdown => Ok(Parsed::Ignored(Ignored::Control)),
            Message::Ignored(why) => Ok(Parsed::Ignored(*why)),
        }
    }

    /// `<venue>:<symbol>:<tag>`, the start of every id.
    fn id(&self, symbol: &str, tag: &str) -> String {
        let mut id = String::with_capacity(self.venue_name.len() + symbol.len() + tag.len() + 24);
        id.push_str(&self.venue_name);
        id.push(':');
        id.push_str(symbol);
        id.push_str(tag);
        id
    }

    fn trade(&self, msg: &TradeMsg<'_>) -> Result<Parsed, ParseError> {
        const K: &str = "trade";
        if msg.order_type.as_ref().is_some_and(|x| x != "MARKET") {
            return Ok(Parsed::Ignored(Ignored::NonMarketTrade));
        }
        let mut id = self.id(&msg.symbol, ":t:");
        push_u64(&mut id, msg.trade_id);
        let fields = TradeFields {
            symbol: &msg.symbol,
            price: &msg.price,
            qty: &msg.qty,
            buyer_is_maker: msg.maker,
            time: msg.trade_time.or(msg.event_time),
        };
        Ok(Parsed::Events(vec![self.trade_event(id, fields, K)?]))
    }

    fn agg_trade(&self, msg: &AggTradeMsg<'_>) -> Result<Parsed, ParseError> {
        const K: &str = "aggTrade";
        // Old futures recordings lack `a`; fall back to the underlying trade
        // ids, which are just as unique within the symbol.
        let id = match (msg.agg_id, msg.first_id, msg.last_id) {
            (Some(a), _, _) => {
                let mut id = self.id(&msg.symbol, ":a:");
                push_u64(&mut id, a);
                id
            }
            (None, Some(f), Some(l)) if f != l => {
                format!("{}:{}:t:{f}-{l}", self.venue_name, msg.symbol)
            }
            (None, Some(f), _) => format!("{}:{}:t:{f}", self.venue_name, msg.symbol),
            (None, None, _) => return Err(field(K, "a", "missing, and no `f` to fall back on")),
        };
        let fields = TradeFields {
            symbol: &msg.symbol,
            price: &msg.price,
            qty: &msg.qty,
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
            Event::new(EventKind::Trade, self.venue, symbol(t.symbol), id, t.time.unwrap_or(0));
        event.price = frame::decimal(t.price, VENUE, kind, "p")?;
        event.size = frame::decimal(t.qty, VENUE, kind, "q")?;
        event.side = if t.buyer_is_maker { Side::Sell } else { Side::Buy };
        event.notional_usd = usd_notional(t.symbol, event.price, event.size);
        Ok(event)
    }

    fn book_ticker(&self, msg: &BookTickerMsg<'_>) -> Result<Parsed, ParseError> {
        const K: &str = "bookTicker";
        let bid = frame::decimal(&msg.bid, VENUE, K, "b")?;
        let ask = frame::decimal(&msg.ask, VENUE, K, "a")?;
        // Binance sends "0" for an empty side; a mid price would be nonsense.
        if bid <= Decimal::ZERO || ask <= Decimal::ZERO {
            return Ok(Parsed::Ignored(Ignored::OneSidedBook));
        }
        let time = msg.trade_time.or(msg.event_time).unwrap_or(0);
        // `u` is the book update id, unique per symbol; fall back to time.
        let mut id = self.id(&msg.symbol, ":b:");
        push_u64(&mut id, msg.update_id.unwrap_or(time));
        let mut event = Event::new(EventKind::BookTop, self.venue, symbol(&msg.symbol), id, time);
        event.best_bid = Some(bid);
        event.best_ask = Some(ask);
        event.price = (bid + ask) / Decimal::TWO;
        Ok(Parsed::Events(vec![event]))
    }

    fn force_order(&self, msg: &ForceOrderMsg<'_>) -> Result<Parsed, ParseError> {
        const K: &str = "forceOrder";
        let o = &msg.order;
        let side = match o.side.as_ref() {
            "BUY" => Side::Buy,
            "SELL" => Side::Sell,
            other => {
                return Err(field(K, "o.S", &format!("unknown side `{}`", frame::truncate(other))));
            }
        };
        // `ap`/`z` are what actually filled; fall back to the order's own
        // price/quantity when the fill fields are absent or zero.
        let avg = o.avg_price.as_ref().map(|p| frame::decimal(p, VENUE, K, "o.ap")).transpose()?;
        let price = match avg {
            Some(p) if !p.is_zero() => p,
            _ => frame::decimal(&o.price, VENUE, K, "o.p")?,
        };
        let filled =
            o.filled_qty.as_ref().map(|z| frame::decimal(z, VENUE, K, "o.z")).transpose()?;
        let size = match filled {
            Some(z) if !z.is_zero() => z,
            _ => frame::decimal(&o.qty, VENUE, K, "o.q")?,
        };
        let time = o.trade_time.or(msg.event_time).unwrap_or(0);
        let id = format!("{}:{}:l:{time}:{}", self.venue_name, o.symbol, o.side);
        let mut event = Event::new(EventKind::Liquidation, self.venue, symbol(&o.symbol), id, time);
        event.side = side;
        event.price = price;
        event.size = size;
        event.notional_usd = usd_notional(&o.symbol, price, size);
        Ok(Parsed::Events(vec![event]))
    }
}

impl VenueParser for BinanceParser {
    fn parse_frame(&self, frame: &str) -> Result<Parsed, ParseError> {
        self.events(&Message::read(frame)?)
    }
}

/// `Sym::new(name)`, from a per-thread cache first: the global table takes
/// a lock on every look-up, and the same few symbols come in every frame.
fn symbol(name: &str) -> Sym {
    /// Past this many names the cache starts over (the table itself keeps
    /// them all); far more than one connection's symbols.
    const CAP: usize = 4096;
    thread_local! {
        static CACHE: RefCell<AHashMap<Box<str>, Sym>> = RefCell::new(AHashMap::new());
    }
    CACHE.with_borrow_mut(|cache| {
        if let Some(&sym) = cache.get(name) {
            return sym;
        }
        if cache.len() >= CAP {
            cache.clear();
        }
        let sym = Sym::new(name);
        cache.insert(name.into(), sym);
        sym
    })
}

/// Append a decimal number; ids are built per trade, and `format!` costs more.
fn push_u64(out: &mut String, n: u64) {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let _ = write!(out, "{n}");
}

/// What `trade` and `aggTrade` have in common.
struct TradeFields<'a> {
    symbol: &'a str,
    price: &'a str,
    qty: &'a str,
    buyer_is_maker: bool,
    time: Option<u64>,
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
    fn cached_symbols_are_the_interned_ones() {
        for name in ["BTCUSDT", "ETHUSDT", "BTCUSDT"] {
            assert_eq!(symbol(name), Sym::new(name));
        }
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
}

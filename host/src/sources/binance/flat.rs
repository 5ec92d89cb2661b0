//! The hot frames read by a scanner made for them: a combined `@trade`,
//! `@aggTrade` or `@bookTicker` frame exactly as Binance sends it, compact,
//! `stream` first, a flat payload of plain strings, unsigned integers,
//! booleans and nulls.
//!
//! Even in one pass, serde_json spent most of a trade frame's time in its
//! generic string and key machinery; these frames are ~170 bytes of one-
//! and two-letter keys, which a byte loop reads in a fraction of that.
//!
//! The scanner accepts a strict subset of JSON and reads it exactly as
//! serde would read it into the same structs (strings without escapes
//! borrow, integers are decimal `u64` without leading zeros, a `null`
//! optional is absent). Anything outside the subset (whitespace, escapes,
//! floats, negatives, nesting, duplicate fields, a mistyped field, an `e`
//! that disagrees, trailing text) returns `None`, and the caller falls back
//! to serde (`combined.rs`, then the general path), which decides and
//! reports as before. Tests below check the two agree on mutated frames.

use std::borrow::Cow;
use std::sync::LazyLock;

use serde_json::value::RawValue;

use super::message::{AggTradeMsg, BookTickerMsg, Kind, Message, TradeMsg, stream_type};

/// The frame's message, if it is one of the hot frames in the subset.
pub(super) fn read(frame: &str) -> Option<Message<'_>> {
    let mut c = Cursor { text: frame, at: 0 };
    c.literal("{\"stream\":")?;
    let kind = Kind::of_stream(stream_type(c.string()?))?;
    c.literal(",\"data\":")?;
    let message = match kind {
        Kind::Trade => Message::Trade(trade(&mut c)?),
        Kind::AggTrade => Message::AggTrade(agg_trade(&mut c)?),
        Kind::BookTicker => Message::BookTicker(book_ticker(&mut c)?),
        // Nested (`o`): serde's one pass reads it.
        Kind::ForceOrder => return None,
    };
    c.literal("}")?;
    (c.at == frame.len()).then_some(message)
}

fn trade<'a>(c: &mut Cursor<'a>) -> Option<TradeMsg<'a>> {
    let [e, s, t, p, q, tt, et, m, x] = c.object(["e", "s", "t", "p", "q", "T", "E", "m", "X"])?;
    Some(TradeMsg {
        e: tag(e, Kind::Trade)?,
        symbol: string(s)?,
        trade_id: integer(t)?,
        price: string(p)?,
        qty: string(q)?,
        trade_time: optional(tt, integer)?,
        event_time: optional(et, integer)?,
        maker: boolean(m)?,
        order_type: optional(x, string)?,
    })
}

fn agg_trade<'a>(c: &mut Cursor<'a>) -> Option<AggTradeMsg<'a>> {
    let keys = ["e", "s", "a", "f", "l", "p", "q", "T", "E", "m"];
    let [e, s, a, f, l, p, q, tt, et, m] = c.object(keys)?;
    Some(AggTradeMsg {
        e: tag(e, Kind::AggTrade)?,
        symbol: string(s)?,
        agg_id: optional(a, integer)?,
        first_id: optional(f, integer)?,
        last_id: optional(l, integer)?,
        price: string(p)?,
        qty: string(q)?,
        trade_time: optional(tt, integer)?,
        event_time: optional(et, integer)?,
        maker: boolean(m)?,
    })
}

fn book_ticker<'a>(c: &mut Cursor<'a>) -> Option<BookTickerMsg<'a>> {
    let [e, s, u, b, a, tt, et] = c.object(["e", "s", "u", "b", "a", "T", "E"])?;
    Some(BookTickerMsg {
        e: tag(e, Kind::BookTicker)?,
        symbol: string(s)?,
        update_id: optional(u, integer)?,
        bid: string(b)?,
        ask: string(a)?,
        trade_time: optional(tt, integer)?,
        event_time: optional(et, integer)?,
    })
}

/// A value of the subset.
#[derive(Debug, Clone, Copy)]
enum Scalar<'a> {
    Str(&'a str),
    Int(u64),
    Bool(bool),
    Null,
}

// Field conversions, as serde's derive does them; `None` = leave to serde.

fn string(v: Option<Scalar<'_>>) -> Option<Cow<'_, str>> {
    match v? {
        Scalar::Str(s) => Some(Cow::Borrowed(s)),
        _ => None,
    }
}

fn integer(v: Option<Scalar<'_>>) -> Option<u64> {
    match v? {
        Scalar::Int(n) => Some(n),
        _ => None,
    }
}

fn boolean(v: Option<Scalar<'_>>) -> Option<bool> {
    match v? {
        Scalar::Bool(b) => Some(b),
        _ => None,
    }
}

/// An `Option<T>` field: absent or `null` is `None`.
fn optional<'a, T>(
    v: Option<Scalar<'a>>,
    read: fn(Option<Scalar<'a>>) -> Option<T>,
) -> Option<Option<T>> {
    match v {
        None | Some(Scalar::Null) => Some(None),
        Some(_) => read(v).map(Some),
    }
}

/// `e`: absent, or exactly the kind's name (serde keeps its raw text, so
/// the message holds the same text, from a static).
fn tag(v: Option<Scalar<'_>>, kind: Kind) -> Option<Option<&'static RawValue>> {
    static TAGS: LazyLock<[Option<&'static RawValue>; 3]> = LazyLock::new(|| {
        [Kind::Trade, Kind::AggTrade, Kind::BookTicker]
            .map(|k| serde_json::from_str(k.quoted()).ok())
    });
    let Some(v) = v else { return Some(None) };
    let raw = match kind {
        Kind::Trade => TAGS[0],
        Kind::AggTrade => TAGS[1],
        Kind::BookTicker => TAGS[2],
        Kind::ForceOrder => None,
    }?;
    matches!(v, Scalar::Str(s) if raw.get().get(1..raw.get().len() - 1) == Some(s))
        .then_some(Some(raw))
}

/// A position in the frame; always on a char boundary (it only ever steps
/// over ASCII bytes and whole strings).
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        self.text.as_bytes().get(self.at..).unwrap_or_default()
    }

    fn literal(&mut self, want: &str) -> Option<()> {
        self.rest().starts_with(want.as_bytes()).then(|| self.at += want.len())
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.literal("\"")?;
        let len = self.rest().iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        let (start, end) = (self.at, self.at + len);
        self.literal_at(end, b'"')?;
        self.text.get(start..end)
    }

    fn literal_at(&mut self, at: usize, want: u8) -> Option<()> {
        (self.text.as_bytes().get(at) == Some(&want)).then(|| self.at = at + 1)
    }

    /// A JSON integer that fits a `u64`: digits, no leading zero. What
    /// follows is checked by the caller (a `.` or `e` is then refused).
    fn integer(&mut self) -> Option<u64> {
        let rest = self.rest();
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || (digits > 1 && rest[0] == b'0') {
            return None;
        }
        let n = rest[..digits]
            .iter()
            .try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))?;
        self.at += digits;
        Some(n)
    }

    fn scalar(&mut self) -> Option<Scalar<'a>> {
        match self.rest().first()? {
            b'"' => self.string().map(Scalar::Str),
            b't' => self.literal("true").map(|()| Scalar::Bool(true)),
            b'f' => self.literal("false").map(|()| Scalar::Bool(false)),
            b'n' => self.literal("null").map(|()| Scalar::Null),
            _ => self.integer().map(Scalar::Int),
        }
    }

    /// A flat object: the values of `keys`, in that order; other keys'
    /// values are skipped (serde ignores them too). A key given twice is
    /// refused, as serde's derive refuses a duplicate field.
    fn object<const N: usize>(&mut self, keys: [&str; N]) -> Option<[Option<Scalar<'a>>; N]> {
        let mut values = [None; N];
        self.literal("{")?;
        if self.literal("}").is_some() {
            return Some(values);
        }
        loop {
            let key = self.string()?;
            self.literal(":")?;
            let value = self.scalar()?;
            if let Some(i) = keys.iter().position(|k| *k == key)
                && values[i].replace(value).is_some()
            {
                return None;
            }
            match self.rest().first()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(values);
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
#[path = "flat_tests.rs"]
mod tests;

//! Never emit a trade (or liquidation) twice: a reconnect, or a venue
//! replaying recent frames, must not produce duplicate alerts.
//!
//! Binance ids grow per symbol: trade id `t` on `@trade`, aggregate id `a`
//! on `@aggTrade`, and for `@forceOrder` (one push per symbol per second at
//! most) the order's trade time `T`. So per (symbol, kind) the source keeps
//! the last id it emitted and skips anything at or below it.
//!
//! Pure; the memory is one entry per subscribed symbol and kind, which the
//! config bounds. Survives reconnects by design (the owner keeps it).

use std::collections::HashMap;

use serde_json::Value;

/// Which id sequence a payload belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Seq {
    Trade,
    AggTrade,
    Liquidation,
}

#[derive(Debug, Default)]
pub struct Dedup {
    last: HashMap<(String, Seq), u64>,
}

impl Dedup {
    /// Whether the payload is new; remembers it if so. Payloads without a
    /// recognizable id pass (the parser decides what they are).
    pub fn admit(&mut self, data: &Value) -> bool {
        let Some((symbol, seq, id)) = sequence_of(data) else { return true };
        match self.last.get_mut(&(symbol.to_owned(), seq)) {
            Some(last) if id <= *last => false,
            Some(last) => {
                *last = id;
                true
            }
            None => {
                self.last.insert((symbol.to_owned(), seq), id);
                true
            }
        }
    }
}

/// (symbol, sequence, id) of a trade, aggTrade or forceOrder payload.
pub fn sequence_of(data: &Value) -> Option<(&str, Seq, u64)> {
    let u64_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64);
    match data.get("e")?.as_str()? {
        "trade" => Some((data.get("s")?.as_str()?, Seq::Trade, u64_of(data, "t")?)),
        "aggTrade" => Some((data.get("s")?.as_str()?, Seq::AggTrade, u64_of(data, "a")?)),
        "forceOrder" => {
            let order = data.get("o")?;
            Some((order.get("s")?.as_str()?, Seq::Liquidation, u64_of(order, "T")?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn skips_ids_at_or_below_the_last_emitted_per_symbol_and_kind() {
        let mut dedup = Dedup::default();
        let t = |sym: &str, id: u64| v(&format!(r#"{{"e":"trade","s":"{sym}","t":{id}}}"#));
        assert!(dedup.admit(&t("BTCUSDT", 5)));
        assert!(!dedup.admit(&t("BTCUSDT", 5)));
        assert!(!dedup.admit(&t("BTCUSDT", 4)));
        assert!(dedup.admit(&t("ETHUSDT", 1)), "per symbol");
        assert!(dedup.admit(&t("BTCUSDT", 6)));
        assert!(dedup.admit(&v(r#"{"e":"aggTrade","s":"BTCUSDT","a":1}"#)), "per kind");
        let liq = v(r#"{"e":"forceOrder","o":{"s":"BTCUSDT","T":100}}"#);
        assert!(dedup.admit(&liq) && !dedup.admit(&liq));
        assert!(dedup.admit(&v(r#"{"e":"trade"}"#)), "no id: the parser judges it");
    }
}

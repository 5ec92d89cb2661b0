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

/// Which id sequence a payload belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Seq {
    Trade,
    AggTrade,
    Liquidation,
}

#[derive(Debug, Default)]
pub struct Dedup {
    /// Per symbol, the last id emitted in each [`Seq`] (indexed by it).
    /// Keyed by symbol alone so a lookup borrows the frame's `&str`.
    last: HashMap<String, [Option<u64>; 3]>,
}

impl Dedup {
    /// Whether a payload with this (symbol, sequence, id) is new; remembers
    /// it if so. Payloads without a recognizable id (`None`, see
    /// [`super::Message::sequence`]) pass: the parser decides what they are.
    pub fn admit(&mut self, sequence: Option<(&str, Seq, u64)>) -> bool {
        let Some((symbol, seq, id)) = sequence else { return true };
        let Some(slots) = self.last.get_mut(symbol) else {
            let mut slots = [None; 3];
            slots[seq as usize] = Some(id);
            self.last.insert(symbol.to_owned(), slots);
            return true;
        };
        let slot = &mut slots[seq as usize];
        match slot {
            Some(last) if id <= *last => false,
            _ => {
                *slot = Some(id);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::binance::Message;

    fn admit(dedup: &mut Dedup, frame: &str) -> bool {
        dedup.admit(Message::read(frame).unwrap().sequence())
    }

    #[test]
    fn skips_ids_at_or_below_the_last_emitted_per_symbol_and_kind() {
        let mut dedup = Dedup::default();
        let t = |sym: &str, id: u64| {
            format!(r#"{{"e":"trade","s":"{sym}","t":{id},"p":"1","q":"1","m":true}}"#)
        };
        assert!(admit(&mut dedup, &t("BTCUSDT", 5)));
        assert!(!admit(&mut dedup, &t("BTCUSDT", 5)));
        assert!(!admit(&mut dedup, &t("BTCUSDT", 4)));
        assert!(admit(&mut dedup, &t("ETHUSDT", 1)), "per symbol");
        assert!(admit(&mut dedup, &t("BTCUSDT", 6)));
        let agg = r#"{"e":"aggTrade","s":"BTCUSDT","a":1,"p":"1","q":"1","m":true}"#;
        assert!(admit(&mut dedup, agg), "per kind");
        let liq = r#"{"e":"forceOrder","o":{"s":"BTCUSDT","S":"BUY","q":"1","p":"1","T":100}}"#;
        assert!(admit(&mut dedup, liq) && !admit(&mut dedup, liq));
        let no_id = r#"{"e":"aggTrade","s":"BTCUSDT","f":1,"p":"1","q":"1","m":true}"#;
        assert!(
            admit(&mut dedup, no_id) && admit(&mut dedup, no_id),
            "no id: the parser judges it"
        );
    }
}

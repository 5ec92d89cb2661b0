//! Drops trades and fills already emitted: Hyperliquid has no resume, so a
//! reconnect replays recent trades (~30 per coin, right after subscribing)
//! and the user streams re-send fills missed or not, and the same fill
//! arrives on both `userFills` and `userEvents`.
//!
//! Keys are the event ids the parser builds: `<venue>:<coin>:<tid>` for a
//! trade and `<venue>:fill:<hash>:<tid>:<side>` for a fill (hash and tid
//! identify the trade; the side tells its two counterparties apart when both
//! are tracked). Book tops are never deduplicated: each is a fresh state.
//! Memory is bounded by a moka cache with a TTL and a capacity; an id seen
//! again after its TTL is emitted again, which only matters after an outage
//! longer than the TTL.

use std::time::Duration;

use moka::sync::Cache;

use crate::event::{Event, EventKind};

pub struct Dedup {
    seen: Cache<String, ()>,
}

impl Dedup {
    pub fn new(ttl: Duration, capacity: u64) -> Dedup {
        Dedup { seen: Cache::builder().time_to_live(ttl).max_capacity(capacity).build() }
    }

    /// `true` the first time an event is seen (emit it), `false` for a
    /// repeat. Kinds that are not deduplicated are always new.
    pub fn first_time(&self, event: &Event) -> bool {
        match event.kind {
            EventKind::Trade | EventKind::PerpFill | EventKind::Liquidation => {
                self.seen.entry_by_ref(&event.id).or_insert(()).is_fresh()
            }
            EventKind::BookTop | EventKind::Swap => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Sym;

    fn event(kind: EventKind, id: &str) -> Event {
        Event::new(kind, Sym::new("hyperliquid"), Sym::new("BTC"), id.to_owned(), 1)
    }

    #[test]
    fn trades_and_fills_pass_once_books_always() {
        let d = Dedup::new(Duration::from_secs(60), 100);
        for kind in [EventKind::Trade, EventKind::PerpFill, EventKind::Liquidation] {
            let id = format!("{kind:?}:1");
            assert!(d.first_time(&event(kind, &id)));
            assert!(!d.first_time(&event(kind, &id)), "{kind:?} repeat");
        }
        assert!(d.first_time(&event(EventKind::Trade, "hyperliquid:BTC:2")));
        assert!(d.first_time(&event(EventKind::BookTop, "hyperliquid:BTC:book:1")));
        assert!(d.first_time(&event(EventKind::BookTop, "hyperliquid:BTC:book:1")));
    }
}

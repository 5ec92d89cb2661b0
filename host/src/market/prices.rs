//! `Prices`: a cheap, read-only view of last prices for plugin worker threads.
//!
//! The market stage is the only writer; plugin workers read through the
//! `price(symbol)` host import. The map is `RwLock<name → Arc<PriceCell>>`
//! and each cell is an `AtomicU64` holding the price's `f64` bits:
//!
//! * a price update on the hot path is one relaxed atomic store into the cell
//!   the symbol's state already holds, with no lock and no hashing;
//! * the write lock is taken only when a symbol is admitted or evicted, which
//!   is bounded by `MarketConfig::max_symbols` churn, and held for one insert;
//! * readers take the read lock for one lookup and one atomic load.
//!
//! The alternatives cost more: a `RwLock<HashMap<_, f64>>` written on every
//! trade makes the pipeline contend with every reader, and an `ArcSwap` of the
//! whole map copies it (10 000 entries) on every admission, which DEX token
//! churn makes frequent. Relaxed ordering is enough: a cell is a single value
//! and readers need no ordering with anything else. A reader may see a price
//! one event older than the pipeline's, which a host import cannot tell apart.
//!
//! Keys are symbol names, not `Sym` ids, so a plugin's `price("BTCUSDT")`
//! never interns the string it was handed (the interner only grows).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use ahash::AHashMap;

/// Last price of one symbol; NaN bits until the first price.
#[derive(Debug)]
pub(super) struct PriceCell(AtomicU64);

impl PriceCell {
    fn new() -> PriceCell {
        PriceCell(AtomicU64::new(f64::NAN.to_bits()))
    }

    pub(super) fn set(&self, price: f64) {
        self.0.store(price.to_bits(), Ordering::Relaxed);
    }

    fn get(&self) -> Option<f64> {
        let price = f64::from_bits(self.0.load(Ordering::Relaxed));
        (!price.is_nan()).then_some(price)
    }
}

type Map = AHashMap<Arc<str>, Arc<PriceCell>>;

/// Read-only handle to the last price of every symbol the market stage holds.
///
/// Clone it freely (one `Arc`); it stays valid after the `MarketState` that
/// made it is dropped, and then answers with the prices it last had.
#[derive(Debug, Clone, Default)]
pub struct Prices {
    map: Arc<RwLock<Map>>,
}

impl Prices {
    /// Last price of `symbol` on any venue, or `None` if the market stage holds
    /// no price for it (never seen, evicted, or only seen without a price).
    pub fn get(&self, symbol: &str) -> Option<f64> {
        // A poisoned lock only means a writer panicked mid-insert; the map of
        // plain values is still usable, and readers must not panic.
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        map.get(symbol).and_then(|cell| cell.get())
    }

    /// Symbols currently tracked (with or without a price yet).
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Start answering for `name`; the market stage keeps the returned cell.
    /// Instruments of one name on several venues share one cell: `price`
    /// answers "on any venue", with the latest price any of them set.
    pub(super) fn register(&self, name: Arc<str>) -> Arc<PriceCell> {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        map.entry(name).or_insert_with(|| Arc::new(PriceCell::new())).clone()
    }

    /// An instrument holding `cell` for `name` was evicted: stop answering
    /// once no other instrument of that name holds it.
    pub(super) fn unregister(&self, name: &str, cell: Arc<PriceCell>) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        // The map's reference and `cell`: nobody else holds it.
        if Arc::strong_count(&cell) <= 2 {
            map.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}

    fn reader_get(prices: &Prices) -> Option<f64> {
        prices.get("ETHUSDT")
    }

    #[test]
    fn cells_publish_to_readers_on_other_threads() {
        assert_send_sync::<Prices>();
        let prices = Prices::default();
        let cell = prices.register(Arc::from("ETHUSDT"));
        assert_eq!(prices.get("ETHUSDT"), None, "registered without a price yet");
        cell.set(3_000.5);
        let reader = prices.clone();
        let seen = std::thread::spawn(move || reader.get("ETHUSDT")).join().unwrap();
        assert_eq!(seen, Some(3_000.5));
        let other_venue = prices.register(Arc::from("ETHUSDT"));
        other_venue.set(3_001.0);
        assert_eq!(reader_get(&prices), Some(3_001.0), "one name, one cell: any venue");
        prices.unregister("ETHUSDT", cell);
        assert_eq!(prices.get("ETHUSDT"), Some(3_001.0), "still held by the other venue");
        prices.unregister("ETHUSDT", other_venue);
        assert_eq!(prices.get("ETHUSDT"), None);
        assert!(prices.is_empty());
    }
}

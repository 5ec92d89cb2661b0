//! Route: which templates want an event, through an index, not a scan.
//!
//! Templates that name symbols are indexed by symbol; templates that name
//! accounts (and no symbols) by account; the rest match any symbol and sit
//! in one list. A lookup touches only the candidates from those three
//! places, then checks their remaining selectors (venue, kind).
//!
//! A DEX swap answers to three names in `symbols`: its identity
//! (`PEPE/WETH@0x6982…`), its ticker (`PEPE/WETH`, which copycats share) and
//! its token's address or mint (`0x6982…`, any case for EVM).
//!
//! A template under a rollout is planned twice, a stable and a canary
//! entry, each with the same [`KeySplit`] from opposite sides: an event
//! goes to exactly one of them, by a stable hash of its key, so no event
//! is lost or evaluated twice, and a key stays on one arm across restarts.

use ahash::AHashMap;

use crate::config::{KeyScope, Selectors, ShardKey};
use crate::event::{Event, EventKind, Sym};

/// A template's selectors with names interned once.
#[derive(Debug, Default, Clone)]
struct Compiled {
    venues: Vec<Sym>,
    kinds: Vec<EventKind>,
    accounts: Vec<Sym>,
    split: Option<KeySplit>,
}

impl Compiled {
    /// No selector beyond the index's: admits every event it is looked up for.
    fn is_open(&self) -> bool {
        self.venues.is_empty()
            && self.kinds.is_empty()
            && self.accounts.is_empty()
            && self.split.is_none()
    }

    fn admits(&self, ev: &Event) -> bool {
        (self.venues.is_empty() || self.venues.contains(&ev.venue))
            && (self.kinds.is_empty() || self.kinds.contains(&ev.kind))
            && (self.accounts.is_empty() || ev.account.is_some_and(|a| self.accounts.contains(&a)))
            && self.split.as_ref().is_none_or(|s| s.admits(ev))
    }
}

/// One side of a rollout's split of keys: the key an event is sharded by
/// (its instrument, per venue unless the template keys across venues, or
/// its account), hashed with xxh3 into [0, 2^64); the canary takes the
/// hashes below `share`, the stable arm the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeySplit {
    pub share: f64,
    pub canary: bool,
    pub by: ShardKey,
    pub scope: KeyScope,
}

impl KeySplit {
    fn admits(&self, ev: &Event) -> bool {
        self.on_canary(&split_key(ev, self.by, self.scope)) == self.canary
    }

    /// Whether `key` (as [`split_key`] builds it) is on the canary.
    pub fn on_canary(&self, key: &str) -> bool {
        let bucket = xxhash_rust::xxh3::xxh3_64(key.as_bytes()) as f64 / u64::MAX as f64;
        bucket < self.share
    }
}

/// The key a rollout splits on: `venue/symbol`, `symbol` (cross-venue) or
/// the account; an event without an account splits by its instrument.
pub fn split_key(ev: &Event, by: ShardKey, scope: KeyScope) -> String {
    match (by, ev.account, scope) {
        (ShardKey::Account, Some(account), _) => account.name().to_string(),
        (_, _, KeyScope::CrossVenue) => ev.symbol.name().to_string(),
        (_, _, KeyScope::PerVenue) => format!("{}/{}", ev.venue.name(), ev.symbol.name()),
    }
}

#[derive(Debug, Default)]
pub struct RouteIndex {
    selectors: Vec<Compiled>,
    by_symbol: AHashMap<Sym, Vec<u32>>,
    by_account: AHashMap<Sym, Vec<u32>>,
    any: Vec<u32>,
    /// Every template of `any` is open: a lookup takes the list whole.
    any_open: bool,
}

impl RouteIndex {
    /// Index templates; `selectors[i]` belongs to template `i` of the plan.
    pub fn build(selectors: &[(&Selectors, Option<KeySplit>)]) -> RouteIndex {
        let mut index = RouteIndex::default();
        for (i, (s, split)) in selectors.iter().enumerate() {
            let i = i as u32;
            let intern = |names: &[String]| names.iter().map(|n| Sym::new(n)).collect::<Vec<_>>();
            let accounts = intern(&s.accounts);
            if !s.symbols.is_empty() {
                for sym in s.symbols.iter().map(|n| symbol_selector(n)) {
                    index.by_symbol.entry(sym).or_default().push(i);
                }
            } else if !accounts.is_empty() {
                for acc in &accounts {
                    index.by_account.entry(*acc).or_default().push(i);
                }
            } else {
                index.any.push(i);
            }
            index.selectors.push(Compiled {
                venues: intern(&s.venues),
                kinds: s.kinds.clone(),
                accounts,
                split: *split,
            });
        }
        // Each list ascending and without repeats (a template may name a
        // symbol twice), so a lookup that meets one list needs no sort.
        for list in index.by_symbol.values_mut().chain(index.by_account.values_mut()) {
            list.dedup();
        }
        index.any_open = index.any.iter().all(|&i| index.selectors[i as usize].is_open());
        index
    }

    /// Append the indices of templates matching `ev` to `out`, ascending.
    pub fn route(&self, ev: &Event, out: &mut Vec<u32>) {
        let start = out.len();
        let named = |sym: Sym| self.by_symbol.get(&sym).map(Vec::as_slice).unwrap_or_default();
        let listed = ev.listing.map(|l| [named(l.ticker), named(l.address)]).unwrap_or_default();
        let by_account =
            ev.account.and_then(|a| self.by_account.get(&a)).map(Vec::as_slice).unwrap_or_default();
        let lists = [named(ev.symbol), listed[0], listed[1], by_account];
        let mut met = usize::from(!self.any.is_empty());
        for list in lists.into_iter().filter(|l| !l.is_empty()) {
            met += 1;
            out.extend(list.iter().filter(|&&i| self.selectors[i as usize].admits(ev)));
        }
        if self.any_open {
            out.extend_from_slice(&self.any);
        } else {
            out.extend(self.any.iter().filter(|&&i| self.selectors[i as usize].admits(ev)));
        }
        if met <= 1 {
            return;
        }
        out[start..].sort_unstable();
        let mut kept = start;
        for j in start..out.len() {
            if kept == start || out[kept - 1] != out[j] {
                out[kept] = out[j];
                kept += 1;
            }
        }
        out.truncate(kept);
    }
}

/// A `symbols` name, interned: EVM addresses in lowercase, as sources and
/// watchlists write them; anything else as written.
fn symbol_selector(name: &str) -> Sym {
    let is_evm_address =
        name.len() == 42 && name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x"));
    if is_evm_address { Sym::new(&name.to_ascii_lowercase()) } else { Sym::new(name) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(symbol: &str, kind: EventKind, account: Option<&str>) -> Event {
        let mut e = Event::new(kind, Sym::new("binance"), Sym::new(symbol), "x".into(), 0);
        e.account = account.map(Sym::new);
        e
    }

    #[test]
    fn routes_by_symbol_account_and_wildcard() {
        let by_symbol = Selectors { symbols: vec!["BTCUSDT".into()], ..Default::default() };
        let by_account = Selectors {
            accounts: vec!["0xabc".into()],
            kinds: vec![EventKind::PerpFill],
            ..Default::default()
        };
        let trades_anywhere = Selectors { kinds: vec![EventKind::Trade], ..Default::default() };
        let other_venue = Selectors { venues: vec!["hyperliquid".into()], ..Default::default() };
        let all = [&by_symbol, &by_account, &trades_anywhere, &other_venue];
        let index = RouteIndex::build(&all.map(|s| (s, None)));

        let mut out = Vec::new();
        index.route(&ev("BTCUSDT", EventKind::Trade, None), &mut out);
        assert_eq!(out, vec![0, 2]);
        out.clear();
        index.route(&ev("ETH", EventKind::PerpFill, Some("0xabc")), &mut out);
        assert_eq!(out, vec![1]);
        out.clear();
        index.route(&ev("ETH", EventKind::PerpFill, Some("0xdef")), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn a_split_sends_each_event_to_exactly_one_arm_in_the_share_asked() {
        let any = Selectors::default();
        let split = |canary| KeySplit {
            share: 0.1,
            canary,
            by: ShardKey::Symbol,
            scope: KeyScope::PerVenue,
        };
        let index = RouteIndex::build(&[(&any, Some(split(false))), (&any, Some(split(true)))]);
        let mut canary = 0;
        for i in 0..10_000 {
            let mut out = Vec::new();
            index.route(&ev(&format!("SYM{i}"), EventKind::Trade, None), &mut out);
            assert_eq!(out.len(), 1, "one arm per event");
            canary += usize::from(out[0] == 1);
        }
        // 10% of 10,000 keys: σ = 30, so 900..1100 is over 3σ either way.
        assert!((900..1100).contains(&canary), "{canary} keys on the canary");
    }
}

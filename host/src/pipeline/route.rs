//! Route: which templates want an event, through an index, not a scan.
//!
//! Templates that name symbols are indexed by symbol; templates that name
//! accounts (and no symbols) by account; the rest match any symbol and sit
//! in one list. A lookup touches only the candidates from those three
//! places, then checks their remaining selectors (venue, kind).

use ahash::AHashMap;

use crate::config::Selectors;
use crate::event::{Event, EventKind, Sym};

/// A template's selectors with names interned once.
#[derive(Debug, Default, Clone)]
struct Compiled {
    venues: Vec<Sym>,
    kinds: Vec<EventKind>,
    accounts: Vec<Sym>,
}

impl Compiled {
    fn admits(&self, ev: &Event) -> bool {
        (self.venues.is_empty() || self.venues.contains(&ev.venue))
            && (self.kinds.is_empty() || self.kinds.contains(&ev.kind))
            && (self.accounts.is_empty() || ev.account.is_some_and(|a| self.accounts.contains(&a)))
    }
}

#[derive(Debug, Default)]
pub struct RouteIndex {
    selectors: Vec<Compiled>,
    by_symbol: AHashMap<Sym, Vec<u32>>,
    by_account: AHashMap<Sym, Vec<u32>>,
    any: Vec<u32>,
}

impl RouteIndex {
    /// Index templates; `selectors[i]` belongs to template `i` of the plan.
    pub fn build(selectors: &[&Selectors]) -> RouteIndex {
        let mut index = RouteIndex::default();
        for (i, s) in selectors.iter().enumerate() {
            let i = i as u32;
            let intern = |names: &[String]| names.iter().map(|n| Sym::new(n)).collect::<Vec<_>>();
            let accounts = intern(&s.accounts);
            if !s.symbols.is_empty() {
                for sym in intern(&s.symbols) {
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
            });
        }
        index
    }

    /// Append the indices of templates matching `ev` to `out`, ascending.
    pub fn route(&self, ev: &Event, out: &mut Vec<u32>) {
        let start = out.len();
        let by_symbol = self.by_symbol.get(&ev.symbol).map(Vec::as_slice).unwrap_or_default();
        let by_account =
            ev.account.and_then(|a| self.by_account.get(&a)).map(Vec::as_slice).unwrap_or_default();
        for &i in by_symbol.iter().chain(by_account).chain(&self.any) {
            if self.selectors[i as usize].admits(ev) {
                out.push(i);
            }
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
        let index = RouteIndex::build(&[&by_symbol, &by_account, &trades_anywhere, &other_venue]);

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
}

//! What the templates want to see, so that sources which subscribe per
//! symbol or per account (Hyperliquid) subscribe to exactly that.
//!
//! The app publishes an [`Interest`] on a `watch` channel at start and after
//! every applied reload; sources read it and never look at templates
//! themselves. Config flows to sources; nothing flows back.

use std::collections::BTreeSet;

use crate::config::Selectors;

/// The selectors of every enabled template.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interest {
    selectors: Vec<Selectors>,
}

/// What the templates that can see one venue name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VenueInterest {
    /// Symbols named by those templates.
    pub symbols: BTreeSet<String>,
    /// Accounts named by those templates.
    pub accounts: BTreeSet<String>,
    /// Some template sees every symbol of the venue (no `symbols` selector).
    pub all_symbols: bool,
}

impl Interest {
    pub fn new(selectors: impl IntoIterator<Item = Selectors>) -> Interest {
        Interest { selectors: selectors.into_iter().collect() }
    }

    /// Interest of the templates whose `venues` is empty or names `venue`.
    pub fn for_venue(&self, venue: &str) -> VenueInterest {
        let mut out = VenueInterest::default();
        for s in self
            .selectors
            .iter()
            .filter(|s| s.venues.is_empty() || s.venues.iter().any(|v| v == venue))
        {
            out.symbols.extend(s.symbols.iter().cloned());
            out.accounts.extend(s.accounts.iter().cloned());
            out.all_symbols |= s.symbols.is_empty();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(venues: &[&str], symbols: &[&str], accounts: &[&str]) -> Selectors {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Selectors {
            venues: own(venues),
            symbols: own(symbols),
            accounts: own(accounts),
            kinds: vec![],
        }
    }

    #[test]
    fn venue_interest_unions_matching_templates_only() {
        let interest = Interest::new([
            sel(&["hyperliquid"], &["BTC"], &["0xa"]),
            sel(&["binance"], &["ETHUSDT"], &[]),
            sel(&[], &["SOL"], &["0xb"]),
        ]);
        let hl = interest.for_venue("hyperliquid");
        assert_eq!(hl.symbols, BTreeSet::from(["BTC".into(), "SOL".into()]));
        assert_eq!(hl.accounts, BTreeSet::from(["0xa".into(), "0xb".into()]));
        assert!(!hl.all_symbols);
        assert!(Interest::new([sel(&[], &[], &[])]).for_venue("x").all_symbols);
    }
}

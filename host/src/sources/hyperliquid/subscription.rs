//! What the source wants subscribed: the [`Subscription`] objects exactly as
//! Hyperliquid spells them, and [`desired`], which turns the config plus the
//! templates' interest into an ordered set within the per-IP limits.
//!
//! Pure: no I/O, no metrics. Invariants: the result never holds more than
//! `max_subscriptions` entries nor more than `max_users` distinct accounts;
//! configured coins and accounts come first (validation guarantees they
//! fit), template-derived ones follow in sorted order and are the only ones
//! ever refused; accounts are lowercase, as the venue reports them.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Value, json};

use super::config::{HyperliquidConfig, MarketChannel, is_address};
use crate::sources::VenueInterest;

/// One subscription object. Unsubscribing sends the identical object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subscription {
    Market(MarketChannel, String),
    /// `userFills {user}`: the account's fills, with a snapshot on subscribe.
    UserFills(String),
    /// `userEvents {user}`: fills, funding, liquidations; data arrives on
    /// channel `user` without naming the user.
    UserEvents(String),
}

impl Subscription {
    /// The `subscription` object of a subscribe or unsubscribe message.
    pub fn object(&self) -> Value {
        match self {
            Subscription::Market(channel, coin) => {
                let kind = match channel {
                    MarketChannel::Trades => "trades",
                    MarketChannel::Bbo => "bbo",
                    MarketChannel::L2Book => "l2Book",
                };
                json!({"type": kind, "coin": coin})
            }
            Subscription::UserFills(user) => json!({"type": "userFills", "user": user}),
            Subscription::UserEvents(user) => json!({"type": "userEvents", "user": user}),
        }
    }

    pub fn subscribe(&self) -> Value {
        json!({"method": "subscribe", "subscription": self.object()})
    }

    pub fn unsubscribe(&self) -> Value {
        json!({"method": "unsubscribe", "subscription": self.object()})
    }
}

/// Which per-IP limit refused a subscription (a bounded metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Subscriptions,
    Users,
    Connections,
}

impl Limit {
    pub fn label(self) -> &'static str {
        match self {
            Limit::Subscriptions => "subscription_limit",
            Limit::Users => "user_limit",
            Limit::Connections => "connection_limit",
        }
    }
}

/// The wanted subscriptions, in placement order, and what the limits refused.
#[derive(Debug, Default, PartialEq)]
pub struct Desired {
    pub subscriptions: Vec<Subscription>,
    pub refused: Vec<(Limit, Subscription)>,
    /// Template accounts that are not Hyperliquid addresses (other venues').
    pub skipped_accounts: Vec<String>,
}

/// Config first, then what the templates name (when `interest` is given).
pub fn desired(config: &HyperliquidConfig, interest: Option<&VenueInterest>) -> Desired {
    let mut out = Builder {
        config,
        desired: Desired::default(),
        held: HashSet::new(),
        users: BTreeSet::new(),
    };
    for coin in &config.coins {
        out.add_coin(coin);
    }
    for account in &config.accounts {
        out.add_account(&account.to_ascii_lowercase());
    }
    if let Some(interest) = interest {
        for coin in &interest.symbols {
            out.add_coin(coin);
        }
        for account in &interest.accounts {
            match is_address(account) {
                true => out.add_account(&account.to_ascii_lowercase()),
                false => out.desired.skipped_accounts.push(account.clone()),
            }
        }
    }
    out.desired
}

struct Builder<'a> {
    config: &'a HyperliquidConfig,
    desired: Desired,
    held: HashSet<Subscription>,
    users: BTreeSet<String>,
}

impl Builder<'_> {
    fn add_coin(&mut self, coin: &str) {
        for &channel in &self.config.channels {
            self.add(Subscription::Market(channel, coin.to_owned()));
        }
    }

    fn add_account(&mut self, user: &str) {
        let subs =
            [Subscription::UserFills(user.to_owned()), Subscription::UserEvents(user.to_owned())];
        if !self.users.contains(user) && self.users.len() >= self.config.max_users {
            self.desired.refused.extend(subs.into_iter().map(|s| (Limit::Users, s)));
            return;
        }
        // Both or neither: half an account would be a confusing state.
        let new = subs.iter().filter(|s| !self.held.contains(*s)).count();
        if self.held.len() + new > self.config.max_subscriptions {
            self.desired.refused.extend(
                subs.into_iter()
                    .filter(|s| !self.held.contains(s))
                    .map(|s| (Limit::Subscriptions, s)),
            );
            return;
        }
        self.users.insert(user.to_owned());
        subs.into_iter().for_each(|s| self.add(s));
    }

    fn add(&mut self, sub: Subscription) {
        if self.held.contains(&sub) {
            return;
        }
        if self.held.len() >= self.config.max_subscriptions {
            self.desired.refused.push((Limit::Subscriptions, sub));
            return;
        }
        self.held.insert(sub.clone());
        self.desired.subscriptions.push(sub);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interest(symbols: &[&str], accounts: &[&str]) -> VenueInterest {
        VenueInterest {
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            accounts: accounts.iter().map(|s| s.to_string()).collect(),
            all_symbols: false,
        }
    }

    fn addr(i: u32) -> String {
        format!("0x{i:040x}")
    }

    #[test]
    fn objects_match_the_venue_shapes() {
        let t = Subscription::Market(MarketChannel::Trades, "SOL".into());
        assert_eq!(
            t.subscribe().to_string(),
            r#"{"method":"subscribe","subscription":{"coin":"SOL","type":"trades"}}"#
        );
        assert_eq!(t.unsubscribe()["subscription"], t.subscribe()["subscription"]);
        assert_eq!(
            Subscription::Market(MarketChannel::L2Book, "BTC".into()).object()["type"],
            "l2Book"
        );
        assert_eq!(
            Subscription::UserEvents("0xa".into()).object(),
            json!({"type": "userEvents", "user": "0xa"})
        );
        assert_eq!(
            Subscription::UserFills("0xa".into()).object(),
            json!({"type": "userFills", "user": "0xa"})
        );
    }

    #[test]
    fn config_first_then_templates_without_repeats() {
        const MIXED: &str = "0x2AD7672c2990107b8fd8130d896d5bdd2aa4a6b9";
        let config: HyperliquidConfig = toml::from_str(&format!(
            "coins = [\"ETH\"]\nchannels = [\"trades\"]\naccounts = [\"{MIXED}\"]"
        ))
        .unwrap();
        let d = desired(
            &config,
            Some(&interest(&["BTC", "ETH"], &[&MIXED.to_lowercase(), &addr(2), "So1anaAccount"])),
        );
        let m = |c: &str| Subscription::Market(MarketChannel::Trades, c.into());
        assert_eq!(
            d.subscriptions,
            [
                m("ETH"),
                Subscription::UserFills(MIXED.to_lowercase()),
                Subscription::UserEvents(MIXED.to_lowercase()),
                m("BTC"),
                Subscription::UserFills(addr(2)),
                Subscription::UserEvents(addr(2))
            ]
        );
        assert!(d.refused.is_empty());
        assert_eq!(d.skipped_accounts, ["So1anaAccount"]);
        // Without following templates only the config counts.
        assert_eq!(desired(&config, None).subscriptions.len(), 3);
    }

    #[test]
    fn an_all_symbols_template_adds_no_coins() {
        let config: HyperliquidConfig =
            toml::from_str("coins = [\"BTC\"]\nchannels = [\"bbo\"]").unwrap();
        let everything = VenueInterest { all_symbols: true, ..VenueInterest::default() };
        assert_eq!(
            desired(&config, Some(&everything)).subscriptions,
            [Subscription::Market(MarketChannel::Bbo, "BTC".into())]
        );
    }

    #[test]
    fn limits_refuse_the_excess_and_never_exceed() {
        let config: HyperliquidConfig = toml::from_str("coins = [\"A\"]\nmax_subscriptions = 5\nmax_users = 1\nsubscriptions_per_connection = 5").unwrap();
        let d = desired(&config, Some(&interest(&["B", "C"], &[&addr(1), &addr(2)])));
        // A×2, B×2 = 4; C's trades makes 5; C's bbo is over.
        assert_eq!(d.subscriptions.len(), 5);
        let limits: Vec<Limit> = d.refused.iter().map(|(l, _)| *l).collect();
        // Each account needs 2 more and none are left: refused whole.
        assert_eq!(
            limits,
            [
                Limit::Subscriptions,
                Limit::Subscriptions,
                Limit::Subscriptions,
                Limit::Subscriptions,
                Limit::Subscriptions
            ]
        );

        let config: HyperliquidConfig = toml::from_str("max_users = 1").unwrap();
        let d = desired(&config, Some(&interest(&[], &[&addr(1), &addr(2)])));
        assert_eq!(
            d.subscriptions,
            [Subscription::UserFills(addr(1)), Subscription::UserEvents(addr(1))]
        );
        assert_eq!(
            d.refused,
            [
                (Limit::Users, Subscription::UserFills(addr(2))),
                (Limit::Users, Subscription::UserEvents(addr(2)))
            ]
        );
    }
}

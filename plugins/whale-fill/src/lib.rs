//! `whale-fill`: alert when a tracked account's perp fill is big enough.
//! Accounts compare case-insensitively (EVM addresses come in both cases).
//!
//! An account arrives as an interned id (on both paths); whether an id
//! is tracked is remembered per instance, so each account's name crosses
//! the boundary once. Accounts on the `watchlist` (if given) are asked of
//! the host by id on every event, never cached: ops edit that list live.
//!
//! Alert key: `account:symbol` (`0xabc…:ETH`). Value: the fill's notional.

use std::collections::HashMap;

use klaxon_sdk::fmt::{price, short_address, usd};
use klaxon_sdk::{
    Columns, Event, EventKind, EventKinds, Filter, Market, Pass, Severity, Verdict, export_filter,
    watchlist,
};
use serde::Deserialize;

/// Params of `whale-fill`.
///
/// ```toml
/// filter = { plugin = "whale-fill", params = { accounts = ["0x5078…", "0xa1b2…"], min_notional_usd = 250000, directions = "open" } }
/// filter = { plugin = "whale-fill", params = { accounts = ["0x5078…"], labels = { "0x5078…" = "fund A" } } }
/// # accounts from a watchlist (declared by the template), labels its values:
/// filter = { plugin = "whale-fill", params = { watchlist = "whales" } }
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Accounts to watch (addresses or user ids). At least one, unless a
    /// `watchlist` is given.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// A watchlist of accounts to watch too, edited live by ops; an
    /// entry's value is its label. The template must declare it
    /// (`watchlists = ["…"]`). Matched by the account's id, so as the venue
    /// reports it (addresses in lowercase; the host stores `0x…` entries
    /// in lowercase).
    #[serde(default)]
    pub watchlist: Option<String>,
    /// Smallest fill notional worth an alert, in USD. Default 0 (every fill).
    #[serde(default)]
    pub min_notional_usd: f64,
    /// `"open"` (opening fills), `"close"` (closing fills) or `"both"`
    /// (default; also fills without a direction).
    #[serde(default)]
    pub directions: Directions,
    /// Event kinds considered. Default: `["perp-fill"]`; add `"liquidation"`
    /// to include liquidation fills.
    #[serde(default = "default_kinds")]
    pub kinds: EventKinds,
    /// Display names for accounts, used in titles instead of the shortened address.
    #[serde(default)]
    pub labels: HashMap<String, String>,
    /// Severity of the alerts: `"info"`, `"warning"` (default) or `"critical"`.
    #[serde(default = "default_severity")]
    pub severity: Severity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Directions {
    Open,
    Close,
    #[default]
    Both,
}

fn default_kinds() -> EventKinds {
    EventKinds::of(&[EventKind::PerpFill])
}

fn default_severity() -> Severity {
    Severity::Warning
}

pub struct WhaleFill {
    /// Lowercased account → display label.
    tracked: HashMap<String, String>,
    /// Interned account id → tracked? (Of `accounts` only.)
    by_id: HashMap<u32, bool>,
    watchlist: Option<String>,
    min_notional_usd: f64,
    directions: Directions,
    kinds: EventKinds,
    severity: Severity,
}

impl Filter for WhaleFill {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        if p.accounts.is_empty() && p.watchlist.is_none() {
            return Err("accounts: list at least one account, or give a `watchlist`".into());
        }
        if p.watchlist.as_ref().is_some_and(|w| w.trim().is_empty()) {
            return Err("watchlist: must name a watchlist".into());
        }
        if let Some(i) = p.accounts.iter().position(|a| a.trim().is_empty()) {
            return Err(format!("accounts[{i}]: must not be empty"));
        }
        if p.min_notional_usd.is_nan() || p.min_notional_usd < 0.0 {
            return Err(format!("min_notional_usd: must be 0 or more, got {}", p.min_notional_usd));
        }
        if p.kinds.is_empty() {
            return Err("kinds: must list at least one event kind".into());
        }
        let labels: HashMap<String, String> =
            p.labels.into_iter().map(|(k, v)| (k.to_lowercase(), v)).collect();
        if let Some(unknown) =
            labels.keys().find(|k| !p.accounts.iter().any(|a| a.eq_ignore_ascii_case(k)))
        {
            return Err(format!("labels.{unknown}: not one of `accounts`"));
        }
        let tracked = p
            .accounts
            .iter()
            .map(|a| {
                let key = a.trim().to_lowercase();
                let label = labels.get(&key).cloned().unwrap_or_else(|| short_address(a.trim()));
                (key, label)
            })
            .collect();
        Ok(WhaleFill {
            tracked,
            watchlist: p.watchlist,
            by_id: HashMap::new(),
            min_notional_usd: p.min_notional_usd,
            directions: p.directions,
            kinds: p.kinds,
            severity: p.severity,
        })
    }

    /// The checks (kind, direction, notional, account) and the message
    /// (symbol, price, size, side, closed PnL).
    fn columns(&self) -> Columns {
        Columns::KIND
            | Columns::DIRECTION
            | Columns::NOTIONAL_USD
            | Columns::ACCOUNT
            | Columns::SYMBOL
            | Columns::PRICE
            | Columns::SIZE
            | Columns::SIDE
            | Columns::CLOSED_PNL
    }

    fn evaluate(&mut self, event: &Event, _market: &Market) -> Verdict {
        // Cheap checks first: the account name may cost a host call.
        if !self.kinds.contains(event.kind()) {
            return Verdict::reject("kind not selected");
        }
        let direction_ok = match self.directions {
            Directions::Open => event.direction().is_open(),
            Directions::Close => event.direction().is_close(),
            Directions::Both => true,
        };
        if !direction_ok {
            return Verdict::reject("direction not selected");
        }
        let Some(notional) = event.notional_usd() else { return Verdict::reject("no notional") };
        if notional < self.min_notional_usd {
            return Verdict::reject("below threshold");
        }
        let Some(id) = event.account().id() else { return Verdict::reject("no account") };
        let listed = self.watchlist.as_deref().filter(|w| watchlist::contains_id(w, id));
        if listed.is_none() && self.by_id.get(&id) == Some(&false) {
            return Verdict::reject("account not tracked");
        }
        let Some(account) = event.account().name() else { return Verdict::reject("no account") };
        if let Some(list) = listed {
            let label = watchlist::value_id(list, id).unwrap_or_else(|| short_address(account));
            return self.pass(event, account, &label, notional);
        }
        let label = self.label(account);
        self.by_id.insert(id, label.is_some());
        let Some(label) = label else { return Verdict::reject("account not tracked") };
        self.pass(event, account, &label, notional)
    }
}

impl WhaleFill {
    fn pass(&self, event: &Event, account: &str, label: &str, notional: f64) -> Verdict {
        let symbol = event.symbol().name();
        let mut pass = Pass::new(
            format!("{account}:{symbol}"),
            format!("Whale {label} {} {symbol}: {}", event.direction().describe(), usd(notional)),
        )
        .with_severity(self.severity)
        .with_value(notional)
        .with_field("account", account)
        .with_field("notional", usd(notional))
        .with_field("price", price(event.price()))
        .with_field("size", format!("{}", event.size()));
        if event.side() != klaxon_sdk::Side::Unknown {
            pass = pass.with_field("side", event.side().as_str());
        }
        if let Some(pnl) = event.closed_pnl() {
            pass = pass.with_field("closed pnl", usd(pnl));
        }
        pass.into()
    }

    /// The label of a tracked account; allocates only for mixed-case names.
    fn label(&self, account: &str) -> Option<String> {
        let account = account.trim();
        let found = if account.bytes().any(|b| b.is_ascii_uppercase()) {
            self.tracked.get(&account.to_lowercase())
        } else {
            self.tracked.get(account)
        };
        found.cloned()
    }
}

export_filter!(WhaleFill);

#[cfg(test)]
mod tests;

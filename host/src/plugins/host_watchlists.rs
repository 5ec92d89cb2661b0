//! What a plugin may ask of the watchlists: the `klaxon:plugin/watchlists`
//! interface.
//!
//! Every answer comes from the snapshot the call took when it began
//! (`HostState::lists`), so one call sees one version of every list. A rule
//! reads only the lists its template declares (`watchlists = [...]`): a
//! query of any other name is a guest error that fails the call, like a KV
//! call outside any rule's scope, and is counted in
//! `klaxon_watchlist_refused_total`. Declared lists are checked against
//! `[watchlists]` when the config is validated, so a declared name always
//! has a list. The check is a scan of the template's few declared names; no
//! allocation on the hot path.

use super::bindings::WatchlistHost;
use super::error::CallError;
use super::host_api::{HostState, cut};
use crate::telemetry::metrics;
use crate::watchlists::Watchlist;

/// Longest list name quoted back in an error.
const NAME_MAX: usize = 64;

impl HostState {
    /// The list `name`, if the scoped template declares it; else the call
    /// fails (and `None`).
    fn watchlist(&mut self, what: &str, name: &str) -> Option<&Watchlist> {
        let scoped = self.current.and_then(|i| self.scopes.get(i));
        let Some(template) = scoped else {
            self.template(what); // fails the call: no scope
            return None;
        };
        let declared = self.rule_watchlists.get(template);
        if declared.is_some_and(|d| d.iter().any(|n| &**n == name)) {
            return self.lists.get(name);
        }
        let template = template.clone();
        let declared: Vec<String> =
            declared.map(|d| d.iter().map(|n| format!("`{n}`")).collect()).unwrap_or_default();
        let declared = if declared.is_empty() { "none".to_owned() } else { declared.join(", ") };
        let name = cut(name.to_owned(), NAME_MAX).escape_debug().to_string();
        metrics()
            .watchlist_refused
            .with_label_values(&[template.as_str(), &self.plugin.name])
            .inc();
        self.fail(CallError::Guest(format!(
            "watchlist `{name}` (host `{what}`) is not declared by template `{template}` \
             (its `watchlists`: {declared})"
        )));
        None
    }
}

impl WatchlistHost for HostState {
    fn contains(&mut self, watchlist: String, entry: String) -> bool {
        self.watchlist("contains", &watchlist).is_some_and(|l| l.contains(&entry))
    }

    fn value(&mut self, watchlist: String, entry: String) -> Option<String> {
        self.watchlist("value", &watchlist)?.value(&entry).map(str::to_owned)
    }

    fn contains_id(&mut self, watchlist: String, id: u32) -> bool {
        self.watchlist("contains-id", &watchlist).is_some_and(|l| l.contains_id(id))
    }

    fn contains_ids(&mut self, watchlist: String, ids: Vec<u32>) -> Vec<u8> {
        match self.watchlist("contains-ids", &watchlist) {
            Some(list) => ids.iter().map(|&id| u8::from(list.contains_id(id))).collect(),
            None => vec![0; ids.len()],
        }
    }

    fn value_id(&mut self, watchlist: String, id: u32) -> Option<String> {
        self.watchlist("value-id", &watchlist)?.value_id(id).map(str::to_owned)
    }
}

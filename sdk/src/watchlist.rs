//! Watchlists: named lists of addresses, symbols or tokens that ops keep in
//! the host's config or in files (`[watchlists.<name>]`) and edit while
//! plugins run, each entry with an optional value (a label, a tier).
//!
//! A rule reads only the lists its template declares (`watchlists =
//! ["whales"]`); asking for any other fails the call (the host's error
//! names the list and the template). One call sees one version of every
//! list: an edit applies between calls, never in the middle of a batch. So
//! do not cache answers in `self` across calls; ask the host, which is
//! cheap by id.
//!
//! Entries match exactly, except `0x…` entries (EVM addresses), which are
//! stored in lowercase and, by name, compare in lowercase. On the hot path
//! prefer the `_id` functions with an event's ids
//! ([`Account::id`](crate::Account::id), [`Symbol::id`](crate::Symbol::id)):
//! no string crosses the boundary. By id, the name must equal the stored
//! entry (venues report addresses in lowercase: Hyperliquid does).
//!
//! ```
//! use klaxon_sdk::{watchlist, testing};
//! testing::set_watchlist("whales", &[("0xabc", Some("fund A")), ("0xdef", None)]);
//! assert!(watchlist::contains("whales", "0xABC"));
//! assert_eq!(watchlist::value("whales", "0xabc").as_deref(), Some("fund A"));
//! let id = testing::intern("0xdef");
//! assert_eq!(watchlist::contains_ids("whales", &[id, 0]), [true, false]);
//! ```

/// Whether `entry` is on `list`.
pub fn contains(list: &str, entry: &str) -> bool {
    crate::host::raw::sync_scope();
    raw::contains(list, entry)
}

/// The value ops gave `entry` on `list`; `None` when it is not on the list
/// or has no value.
pub fn value(list: &str, entry: &str) -> Option<String> {
    crate::host::raw::sync_scope();
    raw::value(list, entry)
}

/// Whether the name behind interned `id` (an event's venue, symbol or
/// account id) is on `list`; false for 0.
pub fn contains_id(list: &str, id: u32) -> bool {
    crate::host::raw::sync_scope();
    raw::contains_id(list, id)
}

/// [`contains_id`] for many ids in one host call, e.g. a batch's
/// [`account_ids`](crate::Batch::account_ids).
pub fn contains_ids(list: &str, ids: &[u32]) -> Vec<bool> {
    crate::host::raw::sync_scope();
    raw::contains_ids(list, ids).into_iter().map(|b| b != 0).collect()
}

/// [`value`] for the name behind interned `id`.
pub fn value_id(list: &str, id: u32) -> Option<String> {
    crate::host::raw::sync_scope();
    raw::value_id(list, id)
}

/// The backend: the WIT imports in wasm, the test double elsewhere.
#[cfg(target_arch = "wasm32")]
mod raw {
    pub use crate::__private::base::klaxon::plugin::watchlists::{
        contains, contains_id, contains_ids, value, value_id,
    };
}

#[cfg(not(target_arch = "wasm32"))]
use double as raw;

/// The host's watchlists off-wasm: lists set with
/// [`testing::set_watchlist`](crate::testing::set_watchlist), thread-local
/// like the rest of the double. A list that was not set is one the
/// template did not declare: asking for it panics, as the host would fail
/// the call.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod double {
    use std::cell::RefCell;
    use std::collections::HashMap;

    type List = HashMap<String, Option<String>>;

    thread_local! {
        static LISTS: RefCell<HashMap<String, List>> = RefCell::new(HashMap::new());
    }

    /// The host's matching rule: `0x…` entries in lowercase.
    fn normalize(entry: &str) -> String {
        let hex = entry.len() > 2 && entry[..2].eq_ignore_ascii_case("0x");
        if hex { entry.to_ascii_lowercase() } else { entry.to_owned() }
    }

    pub fn set(name: &str, entries: &[(&str, Option<&str>)]) {
        let list = entries
            .iter()
            .map(|(e, v)| (normalize(e.trim()), v.filter(|v| !v.is_empty()).map(str::to_owned)))
            .collect();
        LISTS.with_borrow_mut(|l| l.insert(name.to_owned(), list));
    }

    pub fn clear() {
        LISTS.with_borrow_mut(|l| l.clear());
    }

    #[track_caller]
    fn with_list<R>(name: &str, f: impl FnOnce(&List) -> R) -> R {
        LISTS.with_borrow(|lists| match lists.get(name) {
            Some(list) => f(list),
            None => panic!(
                "testing: watchlist `{name}` is not declared (the host fails the call); \
                 set it with testing::set_watchlist"
            ),
        })
    }

    fn name_of(id: u32) -> Option<String> {
        crate::testing::interned(id)
    }

    pub fn contains(name: &str, entry: &str) -> bool {
        with_list(name, |l| l.contains_key(&normalize(entry)))
    }

    pub fn value(name: &str, entry: &str) -> Option<String> {
        with_list(name, |l| l.get(&normalize(entry)).cloned().flatten())
    }

    /// By id, the name must equal the stored entry, as in the host (which
    /// interns the stored entries): no lowercasing of the event's name.
    pub fn contains_id(name: &str, id: u32) -> bool {
        let entry = name_of(id);
        with_list(name, |l| entry.is_some_and(|e| l.contains_key(&e)))
    }

    pub fn contains_ids(name: &str, ids: &[u32]) -> Vec<u8> {
        ids.iter().map(|&id| u8::from(contains_id(name, id))).collect()
    }

    pub fn value_id(name: &str, id: u32) -> Option<String> {
        let entry = name_of(id);
        with_list(name, |l| l.get(&entry?).cloned().flatten())
    }
}

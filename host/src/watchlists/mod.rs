//! Watchlists: named lists of addresses, symbols or tokens, each entry with
//! an optional value, that ops keep in config (`[watchlists.<name>]`) or in
//! files and edit while the host runs. Plugins query them through the
//! `klaxon:plugin/watchlists` host interface (see `plugins::host_api`).
//!
//! * [`config`]: the `[watchlists.<name>]` table;
//! * [`parse`]: text, CSV and JSON files into entries, bounded, with errors
//!   that name the file and line;
//! * [`live`]: watching the files and swapping in each edit.
//!
//! Every version of every list lives in one immutable [`Snapshot`] behind
//! one `ArcSwap`: a plugin call takes the snapshot once when it starts, so
//! it sees one version of each list however long it runs, and an edit
//! applies between calls. A list that fails to load keeps its previous
//! version live.
//!
//! Lookups are cheap on the hot path: every entry is interned when the list
//! loads (the lists are bounded, see `[limits]`), so a membership test by
//! an event's account or symbol id is one hash lookup on a `u32`, and no
//! string crosses from the guest.

pub mod config;
pub mod live;
pub mod parse;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ahash::AHashMap;
use arc_swap::ArcSwap;

use crate::event::Sym;
use crate::plugins::RuntimeLimits;
use crate::telemetry::metrics;

pub use config::{Entries, FileFormat, WatchlistConfig};
pub use parse::WatchlistError;

/// The configured lists by name, as `[watchlists]` declares them.
pub type WatchlistConfigs = BTreeMap<String, WatchlistConfig>;

/// The bounds every list is held to (`[limits]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    pub entries: usize,
    pub entry_bytes: usize,
    pub total_bytes: usize,
}

impl ListLimits {
    pub fn of(limits: &RuntimeLimits) -> ListLimits {
        ListLimits {
            entries: limits.watchlist_entries,
            entry_bytes: limits.watchlist_entry_bytes,
            total_bytes: limits.watchlist_bytes,
        }
    }
}

impl Default for ListLimits {
    fn default() -> Self {
        ListLimits::of(&RuntimeLimits::default())
    }
}

/// The form an entry is stored and looked up in: `0x…` (EVM addresses,
/// case-insensitive) in lowercase, anything else as written.
pub fn normalize(entry: &str) -> std::borrow::Cow<'_, str> {
    let hex = entry.len() > 2 && entry[..2].eq_ignore_ascii_case("0x");
    if hex && entry.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(entry.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(entry)
    }
}

/// One version of one list.
#[derive(Debug, Default, PartialEq)]
pub struct Watchlist {
    /// Normalized entry → index into `values`.
    by_name: AHashMap<Box<str>, u32>,
    /// Interned id of the entry → index into `values`.
    by_id: AHashMap<u32, u32>,
    values: Vec<Option<Box<str>>>,
    /// Entries plus values, bytes.
    bytes: usize,
}

impl Watchlist {
    /// Build from `(entry, value)` pairs already checked by [`parse`].
    pub(crate) fn from_entries(entries: Vec<(String, Option<String>)>) -> Watchlist {
        let mut list = Watchlist::default();
        for (entry, value) in entries {
            let index = list.values.len() as u32;
            list.bytes += entry.len() + value.as_ref().map_or(0, String::len);
            list.by_id.insert(Sym::new(&entry).id(), index);
            list.by_name.insert(entry.into_boxed_str(), index);
            list.values.push(value.map(String::into_boxed_str));
        }
        list
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn contains(&self, entry: &str) -> bool {
        self.by_name.contains_key(&*normalize(entry))
    }

    pub fn value(&self, entry: &str) -> Option<&str> {
        let index = *self.by_name.get(&*normalize(entry))?;
        self.values[index as usize].as_deref()
    }

    /// Whether the name behind interned `id` is on the list.
    pub fn contains_id(&self, id: u32) -> bool {
        self.by_id.contains_key(&id)
    }

    pub fn value_id(&self, id: u32) -> Option<&str> {
        let index = *self.by_id.get(&id)?;
        self.values[index as usize].as_deref()
    }
}

/// Every list at one moment; immutable once published.
#[derive(Debug, Default)]
pub struct Snapshot {
    lists: AHashMap<Box<str>, Arc<Watchlist>>,
    /// Bumped by every publish, for logs and tests.
    pub version: u64,
}

impl Snapshot {
    pub fn get(&self, name: &str) -> Option<&Watchlist> {
        self.lists.get(name).map(|l| &**l)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.lists.keys().map(|k| &**k)
    }

    fn total_bytes(&self) -> usize {
        self.lists.values().map(|l| l.bytes).sum()
    }
}

/// What the lists were loaded from: config and bounds, for re-reading files.
#[derive(Debug, Clone, Default)]
struct Sources {
    configs: WatchlistConfigs,
    limits: ListLimits,
}

/// The live lists, shared by every plugin instance and the reloaders.
/// Cheap to clone.
#[derive(Clone)]
pub struct Watchlists {
    live: Arc<ArcSwap<Snapshot>>,
    sources: Arc<Mutex<Sources>>,
    /// The files of file-backed lists, for the watcher to follow.
    files: Arc<tokio::sync::watch::Sender<Vec<std::path::PathBuf>>>,
}

impl std::fmt::Debug for Watchlists {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Watchlists(version {})", self.live.load().version)
    }
}

impl Default for Watchlists {
    fn default() -> Self {
        Watchlists {
            live: Arc::default(),
            sources: Arc::default(),
            files: Arc::new(tokio::sync::watch::Sender::new(Vec::new())),
        }
    }
}

impl Watchlists {
    /// Load every list; any error refuses the whole set (startup, reload).
    pub fn load(
        configs: &WatchlistConfigs,
        limits: ListLimits,
    ) -> Result<Watchlists, Vec<WatchlistError>> {
        let lists = Watchlists::default();
        let snapshot = lists.prepare(configs, limits)?;
        lists.publish(configs, limits, snapshot);
        Ok(lists)
    }

    /// The lists as they are now; what one plugin call sees throughout.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.live.load_full()
    }

    /// Load `configs` without publishing: every list, or every error.
    pub fn prepare(
        &self,
        configs: &WatchlistConfigs,
        limits: ListLimits,
    ) -> Result<Snapshot, Vec<WatchlistError>> {
        let mut snapshot = Snapshot::default();
        let mut errors = Vec::new();
        for (name, config) in configs {
            match parse::load(name, config, limits) {
                Ok(list) => drop(snapshot.lists.insert(name.as_str().into(), Arc::new(list))),
                Err(e) => errors.push(e),
            }
        }
        if let Err(e) = check_total(&snapshot, limits) {
            errors.push(e);
        }
        if errors.is_empty() { Ok(snapshot) } else { Err(errors) }
    }

    /// Make `snapshot` (from [`Self::prepare`] on `configs`) the live version.
    pub fn publish(&self, configs: &WatchlistConfigs, limits: ListLimits, snapshot: Snapshot) {
        let mut sources = self.sources.lock().expect("watchlist sources poisoned");
        *sources = Sources { configs: configs.clone(), limits };
        self.swap(snapshot);
        let files: Vec<_> = configs.values().filter_map(|c| c.file.clone()).collect();
        self.files.send_if_modified(|old| {
            let changed = *old != files;
            *old = files;
            changed
        });
    }

    /// Publish `snapshot`, counting the lists that changed.
    fn swap(&self, mut snapshot: Snapshot) {
        let previous = self.live.load();
        for name in previous.names().filter(|n| snapshot.get(n).is_none()) {
            let _ = metrics().watchlist_entries.remove_label_values(&[name]);
        }
        for (name, list) in &snapshot.lists {
            if previous.lists.get(name).is_none_or(|old| **old != **list) {
                metrics().watchlist_reloads.with_label_values(&[name, "applied"]).inc();
            }
            metrics().watchlist_entries.with_label_values(&[name]).set(list.len() as i64);
        }
        snapshot.version = previous.version + 1;
        self.live.store(Arc::new(snapshot));
    }

    /// Re-read every file-backed list after an edit. A list whose file no
    /// longer loads keeps its previous version (each error is logged,
    /// counted and returned); the others take their new contents, all in
    /// one publish.
    pub fn refresh_files(&self) -> Vec<WatchlistError> {
        // Held throughout, so a config reload cannot publish in between.
        let sources = self.sources.lock().expect("watchlist sources poisoned");
        let previous = self.snapshot();
        let mut next = Snapshot { lists: previous.lists.clone(), version: 0 };
        let mut errors = Vec::new();
        for (name, config) in sources.configs.iter().filter(|(_, c)| c.file.is_some()) {
            match parse::load(name, config, sources.limits) {
                Ok(list) => drop(next.lists.insert(name.as_str().into(), Arc::new(list))),
                Err(e) => errors.push(e),
            }
        }
        if let Err(e) = check_total(&next, sources.limits) {
            // Too big together: nothing of this edit applies.
            errors.push(e);
            next = Snapshot { lists: previous.lists.clone(), version: 0 };
        }
        for e in &errors {
            metrics().watchlist_reloads.with_label_values(&[&e.list, "rejected"]).inc();
            tracing::error!(watchlist = %e.list, "Watchlist edit rejected; its previous version stays live: {e}");
        }
        let changed = next.lists.iter().any(|(name, list)| {
            previous.lists.get(name).is_none_or(|old| !Arc::ptr_eq(old, list) && **old != **list)
        });
        if changed {
            self.swap(next);
            tracing::info!(version = self.live.load().version, "Watchlists reloaded.");
        }
        errors
    }

    /// The files of file-backed lists; changes when a reload changes them.
    pub fn files(&self) -> tokio::sync::watch::Receiver<Vec<std::path::PathBuf>> {
        self.files.subscribe()
    }
}

/// All lists together within `watchlist_bytes`.
fn check_total(snapshot: &Snapshot, limits: ListLimits) -> Result<(), WatchlistError> {
    let total = snapshot.total_bytes();
    if total <= limits.total_bytes {
        return Ok(());
    }
    let largest = snapshot.lists.iter().max_by_key(|(_, l)| l.bytes).map(|(n, _)| n.to_string());
    Err(WatchlistError {
        list: largest.unwrap_or_default(),
        at: "all watchlists".into(),
        message: format!(
            "together {total} bytes, over `watchlist_bytes` ({}) in [limits]",
            limits.total_bytes
        ),
    })
}

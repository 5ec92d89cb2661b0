//! The guest-side cache of interned venue, symbol and account names.
//!
//! Events carry ids; a name costs a `host.name` call (a string crossing the
//! boundary, ~100 ns). Each id is asked once per instance and
//! kept for the instance's life: the host's intern table only grows, so an
//! id never changes meaning. Names are leaked into `&'static str` so a
//! [`Symbol::name`](crate::Symbol::name) can hand out a plain `&'static str`; the
//! memory is bounded by the number of distinct ids the instance sees and is
//! freed when the host recycles the instance.

use std::cell::RefCell;
use std::collections::BTreeMap;

/// Ids below this live in a vector (one bounds check per lookup); the host
/// hands out ids densely from 1, so only a pathological host goes past it.
const DENSE_LIMIT: u32 = 1 << 20;

#[derive(Default)]
struct Cache {
    dense: Vec<Option<&'static str>>,
    sparse: BTreeMap<u32, &'static str>,
}

impl Cache {
    const fn new() -> Cache {
        Cache { dense: Vec::new(), sparse: BTreeMap::new() }
    }

    fn get(&self, id: u32) -> Option<&'static str> {
        if id < DENSE_LIMIT {
            self.dense.get(id as usize).copied().flatten()
        } else {
            self.sparse.get(&id).copied()
        }
    }

    fn insert(&mut self, id: u32, name: &'static str) {
        if id < DENSE_LIMIT {
            let i = id as usize;
            if self.dense.len() <= i {
                self.dense.resize(i + 1, None);
            }
            self.dense[i] = Some(name);
        } else {
            self.sparse.insert(id, name);
        }
    }
}

thread_local! {
    static NAMES: RefCell<Cache> = const { RefCell::new(Cache::new()) };
}

/// The name of interned id `id`; `None` for 0 (and for an id the host does
/// not know, which is not cached). `ask` is the host call, passed in so this
/// cache depends on nothing above it.
pub(crate) fn name(id: u32, ask: impl FnOnce(u32) -> Option<String>) -> Option<&'static str> {
    if id == 0 {
        return None;
    }
    if let Some(name) = NAMES.with_borrow(|c| c.get(id)) {
        return Some(name);
    }
    // The host call happens outside the borrow, so a test double that itself
    // touches the cache cannot trip the `RefCell`.
    let name: &'static str = Box::leak(ask(id)?.into_boxed_str());
    NAMES.with_borrow_mut(|c| c.insert(id, name));
    Some(name)
}

/// Forgets every cached name (the test double's `reset`).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn clear() {
    NAMES.with_borrow_mut(|c| *c = Cache::new());
}

//! `Table`: per-instrument state with a hard size cap and least-recently-updated
//! eviction, all in O(1).
//!
//! Entries live in a `Vec` of slots threaded by an intrusive doubly linked
//! list (indices, not pointers) from most to least recently updated, plus a
//! `key → slot` index. Every `upsert` moves its entry to the front; when the
//! table is full, a new symbol takes over the slot at the back. So the table
//! never holds more than `cap` entries, never reallocates past `cap` slots,
//! and needs no free list (slots are only ever reused, never vacated).
//!
//! "Recently" is in arrival order, not exchange time: a venue with a skewed
//! clock cannot make its symbols look newer than they are.
//!
//! A hand-rolled list rather than the `lru` crate: the host does not depend
//! on it, this module cannot add dependencies, and the list is ~40 lines.

use std::hash::Hash;
use std::mem;

use ahash::AHashMap;

const NIL: u32 = u32::MAX;

#[derive(Debug)]
struct Slot<K, T> {
    key: K,
    /// Towards the most recently updated entry; `NIL` at the front.
    prev: u32,
    /// Towards the least recently updated entry; `NIL` at the back.
    next: u32,
    value: T,
}

#[derive(Debug)]
pub(super) struct Table<K, T> {
    slots: Vec<Slot<K, T>>,
    index: AHashMap<K, u32>,
    /// Most recently updated slot, `NIL` when empty.
    front: u32,
    /// Least recently updated slot: the next to be evicted.
    back: u32,
    cap: usize,
}

impl<K: Copy + Eq + Hash, T> Table<K, T> {
    /// A table of at most `cap` entries (at least 1, below `u32::MAX`).
    pub(super) fn new(cap: usize) -> Table<K, T> {
        let cap = cap.clamp(1, NIL as usize - 1);
        Table { slots: Vec::new(), index: AHashMap::new(), front: NIL, back: NIL, cap }
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(super) fn get(&self, key: K) -> Option<&T> {
        self.index.get(&key).map(|&i| &self.slots[i as usize].value)
    }

    /// The entry for `key`, made the most recently updated; created with
    /// `make` if absent. When that overflows the cap, the least recently
    /// updated entry is evicted and returned with its key.
    pub(super) fn upsert(&mut self, key: K, make: impl FnOnce() -> T) -> (&mut T, Option<(K, T)>) {
        if let Some(&i) = self.index.get(&key) {
            if self.front != i {
                self.unlink(i);
                self.link_front(i);
            }
            return (&mut self.slots[i as usize].value, None);
        }
        let (i, evicted) = if self.slots.len() < self.cap {
            let i = self.slots.len() as u32;
            self.slots.push(Slot { key, prev: NIL, next: NIL, value: make() });
            (i, None)
        } else {
            let i = self.back;
            self.unlink(i);
            let slot = &mut self.slots[i as usize];
            let old_key = mem::replace(&mut slot.key, key);
            let old = mem::replace(&mut slot.value, make());
            self.index.remove(&old_key);
            (i, Some((old_key, old)))
        };
        self.link_front(i);
        self.index.insert(key, i);
        (&mut self.slots[i as usize].value, evicted)
    }

    fn unlink(&mut self, i: u32) {
        let Slot { prev, next, .. } = self.slots[i as usize];
        match prev {
            NIL => self.front = next,
            p => self.slots[p as usize].next = next,
        }
        match next {
            NIL => self.back = prev,
            n => self.slots[n as usize].prev = prev,
        }
    }

    fn link_front(&mut self, i: u32) {
        let old_front = self.front;
        let slot = &mut self.slots[i as usize];
        slot.prev = NIL;
        slot.next = old_front;
        match old_front {
            NIL => self.back = i,
            f => self.slots[f as usize].prev = i,
        }
        self.front = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Sym;

    #[test]
    fn evicts_least_recently_updated_and_stays_bounded() {
        let [a, b, c, d] = ["tbl-A", "tbl-B", "tbl-C", "tbl-D"].map(Sym::new);
        let mut t = Table::new(3);
        for (n, s) in [a, b, c].into_iter().enumerate() {
            assert!(t.upsert(s, || n).1.is_none());
        }
        *t.upsert(a, || 99).0 += 10; // A is now the most recent; B the least
        let (value, evicted) = t.upsert(d, || 3);
        assert_eq!(*value, 3);
        assert_eq!(evicted, Some((b, 1)));
        assert_eq!(t.len(), 3);
        assert_eq!(t.get(a), Some(&10));
        assert_eq!(t.get(b), None);
        assert_eq!(t.upsert(b, || 4).1, Some((c, 2)), "C was next in line");
        assert_eq!(t.upsert(a, || 0).1, None);
        assert_eq!(t.upsert(c, || 5).1, Some((d, 3)));
    }

    #[test]
    fn a_table_of_one_replaces_its_only_entry() {
        let [a, b] = ["tbl1-A", "tbl1-B"].map(Sym::new);
        let mut t = Table::new(0); // clamped to 1
        t.upsert(a, || 1);
        assert_eq!(t.upsert(a, || 7).1, None);
        assert_eq!(t.upsert(b, || 2).1, Some((a, 1)));
        assert_eq!((t.len(), t.get(b)), (1, Some(&2)));
    }
}

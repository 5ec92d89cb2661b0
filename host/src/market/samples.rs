//! A small sample of recent real events with their snapshots, for smoke
//! runs: a new plugin version is tried on what the market actually sends
//! (sizes, symbols, accounts, missing windows) before it goes live, not
//! only on one synthetic event it may have been written to recognise.
//!
//! The market stage records every `EVERY`-th event; the ring keeps the
//! last `KEEP`. One lock per `EVERY` events keeps the hot path unaffected.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use crate::event::Event;

use super::Snapshot;

const EVERY: u64 = 97;
const KEEP: usize = 32;

/// Clone freely: one shared ring.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    ring: Arc<Mutex<VecDeque<(Event, Snapshot)>>>,
}

impl Samples {
    /// Called by the market stage for every event; keeps one in `EVERY`.
    pub(super) fn offer(&self, seen: u64, event: &Event, snapshot: &Snapshot) {
        if !seen.is_multiple_of(EVERY) {
            return;
        }
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        if ring.len() == KEEP {
            ring.pop_front();
        }
        ring.push_back((event.clone(), *snapshot));
    }

    /// The samples held now, oldest first (empty before any traffic).
    pub fn recent(&self) -> Vec<(Event, Snapshot)> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }
}

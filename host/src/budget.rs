//! A budget of bytes in flight between two stages, so a queue is bounded in
//! bytes as well as in items. The same budget in units of events bounds a
//! worker's queue, whose items are batches of any size (`pipeline::router`).
//!
//! The producer takes a [`Lease`] for an item's weight before handing it
//! on, waiting while the budget is spent; the lease travels inside the item
//! and gives its bytes back when the last holder drops it. So what is
//! bounded is every byte the later stages still hold (queued or being
//! sent), and a stage holding too much makes the one before it wait, as a
//! full channel does for items. An item heavier than the whole budget
//! waits for an empty budget and then takes all of it, so it cannot wedge.

use std::sync::{Arc, Condvar, Mutex, PoisonError};

use crate::telemetry::metrics;

#[derive(Debug)]
pub struct ByteBudget {
    max: usize,
    used: Mutex<usize>,
    freed: Condvar,
}

impl ByteBudget {
    pub fn new(max: usize) -> Arc<ByteBudget> {
        Arc::new(ByteBudget { max: max.max(1), used: Mutex::new(0), freed: Condvar::new() })
    }

    /// Take `bytes` (blocking: called from worker threads), timing any wait
    /// as `stage` in `klaxon_stage_wait_seconds`.
    pub fn acquire(self: &Arc<Self>, bytes: usize, stage: &str) -> Lease {
        let bytes = bytes.clamp(1, self.max);
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        if *used + bytes > self.max {
            let timer = metrics().stage_wait.with_label_values(&[stage]).start_timer();
            while *used + bytes > self.max {
                used = self.freed.wait(used).unwrap_or_else(PoisonError::into_inner);
            }
            timer.observe_duration();
        }
        *used += bytes;
        Lease { budget: Some(self.clone()), bytes }
    }

    /// The most that may be leased at once.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Bytes leased now.
    pub fn used(&self) -> usize {
        *self.used.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn release(&self, bytes: usize) {
        *self.used.lock().unwrap_or_else(PoisonError::into_inner) -= bytes;
        self.freed.notify_all();
    }
}

/// Bytes taken from a budget until dropped; `Lease::default()` holds none.
#[derive(Debug, Default)]
pub struct Lease {
    budget: Option<Arc<ByteBudget>>,
    bytes: usize,
}

/// A copy of an item holds no bytes: the original's lease still does.
impl Clone for Lease {
    fn clone(&self) -> Lease {
        Lease::default()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(budget) = self.budget.take() {
            budget.release(self.bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_spent_budget_makes_the_producer_wait_until_a_holder_drops_its_lease() {
        let budget = ByteBudget::new(100);
        let held = budget.acquire(70, "test-budget");
        let (tx, rx) = mpsc::channel();
        let producer = {
            let budget = budget.clone();
            std::thread::spawn(move || {
                let lease = budget.acquire(50, "test-budget");
                tx.send(()).unwrap();
                lease
            })
        };
        // The producer cannot get its 50 bytes while 70 of 100 are held.
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        drop(held);
        rx.recv().unwrap();
        let lease = producer.join().unwrap();
        assert_eq!(budget.used(), 50);
        drop(lease);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn an_item_heavier_than_the_budget_takes_all_of_it_instead_of_wedging() {
        let budget = ByteBudget::new(10);
        let lease = budget.acquire(1_000_000, "test-budget");
        assert_eq!(budget.used(), 10);
        drop(lease);
        assert_eq!(Lease::default().bytes, 0);
    }
}

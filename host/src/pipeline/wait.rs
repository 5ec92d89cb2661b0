//! Sending into a bounded channel, timing only real waits.
//!
//! A stage first tries to send without waiting; only when the channel is
//! full does it start a `klaxon_stage_wait_seconds` timer and block. So the
//! histogram shows backpressure, not the cost of every uncontended send.

use tokio::sync::mpsc::{self, error::TrySendError};

use crate::telemetry::metrics;

/// Send from a stage's own thread (blocking); `Err` returns the item if
/// the receiver is gone.
pub fn blocking_send<T>(tx: &mpsc::Sender<T>, item: T, stage: &str) -> Result<(), T> {
    match tx.try_send(item) {
        Ok(()) => Ok(()),
        Err(TrySendError::Closed(item)) => Err(item),
        Err(TrySendError::Full(item)) => {
            let timer = metrics().stage_wait.with_label_values(&[stage]).start_timer();
            let sent = tx.blocking_send(item).map_err(|e| e.0);
            timer.observe_duration();
            sent
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sends_into_a_full_channel_are_timed() {
        let waits = metrics().stage_wait.with_label_values(&["test-wait"]);
        let (tx, mut rx) = mpsc::channel(1);
        blocking_send(&tx, 1, "test-wait").unwrap();
        assert_eq!(waits.get_sample_count(), 0);
        // The consumer starts late so that the second send finds the channel
        // full (ordering only: nothing here measures the wait).
        let consumer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            (rx.blocking_recv(), rx.blocking_recv())
        });
        blocking_send(&tx, 2, "test-wait").unwrap();
        assert_eq!(waits.get_sample_count(), 1);
        assert_eq!(consumer.join().unwrap(), (Some(1), Some(2)));
        assert_eq!(
            blocking_send(&tx, 3, "test-wait"),
            Err(3),
            "a closed channel gives the item back"
        );
    }
}

//! The live alert feed: every decided alert (fired and suppressed), as
//! Server-Sent Events.
//!
//! The worker's hand-off (`pipeline::deliver::live_feed`) publishes into a broadcast channel only while
//! someone listens, so a host with no console open pays one atomic load
//! per alert. A listener that falls behind skips what it missed (and is
//! told how many) rather than slowing the workers: the feed is for eyes;
//! the alert log is the record.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast;

use crate::pipeline::deliver::live_feed;
use crate::store::AlertRecord;

pub async fn events() -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = live_feed().subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(alert) => {
                let row = AlertRecord::from_alert(&alert).to_json();
                Event::default().event("alert").data(row.to_string())
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                Event::default().event("lagged").data(n.to_string())
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

//! One Hyperliquid connection (a placement slot): connect, subscribe its
//! share, ping, apply subscribe/unsubscribe changes, forward every text
//! frame to the source task, and reconnect through [`Reconnect`].
//!
//! It does not parse, deduplicate or emit: frames go to `source.rs` over a
//! bounded channel, so a slow pipeline backpressures the sockets rather than
//! growing a queue. Invariants:
//! * the share (what this connection must hold) changes only through
//!   [`Change`]s from the source task; after every (re)connect the whole
//!   share is subscribed again, since Hyperliquid has no resume;
//! * every message sent, pings included, first takes a permit from the
//!   source-wide message budget, and every connect attempt one from the
//!   connection budget, so all slots together stay within the per-IP limits;
//! * a [`ConnectionGuard`] is held exactly while the socket is open.

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::placement::Change;
use super::subscription::Subscription;
use crate::sources::live::{
    ConnectionConfig, ConnectionGuard, Ended, Incoming, LinkError, Reconnect, Socket,
};

/// What every connection of one source shares.
pub struct Link {
    /// The source's name (metric label, health key).
    pub source: String,
    pub url: String,
    pub connection: ConnectionConfig,
    pub ping_interval: Duration,
    /// Connect attempts, all slots together.
    pub connects: DefaultDirectRateLimiter,
    /// Messages sent, all slots together.
    pub messages: DefaultDirectRateLimiter,
    /// The source's child token: cancelled at shutdown or when the source
    /// task stops for any reason.
    pub cancel: CancellationToken,
    /// Into the source task; it never closes before `cancel` fires.
    pub inbound: mpsc::Sender<Inbound>,
}

/// A per-minute limit as a pacing quota: half the limit as burst, refilled
/// at half the limit per minute, so no 60 s window can exceed the limit.
pub fn per_minute(limit: u32) -> DefaultDirectRateLimiter {
    let half = NonZeroU32::new((limit / 2).max(1)).expect("at least 1");
    let quota = Quota::with_period(Duration::from_secs(60) / half.get())
        .expect("non-zero period")
        .allow_burst(half);
    RateLimiter::direct(quota)
}

/// One text frame from a connection.
#[derive(Debug)]
pub struct Inbound {
    pub slot: usize,
    pub text: String,
    /// The account of this connection's `userEvents` subscription: frames on
    /// channel `user` belong to it (they do not name the user).
    pub user_events: Option<Arc<str>>,
}

/// What this connection must hold.
#[derive(Default)]
struct Share {
    subscriptions: BTreeSet<Subscription>,
    user_events: Option<Arc<str>>,
}

impl Share {
    /// Record `change`; returns the message that puts it on the wire.
    fn apply(&mut self, change: Change) -> Value {
        match change {
            Change::Subscribe(sub) => {
                if let Subscription::UserEvents(user) = &sub {
                    self.user_events = Some(Arc::from(user.as_str()));
                }
                let message = sub.subscribe();
                self.subscriptions.insert(sub);
                message
            }
            Change::Unsubscribe(sub) => {
                if matches!(&sub, Subscription::UserEvents(user) if self.user_events.as_deref() == Some(user.as_str()))
                {
                    self.user_events = None;
                }
                let message = sub.unsubscribe();
                self.subscriptions.remove(&sub);
                message
            }
        }
    }
}

/// Run slot `slot` until the source is cancelled or drops its commands.
pub async fn run(link: Arc<Link>, slot: usize, mut commands: mpsc::UnboundedReceiver<Change>) {
    let mut share = Share::default();
    let mut reconnect = Reconnect::new(&link.source, &link.connection);
    loop {
        if link.cancel.run_until_cancelled(link.connects.until_ready()).await.is_none() {
            return;
        }
        reconnect.session_started();
        let outcome = session(&link, slot, &mut commands, &mut share).await;
        if !reconnect.after(outcome, &link.cancel).await {
            return;
        }
    }
}

/// One connection attempt, from connect to the reason it ended.
async fn session(
    link: &Link,
    slot: usize,
    commands: &mut mpsc::UnboundedReceiver<Change>,
    share: &mut Share,
) -> Result<Ended, LinkError> {
    let Some(socket) =
        link.cancel.run_until_cancelled(Socket::connect(&link.url, &link.connection)).await
    else {
        return Ok(Ended::Cancelled);
    };
    let mut socket = socket?;
    let _guard = ConnectionGuard::open(&link.source);
    // Changes made while disconnected only update the share: it is all
    // subscribed below anyway.
    while let Ok(change) = commands.try_recv() {
        share.apply(change);
    }
    tracing::info!(
        slot,
        subscriptions = share.subscriptions.len(),
        "Hyperliquid connection open; subscribing."
    );
    for sub in &share.subscriptions {
        if !send(link, &mut socket, &sub.subscribe()).await? {
            return Ok(Ended::Cancelled);
        }
    }
    let mut ping =
        tokio::time::interval_at(Instant::now() + link.ping_interval, link.ping_interval);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // A ping still unanswered at the next tick means the venue no longer
    // hears us, even if data still flows (stall detection would not notice).
    let mut awaiting_pong = false;
    loop {
        tokio::select! {
            _ = link.cancel.cancelled() => {
                socket.close().await;
                return Ok(Ended::Cancelled);
            }
            _ = ping.tick() => {
                if awaiting_pong {
                    tracing::warn!(slot, interval = ?link.ping_interval, "Hyperliquid did not answer the last ping; reconnecting.");
                    socket.close().await;
                    return Ok(Ended::Reconnect("no_pong"));
                }
                if !send(link, &mut socket, &json!({"method": "ping"})).await? {
                    return Ok(Ended::Cancelled);
                }
                awaiting_pong = true;
            }
            change = commands.recv() => {
                let Some(change) = change else {
                    socket.close().await;
                    return Ok(Ended::Cancelled);
                };
                let message = share.apply(change);
                if !send(link, &mut socket, &message).await? {
                    return Ok(Ended::Cancelled);
                }
            }
            incoming = socket.recv() => match incoming? {
                Incoming::Text(text) => {
                    awaiting_pong &= !is_pong(&text);
                    let inbound = Inbound { slot, text, user_events: share.user_events.clone() };
                    match link.cancel.run_until_cancelled(link.inbound.send(inbound)).await {
                        Some(Ok(())) => {}
                        None | Some(Err(_)) => return Ok(Ended::Cancelled),
                    }
                }
                Incoming::Closed(reason) => {
                    tracing::info!(slot, reason = reason.as_deref().unwrap_or(""), "Hyperliquid closed the connection.");
                    return Ok(Ended::Reconnect("closed"));
                }
            },
        }
    }
}

/// `{"channel":"pong"}`, however it is spaced; only short frames are parsed.
fn is_pong(text: &str) -> bool {
    text.len() < 64 && serde_json::from_str::<Value>(text).is_ok_and(|v| v["channel"] == "pong")
}

/// Send within the message budget; `Ok(false)` if cancelled while waiting.
async fn send(link: &Link, socket: &mut Socket, message: &Value) -> Result<bool, LinkError> {
    if link.cancel.run_until_cancelled(link.messages.until_ready()).await.is_none() {
        return Ok(false);
    }
    socket.send_json(message).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::hyperliquid::MarketChannel;

    #[test]
    fn share_tracks_its_user_events_account() {
        let mut share = Share::default();
        let ue = Subscription::UserEvents("0xa".into());
        let msg = share.apply(Change::Subscribe(ue.clone()));
        assert_eq!(
            msg,
            json!({"method": "subscribe", "subscription": {"type": "userEvents", "user": "0xa"}})
        );
        assert_eq!(share.user_events.as_deref(), Some("0xa"));
        share.apply(Change::Subscribe(Subscription::Market(MarketChannel::Bbo, "BTC".into())));
        let msg = share.apply(Change::Unsubscribe(ue));
        assert_eq!(msg["method"], "unsubscribe");
        assert_eq!(share.user_events, None);
        assert_eq!(share.subscriptions.len(), 1);
    }

    #[test]
    fn pongs_are_recognised_however_spaced_and_nothing_else_is() {
        assert!(is_pong(r#"{"channel":"pong"}"#));
        assert!(is_pong(r#"{ "channel" : "pong" }"#));
        assert!(!is_pong(r#"{"channel":"trades","data":[]}"#));
        assert!(!is_pong("pong"));
    }

    #[test]
    fn per_minute_budget_allows_half_at_once() {
        let limiter = per_minute(30);
        let granted = (0..30).filter(|_| limiter.check().is_ok()).count();
        assert_eq!(granted, 15, "burst is half the limit; the rest is paced over the minute");
    }
}

//! The running Hyperliquid source: owns the placement of subscriptions over
//! connections, follows template changes, and turns forwarded frames into
//! events (parse, attribute, deduplicate, emit).
//!
//! Data flow: `connection.rs` tasks (one per slot) → [`Inbound`] channel →
//! this task → [`Emitter`]. This task is the only one that emits, so event
//! order per connection is kept and dedup needs no lock. It never does
//! socket I/O itself; it tells connections what to (un)subscribe.
//!
//! Invariants: `klaxon_source_subscriptions` equals the subscriptions placed,
//! and readiness wants one connection per slot; both are updated on every
//! placement change and reset when the source stops. Only cancellation or a
//! closed output ends the source.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::config::HyperliquidConfig;
use super::connection::{self, Inbound, Link};
use super::dedup::Dedup;
use super::parse::{HyperliquidParser, is_greeting};
use super::placement::{Change, Placement};
use super::subscription::{Desired, Limit, Subscription, desired};
use crate::event::Sym;
use crate::sources::frame::{ParseError, Parsed};
use crate::sources::live::health;
use crate::sources::shape::{self, Raw, Shape};
use crate::sources::{Emitter, Interest, Sent, SourceError, SourceSummary};
use crate::telemetry::metrics;

/// Label for malformed-frame counts.
const VENUE_LABEL: &str = "hyperliquid";
/// Venue error replies logged one by one before only every 1000th is.
const ERRORS_LOGGED: u64 = 100;
/// Frames buffered between the connections and this task.
const INBOUND_CAPACITY: usize = 1024;

pub(crate) async fn run(
    config: HyperliquidConfig,
    mut emitter: Emitter,
) -> Result<SourceSummary, SourceError> {
    emitter.record_lag();
    let name = emitter.name().to_owned();
    let cancel = emitter.cancel().child_token();
    let (inbound_tx, mut inbound) = mpsc::channel(INBOUND_CAPACITY);
    let link = Arc::new(Link {
        source: name.clone(),
        url: config.url.clone(),
        connection: config.connection.clone(),
        ping_interval: config.ping_interval,
        connects: connection::per_minute(config.new_connections_per_minute),
        messages: connection::per_minute(config.messages_per_minute),
        cancel: cancel.clone(),
        inbound: inbound_tx,
    });
    let mut links = Links::new(&config, link);
    let mut frames = Frames::new(&config);
    let mut interest = emitter.interest();
    let mut following = config.follow_templates;
    links.update(&config, following.then(|| interest.borrow_and_update().clone()).as_ref());

    let result = loop {
        tokio::select! {
            _ = cancel.cancelled() => break Ok(()),
            changed = interest.changed(), if following => match changed {
                Ok(()) => {
                    tracing::info!("Templates changed; updating Hyperliquid subscriptions.");
                    let now = interest.borrow_and_update().clone();
                    links.update(&config, Some(&now));
                }
                // No more reloads can come: keep the current set.
                Err(_) => following = false,
            },
            Some(frame) = inbound.recv() => match frames.handle(frame, &mut emitter).await {
                Ok(Sent::Delivered) => {}
                Ok(Sent::Cancelled) => break Ok(()),
                Err(error) => break Err(error),
            },
        }
    };
    cancel.cancel();
    links.stop().await;
    result.map(|()| SourceSummary { cancelled: true, ..frames.summary })
}

/// The connection tasks and which subscription each one holds.
struct Links {
    link: Arc<Link>,
    placement: Placement,
    /// One per slot, in slot order; the slot's task owns the receiver.
    senders: Vec<mpsc::UnboundedSender<Change>>,
    tasks: JoinSet<()>,
}

impl Links {
    fn new(config: &HyperliquidConfig, link: Arc<Link>) -> Links {
        let placement = Placement::new(config.subscriptions_per_connection, config.max_connections);
        Links { link, placement, senders: Vec::new(), tasks: JoinSet::new() }
    }

    /// Move to what the config and `interest` want now.
    fn update(&mut self, config: &HyperliquidConfig, interest: Option<&Interest>) {
        let venue = interest.map(|i| i.for_venue(&config.venue));
        let Desired { subscriptions, mut refused, skipped_accounts } =
            desired(config, venue.as_ref());
        if !skipped_accounts.is_empty() {
            tracing::debug!(accounts = ?skipped_accounts, "Template accounts that are not Hyperliquid addresses are not tracked.");
        }
        let plan = self.placement.apply(&subscriptions);
        refused.extend(plan.refused.into_iter().map(|s| (Limit::Connections, s)));
        self.refuse(config, &refused);
        for slot in plan.opened.clone() {
            let (tx, rx) = mpsc::unbounded_channel();
            self.senders.push(tx);
            self.tasks.spawn(connection::run(self.link.clone(), slot, rx));
        }
        let (mut subscribed, mut unsubscribed) = (0, 0);
        for (slot, change) in plan.changes {
            match change {
                Change::Subscribe(_) => subscribed += 1,
                Change::Unsubscribe(_) => unsubscribed += 1,
            }
            // A send fails only once the slot's task ended, i.e. at shutdown.
            let _ = self.senders[slot].send(change);
        }
        let total = self.placement.total();
        metrics()
            .source_subscriptions
            .with_label_values(&[self.link.source.as_str()])
            .set(total as i64);
        health().want(&self.link.source, self.placement.connections() as u32);
        tracing::info!(
            subscriptions = total,
            connections = self.placement.connections(),
            subscribed,
            unsubscribed,
            "Hyperliquid subscriptions placed."
        );
    }

    /// Log and count what the limits refused, one line per limit.
    fn refuse(&self, config: &HyperliquidConfig, refused: &[(Limit, Subscription)]) {
        for limit in [Limit::Subscriptions, Limit::Users, Limit::Connections] {
            let objects: Vec<String> = refused
                .iter()
                .filter(|(l, _)| *l == limit)
                .map(|(_, s)| s.object().to_string())
                .collect();
            if objects.is_empty() {
                continue;
            }
            let (what, max) = match limit {
                Limit::Subscriptions => ("max_subscriptions", config.max_subscriptions),
                Limit::Users => ("max_users", config.max_users),
                Limit::Connections => (
                    "max_connections × subscriptions_per_connection",
                    config.max_connections * config.subscriptions_per_connection,
                ),
            };
            metrics()
                .source_refused
                .with_label_values(&[self.link.source.as_str(), limit.label()])
                .inc_by(objects.len() as u64);
            tracing::error!(limit = what, max, refused = objects.len(), subscriptions = ?objects, "Hyperliquid per-IP limit reached; not subscribing the excess.");
        }
    }

    /// Wait for every connection task after the token was cancelled.
    async fn stop(&mut self) {
        self.senders.clear();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Frame → events: parse, attribute `user` frames, deduplicate, emit.
struct Frames {
    parser: HyperliquidParser,
    dedup: Dedup,
    summary: SourceSummary,
    venue_errors: u64,
}

impl Frames {
    fn new(config: &HyperliquidConfig) -> Frames {
        Frames {
            parser: HyperliquidParser::new(&config.venue),
            dedup: Dedup::new(config.dedup_ttl, config.dedup_capacity),
            summary: SourceSummary::default(),
            venue_errors: 0,
        }
    }

    async fn handle(&mut self, frame: Inbound, emitter: &mut Emitter) -> Result<Sent, SourceError> {
        self.summary.frames += 1;
        if is_greeting(&frame.text) {
            self.summary.ignored += 1;
            return Ok(Sent::Delivered);
        }
        let shape = match Shape::of(&frame.text) {
            Ok(shape) => shape.unwrap_or_default(),
            Err(error) => return Ok(self.malformed(emitter, &error, &frame.text)),
        };
        let channel = shape.channel.and_then(shape::string);
        if channel.as_deref() == Some("error") {
            self.venue_error(emitter.name(), &frame, shape.data);
        }
        let events = match self.parser.parse_shape(&shape) {
            Ok(Parsed::Events(events)) => events,
            Ok(Parsed::Ignored(_)) => {
                self.summary.ignored += 1;
                return Ok(Sent::Delivered);
            }
            Err(error) => return Ok(self.malformed(emitter, &error, &frame.text)),
        };
        let account = match (channel.as_deref(), &frame.user_events) {
            (Some("user"), Some(user)) => Some(Sym::new(user)),
            _ => None,
        };
        let mut fresh = Vec::with_capacity(events.len());
        for mut event in events {
            if event.account.is_none() {
                event.account = account;
            }
            if !self.dedup.first_time(&event) {
                metrics().source_duplicates.with_label_values(&[emitter.name()]).inc();
                continue;
            }
            fresh.push(event);
        }
        // A frame's trades go on in one hand-off.
        let n = fresh.len() as u64;
        let sent = emitter.send_batch(fresh).await?;
        if sent == Sent::Delivered {
            self.summary.events += n;
        }
        Ok(sent)
    }

    fn malformed(&mut self, emitter: &mut Emitter, error: &ParseError, text: &str) -> Sent {
        self.summary.malformed += 1;
        emitter.malformed_frame(VENUE_LABEL, error, text);
        Sent::Delivered
    }

    /// `{"channel":"error","data":"..."}`: the venue refused something we
    /// sent (a bad coin, a duplicate subscription, too many users).
    fn venue_error(&mut self, source: &str, frame: &Inbound, data: Raw<'_>) {
        let text = match data {
            Some(raw) => {
                shape::string(raw).map_or_else(|| raw.get().to_owned(), |s| s.into_owned())
            }
            None => String::new(),
        };
        metrics().source_refused.with_label_values(&[source, "venue_error"]).inc();
        self.venue_errors += 1;
        let n = self.venue_errors;
        if n <= ERRORS_LOGGED || n.is_multiple_of(1000) {
            tracing::error!(
                slot = frame.slot,
                error = crate::sources::frame::truncate(&text),
                count = n,
                "Hyperliquid replied with an error."
            );
        }
    }
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;

//! The hand-off at the end of a decider's run: every decided alert (fired or
//! suppressed, with its reason) to the alert log, and each message, as soon
//! as it is formatted, to the queues of its template's channels. Both are
//! bounded channels; a full one makes the decider wait, and the wait shows
//! in `klaxon_stage_wait_seconds`.

use std::sync::Arc;

use crate::alert::{Alert, Delivery};

use super::plan::{Plan, TemplatePlan};
use super::stats::RunStats;
use super::wait;
use super::work::DecideOutputs;

/// Count and log every alert; returns the fired ones for formatting.
pub fn log_alerts(
    outputs: &DecideOutputs,
    plan: &Plan,
    stats: &RunStats,
    alerts: Vec<(u32, Arc<Alert>)>,
) -> Vec<(u32, Arc<Alert>)> {
    let mut fired = Vec::new();
    for (t, alert) in alerts {
        let counters = &plan.templates[t as usize].counters;
        match alert.suppress_reason() {
            None => {
                counters.fired.inc();
                RunStats::add(&stats.fired, 1);
                fired.push((t, alert.clone()));
            }
            Some(reason) => {
                let code = reason_class(reason);
                counters.suppressed.inc();
                stats.suppressed(counters.suppressed_by(code));
            }
        }
        let feed = live_feed();
        if feed.receiver_count() > 0 {
            let _ = feed.send(alert.clone());
        }
        if wait::blocking_send(&outputs.alerts, alert, "alert_log").is_err() {
            tracing::error!("Alert log writer is gone; alert not logged.");
        }
    }
    fired
}

/// Every decided alert, for whoever watches live (the console's feed):
/// published only while someone listens; a slow listener skips, never
/// slows the workers. The alert log is the record.
pub fn live_feed() -> &'static tokio::sync::broadcast::Sender<Arc<Alert>> {
    static FEED: std::sync::OnceLock<tokio::sync::broadcast::Sender<Arc<Alert>>> =
        std::sync::OnceLock::new();
    FEED.get_or_init(|| tokio::sync::broadcast::channel(1024).0)
}

/// Every message's receive → hand-off latency, for `klaxon bench`, whose
/// percentiles need each value (the histogram's buckets are too coarse for
/// a p999). Empty, one atomic load per message, unless a bench listens.
pub static LATENCY_TAP: arc_swap::ArcSwapOption<std::sync::mpsc::Sender<std::time::Duration>> =
    arc_swap::ArcSwapOption::const_empty();

/// Queue a message on its template's channels. Its latency is taken here,
/// from its event's receipt to this hand-off.
pub fn hand_off(outputs: &DecideOutputs, tp: &TemplatePlan, delivery: Arc<Delivery>) {
    if let Some(latency) = delivery.alert.event.received.elapsed() {
        tp.counters.latency.observe(latency.as_secs_f64());
        if let Some(tap) = LATENCY_TAP.load().as_deref() {
            let _ = tap.send(latency);
        }
    }
    for channel in delivery.channels.iter() {
        if let Some(tx) = outputs.sinks.get(channel)
            && wait::blocking_send(tx, delivery.clone(), "deliver").is_err()
        {
            tracing::error!(channel, "Sink is gone; message not delivered.");
        }
    }
}

/// A suppression's code: whether another host claimed the key, the
/// template's default cooldown held the alert back, or the policy did, with
/// the code its reason gives (`code: text`). The policy's own words go to
/// the alert log, never into a metric label or a statistics key.
fn reason_class(reason: &str) -> &str {
    if reason == crate::state::CLAIMED_ELSEWHERE {
        "claimed_elsewhere"
    } else if reason.starts_with("default cooldown") {
        "default_cooldown"
    } else {
        crate::alert::reason_code(reason)
    }
}

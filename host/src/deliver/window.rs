//! Time-window digests per template (Alertmanager's group_wait and
//! group_interval): `digest = { wait = "10s", interval = "1m", max_items = 20 }`.
//!
//! The first alert of a template on a channel is held for `wait`, and every
//! alert of that template arriving meanwhile joins it; the group goes out as
//! one message. The next group goes out no sooner than `interval` after.
//!
//! Held rows wait in the outbox with the alert itself (`StoredAlert`), so a
//! restart keeps them. When the window closes, the channel's sender hands
//! the group to a [`DigestFormat`]: in the running host, the template's
//! formatter's `format-digest` (`pipeline::WindowDigests`), with the same
//! input bounds (`digest_bytes`) and failure policy as `digest = true`.
//! Without one (a row written before alerts were kept, a template gone
//! from the plan), the host composes the digest from each alert's own
//! message, headed "N alerts", the first `max_items` listed and the rest
//! counted.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::{Alert, Message};
use crate::issue::ConfigIssue;

/// Formats a closed window's alerts. Called off the async runtime (it runs
/// plugin code); `alerts` are one template's, oldest first.
pub trait DigestFormat: Send + Sync {
    /// The messages for `alerts`, each with how many of them (from the
    /// front, in order) it stands for; together they cover every alert.
    /// `None`: the template is not in the running plan; the host composes.
    fn format_digest(&self, template: &str, alerts: &[Arc<Alert>])
    -> Option<Vec<(usize, Message)>>;
}

/// A template's `digest`: `true`/`false`, or a time window.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum DigestConfig {
    /// Alerts fired in one batch → one message (`format-digest`).
    Batch(bool),
    Window(DigestWindow),
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig::Batch(false)
    }
}

impl DigestConfig {
    /// Same-batch grouping in the worker.
    pub fn batches(&self) -> bool {
        matches!(self, DigestConfig::Batch(true))
    }

    pub fn window(&self) -> Option<&DigestWindow> {
        match self {
            DigestConfig::Window(w) => Some(w),
            DigestConfig::Batch(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestWindow {
    #[serde(default = "ten_seconds", with = "humantime_serde")]
    pub wait: Duration,
    #[serde(default = "one_minute", with = "humantime_serde")]
    pub interval: Duration,
    #[serde(default = "twenty")]
    pub max_items: u32,
}

fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}

fn one_minute() -> Duration {
    Duration::from_secs(60)
}

fn twenty() -> u32 {
    20
}

impl DigestWindow {
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        if self.max_items == 0 {
            return vec![ConfigIssue::new(format!("{path}.max_items"), "must be at least 1")];
        }
        Vec::new()
    }
}

/// One template's group on one channel: when it goes out, and when the one
/// after may.
#[derive(Debug, Clone, Copy)]
pub(super) struct Group {
    pub until: u64,
}

/// The release time of an alert arriving at `now_ms` for a group last
/// released (or due) at `previous`.
pub(super) fn hold_until(window: &DigestWindow, previous: Option<Group>, now_ms: u64) -> u64 {
    let wait = window.wait.as_millis() as u64;
    let interval = window.interval.as_millis() as u64;
    match previous {
        Some(g) if now_ms < g.until => g.until,
        Some(g) => (now_ms + wait).max(g.until + interval),
        None => now_ms + wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        #[derive(Deserialize)]
        struct T {
            digest: DigestConfig,
        }
        let t: T = toml::from_str("digest = true").unwrap();
        assert!(t.digest.batches());
        let t: T = toml::from_str("digest = { wait = \"10s\", interval = \"1m\", max_items = 5 }")
            .unwrap();
        let w = t.digest.window().unwrap();
        assert_eq!(
            (w.wait, w.interval, w.max_items),
            (Duration::from_secs(10), Duration::from_secs(60), 5)
        );
        assert!(!t.digest.batches());
    }

    #[test]
    fn groups_wait_then_keep_the_interval() {
        let w = DigestWindow {
            wait: Duration::from_secs(10),
            interval: Duration::from_secs(60),
            max_items: 20,
        };
        assert_eq!(hold_until(&w, None, 1_000), 11_000);
        assert_eq!(hold_until(&w, Some(Group { until: 11_000 }), 5_000), 11_000, "joins");
        assert_eq!(hold_until(&w, Some(Group { until: 11_000 }), 12_000), 71_000, "interval");
        assert_eq!(hold_until(&w, Some(Group { until: 11_000 }), 200_000), 210_000, "quiet: wait");
    }
}

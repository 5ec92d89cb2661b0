//! Per-owner caps: `[owners.<name>] alerts_per_hour = N` limits what one
//! owner's templates send to each channel. Past the cap an alert is not
//! dropped: its outbox row is `held` until the window ends, then every held
//! alert of that owner and channel goes out as one digest. Held and
//! released rows are counted (`klaxon_sink_deliveries_total{outcome="held"}`,
//! and per owner in `klaxon_owner_held_total{owner}`) and stay in the
//! outbox (`folded_into` names the digest's first row).
//!
//! Counts live in memory per (owner, channel); after a restart a window
//! starts afresh, and rows held before it are still released on time. At
//! shutdown, held rows are released at once (within the shutdown grace).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;

use crate::config::TemplateConfig;
use crate::issue::ConfigIssue;

/// One `[owners.<name>]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerConfig {
    /// Most alerts the owner's templates send per channel per window.
    pub alerts_per_hour: u32,
    /// The window (one hour; shorter in tests).
    #[serde(default = "hour", with = "humantime_serde")]
    pub window: Duration,
}

fn hour() -> Duration {
    Duration::from_secs(3600)
}

impl OwnerConfig {
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if self.alerts_per_hour == 0 {
            issues.push(ConfigIssue::new(format!("{path}.alerts_per_hour"), "must be at least 1"));
        }
        if self.window.is_zero() {
            issues.push(ConfigIssue::new(format!("{path}.window"), "must be greater than 0"));
        }
        issues
    }
}

/// The caps of a run: template → owner, owner → cap, and the counts.
#[derive(Debug, Default)]
pub struct OwnerCaps {
    /// Templates with a time-window digest (`window.rs`), and their groups
    /// per (template, channel).
    windows: HashMap<String, super::DigestWindow>,
    groups: Mutex<HashMap<(String, String), super::window::Group>>,
    owner_of: HashMap<String, String>,
    caps: HashMap<String, OwnerConfig>,
    /// (owner, channel) → (window start ms, alerts in it).
    counts: Mutex<HashMap<(String, String), (u64, u32)>>,
}

impl OwnerCaps {
    pub fn new(
        owners: &BTreeMap<String, OwnerConfig>,
        templates: &BTreeMap<String, TemplateConfig>,
    ) -> OwnerCaps {
        let owner_of = templates
            .iter()
            .filter_map(|(name, t)| t.owner.clone().map(|o| (name.clone(), o)))
            .filter(|(_, o)| owners.contains_key(o))
            .collect();
        let caps = owners.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let windows = templates
            .iter()
            .filter_map(|(name, t)| t.digest.window().map(|w| (name.clone(), w.clone())))
            .collect();
        OwnerCaps { windows, groups: Mutex::default(), owner_of, caps, counts: Mutex::default() }
    }

    /// For a template with a time-window digest: when an alert arriving at
    /// `now_ms` on `channel` goes out (with its group).
    pub fn digest_hold(&self, template: &str, channel: &str, now_ms: u64) -> Option<u64> {
        let window = self.windows.get(template)?;
        let mut groups = self.groups.lock().expect("digest groups lock");
        let key = (template.to_owned(), channel.to_owned());
        let until = super::window::hold_until(window, groups.get(&key).copied(), now_ms);
        groups.insert(key, super::window::Group { until });
        Some(until)
    }

    /// Most alerts a digest of `template` lists (the rest are counted).
    pub fn max_items(&self, template: &str) -> Option<usize> {
        self.windows.get(template).map(|w| w.max_items as usize)
    }

    /// Count one alert of `template` to `channel` at `now_ms`; `None` when
    /// within the cap, else `(owner, window end ms)`: hold it until then.
    pub fn take(&self, template: &str, channel: &str, now_ms: u64) -> Option<(String, u64)> {
        let owner = self.owner_of.get(template)?;
        let cap = self.caps.get(owner)?;
        let window = cap.window.as_millis() as u64;
        let mut counts = self.counts.lock().expect("owner counts lock");
        let (start, n) = counts.entry((owner.clone(), channel.to_owned())).or_insert((now_ms, 0));
        if now_ms >= *start + window {
            (*start, *n) = (now_ms, 0);
        }
        *n += 1;
        (*n > cap.alerts_per_hour).then(|| (owner.clone(), *start + window))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_past_the_cap_are_held_until_the_window_ends() {
        let owners = BTreeMap::from([(
            "alice".to_owned(),
            OwnerConfig { alerts_per_hour: 2, window: Duration::from_secs(10) },
        )]);
        let t: TemplateConfig =
            toml::from_str("owner = \"alice\"\nfilter = { plugin = \"amount-threshold\" }")
                .unwrap();
        let caps = OwnerCaps::new(&owners, &BTreeMap::from([("t".to_owned(), t)]));
        assert_eq!(caps.take("t", "tg", 1_000), None);
        assert_eq!(caps.take("t", "tg", 2_000), None);
        assert_eq!(caps.take("t", "tg", 3_000), Some(("alice".into(), 11_000)));
        assert_eq!(caps.take("t", "other", 3_000), None, "per channel");
        assert_eq!(caps.take("t", "tg", 11_000), None, "a new window");
        assert_eq!(caps.take("unowned", "tg", 3_000), None);
    }
}

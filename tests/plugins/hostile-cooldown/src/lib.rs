//! Hostile on purpose: a cooldown policy that fires normally for the host's
//! smoke run (its alert's event is priced 1) and, for alerts whose event is
//! priced above `above_price` (default 10), suppresses them with reasons the
//! host must not keep:
//!
//! * `huge-reason`: a reason of `size` bytes (distinct per decision, so a
//!   host that keeps reasons as keys keeps every one);
//! * `unique-reason`: a short reason, distinct per decision (a host that
//!   counts reasons as metric labels or statistics keys grows a series each).

use std::sync::atomic::{AtomicU64, Ordering};

use klaxon_sdk::{Alert, CooldownPolicy, Decision, History, export_cooldown};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    HugeReason,
    UniqueReason,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub mode: Mode,
    /// `huge-reason`: bytes per reason.
    #[serde(default = "default_size")]
    pub size: usize,
    /// Fire normally for alerts on events priced at most this.
    #[serde(default = "default_above_price")]
    pub above_price: f64,
}

fn default_size() -> usize {
    64 * 1024
}
fn default_above_price() -> f64 {
    10.0
}

/// Decisions so far in this instance: makes every reason distinct.
static DECISIONS: AtomicU64 = AtomicU64::new(0);

pub struct HostileCooldown {
    p: Params,
}

impl CooldownPolicy for HostileCooldown {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        Ok(HostileCooldown { p })
    }

    fn decide(&mut self, alert: &Alert, _: &History) -> Decision {
        if alert.event.price <= self.p.above_price {
            return Decision::Fire(alert.severity);
        }
        let n = DECISIONS.fetch_add(1, Ordering::Relaxed);
        let reason = format!("hostile reason {n} for {}", alert.event.id);
        match self.p.mode {
            Mode::UniqueReason => Decision::suppress(reason),
            Mode::HugeReason => {
                let mut reason = reason;
                reason.extend(std::iter::repeat_n('R', self.p.size.saturating_sub(reason.len())));
                Decision::suppress(reason)
            }
        }
    }
}

export_cooldown!(HostileCooldown);

#[cfg(test)]
mod tests {
    use klaxon_sdk::testing::CooldownHarness;
    use klaxon_sdk::{EventRecord, Pass};

    use super::*;

    fn alert(price: f64, id: &str) -> Alert {
        let event = EventRecord::trade("BTCUSDT", price, 1.0).with_id(id);
        Alert::new("t", Pass::new("BTCUSDT", "t"), event)
    }

    fn reason(d: Decision) -> String {
        match d {
            Decision::Suppress(r) => r.into_owned(),
            Decision::Fire(_) => panic!("fired"),
        }
    }

    #[test]
    fn fires_for_the_smoke_alert() {
        let c = CooldownHarness::<HostileCooldown>::configure(r#"{"mode":"huge-reason"}"#).unwrap();
        assert!(c.decide(&alert(1.0, "smoke"), &History::default()).is_fire());
    }

    #[test]
    fn reasons_are_huge_or_unique() {
        let huge =
            CooldownHarness::<HostileCooldown>::configure(r#"{"mode":"huge-reason","size":500}"#)
                .unwrap();
        let (a, b) = (
            reason(huge.decide(&alert(100.0, "a"), &History::default())),
            reason(huge.decide(&alert(100.0, "a"), &History::default())),
        );
        assert!(a.len() == 500 && b.len() == 500 && a != b);
        let unique =
            CooldownHarness::<HostileCooldown>::configure(r#"{"mode":"unique-reason"}"#).unwrap();
        let (a, b) = (
            reason(unique.decide(&alert(100.0, "a"), &History::default())),
            reason(unique.decide(&alert(100.0, "a"), &History::default())),
        );
        assert!(a.len() < 64 && a != b, "{a} / {b}");
    }
}

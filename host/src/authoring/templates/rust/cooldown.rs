//! `{{name}}`: a cooldown policy. After a key fires, it stays quiet for
//! `window_secs`; an alert worth `escalate_above_usd` or more fires one
//! severity higher.

use klaxon_sdk::{Alert, CooldownPolicy, Decision, History, export_cooldown, host};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Quiet period after a fire, in seconds.
    pub window_secs: u64,
    /// Alerts worth at least this fire one severity higher.
    #[serde(default)]
    pub escalate_above_usd: Option<f64>,
}

pub struct Plugin {
    window_ms: u64,
    escalate_above: f64,
    reason: String,
}

impl CooldownPolicy for Plugin {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        if p.window_secs == 0 {
            return Err("window_secs: must be greater than 0".into());
        }
        Ok(Plugin {
            window_ms: p.window_secs * 1000,
            escalate_above: p.escalate_above_usd.unwrap_or(f64::INFINITY),
            reason: format!("quiet {}s", p.window_secs),
        })
    }

    fn decide(&mut self, alert: &Alert, history: &History) -> Decision {
        if let Some(since) = history.since_last_fire_ms(host::now_ms())
            && since < self.window_ms
        {
            return Decision::suppress(self.reason.clone());
        }
        if alert.value >= self.escalate_above {
            Decision::Fire(alert.severity.raised())
        } else {
            Decision::Fire(alert.severity)
        }
    }
}

export_cooldown!(Plugin);

//! `fixed`: at most one alert per key per `window`. An alert within the
//! window of the key's last fire is suppressed with `cooldown <window>`;
//! otherwise it fires at its own severity.

use klaxon_sdk::{Alert, CooldownPolicy, Decision, Duration, History, export_cooldown, host};
use serde::Deserialize;

/// Params of `fixed`.
///
/// ```toml
/// cooldown = { plugin = "fixed", params = { window = "10m" } }
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Quiet time after a fire, per alert key, e.g. `"10m"`.
    pub window: Duration,
}

pub struct Fixed {
    window: Duration,
    /// `cooldown 10m`, built once.
    reason: String,
}

impl CooldownPolicy for Fixed {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        Ok(Fixed { window: p.window, reason: format!("cooldown: {} window", p.window) })
    }

    fn decide(&mut self, alert: &Alert, history: &History) -> Decision {
        match history.since_last_fire_ms(host::now_ms()) {
            Some(elapsed) if elapsed < self.window.as_ms() => {
                Decision::suppress(self.reason.clone())
            }
            _ => Decision::Fire(alert.severity),
        }
    }
}

export_cooldown!(Fixed);

#[cfg(test)]
mod tests {
    use klaxon_sdk::testing::{CooldownHarness, json};
    use klaxon_sdk::{EventRecord, Pass, Severity};

    use super::*;

    fn alert() -> Alert {
        Alert::new(
            "t",
            Pass::new("BTCUSDT", "x").with_severity(Severity::Warning),
            EventRecord::trade("BTCUSDT", 1.0, 1.0),
        )
    }

    #[test]
    fn suppresses_inside_the_window_only() {
        let policy = CooldownHarness::<Fixed>::configure_json(&json!({"window": "10m"})).unwrap();
        let now = host::now_ms();
        assert_eq!(policy.decide(&alert(), &History::default()), Decision::Fire(Severity::Warning));
        let recent = History::fired(now - 9 * 60_000, 1.0, Severity::Warning);
        assert_eq!(policy.decide(&alert(), &recent), Decision::suppress("cooldown: 10m window"));
        let old = History::fired(now - 10 * 60_000, 1.0, Severity::Warning);
        assert_eq!(policy.decide(&alert(), &old), Decision::Fire(Severity::Warning));
    }

    #[test]
    fn zero_window_never_suppresses() {
        let policy = CooldownHarness::<Fixed>::configure_json(&json!({"window": "0s"})).unwrap();
        let now = host::now_ms();
        assert!(policy.decide(&alert(), &History::fired(now, 1.0, Severity::Info)).is_fire());
    }

    #[test]
    fn bad_params_name_the_field() {
        let err = |p| CooldownHarness::<Fixed>::configure_json(&p).err().unwrap();
        assert_eq!(err(json!({})), "missing field `window`");
        assert!(
            err(json!({"window": "10 minutes please"})).starts_with("window: invalid duration")
        );
        assert_eq!(
            err(json!({"window": "1m", "windw": "1m"})),
            "windw: unknown field `windw`, expected `window`"
        );
    }
}

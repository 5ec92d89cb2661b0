//! `escalate`: inside the window after a fire, stay quiet unless the alert
//! got worse, and get louder if it persists.
//!
//! * Outside `window` (or never fired): fire at the alert's severity.
//! * Inside it, if the value's magnitude is at least `worse_by_pct` percent
//!   above the last fired value's: fire again, at no lower severity than the
//!   last fire (a running incident does not quiet down).
//! * Inside it, if the key has been suppressed `escalate_after` times since
//!   its last fire: fire one severity step above the louder of the alert's
//!   and the last fire's (info → warning → critical).
//! * Otherwise suppress with `not_worse: not worse by <worse_by_pct>%`.

use klaxon_sdk::{Alert, CooldownPolicy, Decision, Duration, History, export_cooldown, host};
use serde::Deserialize;

/// Params of `escalate`.
///
/// ```toml
/// cooldown = { plugin = "escalate", params = { window = "15m", worse_by_pct = 20, escalate_after = 5 } }
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// How long after a fire the key counts as the same incident, e.g. `"15m"`.
    pub window: Duration,
    /// How much bigger (in percent of the last fired value) an alert must be
    /// to re-alert inside the window. `0` re-alerts on any value at least as big.
    pub worse_by_pct: f64,
    /// After this many suppressions since the last fire, fire anyway one
    /// severity higher. Absent: never escalate.
    #[serde(default)]
    pub escalate_after: Option<u32>,
}

pub struct Escalate {
    window: Duration,
    /// `1 + worse_by_pct / 100`.
    worse_factor: f64,
    escalate_after: Option<u32>,
    /// `not worse by 20%`, built once.
    reason: String,
}

impl CooldownPolicy for Escalate {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        if !p.worse_by_pct.is_finite() || p.worse_by_pct < 0.0 {
            return Err(format!("worse_by_pct: must be 0 or more, got {}", p.worse_by_pct));
        }
        if p.escalate_after == Some(0) {
            return Err(
                "escalate_after: must be at least 1 (leave it out to never escalate)".into()
            );
        }
        Ok(Escalate {
            window: p.window,
            worse_factor: 1.0 + p.worse_by_pct / 100.0,
            escalate_after: p.escalate_after,
            reason: format!("not_worse: not worse by {}%", p.worse_by_pct),
        })
    }

    fn decide(&mut self, alert: &Alert, history: &History) -> Decision {
        let in_window =
            history.since_last_fire_ms(host::now_ms()).is_some_and(|e| e < self.window.as_ms());
        if !in_window {
            return Decision::Fire(alert.severity);
        }
        let running = history.last_severity.map_or(alert.severity, |last| last.max(alert.severity));
        let last = history.last_value.unwrap_or(0.0).abs();
        if alert.value.abs() >= last * self.worse_factor {
            return Decision::Fire(running);
        }
        if let Some(after) = self.escalate_after
            && history.suppressed_since_fire >= after
        {
            return Decision::Fire(running.raised());
        }
        Decision::suppress(self.reason.clone())
    }
}

export_cooldown!(Escalate);

#[cfg(test)]
mod tests {
    use klaxon_sdk::testing::{CooldownHarness, json};
    use klaxon_sdk::{EventRecord, Pass, Severity};

    use super::*;

    fn alert(value: f64, severity: Severity) -> Alert {
        Alert::new(
            "t",
            Pass::new("K", "x").with_value(value).with_severity(severity),
            EventRecord::trade("K", 1.0, 1.0),
        )
    }

    fn policy() -> CooldownHarness<Escalate> {
        CooldownHarness::configure_json(
            &json!({"window": "15m", "worse_by_pct": 20, "escalate_after": 3}),
        )
        .unwrap()
    }

    fn fired(mins_ago: u64, value: f64, severity: Severity) -> History {
        History::fired(host::now_ms() - mins_ago * 60_000, value, severity)
    }

    #[test]
    fn outside_the_window_fires_plainly() {
        let p = policy();
        assert_eq!(
            p.decide(&alert(5.0, Severity::Info), &History::default()),
            Decision::Fire(Severity::Info)
        );
        assert_eq!(
            p.decide(&alert(1.0, Severity::Info), &fired(16, 100.0, Severity::Critical)),
            Decision::Fire(Severity::Info)
        );
    }

    #[test]
    fn inside_the_window_only_worse_fires() {
        let p = policy();
        let h = fired(5, 100.0, Severity::Warning);
        assert_eq!(
            p.decide(&alert(119.0, Severity::Info), &h),
            Decision::suppress("not_worse: not worse by 20%")
        );
        assert_eq!(
            p.decide(&alert(120.0, Severity::Info), &h),
            Decision::Fire(Severity::Warning),
            "keeps the last severity"
        );
        assert_eq!(
            p.decide(&alert(-130.0, Severity::Critical), &h),
            Decision::Fire(Severity::Critical)
        );
    }

    #[test]
    fn persisting_alerts_escalate() {
        let p = policy();
        let h = fired(5, 100.0, Severity::Info);
        assert!(!p.decide(&alert(100.0, Severity::Info), &h.with_suppressed(2)).is_fire());
        assert_eq!(
            p.decide(&alert(100.0, Severity::Info), &h.with_suppressed(3)),
            Decision::Fire(Severity::Warning)
        );
        let h = fired(5, 100.0, Severity::Warning).with_suppressed(3);
        assert_eq!(p.decide(&alert(100.0, Severity::Info), &h), Decision::Fire(Severity::Critical));
        let h = fired(5, 100.0, Severity::Critical).with_suppressed(9);
        assert_eq!(p.decide(&alert(1.0, Severity::Info), &h), Decision::Fire(Severity::Critical));
    }

    #[test]
    fn without_escalate_after_it_never_escalates() {
        let p = CooldownHarness::<Escalate>::configure_json(
            &json!({"window": "1m", "worse_by_pct": 0}),
        )
        .unwrap();
        let h = fired(0, 100.0, Severity::Info).with_suppressed(1000);
        assert_eq!(
            p.decide(&alert(99.0, Severity::Info), &h),
            Decision::suppress("not_worse: not worse by 0%")
        );
        assert!(p.decide(&alert(100.0, Severity::Info), &h).is_fire());
    }

    #[test]
    fn bad_params_name_the_field() {
        let err = |p| CooldownHarness::<Escalate>::configure_json(&p).err().unwrap();
        assert_eq!(err(json!({"window": "1m"})), "missing field `worse_by_pct`");
        assert_eq!(
            err(json!({"window": "1m", "worse_by_pct": -5})),
            "worse_by_pct: must be 0 or more, got -5"
        );
        assert!(
            err(json!({"window": "1m", "worse_by_pct": 5, "escalate_after": 0}))
                .starts_with("escalate_after: must be at least 1")
        );
        assert!(
            err(json!({"window": "1m", "worse_by_pct": 5, "escalate_after": -1}))
                .starts_with("escalate_after: invalid value")
        );
    }
}

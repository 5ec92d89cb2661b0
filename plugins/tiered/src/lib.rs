//! `tiered`: the quiet time after a fire depends on how big the alert is.
//! Each tier says "from this value up, use this window"; the alert's value
//! (its magnitude: a −7% move counts as 7) picks the highest tier it
//! reaches, and values below every tier use the lowest tier. Big moves can
//! then re-alert sooner than small ones, or the other way round.
//!
//! Suppress reason: `cooldown: <window> window of its tier` (code `cooldown`).

use klaxon_sdk::{Alert, CooldownPolicy, Decision, Duration, History, export_cooldown, host};
use serde::Deserialize;

/// Params of `tiered`.
///
/// ```toml
/// cooldown = { plugin = "tiered", params = { tiers = [
///     { min_value = 0,         window = "30m" },
///     { min_value = 1000000,   window = "10m" },
///     { min_value = 10000000,  window = "1m" },
/// ] } }
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// At least one tier; order does not matter.
    pub tiers: Vec<Tier>,
}

/// One tier: alerts whose value is at least `min_value` use `window`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Smallest alert value (notional in USD, % move, …) for this tier.
    pub min_value: f64,
    /// Quiet time after a fire for alerts in this tier.
    pub window: Duration,
}

pub struct Tiered {
    /// Highest `min_value` first, each with its suppress reason.
    tiers: Vec<(Tier, String)>,
}

impl CooldownPolicy for Tiered {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        if p.tiers.is_empty() {
            return Err("tiers: list at least one tier".into());
        }
        if let Some(i) = p.tiers.iter().position(|t| !t.min_value.is_finite()) {
            return Err(format!("tiers[{i}].min_value: must be a number"));
        }
        for (i, tier) in p.tiers.iter().enumerate() {
            if let Some(j) = p.tiers[..i].iter().position(|t| t.min_value == tier.min_value) {
                return Err(format!(
                    "tiers[{i}].min_value: {} already used by tiers[{j}]",
                    tier.min_value
                ));
            }
        }
        let mut tiers: Vec<(Tier, String)> = p
            .tiers
            .into_iter()
            .map(|t| {
                let reason = format!("cooldown: {} window of its tier", t.window);
                (t, reason)
            })
            .collect();
        tiers.sort_by(|a, b| b.0.min_value.total_cmp(&a.0.min_value));
        Ok(Tiered { tiers })
    }

    fn decide(&mut self, alert: &Alert, history: &History) -> Decision {
        let value = alert.value.abs();
        let (tier, reason) =
            self.tiers.iter().find(|(t, _)| value >= t.min_value).unwrap_or_else(|| {
                // Below every tier: the lowest one. `new` guarantees one exists.
                self.tiers.last().expect("at least one tier")
            });
        match history.since_last_fire_ms(host::now_ms()) {
            Some(elapsed) if elapsed < tier.window.as_ms() => Decision::suppress(reason.clone()),
            _ => Decision::Fire(alert.severity),
        }
    }
}

export_cooldown!(Tiered);

#[cfg(test)]
mod tests {
    use klaxon_sdk::testing::{CooldownHarness, json};
    use klaxon_sdk::{EventRecord, Pass, Severity};

    use super::*;

    fn alert(value: f64) -> Alert {
        Alert::new("t", Pass::new("K", "x").with_value(value), EventRecord::trade("K", 1.0, 1.0))
    }

    fn policy() -> CooldownHarness<Tiered> {
        CooldownHarness::configure_json(&json!({"tiers": [
            {"min_value": 1000000, "window": "10m"},
            {"min_value": 0, "window": "30m"},
            {"min_value": 10000000, "window": "1m"},
        ]}))
        .unwrap()
    }

    #[test]
    fn window_follows_the_alert_value() {
        let p = policy();
        let fired =
            |mins_ago: u64| History::fired(host::now_ms() - mins_ago * 60_000, 1.0, Severity::Info);
        assert_eq!(
            p.decide(&alert(500_000.0), &fired(20)),
            Decision::suppress("cooldown: 30m window of its tier")
        );
        assert!(p.decide(&alert(500_000.0), &fired(31)).is_fire());
        assert_eq!(
            p.decide(&alert(2_000_000.0), &fired(5)),
            Decision::suppress("cooldown: 10m window of its tier")
        );
        assert!(p.decide(&alert(2_000_000.0), &fired(11)).is_fire());
        assert!(p.decide(&alert(20_000_000.0), &fired(2)).is_fire());
        assert_eq!(
            p.decide(&alert(-20_000_000.0), &fired(0)),
            Decision::suppress("cooldown: 1m window of its tier"),
            "magnitude counts"
        );
        assert!(p.decide(&alert(1.0), &History::default()).is_fire());
    }

    #[test]
    fn below_every_tier_uses_the_lowest() {
        let p = CooldownHarness::<Tiered>::configure_json(
            &json!({"tiers": [{"min_value": 5, "window": "1h"}]}),
        )
        .unwrap();
        let recent = History::fired(host::now_ms() - 60_000, 1.0, Severity::Info);
        assert_eq!(
            p.decide(&alert(1.0), &recent),
            Decision::suppress("cooldown: 1h window of its tier")
        );
    }

    #[test]
    fn bad_params_name_the_field() {
        let err = |p| CooldownHarness::<Tiered>::configure_json(&p).err().unwrap();
        assert_eq!(err(json!({"tiers": []})), "tiers: list at least one tier");
        assert!(
            err(json!({"tiers": [{"min_value": 1}]}))
                .starts_with("tiers[0]: missing field `window`")
        );
        assert!(
            err(json!({"tiers": [{"min_value": 1, "window": "5m", "max": 2}]}))
                .starts_with("tiers[0].max: unknown field `max`")
        );
        assert_eq!(
            err(
                json!({"tiers": [{"min_value": 1, "window": "5m"}, {"min_value": 1, "window": "1m"}]})
            ),
            "tiers[1].min_value: 1 already used by tiers[0]"
        );
    }
}

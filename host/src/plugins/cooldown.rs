//! Calling a cooldown-policy plugin.

use std::sync::Arc;

use wasmtime::Store;

use crate::alert::{Decision, History, Pass, Severity, TemplateId};
use crate::event::Event;

use super::bindings::cooldown::CooldownPolicy;
use super::convert;
use super::host_api::{HostServices, HostState};
use super::instance::{self, CallError, Limits};
use super::load::KindPre;
use super::{LoadedPlugin, PluginEngine, PluginError};

pub struct CooldownInstance {
    plugin: Arc<LoadedPlugin>,
    store: Store<HostState>,
    bindings: CooldownPolicy,
    limits: Limits,
    template: TemplateId,
}

impl CooldownInstance {
    pub fn new(
        engine: &PluginEngine,
        template: &TemplateId,
        plugin: Arc<LoadedPlugin>,
        params_json: &str,
        services: &HostServices,
        limits: Limits,
    ) -> Result<CooldownInstance, PluginError> {
        let KindPre::Cooldown(pre) = &plugin.pre else {
            panic!("CooldownInstance::new called with a {} plugin", plugin.kind.as_str());
        };
        let (store, bindings) = instance::start(
            engine,
            template,
            &plugin,
            params_json,
            services,
            limits,
            |s| pre.instantiate(s),
            |b, s, p| b.call_configure(s, p),
        )?;
        Ok(CooldownInstance { plugin, store, bindings, limits, template: template.clone() })
    }

    pub fn plugin(&self) -> &Arc<LoadedPlugin> {
        &self.plugin
    }

    /// Fire or suppress the candidate `pass` raised by `event`.
    pub fn decide(
        &mut self,
        pass: &Pass,
        event: &Event,
        history: &History,
        now_ms: u64,
    ) -> Result<Decision, CallError> {
        instance::prepare(&mut self.store, self.limits, now_ms);
        let alert = convert::alert(&self.template, pass, pass.severity, event);
        let decision = self
            .bindings
            .call_decide(&mut self.store, &alert, convert::history(history))
            .map_err(|e| instance::classify(&e, self.limits))?;
        Ok(convert::decision(decision))
    }
}

/// The failure policy of a cooldown: the template's default fixed window.
pub fn default_decision(
    history: &History,
    window_ms: u64,
    severity: Severity,
    now_ms: u64,
) -> Decision {
    match history.last_fired_ms {
        Some(last) if now_ms.saturating_sub(last) < window_ms => Decision::Suppress(format!(
            "default cooldown {}",
            humantime::format_duration(std::time::Duration::from_millis(window_ms))
        )),
        _ => Decision::Fire(severity),
    }
}

/// The stock `fixed` policy through the host, and the default decision every
/// failing policy falls back to.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::tests::{GENEROUS, engine, loaded, services, template, trade};
    use crate::plugins::{PluginKind, load};

    const NOW: u64 = 1_700_000_000_000;

    fn fixed(params: &str) -> Result<CooldownInstance, PluginError> {
        CooldownInstance::new(
            engine(),
            &template(),
            loaded("fixed", PluginKind::Cooldown),
            params,
            &services(),
            GENEROUS,
        )
    }

    fn pass() -> Pass {
        Pass {
            alert_key: "BTCUSDT".into(),
            severity: Severity::Warning,
            value: 1.0,
            title: "t".into(),
            fields: vec![],
        }
    }

    fn fired(ms_ago: u64) -> History {
        History {
            last_fired_ms: Some(NOW - ms_ago),
            last_value: Some(1.0),
            last_severity: Some(Severity::Warning),
            fires: 1,
            suppressed_since_fire: 0,
        }
    }

    #[test]
    fn the_fixed_policy_suppresses_inside_its_window_on_the_host_clock() {
        let mut c = fixed(r#"{"window": "10m"}"#).expect("configure");
        let event = trade("BTCUSDT", 65_000, 1);
        assert_eq!(
            c.decide(&pass(), &event, &History::default(), NOW),
            Ok(Decision::Fire(Severity::Warning))
        );
        assert_eq!(
            c.decide(&pass(), &event, &fired(9 * 60_000), NOW),
            Ok(Decision::Suppress("cooldown 10m".into()))
        );
        assert_eq!(
            c.decide(&pass(), &event, &fired(10 * 60_000), NOW),
            Ok(Decision::Fire(Severity::Warning))
        );
    }

    #[test]
    fn a_misspelled_cooldown_param_names_the_field() {
        let err = fixed(r#"{"window": "1m", "windw": "1m"}"#).err().expect("configure must fail");
        let version = load::content_version(&crate::plugins::tests::wasm("fixed")).0;
        assert_eq!(
            err.to_string(),
            format!(
                "plugin `fixed` {version}: configure rejected params: windw: unknown field `windw`, expected `window`"
            )
        );
    }

    #[test]
    fn the_default_decision_is_a_fixed_window() {
        let window = 30_000;
        assert_eq!(
            default_decision(&History::default(), window, Severity::Critical, NOW),
            Decision::Fire(Severity::Critical)
        );
        assert_eq!(
            default_decision(&fired(29_999), window, Severity::Info, NOW),
            Decision::Suppress("default cooldown 30s".into())
        );
        assert_eq!(
            default_decision(&fired(30_000), window, Severity::Info, NOW),
            Decision::Fire(Severity::Info)
        );
        // A clock behind the last fire (replays, skew) still suppresses.
        assert_eq!(
            default_decision(&fired(0), window, Severity::Info, NOW - 5),
            Decision::Suppress("default cooldown 30s".into())
        );
        assert_eq!(
            default_decision(&fired(0), 0, Severity::Info, NOW),
            Decision::Fire(Severity::Info),
            "a zero window never suppresses"
        );
    }
}

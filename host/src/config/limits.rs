//! Resolving `[limits]` and each template's `limits` table.
//!
//! Both are kept raw (a JSON map) in the file's shape, because a template
//! overrides single keys of `[limits]` rather than the whole table: the
//! template's keys are laid over the global ones and the result is parsed
//! once, so every template's limits are complete and typo-free. Keys that
//! bound the runtime as a whole (see `RuntimeLimits::KEYS`) are accepted
//! only under `[limits]`.

use serde_json::{Map, Value};

use crate::issue::ConfigIssue;
use crate::plugins::{Limits, RuntimeLimits};

pub type RawLimits = Map<String, Value>;

/// The runtime-wide part of `[limits]`.
pub fn runtime(global: &RawLimits) -> Result<RuntimeLimits, ConfigIssue> {
    let picked: RawLimits = global
        .iter()
        .filter(|(k, _)| RuntimeLimits::KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    parse(picked, "limits")
}

/// One template's limits: its own keys over `[limits]`, over the defaults.
pub fn template(global: &RawLimits, own: &RawLimits, at: &str) -> Result<Limits, ConfigIssue> {
    if let Some(key) = own.keys().find(|k| RuntimeLimits::KEYS.contains(&k.as_str())) {
        return Err(ConfigIssue::new(
            format!("{at}.{key}"),
            "bounds the whole runtime: set it under [limits], not per template",
        ));
    }
    let mut merged: RawLimits = global
        .iter()
        .filter(|(k, _)| !RuntimeLimits::KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    merged.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    // A bad key named in `[limits]` is reported there, not per template.
    let origin = if own.is_empty() { "limits" } else { at };
    let limits: Limits = parse(merged, origin)?;
    if let Some((key, _)) = limits.sizes().into_iter().find(|(_, v)| *v == 0) {
        return Err(ConfigIssue::new(format!("{origin}.{key}"), "must be greater than 0"));
    }
    if limits.memory_mib > 4096 {
        return Err(ConfigIssue::new(format!("{origin}.memory_mib"), "must be between 1 and 4096"));
    }
    if limits.fuel_per_call == Some(0) {
        return Err(ConfigIssue::new(format!("{origin}.fuel_per_call"), "must be greater than 0"));
    }
    if limits.call_timeout.is_zero() {
        return Err(ConfigIssue::new(format!("{origin}.call_timeout"), "must be greater than 0"));
    }
    Ok(limits)
}

fn parse<T: serde::de::DeserializeOwned>(map: RawLimits, at: &str) -> Result<T, ConfigIssue> {
    serde_json::from_value(Value::Object(map)).map_err(|e| ConfigIssue::new(at, e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn map(v: Value) -> RawLimits {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn template_keys_override_global_keys_over_defaults() {
        let global = map(json!({ "alert_key_bytes": 100, "kv_keys": 5, "hostcall_fuel": 1024 }));
        let own = map(json!({ "kv_keys": 7, "call_timeout": "2s" }));
        let l = template(&global, &own, "templates.t.limits").unwrap();
        assert_eq!(
            (l.alert_key_bytes, l.kv_keys, l.call_timeout),
            (100, 7, Duration::from_secs(2))
        );
        assert_eq!(l.title_bytes, Limits::default().title_bytes);
        assert_eq!(runtime(&global).unwrap().hostcall_fuel, 1024);
    }

    #[test]
    fn typos_zeroes_and_runtime_keys_per_template_name_the_field() {
        let none = RawLimits::new();
        let typo = template(&none, &map(json!({ "alert_key_byte": 1 })), "templates.t.limits");
        assert!(typo.unwrap_err().to_string().contains("alert_key_byte"));
        let zero = template(&map(json!({ "kv_bytes": 0 })), &none, "templates.t.limits");
        assert_eq!(zero.unwrap_err().path, "limits.kv_bytes");
        let runtime_key =
            template(&none, &map(json!({ "hostcall_fuel": 1 })), "templates.t.limits");
        assert_eq!(runtime_key.unwrap_err().path, "templates.t.limits.hostcall_fuel");
    }
}

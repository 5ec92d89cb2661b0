//! Static validation: every component's own checks plus the cross-references
//! between them, all problems reported at once (Vector's `compile`).
//!
//! Plugin checks (compile, type, configure, smoke) need the runtime and run
//! when the pipeline plan is built; they report in the same `ConfigIssue`
//! form, so `klaxon check` shows both kinds together.

use std::collections::{BTreeMap, BTreeSet};

use crate::issue::ConfigIssue;

use crate::plugins::{Limits, RuntimeLimits};

use super::{ConfigError, RawConfig, TemplateConfig, limits};

/// A config that passed validation. Only [`validate`] makes one.
#[derive(Debug, Clone)]
pub struct ValidConfig {
    raw: RawConfig,
    origin: String,
    runtime: RuntimeLimits,
    /// Every template's resolved limits, by name.
    limits: BTreeMap<String, Limits>,
}

impl ValidConfig {
    pub fn raw(&self) -> &RawConfig {
        &self.raw
    }

    /// The file (or `embedded demo`) it came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Engine-, component- and store-wide bounds.
    pub fn runtime_limits(&self) -> &RuntimeLimits {
        &self.runtime
    }

    /// `template`'s limits: its own over `[limits]` over the defaults.
    pub fn limits_of(&self, template: &str) -> Limits {
        self.limits.get(template).cloned().unwrap_or_default()
    }

    /// The same config with a changed part; re-validated.
    pub fn amend(&self, change: impl FnOnce(&mut RawConfig)) -> Result<ValidConfig, ConfigError> {
        let mut raw = self.raw.clone();
        change(&mut raw);
        validate(raw, &self.origin)
    }
}

pub fn validate(raw: RawConfig, origin: &str) -> Result<ValidConfig, ConfigError> {
    let mut issues = Vec::new();
    let p = &raw.pipeline;
    if p.workers == 0 {
        issues.push(ConfigIssue::new("pipeline.workers", "must be at least 1"));
    }
    if p.batch_max == 0 {
        issues.push(ConfigIssue::new("pipeline.batch_max", "must be at least 1"));
    }
    if p.channel_capacity == 0 {
        issues.push(ConfigIssue::new("pipeline.channel_capacity", "must be at least 1"));
    }
    if p.delivery_bytes < 64 << 10 {
        issues.push(ConfigIssue::new("pipeline.delivery_bytes", "must be at least 65536"));
    }
    for (name, source) in &raw.sources {
        issues.extend(source.validate(&format!("sources.{name}")));
    }
    for (name, sink) in &raw.sinks {
        issues.extend(sink.validate(&format!("sinks.{name}")));
    }
    issues.extend(raw.alert_log.validate("alert_log"));
    issues.extend(raw.state.validate("state"));
    for (name, owner) in &raw.owners {
        issues.extend(owner.validate(&format!("owners.{name}")));
    }
    issues.extend(raw.market.validate());
    let runtime = limits::runtime(&raw.limits).map_err(|i| issues.push(i)).unwrap_or_default();
    issues.extend(check_watchlists(&raw, &runtime));
    let sinks: BTreeSet<&str> = raw.sinks.keys().map(String::as_str).collect();
    let mut resolved = BTreeMap::new();
    for (name, t) in &raw.templates {
        issues.extend(check_template(name, t, &sinks));
        match limits::template(&raw.limits, &t.limits, &format!("templates.{name}.limits")) {
            Ok(l) => drop(resolved.insert(name.clone(), l)),
            Err(issue) if !issues.contains(&issue) => issues.push(issue),
            Err(_) => {}
        }
    }
    if issues.is_empty() {
        Ok(ValidConfig { raw, origin: origin.to_owned(), runtime, limits: resolved })
    } else {
        Err(ConfigError::Invalid { origin: origin.to_owned(), issues })
    }
}

/// Every list well-formed and within bounds of positive size; every list a
/// template declares exists. (The files are read when the runtime starts.)
fn check_watchlists(raw: &RawConfig, runtime: &RuntimeLimits) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    for (name, list) in &raw.watchlists {
        let at = format!("watchlists.{name}");
        issues.extend(crate::watchlists::config::check_name(name, &at));
        issues.extend(list.validate(&at));
    }
    let bounds = [
        ("watchlist_entries", runtime.watchlist_entries),
        ("watchlist_entry_bytes", runtime.watchlist_entry_bytes),
        ("watchlist_bytes", runtime.watchlist_bytes),
    ];
    for (key, _) in bounds.iter().filter(|(_, v)| *v == 0) {
        issues.push(ConfigIssue::new(format!("limits.{key}"), "must be greater than 0"));
    }
    for (name, t) in &raw.templates {
        for (i, list) in t.watchlists.iter().enumerate() {
            if !raw.watchlists.contains_key(list) {
                issues.push(ConfigIssue::new(
                    format!("templates.{name}.watchlists.{i}"),
                    format!("no watchlist named `{list}` in [watchlists]"),
                ));
            }
        }
    }
    issues
}

fn check_template(name: &str, t: &TemplateConfig, sinks: &BTreeSet<&str>) -> Vec<ConfigIssue> {
    let at = |field: &str| format!("templates.{name}.{field}");
    let mut issues = Vec::new();
    for (i, channel) in t.channels.iter().enumerate() {
        if !sinks.contains(channel.as_str()) {
            issues.push(ConfigIssue::new(
                at(&format!("channels.{i}")),
                format!("no sink named `{channel}`"),
            ));
        }
    }
    let uses = [
        ("filter", Some(&t.filter)),
        ("cooldown", t.cooldown.as_ref()),
        ("formatter", t.formatter.as_ref()),
    ];
    for (field, plugin) in uses.into_iter().filter_map(|(f, u)| u.map(|u| (f, u))) {
        if plugin.plugin.trim().is_empty() {
            issues.push(ConfigIssue::new(at(&format!("{field}.plugin")), "must name a plugin"));
        }
        if !plugin.params.is_object() {
            issues.push(ConfigIssue::new(at(&format!("{field}.params")), "must be a table"));
        }
    }
    if let Some(window) = t.digest.window() {
        issues.extend(window.validate(&at("digest")));
    }
    if let Some(r) = &t.rollout {
        issues.extend(check_rollout(r, &at("rollout")));
    }
    issues
}

fn check_rollout(r: &super::raw::RolloutConfig, at: &str) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    if !(r.share > 0.0 && r.share <= 1.0) {
        issues.push(ConfigIssue::new(format!("{at}.share"), "must be in (0, 1], e.g. 0.1"));
    }
    if !is_plugin_name(&r.plugin) {
        issues.push(ConfigIssue::new(format!("{at}.plugin"), "must match [a-z0-9-]{1,64}"));
    }
    if r.params.as_ref().is_some_and(|p| !p.is_object()) {
        issues.push(ConfigIssue::new(format!("{at}.params"), "must be a table"));
    }
    issues
}

/// The names plugins may have in `plugins.dir`, and through the admin API:
/// nothing that could leave the directory or hide a file.
pub fn is_plugin_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

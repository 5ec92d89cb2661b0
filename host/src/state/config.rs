//! `[state]`: where cooldown history and plugin KV live, and how often they
//! are written behind.
//!
//! ```toml
//! [state]
//! backend = "embedded"        # or "redis", or "memory" (nothing survives)
//! # path = "klaxon-alerts.state.db"   # embedded; default: beside the alert log
//! # url = "redis://127.0.0.1:6379"    # redis
//! # key_prefix = "klaxon:"            # redis: several deployments, one Redis
//! flush_interval = "250ms"    # longest a change waits before it is written
//! flush_batch = 1024          # or sooner, once this many keys changed
//! timeout = "250ms"           # redis: connect and reply deadline
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::issue::ConfigIssue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateBackend {
    /// In memory only: a restart forgets every cooldown.
    Memory,
    /// An SQLite file beside the alert log, written behind and restored.
    #[default]
    Embedded,
    /// Redis: shared by every host that uses the same url and prefix.
    Redis,
}

impl StateBackend {
    pub fn as_str(self) -> &'static str {
        match self {
            StateBackend::Memory => "memory",
            StateBackend::Embedded => "embedded",
            StateBackend::Redis => "redis",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    pub backend: StateBackend,
    /// The embedded store's SQLite file. Default: the alert log's file with
    /// `.state.db` for its extension, or `klaxon-state.db` when the alert
    /// log is not an SQLite file (an in-memory alert log: in memory too).
    pub path: Option<PathBuf>,
    /// Redis url, `redis://[user:password@]host:port[/db]`.
    pub url: String,
    /// Prefix of every Redis key, so deployments can share one Redis.
    pub key_prefix: String,
    #[serde(with = "humantime_serde")]
    pub flush_interval: Duration,
    pub flush_batch: usize,
    /// Redis connect and reply deadline; past it the host decides alone.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for StateConfig {
    fn default() -> StateConfig {
        StateConfig {
            backend: StateBackend::default(),
            path: None,
            url: "redis://127.0.0.1:6379".to_owned(),
            key_prefix: "klaxon:".to_owned(),
            flush_interval: Duration::from_millis(250),
            flush_batch: 1024,
            timeout: Duration::from_millis(250),
        }
    }
}

impl StateConfig {
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let at = |field: &str| format!("{path}.{field}");
        if self.backend == StateBackend::Redis {
            match self.url.split_once("://") {
                Some(("redis", _)) => {}
                Some(("rediss", _)) => issues.push(ConfigIssue::new(
                    at("url"),
                    "`rediss://` (TLS) is not supported; use `redis://`",
                )),
                _ => issues
                    .push(ConfigIssue::new(at("url"), "expected `redis://<host>:<port>[/<db>]`")),
            }
            if !self.key_prefix.chars().all(|c| c.is_ascii_alphanumeric() || ":_.-".contains(c)) {
                issues.push(ConfigIssue::new(
                    at("key_prefix"),
                    "may hold only ASCII letters, digits and `:_.-`",
                ));
            }
        }
        if self.flush_interval.is_zero() {
            issues.push(ConfigIssue::new(at("flush_interval"), "must be greater than 0"));
        }
        if self.flush_batch == 0 {
            issues.push(ConfigIssue::new(at("flush_batch"), "must be at least 1"));
        }
        if self.timeout.is_zero() {
            issues.push(ConfigIssue::new(at("timeout"), "must be greater than 0"));
        }
        issues
    }

    /// The embedded store's file for an alert log at `alert_log_url`;
    /// `None`: keep it in memory (the alert log is in memory too).
    pub fn embedded_path(&self, alert_log_url: &str) -> Option<PathBuf> {
        if let Some(path) = &self.path {
            return Some(path.clone());
        }
        let file = alert_log_url.strip_prefix("sqlite:").map(|f| f.trim_start_matches("//"));
        let file = file.map(|f| f.split('?').next().unwrap_or(f));
        match file {
            Some(f)
                if f.is_empty()
                    || f.contains(":memory:")
                    || alert_log_url.contains("mode=memory") =>
            {
                None
            }
            Some(f) => Some(PathBuf::from(f).with_extension("state.db")),
            None => Some(PathBuf::from("klaxon-state.db")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_embedded_beside_the_alert_log() {
        let c: StateConfig = toml::from_str("").unwrap();
        assert_eq!(c, StateConfig::default());
        assert!(c.validate("state").is_empty());
        let path = |url: &str| c.embedded_path(url).map(|p| p.display().to_string());
        assert_eq!(path("sqlite://data/alerts.db").as_deref(), Some("data/alerts.state.db"));
        assert_eq!(path("sqlite:///var/k/log?mode=rwc").as_deref(), Some("/var/k/log.state.db"));
        assert_eq!(path("sqlite::memory:"), None);
        assert_eq!(path("postgres://u@h/db").as_deref(), Some("klaxon-state.db"));
    }

    #[test]
    fn names_every_bad_field() {
        let c: StateConfig = toml::from_str(
            "backend = \"redis\"\nurl = \"http://x\"\nkey_prefix = \"a b*\"\nflush_batch = 0",
        )
        .unwrap();
        let issues: Vec<String> = c.validate("state").iter().map(|i| i.to_string()).collect();
        assert_eq!(issues.len(), 3, "{issues:?}");
        assert!(issues[0].starts_with("state.url: expected `redis://"), "{issues:?}");
        assert!(issues[1].starts_with("state.key_prefix:"), "{issues:?}");
        assert!(issues[2].starts_with("state.flush_batch:"), "{issues:?}");
        let err = toml::from_str::<StateConfig>("backend = \"etcd\"").unwrap_err();
        assert!(err.to_string().contains("unknown variant `etcd`"), "{err}");
    }
}

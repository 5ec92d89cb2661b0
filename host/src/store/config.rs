//! `AlertLogConfig`: where the alert log lives and how its writes are batched.
//!
//! This is the user surface (the `[alert_log]` table of the config file). It is
//! checked by [`AlertLogConfig::validate`] and never read by the running
//! writer, which gets the url, batch size and interval as arguments.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::issue::ConfigIssue;
use crate::store::Backend;

/// Where fired and suppressed alerts are recorded, and how writes are batched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertLogConfig {
    /// Database url. `sqlite://<path>` (the file is created if missing) or
    /// `postgres://user@host:port/db`. A Postgres schema other than `public`
    /// can be chosen with `?options[search_path]=<schema>`.
    #[serde(default = "default_url")]
    pub url: String,

    /// Rows written per transaction. A batch is flushed as soon as it is full,
    /// when `flush_interval` has passed since its first row, or at shutdown.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,

    /// Longest time a row waits in a partial batch before it is written, e.g.
    /// `"1s"` or `"250ms"`. This bounds how stale the log can be in a quiet
    /// market; a busy one fills batches first.
    #[serde(default = "default_flush_interval", with = "humantime_serde")]
    pub flush_interval: Duration,

    /// Fired alerts (and finished deliveries) older than this are deleted in
    /// the background, e.g. `"30d"`. Unset keeps them for good.
    #[serde(default, with = "humantime_serde")]
    pub retention: Option<Duration>,

    /// Suppressed alerts older than this are deleted, e.g. `"1d"`; they are
    /// most of the rows. Unset: `retention`.
    #[serde(default, with = "humantime_serde")]
    pub suppressed_retention: Option<Duration>,
}

fn default_url() -> String {
    "sqlite://klaxon-alerts.db".to_owned()
}

/// Large enough that a busy log writes few transactions: each one rewrites
/// every b-tree page its rows touch (in the WAL), so rows per transaction
/// is what write speed follows (`klaxon bench`: 4,096 rows a batch write
/// several times faster than 256). A quiet log still flushes by interval.
fn default_batch_size() -> usize {
    4096
}

fn default_flush_interval() -> Duration {
    Duration::from_secs(1)
}

/// Above this a batch no longer fits one statement's bind parameters on
/// either backend, and a single transaction holds locks for too long.
const MAX_BATCH_SIZE: usize = 100_000;

impl Default for AlertLogConfig {
    fn default() -> AlertLogConfig {
        AlertLogConfig {
            url: default_url(),
            batch_size: default_batch_size(),
            flush_interval: default_flush_interval(),
            retention: None,
            suppressed_retention: None,
        }
    }
}

impl AlertLogConfig {
    /// Every local problem at once; `path` is this table's dotted TOML path,
    /// e.g. `alert_log`.
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if let Err(message) = Backend::from_url(&self.url) {
            issues.push(ConfigIssue::new(format!("{path}.url"), message));
        }
        if self.batch_size == 0 {
            issues.push(ConfigIssue::new(format!("{path}.batch_size"), "must be greater than 0"));
        } else if self.batch_size > MAX_BATCH_SIZE {
            issues.push(ConfigIssue::new(
                format!("{path}.batch_size"),
                format!("must be at most {MAX_BATCH_SIZE}"),
            ));
        }
        if self.flush_interval.is_zero() {
            issues
                .push(ConfigIssue::new(format!("{path}.flush_interval"), "must be greater than 0"));
        }
        for (field, value) in
            [("retention", self.retention), ("suppressed_retention", self.suppressed_retention)]
        {
            if value.is_some_and(|v| v < Duration::from_secs(60)) {
                issues.push(ConfigIssue::new(format!("{path}.{field}"), "must be at least 1m"));
            }
        }
        issues
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_gives_defaults() {
        let config: AlertLogConfig = toml::from_str("").unwrap();
        assert_eq!(config, AlertLogConfig::default());
        assert_eq!(config.url, "sqlite://klaxon-alerts.db");
        assert_eq!(config.batch_size, 4096);
        assert_eq!(config.flush_interval, Duration::from_secs(1));
        assert!(config.validate("alert_log").is_empty());
    }

    #[test]
    fn parses_human_durations() {
        let config: AlertLogConfig = toml::from_str(
            "url = \"postgres://postgres@127.0.0.1/test\"\nbatch_size = 10\nflush_interval = \"250ms\"",
        )
        .unwrap();
        assert_eq!(config.flush_interval, Duration::from_millis(250));
        assert!(config.validate("alert_log").is_empty());
    }

    #[test]
    fn parses_retention() {
        let config: AlertLogConfig =
            toml::from_str("retention = \"30d\"\nsuppressed_retention = \"1d\"").unwrap();
        assert_eq!(config.retention, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(config.suppressed_retention, Some(Duration::from_secs(86_400)));
        assert!(config.validate("alert_log").is_empty());
    }

    #[test]
    fn rejects_unknown_fields() {
        let err = toml::from_str::<AlertLogConfig>("batch_sise = 3").unwrap_err();
        assert!(err.to_string().contains("unknown field `batch_sise`"), "{err}");
    }

    #[test]
    fn validate_names_every_bad_field() {
        let config = AlertLogConfig {
            url: "mysql://root@localhost/klaxon".into(),
            batch_size: 0,
            flush_interval: Duration::ZERO,
            retention: None,
            suppressed_retention: None,
        };
        let issues: Vec<String> =
            config.validate("alert_log").iter().map(|i| i.to_string()).collect();
        assert_eq!(
            issues,
            [
                "alert_log.url: unsupported scheme `mysql`, expected `sqlite` or `postgres`",
                "alert_log.batch_size: must be greater than 0",
                "alert_log.flush_interval: must be greater than 0",
            ]
        );
    }

    #[test]
    fn validate_rejects_url_without_scheme() {
        let config = AlertLogConfig { url: "klaxon-alerts.db".into(), ..AlertLogConfig::default() };
        let issues = config.validate("alert_log");
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "alert_log.url");
    }
}

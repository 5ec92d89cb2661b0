//! Sinks: where fired alerts go, one file (or folder) per kind.
//!
//! * [`SinkConfig`] is the closed set of kinds, tagged `type = "..."` in the
//!   config file; each variant wraps its kind's own `XxxConfig`.
//! * [`SinkConfig::run`] consumes [`Delivery`]s from the format stage until
//!   that stage drops its sender, writes everything it was given, and returns
//!   a [`SinkSummary`]. Closing the channel is the only shutdown signal.
//!
//! A sink writes every delivery it receives: deciding which channels a
//! delivery goes to is the pipeline's job (`Delivery::channels`), not the
//! sink's. Sinks never read market state or the alert log.
//!
//! Adding a kind (Telegram, Discord, Slack) is one more module and one more
//! variant here: its `XxxConfig` with `validate`, and a `run(name, rx)` that
//! counts `klaxon_sink_deliveries_total{sink,outcome}` like the others.

mod file;
mod stdout;

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::alert::Delivery;
use crate::issue::ConfigIssue;
use crate::telemetry::metrics;

pub use file::{EventSummary, FileConfig, FileRecord, MessageRecord};
pub use stdout::{StdoutConfig, format_line};

/// One configured sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SinkConfig {
    /// One readable line per alert on standard output.
    Stdout(StdoutConfig),
    /// One JSON object per alert, appended to a file (NDJSON).
    File(FileConfig),
}

impl SinkConfig {
    /// Every local problem at once; `path` is this sink's dotted TOML path,
    /// e.g. `sinks.console`.
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        match self {
            SinkConfig::Stdout(config) => config.validate(path),
            SinkConfig::File(config) => config.validate(path),
        }
    }

    /// The kind, as written after `type =`.
    pub fn kind(&self) -> &'static str {
        match self {
            SinkConfig::Stdout(_) => "stdout",
            SinkConfig::File(_) => "file",
        }
    }

    /// Deliver everything from `rx` until it closes, then flush and return.
    /// `name` is the sink's name in the config; it labels metrics and errors.
    pub async fn run(
        self,
        name: String,
        rx: mpsc::Receiver<Arc<Delivery>>,
    ) -> Result<SinkSummary, SinkError> {
        match self {
            SinkConfig::Stdout(config) => stdout::run(config, name, rx).await,
            SinkConfig::File(config) => file::run(config, name, rx).await,
        }
    }
}

/// What a sink did before its channel closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkSummary {
    pub delivered: u64,
}

/// A sink that cannot go on. The deliveries it held are counted as failed
/// in `klaxon_sink_deliveries_total` and named in the error.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("sink `{name}`: cannot write to stdout ({lost} alerts not delivered)")]
    Stdout {
        name: String,
        lost: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("sink `{name}`: cannot open `{}`", path.display())]
    Open {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sink `{name}`: cannot write to `{}` ({lost} alerts not delivered)", path.display())]
    Write {
        name: String,
        path: PathBuf,
        lost: u64,
        #[source]
        source: std::io::Error,
    },
}

/// Wait for the next delivery, then take whatever else is already queued,
/// up to `max`, without waiting for more. `None` once the channel is closed
/// and drained.
async fn next_batch(
    rx: &mut mpsc::Receiver<Arc<Delivery>>,
    max: usize,
) -> Option<Vec<Arc<Delivery>>> {
    let mut batch = Vec::new();
    (rx.recv_many(&mut batch, max.max(1)).await > 0).then_some(batch)
}

/// Refuse further deliveries and count (as failed) those still queued: a
/// sink that stops says how much it did not deliver.
fn close_and_count(rx: &mut mpsc::Receiver<Arc<Delivery>>, name: &str) -> u64 {
    rx.close();
    let mut queued = 0;
    while rx.try_recv().is_ok() {
        queued += 1;
    }
    count(name, "failed", queued);
    queued as u64
}

/// Count `n` deliveries of sink `name` with `outcome` (`delivered`, `failed`).
fn count(name: &str, outcome: &str, n: usize) {
    metrics().sink_deliveries.with_label_values(&[name, outcome]).inc_by(n as u64);
}

/// Alerts a sink takes from its channel per write: enough to amortise the
/// flush in a burst, small enough that one write stays short.
const MAX_BATCH: usize = 256;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::alert::{Alert, AlertId, Decision, Markup, Message, Severity, TemplateId};
    use crate::event::{Event, EventKind, Side, Sym};

    /// A fired whale-trade alert on BTCUSDT at 2021-10-11T00:28:32.123Z
    /// (plus `n` ms), with the given message title and body.
    pub(crate) fn delivery(n: u32, title: &str, body: &str) -> Delivery {
        let template = TemplateId::new("whale-trades");
        let event_id = format!("binance:BTCUSDT:a:{n}");
        let mut event = Event::new(
            EventKind::Trade,
            Sym::new("binance"),
            Sym::new("BTCUSDT"),
            event_id.clone(),
            1_633_912_112_123 + u64::from(n),
        );
        event.price = "61234.5".parse().unwrap();
        event.size = "19.6".parse().unwrap();
        event.notional_usd = Some("1200196.2".parse().unwrap());
        event.side = Side::Buy;
        let alert = Alert {
            id: AlertId::derive(&template, "BTCUSDT", &event_id),
            template,
            key: "BTCUSDT".into(),
            severity: Severity::Critical,
            value: 1_200_196.2,
            title: "Whale buy".into(),
            fields: vec![("notional".into(), "$1.20M".into()), ("price".into(), "61234.5".into())],
            event: Arc::new(event),
            decision: Decision::Fire(Severity::Critical),
            decided_at_ms: 1_633_912_112_200 + u64::from(n),
        };
        Delivery {
            alert: Arc::new(alert),
            message: Message { title: title.into(), body: body.into(), markup: Markup::Plain },
            channels: Arc::from(vec!["console".to_owned()]),
        }
    }

    #[test]
    fn kinds_are_tagged_by_type() {
        #[derive(Deserialize)]
        struct Sinks {
            sinks: std::collections::BTreeMap<String, SinkConfig>,
        }
        let parsed: Sinks = toml::from_str(
            r#"
            [sinks.console]
            type = "stdout"

            [sinks.archive]
            type = "file"
            path = "alerts.ndjson"
            "#,
        )
        .unwrap();
        assert_eq!(parsed.sinks["console"], SinkConfig::Stdout(StdoutConfig::default()));
        assert_eq!(
            parsed.sinks["archive"],
            SinkConfig::File(FileConfig { path: "alerts.ndjson".into() })
        );
        assert_eq!(parsed.sinks["archive"].kind(), "file");
    }

    #[test]
    fn unknown_kinds_and_fields_are_rejected() {
        let err = toml::from_str::<SinkConfig>("type = \"pager\"").unwrap_err().to_string();
        assert!(err.contains("unknown variant `pager`"), "{err}");
        let err = toml::from_str::<SinkConfig>("type = \"file\"\npath = \"a\"\nappend = true")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `append`"), "{err}");
        let err = toml::from_str::<SinkConfig>("type = \"stdout\"\ncolor = true")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `color`"), "{err}");
    }

    #[test]
    fn validate_names_the_field() {
        let issues =
            SinkConfig::File(FileConfig { path: PathBuf::new() }).validate("sinks.archive");
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].to_string(), "sinks.archive.path: must not be empty");
        assert!(SinkConfig::Stdout(StdoutConfig::default()).validate("sinks.console").is_empty());
    }
}

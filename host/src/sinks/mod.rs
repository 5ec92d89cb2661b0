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
//! Two families:
//!
//! * local sinks (stdout, file) write each batch as it comes; a failed
//!   write is counted and logged, and the sink goes on with the next batch.
//! * network sinks (Telegram, Discord, Slack, WeCom, DingTalk, PagerDuty,
//!   webhook) are one small module each that turns a message into a request
//!   and classifies the answer ([`remote::Attempt`]). The outbox, queueing,
//!   pacing, retries and folding around them are `crate::deliver`'s.
//!
//! Adding a network kind is one module, one variant here and one arm in each
//! `match` of [`RemoteSink`].

mod dingtalk;
mod discord;
pub(crate) mod file;
pub mod pacer;
mod pagerduty;
pub mod remote;
mod slack;
pub(crate) mod stdout;
pub mod telegram;
mod webhook;
mod wecom;

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::alert::Delivery;
use crate::issue::ConfigIssue;
use crate::telemetry::metrics;

pub use dingtalk::{DingtalkConfig, DingtalkSink};
pub use discord::{DiscordConfig, DiscordSink};
pub use file::{EventSummary, FileConfig, FileRecord, MessageRecord};
pub use pagerduty::{PagerdutyConfig, PagerdutySink};
pub use slack::{SlackConfig, SlackSink};
pub use stdout::{StdoutConfig, format_line};
pub use telegram::{TelegramConfig, TelegramSink};
pub use webhook::{WebhookConfig, WebhookSink, signature as webhook_signature};
pub use wecom::{WecomConfig, WecomSink};

use crate::sinks::remote::{Attempt, DeliveryOptions, EnvLookup, Outgoing, Secret};

/// One configured sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SinkConfig {
    /// One readable line per alert on standard output.
    Stdout(StdoutConfig),
    /// One JSON object per alert, appended to a file (NDJSON).
    File(FileConfig),
    /// Telegram Bot API `sendMessage`.
    Telegram(TelegramConfig),
    /// Discord incoming webhook (embeds).
    Discord(DiscordConfig),
    /// Slack incoming webhook.
    Slack(SlackConfig),
    /// WeCom (企业微信) group robot.
    Wecom(WecomConfig),
    /// DingTalk (钉钉) custom robot.
    Dingtalk(DingtalkConfig),
    /// PagerDuty Events API v2.
    Pagerduty(PagerdutyConfig),
    /// Any HTTPS endpoint, JSON signed the Standard Webhooks way.
    Webhook(WebhookConfig),
}

impl SinkConfig {
    /// Every local problem at once; `path` is this sink's dotted TOML path,
    /// e.g. `sinks.console`. Environment variables are not read here (see
    /// [`SinkConfig::check_env`]): a sink whose secret is missing still
    /// queues its alerts in the outbox and shows as degraded in `/ready`.
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        self.validate_with(path, None)
    }

    /// [`validate`](Self::validate) plus the environment: each named
    /// variable is set and (for url secrets) holds a url. `klaxon check`.
    pub fn check_env(&self, path: &str, env: EnvLookup<'_>) -> Vec<ConfigIssue> {
        self.validate_with(path, Some(env))
    }

    fn validate_with(&self, path: &str, env: Option<EnvLookup<'_>>) -> Vec<ConfigIssue> {
        match self {
            SinkConfig::Stdout(config) => config.validate(path),
            SinkConfig::File(config) => config.validate(path),
            SinkConfig::Telegram(config) => config.validate(path, env),
            SinkConfig::Discord(config) => config.validate(path, env),
            SinkConfig::Slack(config) => config.validate(path, env),
            SinkConfig::Wecom(config) => config.validate(path, env),
            SinkConfig::Dingtalk(config) => config.validate(path, env),
            SinkConfig::Pagerduty(config) => config.validate(path, env),
            SinkConfig::Webhook(config) => config.validate(path, env),
        }
    }

    /// The kind, as written after `type =`.
    pub fn kind(&self) -> &'static str {
        match self {
            SinkConfig::Stdout(_) => "stdout",
            SinkConfig::File(_) => "file",
            SinkConfig::Telegram(_) => "telegram",
            SinkConfig::Discord(_) => "discord",
            SinkConfig::Slack(_) => "slack",
            SinkConfig::Wecom(_) => "wecom",
            SinkConfig::Dingtalk(_) => "dingtalk",
            SinkConfig::Pagerduty(_) => "pagerduty",
            SinkConfig::Webhook(_) => "webhook",
        }
    }

    /// The delivery options of a network sink; `None` for local sinks.
    pub fn delivery(&self) -> Option<&DeliveryOptions> {
        match self {
            SinkConfig::Stdout(_) | SinkConfig::File(_) => None,
            SinkConfig::Telegram(c) => Some(&c.delivery),
            SinkConfig::Discord(c) => Some(&c.delivery),
            SinkConfig::Slack(c) => Some(&c.delivery),
            SinkConfig::Wecom(c) => Some(&c.delivery),
            SinkConfig::Dingtalk(c) => Some(&c.delivery),
            SinkConfig::Pagerduty(c) => Some(&c.delivery),
            SinkConfig::Webhook(c) => Some(&c.delivery),
        }
    }

    /// The network sink, secrets read through `env`; `None` for local sinks.
    pub fn build_remote(&self, env: EnvLookup<'_>) -> Option<Result<RemoteSink, String>> {
        Some(match self {
            SinkConfig::Stdout(_) | SinkConfig::File(_) => return None,
            SinkConfig::Telegram(c) => c.build(env).map(RemoteSink::Telegram),
            SinkConfig::Discord(c) => c.build(env).map(RemoteSink::Discord),
            SinkConfig::Slack(c) => c.build(env).map(RemoteSink::Slack),
            SinkConfig::Wecom(c) => c.build(env).map(RemoteSink::Wecom),
            SinkConfig::Dingtalk(c) => c.build(env).map(RemoteSink::Dingtalk),
            SinkConfig::Pagerduty(c) => c.build(env).map(RemoteSink::Pagerduty),
            SinkConfig::Webhook(c) => c.build(env).map(RemoteSink::Webhook),
        })
    }
}

/// A built network sink.
pub enum RemoteSink {
    Telegram(TelegramSink),
    Discord(DiscordSink),
    Slack(SlackSink),
    Wecom(WecomSink),
    Dingtalk(DingtalkSink),
    Pagerduty(PagerdutySink),
    Webhook(WebhookSink),
}

impl RemoteSink {
    /// One attempt at sending `out`.
    pub async fn send(&self, out: &Outgoing) -> Attempt {
        match self {
            RemoteSink::Telegram(s) => s.send(out).await,
            RemoteSink::Discord(s) => s.send(out).await,
            RemoteSink::Slack(s) => s.send(out).await,
            RemoteSink::Wecom(s) => s.send(out).await,
            RemoteSink::Dingtalk(s) => s.send(out).await,
            RemoteSink::Pagerduty(s) => s.send(out).await,
            RemoteSink::Webhook(s) => s.send(out).await,
        }
    }

    pub fn pacer(&self) -> &pacer::Pacer {
        match self {
            RemoteSink::Telegram(s) => s.pacer(),
            RemoteSink::Discord(s) => s.pacer(),
            RemoteSink::Slack(s) => s.pacer(),
            RemoteSink::Wecom(s) => s.pacer(),
            RemoteSink::Dingtalk(s) => s.pacer(),
            RemoteSink::Pagerduty(s) => s.pacer(),
            RemoteSink::Webhook(s) => s.pacer(),
        }
    }

    /// Every secret the sink holds, for redaction.
    pub fn secrets(&self) -> Vec<Secret> {
        match self {
            RemoteSink::Telegram(s) => s.secrets(),
            RemoteSink::Discord(s) => s.secrets(),
            RemoteSink::Slack(s) => s.secrets(),
            RemoteSink::Wecom(s) => s.secrets(),
            RemoteSink::Dingtalk(s) => s.secrets(),
            RemoteSink::Pagerduty(s) => s.secrets(),
            RemoteSink::Webhook(s) => s.secrets(),
        }
    }

    /// Whether a retraction is sent on as a `resolve` (PagerDuty).
    pub fn resolves(&self) -> bool {
        matches!(self, RemoteSink::Pagerduty(_))
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
    #[error("sink `{name}`: cannot write to the outbox ({lost} alerts not queued): {reason}")]
    Outbox { name: String, lost: u64, reason: String },
    #[error("sink `{name}`: delivery task panicked")]
    Panicked { name: String },
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
            versions: Default::default(),
            trace: Default::default(),
        };
        Delivery {
            alert: Arc::new(alert),
            message: Message { title: title.into(), body: body.into(), markup: Markup::Plain },
            channels: Arc::from(vec!["console".to_owned()]),
            lease: Default::default(),
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

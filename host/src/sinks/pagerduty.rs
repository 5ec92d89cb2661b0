//! PagerDuty Events API v2.
//!
//! ```toml
//! [sinks.oncall]
//! type = "pagerduty"
//! routing_key_env = "PAGERDUTY_ROUTING_KEY"
//! # base_url = "https://events.pagerduty.com"
//! # source = "klaxon"
//! ```
//!
//! * A fired alert is a `trigger` with `dedup_key` = `<template>/<alert key>`,
//!   so repeats of one alert key update one PagerDuty alert, and a resend is
//!   harmless. The delivery id goes in `custom_details.delivery_id`.
//! * A retraction (an EVM reorg took the event back) sends `resolve` for the
//!   same `dedup_key`; it is queued behind its trigger, never before it.
//! * Paced to 2 events/second per routing key (PagerDuty's ~120/min).
//! * 202: sent. 429 (event dropped by PagerDuty), 5xx, network: retried
//!   with backoff (PagerDuty sends no Retry-After). 400: not retried; the
//!   error lists PagerDuty's `errors`.

use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::alert::Severity;
use crate::issue::ConfigIssue;
use crate::sinks::pacer::Pacer;
use crate::sinks::remote::{
    self, Action, Attempt, DeliveryOptions, EnvLookup, Outgoing, Secret, exchange, truncate,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// Environment variable holding the integration's routing key.
    pub routing_key_env: String,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// `payload.source`: where the alert comes from.
    #[serde(default = "default_source")]
    pub source: String,
    #[serde(default)]
    pub delivery: DeliveryOptions,
}

fn default_base_url() -> String {
    "https://events.pagerduty.com".to_owned()
}

fn default_source() -> String {
    "klaxon".to_owned()
}

impl PagerdutyConfig {
    pub fn validate(&self, path: &str, env: Option<EnvLookup<'_>>) -> Vec<ConfigIssue> {
        let mut issues = self.delivery.validate(path);
        if let Err(e) = remote::check_url(&self.base_url, "base_url") {
            issues.push(ConfigIssue::new(format!("{path}.base_url"), e));
        }
        if let Err(e) = remote::secret_opt(env, &self.routing_key_env) {
            issues.push(ConfigIssue::new(format!("{path}.routing_key_env"), e));
        }
        issues
    }

    pub fn build(&self, env: EnvLookup<'_>) -> Result<PagerdutySink, String> {
        Ok(PagerdutySink {
            client: remote::client(&self.delivery),
            url: format!("{}/v2/enqueue", self.base_url.trim_end_matches('/')),
            key: remote::secret(env, "routing_key_env", &self.routing_key_env)?,
            source: self.source.clone(),
            pacer: Pacer::new(self.delivery.quota(120, 2)),
        })
    }
}

pub struct PagerdutySink {
    client: reqwest::Client,
    url: String,
    key: Secret,
    source: String,
    pacer: Pacer,
}

impl PagerdutySink {
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    pub fn secrets(&self) -> Vec<Secret> {
        vec![self.key.clone()]
    }

    pub async fn send(&self, out: &Outgoing) -> Attempt {
        let body = self.payload(out);
        let attempt = match exchange(self.client.post(&self.url).json(&body)).await {
            Ok(reply) => {
                let json: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
                let what = || {
                    let mut text = json["message"].as_str().unwrap_or("").to_owned();
                    if let Some(errors) = json["errors"].as_array() {
                        let list: Vec<&str> = errors.iter().filter_map(Value::as_str).collect();
                        text = format!("{text} ({})", list.join("; "));
                    }
                    if text.trim().is_empty() { truncate(&reply.body, 200) } else { text }
                };
                match reply.status {
                    200..=299 => {
                        Attempt::Sent { message_id: json["dedup_key"].as_str().map(str::to_owned) }
                    }
                    // No Retry-After from PagerDuty: the backoff decides.
                    429 => Attempt::Throttled {
                        after: remote::retry_after_header(&reply.headers).or(Some(Duration::ZERO)),
                        error: format!("HTTP 429: {}", what()),
                    },
                    _ => remote::classify_http(&reply, what),
                }
            }
            Err(attempt) => attempt,
        };
        attempt.redact(&self.secrets())
    }

    fn payload(&self, out: &Outgoing) -> Value {
        let dedup_key = truncate(&format!("{}/{}", out.template, out.alert_key), 255);
        if out.action == Action::Resolve {
            return json!({
                "routing_key": self.key.expose(),
                "event_action": "resolve",
                "dedup_key": dedup_key,
            });
        }
        let severity = match out.severity {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        let mut details = serde_json::Map::new();
        for (k, v) in &out.fields {
            details.insert(k.clone(), json!(v));
        }
        details.insert("delivery_id".into(), json!(out.delivery_id));
        details.insert("alert_id".into(), json!(out.alert_id));
        details.insert("versions".into(), json!(out.versions));
        if out.alerts > 1 {
            details.insert("alerts".into(), json!(out.alerts));
        }
        let summary = if out.title.is_empty() { remote::text_of(out) } else { out.title.clone() };
        let time = UNIX_EPOCH + Duration::from_millis(out.event_time_ms.min(253_402_300_799_999));
        json!({
            "routing_key": self.key.expose(),
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "client": "klaxon",
            "payload": {
                "summary": truncate(&summary, 1024),
                "source": self.source,
                "severity": severity,
                "timestamp": humantime::format_rfc3339_millis(time).to_string(),
                "component": out.alert_key,
                "group": out.template,
                "custom_details": details,
            },
        })
    }
}

//! Discord incoming webhook, one embed per message.
//!
//! ```toml
//! [sinks.desk]
//! type = "discord"
//! url_env = "DISCORD_WEBHOOK_URL"   # https://discord.com/api/webhooks/{id}/{token}
//! # username = "Klaxon"
//! ```
//!
//! * The webhook url holds its token, so it comes from the environment and
//!   is masked in every error.
//! * No hard-coded limit: when a reply says `X-RateLimit-Remaining: 0`, the
//!   sink holds until `X-RateLimit-Reset-After` has passed.
//! * 429: wait the body's `retry_after` (float seconds; else `Retry-After`),
//!   then retry. Other 4xx: not retried. 5xx / network: retried.
//! * Sent with `?wait=true`, so the reply carries the message id.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::alert::Severity;
use crate::issue::ConfigIssue;
use crate::sinks::pacer::Pacer;
use crate::sinks::remote::{
    self, Attempt, DeliveryOptions, EnvLookup, Outgoing, Secret, exchange, truncate,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// Environment variable holding the full webhook url.
    pub url_env: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub delivery: DeliveryOptions,
}

impl DiscordConfig {
    pub fn validate(&self, path: &str, env: Option<EnvLookup<'_>>) -> Vec<ConfigIssue> {
        let mut issues = self.delivery.validate(path);
        match remote::secret_opt(env, &self.url_env) {
            Err(e) => issues.push(ConfigIssue::new(format!("{path}.url_env"), e)),
            Ok(Some(url)) if remote::check_url(url.expose(), "url").is_err() => {
                let msg = format!("`{}` does not hold an http(s) url", self.url_env);
                issues.push(ConfigIssue::new(format!("{path}.url_env"), msg));
            }
            Ok(_) => {}
        }
        issues
    }

    pub fn build(&self, env: EnvLookup<'_>) -> Result<DiscordSink, String> {
        let url = remote::secret(env, "url_env", &self.url_env)?;
        remote::check_url(url.expose(), "url_env").map_err(|_| "url_env: not an http(s) url")?;
        Ok(DiscordSink {
            client: remote::client(&self.delivery),
            url,
            username: self.username.clone(),
            // Discord's limits come from its headers (see `note_headers`).
            pacer: Pacer::unlimited(),
        })
    }
}

pub struct DiscordSink {
    client: reqwest::Client,
    url: Secret,
    username: Option<String>,
    pacer: Pacer,
}

impl DiscordSink {
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    pub fn secrets(&self) -> Vec<Secret> {
        vec![self.url.clone()]
    }

    pub async fn send(&self, out: &Outgoing) -> Attempt {
        let body = self.payload(out);
        let mut url = reqwest::Url::parse(self.url.expose()).expect("checked when built");
        url.query_pairs_mut().append_pair("wait", "true");
        let reply = match exchange(self.client.post(url).json(&body)).await {
            Ok(reply) => reply,
            Err(attempt) => return attempt.redact(&self.secrets()),
        };
        self.note_headers(&reply.headers);
        let json: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
        let what =
            || json["message"].as_str().map_or_else(|| truncate(&reply.body, 200), str::to_owned);
        let attempt = match reply.status {
            200..=299 => Attempt::Sent { message_id: json["id"].as_str().map(str::to_owned) },
            429 => Attempt::Throttled {
                after: json["retry_after"]
                    .as_f64()
                    .map(|s| Duration::from_secs_f64(s.max(0.0)))
                    .or_else(|| remote::retry_after_header(&reply.headers)),
                error: format!(
                    "HTTP 429: {}{}",
                    what(),
                    if json["global"] == true { " (global)" } else { "" }
                ),
            },
            _ => remote::classify_http(&reply, what),
        };
        attempt.redact(&self.secrets())
    }

    /// When the bucket is empty, hold until it resets.
    fn note_headers(&self, headers: &reqwest::header::HeaderMap) {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if get("x-ratelimit-remaining").map(str::trim) == Some("0")
            && let Some(wait) = get("x-ratelimit-reset-after").and_then(remote::seconds)
        {
            self.pacer.hold(wait);
        }
    }

    fn payload(&self, out: &Outgoing) -> Value {
        let color = match out.severity {
            Severity::Critical => 0xE0_3131,
            Severity::Warning => 0xF2_994A,
            Severity::Info => 0x2F_80ED,
        };
        let title = truncate(if out.title.is_empty() { &out.alert_key } else { &out.title }, 256);
        // Embed text is capped at 6,000 characters in all; fields get what
        // the title and description leave.
        let description = truncate(&remote::text_of(out), 4096);
        let mut budget =
            6000usize.saturating_sub(title.chars().count() + description.chars().count());
        let mut fields = Vec::new();
        for (name, value) in out.fields.iter().take(25) {
            let (name, value) = (truncate(name, 256), truncate(value, 1024));
            let cost = name.chars().count() + value.chars().count();
            if cost > budget || name.is_empty() || value.is_empty() {
                break;
            }
            budget -= cost;
            fields.push(json!({ "name": name, "value": value, "inline": true }));
        }
        let mut body = json!({
            "allowed_mentions": { "parse": [] },
            "embeds": [{
                "title": title,
                "description": description,
                "color": color,
                "fields": fields,
                "footer": { "text": truncate(&format!("{} · {}", out.template, out.delivery_id), 2048) },
            }],
        });
        if let Some(name) = &self.username {
            body["username"] = json!(name);
        }
        body
    }
}

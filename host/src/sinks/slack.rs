//! Slack incoming webhook.
//!
//! ```toml
//! [sinks.ops]
//! type = "slack"
//! url_env = "SLACK_WEBHOOK_URL"   # https://hooks.slack.com/services/T…/B…/…
//! ```
//!
//! * Text goes as `{"text": …}` with `&`, `<`, `>` escaped (mrkdwn).
//! * Paced to 1 message/second per webhook (Slack's documented budget).
//! * 429: wait `Retry-After`, then retry. 400/403/404/410 (`invalid_payload`,
//!   `action_prohibited`, `channel_not_found`, `channel_is_archived`): not
//!   retried. 5xx / network: retried.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::issue::ConfigIssue;
use crate::sinks::pacer::Pacer;
use crate::sinks::remote::{self, Attempt, DeliveryOptions, EnvLookup, Outgoing, Secret, exchange};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Environment variable holding the webhook url.
    pub url_env: String,
    #[serde(default)]
    pub delivery: DeliveryOptions,
}

impl SlackConfig {
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

    pub fn build(&self, env: EnvLookup<'_>) -> Result<SlackSink, String> {
        let url = remote::secret(env, "url_env", &self.url_env)?;
        remote::check_url(url.expose(), "url_env").map_err(|_| "url_env: not an http(s) url")?;
        Ok(SlackSink {
            client: remote::client(&self.delivery),
            url,
            pacer: Pacer::new(self.delivery.quota(60, 1)),
        })
    }
}

pub struct SlackSink {
    client: reqwest::Client,
    url: Secret,
    pacer: Pacer,
}

impl SlackSink {
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    pub fn secrets(&self) -> Vec<Secret> {
        vec![self.url.clone()]
    }

    pub async fn send(&self, out: &Outgoing) -> Attempt {
        let text = escape(&remote::text_of(out));
        let request = self.client.post(self.url.expose()).json(&json!({ "text": text }));
        let attempt = match exchange(request).await {
            // Slack answers in plain text: `ok`, or an error code.
            Ok(reply) => remote::classify_http(&reply, || remote::truncate(reply.body.trim(), 200)),
            Err(attempt) => attempt,
        };
        attempt.redact(&self.secrets())
    }
}

/// Slack's three control characters in mrkdwn.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_control_characters() {
        assert_eq!(super::escape("a<b>&c"), "a&lt;b&gt;&amp;c");
    }
}

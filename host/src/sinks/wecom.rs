//! WeCom (企业微信) group robot, markdown messages.
//!
//! ```toml
//! [sinks.wecom]
//! type = "wecom"
//! key_env = "WECOM_KEY"          # the `key=` of the robot's webhook url
//! # base_url = "https://qyapi.weixin.qq.com"
//! # throttle_hold = "60s"
//! ```
//!
//! * WeCom answers HTTP 200 for errors too; only `errcode` counts.
//! * Paced to 20 messages/minute per robot (one every 3 s); overflow is
//!   folded into one message by the delivery loop.
//! * `45009` (api freq out of limit) is rate limiting: the robot is held for
//!   `throttle_hold` (WeCom gives no retry time), then the message is resent.
//!   `-1` (system busy) and 5xx are retried; `93000` (bad key), `40058`
//!   (too long), `44004` (empty) and other codes are not.
//! * Content is cut to 4096 UTF-8 bytes, WeCom's markdown limit.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::issue::ConfigIssue;
use crate::sinks::pacer::Pacer;
use crate::sinks::remote::{self, Attempt, DeliveryOptions, EnvLookup, Outgoing, Secret, exchange};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WecomConfig {
    /// Environment variable holding the robot's key.
    pub key_env: String,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// How long the robot is left alone after WeCom says "too fast".
    #[serde(default = "default_hold", with = "humantime_serde")]
    pub throttle_hold: Duration,
    #[serde(default)]
    pub delivery: DeliveryOptions,
}

fn default_base_url() -> String {
    "https://qyapi.weixin.qq.com".to_owned()
}

fn default_hold() -> Duration {
    Duration::from_secs(60)
}

impl WecomConfig {
    pub fn validate(&self, path: &str, env: Option<EnvLookup<'_>>) -> Vec<ConfigIssue> {
        let mut issues = self.delivery.validate(path);
        if let Err(e) = remote::check_url(&self.base_url, "base_url") {
            issues.push(ConfigIssue::new(format!("{path}.base_url"), e));
        }
        if let Err(e) = remote::secret_opt(env, &self.key_env) {
            issues.push(ConfigIssue::new(format!("{path}.key_env"), e));
        }
        issues
    }

    pub fn build(&self, env: EnvLookup<'_>) -> Result<WecomSink, String> {
        Ok(WecomSink {
            client: remote::client(&self.delivery),
            url: format!("{}/cgi-bin/webhook/send", self.base_url.trim_end_matches('/')),
            key: remote::secret(env, "key_env", &self.key_env)?,
            hold: self.throttle_hold,
            pacer: Pacer::new(self.delivery.quota(20, 1)),
        })
    }
}

pub struct WecomSink {
    client: reqwest::Client,
    url: String,
    key: Secret,
    hold: Duration,
    pacer: Pacer,
}

impl WecomSink {
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    pub fn secrets(&self) -> Vec<Secret> {
        vec![self.key.clone()]
    }

    pub async fn send(&self, out: &Outgoing) -> Attempt {
        let content = remote::truncate_bytes(&remote::text_of(out), 4096);
        let body = json!({ "msgtype": "markdown", "markdown": { "content": content } });
        let request = self.client.post(&self.url).query(&[("key", self.key.expose())]).json(&body);
        let attempt = match exchange(request).await {
            Ok(reply) => {
                let json: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
                match json["errcode"].as_i64() {
                    Some(code) => errcode(code, json["errmsg"].as_str().unwrap_or(""), self.hold),
                    None => remote::classify_http(&reply, || remote::truncate(&reply.body, 200)),
                }
            }
            Err(attempt) => attempt,
        };
        attempt.redact(&self.secrets())
    }
}

/// WeCom's `errcode`, classified (its `errmsg` tail varies; the code does not).
fn errcode(code: i64, errmsg: &str, hold: Duration) -> Attempt {
    let error = format!("errcode {code}: {}", remote::truncate(errmsg, 200));
    match code {
        0 => Attempt::Sent { message_id: None },
        45009 => Attempt::Throttled { after: Some(hold), error },
        -1 => Attempt::Failed { after: None, error },
        _ => Attempt::Rejected { error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_fast_is_throttling_and_bad_keys_are_final() {
        let hold = Duration::from_secs(60);
        assert_eq!(
            errcode(45009, "api freq out of limit", hold),
            Attempt::Throttled {
                after: Some(hold),
                error: "errcode 45009: api freq out of limit".into()
            }
        );
        assert!(matches!(errcode(93000, "invalid webhook url", hold), Attempt::Rejected { .. }));
        assert!(matches!(errcode(-1, "busy", hold), Attempt::Failed { .. }));
        assert_eq!(errcode(0, "ok", hold), Attempt::Sent { message_id: None });
    }
}

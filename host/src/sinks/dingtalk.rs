//! DingTalk (钉钉) custom robot, markdown messages, optionally signed.
//!
//! ```toml
//! [sinks.dingtalk]
//! type = "dingtalk"
//! token_env = "DINGTALK_TOKEN"     # the robot's access_token
//! secret_env = "DINGTALK_SECRET"   # optional: the `SEC…` signing secret (加签)
//! # base_url = "https://oapi.dingtalk.com"
//! # throttle_hold = "10m"
//! ```
//!
//! * Signed mode adds `timestamp` (ms) and `sign` =
//!   urlencode(base64(HMAC-SHA256(secret, "{timestamp}\n{secret}"))), made
//!   fresh for every request from the bare url.
//! * DingTalk answers HTTP 200 for errors too; only `errcode` counts.
//! * Paced to 20 messages/minute per robot (one every 3 s); overflow is
//!   folded into one message by the delivery loop.
//! * `130101` and `410100` (send too fast) are rate limiting: DingTalk blocks
//!   the robot for 10 minutes, so the sink holds for `throttle_hold`, then
//!   resends. A non-JSON reply is taken as "still blocked". `310000` with
//!   `invalid timestamp` and `-1` are retried; other codes (keyword or
//!   signature mismatch, bad token, 400xxx, 430xxx) are not.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::clock::{Clock, SystemClock};
use crate::issue::ConfigIssue;
use crate::sinks::pacer::Pacer;
use crate::sinks::remote::{self, Attempt, DeliveryOptions, EnvLookup, Outgoing, Secret, exchange};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DingtalkConfig {
    /// Environment variable holding the robot's access token.
    pub token_env: String,
    /// Environment variable holding the signing secret, for signed robots.
    #[serde(default)]
    pub secret_env: Option<String>,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// How long the robot is left alone after DingTalk says "too fast".
    #[serde(default = "default_hold", with = "humantime_serde")]
    pub throttle_hold: Duration,
    #[serde(default)]
    pub delivery: DeliveryOptions,
}

fn default_base_url() -> String {
    "https://oapi.dingtalk.com".to_owned()
}

fn default_hold() -> Duration {
    Duration::from_secs(600)
}

impl DingtalkConfig {
    pub fn validate(&self, path: &str, env: Option<EnvLookup<'_>>) -> Vec<ConfigIssue> {
        let mut issues = self.delivery.validate(path);
        if let Err(e) = remote::check_url(&self.base_url, "base_url") {
            issues.push(ConfigIssue::new(format!("{path}.base_url"), e));
        }
        if let Err(e) = remote::secret_opt(env, &self.token_env) {
            issues.push(ConfigIssue::new(format!("{path}.token_env"), e));
        }
        if let Some(var) = &self.secret_env
            && let Err(e) = remote::secret_opt(env, var)
        {
            issues.push(ConfigIssue::new(format!("{path}.secret_env"), e));
        }
        issues
    }

    pub fn build(&self, env: EnvLookup<'_>) -> Result<DingtalkSink, String> {
        let secret = match &self.secret_env {
            Some(var) => Some(remote::secret(env, "secret_env", var)?),
            None => None,
        };
        Ok(DingtalkSink {
            client: remote::client(&self.delivery),
            url: format!("{}/robot/send", self.base_url.trim_end_matches('/')),
            token: remote::secret(env, "token_env", &self.token_env)?,
            secret,
            hold: self.throttle_hold,
            pacer: Pacer::new(self.delivery.quota(20, 1)),
        })
    }
}

pub struct DingtalkSink {
    client: reqwest::Client,
    url: String,
    token: Secret,
    secret: Option<Secret>,
    hold: Duration,
    pacer: Pacer,
}

impl DingtalkSink {
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    pub fn secrets(&self) -> Vec<Secret> {
        let mut s = vec![self.token.clone()];
        s.extend(self.secret.clone());
        s
    }

    pub async fn send(&self, out: &Outgoing) -> Attempt {
        let title =
            remote::truncate(if out.title.is_empty() { &out.alert_key } else { &out.title }, 64);
        let text = remote::truncate_bytes(&remote::text_of(out), 18_000);
        let body = json!({ "msgtype": "markdown", "markdown": { "title": title, "text": text } });
        // Query built by hand: `sign` is percent-encoded exactly once.
        let mut url = format!("{}?access_token={}", self.url, self.token.expose());
        if let Some(secret) = &self.secret {
            let ts = SystemClock.now_ms();
            url.push_str(&format!("&timestamp={ts}&sign={}", sign(ts, secret.expose())));
        }
        let attempt = match exchange(self.client.post(url).json(&body)).await {
            Ok(reply) => match serde_json::from_str::<Value>(&reply.body) {
                Ok(json) if json["errcode"].is_i64() => errcode(
                    json["errcode"].as_i64().unwrap_or_default(),
                    json["errmsg"].as_str().unwrap_or(""),
                    self.hold,
                ),
                _ if reply.status < 300 || reply.status == 302 => Attempt::Throttled {
                    after: Some(self.hold),
                    error: format!("HTTP {}: not a DingTalk reply (robot blocked?)", reply.status),
                },
                _ => remote::classify_http(&reply, || remote::truncate(&reply.body, 200)),
            },
            Err(attempt) => attempt,
        };
        attempt.redact(&self.secrets())
    }
}

/// `sign` for signed robots, percent-encoded once.
pub fn sign(timestamp_ms: u64, secret: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// DingTalk's `errcode`, classified.
fn errcode(code: i64, errmsg: &str, hold: Duration) -> Attempt {
    let error = format!("errcode {code}: {}", remote::truncate(errmsg, 200));
    match code {
        0 => Attempt::Sent { message_id: None },
        130101 | 410100 => Attempt::Throttled { after: Some(hold), error },
        310000 if errmsg.contains("timestamp") => Attempt::Failed { after: None, error },
        -1 => Attempt::Failed { after: None, error },
        _ => Attempt::Rejected { error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_reference_vector() {
        assert_eq!(
            sign(1_700_000_000_000, "secret"),
            "OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D"
        );
    }

    #[test]
    fn too_fast_codes_are_throttling() {
        let hold = Duration::from_secs(600);
        for code in [130101, 410100] {
            assert!(
                matches!(errcode(code, "send too fast", hold), Attempt::Throttled { after: Some(h), .. } if h == hold)
            );
        }
        assert!(matches!(
            errcode(310000, "keywords not in content", hold),
            Attempt::Rejected { .. }
        ));
        assert!(matches!(errcode(310000, "invalid timestamp", hold), Attempt::Failed { .. }));
        assert!(matches!(errcode(300001, "token is not exist", hold), Attempt::Rejected { .. }));
    }
}

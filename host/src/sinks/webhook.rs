//! Generic webhook: JSON, signed the Standard Webhooks way.
//!
//! ```toml
//! [sinks.hook]
//! type = "webhook"
//! url = "https://example.com/klaxon"
//! secret_env = "WEBHOOK_SECRET"        # optional; `whsec_<base64>` or raw text
//! headers = { "X-Team" = "desk-1" }     # optional extra headers
//! # per_minute pacing is off unless `delivery.per_minute` is set
//! ```
//!
//! * Body: `{"type":"alert.fired"|"alert.resolved","timestamp":…,"data":{…}}`.
//! * Headers `webhook-id` (the delivery id: the same on every retry, the
//!   receiver's idempotency key), `webhook-timestamp` (unix seconds of this
//!   attempt) and, with a secret, `webhook-signature: v1,<base64 HMAC-SHA256
//!   over "{id}.{timestamp}.{body}">`. A `whsec_` secret is base64-decoded
//!   first (the spec's rule); any other secret is used as its UTF-8 bytes.
//! * 2xx: sent. 429, 502, 503, 504: throttled, honouring `Retry-After`.
//!   Other 5xx / network / timeout: retried with backoff. 3xx (not followed)
//!   and other 4xx: not retried.

use std::collections::BTreeMap;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

use crate::clock::{Clock, SystemClock};
use crate::issue::ConfigIssue;
use crate::sinks::pacer::Pacer;
use crate::sinks::remote::{
    self, Action, Attempt, DeliveryOptions, EnvLookup, Outgoing, Secret, exchange, truncate,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// Environment variable holding the signing secret; unsigned without.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Extra headers sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub delivery: DeliveryOptions,
}

impl WebhookConfig {
    pub fn validate(&self, path: &str, env: Option<EnvLookup<'_>>) -> Vec<ConfigIssue> {
        let mut issues = self.delivery.validate(path);
        if let Err(e) = remote::check_url(&self.url, "url") {
            issues.push(ConfigIssue::new(format!("{path}.url"), e.replace("url: ", "")));
        }
        if let Some(var) = &self.secret_env {
            match remote::secret_opt(env, var) {
                Err(e) => issues.push(ConfigIssue::new(format!("{path}.secret_env"), e)),
                Ok(Some(s)) if key_bytes(s.expose()).is_err() => issues.push(ConfigIssue::new(
                    format!("{path}.secret_env"),
                    "a `whsec_` secret must be base64 after the prefix",
                )),
                Ok(_) => {}
            }
        }
        for name in self.headers.keys() {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                issues.push(ConfigIssue::new(
                    format!("{path}.headers"),
                    format!("`{name}` is not a header name"),
                ));
            }
        }
        issues
    }

    pub fn build(&self, env: EnvLookup<'_>) -> Result<WebhookSink, String> {
        let secret = match &self.secret_env {
            Some(var) => Some(remote::secret(env, "secret_env", var)?),
            None => None,
        };
        let key = secret.as_ref().map(|s| key_bytes(s.expose())).transpose()?;
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &self.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("headers: `{name}` is not a header name"))?;
            let value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|_| format!("headers.{name}: not a valid header value"))?;
            headers.insert(name, value);
        }
        let pacer = match self.delivery.per_minute {
            Some(_) => Pacer::new(self.delivery.quota(60, 1)),
            None => Pacer::unlimited(),
        };
        Ok(WebhookSink {
            client: remote::client(&self.delivery),
            url: self.url.clone(),
            secret,
            key,
            headers,
            pacer,
        })
    }
}

/// The HMAC key: base64 after `whsec_`, else the secret's own bytes.
fn key_bytes(secret: &str) -> Result<Vec<u8>, String> {
    match secret.strip_prefix("whsec_") {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| "secret_env: `whsec_` secret is not base64".to_owned()),
        None => Ok(secret.as_bytes().to_vec()),
    }
}

/// `v1,<base64>` over `{id}.{timestamp}.{body}`.
pub fn signature(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

pub struct WebhookSink {
    client: reqwest::Client,
    url: String,
    secret: Option<Secret>,
    key: Option<Vec<u8>>,
    headers: reqwest::header::HeaderMap,
    pacer: Pacer,
}

impl WebhookSink {
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    pub fn secrets(&self) -> Vec<Secret> {
        self.secret.iter().cloned().collect()
    }

    pub async fn send(&self, out: &Outgoing) -> Attempt {
        let now_ms = SystemClock.now_ms();
        let fields: serde_json::Map<String, serde_json::Value> =
            out.fields.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let kind = match out.action {
            Action::Trigger => "alert.fired",
            Action::Resolve => "alert.resolved",
        };
        let body = serde_json::to_vec(&json!({
            "type": kind,
            "timestamp": humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + std::time::Duration::from_millis(now_ms)).to_string(),
            "data": {
                "delivery_id": out.delivery_id,
                "alert_id": out.alert_id,
                "template": out.template,
                "alert_key": out.alert_key,
                "severity": out.severity,
                "title": out.title,
                "body": out.body,
                "markup": out.markup,
                "fields": fields,
                "event_time_ms": out.event_time_ms,
                "alerts": out.alerts,
                "versions": out.versions,
            },
        }))
        .expect("JSON values always serialize");
        let ts = now_ms / 1000;
        let mut request = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &out.delivery_id)
            .header("webhook-timestamp", ts.to_string());
        if let Some(key) = &self.key {
            request =
                request.header("webhook-signature", signature(key, &out.delivery_id, ts, &body));
        }
        let attempt = match exchange(request.body(body)).await {
            Ok(reply) => {
                let what = || truncate(reply.body.trim(), 200);
                match reply.status {
                    502..=504 => Attempt::Throttled {
                        after: remote::retry_after_header(&reply.headers)
                            .or(Some(std::time::Duration::ZERO)),
                        error: format!("HTTP {}: {}", reply.status, what()),
                    },
                    300..=399 => Attempt::Rejected {
                        error: format!("HTTP {}: redirect not followed; fix the url", reply.status),
                    },
                    _ => remote::classify_http(&reply, what),
                }
            }
            Err(attempt) => attempt,
        };
        attempt.redact(&self.secrets())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_vector() {
        let key = key_bytes("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        assert_eq!(
            signature(&key, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1_649_367_553, body),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }
}

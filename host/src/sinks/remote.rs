//! What every network sink shares: the outcome of one attempt, secrets from
//! the environment, redaction, the HTTP client and the delivery options.
//!
//! A network sink is small on purpose: it turns one [`Outgoing`] message
//! into one (or, for a split Telegram message, several) HTTP requests and
//! classifies the answer as an [`Attempt`]. Queueing, the outbox, pacing,
//! retries and folding live in `crate::deliver`, the same for every sink.

use std::num::NonZeroU32;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alert::{Markup, Severity};
use crate::issue::ConfigIssue;

/// One message as a network sink sends it: read back from the outbox, so
/// it carries only what the outbox stores.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Stable delivery id (alert id + channel): the idempotency key.
    pub delivery_id: String,
    pub alert_id: String,
    pub template: String,
    pub alert_key: String,
    pub severity: Severity,
    /// `trigger` for a fired alert, `resolve` for a retraction.
    pub action: Action,
    pub title: String,
    pub body: String,
    pub markup: Markup,
    /// The alert's fields, in the filter's order.
    pub fields: Vec<(String, String)>,
    /// Exchange time of the event, unix ms.
    pub event_time_ms: u64,
    /// Alerts this message stands for (more than one when folded).
    pub alerts: u32,
    /// The plugin versions that made the alert (message metadata).
    pub versions: crate::alert::PluginVersions,
}

/// Whether a delivery raises or takes back an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Trigger,
    Resolve,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Trigger => "trigger",
            Action::Resolve => "resolve",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "trigger" => Some(Action::Trigger),
            "resolve" => Some(Action::Resolve),
            _ => None,
        }
    }
}

/// How one send went, as the delivery loop needs to know it.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// Accepted; the service's message id where it returns one.
    Sent { message_id: Option<String> },
    /// The service said "slow down" (429, or its own "too fast" code).
    /// `after` is the service's own wait when it gave one; it always wins.
    /// Throttling does not use up the retry budget.
    Throttled { after: Option<Duration>, error: String },
    /// A transient failure (5xx, network, timeout): retried with backoff
    /// until the budget is spent. `after` is a server-given wait, if any.
    Failed { after: Option<Duration>, error: String },
    /// The service refused the message for good (bad request, forbidden,
    /// unknown chat): not retried, the delivery is dead at once.
    Rejected { error: String },
}

impl Attempt {
    /// The same attempt with every secret masked in its error text.
    pub fn redact(self, secrets: &[Secret]) -> Attempt {
        match self {
            Attempt::Throttled { after, error } => {
                Attempt::Throttled { after, error: redact(&error, secrets) }
            }
            Attempt::Failed { after, error } => {
                Attempt::Failed { after, error: redact(&error, secrets) }
            }
            Attempt::Rejected { error } => Attempt::Rejected { error: redact(&error, secrets) },
            sent => sent,
        }
    }
}

/// Options every network sink takes under `delivery = { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryOptions {
    /// Attempts per delivery (failures, not throttling) before it is dead.
    pub attempts: u32,
    /// First retry delay; doubles (with jitter) up to `max_backoff`.
    #[serde(with = "humantime_serde")]
    pub min_backoff: Duration,
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Longest one HTTP request may take before it counts as failed.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Messages per minute this destination accepts; the sink's own default
    /// (the service's documented budget) when unset.
    pub per_minute: Option<u32>,
    /// Messages that may go out back to back before pacing applies.
    pub burst: Option<u32>,
    /// When the budget is spent and several alerts wait, send them as one
    /// message ("N alerts") instead of one by one.
    pub fold: bool,
    /// Most alerts folded into one message.
    pub fold_max: u32,
    /// How often the outbox is re-read when nothing new arrived (resends
    /// from the CLI, retractions).
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// At shutdown, how long pending deliveries may still be sent; the rest
    /// stay in the outbox for the next start.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Cap on one throttled wait: a bogus `retry_after` cannot park a
    /// channel for a day.
    #[serde(with = "humantime_serde")]
    pub max_throttle_wait: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            attempts: 8,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            timeout: Duration::from_secs(15),
            per_minute: None,
            burst: None,
            fold: true,
            fold_max: 20,
            poll_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(5),
            max_throttle_wait: Duration::from_secs(900),
        }
    }
}

impl DeliveryOptions {
    pub fn validate(&self, path: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let at = |f: &str| format!("{path}.delivery.{f}");
        if self.attempts == 0 {
            issues.push(ConfigIssue::new(at("attempts"), "must be at least 1"));
        }
        if self.min_backoff > self.max_backoff {
            issues.push(ConfigIssue::new(at("min_backoff"), "must not exceed max_backoff"));
        }
        if self.timeout.is_zero() {
            issues.push(ConfigIssue::new(at("timeout"), "must be greater than 0"));
        }
        if self.per_minute == Some(0) {
            issues.push(ConfigIssue::new(at("per_minute"), "must be at least 1"));
        }
        if self.burst == Some(0) {
            issues.push(ConfigIssue::new(at("burst"), "must be at least 1"));
        }
        if self.fold_max == 0 {
            issues.push(ConfigIssue::new(at("fold_max"), "must be at least 1"));
        }
        if self.poll_interval.is_zero() {
            issues.push(ConfigIssue::new(at("poll_interval"), "must be greater than 0"));
        }
        issues
    }

    /// The pacing quota: `per_minute` (or the sink's default) with `burst`.
    pub fn quota(&self, default_per_minute: u32, default_burst: u32) -> governor::Quota {
        let per_minute = nonzero(self.per_minute.unwrap_or(default_per_minute));
        let burst = nonzero(self.burst.unwrap_or(default_burst));
        let period = Duration::from_secs(60) / per_minute.get();
        governor::Quota::with_period(period.max(Duration::from_nanos(1)))
            .expect("period is never zero")
            .allow_burst(burst)
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// A secret read from the environment. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How sinks read environment variables; tests pass a map instead of
/// mutating the process environment.
pub type EnvLookup<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The secret in env var `var`, or a message naming the variable (never a value).
pub fn secret(env: EnvLookup<'_>, field: &str, var: &str) -> Result<Secret, String> {
    if var.trim().is_empty() {
        return Err(format!("{field}: must name an environment variable"));
    }
    env(var).map(Secret).ok_or_else(|| format!("{field}: environment variable `{var}` is not set"))
}

/// Like [`secret`], for validation: with no `env` (static checks only) just
/// that a variable is named; `Ok(None)` then.
pub fn secret_opt(env: Option<EnvLookup<'_>>, var: &str) -> Result<Option<Secret>, String> {
    match env {
        Some(env) => {
            secret(env, "", var).map(Some).map_err(|e| e.trim_start_matches(": ").to_owned())
        }
        None if var.trim().is_empty() => Err("must name an environment variable".into()),
        None => Ok(None),
    }
}

/// Checks that `url` is an absolute http(s) url; `what` names the field.
pub fn check_url(url: &str, what: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{what}: not a url ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!("{what}: must be an http:// or https:// url with a host"));
    }
    Ok(parsed)
}

/// Replace every secret (raw and percent-encoded) in `text` with `***`.
/// Everything a sink reports passes through here.
pub fn redact(text: &str, secrets: &[Secret]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| s.0.len() >= 4) {
        out = out.replace(&s.0, "***");
        let encoded =
            percent_encoding::utf8_percent_encode(&s.0, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        if encoded != s.0 {
            out = out.replace(&encoded, "***");
        }
    }
    out
}

/// A reqwest error as text, without its url (urls carry tokens).
pub fn describe(error: reqwest::Error) -> String {
    let timeout = error.is_timeout();
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if timeout { format!("timed out: {text}") } else { text }
}

/// The HTTP client of one sink: no redirects (a 3xx is a failure to fix the
/// url, not something to follow with a token in it), the configured timeout.
pub fn client(options: &DeliveryOptions) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .user_agent(concat!("klaxon/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a client with these options always builds")
}

/// Seconds in a `Retry-After` header (integer or float; dates are ignored).
pub fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(seconds)
}

/// A non-negative number of seconds, as text, as a Duration.
pub fn seconds(text: &str) -> Option<Duration> {
    let s: f64 = text.trim().parse().ok()?;
    (s.is_finite() && s >= 0.0).then(|| Duration::from_secs_f64(s.min(86_400.0)))
}

/// An HTTP answer after a send: what every classifier looks at.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

/// Send `request` and read the answer; a transport failure is `Failed`.
pub async fn exchange(request: reqwest::RequestBuilder) -> Result<Reply, Attempt> {
    let response =
        request.send().await.map_err(|e| Attempt::Failed { after: None, error: describe(e) })?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body =
        response.text().await.map_err(|e| Attempt::Failed { after: None, error: describe(e) })?;
    Ok(Reply { status, headers, body })
}

/// The usual HTTP classification: 2xx sent, 429 throttled (honouring
/// `Retry-After`), 408/5xx failed, other codes rejected. `what` is the
/// error text for a non-2xx answer.
pub fn classify_http(reply: &Reply, what: impl FnOnce() -> String) -> Attempt {
    let after = retry_after_header(&reply.headers);
    match reply.status {
        200..=299 => Attempt::Sent { message_id: None },
        429 => Attempt::Throttled { after, error: format!("HTTP 429: {}", what()) },
        408 | 500..=599 => {
            Attempt::Failed { after, error: format!("HTTP {}: {}", reply.status, what()) }
        }
        s => Attempt::Rejected { error: format!("HTTP {s}: {}", what()) },
    }
}

/// `text` cut to at most `max` chars, with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` cut to at most `max` UTF-8 bytes on a char boundary, with `…`.
pub fn truncate_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The text a sink sends: the body when the formatter wrote one (it holds the
/// headline), else the title and fields.
pub fn text_of(out: &Outgoing) -> String {
    if !out.body.trim().is_empty() {
        return out.body.clone();
    }
    let mut text = out.title.clone();
    for (k, v) in &out.fields {
        text.push_str(&format!("\n{k}: {v}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_raw_and_encoded_secrets() {
        let s = [Secret::new("123:abc/def")];
        let text = "GET https://x/bot123:abc/def/send?k=123%3Aabc%2Fdef failed";
        assert_eq!(redact(text, &s), "GET https://x/bot***/send?k=*** failed");
        assert_eq!(format!("{:?}", s[0]), "Secret(***)");
    }

    #[test]
    fn secrets_name_the_variable_not_the_value() {
        let env = |k: &str| (k == "SET").then(|| "v4lue".to_owned());
        assert_eq!(secret(&env, "sinks.tg.token_env", "SET").unwrap().expose(), "v4lue");
        let err = secret(&env, "sinks.tg.token_env", "UNSET").unwrap_err();
        assert_eq!(err, "sinks.tg.token_env: environment variable `UNSET` is not set");
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(check_url("https://api.telegram.org", "u").is_ok());
        assert!(check_url("ftp://x", "u").is_err());
        assert!(check_url("not a url", "u").is_err());
    }

    #[test]
    fn retry_after_accepts_floats_and_rejects_junk() {
        assert_eq!(seconds("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(seconds("-1"), None);
        assert_eq!(seconds("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn truncation_keeps_char_boundaries() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate_bytes("ééé", 5), "é…");
        assert_eq!(truncate_bytes("abc", 5), "abc");
    }
}

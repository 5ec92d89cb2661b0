//! What the evaluate, decide and format stages produce: verdicts, alerts,
//! decisions and messages. Plain data; no stage logic lives here.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::event::Event;

/// Name of an alert template, as written in the config.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TemplateId(pub Arc<str>);

impl TemplateId {
    pub fn new(name: &str) -> TemplateId {
        TemplateId(Arc::from(name))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TemplateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How loud an alert is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    #[default]
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// A filter's yes: the alert an event raises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pass {
    pub alert_key: String,
    pub severity: Severity,
    pub value: f64,
    pub title: String,
    pub fields: Vec<(String, String)>,
}

/// What the host remembers about one alert key of one template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub last_fired_ms: Option<u64>,
    pub last_value: Option<f64>,
    pub last_severity: Option<Severity>,
    pub fires: u32,
    pub suppressed_since_fire: u32,
}

/// A cooldown decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Decision {
    Fire(Severity),
    Suppress(String),
}

/// Who made a decision: the template's cooldown plugin, its
/// `default_cooldown` (none configured, or the plugin failed), or another
/// host sharing Redis that claimed the key first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecidedBy {
    #[default]
    Policy,
    Default,
    Elsewhere,
}

impl DecidedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            DecidedBy::Policy => "policy",
            DecidedBy::Default => "default",
            DecidedBy::Elsewhere => "elsewhere",
        }
    }

    pub fn parse(s: &str) -> Option<DecidedBy> {
        [DecidedBy::Policy, DecidedBy::Default, DecidedBy::Elsewhere]
            .into_iter()
            .find(|b| b.as_str() == s)
    }
}

/// What a decision was made on, kept so that "why" can answer later: the
/// key's history as the policy saw it, and who decided.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecisionTrace {
    pub history: History,
    pub by: DecidedBy,
}

/// A suppression reason split into a bounded code and free text. A policy
/// writes `code: text` (code: `[a-z][a-z0-9_]{0,31}`) to give its reason a
/// code; metrics label the code, the log keeps the whole reason. A reason
/// without one has the code `policy`.
pub fn reason_code(reason: &str) -> &str {
    let Some((code, _)) = reason.split_once(':') else { return "policy" };
    let valid = code.len() <= 32
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid { code } else { "policy" }
}

/// Stable id of an alert: the same template, key and event always give the
/// same id, so replays and retries write the alert log idempotently.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlertId(pub String);

impl AlertId {
    pub fn derive(template: &TemplateId, alert_key: &str, event_id: &str) -> AlertId {
        let mut h = Sha256::new();
        for part in [template.as_str(), alert_key, event_id] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        AlertId(hex::encode(&h.finalize()[..16]))
    }
}

/// The content versions (`name@version`) of the plugins that made an alert;
/// `None` where the template uses the built-in default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PluginVersions {
    pub filter: Option<String>,
    pub cooldown: Option<String>,
    pub formatter: Option<String>,
}

/// A decided alert: fired or suppressed, with everything the log and the
/// formatter need.
#[derive(Debug, Clone)]
pub struct Alert {
    pub id: AlertId,
    pub template: TemplateId,
    pub key: String,
    /// Severity after the cooldown policy (which may escalate it).
    pub severity: Severity,
    pub value: f64,
    pub title: String,
    pub fields: Vec<(String, String)>,
    pub event: Arc<Event>,
    pub decision: Decision,
    /// Host clock when decided (simulated in replay).
    pub decided_at_ms: u64,
    /// The plugin versions of the plan it was decided with.
    pub versions: Arc<PluginVersions>,
    /// The history and decider behind `decision`.
    pub trace: DecisionTrace,
}

impl Alert {
    pub fn fired(&self) -> bool {
        matches!(self.decision, Decision::Fire(_))
    }

    /// Key, title and fields: what `alert_bytes` bounds.
    pub fn size_bytes(&self) -> usize {
        let fields: usize = self.fields.iter().map(|(n, v)| n.len() + v.len()).sum();
        self.key.len() + self.title.len() + fields
    }

    pub fn suppress_reason(&self) -> Option<&str> {
        match &self.decision {
            Decision::Suppress(reason) => Some(reason),
            Decision::Fire(_) => None,
        }
    }
}

/// A fired alert as the outbox keeps it while a time-window digest holds
/// it, so that the digest can go through the formatter's `format-digest`
/// when the window closes, after a restart too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAlert {
    pub id: AlertId,
    pub template: TemplateId,
    pub key: String,
    pub severity: Severity,
    /// JSON has no NaN: serde_json writes it as `null`, read back as NaN.
    #[serde(deserialize_with = "nan_if_null")]
    pub value: f64,
    pub title: String,
    pub fields: Vec<(String, String)>,
    pub event: Event,
    pub decided_at_ms: u64,
    pub versions: PluginVersions,
}

impl StoredAlert {
    pub fn of(alert: &Alert) -> StoredAlert {
        StoredAlert {
            id: alert.id.clone(),
            template: alert.template.clone(),
            key: alert.key.clone(),
            severity: alert.severity,
            value: alert.value,
            title: alert.title.clone(),
            fields: alert.fields.clone(),
            event: (*alert.event).clone(),
            decided_at_ms: alert.decided_at_ms,
            versions: (*alert.versions).clone(),
        }
    }

    /// The fired alert again.
    pub fn into_alert(self) -> Alert {
        Alert {
            id: self.id,
            template: self.template,
            key: self.key,
            severity: self.severity,
            value: self.value,
            title: self.title,
            fields: self.fields,
            event: Arc::new(self.event),
            decision: Decision::Fire(self.severity),
            decided_at_ms: self.decided_at_ms,
            versions: Arc::new(self.versions),
            trace: DecisionTrace::default(),
        }
    }
}

fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// How a message body is marked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Markup {
    #[default]
    Plain,
    MarkdownV2,
    Markdown,
    Html,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub title: String,
    pub body: String,
    pub markup: Markup,
}

/// A fired alert with its message, addressed to the template's channels.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub alert: Arc<Alert>,
    pub message: Message,
    pub channels: Arc<[String]>,
    /// Its bytes in the pipeline's delivery budget, given back when the
    /// last sink drops it (see `budget`).
    pub lease: crate::budget::Lease,
}

impl Delivery {
    /// What it weighs in the delivery budget: the message, the alert, and
    /// a fixed share for the event and the bookkeeping around them.
    pub fn weight(alert: &Alert, message: &Message) -> usize {
        512 + alert.size_bytes() + message.title.len() + message.body.len()
    }
}

//! What cooldown policies and formatters see ([`Alert`], [`History`]) and
//! what they answer ([`Decision`], [`Message`]).

use std::borrow::Cow;

use crate::event::EventRecord;
use crate::verdict::{Field, Pass, Severity};

/// A fired candidate alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Template that raised it.
    pub template: String,
    pub alert_key: String,
    pub severity: Severity,
    /// The number the alert is about (notional, % move, …).
    pub value: f64,
    pub title: String,
    pub fields: Vec<Field>,
    /// The event that triggered it.
    pub event: EventRecord,
}

impl Alert {
    /// The alert the host builds when `pass` fires for `template` (for tests).
    pub fn new(template: impl Into<String>, pass: Pass, event: EventRecord) -> Alert {
        Alert {
            template: template.into(),
            alert_key: pass.alert_key,
            severity: pass.severity,
            value: pass.value,
            title: pass.title,
            fields: pass.fields,
            event,
        }
    }

    /// The value of the first field called `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|f| f.name == name).map(|f| f.value.as_str())
    }
}

/// What the host remembers about one alert key of one template.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct History {
    /// When the key last fired (host clock, unix ms); `None` if never.
    pub last_fired_ms: Option<u64>,
    /// `value` of the last fired alert.
    pub last_value: Option<f64>,
    /// Severity of the last fired alert.
    pub last_severity: Option<Severity>,
    /// Total fires of this key.
    pub fires: u32,
    /// Suppressions since the last fire.
    pub suppressed_since_fire: u32,
}

impl History {
    /// A key that last fired at `at_ms` with `value` (for tests).
    pub fn fired(at_ms: u64, value: f64, severity: Severity) -> History {
        History {
            last_fired_ms: Some(at_ms),
            last_value: Some(value),
            last_severity: Some(severity),
            fires: 1,
            suppressed_since_fire: 0,
        }
    }

    pub fn with_suppressed(self, suppressed_since_fire: u32) -> History {
        History { suppressed_since_fire, ..self }
    }

    /// Milliseconds since the last fire at `now_ms`; `None` if never fired.
    /// A last fire "in the future" (clock skew) counts as just now.
    pub fn since_last_fire_ms(&self, now_ms: u64) -> Option<u64> {
        self.last_fired_ms.map(|t| now_ms.saturating_sub(t))
    }
}

/// A cooldown policy's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Send the alert, at this severity (a policy may escalate).
    Fire(Severity),
    /// Stay quiet; the reason goes to the alert log. Keep it short and
    /// stable (`cooldown 10m`), since it is counted.
    Suppress(Cow<'static, str>),
}

impl Decision {
    pub fn suppress(reason: impl Into<Cow<'static, str>>) -> Decision {
        Decision::Suppress(reason.into())
    }

    pub fn is_fire(&self) -> bool {
        matches!(self, Decision::Fire(_))
    }
}

/// How a message body is marked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Markup {
    #[default]
    Plain,
    /// Telegram MarkdownV2, already escaped
    /// (see [`fmt::escape_markdown_v2`](crate::fmt::escape_markdown_v2)).
    MarkdownV2,
    Markdown,
    Html,
}

/// A rendered message, ready for a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub title: String,
    pub body: String,
    pub markup: Markup,
}

impl Message {
    pub fn new(title: impl Into<String>, body: impl Into<String>, markup: Markup) -> Message {
        Message { title: title.into(), body: body.into(), markup }
    }

    pub fn plain(title: impl Into<String>, body: impl Into<String>) -> Message {
        Message::new(title, body, Markup::Plain)
    }
}

//! What a filter answers: [`Verdict::Reject`] with a short reason, or
//! [`Verdict::Pass`] with the alert the event raises.
//!
//! Rejecting is the common case on the hot path, so a reject reason is a
//! `Cow<'static, str>`: `Verdict::reject("below threshold")` allocates
//! nothing. The batch path drops reject reasons unread.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;

/// How loud an alert is. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
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

    /// One step louder, saturating at `Critical`.
    pub fn raised(self) -> Severity {
        match self {
            Severity::Info => Severity::Warning,
            Severity::Warning | Severity::Critical => Severity::Critical,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One named value for the message, in display order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
}

impl Field {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Field {
        Field { name: name.into(), value: value.into() }
    }
}

/// A filter's yes: the alert this event raises.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass {
    /// Cooldown and dedup key, e.g. `BTCUSDT` or `0xabc…:ETH`.
    pub alert_key: String,
    pub severity: Severity,
    /// The number the alert is about (notional, % move, …); cooldowns compare it.
    pub value: f64,
    /// Short headline, e.g. `Whale buy on BTCUSDT`.
    pub title: String,
    pub fields: Vec<Field>,
}

impl Pass {
    /// A pass at `Info` severity with value 0 and no fields.
    pub fn new(alert_key: impl Into<String>, title: impl Into<String>) -> Pass {
        Pass {
            alert_key: alert_key.into(),
            severity: Severity::Info,
            value: 0.0,
            title: title.into(),
            fields: Vec::new(),
        }
    }
    pub fn with_severity(self, severity: Severity) -> Pass {
        Pass { severity, ..self }
    }
    pub fn with_value(self, value: f64) -> Pass {
        Pass { value, ..self }
    }
    /// Appends a field (display order is insertion order).
    pub fn with_field(mut self, name: impl Into<String>, value: impl Into<String>) -> Pass {
        self.fields.push(Field::new(name, value));
        self
    }
    /// The value of the first field called `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|f| f.name == name).map(|f| f.value.as_str())
    }
}

/// A filter's answer for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Not interesting; the reason is for debugging and counters.
    Reject(Cow<'static, str>),
    Pass(Pass),
}

impl Verdict {
    /// Rejects with a fixed reason; allocates nothing.
    pub const fn reject(reason: &'static str) -> Verdict {
        Verdict::Reject(Cow::Borrowed(reason))
    }

    /// Rejects with a computed reason. Prefer [`Verdict::reject`] on hot paths.
    pub fn reject_with(reason: String) -> Verdict {
        Verdict::Reject(Cow::Owned(reason))
    }

    pub fn is_pass(&self) -> bool {
        matches!(self, Verdict::Pass(_))
    }

    /// The pass, if any.
    pub fn into_pass(self) -> Option<Pass> {
        match self {
            Verdict::Pass(pass) => Some(pass),
            Verdict::Reject(_) => None,
        }
    }

    /// The reject reason, if any.
    pub fn reject_reason(&self) -> Option<&str> {
        match self {
            Verdict::Reject(reason) => Some(reason),
            Verdict::Pass(_) => None,
        }
    }
}

impl From<Pass> for Verdict {
    fn from(pass: Pass) -> Verdict {
        Verdict::Pass(pass)
    }
}

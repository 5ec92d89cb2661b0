//! `{{name}}`: a formatter. The title, then one `name: value` line per
//! field, then the venue and symbol; plain text.

use klaxon_sdk::{Alert, Formatter, Message, export_formatter};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Put before every title, e.g. `"[prod] "`.
    #[serde(default)]
    pub prefix: String,
}

pub struct Plugin {
    prefix: String,
}

impl Formatter for Plugin {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        Ok(Plugin { prefix: p.prefix })
    }

    fn format(&mut self, alert: &Alert) -> Message {
        let title = format!("{}{}", self.prefix, alert.title);
        let mut body = format!("[{}] {title}", alert.severity.as_str().to_uppercase());
        for field in &alert.fields {
            body.push_str(&format!("\n{}: {}", field.name, field.value));
        }
        body.push_str(&format!("\n{} {}", alert.event.venue, alert.event.symbol));
        Message::plain(title, body)
    }
}

export_formatter!(Plugin);

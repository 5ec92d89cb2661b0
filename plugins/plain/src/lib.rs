//! `plain`: alerts as plain text. The body is the whole message (headline
//! first), so a sink may send it alone; the title is the headline.
//!
//! ```text
//! [WARNING] $1.23M buy on BTCUSDT
//! notional: $1.23M
//! price: 64250.5
//! binance-spot BTCUSDT at 2021-10-11 12:34:56 UTC
//! template whales, key BTCUSDT
//! ```

use std::fmt::Write;

use klaxon_sdk::fmt::time_utc;
use klaxon_sdk::{Alert, Formatter, Message, export_formatter};
use serde::Deserialize;

/// Params of `plain`. All optional.
///
/// ```toml
/// formatter = { plugin = "plain", params = { title_prefix = "[prod]", include_event = false } }
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Put before every title, e.g. `"[prod]"`.
    #[serde(default)]
    pub title_prefix: Option<String>,
    /// Add the venue / symbol / time line, the transaction and the
    /// template/key footer. Default `true`.
    #[serde(default = "yes")]
    pub include_event: bool,
    /// Most alerts listed in a digest; the rest are counted. Default 20.
    #[serde(default = "default_max_digest_items")]
    pub max_digest_items: usize,
}

fn yes() -> bool {
    true
}

fn default_max_digest_items() -> usize {
    20
}

pub struct Plain {
    prefix: String,
    include_event: bool,
    max_digest_items: usize,
}

impl Formatter for Plain {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        if p.max_digest_items == 0 {
            return Err("max_digest_items: must be at least 1".into());
        }
        let prefix = p.title_prefix.map(|s| format!("{} ", s.trim_end())).unwrap_or_default();
        Ok(Plain { prefix, include_event: p.include_event, max_digest_items: p.max_digest_items })
    }

    fn format(&mut self, alert: &Alert) -> Message {
        let title = format!("{}{}", self.prefix, alert.title);
        let mut body = format!("[{}] {title}\n", alert.severity.as_str().to_uppercase());
        for field in &alert.fields {
            let _ = writeln!(body, "{}: {}", field.name, field.value);
        }
        if self.include_event {
            let e = &alert.event;
            let venue = if e.venue.is_empty() { String::new() } else { format!("{} ", e.venue) };
            let _ = writeln!(body, "{venue}{} at {}", e.symbol, time_utc(e.exchange_time_ms));
            if let Some(tx) = &e.tx_hash
                && alert.field("tx").is_none()
            {
                let _ = writeln!(body, "tx: {tx}");
            }
            let _ = writeln!(body, "template {}, key {}", alert.template, alert.alert_key);
        }
        Message::plain(title, body.trim_end())
    }

    fn format_digest(&mut self, alerts: &[Alert]) -> Message {
        let title = format!("{}{}", self.prefix, count(alerts.len()));
        let mut body = format!("{title}\n");
        for alert in alerts.iter().take(self.max_digest_items) {
            let _ = writeln!(body, "[{}] {}", alert.severity.as_str().to_uppercase(), alert.title);
        }
        if alerts.len() > self.max_digest_items {
            let _ = writeln!(body, "… and {} more", alerts.len() - self.max_digest_items);
        }
        Message::plain(title, body.trim_end())
    }
}

fn count(n: usize) -> String {
    if n == 1 { "1 alert".to_owned() } else { format!("{n} alerts") }
}

export_formatter!(Plain);

#[cfg(test)]
mod tests {
    use klaxon_sdk::testing::{FormatterHarness, json};
    use klaxon_sdk::{EventRecord, Markup, Pass, Severity};

    use super::*;

    fn alert(symbol: &str, title: &str) -> Alert {
        let event = EventRecord::trade(symbol, 64_250.5, 19.2)
            .with_venue("binance-spot")
            .with_time(1_633_955_696_000);
        let pass = Pass::new(symbol, title)
            .with_severity(Severity::Warning)
            .with_field("notional", "$1.23M");
        Alert::new("whales", pass, event)
    }

    #[test]
    fn formats_one_alert() {
        let f = FormatterHarness::<Plain>::configure("{}").unwrap();
        let m = f.format(&alert("BTCUSDT", "$1.23M buy on BTCUSDT"));
        assert_eq!(m.title, "$1.23M buy on BTCUSDT");
        assert_eq!(m.markup, Markup::Plain);
        assert_eq!(
            m.body,
            "[WARNING] $1.23M buy on BTCUSDT\nnotional: $1.23M\nbinance-spot BTCUSDT at 2021-10-11 12:34:56 UTC\ntemplate whales, key BTCUSDT"
        );
    }

    #[test]
    fn prefix_and_no_event() {
        let f = FormatterHarness::<Plain>::configure_json(
            &json!({"title_prefix": "[prod]", "include_event": false}),
        )
        .unwrap();
        let m = f.format(&alert("ETH", "ETH up 5%"));
        assert_eq!(m.title, "[prod] ETH up 5%");
        assert_eq!(m.body, "[WARNING] [prod] ETH up 5%\nnotional: $1.23M");
    }

    #[test]
    fn digest_lists_and_counts() {
        let f = FormatterHarness::<Plain>::configure_json(&json!({"max_digest_items": 2})).unwrap();
        let alerts = [alert("A", "A up"), alert("B", "B up"), alert("C", "C up")];
        let m = f.format_digest(&alerts);
        assert_eq!(m.title, "3 alerts");
        assert_eq!(m.body, "3 alerts\n[WARNING] A up\n[WARNING] B up\n… and 1 more");
        assert_eq!(f.format_digest(&alerts[..1]).title, "1 alert");
    }

    #[test]
    fn bad_params_name_the_field() {
        let err = |p| FormatterHarness::<Plain>::configure_json(&p).err().unwrap();
        assert_eq!(err(json!({"max_digest_items": 0})), "max_digest_items: must be at least 1");
        assert!(
            err(json!({"prefix": "x"}))
                .starts_with("prefix: unknown field `prefix`, expected one of `title_prefix`")
        );
    }
}

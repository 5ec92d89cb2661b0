//! `telegram-markdown`: alerts as Telegram MarkdownV2 (`parse_mode =
//! "MarkdownV2"`). Every piece of alert text is escaped (`_*[]()~`>#+-=|{}.!`
//! and `\` outside code spans; `` ` `` and `\` inside them), so titles like
//! `BTC-PERP up 5.2%` cannot break the message. The body is the whole
//! message, headline included; the title is the plain-text headline.
//!
//! ```text
//! 🟠 *$1\.23M buy on BTCUSDT*
//! notional: *$1\.23M*
//! _binance\-spot BTCUSDT · 2021\-10\-11 12:34:56 UTC_
//! `whales` · `BTCUSDT`
//! ```

use std::fmt::Write;

use klaxon_sdk::fmt::{escape_markdown_v2 as esc, escape_markdown_v2_code as esc_code, time_utc};
use klaxon_sdk::{Alert, Formatter, Markup, Message, Severity, export_formatter};
use serde::Deserialize;

/// Params of `telegram-markdown`. All optional.
///
/// ```toml
/// formatter = { plugin = "telegram-markdown", params = { title_prefix = "[prod]", severity_emoji = false } }
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
    /// Start lines with 🔴 (critical), 🟠 (warning) or 🔵 (info). Default `true`.
    #[serde(default = "yes")]
    pub severity_emoji: bool,
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

pub struct TelegramMarkdown {
    prefix: String,
    include_event: bool,
    severity_emoji: bool,
    max_digest_items: usize,
}

impl Formatter for TelegramMarkdown {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        if p.max_digest_items == 0 {
            return Err("max_digest_items: must be at least 1".into());
        }
        let prefix = p.title_prefix.map(|s| format!("{} ", s.trim_end())).unwrap_or_default();
        Ok(TelegramMarkdown {
            prefix,
            include_event: p.include_event,
            severity_emoji: p.severity_emoji,
            max_digest_items: p.max_digest_items,
        })
    }

    fn format(&mut self, alert: &Alert) -> Message {
        let title = format!("{}{}", self.prefix, alert.title);
        let mut body = format!("{}*{}*\n", self.emoji(alert.severity), esc(&title));
        for field in &alert.fields {
            let _ = writeln!(body, "{}: *{}*", esc(&field.name), esc(&field.value));
        }
        if self.include_event {
            let e = &alert.event;
            let venue = if e.venue.is_empty() { String::new() } else { format!("{} ", e.venue) };
            let line = format!("{venue}{} · {}", e.symbol, time_utc(e.exchange_time_ms));
            let _ = writeln!(body, "_{}_", esc(&line));
            if let Some(tx) = &e.tx_hash
                && alert.field("tx").is_none()
            {
                let _ = writeln!(body, "tx: `{}`", esc_code(tx));
            }
            let _ = writeln!(
                body,
                "`{}` · `{}`",
                esc_code(&alert.template),
                esc_code(&alert.alert_key)
            );
        }
        Message::new(title, body.trim_end(), Markup::MarkdownV2)
    }

    fn format_digest(&mut self, alerts: &[Alert]) -> Message {
        let title = format!(
            "{}{}",
            self.prefix,
            if alerts.len() == 1 { "1 alert".into() } else { format!("{} alerts", alerts.len()) }
        );
        let mut body = format!("*{}*\n", esc(&title));
        for alert in alerts.iter().take(self.max_digest_items) {
            let _ = writeln!(body, "{}{}", self.emoji(alert.severity), esc(&alert.title));
        }
        if alerts.len() > self.max_digest_items {
            let _ = writeln!(
                body,
                "_{}_",
                esc(&format!("… and {} more", alerts.len() - self.max_digest_items))
            );
        }
        Message::new(title, body.trim_end(), Markup::MarkdownV2)
    }
}

impl TelegramMarkdown {
    fn emoji(&self, severity: Severity) -> &'static str {
        if !self.severity_emoji {
            return "";
        }
        match severity {
            Severity::Critical => "🔴 ",
            Severity::Warning => "🟠 ",
            Severity::Info => "🔵 ",
        }
    }
}

export_formatter!(TelegramMarkdown);

#[cfg(test)]
mod tests {
    use klaxon_sdk::testing::{FormatterHarness, json};
    use klaxon_sdk::{EventKind, EventRecord, Pass};

    use super::*;

    fn alert(symbol: &str, title: &str, severity: Severity) -> Alert {
        let event = EventRecord::trade(symbol, 64_250.5, 19.2)
            .with_venue("binance-spot")
            .with_time(1_633_955_696_000);
        let pass =
            Pass::new(symbol, title).with_severity(severity).with_field("notional", "$1.23M");
        Alert::new("whales", pass, event)
    }

    #[test]
    fn formats_and_escapes_one_alert() {
        let f = FormatterHarness::<TelegramMarkdown>::configure("{}").unwrap();
        let m = f.format(&alert("BTCUSDT", "$1.23M buy on BTCUSDT", Severity::Warning));
        assert_eq!(m.title, "$1.23M buy on BTCUSDT");
        assert_eq!(m.markup, Markup::MarkdownV2);
        assert_eq!(
            m.body,
            "🟠 *$1\\.23M buy on BTCUSDT*\nnotional: *$1\\.23M*\n_binance\\-spot BTCUSDT · 2021\\-10\\-11 12:34:56 UTC_\n`whales` · `BTCUSDT`"
        );
    }

    #[test]
    fn every_special_character_is_escaped() {
        let f = FormatterHarness::<TelegramMarkdown>::configure_json(
            &json!({"include_event": false, "severity_emoji": false}),
        )
        .unwrap();
        let nasty = r"a_b*c[d]e(f)g~h`i>j#k+l-m=n|o{p}q.r!s\t";
        let m = f.format(&alert("X", nasty, Severity::Info));
        assert_eq!(
            m.body,
            r"*a\_b\*c\[d\]e\(f\)g\~h\`i\>j\#k\+l\-m\=n\|o\{p\}q\.r\!s\\t*
notional: *$1\.23M*"
        );
        assert_eq!(m.title, nasty, "the title stays plain text");
    }

    #[test]
    fn tx_and_keys_go_in_code_spans() {
        let f = FormatterHarness::<TelegramMarkdown>::configure("{}").unwrap();
        let event =
            EventRecord::new(EventKind::Swap, "PEPE/WETH").with_tx_hash("0xab`c").with_venue("eth");
        let pass = Pass::new("0xa:PEPE", "swap").with_severity(Severity::Critical);
        let m = f.format(&Alert::new("t_1", pass, event));
        assert!(
            m.body.starts_with("🔴 *swap*\n_eth PEPE/WETH · 1970\\-01\\-01 00:00:00 UTC_\n"),
            "{}",
            m.body
        );
        assert!(m.body.contains("tx: `0xab\\`c`"), "{}", m.body);
        assert!(m.body.ends_with("`t_1` · `0xa:PEPE`"), "{}", m.body);
    }

    #[test]
    fn digest_lists_and_counts() {
        let f = FormatterHarness::<TelegramMarkdown>::configure_json(
            &json!({"max_digest_items": 1, "title_prefix": "[prod]"}),
        )
        .unwrap();
        let alerts =
            [alert("A", "A +5%", Severity::Critical), alert("B", "B -1.5%", Severity::Info)];
        let m = f.format_digest(&alerts);
        assert_eq!(m.title, "[prod] 2 alerts");
        assert_eq!(m.body, "*\\[prod\\] 2 alerts*\n🔴 A \\+5%\n_… and 1 more_");
    }

    #[test]
    fn bad_params_name_the_field() {
        let err = |p| FormatterHarness::<TelegramMarkdown>::configure_json(&p).err().unwrap();
        assert_eq!(err(json!({"max_digest_items": 0})), "max_digest_items: must be at least 1");
        assert!(err(json!({"emoji": false})).starts_with("emoji: unknown field `emoji`"));
    }
}

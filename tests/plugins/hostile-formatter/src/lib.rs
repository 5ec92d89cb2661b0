//! Hostile on purpose: a formatter that renders the host's smoke alerts
//! (their event is priced 1) as a small plain message and, once an alert's
//! event is priced above `above_price` (default 10), answers a message body
//! of `size` bytes, for single alerts and digests alike (`huge-body`).

use klaxon_sdk::{Alert, Formatter, Message, export_formatter};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    HugeBody,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub mode: Mode,
    /// Bytes per message body.
    #[serde(default = "default_size")]
    pub size: usize,
    /// Behave for alerts on events priced at most this.
    #[serde(default = "default_above_price")]
    pub above_price: f64,
}

fn default_size() -> usize {
    1 << 20
}
fn default_above_price() -> f64 {
    10.0
}

pub struct HostileFormatter {
    p: Params,
}

impl HostileFormatter {
    fn render(&self, alerts: &[Alert], title: String) -> Message {
        let live = alerts.iter().any(|a| a.event.price > self.p.above_price);
        match (live, self.p.mode) {
            (false, _) => Message::plain(title.clone(), title),
            (true, Mode::HugeBody) => Message::plain(title, "B".repeat(self.p.size)),
        }
    }
}

impl Formatter for HostileFormatter {
    type Params = Params;

    fn new(p: Params) -> Result<Self, String> {
        Ok(HostileFormatter { p })
    }

    fn format(&mut self, alert: &Alert) -> Message {
        self.render(std::slice::from_ref(alert), alert.title.clone())
    }

    fn format_digest(&mut self, alerts: &[Alert]) -> Message {
        self.render(alerts, format!("{} alerts", alerts.len()))
    }
}

export_formatter!(HostileFormatter);

#[cfg(test)]
mod tests {
    use klaxon_sdk::testing::FormatterHarness;
    use klaxon_sdk::{EventRecord, Pass};

    use super::*;

    fn alert(price: f64) -> Alert {
        Alert::new("t", Pass::new("BTCUSDT", "title"), EventRecord::trade("BTCUSDT", price, 1.0))
    }

    #[test]
    fn small_for_the_smoke_run_huge_after() {
        let f =
            FormatterHarness::<HostileFormatter>::configure(r#"{"mode":"huge-body","size":900}"#)
                .unwrap();
        assert_eq!(f.format(&alert(1.0)).body, "title");
        assert_eq!(f.format_digest(&[alert(1.0), alert(1.0)]).body, "2 alerts");
        assert_eq!(f.format(&alert(100.0)).body.len(), 900);
        assert_eq!(f.format_digest(&[alert(1.0), alert(100.0)]).body.len(), 900);
    }
}

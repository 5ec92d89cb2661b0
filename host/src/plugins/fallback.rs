//! The failure policy of each plugin kind, declared once. When a rule is
//! quarantined, cannot be built, or its call fails, the pool answers with
//! these instead, so an alert is never lost to a broken plugin:
//!
//! * a filter fails closed (the event passes nothing for that template);
//! * a cooldown uses the template's default fixed window;
//! * a formatter uses the built-in plain format.

use std::fmt::Write;
use std::sync::Arc;

use crate::alert::{Alert, Decision, History, Markup, Message, Severity};

/// What a failed filter rule contributes: no passes.
pub fn fail_closed<T>() -> Vec<T> {
    Vec::new()
}

/// The template's default fixed cooldown window.
pub fn default_decision(
    history: &History,
    window_ms: u64,
    severity: Severity,
    now_ms: u64,
) -> Decision {
    match history.last_fired_ms {
        Some(last) if now_ms.saturating_sub(last) < window_ms => Decision::Suppress(format!(
            "default cooldown {}",
            humantime::format_duration(std::time::Duration::from_millis(window_ms))
        )),
        _ => Decision::Fire(severity),
    }
}

/// The built-in plain format: the title, then one `name: value` line per
/// field. Used without a formatter, and as every formatter's failure policy.
pub fn plain(alert: &Alert) -> Message {
    let mut body = alert.title.clone();
    for (name, value) in &alert.fields {
        let _ = write!(body, "\n{name}: {value}");
    }
    Message { title: alert.title.clone(), body, markup: Markup::Plain }
}

/// One plain message, or a plain digest of several alerts.
pub fn plain_digest(alerts: &[Arc<Alert>]) -> Message {
    match alerts {
        [one] => plain(one),
        many => {
            let lines: Vec<String> = many.iter().map(|a| plain(a).body).collect();
            Message {
                title: format!("{} alerts", many.len()),
                body: lines.join("\n"),
                markup: Markup::Plain,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::plugins::tests::{NOW, fired};

    #[test]
    fn the_default_decision_is_a_fixed_window() {
        let window = 30_000;
        let d = |h: &History, now| default_decision(h, window, Severity::Info, now);
        assert_eq!(
            default_decision(&History::default(), window, Severity::Critical, NOW),
            Decision::Fire(Severity::Critical)
        );
        assert_eq!(d(&fired(29_999), NOW), Decision::Suppress("default cooldown 30s".into()));
        assert_eq!(d(&fired(30_000), NOW), Decision::Fire(Severity::Info));
        // A clock behind the last fire (replays, skew) still suppresses.
        assert_eq!(d(&fired(0), NOW - 5), Decision::Suppress("default cooldown 30s".into()));
        assert_eq!(
            default_decision(&fired(0), 0, Severity::Info, NOW),
            Decision::Fire(Severity::Info),
            "a zero window never suppresses"
        );
    }
}

//! The stdout sink: one readable line per alert, for people watching a
//! terminal or `journalctl`.
//!
//! ```text
//! 2021-10-11T00:28:32.123Z CRITICAL [whale-trades] BTCUSDT Whale buy · notional=$1.20M price=61234.5
//! ```
//!
//! Invariant: exactly one line per alert. Line breaks inside a title or body
//! become ` · ` and other control characters (including terminal escape
//! sequences a plugin might emit) become spaces. The time is the event's
//! exchange time, so replays print the times the market saw.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use humantime_serde::re::humantime;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

use crate::alert::Delivery;
use crate::issue::ConfigIssue;
use crate::sinks::{MAX_BATCH, SinkError, SinkSummary, count, next_batch};

/// Print each alert as one line on standard output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutConfig {
    /// `arrival` (default): each line as soon as its alert arrives.
    /// `event`: every line held until the input ends, then written in
    /// (exchange time, event id, template) order, so a replay prints the
    /// same bytes whatever the worker count or speed (`klaxon replay`).
    #[serde(default)]
    pub order: LineOrder,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineOrder {
    #[default]
    Arrival,
    Event,
}

impl StdoutConfig {
    pub fn validate(&self, _path: &str) -> Vec<ConfigIssue> {
        Vec::new()
    }
}

pub(crate) async fn run(
    config: StdoutConfig,
    name: String,
    rx: mpsc::Receiver<Arc<Delivery>>,
) -> Result<SinkSummary, SinkError> {
    match config.order {
        LineOrder::Arrival => write_lines(&name, rx, tokio::io::stdout()).await,
        LineOrder::Event => write_sorted(&name, rx, tokio::io::stdout()).await,
    }
}

/// Hold every line (only the line: the delivery, and its share of the
/// pipeline's byte budget, is let go at once), then write them in event
/// order when the input ends.
async fn write_sorted<W: AsyncWrite + Unpin>(
    name: &str,
    mut rx: mpsc::Receiver<Arc<Delivery>>,
    out: W,
) -> Result<SinkSummary, SinkError> {
    let mut held: Vec<(u64, String, String, String)> = Vec::new();
    while let Some(delivery) = rx.recv().await {
        let alert = &delivery.alert;
        let (time, id) = (alert.event.exchange_time_ms, alert.event.id.clone());
        held.push((time, id, alert.template.as_str().to_owned(), format_line(&delivery)));
    }
    held.sort_unstable();
    let mut out = BufWriter::new(out);
    let written = async {
        for (.., line) in &held {
            out.write_all(line.as_bytes()).await?;
            out.write_all(b"\n").await?;
        }
        out.flush().await
    }
    .await;
    if let Err(source) = written {
        count(name, "failed", held.len());
        tracing::error!(sink = name, lost = held.len(), error = %source, "Stdout sink cannot write; lines not delivered.");
        return Ok(SinkSummary::default());
    }
    count(name, "delivered", held.len());
    Ok(SinkSummary { delivered: held.len() as u64 })
}

/// The sink's loop, over any writer so tests can capture the output.
async fn write_lines<W: AsyncWrite + Unpin>(
    name: &str,
    mut rx: mpsc::Receiver<Arc<Delivery>>,
    out: W,
) -> Result<SinkSummary, SinkError> {
    let mut out = BufWriter::new(out);
    let mut summary = SinkSummary::default();
    while let Some(batch) = next_batch(&mut rx, MAX_BATCH).await {
        // One flush per batch: a reader sees each alert as soon as the batch
        // it arrived in is written, and a burst costs one write.
        let written = async {
            for delivery in &batch {
                out.write_all(format_line(delivery).as_bytes()).await?;
                out.write_all(b"\n").await?;
            }
            out.flush().await
        }
        .await;
        if let Err(source) = written {
            // One failed write (a full pipe, a closed terminal) loses this
            // batch, not the rest of the run.
            count(name, "failed", batch.len());
            tracing::error!(sink = name, lost = batch.len(), error = %source, "Stdout sink cannot write; batch not delivered.");
            continue;
        }
        count(name, "delivered", batch.len());
        summary.delivered += batch.len() as u64;
    }
    Ok(summary)
}

/// Last millisecond that RFC 3339 (and humantime) can print: 9999-12-31.
const MAX_PRINTABLE_MS: u64 = 253_402_300_799_999;

/// The line printed for `delivery`, without the trailing newline:
/// `<exchange time> <SEVERITY> [<template>] <symbol> <title> · <body>`.
///
/// The title is the message's (the alert's own if the formatter left it
/// empty). The body is the message's, on one line; if it is empty, the
/// alert's fields as `name=value` pairs instead.
pub fn format_line(delivery: &Delivery) -> String {
    let alert = &delivery.alert;
    let ms = alert.event.exchange_time_ms.min(MAX_PRINTABLE_MS);
    let time = humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms));
    let severity = alert.severity.as_str().to_ascii_uppercase();
    let title = one_line(if delivery.message.title.trim().is_empty() {
        &alert.title
    } else {
        &delivery.message.title
    });
    let body = one_line(&delivery.message.body);
    // Formatters usually open the body with `[SEVERITY] title`; the line
    // already says both, so only the rest of the body is kept.
    let body = body.strip_prefix(&format!("[{severity}] ")).unwrap_or(&body);
    let detail = if body.is_empty() {
        let pairs: Vec<String> = alert.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        one_line(&format!("{title} {}", pairs.join(" ")))
    } else if body.starts_with(title.as_str()) {
        body.to_owned()
    } else {
        format!("{title} · {body}")
    };
    format!("{time} {severity} [{}] {}", one_line(alert.template.as_str()), detail.trim_end())
}

/// `s` on one line: each line break (and the indentation after it) becomes
/// ` · `, other control characters become spaces, ends are trimmed.
fn one_line(s: &str) -> String {
    let is_break = |c: char| {
        matches!(c, '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}')
    };
    let mut out = String::with_capacity(s.len());
    let mut after_break = false;
    for c in s.chars() {
        if is_break(c) {
            after_break = true;
            continue;
        }
        let c = if c.is_control() { ' ' } else { c };
        if after_break {
            if c.is_whitespace() {
                continue;
            }
            let kept = out.trim_end().len();
            out.truncate(kept);
            if !out.is_empty() {
                out.push_str(" · ");
            }
            after_break = false;
        }
        out.push(c);
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;
    use crate::sinks::tests::delivery;

    #[test]
    fn body_that_repeats_severity_and_title_is_not_printed_twice() {
        let d = delivery(0, "Whale buy", "[CRITICAL] Whale buy\nnotional: $1.20M");
        assert_eq!(
            format_line(&d),
            "2021-10-11T00:28:32.123Z CRITICAL [whale-trades] Whale buy · notional: $1.20M"
        );
    }

    #[test]
    fn formats_the_example_line() {
        let d = delivery(0, "Whale buy", "notional=$1.20M price=61234.5");
        assert_eq!(
            format_line(&d),
            "2021-10-11T00:28:32.123Z CRITICAL [whale-trades] Whale buy · notional=$1.20M price=61234.5"
        );
    }

    #[test]
    fn multi_line_bodies_become_one_line() {
        let d =
            delivery(0, "Whale\nbuy", "*Whale buy*\r\n\n  notional: $1.20M\n\tprice: 61234.5\n");
        let line = format_line(&d);
        assert_eq!(
            line,
            "2021-10-11T00:28:32.123Z CRITICAL [whale-trades] Whale · buy · *Whale buy* · notional: $1.20M · price: 61234.5"
        );
        assert!(!line.contains(['\n', '\r']));
    }

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        let d = delivery(0, "red \u{1b}[31malert", "a\u{7}b\u{2028}c");
        assert_eq!(
            format_line(&d),
            "2021-10-11T00:28:32.123Z CRITICAL [whale-trades] red  [31malert · a b · c"
        );
    }

    #[test]
    fn empty_body_falls_back_to_fields_and_empty_title_to_the_alert_title() {
        let mut d = delivery(0, "", "");
        let alert = Arc::make_mut(&mut d.alert);
        alert.severity = Severity::Warning;
        alert.title = "Whale sell".into();
        assert_eq!(
            format_line(&d),
            "2021-10-11T00:28:32.123Z WARNING [whale-trades] Whale sell notional=$1.20M price=61234.5"
        );
        Arc::make_mut(&mut d.alert).fields.clear();
        assert!(format_line(&d).ends_with("] Whale sell"));
    }

    #[tokio::test]
    async fn event_order_holds_lines_and_writes_them_sorted() {
        let (tx, rx) = mpsc::channel(8);
        for (ms, id) in [(30, "c"), (10, "b"), (10, "a"), (20, "z")] {
            let mut d = delivery(0, id, "");
            let event = Arc::make_mut(&mut Arc::make_mut(&mut d.alert).event);
            event.exchange_time_ms = ms;
            event.id = id.into();
            tx.send(Arc::new(d)).await.unwrap();
        }
        drop(tx);
        let mut out = Vec::new();
        let summary = write_sorted("test-sorted", rx, &mut out).await.unwrap();
        assert_eq!(summary.delivered, 4);
        let titles: Vec<&str> = std::str::from_utf8(&out)
            .unwrap()
            .lines()
            .map(|l| l.split("] ").nth(1).unwrap().split(' ').next().unwrap())
            .collect();
        assert_eq!(titles, ["a", "b", "z", "c"]);
    }

    #[test]
    fn times_past_year_9999_are_clamped_not_a_panic() {
        let mut d = delivery(0, "t", "b");
        Arc::make_mut(&mut d.alert).event = Arc::new({
            let mut e = (*d.alert.event).clone();
            e.exchange_time_ms = u64::MAX;
            e
        });
        assert!(format_line(&d).starts_with("9999-12-31T23:59:59.999Z "));
    }

    #[tokio::test]
    async fn writes_one_line_per_alert_and_ends_when_the_channel_closes() {
        let (tx, rx) = mpsc::channel(8);
        for n in 0..3 {
            tx.send(Arc::new(delivery(n, "Whale buy", "line one\nline two"))).await.unwrap();
        }
        drop(tx);
        let mut out = Vec::new();
        let summary = write_lines("console", rx, &mut out).await.unwrap();
        assert_eq!(summary.delivered, 3);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.lines().all(|l| l.ends_with("Whale buy · line one · line two")), "{text}");
    }
}

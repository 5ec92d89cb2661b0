//! Plugin logs. `host.log` is cut to `log_line_bytes`, its control
//! characters are escaped (so no newline from a plugin ever reaches the
//! host log), and lines beyond the budget per call (`log_lines_per_call`,
//! `log_bytes_per_call`) or per second are dropped and counted. None of
//! that is a failure: the template keeps running.

use std::collections::BTreeMap;

use crate::harness::{self, Case, Outcome, logs};

/// The contract's defaults.
const LOG_LINE_BYTES: usize = 1024;
const LOG_LINES_PER_CALL: usize = 20;
const LOG_BYTES_PER_CALL: usize = 8192;
/// What a cut line may carry beyond its limit (a marker saying it was cut).
const CUT_MARKER: usize = 64;
/// How `hostile-filter`'s forged line (`FORGED` there) begins: a host-like
/// timestamp no real line of this run has.
const FORGED_AT: &str = "1999-12-31T23:59:59.999999Z ERROR";

fn run(template: &str, params: &str) -> Outcome {
    let hostile = format!(
        r#"
[templates.{template}]
owner = "mallory"
filter = {{ plugin = "hostile-filter", params = {params} }}
channels = ["bad"]
limits = {{ call_timeout = "10s" }}
"#
    );
    let o = harness::run(&Case { hostile: &hostile, neighbours: "", rss_bound_mib: 64 });
    // Logging too much is not a failure.
    let t = [("template", template)];
    assert_eq!(o.delta("klaxon_plugin_traps_total", &t), 0, "{template}");
    assert_eq!(o.delta("klaxon_plugin_disabled_total", &t), 0, "{template}");
    o.assert_named(template);
    o
}

#[test]
fn log_floods_are_cut_and_capped_per_call() {
    // 200 lines of 8 KiB per call, each tagged `flood <first event id> <i>`.
    let o = run("hostile-log-flood", r#"{ mode = "log-flood", size = 8192, lines = 200 }"#);
    let mut calls: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for f in logs().fields_since(o.logs) {
        if f.get("template").and_then(|t| t.as_str()) != Some("hostile-log-flood") {
            continue;
        }
        let message = f.get("message").and_then(|m| m.as_str()).unwrap_or_default();
        if let Some(rest) = message.split_once("flood ").map(|(_, rest)| rest) {
            let tag = rest.split(' ').next().unwrap_or_default().to_owned();
            calls.entry(tag).or_default().push(message.len());
        }
    }
    assert!(!calls.is_empty(), "the flood reached the log at all");
    for (call, lines) in &calls {
        assert!(lines.len() <= LOG_LINES_PER_CALL, "call {call}: {} lines", lines.len());
        let longest = lines.iter().max().copied().unwrap_or(0);
        assert!(longest <= LOG_LINE_BYTES + CUT_MARKER, "call {call}: a line of {longest} bytes");
        let bytes: usize = lines.iter().sum();
        let budget = LOG_BYTES_PER_CALL + CUT_MARKER * lines.len();
        assert!(bytes <= budget, "call {call}: {bytes} bytes logged");
    }
    // Dropped lines are counted, in a metric that names the template.
    let dropped = o
        .after_samples()
        .filter(|s| s.name.contains("log") && s.label("template") == Some("hostile-log-flood"))
        .map(|s| s.name.clone())
        .collect::<std::collections::BTreeSet<_>>();
    let moved: u64 = dropped.iter().map(|m| o.delta(m, &[("template", "hostile-log-flood")])).sum();
    assert!(moved > 0, "no log metric counted the dropped lines ({dropped:?})");
}

#[test]
fn log_injection_cannot_forge_host_lines() {
    let o = run("hostile-log-inject", r#"{ mode = "log-inject" }"#);
    let text = logs().text_since(o.logs);
    assert!(
        !text.contains('\r') && !text.contains('\u{1b}'),
        "a raw control character reached the log"
    );
    let mut carried = 0;
    for line in text.lines() {
        assert!(!line.starts_with(FORGED_AT), "a forged line: {line}");
        if line.contains("FORGED") {
            // The forgery stayed inside the plugin's own, tagged line.
            assert!(line.contains("benign") && line.contains("hostile-log-inject"), "{line}");
            carried += 1;
        }
    }
    assert!(carried > 0, "the plugin's lines reached the log, escaped");
}

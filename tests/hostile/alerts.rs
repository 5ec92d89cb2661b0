//! Oversized alerts. A filter's pass is checked at the call point against
//! each alert limit, so an alert too big for the next stage never reaches
//! it: the stock `fixed` cooldown and `plain` formatter the hostile
//! template feeds (the same trusted instance the healthy template uses)
//! never see it, never fail, and are never disabled for anyone. And when a
//! template is quarantined on a version, the version keeps serving every
//! other template, on the very instance the bad one shared.

use crate::harness::{self, Case, EVENTS};

/// The hostile template: the stock cooldown and formatter after the
/// hostile filter, as in the issue's measurement (93 healthy alerts became
/// 17 once those stock versions were disabled for everyone).
fn template(params: &str) -> String {
    format!(
        r#"
[templates.hostile-alerts]
owner = "mallory"
filter = {{ plugin = "hostile-filter", params = {params} }}
cooldown = {{ plugin = "fixed", params = {{ window = "50ms" }} }}
formatter = {{ plugin = "plain" }}
channels = ["bad"]
"#
    )
}

/// Bound on peak RSS growth: a run of healthy templates stays well under
/// it, while the issue's unbounded host grew by hundreds of MB on alerts
/// like these (the first case passes 2,000 alerts of 128 KiB).
const RSS_MIB: u64 = 96;

/// Each alert limit breached on its own (the first case breaks several at
/// once: which one the host names first is its choice), with the
/// contract's default limits.
const OVERSIZED: [(&str, &[&str]); 5] = [
    (r#"{ mode = "huge-alert", size = 65536 }"#, &["title_bytes", "field_bytes", "alert_bytes"]),
    // 64 fields of ~10 bytes: only the count is over.
    (r#"{ mode = "huge-alert", size = 8, fields = 64, field_size = 8 }"#, &["field_count"]),
    // One field of 4 KiB: under the alert total, over the field size.
    (r#"{ mode = "huge-alert", size = 8, field_size = 4096 }"#, &["field_bytes"]),
    // Every part within its limit, ~9.4 KB in all.
    (r#"{ mode = "huge-alert", size = 400, fields = 10, field_size = 900 }"#, &["alert_bytes"]),
    // A new 4 KiB key per event (the alert total stays under 8 KiB).
    (r#"{ mode = "long-key", size = 4096, unique = true }"#, &["alert_key_bytes"]),
];

#[test]
fn oversized_alerts_never_reach_the_stock_cooldown_and_formatter() {
    for (params, limits) in OVERSIZED {
        let hostile = template(params);
        let o = harness::run(&Case { hostile: &hostile, neighbours: "", rss_bound_mib: RSS_MIB });
        o.assert_breached(("hostile-alerts", "hostile-filter", "filter"), limits, "limit");
        o.assert_quarantined("hostile-alerts", "hostile-filter");
        let t = [("template", "hostile-alerts")];
        assert_eq!(
            o.delta("klaxon_evaluations_failed_total", &t),
            EVENTS,
            "{params}: every alert was too big, so every evaluation failed closed"
        );
        assert!(o.bad_records().is_empty(), "{params}: an oversized alert was delivered");
        // The stock versions never saw the hostile alerts: no failure of
        // theirs, for any template, and nothing disabled.
        for plugin in ["fixed", "plain"] {
            let p = [("plugin", plugin)];
            assert_eq!(o.delta("klaxon_plugin_traps_total", &p), 0, "{params}: {plugin}");
            assert_eq!(o.delta("klaxon_plugin_disabled_total", &p), 0, "{params}: {plugin}");
        }
    }
}

/// A healthy template of the same owner on the same hostile-filter
/// version: one instance holds both rules.
const NEIGHBOUR: &str = r#"
[templates.neighbour]
owner = "mallory"
filter = { plugin = "hostile-filter", params = { mode = "pass" } }
default_cooldown = "50ms"
channels = ["out"]
limits = { call_timeout = "10s" }
"#;

#[test]
fn a_quarantined_template_leaves_its_version_serving_the_others() {
    let hostile = template(OVERSIZED[0].0);
    let o =
        harness::run(&Case { hostile: &hostile, neighbours: NEIGHBOUR, rss_bound_mib: RSS_MIB });
    o.assert_quarantined("hostile-alerts", "hostile-filter");
    // The harness compared the neighbour's deliveries with its run alone;
    // here, that there were some, and that the version stayed its own.
    let neighbour = o.sandbox.records("out").into_iter().filter(|r| r.template == "neighbour");
    assert!(neighbour.count() > 10, "the neighbour kept alerting on the version");
    let t = [("template", "neighbour"), ("plugin", "hostile-filter")];
    assert_eq!(o.delta("klaxon_plugin_disabled_total", &t), 0);
    assert_eq!(o.delta("klaxon_evaluations_failed_total", &[t[0]]), 0);
}

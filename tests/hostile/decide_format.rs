//! What cooldowns and formatters hand back: suppress reasons and messages.
//!
//! * A reason over `suppress_reason_bytes` is a breach: the template's
//!   default cooldown decides instead. A reason within the limit but new
//!   for every alert is legal, and must cost nothing: run statistics and
//!   metrics keep bounded codes (`policy`, `default_cooldown`), never the
//!   plugin's words, which go only to the alert log.
//! * A message over `message_bytes` is a breach: the built-in plain format
//!   is delivered instead, so no alert is lost and none is huge. Digests
//!   too (`digest = true`; a digest's input is bounded by `digest_bytes`).

use std::collections::BTreeMap;

use crate::harness::{self, Case, HEALTHY};

/// Bound on peak RSS growth. The issue measured 4.3 GB for distinct 1 MiB
/// reasons and 2.6 GB for 10 MB bodies; these runs hand the host a hundred
/// or so 256 KiB ones (more would overrun the hostile instance's own 16 MiB
/// in one call). What catches kept reasons for sure is the check on the
/// run statistics' keys, whatever their size.
const RSS_MIB: u64 = 64;

/// The hostile cooldown behind the healthy template's filter. Its
/// `default_cooldown` is the healthy template's policy window, so the
/// fallback decides exactly as the healthy template's stock `fixed` does.
fn reasons(params: &str) -> String {
    format!(
        r#"
[templates.hostile-reasons]
owner = "mallory"
filter = {{ plugin = "amount-threshold", params = {{ min_notional_usd = 100000 }} }}
cooldown = {{ plugin = "hostile-cooldown", params = {params} }}
default_cooldown = "50ms"
channels = ["bad"]
"#
    )
}

/// Run statistics keep bounded codes: few, short, and none of the
/// plugin's words.
fn assert_bounded_codes(suppressed: &BTreeMap<String, u64>) {
    assert!(suppressed.len() <= 4, "suppression codes: {:?}", suppressed.keys());
    for code in suppressed.keys() {
        let code_like =
            code.len() <= 32 && code.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        assert!(code_like, "suppression key {:?}", &code[..code.len().min(80)]);
    }
}

#[test]
fn huge_suppress_reasons_fall_back_to_the_default_cooldown() {
    let hostile = reasons(r#"{ mode = "huge-reason", size = 262144 }"#);
    let o = harness::run(&Case { hostile: &hostile, neighbours: "", rss_bound_mib: RSS_MIB });
    let who = ("hostile-reasons", "hostile-cooldown", "cooldown");
    o.assert_breached(who, &["suppress_reason_bytes"], "limit");
    o.assert_quarantined("hostile-reasons", "hostile-cooldown");
    assert_bounded_codes(&o.stats.suppressed);
    // Every decision of the hostile policy failed, so the default cooldown
    // made them all: the same alerts (by key and event) as the healthy
    // template's `fixed` with the same window and the same filter.
    // Sorted: two workers write to a sink in no fixed order.
    let fired = |template: &str| -> Vec<(String, String)> {
        let records = o.sandbox.records(if template == "healthy" { "out" } else { "bad" });
        let mut fired: Vec<_> = records
            .into_iter()
            .filter(|r| r.template == template)
            .map(|r| (r.key, r.event.id))
            .collect();
        fired.sort();
        fired
    };
    assert_eq!(fired("hostile-reasons"), fired("healthy"));
    assert!(HEALTHY.contains(r#"window = "50ms""#), "the windows above must agree");
}

#[test]
fn unique_suppress_reasons_keep_statistics_and_metrics_bounded() {
    let hostile = reasons(r#"{ mode = "unique-reason" }"#);
    let o = harness::run(&Case { hostile: &hostile, neighbours: "", rss_bound_mib: RSS_MIB });
    // Legal answers: no breach, no failure, the policy decides.
    let t = [("template", "hostile-reasons")];
    assert_eq!(o.delta("klaxon_plugin_traps_total", &t), 0);
    assert!(o.bad_records().is_empty(), "the policy suppresses every live alert");
    let suppressed = o.delta("klaxon_alerts_total", &[t[0], ("outcome", "suppressed")]);
    assert!(suppressed > 10, "{suppressed} suppressed");
    assert_bounded_codes(&o.stats.suppressed);
    let series = o.delta_series("klaxon_alerts_suppressed_total", "hostile-reasons");
    assert!(series <= 2, "{series} suppression series for one template");
}

/// A huge body for single alerts, and for digests of every live event.
const FORMATTERS: &str = r#"
[templates.hostile-format]
owner = "mallory"
filter = { plugin = "amount-threshold", params = { min_notional_usd = 100000 } }
default_cooldown = "50ms"
formatter = { plugin = "hostile-formatter", params = { mode = "huge-body", size = 262144 } }
channels = ["bad"]

[templates.hostile-digest]
owner = "mallory"
filter = { plugin = "hostile-filter", params = { mode = "pass" } }
default_cooldown = "0s"
formatter = { plugin = "hostile-formatter", params = { mode = "huge-body", size = 262144 } }
digest = true
channels = ["bad"]
limits = { digest_bytes = 4096, call_timeout = "10s" }
"#;

#[test]
fn huge_bodies_and_digests_fall_back_to_the_plain_format() {
    let o = harness::run(&Case { hostile: FORMATTERS, neighbours: "", rss_bound_mib: RSS_MIB });
    // Single alerts' bodies break `message_bytes`; whether a run's alerts
    // come as one digest depends on how the worker batched them, so
    // `digest_bytes` may or may not be the limit named for the digests.
    for (template, limits) in [
        ("hostile-format", &["message_bytes"][..]),
        ("hostile-digest", &["message_bytes", "digest_bytes"][..]),
    ] {
        o.assert_breached((template, "hostile-formatter", "formatter"), limits, "limit");
        o.assert_quarantined(template, "hostile-formatter");
    }
    // The fallback delivers every alert (the harness checked each is
    // within the limits).
    let fired =
        o.delta("klaxon_alerts_total", &[("template", "hostile-format"), ("outcome", "fired")]);
    let delivered = o.bad_records().iter().filter(|r| r.template == "hostile-format").count();
    assert_eq!(delivered as u64, fired, "no alert lost to the broken formatter");
    assert!(fired > 10);
}

//! KV floods. Every write is checked against the template's KV limits
//! (`kv_key_bytes`, `kv_value_bytes`, `kv_keys`, `kv_bytes`); one over any
//! of them is a breach, so the call fails, its writes are discarded, and
//! the template is quarantined. The issue measured +1.0 GB for 64 KiB
//! values and +450 MB for 1 MiB keys, and a refusal warning that repeated
//! the plugin's key wrote 237 MB of log; here the host stays within a
//! stated RSS bound and logs a bounded amount (`assert_breached`).

use crate::harness::{self, Case};

/// Bound on peak RSS growth. Stored unbounded, the first two cases would
/// keep ~96 MB of keys or values (2,000 events of 48 KiB each).
const RSS_MIB: u64 = 64;

/// (params, template limits, the limit named). The last two stay within
/// the per-write limits and exhaust the template's quota, which the test
/// lowers so that 2,000 events reach it.
const FLOODS: [(&str, &str, &str); 4] = [
    (r#"{ mode = "kv-size", size = 49152 }"#, "", "kv_value_bytes"),
    (r#"{ mode = "kv-size", size = 8, key_size = 49152 }"#, "", "kv_key_bytes"),
    (r#"{ mode = "kv-count", size = 8 }"#, "limits = { kv_keys = 100 }", "kv_keys"),
    (r#"{ mode = "kv-count", size = 12288 }"#, "limits = { kv_bytes = 1048576 }", "kv_bytes"),
];

#[test]
fn kv_floods_by_size_and_by_count_are_refused_at_the_limits() {
    for (params, limits, limit) in FLOODS {
        let hostile = format!(
            r#"
[templates.hostile-kv]
owner = "mallory"
filter = {{ plugin = "hostile-filter", params = {params} }}
channels = ["bad"]
{limits}
"#
        );
        let o = harness::run(&Case { hostile: &hostile, neighbours: "", rss_bound_mib: RSS_MIB });
        o.assert_breached(("hostile-kv", "hostile-filter", "filter"), &[limit], "limit");
        o.assert_quarantined("hostile-kv", "hostile-filter");
    }
}

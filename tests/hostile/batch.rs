//! Bad batch answers. `evaluate-batch` must answer strictly ascending
//! (rule, row) pairs, only rows the rule was given, so at most one pass per
//! input row. An answer with 20,000 copies of one row (13x the CPU in the
//! issue) or with rows it was never given is refused whole, before any pass
//! is converted: more passes than rows given is a breach of `batch_rows`
//! (out of order or out of range is a guest error), the rule is retried row by row on the single-event
//! path, and the template is quarantined: it stops costing anything.

use crate::harness::{self, Case};

const ANSWERS: [&str; 2] =
    [r#"{ mode = "dup-rows", size = 20000 }"#, r#"{ mode = "excess-rows", size = 64 }"#];

#[test]
fn duplicate_and_excess_batch_rows_are_refused() {
    for params in ANSWERS {
        let hostile = format!(
            r#"
[templates.hostile-rows]
owner = "mallory"
filter = {{ plugin = "hostile-filter", params = {params} }}
channels = ["bad"]
"#
        );
        let o = harness::run(&Case { hostile: &hostile, neighbours: "", rss_bound_mib: 64 });
        let who = ("hostile-rows", "hostile-filter", "filter");
        o.assert_breached(who, &["batch_rows"], "limit");
        o.assert_quarantined("hostile-rows", "hostile-filter");
        assert!(o.bad_records().is_empty(), "{params}: a pass from a refused answer leaked");
    }
}

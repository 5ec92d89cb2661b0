//! A `create` that behaves in the smoke run and loops forever once it runs
//! on a live worker (see `hostile-filter`'s `configure-loop-later` for the
//! signal it uses). Every rebuild of the rule burns the time budget on a
//! shared worker, so building counts as the rule's call: each timeout is
//! charged to the template, which is quarantined at the threshold and not
//! built again. A bounded number of failures, then nothing.

use crate::harness::{self, Case, EVENTS};

const LOOPING: &str = r#"
[templates.hostile-configure]
owner = "mallory"
filter = { plugin = "hostile-filter", params = { mode = "configure-loop-later" } }
channels = ["bad"]
limits = { call_timeout = "200ms" }
"#;

#[test]
fn a_configure_that_loops_after_going_live_is_quarantined() {
    let o = harness::run(&Case { hostile: LOOPING, neighbours: "", rss_bound_mib: 64 });
    o.assert_quarantined("hostile-configure", "hostile-filter");
    // The rule was never built on a worker: every evaluation failed closed.
    let t = [("template", "hostile-configure")];
    assert_eq!(o.delta("klaxon_evaluations_failed_total", &t), EVENTS);
    assert!(o.bad_records().is_empty());
}

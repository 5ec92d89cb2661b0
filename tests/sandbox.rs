//! The sandbox, end to end in one process: what a misbehaving plugin can and
//! cannot do to a running Klaxon.
//!
//! * A plugin that loops forever, one that allocates forever and one that
//!   panics all go live (they behave for the smoke run's price 1 and
//!   misbehave above price 10), then fail on every live event. Each failure
//!   is contained with its own error text (time budget, memory limit, trap),
//!   every one of their evaluations fails closed, each template is
//!   quarantined on its version after `pipeline.disable_after_traps`
//!   failures (counted in `klaxon_plugin_traps_total` /
//!   `klaxon_plugin_disabled_total`, per template), a panic's own message
//!   reaches the log, and a
//!   healthy template in the same run fires exactly the alerts it fires alone.
//! * A component of the wrong world and one that imports WASI files never
//!   load: `klaxon check` rejects the config whole, naming the template
//!   field, the plugin, its version and the reason. (At startup such
//!   templates are disabled alone: `tests/rejected_uploads.rs`.)
//! * The same misbehaving plugins with `above_price = 0` fail the smoke run,
//!   so they never go live either; the issue names the budget or limit.
//!
//! No assertion depends on wall-clock time: budgets only decide which error
//! a call ends with, and the synthetic market runs in event time.

mod support;

use std::collections::BTreeMap;

use klaxon::app::{self, AppError, Runtime};
use klaxon::config::ConfigError;
use klaxon::issue::ConfigIssue;
use klaxon::market::MarketState;
use klaxon::pipeline::StatsSnapshot;
use klaxon::telemetry::metrics;
use support::sandbox::{DISABLE_AFTER, EVENTS, Sandbox, WORKERS, field, logs, stock_version};

/// The good template: stock `amount-threshold` with a threshold ordinary
/// flow often crosses, and no cooldown, so it fires on every pass. Its
/// budget is generous so that a stall of this (shared) machine can never
/// make a healthy call time out.
const GOOD: &str = r#"
[templates.good]
filter = { plugin = "amount-threshold", params = { min_notional_usd = 100000 } }
default_cooldown = "0s"
channels = ["out"]
limits = { call_timeout = "10s" }
"#;

/// The three plugins that go live and then misbehave on every event.
/// `looping`'s budget is small, but not so small that its healthy smoke run
/// could exceed it on a loaded machine; the others get a budget no healthy
/// call comes near, so only the memory limit (or the trap) can stop them.
const MISBEHAVING: &str = r#"
[templates.sandbox-looping]
filter = { plugin = "loop-forever" }
limits = { call_timeout = "200ms" }

[templates.sandbox-hoarding]
filter = { plugin = "alloc-forever" }
limits = { memory_mib = 8, call_timeout = "10s" }

[templates.sandbox-panicking]
filter = { plugin = "trap" }
limits = { call_timeout = "10s" }
"#;

/// Ids of the alerts sink `out` wrote, sorted.
fn alert_ids(sandbox: &Sandbox) -> Vec<String> {
    let mut ids: Vec<String> = sandbox
        .records("out")
        .into_iter()
        .inspect(|r| assert_eq!(r.template, "good", "only the good template has a channel"))
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids
}

/// The `fields` of every captured log line with this message.
fn logged(message: &str) -> Vec<support::sandbox::Fields> {
    logs().logged(message)
}

// ---------------------------------------------------------------------------
// Metrics (process-wide; each plugin below goes live in one test only).

/// The reason label each misbehaving plugin's failures carry.
fn reason_of(plugin: &str) -> &'static str {
    match plugin {
        "loop-forever" => "timeout",
        "alloc-forever" => "out_of_memory",
        _ => "trap",
    }
}

fn traps_total(template: &str, plugin: &str, version: &str) -> u64 {
    let labels = [template, plugin, version, "filter", reason_of(plugin)];
    metrics().plugin_traps.with_label_values(&labels).get()
}

fn disabled_total(template: &str, plugin: &str, version: &str) -> u64 {
    metrics().plugin_disabled.with_label_values(&[template, plugin, version]).get()
}

fn failed_closed(template: &str, plugin: &str) -> u64 {
    metrics().evaluations_failed.with_label_values(&[template, plugin]).get()
}

fn rejected_total(plugin: &str, reason: &str) -> u64 {
    metrics().plugin_rejected.with_label_values(&[plugin, reason]).get()
}

async fn run(sandbox: &Sandbox, templates: &str) -> Result<StatsSnapshot, AppError> {
    sandbox.run(templates).await
}

/// What `klaxon check` does after loading the config: plan every template
/// (load, configure, smoke-run), all or nothing.
async fn check(sandbox: &Sandbox, templates: &str) -> Result<StatsSnapshot, AppError> {
    let config = sandbox.config(templates);
    let (market, _) = MarketState::new(&config.raw().market);
    let rt = Runtime::new(&config, &market).expect("runtime");
    app::first_plan(&config, &rt).await.map(|_| StatsSnapshot::default())
}

fn issues_of(result: Result<StatsSnapshot, AppError>) -> Vec<ConfigIssue> {
    match result {
        Err(AppError::Config(ConfigError::Invalid { origin, issues })) => {
            assert_eq!(origin, "sandbox.toml");
            issues
        }
        other => panic!("expected the config to be rejected, got {other:?}"),
    }
}

/// The one issue at `path`.
fn issue<'a>(issues: &'a [ConfigIssue], path: &str) -> &'a str {
    let found: Vec<&ConfigIssue> = issues.iter().filter(|i| i.path == path).collect();
    assert_eq!(found.len(), 1, "one issue at `{path}` in {issues:#?}");
    &found[0].message
}

/// Nothing ran: no alert was delivered and the alert log was never opened.
fn assert_nothing_ran(sandbox: &Sandbox) {
    assert!(!sandbox.path("out.ndjson").exists(), "a sink ran");
    assert!(!sandbox.path("alerts.db").exists(), "the alert log was opened");
}

const WASM_TRAP: &str = "wasm trap: wasm `unreachable` instruction executed";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_plugins_are_contained_while_the_other_templates_keep_alerting() {
    logs();
    let bad = ["loop-forever", "alloc-forever", "trap"];
    let shared = Sandbox::new(&bad);
    let versions: BTreeMap<&str, String> = bad.iter().map(|p| (*p, shared.version(p))).collect();
    let template_of = |plugin: &str| match plugin {
        "loop-forever" => "sandbox-looping",
        "alloc-forever" => "sandbox-hoarding",
        _ => "sandbox-panicking",
    };
    let before: BTreeMap<&str, (u64, u64)> = bad
        .iter()
        .map(|p| {
            let t = template_of(p);
            (*p, (traps_total(t, p, &versions[p]), disabled_total(t, p, &versions[p])))
        })
        .collect();

    // The good template alone: the reference.
    let alone = Sandbox::new(&[]);
    let stats = run(&alone, GOOD).await.expect("good template alone");
    assert_eq!((stats.events_in, stats.evaluations, stats.evaluations_failed), (EVENTS, EVENTS, 0));
    let reference = alert_ids(&alone);
    assert!(
        reference.len() > 10 && (reference.len() as u64) < EVENTS / 2,
        "threshold passes some events, not most: {}",
        reference.len()
    );
    assert_eq!(stats.fired, reference.len() as u64);

    // The same market with the three misbehaving templates beside it.
    let stats = run(&shared, &format!("{GOOD}{MISBEHAVING}"))
        .await
        .expect("a misbehaving plugin must not stop the run");
    assert_eq!(
        (stats.events_in, stats.events_evaluated, stats.events_unrouted),
        (EVENTS, EVENTS, 0)
    );
    assert_eq!(stats.evaluations, 4 * EVENTS, "every event reached every template");
    assert_eq!(
        stats.evaluations_failed,
        3 * EVENTS,
        "every evaluation of a misbehaving plugin failed closed, and no other"
    );
    assert_eq!(
        alert_ids(&shared),
        reference,
        "the good template fires exactly what it fires alone"
    );
    assert_eq!(stats.fired, reference.len() as u64, "only the good template fired");

    for (template, plugin) in [
        ("sandbox-looping", "loop-forever"),
        ("sandbox-hoarding", "alloc-forever"),
        ("sandbox-panicking", "trap"),
    ] {
        assert_eq!(
            failed_closed(template, plugin),
            EVENTS,
            "{template}: every evaluation failed closed"
        );
        // Quarantined at the threshold; a call already in flight on the
        // other worker may still fail once more.
        let traps = traps_total(template, plugin, &versions[plugin]) - before[plugin].0;
        assert!(
            (DISABLE_AFTER..DISABLE_AFTER + WORKERS).contains(&traps),
            "{plugin}: {traps} failures"
        );
        assert_eq!(
            disabled_total(template, plugin, &versions[plugin]) - before[plugin].1,
            1,
            "{template}: quarantined once"
        );
    }
    assert_eq!(failed_closed("good", "amount-threshold"), 0);

    // What each failure said, as logged by the trap ledger.
    let trapped = logged(
        "Plugin call failed; its failure policy applies (and a poisoned instance is rebuilt).",
    );
    let by_template = |template: &str| -> Vec<&serde_json::Map<String, serde_json::Value>> {
        trapped.iter().filter(|f| field(f, "template") == template).collect()
    };
    for (template, plugin) in [
        ("sandbox-looping", "loop-forever"),
        ("sandbox-hoarding", "alloc-forever"),
        ("sandbox-panicking", "trap"),
    ] {
        let lines = by_template(template);
        assert!(lines.len() as u64 >= DISABLE_AFTER, "{template}: {} trap lines", lines.len());
        for f in &lines {
            assert_eq!(field(f, "plugin"), format!("`{plugin}` {}", versions[plugin]));
            assert_eq!(field(f, "kind"), "filter");
            let trap = field(f, "error");
            match plugin {
                "loop-forever" => assert_eq!(trap, "exceeded its 200ms time budget"),
                "alloc-forever" => assert_eq!(trap, "exceeded its memory limit of 8388608 bytes"),
                // The guest's panic message comes first, then wasmtime's.
                _ => assert!(
                    trap.starts_with("trapped: panicked: trap plugin: price ")
                        && trap.contains(WASM_TRAP),
                    "{trap}"
                ),
            }
        }
        let disabled: Vec<_> = logged("Template quarantined on this plugin version after repeated failures; its failure policy applies until a new version or new params are deployed. Other templates on the version are unaffected.")
            .into_iter()
            .filter(|f| field(f, "plugin") == format!("`{plugin}` {}", versions[plugin]))
            .collect();
        assert_eq!(disabled.len(), 1, "{plugin}: reported quarantined once");
        assert_eq!(field(&disabled[0], "template"), template);
        assert_eq!(disabled[0].get("failures").and_then(|t| t.as_u64()), Some(DISABLE_AFTER));
    }
    assert!(by_template("good").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_world_or_wasi_imports_are_rejected_at_load_and_nothing_runs() {
    let sandbox = Sandbox::new(&["wasi-fs"]);
    let wrong_world = "\n[templates.formatter-as-filter]\nfilter = { plugin = \"plain\" }\n";
    let wasi = "\n[templates.reads-files]\nfilter = { plugin = \"wasi-fs\" }\n";
    let plain_expected = format!(
        "plugin `plain` {} (builtin): not a `klaxon:plugin/filter@0.2.0` component: no exported instance named `klaxon:plugin/filter-rules@0.2.0`",
        stock_version("plain")
    );
    let wasi_prefix = format!(
        "plugin `wasi-fs` {} ({}): wrong imports: imports `wasi:",
        sandbox.version("wasi-fs"),
        sandbox.path("plugins/wasi-fs.wasm").display()
    );
    let assert_wasi = |message: &str| {
        assert!(message.starts_with(&wasi_prefix), "{message}");
        assert!(message.contains("`wasi:filesystem/types@0.2."), "{message}");
        assert!(message.contains("`wasi:filesystem/preopens@0.2."), "{message}");
        assert!(
            message.contains(
                "which this host does not provide (it links only `klaxon:plugin`, no WASI)"
            ),
            "{message}"
        );
    };
    let (plain_before, wasi_before) =
        (rejected_total("plain", "wrong_world"), rejected_total("wasi-fs", "imports"));

    // Each alone, through `first_plan` (what `klaxon check` and reloads use).
    for (templates, path) in [
        (wrong_world, "templates.formatter-as-filter.filter.plugin"),
        (wasi, "templates.reads-files.filter.plugin"),
    ] {
        let config = sandbox.config(templates);
        let (market, _) = MarketState::new(&config.raw().market);
        let rt = Runtime::new(&config, &market).expect("runtime");
        let result = app::first_plan(&config, &rt).await.map(|_| StatsSnapshot::default());
        let issues = issues_of(result);
        assert_eq!(issues.len(), 1, "{issues:#?}");
        if path.contains("formatter-as-filter") {
            assert_eq!(issue(&issues, path), plain_expected);
        } else {
            assert_wasi(issue(&issues, path));
        }
    }

    // Beside a good template, through `check`: rejected whole, nothing runs.
    let result = check(&sandbox, &format!("{GOOD}{wrong_world}{wasi}")).await;
    let display = match &result {
        Err(e) => e.to_string(),
        Ok(_) => String::new(),
    };
    let issues = issues_of(result);
    assert_eq!(issues.len(), 2, "only the two bad templates have issues: {issues:#?}");
    assert_eq!(issue(&issues, "templates.formatter-as-filter.filter.plugin"), plain_expected);
    assert_wasi(issue(&issues, "templates.reads-files.filter.plugin"));
    assert!(display.starts_with("sandbox.toml: 2 problem(s):\n  templates."), "{display}");
    assert!(
        display
            .contains(&format!("  templates.formatter-as-filter.filter.plugin: {plain_expected}")),
        "{display}"
    );
    assert_nothing_ran(&sandbox);

    assert!(rejected_total("plain", "wrong_world") > plain_before);
    assert!(rejected_total("wasi-fs", "imports") > wasi_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_that_misbehave_in_the_smoke_run_never_go_live() {
    let sandbox = Sandbox::new(&["loop-forever", "alloc-forever", "trap"]);
    let templates = r#"
[templates.smoke-looping]
filter = { plugin = "loop-forever", params = { above_price = 0 } }
limits = { call_timeout = "200ms" }

[templates.smoke-hoarding]
filter = { plugin = "alloc-forever", params = { above_price = 0 } }
limits = { memory_mib = 8, call_timeout = "10s" }

[templates.smoke-panicking]
filter = { plugin = "trap", params = { above_price = 0 } }
limits = { call_timeout = "10s" }

[templates.smoke-typo]
filter = { plugin = "amount-threshold", params = { min_notinal_usd = 100000 } }
limits = { call_timeout = "10s" }
"#;
    let smoke_before = rejected_total("loop-forever", "smoke");
    let issues = issues_of(check(&sandbox, &format!("{GOOD}{templates}")).await);
    assert_eq!(issues.len(), 4, "{issues:#?}");
    assert_eq!(
        issue(&issues, "templates.smoke-looping.filter.plugin"),
        format!(
            "plugin `loop-forever` {}: smoke test failed: exceeded its 200ms time budget",
            sandbox.version("loop-forever")
        )
    );
    assert_eq!(
        issue(&issues, "templates.smoke-hoarding.filter.plugin"),
        format!(
            "plugin `alloc-forever` {}: smoke test failed: exceeded its memory limit of 8388608 bytes",
            sandbox.version("alloc-forever")
        )
    );
    let trapped = issue(&issues, "templates.smoke-panicking.filter.plugin");
    let prefix = format!(
        "plugin `trap` {}: smoke test failed: trapped: panicked: trap plugin: price 1 > 0",
        sandbox.version("trap")
    );
    assert!(trapped.starts_with(&prefix) && trapped.contains(WASM_TRAP), "{trapped}");
    // A configure error points at the params, not the plugin.
    let typo = issue(&issues, "templates.smoke-typo.filter.params");
    assert!(
        typo.starts_with(&format!("plugin `amount-threshold` {}: configure rejected params: min_notinal_usd: unknown field `min_notinal_usd`", stock_version("amount-threshold"))),
        "{typo}"
    );
    assert_nothing_ran(&sandbox);
    assert!(rejected_total("loop-forever", "smoke") > smoke_before);
}

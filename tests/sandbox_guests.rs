//! `tests/sandbox.rs` for plugins written in Python and JavaScript: what a
//! misbehaving guest of either toolchain can and cannot do to a running
//! Klaxon. The plugins (`tests/plugins/guests/{py,js}-misbehave`, `-wasi`) are
//! built as an author builds them (see `support::guests`).
//!
//! * One plugin per language loops forever, allocates forever or raises
//!   (throws), per template (`mode`), on every live event priced above 10.
//!   Beside the healthy stock template, each failure is contained with its
//!   own error (time budget, memory limit, trap), every evaluation of the
//!   three fails closed, each template is quarantined once, and the
//!   healthy template fires exactly what it fires alone. The exception's
//!   type, message and the guest's traceback (Python) or stack (JS) reach
//!   the log and the error.
//! * The same modes with `above_price = 0` fail the smoke run; the filter
//!   used as a cooldown policy is of the wrong world; the `-wasi` plugin,
//!   built without stubbing WASI, imports it. `klaxon check` rejects the
//!   config whole, naming each template field, plugin, version and reason;
//!   a run disables those templates alone and the healthy one alerts as
//!   ever.
//!
//! Without componentize-py / componentize-js the tests skip with the reason
//! (unless `KLAXON_REQUIRE_TOOLCHAINS=1`). No assertion depends on
//! wall-clock time: budgets only decide which error a call ends with.

mod support;

use std::path::PathBuf;

use klaxon::app::{self, AppError, Runtime};
use klaxon::config::ConfigError;
use klaxon::issue::ConfigIssue;
use klaxon::market::MarketState;
use klaxon::telemetry::metrics;
use support::guests::{self, Lang};
use support::sandbox::{DISABLE_AFTER, EVENTS, Sandbox, WORKERS, field, logs};

/// As in `tests/sandbox.rs`: stock `amount-threshold`, firing on every
/// pass. (Compiling an 18 MiB Python component can outlast the 60 s
/// default on a loaded machine; what is tested here is what runs after.)
const GOOD: &str = r#"
[limits]
compile_timeout = "10m"

[templates.good]
filter = { plugin = "amount-threshold", params = { min_notional_usd = 100000 } }
default_cooldown = "0s"
channels = ["out"]
limits = { call_timeout = "10s" }
"#;

/// Both interpreters need more than the default 16 MiB to be safe, and the
/// looping budget leaves a healthy smoke run (instantiation included) room
/// on a loaded machine.
const LOOP_BUDGET: &str = "500ms";
const MEMORY_MIB: u64 = 64;

/// (template suffix, mode) of the three misbehaviours.
fn modes(lang: Lang) -> [(&'static str, &'static str); 3] {
    let raise = if lang == Lang::Python { "raise" } else { "throw" };
    [("looping", "loop"), ("hoarding", "alloc"), ("raising", raise)]
}

/// The three templates on `<prefix>-misbehave`; `above_price` 10 lets the
/// smoke run pass, 0 does not.
fn misbehaving(lang: Lang, stage: &str, above_price: u32) -> String {
    let p = lang.prefix();
    modes(lang)
        .iter()
        .map(|(suffix, mode)| {
            let timeout = if *mode == "loop" { LOOP_BUDGET } else { "10s" };
            format!(
                "\n[templates.{p}-{stage}-{suffix}]\n\
                 filter = {{ plugin = \"{p}-misbehave\", params = {{ mode = \"{mode}\", above_price = {above_price} }} }}\n\
                 limits = {{ call_timeout = \"{timeout}\", memory_mib = {MEMORY_MIB} }}\n"
            )
        })
        .collect()
}

/// What each misbehaviour's call fails with, `above` the price it failed on.
fn assert_error(lang: Lang, mode: &str, above: &str, error: &str) {
    let p = lang.prefix();
    match mode {
        "loop" => assert_eq!(error, format!("exceeded its {LOOP_BUDGET} time budget")),
        "alloc" => {
            assert_eq!(error, format!("exceeded its memory limit of {} bytes", MEMORY_MIB << 20))
        }
        // The guest's exception, its type and message first, then its own
        // stack, then wasmtime's account of the trap.
        _ => {
            let (kind, stack) = match lang {
                Lang::Python => ("RuntimeError", "\nTraceback (most recent call last):\n"),
                Lang::Js => ("Error", "fail@"),
            };
            let head = format!("trapped: panicked: {kind}: {p}-misbehave: price ");
            assert!(error.starts_with(&head), "{error}");
            assert!(error.contains(&format!(" > {above}\n")), "{error}");
            assert!(error.contains(stack), "no guest stack in: {error}");
            // The frame that raised, by the guest's own function name.
            let frame = if lang == Lang::Python { ", in fail" } else { "fail@" };
            assert!(error.contains(frame), "no `fail` frame in: {error}");
            assert!(error.contains("wasm trap: "), "{error}");
        }
    }
}

fn traps_total(template: &str, plugin: &str, version: &str, reason: &str) -> u64 {
    metrics().plugin_traps.with_label_values(&[template, plugin, version, "filter", reason]).get()
}

fn disabled_total(template: &str, plugin: &str, version: &str) -> u64 {
    metrics().plugin_disabled.with_label_values(&[template, plugin, version]).get()
}

fn failed_closed(template: &str, plugin: &str) -> u64 {
    metrics().evaluations_failed.with_label_values(&[template, plugin]).get()
}

fn reason_of(mode: &str) -> &'static str {
    match mode {
        "loop" => "timeout",
        "alloc" => "out_of_memory",
        _ => "trap",
    }
}

/// Ids of the alerts sink `out` wrote, sorted (only `good` writes there).
fn alert_ids(sandbox: &Sandbox) -> Vec<String> {
    let mut ids: Vec<String> = sandbox
        .records("out")
        .into_iter()
        .inspect(|r| assert_eq!(r.template, "good"))
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids
}

/// The good template alone, on the same market: what it fires.
async fn reference() -> Vec<String> {
    let alone = Sandbox::new(&[]);
    let stats = alone.run(GOOD).await.expect("good template alone");
    assert_eq!(stats.evaluations_failed, 0);
    let ids = alert_ids(&alone);
    assert!(ids.len() > 10, "the good template alerts: {}", ids.len());
    ids
}

fn built(lang: Lang, names: &[&str], root: &std::path::Path) -> Vec<(String, PathBuf)> {
    names
        .iter()
        .map(|n| {
            let name = format!("{}-{n}", lang.prefix());
            let wasm = match *n {
                "wasi" => guests::build_with_wasi(lang, &name, root),
                _ => guests::build(lang, &name, root).1,
            };
            (name, wasm)
        })
        .collect()
}

fn sandbox_of(plugins: &[(String, PathBuf)]) -> Sandbox {
    let files: Vec<(&str, &std::path::Path)> =
        plugins.iter().map(|(n, p)| (n.as_str(), p.as_path())).collect();
    Sandbox::with_files(&files)
}

async fn contained(lang: Lang) {
    if !guests::toolchain(lang) {
        return;
    }
    logs();
    let root = tempfile::tempdir().expect("tempdir");
    let sandbox = sandbox_of(&built(lang, &["misbehave"], root.path()));
    let plugin = format!("{}-misbehave", lang.prefix());
    let version = sandbox.version(&plugin);
    let reference = reference().await;

    let stats = sandbox
        .run(&format!("{GOOD}{}", misbehaving(lang, "live", 10)))
        .await
        .expect("a misbehaving plugin must not stop the run");
    assert_eq!((stats.events_in, stats.events_evaluated), (EVENTS, EVENTS));
    assert_eq!(stats.evaluations, 4 * EVENTS, "every event reached every template");
    assert_eq!(stats.evaluations_failed, 3 * EVENTS, "the three fail closed, and no other");
    assert_eq!(alert_ids(&sandbox), reference, "the good template fires what it fires alone");
    assert_eq!(stats.fired, reference.len() as u64);
    assert_eq!(failed_closed("good", "amount-threshold"), 0);

    let trapped = logs().logged(
        "Plugin call failed; its failure policy applies (and a poisoned instance is rebuilt).",
    );
    for (suffix, mode) in modes(lang) {
        let template = format!("{}-live-{suffix}", lang.prefix());
        assert_eq!(failed_closed(&template, &plugin), EVENTS, "{template}");
        let traps = traps_total(&template, &plugin, &version, reason_of(mode));
        assert!((DISABLE_AFTER..DISABLE_AFTER + WORKERS).contains(&traps), "{template}: {traps}");
        assert_eq!(disabled_total(&template, &plugin, &version), 1, "{template}: quarantined once");
        let lines: Vec<_> = trapped.iter().filter(|f| field(f, "template") == template).collect();
        assert!(lines.len() as u64 >= DISABLE_AFTER, "{template}: {} log lines", lines.len());
        for f in lines {
            assert_eq!(field(f, "plugin"), format!("`{plugin}` {version}"));
            let above = if lang == Lang::Python { "10.0" } else { "10" };
            assert_error(lang, mode, above, field(f, "error"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_plugins_that_loop_hoard_or_raise_are_contained_and_others_keep_alerting() {
    contained(Lang::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_plugins_that_loop_hoard_or_throw_are_contained_and_others_keep_alerting() {
    contained(Lang::Js).await;
}

/// Every issue of a config `klaxon check` refuses.
fn issues_of(result: Result<(), AppError>) -> Vec<ConfigIssue> {
    match result {
        Err(AppError::Config(ConfigError::Invalid { issues, .. })) => issues,
        other => panic!("expected the config to be rejected, got {other:?}"),
    }
}

fn issue<'a>(issues: &'a [ConfigIssue], path: &str) -> &'a str {
    let found: Vec<&ConfigIssue> = issues.iter().filter(|i| i.path == path).collect();
    assert_eq!(found.len(), 1, "one issue at `{path}` in {issues:#?}");
    &found[0].message
}

async fn refused(lang: Lang) {
    if !guests::toolchain(lang) {
        return;
    }
    let p = lang.prefix();
    let root = tempfile::tempdir().expect("tempdir");
    let sandbox = sandbox_of(&built(lang, &["misbehave", "wasi"], root.path()));
    let (misbehave, wasi) = (format!("{p}-misbehave"), format!("{p}-wasi"));
    let version = sandbox.version(&misbehave);
    let bad = format!(
        "{smoke}\n[templates.{p}-typo]\nfilter = {{ plugin = \"{misbehave}\", params = {{ mod = \"loop\" }} }}\n\
         \n[templates.{p}-filter-as-cooldown]\n\
         filter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\n\
         cooldown = {{ plugin = \"{misbehave}\", params = {{ mode = \"loop\" }} }}\n\
         \n[templates.{p}-wasi]\nfilter = {{ plugin = \"{wasi}\" }}\n",
        smoke = misbehaving(lang, "smoke", 0)
    );

    // `klaxon check`: rejected whole, each bad template named.
    let config = sandbox.config(&format!("{GOOD}{bad}"));
    let (market, _) = MarketState::new(&config.raw().market);
    let rt = Runtime::new(&config, &market).expect("runtime");
    let issues = issues_of(app::first_plan(&config, &rt).await.map(drop));
    assert_eq!(issues.len(), 6, "only the six bad templates: {issues:#?}");
    for (suffix, mode) in modes(lang) {
        let message = issue(&issues, &format!("templates.{p}-smoke-{suffix}.filter.plugin"));
        let prefix = format!("plugin `{misbehave}` {version}: smoke test failed: ");
        let error = message.strip_prefix(&prefix).unwrap_or_else(|| panic!("{message}"));
        let above = if lang == Lang::Python { "0.0" } else { "0" };
        assert_error(lang, mode, above, error);
    }
    let typo = issue(&issues, &format!("templates.{p}-typo.filter.params"));
    assert!(
        typo.starts_with(&format!(
            "plugin `{misbehave}` {version}: configure rejected params: mod: unknown field `mod`"
        )),
        "{typo}"
    );
    let path = sandbox.path(&format!("plugins/{misbehave}.wasm"));
    assert_eq!(
        issue(&issues, &format!("templates.{p}-filter-as-cooldown.cooldown.plugin")),
        format!(
            "plugin `{misbehave}` {version} ({}): not a `klaxon:plugin/cooldown-policy@0.2.0` component: no exported instance named `klaxon:plugin/cooldown-policies@0.2.0`",
            path.display()
        )
    );
    let wasi_issue = issue(&issues, &format!("templates.{p}-wasi.filter.plugin"));
    let head = format!(
        "plugin `{wasi}` {} ({}): wrong imports: imports `wasi:",
        sandbox.version(&wasi),
        sandbox.path(&format!("plugins/{wasi}.wasm")).display()
    );
    assert!(wasi_issue.starts_with(&head), "{wasi_issue}");
    let named = match lang {
        Lang::Python => ["`wasi:filesystem/types@0.2.", "`wasi:sockets/"],
        Lang::Js => ["`wasi:clocks/", "`wasi:random/"],
    };
    for import in named {
        assert!(wasi_issue.contains(import), "{import} not named: {wasi_issue}");
    }
    assert!(wasi_issue.contains("(it links only `klaxon:plugin`, no WASI)"), "{wasi_issue}");
    assert!(!sandbox.path("out.ndjson").exists(), "check ran a sink");

    // A run: those templates are disabled alone, the good one alerts as ever.
    let reference = reference().await;
    let stats = sandbox.run(&format!("{GOOD}{bad}")).await.expect("the run goes on");
    assert_eq!(stats.evaluations, EVENTS, "only the good template runs");
    assert_eq!(stats.evaluations_failed, 0);
    assert_eq!(alert_ids(&sandbox), reference);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_smoke_failures_wrong_world_and_wasi_imports_never_go_live() {
    refused(Lang::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_smoke_failures_wrong_world_and_wasi_imports_never_go_live() {
    refused(Lang::Js).await;
}

//! Plugin authoring end to end, outside the repo, with the `klaxon` binary:
//!
//! * every scaffold (3 languages × 3 kinds) is written by `klaxon plugin
//!   new` into a temp dir outside the repo, passes its own tests (`cargo
//!   test`, `pytest`, `node --test`), builds with `klaxon plugin build`
//!   into a component that imports nothing but `klaxon:plugin`, and
//!   matches its golden file under `klaxon plugin test`; a changed golden
//!   line fails with a diff naming the alert and field, `--update` fixes it;
//! * Python and JS equivalents of stock `amount-threshold` (its
//!   `min_notional_usd` path) raise exactly the stock plugin's alerts, on a
//!   seeded synthetic market and on the recorded Binance spot fixture;
//!   `klaxon plugin bench` measures the three in wall time and fuel per
//!   event on both filter paths, and each passes the same events.
//!
//! Python and JS need componentize-py and componentize-js (`.ci/run`
//! installs them under `target/authoring-tools`); without them those tests
//! skip with a message, unless `KLAXON_REQUIRE_TOOLCHAINS=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use klaxon::app::{self, RunOptions};
use klaxon::config;
use klaxon::sinks::FileRecord;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ has a parent").to_owned()
}

fn tools_dir() -> PathBuf {
    repo().join("target/authoring-tools")
}

/// `PATH` with the toolchains `.ci/run` installs first.
fn path_with_tools() -> String {
    let t = tools_dir();
    let extra = [t.join("venv/bin"), t.join("js/node_modules/.bin")];
    let old = std::env::var("PATH").unwrap_or_default();
    let mut parts: Vec<String> = extra.iter().map(|p| p.display().to_string()).collect();
    parts.push(old);
    parts.join(":")
}

/// Whether `lang`'s toolchain is installed; skips (or fails, when required).
fn have(lang: &str) -> bool {
    let t = tools_dir();
    let tool = match lang {
        "python" => t.join("venv/bin/componentize-py"),
        "js" => t.join("js/node_modules/.bin/componentize-js"),
        _ => return true,
    };
    if tool.exists() {
        return true;
    }
    let msg = format!("{} not installed (run .ci/run)", tool.display());
    assert!(std::env::var_os("KLAXON_REQUIRE_TOOLCHAINS").is_none(), "{msg}");
    eprintln!("skipping {lang}: {msg}");
    false
}

/// Rust plugins of every test share one target dir, kept across runs, so
/// their dependencies compile once (as `klaxon plugin build` promises).
fn shared_rust_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("authoring-plugins")
}

fn cmd(program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
    let mut c = Command::new(program);
    c.current_dir(dir)
        .env("PATH", path_with_tools())
        .env("KLAXON_PLUGIN_TARGET_DIR", shared_rust_target())
        .env("CARGO_TARGET_DIR", shared_rust_target())
        .env("RUST_LOG", "warn");
    c
}

fn klaxon(dir: &Path) -> Command {
    cmd(env!("CARGO_BIN_EXE_klaxon"), dir)
}

/// Runs `c`; returns (success, stdout), printing everything on failure.
fn output(mut c: Command) -> (bool, String) {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        eprintln!("{c:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    }
    (out.status.success(), stdout)
}

fn ok(c: Command) -> String {
    let (success, stdout) = output(c);
    assert!(success, "command failed (see stderr)");
    stdout
}

/// A directory under the system temp dir, never inside the repo.
fn outside_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(!dir.path().starts_with(repo()), "{} is inside the repo", dir.path().display());
    dir
}

fn own_tests(lang: &str, dir: &Path) -> Command {
    match lang {
        "rust" => {
            let mut c = cmd("cargo", dir);
            c.args(["test", "--quiet"]);
            c
        }
        "python" => {
            let mut c = cmd(tools_dir().join("venv/bin/python"), dir);
            c.args(["-m", "pytest", "-q", "-p", "no:cacheprovider"]);
            c
        }
        _ => {
            let mut c = cmd("node", dir);
            c.arg("--test");
            c
        }
    }
}

fn world(kind: &str) -> &'static str {
    match kind {
        "filter" => "filter",
        "cooldown" => "cooldown-policy",
        _ => "formatter",
    }
}

/// New, own tests, build, inspect, golden test, for the three kinds.
fn scaffolds(lang: &str) {
    if !have(lang) {
        return;
    }
    let root = outside_repo();
    for kind in ["filter", "cooldown", "formatter"] {
        let name = format!("my-{kind}");
        let dir = root.path().join(&name);
        let mut new = klaxon(root.path());
        new.args(["plugin", "new", &name, "--kind", kind, "--lang", lang]).arg(&dir);
        ok(new);
        ok(own_tests(lang, &dir));

        let mut build = klaxon(&dir);
        build.args(["plugin", "build", "."]);
        let built = ok(build);
        assert!(built.contains(&format!("world klaxon:plugin/{}@0.2.0", world(kind))), "{built}");

        let wasm = dir.join(format!("target/klaxon/{name}.wasm"));
        let mut inspect = klaxon(&dir);
        inspect.args(["plugin", "inspect"]).arg(&wasm);
        let report = ok(inspect);
        let imports: Vec<&str> = report
            .lines()
            .skip_while(|l| *l != "imports:")
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .collect();
        assert!(
            !imports.is_empty() && imports.iter().all(|i| i.trim().starts_with("klaxon:plugin/")),
            "{lang} {kind} imports more than klaxon:plugin: {imports:?}"
        );

        let mut test = klaxon(&dir);
        test.args(["plugin", "test", "."]);
        let passed = ok(test);
        assert!(passed.contains("ok: 3 alerts match the golden file"), "{lang} {kind}: {passed}");
    }
    golden_diff_and_update(&root.path().join("my-filter"));
}

/// A changed golden title fails, naming the alert and the field; `--update`
/// rewrites the file so the next run passes.
fn golden_diff_and_update(dir: &Path) {
    let golden = dir.join("golden/sample.ndjson");
    let text = std::fs::read_to_string(&golden).unwrap();
    let changed =
        text.replacen("\"title\":\"$86.0K buy on BTCUSDT\"", "\"title\":\"old title\"", 1);
    assert_ne!(changed, text);
    std::fs::write(&golden, changed).unwrap();
    let mut test = klaxon(dir);
    test.args(["plugin", "test", "."]);
    let (success, stdout) = output(test);
    assert!(!success, "a changed golden file must fail");
    assert!(stdout.contains("~ bf449fc69b1f187c7eee3bcb181193c5:\n    title: expected \"old title\", got \"$86.0K buy on BTCUSDT\""), "{stdout}");
    let mut update = klaxon(dir);
    update.args(["plugin", "test", ".", "--update"]);
    ok(update);
    assert_eq!(std::fs::read_to_string(&golden).unwrap(), text);
}

#[test]
fn rust_scaffolds_build_test_and_match_their_golden() {
    scaffolds("rust");
}

#[test]
fn python_scaffolds_build_test_and_match_their_golden() {
    scaffolds("python");
}

#[test]
fn js_scaffolds_build_test_and_match_their_golden() {
    scaffolds("js");
}

/// A Rust filter that builds but never calls `export_filter!`: `plugin
/// build` refuses it naming the missing export, the world and version it
/// expected and the macro, and writes nothing.
#[test]
fn a_rust_plugin_without_its_export_macro_is_refused_naming_the_export() {
    let root = outside_repo();
    let dir = root.path().join("no-export");
    let mut new = klaxon(root.path());
    new.args(["plugin", "new", "no-export", "--kind", "filter", "--lang", "rust"]).arg(&dir);
    ok(new);
    let lib = dir.join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    let without = source.replace("export_filter!(Plugin);", "").replace("export_filter,", "");
    assert_ne!(without, source);
    std::fs::write(&lib, without).unwrap();
    // As a project, then as a bare crate (no klaxon-plugin.toml).
    for bare in [false, true] {
        if bare {
            std::fs::remove_file(dir.join("klaxon-plugin.toml")).unwrap();
        }
        let mut build = klaxon(&dir);
        build.args(["plugin", "build", ".", "-o", "x.wasm"]);
        let out = build.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains("not a `klaxon:plugin/filter@0.2.0` component: no exported instance named `klaxon:plugin/filter-rules@0.2.0`"),
            "{stderr}"
        );
        assert!(
            stderr.contains("hint: does the plugin call `export_filter!(YourType)`?"),
            "{stderr}"
        );
        assert!(!stderr.contains("without klaxon-sdk"), "{stderr}");
    }
    assert!(!dir.join("x.wasm").exists(), "nothing is written");
}

// ----------------------------------------------------------- equivalence

/// `(path, ns/event, fuel/event)` of each path, and the passes, of
/// `klaxon plugin bench` on `wasm`.
fn bench(root: &Path, wasm: &Path) -> (Vec<(String, f64, f64)>, String) {
    let mut c = klaxon(root);
    c.args(["plugin", "bench"]).arg(wasm);
    c.args(["--params", r#"{"min_notional_usd": 100000}"#, "--events", "5000", "--rounds", "3"]);
    let out = ok(c);
    eprintln!("{out}");
    let mut paths = Vec::new();
    let mut passes = String::new();
    for line in out.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(at) = words.iter().position(|w| *w == "ns/event") {
            let (ns, fuel) = (words[at - 1].parse().unwrap(), words[at + 1].parse().unwrap());
            assert_eq!(words[at + 2], "fuel/event", "{line}");
            paths.push((words[..at - 1].join(" "), ns, fuel));
        }
        if words.first() == Some(&"passes") {
            passes = words[1..].join(" ");
        }
    }
    assert!(out.contains("MiB per instance"), "{out}");
    (paths, passes)
}

/// `klaxon plugin bench` on the three `amount-threshold`s: both filter
/// paths measured, in time and fuel, and the same passes from each.
fn bench_figures(root: &Path, plugins: &Path) {
    let stock = Path::new(env!("KLAXON_PLUGINS_DIR")).join("amount-threshold.wasm");
    let runs: Vec<_> = [stock, plugins.join("at-python.wasm"), plugins.join("at-js.wasm")]
        .iter()
        .map(|wasm| bench(root, wasm))
        .collect();
    for (paths, passes) in &runs {
        let names: Vec<&str> = paths.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(names, ["batch 64", "single-event"]);
        assert!(paths.iter().all(|(_, ns, fuel)| *ns > 0.0 && *fuel > 0.0), "{paths:?}");
        assert_eq!(passes, &runs[0].1, "every language passes the same events");
    }
    assert!(runs[0].1.starts_with(|c: char| c.is_ascii_digit() && c != '0'), "{}", runs[0].1);
}

/// A scaffolded project whose plugin source is replaced by `source`, built.
fn equivalent(root: &Path, lang: &str, source: &str) -> PathBuf {
    let name = format!("at-{lang}");
    let dir = root.join(&name);
    let mut new = klaxon(root);
    new.args(["plugin", "new", &name, "--kind", "filter", "--lang", lang]).arg(&dir);
    ok(new);
    let (file, test) = if lang == "python" {
        ("plugin.py", "test_plugin.py")
    } else {
        ("plugin.js", "plugin.test.js")
    };
    std::fs::write(dir.join(file), source).unwrap();
    std::fs::remove_file(dir.join(test)).unwrap();
    let mut build = klaxon(&dir);
    build.args(["plugin", "build", "."]);
    ok(build);
    dir.join(format!("target/klaxon/{name}.wasm"))
}

const TEMPLATES: [(&str, &str); 3] =
    [("stock", "amount-threshold"), ("python", "at-python"), ("js", "at-js")];

/// Runs the three templates on one source; returns each one's alerts
/// without what names the template (id, template, channels).
async fn alerts(root: &Path, source: &str, params: &str) -> Vec<Vec<serde_json::Value>> {
    let d = root.display();
    let mut text = format!(
        "[limits]\ncompile_timeout = \"10m\"\n\n[pipeline]\nworkers = 2\ntime = \"event\"\n\n[plugins]\ndir = \"{d}/plugins\"\ncache_dir = \"\"\nwatch = false\n\n\
         [alert_log]\nurl = \"sqlite://{d}/alerts.db\"\n\n{source}\n"
    );
    for (t, plugin) in TEMPLATES {
        let _ = std::fs::remove_file(root.join(format!("{t}.ndjson")));
        text.push_str(&format!(
            "[sinks.{t}]\ntype = \"file\"\npath = \"{d}/{t}.ndjson\"\n\n[templates.{t}]\n\
             filter = {{ plugin = \"{plugin}\", params = {params} }}\ndefault_cooldown = \"0s\"\n\
             channels = [\"{t}\"]\nlimits = {{ memory_mib = 64, call_timeout = \"10s\" }}\n\n"
        ));
    }
    let config = config::load_str(&text, "equivalence.toml").unwrap_or_else(|e| panic!("{e}"));
    app::run(config, RunOptions::default()).await.expect("run");
    TEMPLATES
        .iter()
        .map(|(t, _)| {
            let text =
                std::fs::read_to_string(root.join(format!("{t}.ndjson"))).unwrap_or_default();
            let mut rows: Vec<serde_json::Value> = text
                .lines()
                .map(|l| {
                    let r: FileRecord = serde_json::from_str(l).expect("file sink line");
                    let mut v = serde_json::to_value(r).unwrap();
                    for k in ["id", "template", "channels"] {
                        v.as_object_mut().unwrap().remove(k);
                    }
                    v
                })
                .collect();
            rows.sort_by_key(|v| (v["event"]["id"].to_string(), v["decided_at_ms"].to_string()));
            rows
        })
        .collect()
}

fn fixture() -> Option<PathBuf> {
    let path = repo().join("../shared/fixtures/binance/spot_2021-10-11.combined.ndjson");
    if path.is_file() {
        return Some(path);
    }
    assert!(std::env::var_os("KLAXON_REQUIRE_FIXTURES").is_none(), "{} missing", path.display());
    eprintln!("skipping the fixture run: {} is absent", path.display());
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_js_amount_threshold_equal_the_stock_plugin() {
    if !have("python") || !have("js") {
        return;
    }
    let root = outside_repo();
    let plugins = root.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    for (lang, source) in [
        ("python", include_str!("authoring/amount_threshold.py")),
        ("js", include_str!("authoring/amount_threshold.js")),
    ] {
        let wasm = equivalent(root.path(), lang, source);
        std::fs::copy(wasm, plugins.join(format!("at-{lang}.wasm"))).unwrap();
    }
    bench_figures(root.path(), &plugins);
    let synthetic = "[sources.market]\ntype = \"synthetic\"\nrate = 0\nlimit = 3000\nseed = 11\nwhale_probability = 0.02\n";
    let runs = alerts(root.path(), synthetic, "{ min_notional_usd = 100000 }").await;
    assert!(runs[0].len() >= 20, "the synthetic market should raise alerts: {}", runs[0].len());
    assert_eq!(runs[1], runs[0], "python differs from stock");
    assert_eq!(runs[2], runs[0], "js differs from stock");

    if let Some(frames) = fixture() {
        let replay =
            format!("[sources.replay]\ntype = \"replay\"\nfiles = [\"{}\"]\n", frames.display());
        let runs =
            alerts(root.path(), &replay, "{ min_notional_usd = 1, kinds = [\"trade\"] }").await;
        assert!(!runs[0].is_empty(), "the fixture has priced trades");
        assert_eq!(runs[1], runs[0], "python differs from stock on the fixture");
        assert_eq!(runs[2], runs[0], "js differs from stock on the fixture");
    }
}

//! Watchlists in the Python and JS SDKs, end to end: a filter that passes
//! accounts on a watchlist (`tests/watchlist_sdks/on_list.{py,js}`) is
//! scaffolded outside the repo with `klaxon plugin new`, passes its own
//! tests against the SDK's host double (`pytest`, `node --test`), builds
//! with `klaxon plugin build`, and then, in the host, alerts on exactly the
//! accounts stock `whale-fill` alerts on for the same list, with the
//! entries' values as labels; the same plugin under a template that does
//! not declare the list raises nothing.
//!
//! Needs componentize-py and componentize-js (`.ci/run` installs them
//! under `target/authoring-tools`); without them the test skips with a
//! message, unless `KLAXON_REQUIRE_TOOLCHAINS=1`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use klaxon::app::{self, RunOptions};
use klaxon::config;
use klaxon::sinks::FileRecord;

const ACCOUNTS: [&str; 3] = ["0xaaaa01", "0xbbbb02", "0xcccc03"];
const FILLS: usize = 90;

fn tools() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/authoring-tools")
}

fn have_toolchains() -> bool {
    let t = tools();
    let missing: Vec<PathBuf> =
        [t.join("venv/bin/componentize-py"), t.join("js/node_modules/.bin/componentize-js")]
            .into_iter()
            .filter(|p| !p.exists())
            .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!("{missing:?} not installed (run .ci/run)");
    assert!(std::env::var_os("KLAXON_REQUIRE_TOOLCHAINS").is_none(), "{msg}");
    eprintln!("skipping: {msg}");
    false
}

fn cmd(program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
    let t = tools();
    let path = format!(
        "{}:{}:{}",
        t.join("venv/bin").display(),
        t.join("js/node_modules/.bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new(program);
    c.current_dir(dir).env("PATH", path).env("RUST_LOG", "warn");
    c
}

fn ok(mut c: Command) {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Scaffold `on-list-<lang>` in `root`, put the watchlist filter and its
/// test in, run the test with the language's runner, build it.
fn build(root: &Path, lang: &str) -> PathBuf {
    let name = format!("on-list-{lang}");
    let dir = root.join(&name);
    let mut new = cmd(env!("CARGO_BIN_EXE_klaxon"), root);
    new.args(["plugin", "new", &name, "--kind", "filter", "--lang", lang]).arg(&dir);
    ok(new);
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/watchlist_sdks");
    let (source, test, own_test, runner): (_, _, _, Vec<&str>) = match lang {
        "python" => (
            "on_list.py",
            "test_on_list.py",
            "test_plugin.py",
            vec!["-m", "pytest", "-q", "-p", "no:cacheprovider"],
        ),
        _ => ("on_list.js", "on_list.test.js", "plugin.test.js", vec!["--test"]),
    };
    let plugin_file = if lang == "python" { "plugin.py" } else { "plugin.js" };
    std::fs::copy(here.join(source), dir.join(plugin_file)).unwrap();
    std::fs::remove_file(dir.join(own_test)).unwrap();
    std::fs::copy(here.join(test), dir.join(test)).unwrap();
    let program = match lang {
        "python" => tools().join("venv/bin/python"),
        _ => PathBuf::from("node"),
    };
    let mut tests = cmd(program, &dir);
    tests.args(runner);
    ok(tests);
    let mut b = cmd(env!("CARGO_BIN_EXE_klaxon"), &dir);
    b.args(["plugin", "build", "."]);
    ok(b);
    dir.join(format!("target/klaxon/{name}.wasm"))
}

/// Hyperliquid fills, accounts in turn.
fn frames(path: &Path) {
    let lines: Vec<String> = (0..FILLS)
        .map(|i| {
            let fill = serde_json::json!({
                "coin": if i % 2 == 0 { "ETH" } else { "BTC" }, "px": "2000", "sz": "10",
                "side": "B", "time": 1_700_000_000_000u64 + i as u64, "dir": "Open Long",
                "hash": format!("0x{i:064x}"), "tid": i,
            });
            let data = serde_json::json!({ "user": ACCOUNTS[i % 3], "fills": [fill] });
            serde_json::json!({ "channel": "userFills", "data": data }).to_string()
        })
        .collect();
    std::fs::write(path, lines.join("\n")).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_js_plugins_read_watchlists_as_the_stock_plugin_does() {
    if !have_toolchains() {
        return;
    }
    // A template disabled at startup says why in the test's output.
    let _ = tracing_subscriber::fmt().with_env_filter("warn").with_test_writer().try_init();
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir(r.join("plugins")).unwrap();
    for lang in ["python", "js"] {
        let wasm = build(r, lang);
        std::fs::copy(wasm, r.join(format!("plugins/on-list-{lang}.wasm"))).unwrap();
    }
    frames(&r.join("fills.ndjson"));
    let d = r.display();
    let mut text = format!(
        // A hang guard, not a timing: Python components take long to
        // compile on a loaded machine.
        "[limits]\ncompile_timeout = \"600s\"\n[pipeline]\ntime = \"event\"\n[plugins]\ndir = \"{d}/plugins\"\ncache_dir = \"\"\nwatch = false\n\
         [alert_log]\nurl = \"sqlite://{d}/alerts.db\"\n\
         [sources.hl]\ntype = \"replay\"\nfiles = [\"{d}/fills.ndjson\"]\n\
         [watchlists.whales]\nentries = {{ \"{}\" = \"fund A\", \"{}\" = \"\" }}\n",
        ACCOUNTS[0], ACCOUNTS[1]
    );
    let templates = [
        ("stock", "whale-fill", "whales"),
        ("python", "on-list-python", "whales"),
        ("js", "on-list-js", "whales"),
        ("undeclared", "on-list-python", ""),
    ];
    for (t, plugin, declared) in templates {
        let declared = if declared.is_empty() { String::new() } else { format!("\"{declared}\"") };
        text.push_str(&format!(
            "[sinks.{t}]\ntype = \"file\"\npath = \"{d}/{t}.ndjson\"\n[templates.{t}]\n\
             filter = {{ plugin = \"{plugin}\", params = {{ watchlist = \"whales\" }} }}\n\
             watchlists = [{declared}]\ndefault_cooldown = \"0s\"\nchannels = [\"{t}\"]\n\
             limits = {{ memory_mib = 64, call_timeout = \"10s\" }}\n"
        ));
    }
    let config = config::load_str(&text, "watchlist_sdks.toml").unwrap_or_else(|e| panic!("{e}"));
    let stats = app::run(config, RunOptions::default()).await.expect("run");
    assert_eq!(stats.events_evaluated, FILLS as u64);

    let alerts = |t: &str| -> Vec<FileRecord> {
        let text = std::fs::read_to_string(r.join(format!("{t}.ndjson"))).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let events = |records: &[FileRecord]| -> BTreeSet<(String, Option<String>)> {
        records.iter().map(|a| (a.event.id.clone(), a.event.account.clone())).collect()
    };
    let stock = alerts("stock");
    assert_eq!(stock.len(), FILLS * 2 / 3, "funds A and B, every fill");
    for lang in ["python", "js"] {
        let theirs = alerts(lang);
        assert_eq!(events(&theirs), events(&stock), "{lang} alerts on other events");
        let a = theirs.iter().find(|r| r.event.account.as_deref() == Some(ACCOUNTS[0])).unwrap();
        assert!(a.title.starts_with("fund A on "), "{lang}: {}", a.title);
        let b = theirs.iter().find(|r| r.event.account.as_deref() == Some(ACCOUNTS[1])).unwrap();
        assert!(b.title.starts_with(&format!("{} on ", ACCOUNTS[1])), "{lang}: {}", b.title);
    }
    assert!(alerts("undeclared").is_empty(), "a template that does not declare the list");
}

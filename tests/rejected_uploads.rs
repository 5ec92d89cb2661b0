//! One bad upload cannot take everyone down (issue 8, part 6):
//!
//! * through the binary with the watcher on: a WASI-importing component
//!   uploaded over a live plugin is moved to `plugins/.rejected/` with its
//!   reason, the live version keeps alerting, and a restart on the same
//!   directory starts every template;
//! * at startup, a template whose plugin does not compile and one whose
//!   plugin imports WASI are disabled with their reasons, and the healthy
//!   template beside them fires exactly the alerts it fires alone;
//! * `klaxon check` on that config still names both and exits non-zero.
//!
//! Waits are hang guards; nothing asserts how long anything took.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use klaxon::app::{self, RunOptions, Runtime};
use klaxon::pipeline::DisabledTemplates;
use klaxon::plugins::load::content_version;
use klaxon::sinks::FileRecord;
use klaxon::telemetry::metrics;
use support::{Running, base_config, klaxon, plugin};

const HANG_GUARD: Duration = Duration::from_secs(120);

/// Replace `dest` atomically, as a deploy tool would (write, then rename).
fn deploy(src: &[u8], dest: &Path) {
    let tmp = dest.with_extension("wasm.tmp");
    fs::write(&tmp, src).unwrap();
    fs::rename(&tmp, dest).unwrap();
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn version(bytes: &[u8]) -> String {
    content_version(bytes).0
}

/// Titles in the NDJSON file sink's output so far.
fn titles(out: &Path) -> Vec<String> {
    fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<FileRecord>(l).ok())
        .map(|r| r.title)
        .collect()
}

/// Wait until `out` holds more than `than` alerts titled `title`.
fn wait_for_more(running: &Running, out: &Path, title: &str, than: usize) -> usize {
    let start = Instant::now();
    loop {
        let n = titles(out).iter().filter(|t| *t == title).count();
        if n > than {
            return n;
        }
        assert!(
            start.elapsed() < HANG_GUARD,
            "no more {title:?} alerts than {than}:\n{}",
            running.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_for_file(running: &Running, path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < HANG_GUARD,
            "{} never appeared:\n{}",
            path.display(),
            running.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_rejected_upload_is_moved_aside_and_a_restart_runs_every_template() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    fs::create_dir(&plugins).unwrap();
    let probe = plugins.join("probe.wasm");
    let v1 = read(&plugin("swap-probe-v1"));
    deploy(&v1, &probe);
    let out = dir.path().join("alerts.ndjson");
    let head = base_config(dir.path())
        .replace("watch = false", &format!("watch = true\ndir = \"{}\"", plugins.display()));
    let config = format!(
        "{head}[sources.market]\ntype = \"synthetic\"\nrate = 200\nseed = 5\n\
         [sinks.file]\ntype = \"file\"\npath = \"{}\"\n\
         [templates.probe]\nfilter = {{ plugin = \"probe\" }}\ndefault_cooldown = \"0s\"\nchannels = [\"file\"]\n\
         [templates.whales]\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\nchannels = [\"file\"]\n",
        out.display()
    );
    let config_path = dir.path().join("klaxon.toml");
    fs::write(&config_path, config).unwrap();
    let start = || {
        let mut cmd = klaxon();
        cmd.args(["run", "--config"]).arg(&config_path);
        Running::spawn(cmd)
    };

    let running = start();
    let seen = wait_for_more(&running, &out, "swap-probe v1", 0);
    let wasi = read(&plugin("wasi-fs"));
    deploy(&wasi, &probe);
    let rejected = plugins.join(".rejected/probe.wasm");
    let reason_file = plugins.join(".rejected/probe.wasm.reason.txt");
    wait_for_file(&running, &reason_file);
    running.wait_stderr("Reload rejected", 1, HANG_GUARD);
    assert_eq!(read(&rejected), wasi);
    assert_eq!(read(&probe), v1, "the live version is back in plugins/");
    let reason = fs::read_to_string(&reason_file).unwrap();
    assert!(
        reason.starts_with(&format!("plugin `probe` version {} from ", version(&wasi))),
        "{reason}"
    );
    assert!(reason.contains("templates.probe.filter: plugin `probe`"), "{reason}");
    assert!(reason.contains("wrong imports: imports `wasi:"), "{reason}");
    // v1 keeps serving after the rejection.
    wait_for_more(&running, &out, "swap-probe v1", seen + 50);
    let stderr = running.stop();
    assert!(stderr.contains("Rejected plugin upload moved aside"), "{stderr}");

    // A restart meets only the live version: both templates start.
    let restarted = start();
    restarted.wait_stderr("Klaxon started.", 1, HANG_GUARD);
    let before = titles(&out).iter().filter(|t| *t == "swap-probe v1").count();
    wait_for_more(&restarted, &out, "swap-probe v1", before);
    let stderr = restarted.stop();
    let started = stderr.lines().find(|l| l.contains("Klaxon started.")).unwrap();
    // The startup log lists each template with its plugin versions.
    let both = started.contains("probe[probe@") && started.contains("whales[amount-threshold@");
    assert!(both && started.contains("disabled=0"), "{started}");
    assert!(!stderr.contains("Template disabled"), "{stderr}");
}

/// A temp dir with a plugins directory: `broken.wasm` (not a component) and
/// `wasi-fs.wasm` (imports WASI files); a config head running a seeded
/// synthetic market in event time into a file sink.
struct Site {
    dir: tempfile::TempDir,
}

const EVENTS: u64 = 2000;

const GOOD: &str = "[templates.good]\nfilter = { plugin = \"amount-threshold\", params = { min_notional_usd = 100000 } }\n\
                    default_cooldown = \"0s\"\nchannels = [\"out\"]\nlimits = { call_timeout = \"10s\" }\n";
const BROKEN: &str = "[templates.broken]\nfilter = { plugin = \"broken\" }\nchannels = [\"out\"]\n\
                      [templates.reads-files]\nfilter = { plugin = \"wasi-fs\" }\nchannels = [\"out\"]\n";

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let plugins = dir.path().join("plugins");
        fs::create_dir(&plugins).unwrap();
        fs::write(plugins.join("broken.wasm"), b"\0asm but not really").unwrap();
        fs::copy(plugin("wasi-fs"), plugins.join("wasi-fs.wasm")).unwrap();
        Site { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn text(&self, templates: &str) -> String {
        let d = self.dir.path().display();
        format!(
            "[pipeline]\nworkers = 2\nbatch_max = 16\ntime = \"event\"\n\
             [plugins]\ndir = \"{d}/plugins\"\ncache_dir = \"{d}/cache\"\nwatch = false\n\
             [alert_log]\nurl = \"sqlite://{d}/alerts.db\"\nflush_interval = \"50ms\"\n\
             [sources.market]\ntype = \"synthetic\"\nrate = 0\nlimit = {EVENTS}\nseed = 7\nwhale_probability = 0.01\n\
             [sinks.out]\ntype = \"file\"\npath = \"{d}/out.ndjson\"\n{templates}"
        )
    }

    fn config(&self, templates: &str) -> klaxon::config::ValidConfig {
        klaxon::config::load_str(&self.text(templates), "site.toml")
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Ids of the alerts the file sink wrote, sorted; all from `good`.
    fn alert_ids(&self) -> Vec<String> {
        let text = fs::read_to_string(self.path("out.ndjson")).unwrap_or_default();
        let mut ids: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<FileRecord>(l).unwrap())
            .inspect(|r| assert_eq!(r.template, "good"))
            .map(|r| r.id)
            .collect();
        ids.sort();
        ids
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_startup_a_broken_plugin_disables_only_its_template() {
    let alone = Site::new();
    let stats = app::run(alone.config(GOOD), RunOptions::default()).await.expect("good alone");
    assert_eq!(stats.events_evaluated, EVENTS);
    let reference = alone.alert_ids();
    assert!(!reference.is_empty(), "the good template fires");

    // Beside two templates whose plugins are broken: it starts, and the
    // healthy template fires exactly what it fires alone.
    let site = Site::new();
    let config = site.config(&format!("{GOOD}{BROKEN}"));
    let stats = app::run(config.clone(), RunOptions::default()).await.expect("starts");
    assert_eq!(stats.events_evaluated, EVENTS);
    assert_eq!(site.alert_ids(), reference);
    for template in ["broken", "reads-files"] {
        assert_eq!(metrics().templates_disabled.with_label_values(&[template]).get(), 1);
    }
    assert_eq!(metrics().templates_disabled.with_label_values(&["good"]).get(), 0);

    // The reasons `run` reported (`/ready` lists the same): the plan it
    // starts with, and what it disabled.
    let (market, _) = klaxon::market::MarketState::new(&config.raw().market);
    let rt = Runtime::new(&config, &market).expect("runtime");
    let disabled = DisabledTemplates::default();
    let plan = app::start_plan(&config, &rt, &disabled).await;
    let planned: Vec<&str> = plan.templates.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(planned, ["good"]);
    let reasons = disabled.list();
    let names: Vec<&str> = reasons.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(names, ["broken", "reads-files"]);
    let broken = site.path("plugins/broken.wasm");
    assert!(
        reasons[0].1.starts_with(&format!(
            "templates.broken.filter.plugin: plugin `broken` {} ({}): not a valid component",
            version(&read(&broken)),
            broken.display()
        )),
        "{reasons:?}"
    );
    assert!(
        reasons[1].1.starts_with("templates.reads-files.filter.plugin: plugin `wasi-fs` ")
            && reasons[1].1.contains("wrong imports: imports `wasi:"),
        "{reasons:?}"
    );
}

#[test]
fn check_names_every_invalid_template_and_exits_non_zero() {
    let site = Site::new();
    let path = site.path("site.toml");
    fs::write(&path, site.text(&format!("{GOOD}{BROKEN}"))).unwrap();
    let out = klaxon().args(["check", "--config"]).arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("2 problem(s)"), "{stderr}");
    assert!(
        stderr.contains("templates.broken.filter.plugin: plugin `broken`")
            && stderr.contains("not a valid component"),
        "{stderr}"
    );
    assert!(stderr.contains("templates.reads-files.filter.plugin: plugin `wasi-fs`"), "{stderr}");
    assert!(!stderr.contains("templates.good"), "{stderr}");
}

//! Bad uploads stay contained, driven the way the watcher drives reloads
//! (`Reloader::reload` after each file change), with the built test
//! plugins: a rejected file goes to `.rejected/` with its reason and the
//! live version is put back; a file that failed only on changed params
//! stays; a template disabled at startup does not block reloads and comes
//! back once its plugin is fixed; a "restart" (a new runtime on the same
//! directory) plans every template.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{REJECTED_DIR, Reloader, Runtime, reason_path};
use crate::config::{ConfigError, ValidConfig, load_file};
use crate::pipeline::{DisabledTemplates, Plan, plan_enabled};
use crate::plugins::TrapLedger;
use crate::plugins::load::content_version;
use crate::plugins::tests::wasm;
use crate::telemetry::metrics;

/// A plugins directory and a config file in a temp dir.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new(plugins: &[(&str, &[u8])], templates: &str) -> Site {
        let site = Site { dir: tempfile::tempdir().unwrap() };
        std::fs::create_dir(site.plugins()).unwrap();
        for (name, bytes) in plugins {
            site.deploy(name, bytes);
        }
        site.write_config(templates);
        site
    }

    fn plugins(&self) -> PathBuf {
        self.dir.path().join("plugins")
    }

    fn file(&self, name: &str) -> PathBuf {
        self.plugins().join(format!("{name}.wasm"))
    }

    fn rejected(&self, name: &str) -> PathBuf {
        self.plugins().join(REJECTED_DIR).join(format!("{name}.wasm"))
    }

    /// Write, then rename, as a deploy tool does.
    fn deploy(&self, name: &str, bytes: &[u8]) {
        let tmp = self.plugins().join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(&tmp, self.file(name)).unwrap();
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("klaxon.toml")
    }

    fn write_config(&self, templates: &str) {
        let d = self.dir.path().display();
        let text = format!(
            "[plugins]\ndir = \"{d}/plugins\"\ncache_dir = \"\"\nwatch = true\n\
             [sinks.out]\ntype = \"stdout\"\n{templates}"
        );
        std::fs::write(self.config_path(), text).unwrap();
    }

    fn config(&self) -> ValidConfig {
        load_file(&self.config_path()).unwrap()
    }

    /// What startup does: a runtime, a plan of every template that plans,
    /// the others disabled; then a reloader over it.
    fn start(&self) -> Running {
        let config = self.config();
        let rt = runtime(&config);
        let disabled = Arc::new(DisabledTemplates::default());
        let (plan, failures) = plan_enabled(&config, &rt.library, &rt.services, 1);
        disabled.set(&failures);
        let plan = Arc::new(ArcSwap::from_pointee(plan));
        let (interest, _) = tokio::sync::watch::channel(super::interest_of(&config));
        let ledger = Arc::new(TrapLedger::new(5));
        let reloader = Reloader::new(
            config,
            Some(self.config_path()),
            &rt,
            plan.clone(),
            interest,
            ledger,
            disabled.clone(),
        );
        Running { reloader, plan, disabled }
    }
}

fn runtime(config: &ValidConfig) -> Runtime {
    let (market, _) = crate::market::MarketState::new(&config.raw().market);
    Runtime::new(config, &market).unwrap()
}

struct Running {
    reloader: Reloader,
    plan: Arc<ArcSwap<Plan>>,
    disabled: Arc<DisabledTemplates>,
}

impl Running {
    /// `name@version` of each planned template's filter.
    fn filters(&self) -> Vec<String> {
        filters(&self.plan.load())
    }
}

fn filters(plan: &Plan) -> Vec<String> {
    plan.templates.iter().map(|t| format!("{}={}", t.id, t.filter.plugin.reference)).collect()
}

fn version(bytes: &[u8]) -> String {
    content_version(bytes).0
}

fn probe(bytes: &[u8]) -> String {
    format!("probe=`probe` {}", version(bytes))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const PROBE: &str = "[templates.probe]\nfilter = { plugin = \"probe\" }\nchannels = [\"out\"]\n";

#[test]
fn a_bad_upload_is_moved_aside_the_live_version_put_back_and_a_restart_runs_it() {
    let (v1, plain) = (wasm("swap-probe-v1"), wasm("plain"));
    let site = Site::new(&[("probe", &v1)], PROBE);
    let mut running = site.start();
    assert_eq!(running.filters(), [probe(&v1)]);
    let moved_before = metrics().plugin_uploads_rejected.with_label_values(&["probe"]).get();

    // A formatter uploaded as the filter `probe`.
    site.deploy("probe", &plain);
    let err = running.reloader.reload().unwrap_err();
    assert!(err.to_string().contains("not a `klaxon:plugin/filter@0.2.0` component"), "{err}");
    assert_eq!(running.filters(), [probe(&v1)], "v1 keeps serving");
    assert_eq!(read(&site.rejected("probe")), plain);
    let reason = std::fs::read_to_string(reason_path(&site.rejected("probe"))).unwrap();
    let first_line = format!(
        "plugin `probe` version {} from {} was rejected; the version that was live keeps serving\n",
        version(&plain),
        site.file("probe").display()
    );
    assert!(reason.starts_with(&first_line), "{reason}");
    assert!(reason.contains("\ntemplates.probe.filter: plugin `probe`"), "{reason}");
    assert!(
        reason.contains("not a `klaxon:plugin/filter@0.2.0` component: no exported instance"),
        "{reason}"
    );
    assert_eq!(read(&site.file("probe")), v1, "the live version is back in place");
    let moved = metrics().plugin_uploads_rejected.with_label_values(&["probe"]).get();
    assert_eq!(moved - moved_before, 1);

    // The reload the restored file triggers finds v1: nothing changes.
    running.reloader.reload().unwrap();
    assert_eq!(running.filters(), [probe(&v1)]);

    // A restart: a new runtime on the same directory runs every template.
    let config = site.config();
    let rt = runtime(&config);
    let (plan, failures) = plan_enabled(&config, &rt.library, &rt.services, 1);
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(filters(&plan), [probe(&v1)]);
}

#[test]
fn a_file_that_fails_only_on_changed_params_stays_where_it_is() {
    let avg = wasm("avg-trade");
    let with = |plugin: &str, params: &str| {
        format!(
            "[templates.avg]\nfilter = {{ plugin = \"{plugin}\", params = {params} }}\nchannels = [\"out\"]\n"
        )
    };
    let site = Site::new(&[], &with("amount-threshold", "{ min_notional_usd = 1 }"));
    let mut running = site.start();

    // The plugin arrives together with a params typo: either may be at fault.
    site.deploy("avg", &avg);
    site.write_config(&with("avg", "{ multipel = 2 }"));
    let err = running.reloader.reload().unwrap_err();
    assert!(err.to_string().contains("templates.avg.filter.params"), "{err}");
    assert_eq!(read(&site.file("avg")), avg, "not moved: the params changed too");
    assert!(!site.rejected("avg").exists());

    // Fixing the params is enough.
    site.write_config(&with("avg", "{ multiple = 2 }"));
    running.reloader.reload().unwrap();
    assert_eq!(running.filters(), [format!("avg=`avg` {}", version(&avg))]);

    // A live version failing on a params edit is the config's fault: it stays.
    site.write_config(&with("avg", "{ multiple = -1 }"));
    assert!(matches!(running.reloader.reload(), Err(ConfigError::Invalid { .. })));
    assert_eq!(read(&site.file("avg")), avg);
    assert!(!site.rejected("avg").exists());
}

#[test]
fn a_template_disabled_at_startup_neither_blocks_reloads_nor_stays_out_once_fixed() {
    let (v1, v2) = (wasm("swap-probe-v1"), wasm("swap-probe-v2"));
    let garbage = b"not a component".as_slice();
    let broken = "[templates.broken]\nfilter = { plugin = \"broken\" }\nchannels = [\"out\"]\n";
    let site = Site::new(&[("probe", &v1), ("broken", garbage)], &format!("{PROBE}{broken}"));
    let mut running = site.start();
    assert_eq!(running.filters(), [probe(&v1)]);
    let disabled = running.disabled.list();
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].0.as_str(), "broken");
    assert!(
        disabled[0].1.starts_with("templates.broken.filter.plugin: plugin `broken` ")
            && disabled[0].1.contains("not a valid component"),
        "{disabled:?}"
    );

    // Another template's upload goes live; `broken` stays disabled, and its
    // file, failing again in a reload, is moved aside.
    site.deploy("probe", &v2);
    running.reloader.reload().unwrap();
    assert_eq!(running.filters(), [probe(&v2)]);
    assert_eq!(running.disabled.list().len(), 1);
    assert_eq!(read(&site.rejected("broken")), garbage);
    assert!(!site.file("broken").exists(), "nothing live to put back");

    // A good `broken` brings the template back.
    site.deploy("broken", &v1);
    running.reloader.reload().unwrap();
    let mut want = vec![probe(&v2), format!("broken=`broken` {}", version(&v1))];
    want.sort();
    let mut got = running.filters();
    got.sort();
    assert_eq!(got, want);
    assert!(running.disabled.list().is_empty());
}

//! Helpers shared by the end-to-end tests: the binary, temp dirs, the
//! recorded fixtures, and a child process whose stdout is read line by line.

#![allow(dead_code)]

pub mod browser;
pub mod guests;
pub mod mock_service;
pub mod mock_venue;
pub mod sandbox;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn klaxon() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_klaxon"));
    cmd.env("RUST_LOG", "info").env("RUST_BACKTRACE", "0");
    cmd
}

/// `klaxon replay --config <config> <frames…>`: its stdout, after checking
/// it exited 0.
pub fn replay_stdout(config: &Path, frames: &[PathBuf]) -> String {
    let out = klaxon().args(["replay", "--config"]).arg(config).args(frames).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A built test or stock plugin component.
pub fn plugin(name: &str) -> PathBuf {
    Path::new(env!("KLAXON_PLUGINS_DIR")).join(format!("{name}.wasm"))
}

/// `../shared/fixtures`, or `None` (with the reason printed) when a fresh
/// clone has no `../shared`. With `KLAXON_REQUIRE_FIXTURES` set (CI), a
/// missing fixture directory fails the test instead.
pub fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("KLAXON_REQUIRE_FIXTURES").is_some() {
        panic!("{} is missing and KLAXON_REQUIRE_FIXTURES is set", dir.display());
    }
    eprintln!(
        "skipping: {} not found (recorded fixtures live beside the repo in ../shared)",
        dir.display()
    );
    None
}

/// Common config head: no watching unless asked, cache and alert log in `dir`.
pub fn base_config(dir: &Path) -> String {
    format!(
        "[plugins]\nwatch = false\ncache_dir = \"{0}/cache\"\n[alert_log]\nurl = \"sqlite://{0}/alerts.db\"\nflush_interval = \"100ms\"\n",
        dir.display()
    )
}

/// A running `klaxon` whose stdout lines arrive on a channel.
pub struct Running {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    /// Everything written to stderr so far.
    pub stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child =
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn klaxon");
        let stdout = child.stdout.take().unwrap();
        let stderr_pipe = child.stderr.take().unwrap();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines, stderr }
    }

    /// Wait until stderr contains `needle` `times` times (hang guard `limit`).
    pub fn wait_stderr(&self, needle: &str, times: usize, limit: Duration) {
        let start = Instant::now();
        while self.stderr.lock().unwrap().matches(needle).count() < times {
            assert!(
                start.elapsed() < limit,
                "stderr never showed {needle:?} x{times}:\n{}",
                self.stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Next stdout line, or `None` after `limit` (a hang guard, not a timing assertion).
    pub fn next_line(&self, limit: Duration) -> Option<String> {
        self.lines.recv_timeout(limit).ok()
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then wait for a clean exit (code 0); returns stderr.
    pub fn stop(self) -> String {
        self.signal("TERM");
        let (code, stderr, _) = self.wait(Duration::from_secs(60));
        assert_eq!(code, Some(0), "{stderr}");
        stderr
    }

    /// Wait for exit (with a hang guard); returns the exit code and stderr.
    pub fn wait(mut self, limit: Duration) -> (Option<i32>, String, Vec<String>) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader threads drain the closed pipes.
                std::thread::sleep(Duration::from_millis(200));
                let err = self.stderr.lock().unwrap().clone();
                let rest: Vec<String> = self.lines.try_iter().collect();
                return (status.code(), err, rest);
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("klaxon did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Fired and suppressed rows in a SQLite alert log.
pub fn alert_log_counts(db: &Path) -> (u64, u64) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let log =
            klaxon::store::AlertLog::open(&format!("sqlite://{}", db.display())).await.unwrap();
        let c = log.count_by_status().await.unwrap();
        (c.fired, c.suppressed)
    })
}

/// The records of an NDJSON file sink once it holds at least `at_least`
/// (hang guard: a minute).
pub fn wait_file_alerts(path: &Path, at_least: usize) -> Vec<klaxon::sinks::FileRecord> {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let records: Vec<klaxon::sinks::FileRecord> =
            text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        if records.len() >= at_least {
            return records;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "only {} alerts in {}: {text}",
            records.len(),
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

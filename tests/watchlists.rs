//! Watchlists edited while the host runs, through the binary: a paced
//! replay of Hyperliquid fills by three accounts goes through stock
//! `whale-fill` reading the `whales` watchlist from a file. Mid-run the file
//! is rewritten: first with a bad version (refused, naming file and line;
//! the old list keeps serving), then with another account. The alerts
//! switch from one account to the other at one point of the stream, with
//! no plugin redeploy, the same process throughout, and every event
//! evaluated exactly once.

mod support;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use klaxon::sinks::FileRecord;
use support::{Running, base_config, klaxon};

const HANG_GUARD: Duration = Duration::from_secs(120);
/// Fills in the replay; at `SPACING_MS` apart and `SPEED`, ~18 s of wall time.
const EVENTS: usize = 1_800;
const SPACING_MS: u64 = 20;
const SPEED: u64 = 2;
const ACCOUNTS: [&str; 3] = [
    "0xaaaa000000000000000000000000000000000001",
    "0xbbbb000000000000000000000000000000000002",
    "0xcccc000000000000000000000000000000000003",
];

/// One `userFills` frame per fill, accounts in turn: fill `i` is by
/// `ACCOUNTS[i % 3]` with tid `i`.
fn frames(path: &Path) {
    let start = 1_700_000_000_000u64;
    let lines: Vec<String> = (0..EVENTS)
        .map(|i| {
            let fill = serde_json::json!({
                "coin": "ETH", "px": "2000", "sz": "10", "side": "B",
                "time": start + i as u64 * SPACING_MS, "dir": "Open Long", "closedPnl": "0",
                "hash": format!("0x{i:064x}"), "tid": i,
            });
            let data = serde_json::json!({ "user": ACCOUNTS[i % 3], "fills": [fill] });
            serde_json::json!({ "channel": "userFills", "data": data }).to_string()
        })
        .collect();
    fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Replace `path` as an editor or a sync job would: write aside, rename.
fn rewrite(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, path).unwrap();
}

fn alerts(out: &Path) -> Vec<FileRecord> {
    let text = fs::read_to_string(out).unwrap_or_default();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn wait_for_alert(running: &Running, out: &Path, account: &str, after: usize) {
    let start = Instant::now();
    while alerts(out).iter().skip(after).all(|r| r.event.account.as_deref() != Some(account)) {
        assert!(
            start.elapsed() < HANG_GUARD,
            "no alert for {account}:\n{}",
            running.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The fill index of an alert (its tid, from the event id).
fn index(record: &FileRecord) -> usize {
    let id = &record.event.id; // hyperliquid:fill:<hash>:<tid>:<side>
    id.rsplit(':').nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_watchlist_edit_changes_which_accounts_alert_without_redeploy_or_loss() {
    let dir = tempfile::tempdir().unwrap();
    let (feed, list, out) = (
        dir.path().join("fills.ndjson"),
        dir.path().join("whales.txt"),
        dir.path().join("alerts.ndjson"),
    );
    frames(&feed);
    fs::write(&list, format!("# followed funds\n{}  fund A\n", ACCOUNTS[0])).unwrap();
    let config_path = dir.path().join("klaxon.toml");
    let config = format!(
        "{head}[sources.hl]\ntype = \"replay\"\nfiles = [\"{feed}\"]\nspeed = {SPEED}\n\
         [sinks.file]\ntype = \"file\"\npath = \"{out}\"\n\
         [watchlists.whales]\nfile = \"{list}\"\n\
         [templates.whales]\nfilter = {{ plugin = \"whale-fill\", params = {{ watchlist = \"whales\" }} }}\n\
         watchlists = [\"whales\"]\ndefault_cooldown = \"0s\"\nchannels = [\"file\"]\n",
        head = base_config(dir.path()).replace("watch = false", "watch = true"),
        feed = feed.display(),
        out = out.display(),
        list = list.display(),
    );
    fs::write(&config_path, config).unwrap();

    let mut cmd = klaxon();
    cmd.args(["run", "--config"]).arg(&config_path);
    let running = Running::spawn(cmd);
    let pid = running.child.id();

    wait_for_alert(&running, &out, ACCOUNTS[0], 0);
    // A duplicate entry: refused with file and line, fund A keeps alerting.
    rewrite(&list, &format!("{0}\n{0}\n", ACCOUNTS[1]));
    running.wait_stderr("Watchlist edit rejected", 1, HANG_GUARD);
    let seen = alerts(&out).len();
    wait_for_alert(&running, &out, ACCOUNTS[0], seen);
    // The real edit: fund B instead of fund A.
    rewrite(&list, &format!("{}  fund B\n", ACCOUNTS[1]));
    wait_for_alert(&running, &out, ACCOUNTS[1], 0);
    assert_eq!(running.child.id(), pid);

    let (code, stderr, _) = running.wait(HANG_GUARD);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(&format!("events={EVENTS} evaluated={EVENTS} unrouted=0")), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:2: duplicate entry `{}`", list.display(), ACCOUNTS[1])),
        "the refusal names file and line: {stderr}"
    );
    assert_eq!(stderr.matches("New plan published").count(), 0, "no plan rebuild, no redeploy");

    // One switch point: fund A's fills alert before it, fund B's from it
    // on, every one of them (none lost, none twice); fund C never.
    let records = alerts(&out);
    let by = |account: usize| -> Vec<usize> {
        let mut rows: Vec<usize> = records
            .iter()
            .filter(|r| r.event.account.as_deref() == Some(ACCOUNTS[account]))
            .map(index)
            .collect();
        rows.sort_unstable();
        rows
    };
    let (a, b, c) = (by(0), by(1), by(2));
    assert!(c.is_empty(), "fund C was never listed: {c:?}");
    let (last_a, first_b) = (*a.last().unwrap(), b[0]);
    assert!(
        last_a < first_b && first_b - last_a < 6,
        "one switch: A up to {last_a}, B from {first_b}"
    );
    let expect_a: Vec<usize> = (0..=last_a).filter(|i| i % 3 == 0).collect();
    let expect_b: Vec<usize> = (first_b..EVENTS).filter(|i| i % 3 == 1).collect();
    assert_eq!(a, expect_a, "every fund A fill before the switch alerted once");
    assert_eq!(b, expect_b, "every fund B fill after the switch alerted once");
    assert!(
        records.iter().any(|r| r.title.starts_with("Whale fund B")),
        "labels from the new list"
    );
}

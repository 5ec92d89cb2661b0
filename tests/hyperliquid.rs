//! The Hyperliquid live source end to end, through the `klaxon` binary,
//! against a local mock that acknowledges subscriptions with the real
//! `subscriptionResponse` shape and replays the recorded fixture frames on
//! the matching subscription: exact alerts (snapshot fills silent, the
//! liquidation flagged), splitting over connections, client pings, runtime
//! subscribe/unsubscribe after a template reload, and no duplicate alerts
//! after a reconnect that re-sends the same trades and fills.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use serde_json::{Value, json};
use support::mock_venue::{MockConn, MockVenue};
use support::{Running, base_config, fixtures, klaxon};

const HANG_GUARD: Duration = Duration::from_secs(60);
/// The account in the recorded fills.
const USER: &str = "0x2ad7672c2990107b8fd8130d896d5bdd2aa4a6b9";
const OTHER: &str = "0x000000000000000000000000000000000000beef";

/// Every trade and fill over $0, straight to a file.
const TEMPLATES: &str = r#"
[templates.hl-flow]
select = { venues = ["hyperliquid"], kinds = ["trade", "perp-fill", "liquidation"] }
filter = { plugin = "amount-threshold", params = { min_notional_usd = 0 } }
default_cooldown = "0s"
channels = ["file"]
"#;

/// Every book top: no stock filter passes a book top of a coin that never
/// traded (price-move needs trade windows), so a test plugin that passes
/// every event stands in.
const BOOK_TEMPLATE: &str = r#"
[templates.hl-books]
select = { venues = ["hyperliquid"], kinds = ["book-top"] }
filter = { plugin = "pass-all" }
default_cooldown = "0s"
channels = ["file"]
"#;

/// The recorded frames, raw (sent as recorded) and parsed (to match).
struct Recorded {
    frames: Vec<(Value, String)>,
}

impl Recorded {
    fn load(dir: &Path) -> Arc<Recorded> {
        let mut frames = Vec::new();
        for file in [
            "tardis_ws_messages.ndjson",
            "testnet_userFills_2023-12.ndjson",
            "nautilus_ws_user_fill_liquidation.json",
        ] {
            let text = fs::read_to_string(dir.join("hyperliquid").join(file)).unwrap();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                frames.push((serde_json::from_str(line).unwrap(), line.to_owned()));
            }
        }
        Arc::new(Recorded { frames })
    }

    /// The recorded frames a subscription would deliver. The recorded
    /// `userEvents` frame names no user; it is served to [`USER`].
    fn frames_for(&self, sub: &Value) -> Vec<String> {
        let (kind, coin, user) = (sub["type"].as_str().unwrap_or(""), &sub["coin"], &sub["user"]);
        let matches = |v: &Value| match (kind, v["channel"].as_str().unwrap_or("")) {
            ("trades", "trades") => &v["data"][0]["coin"] == coin,
            ("bbo", "bbo") | ("l2Book", "l2Book") => &v["data"]["coin"] == coin,
            ("userFills", "userFills") => &v["data"]["user"] == user,
            ("userEvents", "user") => user == USER,
            _ => false,
        };
        self.frames.iter().filter(|(v, _)| matches(v)).map(|(_, raw)| raw.clone()).collect()
    }
}

/// Answer pings and (un)subscriptions like Hyperliquid (coin `NOPE` gets
/// the venue's error reply instead of an ack); the first
/// connection is dropped after `drop_first_after` subscriptions, if set.
async fn serve(mut conn: MockConn, recorded: Arc<Recorded>, drop_first_after: Option<usize>) {
    let mut subscribed = 0;
    while let Some(text) = conn.recv().await {
        let Ok(message) = serde_json::from_str::<Value>(&text) else { continue };
        match message["method"].as_str() {
            Some("ping") => {
                conn.send(r#"{"channel":"pong"}"#).await;
            }
            Some("subscribe") if message["subscription"]["coin"] == "NOPE" => {
                conn.send(json!({"channel": "error", "data": format!("Invalid subscription {}", message["subscription"])}).to_string()).await;
            }
            Some(method @ ("subscribe" | "unsubscribe")) => {
                let ack = json!({"channel": "subscriptionResponse", "data": {"method": method, "subscription": message["subscription"]}});
                conn.send(ack.to_string()).await;
                if method == "unsubscribe" {
                    continue;
                }
                for frame in recorded.frames_for(&message["subscription"]) {
                    conn.send(frame).await;
                }
                subscribed += 1;
                if conn.id == 1 && Some(subscribed) == drop_first_after {
                    conn.close("going away").await;
                    return;
                }
            }
            _ => {}
        }
    }
}

fn mock(recorded: Arc<Recorded>, drop_first_after: Option<usize>) -> MockVenue {
    MockVenue::start(move |conn| serve(conn, recorded.clone(), drop_first_after), Router::new())
}

/// `(connection, subscription)` of every message with `method` the mock got.
fn sent(mock: &MockVenue, method: &str) -> Vec<(usize, Value)> {
    mock.received()
        .into_iter()
        .filter_map(|(conn, text)| serde_json::from_str::<Value>(&text).ok().map(|v| (conn, v)))
        .filter(|(_, v)| v["method"] == method)
        .map(|(conn, v)| (conn, v["subscription"].clone()))
        .collect()
}

fn trades(coin: &str) -> Value {
    json!({"type": "trades", "coin": coin})
}
fn user_subs(user: &str) -> [Value; 2] {
    [json!({"type": "userFills", "user": user}), json!({"type": "userEvents", "user": user})]
}

/// A config with the `hl` source (`source` holds its extra keys) and a file sink.
fn config(dir: &Path, mock: &MockVenue, source: &str, rest: &str) -> String {
    format!(
        "{}{rest}\n[sources.hl]\ntype = \"hyperliquid\"\nurl = \"{}\"\nping_interval = \"1s\"\n{source}\n\
         [sources.hl.connection]\nbackoff_min = \"10ms\"\nbackoff_max = \"100ms\"\nstall_after = \"5s\"\nconnect_timeout = \"5s\"\n\
         [sinks.file]\ntype = \"file\"\npath = \"{}\"\n{TEMPLATES}",
        base_config(dir),
        mock.ws_url("/ws"),
        dir.join("alerts.ndjson").display()
    )
}

fn start(dir: &Path, config: &str) -> Running {
    let path = dir.join("klaxon.toml");
    fs::write(&path, config).unwrap();
    let mut cmd = klaxon();
    cmd.args(["run", "--config"]).arg(&path);
    Running::spawn(cmd)
}

/// `(template, kind, symbol, event id, account, price, notional)` of every alert.
type Row = (String, String, String, String, String, String, String);

fn alerts(dir: &Path) -> Vec<Row> {
    let text = fs::read_to_string(dir.join("alerts.ndjson")).unwrap_or_default();
    let s = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let mut rows: Vec<Row> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|r| {
            let e = &r["event"];
            (
                s(&r["template"]),
                s(&e["kind"]),
                s(&e["symbol"]),
                s(&e["id"]),
                s(&e["account"]),
                s(&e["price"]),
                s(&e["notional_usd"]),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn wait_for_alerts(running: &Running, dir: &Path, n: usize) {
    let start = Instant::now();
    while alerts(dir).len() < n {
        assert!(
            start.elapsed() < HANG_GUARD,
            "only {:?}\n{}",
            alerts(dir),
            running.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Anything extra (a duplicate) would arrive in the same burst.
    std::thread::sleep(Duration::from_millis(500));
}

fn row(
    template: &str,
    kind: &str,
    symbol: &str,
    id: &str,
    account: &str,
    price: &str,
    notional: &str,
) -> Row {
    (
        template.into(),
        kind.into(),
        symbol.into(),
        id.into(),
        account.into(),
        price.into(),
        notional.into(),
    )
}

/// The alerts the recorded trades and fills produce: 6 trades, the 2 live
/// fills (the 5 snapshot fills are silent), and the liquidation, attributed
/// to the account whose `userEvents` carried it.
fn flow_rows() -> Vec<Row> {
    let t = |id: &str, sym: &str, px: &str, n: &str| {
        row("hl-flow", "trade", sym, &format!("hyperliquid:{sym}:{id}"), "null", px, n)
    };
    let fill = |kind: &str, sym: &str, hash: &str, px: &str, n: &str| {
        row("hl-flow", kind, sym, &format!("hyperliquid:fill:{hash}"), USER, px, n)
    };
    vec![
        t("611279506717453", "FXS", "1.9008", "19.95840"),
        t("809065877559592", "FXS", "1.9014", "17.30274"),
        t("1016375172059570", "BTC", "69997.0", "26676.556670"),
        t("479312521152049", "BTC", "69997.0", "23419.596260"),
        t("229986151112628", "BTC", "69997.0", "58526.591610"),
        t("696560709859024", "BTC", "69998.0", "499.785720"),
        fill(
            "perp-fill",
            "SUSHI",
            "0xa8d094ea02608a93f8e10408aeb273011000f6dac1c342ca641c4c2ab10ee431:163860968303999:B",
            "1.1803",
            "11.80300",
        ),
        fill(
            "perp-fill",
            "SUSHI",
            "0xf0b24a60430f02a94b450408aeb290011000ad8d9731cbbfa09f4a28cd686894:925391004589683:A",
            "1.18",
            "11.800",
        ),
        fill(
            "liquidation",
            "BTC",
            "0xe29fd267b4d2c6f0e41904231bbec90000daea4d4fd5e5c286687dba73d6a0db:745210434703679:A",
            "66653.0",
            "66.6530",
        ),
    ]
}

#[test]
fn recorded_frames_become_exact_alerts() {
    let Some(fixtures) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mock = mock(Recorded::load(&fixtures), None);
    let source = format!(
        "coins = [\"FXS\", \"BTC\", \"BANANA\", \"SHIA\", \"@162\"]\nchannels = [\"trades\", \"bbo\", \"l2Book\"]\naccounts = [\"{USER}\"]"
    );
    fs::create_dir(dir.path().join("plugins")).unwrap();
    fs::copy(support::plugin("swap-probe-v1"), dir.path().join("plugins/pass-all.wasm")).unwrap();
    let text = config(dir.path(), &mock, &source, "").replace(
        "watch = false",
        &format!("watch = false\ndir = \"{}/plugins\"", dir.path().display()),
    );
    let running = start(dir.path(), &format!("{text}{BOOK_TEMPLATE}"));
    let mut expected = flow_rows();
    // Two-sided books only, price = mid (the division keeps one more decimal): SHIA's empty l2Book and BTC's one-sided bbo are skipped.
    expected.push(row(
        "hl-books",
        "book-top",
        "BANANA",
        "hyperliquid:BANANA:book:1730160007687",
        "null",
        "59.80550",
        "null",
    ));
    expected.push(row(
        "hl-books",
        "book-top",
        "@162",
        "hyperliquid:@162:book:1750948919838",
        "null",
        "0.9792950",
        "null",
    ));
    expected.sort();
    wait_for_alerts(&running, dir.path(), expected.len());
    running.stop();
    assert_eq!(alerts(dir.path()), expected);
    // 5 coins × 3 channels + 2 per account, all on one connection, each once.
    let subs = sent(&mock, "subscribe");
    assert_eq!(subs.len(), 17);
    assert_eq!(subs.iter().map(|(_, s)| s.to_string()).collect::<BTreeSet<_>>().len(), 17);
    assert_eq!(mock.accepted(), 1);
}

#[test]
fn subscriptions_are_split_over_connections_and_each_pings() {
    let Some(fixtures) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mock = mock(Recorded::load(&fixtures), None);
    let source = format!(
        "coins = [\"BTC\", \"ETH\", \"SOL\"]\nchannels = [\"trades\"]\naccounts = [\"{USER}\"]\nsubscriptions_per_connection = 2\nfollow_templates = false"
    );
    let running = start(
        dir.path(),
        &config(dir.path(), &mock, &source, "")
            .replace("ping_interval = \"1s\"", "ping_interval = \"200ms\""),
    );
    let pinged = |m: &MockVenue| {
        let conns: BTreeSet<usize> = m
            .received()
            .iter()
            .filter(|(_, t)| t == r#"{"method":"ping"}"#)
            .map(|(c, _)| *c)
            .collect();
        conns.len() == 3
    };
    mock.wait_until("5 subscriptions and a ping on each of 3 connections", HANG_GUARD, |m| {
        sent(m, "subscribe").len() == 5 && pinged(m)
    });
    running.stop();
    let subs = sent(&mock, "subscribe");
    let mut per_connection: Vec<usize> =
        (1..=3).map(|c| subs.iter().filter(|(conn, _)| *conn == c).count()).collect();
    per_connection.sort();
    assert_eq!(per_connection, [1, 2, 2]);
    let objects: BTreeSet<String> = subs.iter().map(|(_, s)| s.to_string()).collect();
    let expected: BTreeSet<String> = [trades("BTC"), trades("ETH"), trades("SOL")]
        .into_iter()
        .chain(user_subs(USER))
        .map(|v| v.to_string())
        .collect();
    assert_eq!(objects, expected, "each subscription exactly once");
    assert_eq!(mock.accepted(), 3, "no reconnects");
    // userEvents frames do not name the user: never two on one connection.
    assert!(sent(&mock, "unsubscribe").is_empty());
}

/// `GET path` on the metrics server, as text.
fn http_get(port: u16, path: &str) -> String {
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    body
}

#[test]
fn template_reload_unsubscribes_and_subscribes_on_the_owning_connections() {
    let Some(fixtures) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mock = mock(Recorded::load(&fixtures), None);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = format!("[server]\nlisten = \"127.0.0.1:{port}\"");
    let watched = |templates: &str| {
        let text = config(dir.path(), &mock, "channels = [\"trades\"]", &server)
            .replace("watch = false", "watch = true");
        format!("{text}{templates}")
    };
    let before = format!(
        "[templates.btc]\nselect = {{ venues = [\"hyperliquid\"], symbols = [\"BTC\"] }}\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\n\
         [templates.whale]\nselect = {{ venues = [\"hyperliquid\"], accounts = [\"{USER}\"] }}\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\n"
    );
    let running = start(dir.path(), &watched(&before));
    mock.wait_until("the templates' 3 subscriptions", HANG_GUARD, |m| {
        sent(m, "subscribe").len() == 3
    });
    let metric = |n: usize| format!("klaxon_source_subscriptions{{source=\"hl\"}} {n}");
    let start_wait = Instant::now();
    while !http_get(port, "/metrics").contains(&metric(3)) {
        assert!(start_wait.elapsed() < HANG_GUARD, "gauge never showed 3");
        std::thread::sleep(Duration::from_millis(50));
    }

    // `whale` goes; `other` names a new account and a new coin.
    let after = before.split("[templates.whale]").next().unwrap().to_owned()
        + &format!(
            "[templates.other]\nselect = {{ venues = [\"hyperliquid\"], symbols = [\"ETH\"], accounts = [\"{OTHER}\"] }}\nfilter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\n"
        );
    fs::write(dir.path().join("klaxon.toml"), watched(&after)).unwrap();
    mock.wait_until("2 unsubscribes and 3 new subscriptions", HANG_GUARD, |m| {
        sent(m, "unsubscribe").len() == 2 && sent(m, "subscribe").len() == 6
    });
    let start_wait = Instant::now();
    // BTC and ETH trades, the new account's two streams.
    while !http_get(port, "/metrics").contains(&metric(4)) {
        assert!(
            start_wait.elapsed() < HANG_GUARD,
            "gauge never followed to 4:\n{}",
            http_get(port, "/metrics")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let stderr = running.stop();
    assert!(stderr.contains("Templates changed; updating Hyperliquid subscriptions."), "{stderr}");

    let subs = sent(&mock, "subscribe");
    let owner = |object: &Value| subs.iter().find(|(_, s)| s == object).map(|(c, _)| *c);
    // Unsubscribes carry the identical object, on the connection that subscribed it.
    let unsubs = sent(&mock, "unsubscribe");
    let gone: BTreeSet<String> = unsubs.iter().map(|(_, s)| s.to_string()).collect();
    assert_eq!(gone, user_subs(USER).iter().map(Value::to_string).collect());
    for (conn, object) in &unsubs {
        assert_eq!(Some(*conn), owner(object), "{object} unsubscribed on another connection");
    }
    let objects: Vec<String> = subs.iter().map(|(_, s)| s.to_string()).collect();
    let expected: Vec<String> = [trades("BTC")]
        .into_iter()
        .chain(user_subs(USER))
        .chain([trades("ETH")])
        .chain(user_subs(OTHER))
        .map(|v| v.to_string())
        .collect();
    assert_eq!(objects.iter().collect::<BTreeSet<_>>(), expected.iter().collect::<BTreeSet<_>>());
    assert_eq!(objects.len(), 6, "BTC is not subscribed twice");
    // The new account's userEvents does not share a connection with the old one's.
    assert_ne!(owner(&user_subs(OTHER)[1]), owner(&user_subs(USER)[1]));
}

#[test]
fn reconnect_resubscribes_and_replayed_fills_alert_once() {
    let Some(fixtures) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    // The first connection drops once its 4 subscriptions were served.
    let mock = mock(Recorded::load(&fixtures), Some(4));
    let source =
        format!("coins = [\"FXS\", \"BTC\"]\nchannels = [\"trades\"]\naccounts = [\"{USER}\"]");
    let running = start(dir.path(), &config(dir.path(), &mock, &source, ""));
    mock.wait_until("a reconnect that resubscribed everything", HANG_GUARD, |m| {
        m.accepted() == 2 && sent(m, "subscribe").iter().filter(|(c, _)| *c == 2).count() == 4
    });
    wait_for_alerts(&running, dir.path(), flow_rows().len());
    running.stop();
    let mut expected = flow_rows();
    expected.sort();
    assert_eq!(alerts(dir.path()), expected, "every trade and fill alerted exactly once");
    let subs = sent(&mock, "subscribe");
    let on = |conn: usize| {
        subs.iter().filter(|(c, _)| *c == conn).map(|(_, s)| s.to_string()).collect::<BTreeSet<_>>()
    };
    assert_eq!(on(1), on(2), "the same share after the reconnect");
}

#[test]
fn template_excess_is_refused_at_the_user_limit_and_venue_errors_are_logged() {
    let Some(fixtures) = fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mock = mock(Recorded::load(&fixtures), None);
    let templates = format!(
        "[templates.two-users]\nselect = {{ venues = [\"hyperliquid\"], symbols = [\"NOPE\"], accounts = [\"{USER}\", \"{OTHER}\"] }}\n\
         filter = {{ plugin = \"amount-threshold\", params = {{ min_notional_usd = 1 }} }}\n"
    );
    let text = config(dir.path(), &mock, "channels = [\"trades\"]\nmax_users = 1", "");
    let running = start(dir.path(), &format!("{text}{templates}"));
    running.wait_stderr("Hyperliquid replied with an error.", 1, HANG_GUARD);
    running.wait_stderr("Hyperliquid per-IP limit reached", 1, HANG_GUARD);
    // Only the first account (in sorted order) is tracked; the other is never sent.
    mock.wait_until("3 subscriptions", HANG_GUARD, |m| sent(m, "subscribe").len() == 3);
    let stderr = running.stop();
    let objects: BTreeSet<String> =
        sent(&mock, "subscribe").iter().map(|(_, s)| s.to_string()).collect();
    let expected: BTreeSet<String> =
        [trades("NOPE")].into_iter().chain(user_subs(OTHER)).map(|v| v.to_string()).collect();
    assert_eq!(objects, expected);
    let refusal = stderr.lines().find(|l| l.contains("Hyperliquid per-IP limit reached")).unwrap();
    assert!(
        refusal.contains("limit=\"max_users\"")
            && refusal.contains("max=1")
            && refusal.contains("refused=2")
            && refusal.contains(USER),
        "{refusal}"
    );
    let error = stderr.lines().find(|l| l.contains("Hyperliquid replied with an error.")).unwrap();
    assert!(error.contains("Invalid subscription") && error.contains("NOPE"), "{error}");
}

/// A venue that keeps the socket open but stops answering pings is left:
/// the client reconnects after one unanswered ping interval.
#[test]
fn unanswered_pings_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let deaf = MockVenue::start(
        |mut conn: MockConn| async move {
            while let Some(text) = conn.recv().await {
                let Ok(message) = serde_json::from_str::<Value>(&text) else { continue };
                if message["method"] == "subscribe" {
                    let ack = json!({"channel": "subscriptionResponse", "data": {"method": "subscribe", "subscription": message["subscription"]}});
                    conn.send(ack.to_string()).await;
                }
            }
        },
        Router::new(),
    );
    let source = "coins = [\"BTC\"]\nchannels = [\"trades\"]\nfollow_templates = false";
    let running = start(
        dir.path(),
        &config(dir.path(), &deaf, source, "")
            .replace("ping_interval = \"1s\"", "ping_interval = \"200ms\""),
    );
    let resubscribed = |m: &MockVenue| sent(m, "subscribe").iter().any(|(c, _)| *c == 2);
    deaf.wait_until(
        "a reconnect that resubscribes after an unanswered ping",
        HANG_GUARD,
        resubscribed,
    );
    let stderr = running.stop();
    assert!(stderr.contains("Hyperliquid did not answer the last ping; reconnecting."), "{stderr}");
    assert_eq!(sent(&deaf, "subscribe").iter().filter(|(c, _)| *c == 1).count(), 1);
}

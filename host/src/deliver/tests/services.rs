//! Each service's wire format and "slow down" signals; every fired alert
//! arrives exactly once.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::mock::{MockService, Resp, markdown_v2_valid, telegram};
use super::{FAST, deliveries, rows, run, sink, sqlite};
use crate::alert::Markup;
use crate::store::DeliveryStatus;

const TOKEN: &str = "123456:TEST-telegram-token";

/// Every accepted request's value at `key` (a JSON pointer), counted.
fn counts(mock: &MockService, pointer: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for req in mock.accepted() {
        let v = req.json().pointer(pointer).and_then(|v| v.as_str().map(str::to_owned));
        *out.entry(v.unwrap_or_default()).or_default() += 1;
    }
    out
}

fn exactly_once(mock: &MockService, pointer: &str, n: u32, text: impl Fn(u32) -> String) {
    let counts = counts(mock, pointer);
    for i in 0..n {
        assert_eq!(
            counts.get(&text(i)),
            Some(&1),
            "alert {i} not delivered exactly once: {counts:?}"
        );
    }
    assert_eq!(counts.values().sum::<usize>(), n as usize, "{counts:?}");
}

/// Gap between a throttled answer and the next request.
fn gap_after_first_throttle(mock: &MockService, status: u16) -> Duration {
    let log = mock.log();
    let i = log.iter().position(|(_, r)| r.status == status).expect("no throttled answer");
    log[i + 1].0.at - log[i].0.at
}

#[tokio::test]
async fn telegram_429_waits_retry_after_and_delivers_each_alert_once() {
    let mock = MockService::start(telegram(TOKEN, 1, |n| n == 1));
    let db = sqlite().await;
    let config = sink(&format!(
        "type = \"telegram\"\ntoken_env = \"TG\"\nchat_id = \"42\"\nbase_url = \"{}\"\n{FAST}",
        mock.url("")
    ));
    let summary =
        run(&db, "tg", config, &[("TG", TOKEN.into())], deliveries(5, |i| format!("body {i}")))
            .await;
    assert_eq!(summary.delivered, 5);
    exactly_once(&mock, "/text", 5, |i| format!("body {i}"));
    assert!(gap_after_first_throttle(&mock, 429) >= Duration::from_secs(1));
    let sent = rows(&db, DeliveryStatus::Sent).await;
    assert_eq!(sent.len(), 5);
    assert!(sent.iter().all(|r| r.message_id.as_deref().is_some_and(|m| m.starts_with("10"))));
    assert!(mock.log().iter().all(|(q, _)| q.json()["chat_id"] == "42"));
}

#[tokio::test]
async fn telegram_long_markdown_v2_arrives_as_several_valid_messages() {
    let mock = MockService::start(telegram(TOKEN, 1, |_| false));
    let db = sqlite().await;
    let config = sink(&format!(
        "type = \"telegram\"\ntoken_env = \"TG\"\nchat_id = \"42\"\nbase_url = \"{}\"\n{FAST}",
        mock.url("")
    ));
    let body: String = (0..400)
        .map(|i| format!("🔴 *BTC\\-PERP {i}* up *5\\.2%* at 61234\\.5 \\(1m\\)\n"))
        .collect();
    assert!(body.encode_utf16().count() > 3 * 4096);
    markdown_v2_valid(&body).unwrap();
    let mut d = crate::sinks::tests::delivery(0, "Long", &body);
    d.message.markup = Markup::MarkdownV2;
    run(&db, "tg", config, &[("TG", TOKEN.into())], vec![d]).await;
    let parts: Vec<String> =
        mock.accepted().iter().map(|r| r.json()["text"].as_str().unwrap().to_owned()).collect();
    assert!(parts.len() >= 4, "{} parts", parts.len());
    assert_eq!(mock.log().len(), parts.len(), "every part accepted the first time");
    for p in &parts {
        assert!(p.encode_utf16().count() <= 4096);
        markdown_v2_valid(p).unwrap();
    }
    assert_eq!(parts.join("\n"), body.trim_end());
    assert!(mock.accepted().iter().all(|r| r.json()["parse_mode"] == "MarkdownV2"));
    let sent = rows(&db, DeliveryStatus::Sent).await;
    assert_eq!(sent[0].message_id.as_deref().unwrap().split(',').count(), parts.len());
}

#[tokio::test]
async fn telegram_400_is_dead_with_description_and_migration_is_followed() {
    let mock = MockService::start(|req, _| {
        let chat = req.json()["chat_id"].as_str().unwrap_or("").to_owned();
        match (chat.as_str(), req.json()["text"].as_str().unwrap_or("")) {
            ("-100", _) => Resp::new(
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1009}}"#,
            ),
            (_, "bad") => Resp::new(
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: can't parse entities"}"#,
            ),
            _ => Resp::ok(200, r#"{"ok":true,"result":{"message_id":7}}"#),
        }
    });
    let db = sqlite().await;
    let config = sink(&format!(
        "type = \"telegram\"\ntoken_env = \"TG\"\nchat_id = \"-100\"\nbase_url = \"{}\"\n{FAST}",
        mock.url("")
    ));
    let ds = vec![
        crate::sinks::tests::delivery(0, "a", "bad"),
        crate::sinks::tests::delivery(1, "b", "good"),
    ];
    run(&db, "tg", config, &[("TG", TOKEN.into())], ds).await;
    let dead = rows(&db, DeliveryStatus::Dead).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 1, "a 400 is not retried");
    assert_eq!(dead[0].last_error.as_deref(), Some("HTTP 400: Bad Request: can't parse entities"));
    let sent = rows(&db, DeliveryStatus::Sent).await;
    assert_eq!(sent.len(), 1);
    let chats: Vec<String> =
        mock.log().iter().map(|(q, _)| q.json()["chat_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(chats, ["-100", "-1009", "-1009"], "migrated once, then stays on the new chat");
    assert!(dead[0].last_error.as_deref().is_some_and(|e| !e.contains(TOKEN)));
}

#[tokio::test]
async fn discord_honours_float_retry_after_and_rate_limit_headers() {
    let mock = MockService::start(|_, n| match n {
        1 => Resp::new(
            429,
            r#"{"message":"You are being rate limited.","retry_after":0.3,"global":false}"#,
        )
        .header("retry-after", "1"),
        2 => Resp::ok(200, format!(r#"{{"id":"m{n}"}}"#))
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset-after", "0.25"),
        _ => Resp::ok(200, format!(r#"{{"id":"m{n}"}}"#)).header("x-ratelimit-remaining", "4"),
    });
    let db = sqlite().await;
    let config = sink(&format!("type = \"discord\"\nurl_env = \"DISCORD\"\n{FAST}"));
    let url = mock.url("/api/webhooks/1/SECRET-discord-token");
    run(&db, "dc", config, &[("DISCORD", url)], deliveries(4, |i| format!("body {i}"))).await;
    exactly_once(&mock, "/embeds/0/description", 4, |i| format!("body {i}"));
    let log = mock.log();
    assert!(
        log[2].0.at - log[1].0.at >= Duration::from_millis(300),
        "body retry_after (float) wins"
    );
    assert!(log[3].0.at - log[2].0.at >= Duration::from_millis(250), "X-RateLimit-Reset-After");
    assert!(log.iter().all(|(q, _)| q.query == "wait=true"
        && q.json()["allowed_mentions"]["parse"] == serde_json::json!([])));
    assert_eq!(
        rows(&db, DeliveryStatus::Sent).await.iter().filter(|r| r.message_id.is_some()).count(),
        4
    );
}

#[tokio::test]
async fn slack_429_waits_retry_after() {
    let mock = MockService::start(|_, n| match n {
        0 => Resp::new(429, "rate_limited").header("retry-after", "1"),
        _ => Resp::ok(200, "ok"),
    });
    let db = sqlite().await;
    let config = sink(&format!("type = \"slack\"\nurl_env = \"SLACK\"\n{FAST}"));
    let url = mock.url("/services/T0/B0/SECRETslack");
    run(&db, "sl", config, &[("SLACK", url)], deliveries(3, |i| format!("a<b>&{i}"))).await;
    exactly_once(&mock, "/text", 3, |i| format!("a&lt;b&gt;&amp;{i}"));
    assert!(gap_after_first_throttle(&mock, 429) >= Duration::from_secs(1));
}

#[tokio::test]
async fn wecom_too_fast_errcode_holds_the_robot_then_resends() {
    let mock = MockService::start(|req, n| {
        if req.query != "key=SECRET-wecom-key" {
            return Resp::new(200, r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#);
        }
        match n {
            1 => Resp::new(200, r#"{"errcode":45009,"errmsg":"api freq out of limit, hint: [x]"}"#),
            _ => Resp::ok(200, r#"{"errcode":0,"errmsg":"ok"}"#),
        }
    });
    let db = sqlite().await;
    let config = sink(&format!(
        "type = \"wecom\"\nkey_env = \"WECOM\"\nbase_url = \"{}\"\nthrottle_hold = \"200ms\"\n{FAST}",
        mock.url("")
    ));
    run(
        &db,
        "wc",
        config,
        &[("WECOM", "SECRET-wecom-key".into())],
        deliveries(3, |i| format!("**{i}**")),
    )
    .await;
    exactly_once(&mock, "/markdown/content", 3, |i| format!("**{i}**"));
    assert!(
        mock.log()
            .iter()
            .all(|(q, _)| q.path == "/cgi-bin/webhook/send" && q.json()["msgtype"] == "markdown")
    );
    let log = mock.log();
    assert!(log[2].0.at - log[1].0.at >= Duration::from_millis(200), "held after 45009");
}

#[tokio::test]
async fn dingtalk_signed_robot_too_fast_codes_are_rate_limits() {
    let mock = MockService::start(|req, n| {
        let q: BTreeMap<String, String> = req
            .query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let ts: u64 = q.get("timestamp").and_then(|t| t.parse().ok()).unwrap_or(0);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"SECsigning").unwrap();
        mac.update(format!("{ts}\nSECsigning").as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let expected =
            percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        if q.get("access_token").map(String::as_str) != Some("SECRET-ding")
            || q.get("sign") != Some(&expected)
        {
            return Resp::new(200, r#"{"errcode":310000,"errmsg":"sign not match"}"#);
        }
        match n {
            1 => Resp::new(
                200,
                r#"{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}"#,
            ),
            2 => Resp::new(200, r#"{"errcode":410100,"errmsg":"发送速度太快而限流"}"#),
            _ => Resp::ok(200, r#"{"errcode":0,"errmsg":"ok"}"#),
        }
    });
    let db = sqlite().await;
    let config = sink(&format!(
        "type = \"dingtalk\"\ntoken_env = \"DT\"\nsecret_env = \"DTS\"\nbase_url = \"{}\"\nthrottle_hold = \"100ms\"\n{FAST}",
        mock.url("")
    ));
    let env = [("DT", "SECRET-ding".to_owned()), ("DTS", "SECsigning".to_owned())];
    run(&db, "dt", config, &env, deliveries(3, |i| format!("### {i}"))).await;
    exactly_once(&mock, "/markdown/text", 3, |i| format!("### {i}"));
    assert_eq!(mock.log().len(), 5, "two throttled answers, each resent");
    assert!(
        rows(&db, DeliveryStatus::Sent).await.iter().all(|r| r.attempts == 0),
        "throttling is not a failure"
    );
}

#[tokio::test]
async fn pagerduty_triggers_with_the_alert_key_and_resolves_a_retraction() {
    let mock = MockService::start(|req, n| match n {
        0 => Resp::new(429, "429 - Request Limit Exceeded"),
        _ => Resp::ok(
            202,
            format!(
                r#"{{"status":"success","message":"Event processed","dedup_key":"{}"}}"#,
                req.json()["dedup_key"].as_str().unwrap_or("")
            ),
        ),
    });
    let db = sqlite().await;
    let config = sink(&format!(
        "type = \"pagerduty\"\nrouting_key_env = \"PD\"\nbase_url = \"{}\"\n{FAST}",
        mock.url("")
    ));
    let ds = deliveries(1, |_| "b".into());
    let event = ds[0].alert.event.id.clone();
    run(&db, "pd", config.clone(), &[("PD", "R0UTINGKEY".into())], ds).await;
    db.log.enqueue_resolves(&event).await.unwrap();
    run(&db, "pd", config, &[("PD", "R0UTINGKEY".into())], Vec::new()).await;
    let accepted = mock.accepted();
    assert_eq!(accepted.len(), 2);
    let (trigger, resolve) = (accepted[0].json(), accepted[1].json());
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["dedup_key"], "whale-trades/BTCUSDT");
    assert_eq!(trigger["payload"]["severity"], "critical");
    assert_eq!(trigger["routing_key"], "R0UTINGKEY");
    let sent = rows(&db, DeliveryStatus::Sent).await;
    assert!(
        sent.iter()
            .any(|r| trigger["payload"]["custom_details"]["delivery_id"]
                == r.out.delivery_id.as_str())
    );
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], "whale-trades/BTCUSDT");
    assert!(mock.log().iter().all(|(q, _)| q.path == "/v2/enqueue"));
}

#[tokio::test]
async fn webhook_is_signed_and_keeps_its_id_across_retries() {
    let mock = MockService::start(|_, n| match n {
        0 => Resp::new(503, "busy").header("retry-after", "0"),
        1 => Resp::new(500, "oops"),
        _ => Resp::ok(204, ""),
    });
    let db = sqlite().await;
    let config = sink(&format!(
        "type = \"webhook\"\nurl = \"{}\"\nsecret_env = \"WH\"\nheaders = {{ \"X-Team\" = \"desk-1\" }}\n{FAST}",
        mock.url("/hook")
    ));
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    run(&db, "wh", config, &[("WH", secret.into())], deliveries(1, |_| "b".into())).await;
    let log = mock.log();
    assert_eq!(log.len(), 3);
    let id = log[0].0.header("webhook-id").unwrap().to_owned();
    assert!(
        log.iter().all(|(q, _)| q.header("webhook-id") == Some(id.as_str())),
        "same id on every retry"
    );
    let sent = rows(&db, DeliveryStatus::Sent).await;
    assert_eq!(sent[0].out.delivery_id, id);
    assert_eq!(sent[0].attempts, 1, "the 503 throttled, the 500 counted");
    for (req, _) in &log {
        assert_eq!(req.header("x-team"), Some("desk-1"));
        let ts: u64 = req.header("webhook-timestamp").unwrap().parse().unwrap();
        let key = base64::engine::general_purpose::STANDARD.decode(&secret[6..]).unwrap();
        let expected = crate::sinks::webhook_signature(&key, &id, ts, req.body.as_bytes());
        assert_eq!(req.header("webhook-signature"), Some(expected.as_str()));
        assert_eq!(req.json()["type"], "alert.fired");
    }
}

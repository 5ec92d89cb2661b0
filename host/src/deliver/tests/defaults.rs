//! The real default limits, not the fast test ones: a Telegram chat gets
//! about one message a second and a group 20 a minute, and a robot whose
//! 20-a-minute budget is spent gets what waits folded into one counted
//! message instead of a queue. Only lower bounds on gaps are asserted.

use std::time::Duration;

use super::mock::{MockService, Resp, telegram};
use super::{deliveries, rows, run, sink, sqlite};
use crate::store::DeliveryStatus;

const TOKEN: &str = "123456:TEST-defaults-token";

/// Gaps between consecutive requests the mock received.
fn gaps(mock: &MockService) -> Vec<Duration> {
    let log = mock.log();
    log.windows(2).map(|w| w[1].0.at - w[0].0.at).collect()
}

#[tokio::test]
async fn telegram_paces_a_chat_at_one_a_second_and_a_group_at_20_a_minute_by_default() {
    // Folding off, so every message waits its turn and the gaps show.
    let unfolded = "delivery = { fold = false, poll_interval = \"20ms\" }";
    for (chat, n, gap) in
        [("42", 3, Duration::from_millis(900)), ("-100777", 2, Duration::from_millis(2_800))]
    {
        let mock = MockService::start(telegram(TOKEN, 1, |_| false));
        let db = sqlite().await;
        let config = sink(&format!(
            "type = \"telegram\"\ntoken_env = \"TG\"\nchat_id = \"{chat}\"\nbase_url = \"{}\"\n{unfolded}",
            mock.url("")
        ));
        let body = |i| format!("chat {chat} body {i}");
        let summary =
            run(&db, "tg-defaults", config, &[("TG", TOKEN.into())], deliveries(n, body)).await;
        assert_eq!(summary.delivered, n as u64);
        assert_eq!(mock.accepted().len(), n as usize);
        assert!(gaps(&mock).iter().all(|g| *g >= gap), "chat {chat}: {:?}", gaps(&mock));
    }
}

#[tokio::test]
async fn a_robot_over_its_default_budget_folds_what_waits_into_one_counted_message() {
    let mock = MockService::start(|_, _| Resp::ok(200, r#"{"errcode":0,"errmsg":"ok"}"#));
    let db = sqlite().await;
    let config = sink(&format!(
        "type = \"wecom\"\nkey_env = \"WECOM\"\nbase_url = \"{}\"\ndelivery = {{ poll_interval = \"20ms\" }}",
        mock.url("")
    ));
    let env = [("WECOM", "SECRET-defaults-key".to_owned())];
    run(&db, "wc-defaults", config, &env, deliveries(10, |i| format!("**alert {i}**"))).await;
    let bodies: Vec<String> = mock
        .accepted()
        .iter()
        .map(|r| r.json()["markdown"]["content"].as_str().unwrap().to_owned())
        .collect();
    // The first goes at once; the other nine wait for the next slot (3 s at
    // 20 a minute) and go folded, in one message or two.
    assert_eq!(bodies[0], "**alert 0**");
    assert!((2..=3).contains(&bodies.len()), "{bodies:#?}");
    for i in 1..10 {
        let n = bodies.iter().filter(|b| b.contains(&format!("**alert {i}**"))).count();
        assert_eq!(n, 1, "alert {i}: {bodies:#?}");
    }
    assert!(bodies[1..].iter().all(|b| b.contains(" alerts")), "the count is in the message");
    assert!(gaps(&mock).iter().all(|g| *g >= Duration::from_millis(2_800)), "{:?}", gaps(&mock));
    let sent = rows(&db, DeliveryStatus::Sent).await;
    assert_eq!(sent.len(), 10, "every folded alert is accounted for");
}

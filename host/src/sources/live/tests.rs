use std::time::Duration;

use super::*;

#[test]
fn backoff_grows_with_jitter_and_stays_capped() {
    let config = ConnectionConfig { backoff_min: Duration::from_millis(100), backoff_max: Duration::from_secs(2), ..Default::default() };
    let delays: Vec<Duration> = config.backoff().take(12).collect();
    assert_eq!(delays.len(), 12, "never runs out");
    assert!(delays[0] >= Duration::from_millis(100));
    // Jitter adds up to one more delay; the cap bounds the base.
    assert!(delays.iter().all(|d| *d <= Duration::from_secs(4)), "{delays:?}");
    assert!(delays[8] > delays[0]);
}

#[test]
fn config_rejects_zero_and_inverted_bounds() {
    let config = ConnectionConfig { stall_after: Duration::ZERO, backoff_max: Duration::from_millis(1), ..Default::default() };
    let paths: Vec<String> = config.validate("sources.x").into_iter().map(|i| i.path).collect();
    assert_eq!(paths, ["sources.x.connection.stall_after", "sources.x.connection.backoff_max"]);
}

#[test]
fn guard_counts_connections_while_alive() {
    // Open before wanting, so a concurrent readiness test never sees this
    // source with zero of its wanted connections.
    let a = ConnectionGuard::open("guard-test");
    let b = ConnectionGuard::open("guard-test");
    health().want("guard-test", 2);
    assert!(health().snapshot()["guard-test"].ready());
    drop(a);
    assert_eq!(health().snapshot()["guard-test"], LinkHealth { up: 1, want: 2 });
    health().forget("guard-test");
    drop(b);
    assert_eq!(health().snapshot()["guard-test"], LinkHealth { up: 0, want: 0 }, "a forgotten source never counts as down");
}

#[tokio::test(start_paused = true)]
async fn reconnect_stops_on_cancel_and_waits_otherwise() {
    let cancel = CancellationToken::new();
    let mut reconnect = Reconnect::new("rc-test", &ConnectionConfig::default());
    assert!(reconnect.after(Err(LinkError::Stalled(Duration::from_secs(1))), &cancel).await);
    assert!(!reconnect.after(Ok(Ended::Cancelled), &cancel).await);
    cancel.cancel();
    assert!(!reconnect.after(Ok(Ended::Reconnect("closed")), &cancel).await);
    let stalls = metrics().source_stalls.with_label_values(&["rc-test"]).get();
    assert_eq!(stalls, 1);
}

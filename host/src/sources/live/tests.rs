use std::time::Duration;

use super::*;

#[test]
fn backoff_grows_with_jitter_and_stays_capped() {
    let config = ConnectionConfig {
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_secs(2),
        ..Default::default()
    };
    let delays: Vec<Duration> = config.backoff().take(12).collect();
    assert_eq!(delays.len(), 12, "never runs out");
    assert!(delays[0] >= Duration::from_millis(100));
    // Jitter adds up to one more delay; the cap bounds the base.
    assert!(delays.iter().all(|d| *d <= Duration::from_secs(4)), "{delays:?}");
    assert!(delays[8] > delays[0]);
}

#[test]
fn config_rejects_zero_and_inverted_bounds() {
    let config = ConnectionConfig {
        stall_after: Duration::ZERO,
        backoff_max: Duration::from_millis(1),
        ..Default::default()
    };
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
    assert_eq!(
        health().snapshot()["guard-test"],
        LinkHealth { up: 0, want: 0 },
        "a forgotten source never counts as down"
    );
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

#[tokio::test]
async fn live_emitter_records_stream_lag_per_event() {
    use crate::event::{Event, EventKind, Sym};
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let mut emitter = crate::sources::Emitter::new("lag-test".into(), tx, CancellationToken::new());
    emitter.record_lag();
    let sent_at = crate::clock::wall_ms() - 1_500;
    let event = Event::new(
        EventKind::Trade,
        Sym::new("binance"),
        Sym::new("BTCUSDT"),
        "lag:1".into(),
        sent_at,
    );
    emitter.send(event.clone()).await.unwrap();
    // No exchange time (0) means unknown, not 55 years of lag.
    emitter.send(Event { exchange_time_ms: 0, ..event }).await.unwrap();
    assert_eq!(rx.recv().await.unwrap()[0].id, "lag:1");
    let lag = metrics().source_lag.with_label_values(&["lag-test"]);
    assert_eq!(lag.get_sample_count(), 1);
    assert!(lag.get_sample_sum() >= 1.5, "{}", lag.get_sample_sum());
}

/// A one-connection WebSocket server on 127.0.0.1:0 running `script`.
async fn serve_once<F, Fut>(script: F) -> String
where
    F: FnOnce(tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        script(tokio_tungstenite::accept_async(tcp).await.unwrap()).await;
    });
    url
}

fn quick() -> ConnectionConfig {
    ConnectionConfig { stall_after: Duration::from_millis(200), ..Default::default() }
}

#[tokio::test]
async fn socket_answers_pings_passes_text_and_reports_silence_as_a_stall() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (pong_tx, pong_rx) = tokio::sync::oneshot::channel();
    let url = serve_once(|mut ws| async move {
        ws.send(Message::Ping(b"hb-1".to_vec().into())).await.unwrap();
        ws.send(Message::text("{\"x\":1}")).await.unwrap();
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Pong(payload) = message {
                let _ = pong_tx.send(payload.to_vec());
                break;
            }
        }
        // Keep the socket open but send nothing more: a stall.
        futures_util::future::pending::<()>().await;
    })
    .await;
    let mut socket = Socket::connect(&url, &quick()).await.unwrap();
    assert_eq!(socket.recv().await.unwrap(), Incoming::Text("{\"x\":1}".into()));
    assert_eq!(pong_rx.await.unwrap(), b"hb-1", "the pong echoes the ping payload");
    assert!(matches!(socket.recv().await, Err(LinkError::Stalled(_))));
}

#[tokio::test]
async fn socket_reports_the_close_reason_and_failed_connects_name_the_url() {
    use tokio_tungstenite::tungstenite::protocol::{CloseFrame, frame::coding::CloseCode};
    let url = serve_once(|mut ws| async move {
        let frame = CloseFrame { code: CloseCode::Away, reason: "maintenance".into() };
        ws.close(Some(frame)).await.unwrap();
    })
    .await;
    let mut socket = Socket::connect(&url, &quick()).await.unwrap();
    assert_eq!(socket.recv().await.unwrap(), Incoming::Closed(Some("maintenance".into())));

    let refused = Socket::connect("ws://127.0.0.1:1/ws", &quick()).await.err().unwrap();
    assert!(refused.to_string().starts_with("connect to ws://127.0.0.1:1/ws: "), "{refused}");
    assert_eq!(refused.reason(), "connect_failed");
}

#[tokio::test]
async fn rest_obeys_retry_after_then_succeeds_and_counts_the_throttle() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    let hits = Arc::new(AtomicU32::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/api/v3/depth",
        axum::routing::get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => (
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "1")],
                        "{}".to_owned(),
                    ),
                    _ => (
                        axum::http::StatusCode::OK,
                        [("x-mbx-used-weight-1m", "10")],
                        r#"{"lastUpdateId":7}"#.to_owned(),
                    ),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v3/depth", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let rest = Rest::new("rest-test", Duration::from_secs(5), Some(6000));
    match rest.get_json(&url).await {
        Err(RestError::Throttled { status: 429, retry_after, .. }) => {
            assert_eq!(retry_after, Duration::from_secs(1))
        }
        other => panic!("expected a 429 throttle, got {other:?}"),
    }
    assert_eq!(metrics().source_rest_throttled.with_label_values(&["rest-test", "429"]).get(), 1);
    // The next request goes out only after Retry-After, and succeeds.
    assert_eq!(rest.get_json(&url).await.unwrap()["lastUpdateId"], 7);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

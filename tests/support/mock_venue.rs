//! A local stand-in for a venue: WebSocket and HTTP on one `127.0.0.1:0`
//! port, driven by the test. Each test scripts what a connection does (send
//! recorded frames, answer subscriptions, go silent, drop) in `on_connect`,
//! and adds the REST routes its venue needs (depth snapshots, JSON-RPC).
//!
//! Every text frame a client sends is recorded with its connection number,
//! so tests assert on subscriptions, pings and unsubscribes as sent.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::Uri;
use axum::response::Response;

#[derive(Default)]
struct Shared {
    /// (connection number, frame) for every text frame clients sent.
    received: Mutex<Vec<(usize, String)>>,
    accepted: AtomicUsize,
    open: AtomicUsize,
}

type Handler =
    Arc<dyn Fn(MockConn) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

pub struct MockVenue {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    /// Keeps the server's runtime alive for as long as the mock.
    _runtime: tokio::runtime::Runtime,
}

impl MockVenue {
    /// Serve WebSocket upgrades on every path not taken by `http`; each
    /// connection runs `on_connect` until it returns (then the socket drops).
    pub fn start<F, Fut>(on_connect: F, http: Router) -> MockVenue
    where
        F: Fn(MockConn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let shared = Arc::new(Shared::default());
        let handler: Handler = Arc::new(move |conn| Box::pin(on_connect(conn)));
        let state = (handler, shared.clone());
        let app = http.merge(Router::new().fallback(upgrade).with_state(state));
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        MockVenue { addr, shared, _runtime: runtime }
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every text frame clients sent so far, with the connection number.
    pub fn received(&self) -> Vec<(usize, String)> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Connections accepted so far (1 for the first).
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Poll `cond` until it holds; panics after `limit` (a hang guard).
    pub fn wait_until(&self, what: &str, limit: Duration, cond: impl Fn(&MockVenue) -> bool) {
        let start = Instant::now();
        while !cond(self) {
            assert!(
                start.elapsed() < limit,
                "mock venue: never saw {what}; client sent {:#?}",
                self.received()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

async fn upgrade(
    State((handler, shared)): State<(Handler, Arc<Shared>)>,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| async move {
        let id = shared.accepted.fetch_add(1, Ordering::SeqCst) + 1;
        shared.open.fetch_add(1, Ordering::SeqCst);
        let path = uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
        handler(MockConn { id, path, socket, shared: shared.clone() }).await;
        shared.open.fetch_sub(1, Ordering::SeqCst);
    })
}

/// One accepted WebSocket connection, as the test's script sees it.
pub struct MockConn {
    /// 1 for the first connection the mock accepted.
    pub id: usize,
    /// Path and query the client connected to (`/stream?streams=…`).
    pub path: String,
    socket: WebSocket,
    shared: Arc<Shared>,
}

impl MockConn {
    /// Send a text frame; `false` once the client is gone.
    pub async fn send(&mut self, text: impl Into<String>) -> bool {
        self.socket.send(Message::Text(text.into().into())).await.is_ok()
    }

    pub async fn ping(&mut self, payload: &'static [u8]) -> bool {
        self.socket.send(Message::Ping(payload.into())).await.is_ok()
    }

    /// Next text frame from the client (recorded), answering nothing;
    /// `None` once it closed. Pongs come back as `"<pong:payload>"`.
    pub async fn recv(&mut self) -> Option<String> {
        loop {
            let text = match self.socket.recv().await? {
                Ok(Message::Text(t)) => t.as_str().to_owned(),
                Ok(Message::Pong(p)) => format!("<pong:{}>", String::from_utf8_lossy(&p)),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            };
            self.shared.received.lock().unwrap().push((self.id, text.clone()));
            return Some(text);
        }
    }

    /// Next client frame within `limit`, `None` on timeout or close.
    pub async fn recv_within(&mut self, limit: Duration) -> Option<String> {
        tokio::time::timeout(limit, self.recv()).await.ok().flatten()
    }

    /// Record client frames until it disconnects (for scripts that only send).
    pub async fn drain(mut self) {
        while self.recv().await.is_some() {}
    }

    /// Close with a close frame and `reason`.
    pub async fn close(mut self, reason: &'static str) {
        let frame = axum::extract::ws::CloseFrame { code: 1000, reason: reason.into() };
        let _ = self.socket.send(Message::Close(Some(frame))).await;
    }
}

//! One WebSocket connection, as every venue needs it: connect with a
//! timeout, answer pings (tungstenite queues the pong and flushes it on the
//! next read or write), surface text frames, and notice silence.
//!
//! [`Socket::recv`] is cancel-safe, so venue loops can `select!` it against
//! their own timers (Hyperliquid's client ping, Binance's 24 h limit) without
//! losing a frame.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{ConnectionConfig, LinkError};

/// What [`Socket::recv`] yields.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text frame (binary frames holding UTF-8 are passed on as text).
    Text(String),
    /// The venue closed the connection, with its reason if it gave one.
    Closed(Option<String>),
}

pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    stall_after: Duration,
    /// Last data frame; pings and pongs do not count, since a venue keeps
    /// pinging a feed that stopped sending data.
    last_data: Instant,
}

impl Socket {
    /// Open `url` (`ws://` or `wss://`) within `connect_timeout`.
    pub async fn connect(url: &str, config: &ConnectionConfig) -> Result<Socket, LinkError> {
        let failed = |reason: String| LinkError::Connect { url: url.to_owned(), reason };
        let (ws, _response) =
            tokio::time::timeout(config.connect_timeout, tokio_tungstenite::connect_async(url))
                .await
                .map_err(|_| failed(format!("timed out after {:?}", config.connect_timeout)))?
                .map_err(|e| failed(e.to_string()))?;
        Ok(Socket { ws, stall_after: config.stall_after, last_data: Instant::now() })
    }

    /// Send one JSON text frame.
    pub async fn send_json(&mut self, value: &serde_json::Value) -> Result<(), LinkError> {
        self.send_text(value.to_string()).await
    }

    pub async fn send_text(&mut self, text: String) -> Result<(), LinkError> {
        self.ws.send(Message::text(text)).await.map_err(|e| LinkError::Lost(e.to_string()))
    }

    /// The next text frame, answering pings on the way. Fails with
    /// [`LinkError::Stalled`] after `stall_after` without data.
    pub async fn recv(&mut self) -> Result<Incoming, LinkError> {
        loop {
            let deadline = self.last_data + self.stall_after;
            let next = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Err(LinkError::Stalled(self.stall_after)),
                Ok(None) => return Ok(Incoming::Closed(None)),
                Ok(Some(Err(e))) => return Err(LinkError::Lost(e.to_string())),
                Ok(Some(Ok(message))) => message,
            };
            match next {
                Message::Text(text) => {
                    self.last_data = Instant::now();
                    return Ok(Incoming::Text(text.as_str().to_owned()));
                }
                Message::Binary(bytes) => {
                    self.last_data = Instant::now();
                    return Ok(Incoming::Text(String::from_utf8_lossy(&bytes).into_owned()));
                }
                Message::Close(frame) => {
                    return Ok(Incoming::Closed(
                        frame.map(|f: CloseFrame| f.reason.as_str().to_owned()),
                    ));
                }
                // Pongs are queued by tungstenite; flush so they leave now
                // rather than with the next outgoing frame.
                Message::Ping(_) => {
                    let _ = self.ws.flush().await;
                }
                Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// Close politely; errors are irrelevant since we are leaving anyway.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
    }
}

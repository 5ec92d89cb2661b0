//! The loop of a source that holds one socket at a time (EVM, Solana):
//! connect, hold a [`ConnectionGuard`], run the venue's subscribed session,
//! close, and reconnect under [`Reconnect`] until cancelled. Sources with
//! many connections (Binance, Hyperliquid) run one such loop per connection
//! themselves.

use super::{ConnectionConfig, ConnectionGuard, Ended, LinkError, Reconnect, Socket, health};
use crate::sources::{Emitter, SourceError};
use crate::telemetry::metrics;

/// What a single-socket source supplies to [`run_sessions`].
pub(crate) trait Session {
    fn ws_url(&self) -> &str;
    fn connection(&self) -> &ConnectionConfig;
    /// Subscribe and read until the connection ends. The outer `Err` only
    /// when the output closed; the inner one is a reason to reconnect.
    async fn subscribed(
        &mut self,
        socket: &mut Socket,
        emitter: &mut Emitter,
    ) -> Result<Result<Ended, LinkError>, SourceError>;
}

/// Run sessions until cancelled; `Err` only when the output closed.
pub(crate) async fn run_sessions<S: Session>(
    source: &mut S,
    emitter: &mut Emitter,
) -> Result<(), SourceError> {
    let name = emitter.name().to_owned();
    health().want(&name, 1);
    let mut reconnect = Reconnect::new(&name, source.connection());
    loop {
        reconnect.session_started();
        let outcome = session(source, emitter).await?;
        if !reconnect.after(outcome, emitter.cancel()).await {
            return Ok(());
        }
    }
}

/// One connection, start to end.
async fn session<S: Session>(
    source: &mut S,
    emitter: &mut Emitter,
) -> Result<Result<Ended, LinkError>, SourceError> {
    let cancel = emitter.cancel().clone();
    let mut socket = match cancel
        .run_until_cancelled(Socket::connect(source.ws_url(), source.connection()))
        .await
    {
        None => return Ok(Ok(Ended::Cancelled)),
        Some(Err(e)) => return Ok(Err(e)),
        Some(Ok(socket)) => socket,
    };
    let _guard = ConnectionGuard::open(emitter.name());
    let outcome = source.subscribed(&mut socket, emitter).await;
    metrics().source_subscriptions.with_label_values(&[emitter.name()]).set(0);
    socket.close().await;
    outcome
}

//! The HTTP edge: `/health` (liveness), `/ready` (readiness), `/metrics`
//! (Prometheus text), the admin API under `/v1` ([`api`]) and the web console
//! at `/` ([`console`]). `app(state)`
//! is separate from serving so tests call it with `oneshot` and no socket.

pub mod api;
pub mod console;

pub use api::Admin;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::pipeline::DisabledTemplates;
use crate::plugins::TrapLedger;

/// What readiness looks at. Narrow handles, not the whole app.
#[derive(Clone)]
pub struct ReadyState {
    /// Set once the first plan is live and the pipeline is started.
    pub started: Arc<AtomicBool>,
    pub ledger: Arc<TrapLedger>,
    /// Templates left out at startup because their plugin failed validation.
    pub disabled: Arc<DisabledTemplates>,
}

pub fn app(state: ReadyState, admin: Admin) -> Router {
    let ready = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ready))
        .route(
            "/metrics",
            get(|| async {
                ([("content-type", "text/plain; version=0.0.4")], crate::telemetry::render())
            }),
        )
        .with_state(state);
    ready.merge(api::routes(admin)).merge(console::routes())
}

async fn ready(State(state): State<ReadyState>) -> impl IntoResponse {
    if !state.started.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "starting".to_owned());
    }
    let links = crate::sources::live::health().snapshot();
    let down: Vec<String> = links
        .iter()
        .filter(|(_, h)| h.up == 0 && h.want > 0)
        .map(|(name, h)| format!("source {name} has 0/{} connections", h.want))
        .collect();
    if !down.is_empty() {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {}", down.join("; ")));
    }
    let mut degraded: Vec<String> = state
        .ledger
        .disabled()
        .iter()
        .map(|(t, p, n)| format!("template {t} quarantined on {p} after {n} failures"))
        .collect();
    degraded.extend(
        state
            .disabled
            .list()
            .into_iter()
            .map(|(t, reason)| format!("template {t} disabled: {reason}")),
    );
    degraded.extend(
        links
            .iter()
            .filter(|(_, h)| !h.ready())
            .map(|(name, h)| format!("source {name} has {}/{} connections", h.up, h.want)),
    );
    if let Some((backend, error)) = crate::state::health().failing() {
        degraded.push(format!("state {backend} unavailable, deciding locally: {error}"));
    }
    degraded.extend(
        crate::deliver::health()
            .failing()
            .into_iter()
            .map(|(name, error)| format!("sink {name} cannot deliver: {error}")),
    );
    if degraded.is_empty() {
        (StatusCode::OK, "ready".to_owned())
    } else {
        (StatusCode::OK, format!("ready (degraded: {})", degraded.join("; ")))
    }
}

/// Serve on a bound listener until `cancel` fires. Binding is the caller's
/// job so that a taken port fails startup with a clear error.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ReadyState,
    admin: Admin,
    cancel: tokio_util::sync::CancellationToken,
) {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "Serving /health, /ready, /metrics and /v1.");
    }
    let served = axum::serve(listener, app(state, admin))
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await;
    if let Err(error) = served {
        tracing::error!(%error, "HTTP server stopped.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    #[tokio::test]
    async fn ready_only_after_start_and_metrics_render() {
        let state = ReadyState {
            started: Arc::default(),
            ledger: Arc::new(TrapLedger::new(3)),
            disabled: Arc::default(),
        };
        let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
        let res = app(state.clone(), Admin::off("test")).oneshot(get("/ready")).await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        state.started.store(true, Ordering::Relaxed);
        let res = app(state.clone(), Admin::off("test")).oneshot(get("/ready")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        // A live source with no connection open holds readiness back.
        let health = crate::sources::live::health();
        health.want("ready-test-source", 2);
        let res = app(state.clone(), Admin::off("test")).oneshot(get("/ready")).await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        assert!(
            String::from_utf8_lossy(&body).contains("source ready-test-source has 0/2 connections")
        );
        let guard = crate::sources::live::ConnectionGuard::open("ready-test-source");
        let res = app(state.clone(), Admin::off("test")).oneshot(get("/ready")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        assert!(
            String::from_utf8_lossy(&body).contains("degraded: source ready-test-source has 1/2")
        );
        health.forget("ready-test-source");
        drop(guard);
        // A sink that cannot deliver is named, and readiness holds.
        crate::deliver::health().set_failing("ready-test-sink", "HTTP 500: down");
        let res = app(state.clone(), Admin::off("test")).oneshot(get("/ready")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        assert!(
            String::from_utf8_lossy(&body)
                .contains("sink ready-test-sink cannot deliver: HTTP 500: down")
        );
        crate::deliver::health().set_ok("ready-test-sink");
        // A template disabled at startup is named with its reason.
        state.disabled.set(&[crate::pipeline::TemplateFailure {
            template: crate::alert::TemplateId::new("broken"),
            issues: vec![crate::issue::ConfigIssue::new(
                "templates.broken.filter.plugin",
                "plugin `broken` 0123456789ab (plugins/broken.wasm): not a valid component",
            )],
            files: Vec::new(),
        }]);
        let res = app(state.clone(), Admin::off("test")).oneshot(get("/ready")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        assert_eq!(
            String::from_utf8_lossy(&body),
            "ready (degraded: template broken disabled: templates.broken.filter.plugin: plugin `broken` 0123456789ab (plugins/broken.wasm): not a valid component)"
        );
        state.disabled.set(&[]);
        crate::telemetry::metrics().config_reloads.with_label_values(&["applied"]).inc();
        let res = app(state, Admin::off("test")).oneshot(get("/metrics")).await.unwrap();
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("klaxon_config_reloads_total"));
    }
}

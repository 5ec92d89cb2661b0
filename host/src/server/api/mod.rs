//! The admin API under `/v1` (`docs/admin-api.md`): bearer tokens from
//! the environment, a read-only token for GETs, body caps, JSON errors,
//! and an audit line for every accepted change.
//!
//! Handlers are thin: changes go to [`Control`] (the same validation and
//! atomic apply as the file watcher) on a blocking thread, reads go to the
//! live plan, the alert log and the live feed.

mod alerts;
mod auth;
mod feed;
mod templates;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::json;

use crate::app::{Control, Refusal};
use crate::config::raw::AdminConfig;
use crate::store::AlertLog;
use crate::telemetry::metrics;

pub use auth::Who;

/// The admin API's state, or why it is off.
#[derive(Clone)]
pub struct Admin {
    on: Result<Arc<AdminState>, Arc<str>>,
}

pub struct AdminState {
    tokens: auth::Tokens,
    control: Control,
    log_url: String,
    log: tokio::sync::OnceCell<AlertLog>,
    limits: AdminConfig,
}

impl Admin {
    /// On when `config.token_env` names a set, non-empty variable.
    pub fn new(config: &AdminConfig, control: Control, log_url: &str) -> Admin {
        let on = auth::Tokens::from_env(config).map(|tokens| {
            Arc::new(AdminState {
                tokens,
                control,
                log_url: log_url.to_owned(),
                log: tokio::sync::OnceCell::new(),
                limits: config.clone(),
            })
        });
        if let Err(why) = &on {
            tracing::info!("Admin API is off: {why}");
        }
        Admin { on: on.map_err(Arc::from) }
    }

    /// Off, for servers without a control plane (tests of `/ready`).
    pub fn off(why: &str) -> Admin {
        Admin { on: Err(Arc::from(why)) }
    }
}

impl AdminState {
    /// The alert log, opened on first use.
    async fn log(&self) -> Result<&AlertLog, ApiError> {
        self.log
            .get_or_try_init(|| AlertLog::open(&self.log_url))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))
    }
}

/// Every `/v1` route; 404 with the reason when the API is off.
pub fn routes(admin: Admin) -> Router {
    let state = match admin.on {
        Ok(state) => state,
        Err(why) => {
            let off = move || {
                let why = why.clone();
                async move { ApiError::new(StatusCode::NOT_FOUND, format!("admin API is off: {why}")) }
            };
            return Router::new()
                .route("/v1/{*rest}", axum::routing::any(off.clone()))
                .route("/v1", axum::routing::any(off));
        }
    };
    let limits = &state.limits;
    Router::new()
        .route("/v1/status", get(templates::status))
        .route("/v1/templates", get(templates::list))
        .route(
            "/v1/templates/{name}",
            get(templates::one).put(templates::put).delete(templates::delete),
        )
        .route(
            "/v1/templates/{name}/rollout",
            get(templates::rollout).post(templates::start_rollout),
        )
        .route("/v1/templates/{name}/rollout/promote", post(templates::promote))
        .route("/v1/templates/{name}/rollout/rollback", post(templates::rollback))
        .route("/v1/plugins", get(templates::plugins))
        .route(
            "/v1/plugins/{name}",
            put(templates::put_plugin).layer(DefaultBodyLimit::max(limits.max_plugin_bytes)),
        )
        .route("/v1/reload", post(templates::reload))
        .route("/v1/sources", get(templates::sources))
        .route("/v1/alerts", get(alerts::list))
        .route("/v1/alerts/{id}", get(alerts::one))
        .route("/v1/alerts/{id}/why", get(alerts::why))
        .route("/v1/deliveries/dead", get(alerts::dead))
        .route("/v1/events", get(feed::events))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .with_state(state)
}

/// An error answer: `{"error", "issues"}` with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    issues: Vec<crate::issue::ConfigIssue>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: String) -> ApiError {
        ApiError { status, error, issues: Vec::new() }
    }

    fn internal(error: String) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error)
    }

    fn bad_request(field: &str, message: &str) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error: format!("{field}: {message}"),
            issues: vec![crate::issue::ConfigIssue::new(field, message)],
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        let (status, error, issues) = match r {
            Refusal::Malformed { error, issues } => (StatusCode::BAD_REQUEST, error, issues),
            Refusal::NotFound(e) => (StatusCode::NOT_FOUND, e, Vec::new()),
            Refusal::Conflict(e) => (StatusCode::CONFLICT, e, Vec::new()),
            Refusal::Failed { error, issues } => (StatusCode::UNPROCESSABLE_ENTITY, error, issues),
            Refusal::Internal(e) => (StatusCode::INTERNAL_SERVER_ERROR, e, Vec::new()),
        };
        ApiError { status, error, issues }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let issues: Vec<_> =
            self.issues.iter().map(|i| json!({ "field": i.path, "message": i.message })).collect();
        let body = json!({ "error": self.error, "issues": issues });
        (self.status, axum::Json(body)).into_response()
    }
}

/// Run `work` on a blocking thread: anything that takes the reloader's
/// lock (held for seconds while a change builds its plan) or builds a plan
/// must not stall the runtime's workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("admin task panicked: {e}")))
}

/// Run a change on a blocking thread (it builds a plan), audit and count
/// it, and answer `{"generation"}` plus `extra`.
async fn change(
    who: Who,
    action: &'static str,
    target: String,
    work: impl FnOnce() -> Result<(u64, serde_json::Value), Refusal> + Send + 'static,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let outcome = blocking(work).await?;
    match outcome {
        Ok((generation, mut extra)) => {
            metrics().admin_requests.with_label_values(&[action, "ok"]).inc();
            tracing::info!(
                target: "klaxon::audit", who = who.0, action, %target, generation,
                "Admin change applied."
            );
            extra["generation"] = json!(generation);
            Ok(axum::Json(extra))
        }
        Err(refusal) => {
            metrics().admin_requests.with_label_values(&[action, "refused"]).inc();
            let error = ApiError::from(refusal);
            tracing::warn!(
                target: "klaxon::audit", who = who.0, action, %target, error = %error.error,
                "Admin change refused; nothing changed."
            );
            Err(error)
        }
    }
}

//! The alert log through the API: queries, one alert, its "why", and the
//! dead letters.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Json;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminState, ApiError, blocking};
use crate::alert::DecidedBy;
use crate::clock::{Clock, SystemClock};
use crate::store::{AlertQuery, AlertRecord, AlertStatus, DeliveryQuery, DeliveryStatus};

type Answer = Result<Json<Value>, ApiError>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    template: Option<String>,
    /// fired, suppressed or retracted.
    status: Option<String>,
    /// e.g. `1h`, `30m`.
    since: Option<String>,
    limit: Option<u32>,
}

pub async fn list(State(s): State<Arc<AdminState>>, Query(p): Query<ListParams>) -> Answer {
    let (status, retracted) = match p.status.as_deref().map(AlertQuery::status_filter) {
        None => (None, false),
        Some(Some(filter)) => filter,
        Some(None) => {
            return Err(ApiError::bad_request("status", "expected fired, suppressed or retracted"));
        }
    };
    let since_ms = match p.since.as_deref().map(humantime::parse_duration) {
        None => None,
        Some(Ok(d)) => Some(SystemClock.now_ms().saturating_sub(d.as_millis() as u64)),
        Some(Err(e)) => return Err(ApiError::bad_request("since", &e.to_string())),
    };
    let limit = p.limit.unwrap_or(100).min(1000);
    let q = AlertQuery { template: p.template, status, retracted, since_ms, limit };
    let rows = s.log().await?.query(&q).await.map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(Value::Array(rows.iter().map(AlertRecord::to_json).collect())))
}

async fn record(s: &AdminState, id: &str) -> Result<AlertRecord, ApiError> {
    let found = s.log().await?.get(id).await.map_err(|e| ApiError::internal(e.to_string()))?;
    found.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, format!("no alert `{id}` in the alert log"))
    })
}

pub async fn one(State(s): State<Arc<AdminState>>, Path(id): Path<String>) -> Answer {
    Ok(Json(record(&s, &id).await?.to_json()))
}

/// Why an alert went the way it did: the filter that passed it, the key's
/// history the policy saw, the decision and who made it, the versions, and
/// each channel's delivery.
pub async fn why(State(s): State<Arc<AdminState>>, Path(id): Path<String>) -> Answer {
    let r = record(&s, &id).await?;
    let q = DeliveryQuery { alert_id: Some(id.clone()), ..Default::default() };
    let deliveries =
        s.log().await?.deliveries(&q).await.map_err(|e| ApiError::internal(e.to_string()))?;
    let mut deliveries: Vec<Value> = deliveries
        .iter()
        .map(|d| {
            json!({
                "channel": d.channel, "action": d.out.action.as_str(), "status": d.status.as_str(),
                "attempts": d.attempts, "last_error": d.last_error, "message_id": d.message_id,
                "folded_into": d.folded_into, "updated_at_ms": d.updated_at_ms,
            })
        })
        .collect();
    if r.status == AlertStatus::Fired {
        let (control, template) = (s.control.clone(), r.template.clone());
        let local = blocking(move || local_channels(&control, template.as_str())).await?;
        deliveries.extend(local.into_iter().map(|channel| {
            json!({ "channel": channel, "status": "local", "note": "written directly by a local sink; no outbox row" })
        }));
    }
    let decider = match r.trace.by {
        DecidedBy::Policy => r.versions.cooldown.clone(),
        DecidedBy::Default | DecidedBy::Elsewhere => None,
    };
    Ok(Json(json!({
        "alert": r.to_json(),
        "filter": {
            "plugin": r.versions.filter, "title": r.title,
            "fields": serde_json::from_str::<Value>(&r.fields).unwrap_or_default(),
            "severity": r.severity, "value": r.value,
        },
        "history": r.trace.history,
        "decision": {
            "status": r.status.as_str(), "by": r.trace.by.as_str(), "plugin": decider,
            "code": r.reason_code, "reason": r.reason,
        },
        "versions": r.versions,
        "deliveries": deliveries,
    })))
}

/// The template's channels whose sinks write directly (stdout, file), so
/// the outbox has no row for them.
fn local_channels(control: &crate::app::Control, template: &str) -> Vec<String> {
    let r = control.reloader.lock().expect("reloader poisoned");
    let raw = r.current().raw();
    let Some(t) = raw.templates.get(template) else { return Vec::new() };
    let local = |c: &&String| {
        raw.sinks.get(c.as_str()).is_some_and(|k| {
            matches!(k, crate::sinks::SinkConfig::Stdout(_) | crate::sinks::SinkConfig::File(_))
        })
    };
    t.channels.iter().filter(local).cloned().collect()
}

pub async fn dead(State(s): State<Arc<AdminState>>) -> Answer {
    let q = DeliveryQuery {
        status: Some(DeliveryStatus::Dead),
        limit: Some(500),
        ..Default::default()
    };
    let rows =
        s.log().await?.deliveries(&q).await.map_err(|e| ApiError::internal(e.to_string()))?;
    let rows: Vec<Value> = rows
        .iter()
        .map(|d| {
            json!({
                "id": d.out.delivery_id, "alert_id": d.out.alert_id, "channel": d.channel,
                "template": d.out.template, "key": d.out.alert_key, "title": d.out.title,
                "attempts": d.attempts, "last_error": d.last_error, "updated_at_ms": d.updated_at_ms,
            })
        })
        .collect();
    Ok(Json(Value::Array(rows)))
}

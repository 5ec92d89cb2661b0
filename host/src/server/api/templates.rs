//! Templates, plugins, rollouts, reloads and sources: the endpoints that
//! read or change what runs.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Json;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminState, ApiError, Who, blocking, change};
use crate::app::config_edit::{self, TemplateBody};
use crate::config::raw::RolloutKind;
use crate::config::validate::is_plugin_name;

type Answer = Result<Json<Value>, ApiError>;

/// Template names the API accepts: plain TOML keys, nothing to escape.
fn check_template_name(name: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(ApiError::bad_request("name", "must match [A-Za-z0-9_-]{1,64}")) }
}

pub async fn status(State(s): State<Arc<AdminState>>) -> Answer {
    let control = s.control.clone();
    let (path, templates) = blocking(move || {
        let r = control.reloader.lock().expect("reloader poisoned");
        (r.path().map(|p| p.display().to_string()), r.current().raw().templates.len())
    })
    .await?;
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "generation": s.control.plan.load().generation,
        "config": path,
        "templates": templates,
    })))
}

async fn views(s: &AdminState) -> Result<Vec<crate::app::control::TemplateView>, ApiError> {
    let control = s.control.clone();
    blocking(move || control.templates()).await
}

pub async fn list(State(s): State<Arc<AdminState>>) -> Answer {
    Ok(Json(json!(views(&s).await?)))
}

pub async fn one(State(s): State<Arc<AdminState>>, Path(name): Path<String>) -> Answer {
    let view = views(&s).await?.into_iter().find(|v| v.name == name);
    let view =
        view.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no template `{name}`")))?;
    let control = s.control.clone();
    let text = blocking(move || config_text(&control)).await?;
    let mut answer = json!(view);
    answer["config"] =
        text.and_then(|t| config_edit::template_json(&t, &name)).unwrap_or(Value::Null);
    Ok(Json(answer))
}

/// The config file's text, for showing a template as written.
fn config_text(control: &crate::app::Control) -> Option<String> {
    let r = control.reloader.lock().expect("reloader poisoned");
    std::fs::read_to_string(r.path()?).ok()
}

pub async fn put(
    State(s): State<Arc<AdminState>>,
    Extension(who): Extension<Who>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    check_template_name(&name)?;
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::bad_request("body", "is not UTF-8"))?;
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let json = match json_body {
        true => Some(serde_json::from_str::<Value>(&text).map_err(|e| {
            ApiError::bad_request(&format!("templates.{name}"), &format!("not JSON: {e}"))
        })?),
        false => None,
    };
    let control = s.control.clone();
    change(who, "put_template", name.clone(), move || {
        let body = match &json {
            Some(json) => TemplateBody::Json(json),
            None => TemplateBody::Toml(&text),
        };
        let generation = control.edit_config(|c| config_edit::put_template(c, &name, body))?;
        Ok((generation, json!({ "template": name })))
    })
    .await
}

pub async fn delete(
    State(s): State<Arc<AdminState>>,
    Extension(who): Extension<Who>,
    Path(name): Path<String>,
) -> Answer {
    edit_named(&s, who, "delete_template", name, config_edit::delete_template).await
}

/// A change of one template's config that needs nothing but its name.
async fn edit_named(
    s: &AdminState,
    who: Who,
    action: &'static str,
    name: String,
    edit: fn(&str, &str) -> Result<String, config_edit::EditError>,
) -> Answer {
    let control = s.control.clone();
    change(who, action, name.clone(), move || {
        let generation = control.edit_config(|c| edit(c, &name))?;
        Ok((generation, json!({ "template": name })))
    })
    .await
}

pub async fn rollout(State(s): State<Arc<AdminState>>, Path(name): Path<String>) -> Answer {
    let view = views(&s).await?.into_iter().find(|v| v.name == name);
    let view =
        view.ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no template `{name}`")))?;
    Ok(Json(json!({ "template": name, "rollout": view.rollout, "arms": view.arms })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRollout {
    kind: RolloutKind,
    plugin: String,
    share: f64,
    #[serde(default)]
    params: Option<Value>,
}

pub async fn start_rollout(
    State(s): State<Arc<AdminState>>,
    Extension(who): Extension<Who>,
    Path(name): Path<String>,
    body: Bytes,
) -> Answer {
    let start: StartRollout = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request("body", &format!("expected {{kind, plugin, share, params?}}: {e}"))
    })?;
    if !is_plugin_name(&start.plugin) {
        return Err(ApiError::bad_request("plugin", "must match [a-z0-9-]{1,64}"));
    }
    let control = s.control.clone();
    let target = format!("{name} {} -> {} at {}", start.kind.as_str(), start.plugin, start.share);
    change(who, "start_rollout", target, move || {
        let edit = |c: &str| {
            let p = start.params.as_ref();
            config_edit::start_rollout(c, &name, start.kind, &start.plugin, start.share, p)
        };
        Ok((control.edit_config(edit)?, json!({ "template": name })))
    })
    .await
}

pub async fn promote(
    State(s): State<Arc<AdminState>>,
    Extension(who): Extension<Who>,
    Path(name): Path<String>,
) -> Answer {
    edit_named(&s, who, "promote_rollout", name, config_edit::promote_rollout).await
}

pub async fn rollback(
    State(s): State<Arc<AdminState>>,
    Extension(who): Extension<Who>,
    Path(name): Path<String>,
) -> Answer {
    edit_named(&s, who, "rollback_rollout", name, config_edit::rollback_rollout).await
}

pub async fn plugins(State(s): State<Arc<AdminState>>) -> Answer {
    let control = s.control.clone();
    let views = blocking(move || control.plugins()).await?;
    Ok(Json(json!(views)))
}

pub async fn put_plugin(
    State(s): State<Arc<AdminState>>,
    Extension(who): Extension<Who>,
    Path(name): Path<String>,
    body: Bytes,
) -> Answer {
    if !is_plugin_name(&name) {
        return Err(ApiError::bad_request("name", "must match [a-z0-9-]{1,64}"));
    }
    let control = s.control.clone();
    change(who, "put_plugin", name.clone(), move || {
        let (version, generation) = control.put_plugin(&name, &body)?;
        Ok((generation, json!({ "name": name, "version": version })))
    })
    .await
}

pub async fn reload(State(s): State<Arc<AdminState>>, Extension(who): Extension<Who>) -> Answer {
    let control = s.control.clone();
    change(who, "reload", "config and plugins".into(), move || Ok((control.reload()?, json!({}))))
        .await
}

/// Configured sources with their live connection state; a source that
/// holds no connections (replay, synthetic) is `running`.
pub async fn sources(State(s): State<Arc<AdminState>>) -> Answer {
    let control = s.control.clone();
    let names = blocking(move || {
        let r = control.reloader.lock().expect("reloader poisoned");
        let kinds: Vec<(String, String)> = r
            .current()
            .raw()
            .sources
            .iter()
            .map(|(name, c)| (name.clone(), c.type_name().to_owned()))
            .collect();
        kinds
    })
    .await?;
    let links = crate::sources::live::health().snapshot();
    let rows: Vec<Value> = names
        .into_iter()
        .map(|(name, kind)| {
            let link = links.get(&name);
            let state = match link {
                None => "running",
                Some(h) if h.want == 0 => "finished",
                Some(h) if h.up == 0 => "down",
                Some(h) if h.up < h.want => "partial",
                Some(_) => "up",
            };
            json!({
                "name": name, "type": kind, "state": state,
                "connections": link.map(|h| h.up), "want": link.map(|h| h.want),
            })
        })
        .collect();
    Ok(Json(json!(rows)))
}

//! Edits of the config file's text for the admin API: a template put,
//! removed, or its rollout started, promoted or rolled back. `toml_edit`
//! keeps every comment and the layout of what the edit does not touch, so
//! a file ops maintain by hand stays theirs.
//!
//! These functions only produce text; the caller validates it exactly as a
//! file edit would be (`load_str`, then a staged plan) before writing it.

use toml_edit::{DocumentMut, Item, Table, Value};

use crate::config::raw::RolloutKind;

/// Why an edit could not be made; the field it concerns, if any.
#[derive(Debug, Clone, PartialEq)]
pub enum EditError {
    /// The body or the file does not parse.
    Malformed {
        field: String,
        message: String,
    },
    NotFound(String),
}

/// A template body as sent: its table in TOML, or the same as JSON.
pub enum TemplateBody<'a> {
    Toml(&'a str),
    Json(&'a serde_json::Value),
}

fn parse(text: &str, field: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>()
        .map_err(|e| EditError::Malformed { field: field.to_owned(), message: e.to_string() })
}

fn templates(doc: &mut DocumentMut) -> &mut Table {
    let item = doc.entry("templates").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    item.as_table_mut().expect("validated configs have a templates table")
}

fn template<'d>(doc: &'d mut DocumentMut, name: &str) -> Result<&'d mut Table, EditError> {
    templates(doc)
        .get_mut(name)
        .and_then(Item::as_table_mut)
        .ok_or_else(|| EditError::NotFound(format!("no template `{name}`")))
}

/// `config` with `templates.<name>` set to `body`.
pub fn put_template(config: &str, name: &str, body: TemplateBody<'_>) -> Result<String, EditError> {
    let field = format!("templates.{name}");
    let table = match body {
        TemplateBody::Toml(text) => parse(text, &field)?.as_table().clone(),
        TemplateBody::Json(json) => {
            let value = toml::Value::try_from(json).map_err(|e| EditError::Malformed {
                field: field.clone(),
                message: format!("not expressible in TOML: {e}"),
            })?;
            let toml::Value::Table(_) = &value else {
                let message = "must be an object".to_owned();
                return Err(EditError::Malformed { field, message });
            };
            let text = toml::to_string(&value).map_err(|e| EditError::Malformed {
                field: field.clone(),
                message: e.to_string(),
            })?;
            parse(&text, &field)?.as_table().clone()
        }
    };
    let mut doc = parse(config, "config")?;
    let mut table = table;
    table.set_implicit(false);
    templates(&mut doc).insert(name, Item::Table(table));
    Ok(doc.to_string())
}

/// `config` without `templates.<name>`.
pub fn delete_template(config: &str, name: &str) -> Result<String, EditError> {
    let mut doc = parse(config, "config")?;
    templates(&mut doc)
        .remove(name)
        .ok_or_else(|| EditError::NotFound(format!("no template `{name}`")))?;
    Ok(doc.to_string())
}

/// `config` with a rollout on `templates.<name>`.
pub fn start_rollout(
    config: &str,
    name: &str,
    kind: RolloutKind,
    plugin: &str,
    share: f64,
    params: Option<&serde_json::Value>,
) -> Result<String, EditError> {
    let mut doc = parse(config, "config")?;
    let t = template(&mut doc, name)?;
    let mut rollout = toml_edit::InlineTable::new();
    rollout.insert("kind", kind.as_str().into());
    rollout.insert("plugin", plugin.into());
    rollout.insert("share", share.into());
    if let Some(params) = params {
        rollout.insert("params", json_value(params, &format!("templates.{name}.rollout.params"))?);
    }
    t.insert("rollout", Item::Value(Value::InlineTable(rollout)));
    Ok(doc.to_string())
}

/// `config` with the rollout's plugin (and params) made the template's
/// own, and the rollout gone.
pub fn promote_rollout(config: &str, name: &str) -> Result<String, EditError> {
    let mut doc = parse(config, "config")?;
    let t = template(&mut doc, name)?;
    let rollout = t
        .remove("rollout")
        .ok_or_else(|| EditError::NotFound(format!("template `{name}` has no rollout")))?;
    let field = format!("templates.{name}.rollout");
    let bad =
        |message: &str| EditError::Malformed { field: field.clone(), message: message.into() };
    let get = |key: &str| rollout.get(key).and_then(Item::as_value).cloned();
    let kind =
        get("kind").and_then(|v| v.as_str().map(str::to_owned)).ok_or_else(|| bad("no kind"))?;
    let plugin = get("plugin").ok_or_else(|| bad("no plugin"))?;
    let params = get("params")
        .or_else(|| t.get(&kind).and_then(|u| u.get("params")).and_then(Item::as_value).cloned());
    let mut used = toml_edit::InlineTable::new();
    used.insert("plugin", plugin);
    if let Some(params) = params {
        used.insert("params", params);
    }
    t.insert(&kind, Item::Value(Value::InlineTable(used)));
    Ok(doc.to_string())
}

/// `config` without the template's rollout.
pub fn rollback_rollout(config: &str, name: &str) -> Result<String, EditError> {
    let mut doc = parse(config, "config")?;
    template(&mut doc, name)?
        .remove("rollout")
        .ok_or_else(|| EditError::NotFound(format!("template `{name}` has no rollout")))?;
    Ok(doc.to_string())
}

/// A JSON value as an inline TOML value.
fn json_value(json: &serde_json::Value, field: &str) -> Result<Value, EditError> {
    let malformed = |message: String| EditError::Malformed { field: field.to_owned(), message };
    let value = toml::Value::try_from(json).map_err(|e| malformed(e.to_string()))?;
    let text = format!("v = {value}");
    let doc = parse(&text, field)?;
    doc.get("v").and_then(Item::as_value).cloned().ok_or_else(|| malformed("empty".into()))
}

/// A template's table as JSON (the `config` of `GET /v1/templates/{name}`).
pub fn template_json(config: &str, name: &str) -> Option<serde_json::Value> {
    let value: toml::Value = toml::from_str(config).ok()?;
    let table = value.get("templates")?.get(name)?;
    serde_json::to_value(table).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"# ops' own comment, kept
[sinks.console]
type = "stdout"

[templates.whales]   # kept too
filter = { plugin = "amount-threshold", params = { min_notional_usd = 250000 } }
channels = ["console"]
"#;

    #[test]
    fn put_keeps_comments_and_json_equals_toml() {
        let toml_body = "filter = { plugin = \"price-move\" }\nchannels = [\"console\"]\n";
        let a = put_template(CONFIG, "moves", TemplateBody::Toml(toml_body)).unwrap();
        assert!(a.contains("# ops' own comment, kept") && a.contains("# kept too"), "{a}");
        let json =
            serde_json::json!({ "filter": { "plugin": "price-move" }, "channels": ["console"] });
        let b = put_template(CONFIG, "moves", TemplateBody::Json(&json)).unwrap();
        assert_eq!(template_json(&a, "moves"), template_json(&b, "moves"));
        assert_eq!(template_json(&a, "moves").unwrap()["filter"]["plugin"], "price-move");
    }

    #[test]
    fn a_rollout_starts_promotes_and_rolls_back() {
        let started =
            start_rollout(CONFIG, "whales", RolloutKind::Filter, "next", 0.1, None).unwrap();
        let t = template_json(&started, "whales").unwrap();
        assert_eq!(t["rollout"]["plugin"], "next");
        assert_eq!(
            template_json(&rollback_rollout(&started, "whales").unwrap(), "whales").unwrap()["rollout"],
            serde_json::Value::Null
        );
        let promoted =
            template_json(&promote_rollout(&started, "whales").unwrap(), "whales").unwrap();
        assert_eq!(promoted["filter"]["plugin"], "next");
        assert_eq!(promoted["filter"]["params"]["min_notional_usd"], 250000);
        assert!(promoted.get("rollout").is_none());
        assert_eq!(
            rollback_rollout(CONFIG, "whales"),
            Err(EditError::NotFound("template `whales` has no rollout".into()))
        );
        assert!(matches!(delete_template(CONFIG, "nope"), Err(EditError::NotFound(_))));
    }

    #[test]
    fn malformed_bodies_name_the_field() {
        let err = put_template(CONFIG, "x", TemplateBody::Toml("filter = ")).unwrap_err();
        assert!(
            matches!(err, EditError::Malformed { ref field, .. } if field == "templates.x"),
            "{err:?}"
        );
        let err =
            put_template(CONFIG, "x", TemplateBody::Json(&serde_json::json!([1]))).unwrap_err();
        assert!(matches!(err, EditError::Malformed { .. }), "{err:?}");
    }
}

//! Parsing a template's params (JSON from the host) into a plugin's
//! `Params`, with errors that name the field: ops read them in
//! `klaxon check`, e.g.
//! ``min_notinal: unknown field `min_notinal`, expected one of `min_notional_usd`, `window` ``.

use serde::de::DeserializeOwned;

/// Parses `json` as `P`. An empty string reads as `{}`.
///
/// The error is `path: message`, where `path` is the dotted path of the bad
/// value (`tiers[1].window`), or of the unknown field itself.
pub fn parse_params<P: DeserializeOwned>(json: &str) -> Result<P, String> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    let mut de = serde_json::Deserializer::from_str(json);
    let parsed: P = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let message = without_position(err.inner());
        name_field(err.path().to_string(), message)
    })?;
    // Trailing garbage after the object is the host's bug, but say so.
    de.end().map_err(|e| without_position(&e))?;
    Ok(parsed)
}

/// `path: message`; serde_path_to_error already ends the path of an unknown
/// field with the field itself.
fn name_field(path: String, message: String) -> String {
    if path == "." { message } else { format!("{path}: {message}") }
}

/// serde_json appends ` at line L column C`, which points into JSON the host
/// generated from TOML, so it only confuses ops.
fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    if err.line() == 0 {
        return text;
    }
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    text.strip_suffix(&suffix).map(str::to_owned).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Params {
        min_notional_usd: f64,
        #[serde(default)]
        tiers: Vec<Tier>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Tier {
        min_value: f64,
        window: crate::Duration,
    }

    #[test]
    fn unknown_field_is_named() {
        let err = parse_params::<Params>(r#"{"min_notinal": 5}"#).unwrap_err();
        assert_eq!(
            err,
            "min_notinal: unknown field `min_notinal`, expected `min_notional_usd` or `tiers`"
        );
    }

    #[test]
    fn nested_error_has_path() {
        let err = parse_params::<Params>(
            r#"{"min_notional_usd": 1, "tiers": [{"min_value": 1, "window": "1x"}]}"#,
        )
        .unwrap_err();
        assert!(err.starts_with("tiers[0].window: invalid duration `1x`"), "{err}");
        let err = parse_params::<Params>(
            r#"{"min_notional_usd": 1, "tiers": [{"min_value": 1, "window": "1m", "x": 1}]}"#,
        )
        .unwrap_err();
        assert!(err.starts_with("tiers[0].x: unknown field `x`"), "{err}");
    }

    #[test]
    fn wrong_type_and_missing_field() {
        let err = parse_params::<Params>(r#"{"min_notional_usd": "lots"}"#).unwrap_err();
        assert_eq!(err, "min_notional_usd: invalid type: string \"lots\", expected f64");
        let err = parse_params::<Params>("{}").unwrap_err();
        assert_eq!(err, "missing field `min_notional_usd`");
        let err = parse_params::<Params>("").unwrap_err();
        assert_eq!(err, "missing field `min_notional_usd`");
    }
}

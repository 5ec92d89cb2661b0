//! `klaxon plugin new NAME --kind K --lang L [DIR]`: writes a project that
//! builds, tests and runs on its own. The WIT and the SDK sources come from
//! the binary ([`embedded`]), so the project never points into Klaxon's
//! source tree and always matches the ABI of the `klaxon` that made it.

use std::path::{Path, PathBuf};

use super::embedded::{self, API_VERSION, templates};
use super::{Kind, Lang, MANIFEST};

/// What the project's tests feed the plugin, per kind. Cooldowns and
/// formatters get alerts from stock `amount-threshold`.
fn test_params(kind: Kind) -> String {
    const FEED: &str =
        "filter = { plugin = \"amount-threshold\", params = { min_notional_usd = 50000 } }\n";
    match kind {
        Kind::Filter => "params = { min_notional_usd = 50000 }\n".to_owned(),
        Kind::Cooldown => {
            format!("params = {{ window_secs = 300, escalate_above_usd = 150000 }}\n{FEED}")
        }
        Kind::Formatter => format!("params = {{ prefix = \"[test] \" }}\n{FEED}"),
    }
}

/// Checks a plugin name: what a crate, a Python module path and a file
/// name all accept.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "plugin name `{name}`: use lowercase letters, digits and `-`, starting with a letter"
        ))
    }
}

/// Writes the project into `dir` (which must not exist, or be empty) and
/// returns the paths written, relative to `dir`.
pub fn write(name: &str, kind: Kind, lang: Lang, dir: &Path) -> Result<Vec<PathBuf>, String> {
    check_name(name)?;
    if dir.exists() && std::fs::read_dir(dir).map_err(|e| e.to_string())?.next().is_some() {
        return Err(format!("{}: exists and is not empty", dir.display()));
    }
    let files = project_files(name, kind, lang);
    for (rel, text) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(files.into_iter().map(|(rel, _)| rel).collect())
}

/// Every file of the project, rendered.
pub fn project_files(name: &str, kind: Kind, lang: Lang) -> Vec<(PathBuf, String)> {
    let crate_name = name.replace('-', "_");
    let feature = kind.as_str();
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{crate}}", &crate_name)
            .replace("{{kind}}", kind.as_str())
            .replace("{{feature}}", feature)
            .replace("{{lang}}", lang.as_str())
            .replace("{{api}}", API_VERSION)
    };
    let per_kind = match kind {
        Kind::Filter => &templates::FILTER,
        Kind::Cooldown => &templates::COOLDOWN,
        Kind::Formatter => &templates::FORMATTER,
    };
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut add = |rel: &str, text: String| files.push((PathBuf::from(rel), text));
    let (lang_name, sdk_dir, source, test_cmd) = match lang {
        Lang::Rust => ("Rust", "klaxon-sdk", "src/lib.rs", "cargo test"),
        Lang::Python => ("Python", "klaxon_sdk", "plugin.py", "pytest"),
        Lang::Js => ("JavaScript", "klaxon-sdk", "plugin.js", "node --test"),
    };
    match lang {
        Lang::Rust => {
            add("Cargo.toml", fill(templates::RUST_CARGO));
            add("src/lib.rs", fill(per_kind.rust.0));
            add("tests/plugin.rs", fill(per_kind.rust.1));
            add("klaxon-sdk/Cargo.toml", fill(templates::RUST_SDK_CARGO));
            embedded::RUST_SDK.iter().for_each(|(p, t)| add(p, t.to_string()));
            add(".gitignore", "/target\n".into());
        }
        Lang::Python => {
            add("plugin.py", fill(per_kind.python.0));
            add("test_plugin.py", fill(per_kind.python.1));
            embedded::PYTHON_SDK.iter().for_each(|(p, t)| add(p, t.to_string()));
            add(".gitignore", "/target\n__pycache__/\n".into());
        }
        Lang::Js => {
            add("plugin.js", fill(per_kind.js.0));
            add("plugin.test.js", fill(per_kind.js.1));
            embedded::JS_SDK.iter().for_each(|(p, t)| add(p, t.to_string()));
            let package = format!(
                "{{ \"name\": \"{name}\", \"version\": \"0.1.0\", \"type\": \"module\", \"private\": true,\n  \"scripts\": {{ \"test\": \"node --test\" }} }}\n"
            );
            add("package.json", package);
            add(".gitignore", "/target\nnode_modules/\n".into());
        }
    }
    add("wit/types.wit", embedded::WIT.to_owned());
    let stock_note = if kind == Kind::Filter { "" } else { ", a stock filter feeding it" };
    let readme = fill(templates::README)
        .replace("{{lang_name}}", lang_name)
        .replace("{{sdk_dir}}", sdk_dir)
        .replace("{{source}}", source)
        .replace("{{test_cmd}}", test_cmd)
        .replace("{{stock_note}}", stock_note);
    add("README.md", readme);
    add(MANIFEST, fill(templates::MANIFEST).replace("{{test_params}}", &test_params(kind)));
    add("frames/sample.ndjson", templates::FRAMES.to_owned());
    add("golden/sample.ndjson", per_kind.golden.to_owned());
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("big-trade2").is_ok());
        for bad in ["", "Big", "2x", "a_b", "a-"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_project_is_self_contained_and_manifested() {
        for lang in [Lang::Rust, Lang::Python, Lang::Js] {
            for kind in [Kind::Filter, Kind::Cooldown, Kind::Formatter] {
                let files = project_files("my-plugin", kind, lang);
                for (path, text) in &files {
                    assert!(!text.contains("{{"), "{}: unfilled placeholder", path.display());
                    // No path into Klaxon's own tree (the SDK's `../wit` is the project's).
                    assert!(
                        !text.contains("../sdk") && !text.contains("wt-"),
                        "{}",
                        path.display()
                    );
                }
                let manifest = &files.iter().find(|(p, _)| p.ends_with(MANIFEST)).unwrap().1;
                let parsed: super::super::Manifest = toml::from_str(manifest).unwrap();
                assert_eq!(
                    (parsed.kind, parsed.lang, parsed.api.as_str()),
                    (kind, lang, API_VERSION)
                );
                let readme = &files.iter().find(|(p, _)| p.ends_with("README.md")).unwrap().1;
                assert!((10..=16).contains(&readme.lines().count()), "README of {lang:?}");
            }
        }
    }
}

//! Look inside a component: its API version, imports, exports, and which
//! world it satisfies. Backs `klaxon plugin inspect` and the load checks.

use wasmtime::component::Component;

use super::version::{api_version_of, api_version_of_imports};
use super::{PluginEngine, PluginKind, error_chain, load};

/// What `klaxon plugin inspect` prints.
#[derive(Debug)]
pub struct Inspection {
    pub version: String,
    pub api_version: Option<String>,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    /// For each world: `Ok` if the component satisfies it, else why not.
    pub worlds: Vec<(PluginKind, Result<(), String>)>,
}

impl Inspection {
    /// The API version line: the SDK's stamp, else what the imports say,
    /// else why there is neither.
    pub fn api_version_note(&self) -> String {
        if let Some(v) = &self.api_version {
            return v.clone();
        }
        if let Some(v) = api_version_of_imports(self.imports.iter().map(String::as_str)) {
            return format!(
                "{v} (from its imports; not stamped, as Python and JS components are not)"
            );
        }
        if self.exports.is_empty() {
            return "none: the component exports nothing, so it implements no world; a Rust plugin \
                    that does not call `export_filter!`, `export_cooldown!` or \
                    `export_formatter!` builds like this"
                .into();
        }
        "not stamped, and it imports nothing of klaxon:plugin (not built with a Klaxon SDK)".into()
    }
}

pub fn inspect(engine: &PluginEngine, name: &str, bytes: &[u8]) -> Result<Inspection, String> {
    let component = Component::new(&engine.engine, bytes).map_err(|e| error_chain(&e))?;
    let ty = component.component_type();
    let imports = ty.imports(&engine.engine).map(|(n, _)| n.to_owned()).collect();
    let exports = ty.exports(&engine.engine).map(|(n, _)| n.to_owned()).collect();
    let worlds = [PluginKind::Filter, PluginKind::Cooldown, PluginKind::Formatter]
        .into_iter()
        .map(|kind| {
            (
                kind,
                load::load(engine, name, "inspect", bytes, kind)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            )
        })
        .collect();
    Ok(Inspection {
        version: load::content_version(bytes).0,
        api_version: api_version_of(bytes),
        imports,
        exports,
        worlds,
    })
}

/// `inspect` on one component per world plus a WASI guest: imports,
/// exports, and for each world whether it matches, or the load error why not.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::bindings::API_VERSION;
    use crate::plugins::tests::{engine, wasm};

    fn inspected(name: &str) -> (Inspection, String) {
        let bytes = wasm(name);
        let inspection = inspect(engine(), name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        (inspection, load::content_version(&bytes).0)
    }

    fn matching(i: &Inspection) -> Vec<PluginKind> {
        i.worlds.iter().filter(|(_, r)| r.is_ok()).map(|(k, _)| *k).collect()
    }

    fn why_not(i: &Inspection, kind: PluginKind) -> &str {
        let (_, result) =
            i.worlds.iter().find(|(k, _)| *k == kind).expect("every world is checked");
        result.as_ref().expect_err("world should not match")
    }

    /// Every world is reported, in a fixed order.
    fn assert_all_worlds_checked(i: &Inspection) {
        let kinds: Vec<PluginKind> = i.worlds.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [PluginKind::Filter, PluginKind::Cooldown, PluginKind::Formatter]);
    }

    const KLAXON_IMPORTS: [&str; 2] = ["klaxon:plugin/host@0.2.0", "klaxon:plugin/types@0.2.0"];

    #[test]
    fn a_filter_matches_the_filter_world_only() {
        let (i, v) = inspected("amount-threshold");
        assert_eq!(i.version, v);
        assert!(v.len() == 12 && v.chars().all(|c| c.is_ascii_hexdigit()), "{v}");
        assert_eq!(i.api_version.as_deref(), Some(API_VERSION));
        assert_eq!(i.imports, KLAXON_IMPORTS);
        assert_eq!(i.exports, ["klaxon:plugin/filter-rules@0.2.0"]);
        assert_all_worlds_checked(&i);
        assert_eq!(matching(&i), [PluginKind::Filter]);
        assert_eq!(
            why_not(&i, PluginKind::Cooldown),
            format!(
                "plugin `amount-threshold` {v} (inspect): not a `klaxon:plugin/cooldown-policy@0.2.0` component: no exported instance named `klaxon:plugin/cooldown-policies@0.2.0`"
            )
        );
        assert_eq!(
            why_not(&i, PluginKind::Formatter),
            format!(
                "plugin `amount-threshold` {v} (inspect): not a `klaxon:plugin/formatter@0.2.0` component: no exported instance named `klaxon:plugin/formatters@0.2.0`"
            )
        );
    }

    #[test]
    fn a_cooldown_policy_matches_the_cooldown_world_only() {
        let (i, v) = inspected("fixed");
        assert_eq!(i.imports, KLAXON_IMPORTS);
        assert_eq!(i.exports, ["klaxon:plugin/cooldown-policies@0.2.0"]);
        assert_eq!(matching(&i), [PluginKind::Cooldown]);
        assert_eq!(
            why_not(&i, PluginKind::Filter),
            format!(
                "plugin `fixed` {v} (inspect): not a `klaxon:plugin/filter@0.2.0` component: no exported instance named `klaxon:plugin/filter-rules@0.2.0`"
            )
        );
    }

    #[test]
    fn a_formatter_matches_the_formatter_world_only() {
        let (i, v) = inspected("plain");
        assert_eq!(i.imports, KLAXON_IMPORTS);
        assert_eq!(i.exports, ["klaxon:plugin/formatters@0.2.0"]);
        assert_eq!(matching(&i), [PluginKind::Formatter]);
        assert_eq!(
            why_not(&i, PluginKind::Filter),
            format!(
                "plugin `plain` {v} (inspect): not a `klaxon:plugin/filter@0.2.0` component: no exported instance named `klaxon:plugin/filter-rules@0.2.0`"
            )
        );
    }

    #[test]
    fn a_wasi_guest_matches_no_world_and_the_reason_names_its_wasi_imports() {
        let (i, v) = inspected("wasi-fs");
        assert!(
            i.imports.iter().any(|n| n.starts_with("wasi:filesystem/types@")),
            "{:?}",
            i.imports
        );
        assert!(
            i.imports.iter().any(|n| n.starts_with("wasi:filesystem/preopens@")),
            "{:?}",
            i.imports
        );
        // It has the filter's exports; only its imports are wrong.
        assert_eq!(i.exports, ["klaxon:plugin/filter-rules@0.2.0"]);
        assert_all_worlds_checked(&i);
        assert!(matching(&i).is_empty());
        for kind in [PluginKind::Filter, PluginKind::Cooldown, PluginKind::Formatter] {
            let reason = why_not(&i, kind);
            assert!(
                reason.starts_with(&format!(
                    "plugin `wasi-fs` {v} (inspect): wrong imports: imports `wasi:"
                )),
                "{reason}"
            );
            assert!(reason.contains("`wasi:filesystem/types@0.2."), "{reason}");
            assert!(reason.contains("`wasi:filesystem/preopens@0.2."), "{reason}");
            assert!(reason.contains("which this host does not provide (it links only `klaxon:plugin`, no WASI): component imports instance `wasi:"), "{reason}");
        }
    }

    /// A component built against 0.1 matches no world, and each reason
    /// names the version it was built for.
    #[test]
    fn a_0_1_component_is_named_as_such() {
        let (i, _) = inspected("abi-v0-1");
        assert_eq!(i.api_version.as_deref(), Some("0.1.0"));
        assert!(matching(&i).is_empty());
        for kind in [PluginKind::Filter, PluginKind::Cooldown, PluginKind::Formatter] {
            let reason = why_not(&i, kind);
            assert!(
                reason
                    .contains("built for klaxon:plugin@0.1.0, this host speaks @0.2.0; rebuild it"),
                "{reason}"
            );
        }
    }

    /// What a Rust plugin without its `export_*!` macro builds to: a
    /// component with no exports (and no stamp, no imports). Each world
    /// names the export it misses with its version, and the API line says
    /// why rather than blaming the SDK.
    #[test]
    fn a_component_exporting_nothing_names_the_missing_export_per_world() {
        let empty = b"\0asm\x0d\0\x01\0";
        let i = inspect(engine(), "no-export", empty).expect("an empty component is valid");
        assert!(i.imports.is_empty() && i.exports.is_empty());
        assert!(matching(&i).is_empty());
        let v = load::content_version(empty).0;
        for (kind, export) in [
            (PluginKind::Filter, "filter-rules"),
            (PluginKind::Cooldown, "cooldown-policies"),
            (PluginKind::Formatter, "formatters"),
        ] {
            assert_eq!(
                why_not(&i, kind),
                format!(
                    "plugin `no-export` {v} (inspect): not a `klaxon:plugin/{}@0.2.0` component: no exported instance named `klaxon:plugin/{export}@0.2.0`",
                    kind.world()
                )
            );
        }
        let note = i.api_version_note();
        assert!(note.starts_with("none: the component exports nothing"), "{note}");
        assert!(note.contains("`export_filter!`"), "{note}");
        let (stock, _) = inspected("amount-threshold");
        assert_eq!(stock.api_version_note(), API_VERSION);
    }

    #[test]
    fn bytes_that_are_not_wasm_are_refused_with_the_parse_error() {
        assert_eq!(
            inspect(engine(), "junk", b"\0asm\x0d\0\x01\0junk").unwrap_err(),
            "failed to parse WebAssembly module: unexpected end-of-file (at offset 0xa)"
        );
        assert!(
            inspect(engine(), "junk", b"hello")
                .unwrap_err()
                .starts_with("failed to parse WebAssembly module: magic header not detected")
        );
        assert_eq!(api_version_of(b"hello"), None);
    }
}

//! Everything `klaxon plugin new` writes, carried in the binary so that a
//! project needs no path into Klaxon's source: the WIT package, the three
//! SDKs' sources, and the per-language templates. The SDK sources are the
//! ones this binary was built with, so they always match its ABI
//! ([`API_VERSION`]).

/// The `klaxon:plugin` version the embedded WIT and SDKs implement.
pub use crate::plugins::bindings::API_VERSION;

/// `wit/types.wit`.
pub const WIT: &str = include_str!("../../../wit/types.wit");

/// `(path in the project, contents)`.
pub type Files = &'static [(&'static str, &'static str)];

/// The Rust SDK crate, vendored as `klaxon-sdk/` (its manifest comes from
/// `templates/rust/sdk.Cargo.toml.tmpl`, without workspace inheritance).
pub const RUST_SDK: Files = &[
    ("klaxon-sdk/build.rs", include_str!("../../../sdk/build.rs")),
    ("klaxon-sdk/src/alert.rs", include_str!("../../../sdk/src/alert.rs")),
    ("klaxon-sdk/src/batch.rs", include_str!("../../../sdk/src/batch.rs")),
    ("klaxon-sdk/src/cols.rs", include_str!("../../../sdk/src/cols.rs")),
    ("klaxon-sdk/src/columns.rs", include_str!("../../../sdk/src/columns.rs")),
    ("klaxon-sdk/src/duration.rs", include_str!("../../../sdk/src/duration.rs")),
    ("klaxon-sdk/src/event.rs", include_str!("../../../sdk/src/event.rs")),
    ("klaxon-sdk/src/export.rs", include_str!("../../../sdk/src/export.rs")),
    ("klaxon-sdk/src/fmt.rs", include_str!("../../../sdk/src/fmt.rs")),
    ("klaxon-sdk/src/host.rs", include_str!("../../../sdk/src/host.rs")),
    ("klaxon-sdk/src/lib.rs", include_str!("../../../sdk/src/lib.rs")),
    ("klaxon-sdk/src/market.rs", include_str!("../../../sdk/src/market.rs")),
    ("klaxon-sdk/src/names.rs", include_str!("../../../sdk/src/names.rs")),
    ("klaxon-sdk/src/panic.rs", include_str!("../../../sdk/src/panic.rs")),
    ("klaxon-sdk/src/params.rs", include_str!("../../../sdk/src/params.rs")),
    ("klaxon-sdk/src/testing.rs", include_str!("../../../sdk/src/testing.rs")),
    ("klaxon-sdk/src/verdict.rs", include_str!("../../../sdk/src/verdict.rs")),
    ("klaxon-sdk/src/watchlist.rs", include_str!("../../../sdk/src/watchlist.rs")),
    ("klaxon-sdk/src/window.rs", include_str!("../../../sdk/src/window.rs")),
];

/// The Python SDK package, vendored as `klaxon_sdk/`.
pub const PYTHON_SDK: Files = &[
    ("klaxon_sdk/__init__.py", include_str!("../../../sdk/python/klaxon_sdk/__init__.py")),
    ("klaxon_sdk/model.py", include_str!("../../../sdk/python/klaxon_sdk/model.py")),
    ("klaxon_sdk/views.py", include_str!("../../../sdk/python/klaxon_sdk/views.py")),
    ("klaxon_sdk/host.py", include_str!("../../../sdk/python/klaxon_sdk/host.py")),
    ("klaxon_sdk/params.py", include_str!("../../../sdk/python/klaxon_sdk/params.py")),
    ("klaxon_sdk/rules.py", include_str!("../../../sdk/python/klaxon_sdk/rules.py")),
    ("klaxon_sdk/wit_glue.py", include_str!("../../../sdk/python/klaxon_sdk/wit_glue.py")),
    ("klaxon_sdk/testing.py", include_str!("../../../sdk/python/klaxon_sdk/testing.py")),
    ("klaxon_sdk/double.py", include_str!("../../../sdk/python/klaxon_sdk/double.py")),
    ("klaxon_sdk/fmt.py", include_str!("../../../sdk/python/klaxon_sdk/fmt.py")),
    ("klaxon_sdk/watchlist.py", include_str!("../../../sdk/python/klaxon_sdk/watchlist.py")),
];

/// The JS SDK module, vendored as `klaxon-sdk/`.
pub const JS_SDK: Files = &[
    ("klaxon-sdk/package.json", include_str!("../../../sdk/js/klaxon-sdk/package.json")),
    ("klaxon-sdk/model.js", include_str!("../../../sdk/js/klaxon-sdk/model.js")),
    ("klaxon-sdk/double.js", include_str!("../../../sdk/js/klaxon-sdk/double.js")),
    ("klaxon-sdk/host.js", include_str!("../../../sdk/js/klaxon-sdk/host.js")),
    ("klaxon-sdk/views.js", include_str!("../../../sdk/js/klaxon-sdk/views.js")),
    ("klaxon-sdk/params.js", include_str!("../../../sdk/js/klaxon-sdk/params.js")),
    ("klaxon-sdk/rules.js", include_str!("../../../sdk/js/klaxon-sdk/rules.js")),
    ("klaxon-sdk/wit.js", include_str!("../../../sdk/js/klaxon-sdk/wit.js")),
    ("klaxon-sdk/fmt.js", include_str!("../../../sdk/js/klaxon-sdk/fmt.js")),
    ("klaxon-sdk/testing.js", include_str!("../../../sdk/js/klaxon-sdk/testing.js")),
    ("klaxon-sdk/index.js", include_str!("../../../sdk/js/klaxon-sdk/index.js")),
    ("klaxon-sdk/watchlist.js", include_str!("../../../sdk/js/klaxon-sdk/watchlist.js")),
];

/// Templates, with `{{placeholders}}` that [`super::scaffold`] fills.
pub mod templates {
    pub const README: &str = include_str!("templates/common/README.md.tmpl");
    pub const MANIFEST: &str = include_str!("templates/common/klaxon-plugin.toml.tmpl");
    pub const FRAMES: &str = include_str!("templates/common/sample.frames.ndjson");
    pub const RUST_CARGO: &str = include_str!("templates/rust/Cargo.toml.tmpl");
    pub const RUST_SDK_CARGO: &str = include_str!("templates/rust/sdk.Cargo.toml.tmpl");

    /// `(plugin source, sample test, golden alerts)` per kind.
    pub struct KindFiles {
        pub rust: (&'static str, &'static str),
        pub python: (&'static str, &'static str),
        pub js: (&'static str, &'static str),
        pub golden: &'static str,
    }

    pub const FILTER: KindFiles = KindFiles {
        rust: (
            include_str!("templates/rust/filter.rs"),
            include_str!("templates/rust/filter_test.rs"),
        ),
        python: (
            include_str!("templates/python/filter.py"),
            include_str!("templates/python/filter_test.py"),
        ),
        js: (include_str!("templates/js/filter.js"), include_str!("templates/js/filter_test.js")),
        golden: include_str!("templates/common/filter.golden.ndjson"),
    };

    pub const COOLDOWN: KindFiles = KindFiles {
        rust: (
            include_str!("templates/rust/cooldown.rs"),
            include_str!("templates/rust/cooldown_test.rs"),
        ),
        python: (
            include_str!("templates/python/cooldown.py"),
            include_str!("templates/python/cooldown_test.py"),
        ),
        js: (
            include_str!("templates/js/cooldown.js"),
            include_str!("templates/js/cooldown_test.js"),
        ),
        golden: include_str!("templates/common/cooldown.golden.ndjson"),
    };

    pub const FORMATTER: KindFiles = KindFiles {
        rust: (
            include_str!("templates/rust/formatter.rs"),
            include_str!("templates/rust/formatter_test.rs"),
        ),
        python: (
            include_str!("templates/python/formatter.py"),
            include_str!("templates/python/formatter_test.py"),
        ),
        js: (
            include_str!("templates/js/formatter.js"),
            include_str!("templates/js/formatter_test.js"),
        ),
        golden: include_str!("templates/common/formatter.golden.ndjson"),
    };
}

/// The vendored Rust SDK is every source file of `sdk/src`, so a file added
/// to the SDK cannot be left out of scaffolds unnoticed.
#[cfg(test)]
#[test]
fn the_vendored_rust_sdk_has_every_sdk_source_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/src");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("sdk/src")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".rs"))
        .map(|n| format!("klaxon-sdk/src/{n}"))
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = RUST_SDK
        .iter()
        .map(|(p, _)| p.to_string())
        .filter(|p| p.starts_with("klaxon-sdk/src/"))
        .collect();
    embedded.sort();
    assert_eq!(embedded, on_disk);
}

/// Likewise every module of the Python and JS SDKs: a scaffold that lacked
/// one (say `watchlist`) would fail only on a fresh machine.
#[cfg(test)]
#[test]
fn the_vendored_python_and_js_sdks_have_every_source_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
    for (dir, prefix, ext, files) in [
        ("python/klaxon_sdk", "klaxon_sdk", ".py", PYTHON_SDK),
        ("js/klaxon-sdk", "klaxon-sdk", ".js", JS_SDK),
    ] {
        let mut on_disk: Vec<String> = std::fs::read_dir(root.join(dir))
            .expect("sdk dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(ext))
            .map(|n| format!("{prefix}/{n}"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> =
            files.iter().map(|(p, _)| p.to_string()).filter(|p| p.ends_with(ext)).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk, "{dir}");
    }
}

//! Which `klaxon:plugin` version a component was built for, read before it
//! is compiled or linked, so a plugin built for another version is refused
//! with a message that says so (and how to rebuild) instead of a linker
//! error about a missing import.
//!
//! Two sources, in order: the `klaxon:api-version` custom section the SDK
//! stamps into every plugin, and, for components built without the SDK
//! (Python, JS), the version in their `klaxon:plugin/...@X.Y.Z` import names.

use wasmparser::{Parser, Payload};

/// Name of the custom section the SDK stamps with the WIT version it targets.
pub const API_VERSION_SECTION: &str = "klaxon:api-version";

/// The API version stamped by the SDK, searched in nested modules too.
pub fn api_version_of(bytes: &[u8]) -> Option<String> {
    for payload in Parser::new(0).parse_all(bytes) {
        // A malformed binary is reported by the compile step with a better
        // message; here we just stop looking.
        let Ok(payload) = payload else { return None };
        if let Payload::CustomSection(section) = payload
            && section.name() == API_VERSION_SECTION
        {
            return std::str::from_utf8(section.data())
                .ok()
                .map(|s| s.trim_end_matches('\0').to_owned());
        }
    }
    None
}

/// The version in the first `klaxon:plugin/<iface>@X.Y.Z` import name.
pub fn api_version_of_imports<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    names.into_iter().find_map(|name| {
        let rest = name.strip_prefix("klaxon:plugin/")?;
        rest.split_once('@').map(|(_, version)| version.to_owned())
    })
}

/// Same major, and for 0.x the same minor (semver's rule for pre-1.0).
pub fn compatible(found: &str, expected: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> {
        v.trim().split('.').map(|p| p.parse().unwrap_or(u64::MAX)).collect()
    };
    let (f, e) = (parts(found), parts(expected));
    match (f.as_slice(), e.as_slice()) {
        ([0, fm, ..], [0, em, ..]) => fm == em,
        ([fm, ..], [em, ..]) => fm == em,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_follow_semver() {
        assert!(compatible("0.2.0", "0.2.0"));
        assert!(compatible("0.2.3", "0.2.0"));
        assert!(!compatible("0.1.0", "0.2.0"));
        assert!(!compatible("garbage", "0.2.0"));
    }

    #[test]
    fn the_version_of_imports_is_the_klaxon_package_version() {
        let names = ["wasi:io/poll@0.2.6", "klaxon:plugin/host@0.1.0"];
        assert_eq!(api_version_of_imports(names).as_deref(), Some("0.1.0"));
        assert_eq!(api_version_of_imports(["wasi:io/poll@0.2.6"]), None);
    }
}

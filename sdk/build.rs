//! Stamps the WIT package version the SDK was generated from into
//! `$OUT_DIR/api_version.rs`, so the `klaxon:api-version` section every
//! plugin carries can never drift from `wit/types.wit`.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let wit = manifest.join("../wit/types.wit");
    println!("cargo:rerun-if-changed={}", wit.display());
    let text =
        fs::read_to_string(&wit).unwrap_or_else(|e| panic!("cannot read {}: {e}", wit.display()));
    let version = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("package klaxon:plugin@"))
        .and_then(|rest| rest.strip_suffix(';'))
        .unwrap_or_else(|| panic!("{}: no `package klaxon:plugin@X.Y.Z;` line", wit.display()))
        .trim();
    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("api_version.rs");
    let code = format!(
        "/// Version of the `klaxon:plugin` WIT package this SDK implements.\n\
         pub const API_VERSION: &str = {version:?};\n\
         #[doc(hidden)]\n\
         pub const API_VERSION_BYTES: [u8; {len}] = *b{version:?};\n",
        len = version.len()
    );
    fs::write(&out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

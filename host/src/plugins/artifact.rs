//! On-disk cache of compiled components.
//!
//! Compiling a component with Cranelift takes 20–100 ms (seconds for Python
//! or JS guests); loading a cached artifact takes ~0.1 ms. Artifacts are
//! keyed by the SHA-256 of the `.wasm` bytes and the engine's compatibility
//! hash, so a wasmtime upgrade or config change never reuses a stale one.
//!
//! `Component::deserialize` is `unsafe`: it trusts the bytes to be machine
//! code wasmtime produced. So the host only loads artifacts it wrote itself:
//! each artifact carries an HMAC-style tag (SHA-256 over a per-cache secret
//! and the artifact), and the secret lives in the cache directory with mode
//! 0600. A file dropped in by anyone else fails the tag and is recompiled.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const TAG_LEN: usize = 32;

pub struct ArtifactCache {
    dir: PathBuf,
    secret: [u8; 32],
    engine_key: String,
}

impl ArtifactCache {
    pub fn open(dir: &Path, engine: &Engine) -> Result<ArtifactCache, String> {
        fs::create_dir_all(dir).map_err(|e| format!("plugin cache `{}`: {e}", dir.display()))?;
        let secret = load_or_create_secret(&dir.join("secret"))?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Ok(ArtifactCache {
            dir: dir.to_owned(),
            secret,
            engine_key: format!("{:016x}", h.finish()),
        })
    }

    fn path_for(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    fn tag(&self, artifact: &[u8]) -> [u8; TAG_LEN] {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(artifact);
        h.update(self.secret);
        h.finalize().into()
    }

    /// A previously compiled component for `digest`, if present and ours.
    pub fn get(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let bytes = fs::read(self.path_for(digest)).ok()?;
        let (artifact, tag) = bytes.split_at(bytes.len().checked_sub(TAG_LEN)?);
        if self.tag(artifact) != tag {
            tracing::warn!(digest, "Ignoring plugin cache artifact with a bad tag; recompiling.");
            return None;
        }
        // SAFETY: the tag proves this host wrote these bytes from
        // `Component::serialize` on an engine with the same compatibility
        // hash (part of the file name).
        unsafe { Component::deserialize(engine, artifact).ok() }
    }

    /// Store a compiled component. Failures only cost a recompile later.
    pub fn put(&self, digest: &str, component: &Component) {
        let Ok(mut artifact) = component.serialize() else { return };
        let tag = self.tag(&artifact);
        artifact.extend_from_slice(&tag);
        let path = self.path_for(digest);
        let tmp = path.with_extension("tmp");
        if fs::write(&tmp, &artifact).and_then(|_| fs::rename(&tmp, &path)).is_err() {
            tracing::warn!(path = %path.display(), "Could not write plugin cache artifact.");
        }
    }
}

fn load_or_create_secret(path: &Path) -> Result<[u8; 32], String> {
    if let Ok(bytes) = fs::read(path)
        && let Ok(secret) = <[u8; 32]>::try_from(bytes.as_slice())
    {
        return Ok(secret);
    }
    let secret: [u8; 32] = rand::random();
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f =
        opts.open(path).map_err(|e| format!("plugin cache secret `{}`: {e}", path.display()))?;
    f.write_all(&secret).map_err(|e| format!("plugin cache secret `{}`: {e}", path.display()))?;
    Ok(secret)
}

/// The cache serves a second engine, and never loads an artifact whose tag
/// does not check out (tampered, truncated, or written by another cache).
#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;
    use crate::plugins::load::content_version;
    use crate::plugins::tests::{generous, services, template, trade, wasm};
    use crate::plugins::{PluginEngine, PluginKind, RuntimeConfig, load};

    const PLUGIN: &str = "amount-threshold";

    fn cached_engine(dir: &Path) -> PluginEngine {
        PluginEngine::new(&RuntimeConfig { cache_dir: Some(dir.to_owned()), ..Default::default() })
            .expect("engine")
    }

    fn cache(engine: &PluginEngine) -> &ArtifactCache {
        engine.cache.as_deref().expect("cache configured")
    }

    fn digest() -> String {
        content_version(&wasm(PLUGIN)).1
    }

    /// The inode changes whenever `put` writes the file (write + rename).
    fn inode(path: &Path) -> u64 {
        fs::metadata(path).expect("artifact exists").ino()
    }

    /// Load through `engine` and make one call, so "loads" means "works".
    fn load_and_call(engine: &PluginEngine) {
        let plugin =
            load::load(engine, PLUGIN, "test", &wasm(PLUGIN), PluginKind::Filter).expect("load");
        let mut i = crate::plugins::Instance::new(
            engine,
            plugin,
            &services(),
            16 << 20,
            generous().call_timeout,
        )
        .expect("instantiate");
        let t = template("artifact");
        i.add_rule(&t, &std::sync::Arc::from(r#"{"min_notional_usd": 100}"#), generous())
            .expect("configure");
        let verdict = i
            .evaluate(&t, &trade("BTCUSDT", 65_000, 1), &crate::market::Snapshot::default(), 1)
            .expect("evaluate");
        assert!(matches!(verdict, crate::plugins::filter::Verdict::Pass(_)), "{verdict:?}");
    }

    #[test]
    fn a_second_engine_loads_the_first_ones_artifact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = cached_engine(dir.path());
        load_and_call(&first);
        let path = cache(&first).path_for(&digest());
        assert!(path.exists(), "compiling writes `{}`", path.display());
        let secret = fs::metadata(dir.path().join("secret")).expect("secret written");
        assert_eq!(secret.permissions().mode() & 0o777, 0o600);
        let written = inode(&path);

        let second = cached_engine(dir.path());
        assert_eq!(
            cache(&second).path_for(&digest()),
            path,
            "same engine settings, same artifact name"
        );
        assert!(
            cache(&second).get(&second.engine, &digest()).is_some(),
            "the second engine trusts the artifact"
        );
        load_and_call(&second);
        assert_eq!(
            inode(&path),
            written,
            "a cache hit does not recompile (which would rewrite the artifact)"
        );
    }

    #[test]
    fn a_tampered_artifact_is_ignored_and_recompiled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = cached_engine(dir.path());
        load_and_call(&engine);
        let path = cache(&engine).path_for(&digest());
        let mut bytes = fs::read(&path).expect("artifact");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        fs::write(&path, &bytes).expect("tamper");
        let tampered = inode(&path);

        let fresh = cached_engine(dir.path());
        assert!(
            cache(&fresh).get(&fresh.engine, &digest()).is_none(),
            "a flipped byte fails the tag"
        );
        load_and_call(&fresh);
        assert_ne!(inode(&path), tampered, "the load recompiled and replaced the artifact");
        assert!(cache(&fresh).get(&fresh.engine, &digest()).is_some(), "the replacement is valid");
    }

    #[test]
    fn a_flipped_tag_or_a_truncated_file_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = cached_engine(dir.path());
        load_and_call(&engine);
        let path = cache(&engine).path_for(&digest());
        let good = fs::read(&path).expect("artifact");

        let mut bad_tag = good.clone();
        *bad_tag.last_mut().expect("not empty") ^= 0x80;
        fs::write(&path, &bad_tag).expect("write");
        assert!(cache(&engine).get(&engine.engine, &digest()).is_none());

        fs::write(&path, &good[..TAG_LEN - 1]).expect("write");
        assert!(cache(&engine).get(&engine.engine, &digest()).is_none(), "shorter than a tag");

        fs::write(&path, &good).expect("write");
        assert!(
            cache(&engine).get(&engine.engine, &digest()).is_some(),
            "the original bytes still check out"
        );
    }

    #[test]
    fn an_artifact_from_another_cache_is_not_trusted() {
        let (a, b) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
        let (ea, eb) = (cached_engine(a.path()), cached_engine(b.path()));
        load_and_call(&ea);
        let from = cache(&ea).path_for(&digest());
        let to = cache(&eb).path_for(&digest());
        fs::copy(&from, &to).expect("copy");
        assert!(
            cache(&eb).get(&eb.engine, &digest()).is_none(),
            "another cache's secret signed it"
        );
        load_and_call(&eb);
        assert!(
            cache(&eb).get(&eb.engine, &digest()).is_some(),
            "recompiled and signed with this cache's secret"
        );
    }
}

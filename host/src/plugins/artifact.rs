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
        Ok(ArtifactCache { dir: dir.to_owned(), secret, engine_key: format!("{:016x}", h.finish()) })
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
    let mut f = opts.open(path).map_err(|e| format!("plugin cache secret `{}`: {e}", path.display()))?;
    f.write_all(&secret).map_err(|e| format!("plugin cache secret `{}`: {e}", path.display()))?;
    Ok(secret)
}

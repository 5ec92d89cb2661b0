//! Bad uploads stay contained: a plugin file in `plugins.dir` that fails
//! validation in a reload is moved to `<plugins.dir>/.rejected/<name>.wasm`,
//! with `<name>.wasm.reason.txt` beside it, so the next restart does not
//! meet it again.
//!
//! What counts as a bad upload: a file whose version no template runs now,
//! and that failed to load (the file's fault whatever the config says), or
//! failed to configure or smoke-run for a template whose config did not
//! change in this reload (had it changed, the new params may be at fault,
//! and the file stays). A file that changed again since the plan read it is
//! left for the reload its change triggers.
//!
//! A move must not read as a deletion: if the name's live version came from
//! a file (an earlier upload), that version's bytes, kept in [`LiveFiles`],
//! are put back as `<name>.wasm` (write, then rename), so the directory
//! still holds what runs, and a restart starts with it. The watcher ignores
//! `.rejected/` and names not ending in `.wasm`, so none of this loops.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::config::RawConfig;
use crate::pipeline::Plan;
use crate::pipeline::plan::{FailedFile, PluginSlot, TemplateFailure};
use crate::plugins::load::content_version;
use crate::telemetry::metrics;

/// Where rejected files go, inside `plugins.dir`.
pub const REJECTED_DIR: &str = ".rejected";

/// The bytes of each plugin version that runs from a file in `plugins.dir`,
/// by plugin name: what to put back when an upload over it is rejected.
#[derive(Debug, Default)]
pub struct LiveFiles {
    by_name: HashMap<String, (String, Vec<u8>)>,
}

impl LiveFiles {
    /// Keep the bytes of every file-based version `plan` runs. A file that
    /// no longer holds its version (replaced again meanwhile) keeps the
    /// bytes read before, if they are of that version.
    pub fn refresh(&mut self, plan: &Plan) {
        let mut next = HashMap::new();
        for slot in plan.templates.iter().flat_map(|t| slots(t)) {
            let (name, version) = (&*slot.plugin.reference.name, &*slot.plugin.reference.version);
            if slot.plugin.origin == "builtin" || next.contains_key(name) {
                continue;
            }
            let read = std::fs::read(&slot.plugin.origin)
                .ok()
                .filter(|bytes| content_version(bytes).0 == version)
                .map(|bytes| (version.to_owned(), bytes));
            let kept = self.by_name.remove(name).filter(|(v, _)| v == version);
            if let Some(entry) = read.or(kept) {
                next.insert(name.to_owned(), entry);
            }
        }
        self.by_name = next;
    }

    fn get(&self, name: &str) -> Option<&[u8]> {
        self.by_name.get(name).map(|(_, bytes)| bytes.as_slice())
    }
}

fn slots(t: &crate::pipeline::plan::TemplatePlan) -> impl Iterator<Item = &PluginSlot> {
    [Some(&t.filter), t.cooldown.as_ref(), t.formatter.as_ref()].into_iter().flatten()
}

/// Move every bad upload among `failures` aside (see the module doc);
/// returns the files moved.
pub fn move_aside_uploads(
    failures: &[TemplateFailure],
    live: &Plan,
    old: &RawConfig,
    new: &RawConfig,
    files: &LiveFiles,
) -> Vec<PathBuf> {
    let runs = |f: &FailedFile| {
        live.templates.iter().flat_map(|t| slots(t)).any(|s| {
            *s.plugin.reference.name == *f.plugin && *s.plugin.reference.version == *f.version
        })
    };
    let unchanged = |template: &str| {
        let (a, b) = (old.templates.get(template), new.templates.get(template));
        a.is_some() && format!("{a:?}") == format!("{b:?}")
    };
    // One file may fail for several templates: one move, every reason.
    let mut bad: BTreeMap<&Path, Vec<&FailedFile>> = BTreeMap::new();
    for failure in failures {
        for f in &failure.files {
            if !runs(f) && (f.at_load || unchanged(failure.template.as_str())) {
                bad.entry(f.path.as_path()).or_default().push(f);
            }
        }
    }
    bad.into_iter().filter_map(|(path, why)| move_aside(path, &why, files)).collect()
}

/// Move `path` to `.rejected/`, write its reasons beside it and put the
/// live version back; `None` if it was not moved.
fn move_aside(path: &Path, why: &[&FailedFile], files: &LiveFiles) -> Option<PathBuf> {
    let first = why[0];
    let (dir, file_name) = (path.parent()?, path.file_name()?);
    // Replaced again since the plan read it: that change has its own reload.
    let on_disk = std::fs::read(path).ok()?;
    if content_version(&on_disk).0 != first.version {
        return None;
    }
    let rejected = dir.join(REJECTED_DIR);
    let to = rejected.join(file_name);
    let moved = std::fs::create_dir_all(&rejected).and_then(|()| std::fs::rename(path, &to));
    if let Err(error) = moved {
        tracing::error!(file = %path.display(), %error, "Cannot move a rejected plugin file aside; it stays in place.");
        return None;
    }
    if let Err(error) = std::fs::write(reason_path(&to), reason_text(path, why)) {
        tracing::error!(file = %to.display(), %error, "Cannot write why a plugin file was rejected.");
    }
    metrics().plugin_uploads_rejected.with_label_values(&[&first.plugin]).inc();
    let restored = files.get(&first.plugin).map(|bytes| restore(path, bytes));
    tracing::error!(
        plugin = first.plugin, version = first.version, field = first.field,
        reason = first.reason, moved_to = %to.display(),
        live_version_restored = matches!(restored, Some(Ok(()))),
        "Rejected plugin upload moved aside; the live version keeps serving."
    );
    if let Some(Err(error)) = restored {
        tracing::error!(file = %path.display(), %error, "Cannot put the live plugin version back.");
    }
    Some(to)
}

/// `<file>.reason.txt` beside `file`.
pub fn reason_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".reason.txt");
    PathBuf::from(name)
}

fn reason_text(path: &Path, why: &[&FailedFile]) -> String {
    let first = why[0];
    let mut text = format!(
        "plugin `{}` version {} from {} was rejected; the version that was live keeps serving\n",
        first.plugin,
        first.version,
        path.display()
    );
    for f in why {
        text.push_str(&format!("{}: {}\n", f.field, f.reason));
    }
    text
}

/// Write `bytes` to `path` through a hidden temp file and a rename, so the
/// host never reads half a file.
fn restore(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.restoring"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

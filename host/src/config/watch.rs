//! Watching the config file and the plugins directory.
//!
//! Editors and `cp` produce bursts of events (truncate, write, rename), so
//! changes are debounced: a reload is requested once nothing has changed for
//! [`QUIET`]. The watcher only *signals*; the reload itself (parse, validate,
//! load plugins, swap) runs elsewhere and leaves the old config running if
//! anything fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// Quiet period before a burst of file events becomes one reload.
pub const QUIET: Duration = Duration::from_millis(250);

/// Keeps the OS watch alive; dropping it stops watching.
pub struct WatchGuard {
    _watcher: RecommendedWatcher,
}

/// Watch `paths` (files or directories). The returned receiver yields one
/// message per debounced burst of changes.
pub fn watch(paths: &[PathBuf]) -> notify::Result<(WatchGuard, mpsc::Receiver<()>)> {
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res
            && !matches!(event.kind, notify::EventKind::Access(_))
        {
            for path in event.paths {
                let _ = raw_tx.send(path);
            }
        }
    })?;
    for path in paths {
        // Watch a file's directory: editors replace files by rename, which
        // a watch on the file itself would lose.
        let target =
            if path.is_dir() { path.as_path() } else { path.parent().unwrap_or(Path::new(".")) };
        let target = if target.as_os_str().is_empty() { Path::new(".") } else { target };
        watcher.watch(target, RecursiveMode::NonRecursive)?;
    }
    let wanted: Vec<PathBuf> =
        paths.iter().map(|p| p.canonicalize().unwrap_or_else(|_| p.clone())).collect();
    let (tx, rx) = mpsc::channel(1);
    // Only relevant paths start or extend a quiet period: the config's
    // directory may also hold files written continuously (logs, the alert
    // log), which must neither trigger reloads nor postpone them forever.
    tokio::spawn(async move {
        loop {
            match raw_rx.recv().await {
                Some(path) if is_relevant(&path, &wanted) => {}
                Some(_) => continue,
                None => return,
            }
            loop {
                match tokio::time::timeout(QUIET, next_relevant(&mut raw_rx, &wanted)).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(_) => break,
                }
            }
            if tx.send(()).await.is_err() {
                return;
            }
        }
    });
    Ok((WatchGuard { _watcher: watcher }, rx))
}

/// Wait for the next relevant change; false when the watcher is gone.
async fn next_relevant(rx: &mut mpsc::UnboundedReceiver<PathBuf>, wanted: &[PathBuf]) -> bool {
    while let Some(path) = rx.recv().await {
        if is_relevant(&path, wanted) {
            return true;
        }
    }
    false
}

/// A change matters if it is one of the watched files, or a `.wasm` file in
/// a watched directory. Not one in a subdirectory: a rejected upload moved
/// to `.rejected/` must not trigger the reload that rejects it again.
fn is_relevant(path: &Path, wanted: &[PathBuf]) -> bool {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    wanted.iter().any(|w| {
        if w.is_dir() {
            path.parent() == Some(w.as_path()) && path.extension().is_some_and(|e| e == "wasm")
        } else {
            &path == w
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_wasm_files_directly_in_a_watched_dir_are_relevant() {
        let dir = tempfile::tempdir().unwrap();
        let plugins = dir.path().canonicalize().unwrap();
        std::fs::create_dir(plugins.join(".rejected")).unwrap();
        let wanted = [plugins.clone()];
        assert!(is_relevant(&plugins.join("probe.wasm"), &wanted));
        assert!(!is_relevant(&plugins.join(".rejected/probe.wasm"), &wanted));
        assert!(!is_relevant(&plugins.join(".rejected"), &wanted));
        assert!(!is_relevant(&plugins.join(".rejected/probe.wasm.reason.txt"), &wanted));
        assert!(!is_relevant(&plugins.join(".probe.wasm.restoring"), &wanted));
        assert!(!is_relevant(&plugins.join(".tmp"), &wanted));
    }
}

//! Following the watchlist files: every edit is re-read and swapped in.
//!
//! The watch uses the config watcher (`config::watch`: notify, debounced,
//! directory-level so rename-style saves are seen). It runs apart from the
//! config reloader because a list edit needs no new plan: nothing is
//! recompiled or smoke-tested, so a list can change many times a minute.
//! When a config reload changes which files back the lists, the watch
//! follows (`Watchlists::files`).

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Watchlists;
use crate::config::watch;

/// Watch the files of `lists` until `cancel`, re-reading them on change.
pub fn spawn(lists: Watchlists, cancel: CancellationToken) {
    let mut files = lists.files();
    tokio::spawn(async move {
        loop {
            let paths = files.borrow_and_update().clone();
            let (_guard, mut changes) = match paths.is_empty() {
                true => (None, None),
                false => match watch::watch(&paths) {
                    Ok((guard, changes)) => (Some(guard), Some(changes)),
                    Err(error) => {
                        tracing::error!(%error, ?paths, "Cannot watch watchlist files; edits apply on the next config reload.");
                        (None, None)
                    }
                },
            };
            if !paths.is_empty() {
                tracing::info!(?paths, "Watching watchlist files.");
                // An edit made before the watch started is not lost.
                refresh(&lists).await;
            }
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    changed = files.changed() => match changed {
                        Ok(()) => break,
                        Err(_) => return,
                    },
                    change = next(&mut changes) => match change {
                        Some(()) => refresh(&lists).await,
                        None => changes = None,
                    },
                }
            }
        }
    });
}

async fn next(changes: &mut Option<mpsc::Receiver<()>>) -> Option<()> {
    match changes {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Re-read off the async threads: files may be large.
async fn refresh(lists: &Watchlists) {
    let lists = lists.clone();
    let _ = tokio::task::spawn_blocking(move || lists.refresh_files()).await;
}

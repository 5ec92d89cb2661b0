//! [`open`]: the stores `[state]` asks for, restored, with their flusher.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::alert::TemplateId;

use super::flush::{Journaled, StateSink, run_flusher};
use super::health::health;
use super::journal::{Journal, JournaledHistory, JournaledKv};
use super::redis::{Redis, RedisHistory, RedisSink};
use super::sqlite::SqliteSink;
use super::{
    HistoryBound, HistoryStore, KvQuota, KvStore, MemoryHistory, MemoryKv, StateBackend,
    StateConfig,
};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state store `{path}`: {source}")]
    Embedded {
        path: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("state.url: {0}")]
    RedisUrl(String),
}

/// The stores the pipeline uses, and the task writing them behind.
pub struct StateHandle {
    pub history: Arc<dyn HistoryStore>,
    pub kv: Arc<dyn KvStore>,
    flusher: Option<(CancellationToken, JoinHandle<()>)>,
}

impl StateHandle {
    /// Nothing persisted (`klaxon replay`, tests).
    pub fn memory() -> StateHandle {
        StateHandle {
            history: Arc::new(MemoryHistory::default()),
            kv: Arc::new(MemoryKv::new()),
            flusher: None,
        }
    }

    /// Write what is left and stop. Call after the last decision.
    pub async fn close(self) {
        if let Some((stop, task)) = self.flusher {
            stop.cancel();
            let _ = task.await;
        }
    }
}

/// Open the configured backend and restore what it holds. `limits` gives
/// each configured template's bounds (`None`: not configured, not
/// restored); `wall_now_ms` is the wall clock in live runs, `None` when
/// the pipeline follows event time. Only an embedded file that cannot be
/// opened fails; an unreachable Redis degrades (see `redis`).
pub async fn open(
    config: &StateConfig,
    alert_log_url: &str,
    limits: &dyn Fn(&TemplateId) -> Option<(HistoryBound, KvQuota)>,
    wall_now_ms: Option<u64>,
) -> Result<StateHandle, StateError> {
    let wake = Arc::new(Notify::new());
    let kv = Arc::new(JournaledKv {
        live: MemoryKv::new(),
        journal: Journal::new(config.flush_batch, wake.clone()),
    });
    match config.backend {
        StateBackend::Memory => Ok(StateHandle::memory()),
        StateBackend::Embedded => {
            let path = config.embedded_path(alert_log_url);
            let shown = path.as_ref().map_or(":memory:".to_owned(), |p| p.display().to_string());
            let failed = |source| StateError::Embedded { path: shown.clone(), source };
            let sink = SqliteSink::open(path.as_deref()).await.map_err(failed)?;
            let history = Arc::new(JournaledHistory {
                live: MemoryHistory::default(),
                journal: Journal::new(config.flush_batch, wake.clone()),
            });
            let (h, k) =
                sink.restore(&history.live, &kv.live, limits, wall_now_ms).await.map_err(failed)?;
            tracing::info!(path = shown, history = h, kv = k, "State restored.");
            let stores = Journaled { history: Some(history.clone()), kv: kv.clone() };
            Ok(with_flusher(sink, stores, history, kv, wake, config))
        }
        StateBackend::Redis => {
            let redis = Redis::new(&config.url, &config.key_prefix, config.timeout)
                .map_err(StateError::RedisUrl)?;
            let redis = Arc::new(redis);
            let r = redis.clone();
            let fetched = tokio::task::spawn_blocking(move || super::redis::fetch_kv(&r))
                .await
                .unwrap_or_else(|e| Err(format!("KV restore panicked: {e}")));
            match fetched {
                Ok(templates) => {
                    health().ok("redis");
                    let mut n = 0;
                    for (template, entries) in templates {
                        let Some((_, quota)) = limits(&template) else { continue };
                        for (key, value, expires) in entries {
                            n += usize::from(
                                kv.live.restore(&template, &key, value, expires, quota).is_ok(),
                            );
                        }
                    }
                    tracing::info!(prefix = redis.prefix(), kv = n, "State restored from Redis.");
                }
                // Start anyway, with empty KV: the host must not depend on Redis.
                Err(error) => health().failed("redis", "restore", &error),
            }
            let history = Arc::new(RedisHistory::new(redis.clone()));
            let stores = Journaled { history: None, kv: kv.clone() };
            Ok(with_flusher(RedisSink { redis }, stores, history, kv, wake, config))
        }
    }
}

fn with_flusher<S: StateSink>(
    sink: S,
    stores: Journaled,
    history: Arc<dyn HistoryStore>,
    kv: Arc<JournaledKv>,
    wake: Arc<Notify>,
    config: &StateConfig,
) -> StateHandle {
    let stop = CancellationToken::new();
    let task = tokio::spawn(run_flusher(sink, stores, wake, config.flush_interval, stop.clone()));
    StateHandle { history, kv, flusher: Some((stop, task)) }
}

//! Write-behind: a task that takes what the journals collected and writes
//! it to a persistent sink, every `flush_interval`, sooner once
//! `flush_batch` keys changed, and once more at shutdown.
//!
//! A failed write is put back in the journal and tried on the next tick
//! (counted, and `/ready` degraded, by `health`); nothing on the hot path
//! waits for it. What a crash can lose is what changed in the last
//! interval.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::alert::{History, TemplateId};

use super::health::{health, metrics};
use super::journal::{Changed, JournaledHistory, JournaledKv};
use super::{HistoryBound, KvQuota};

/// One key's history now, or `None`: forgotten, so delete it.
pub struct HistoryRow {
    pub template: TemplateId,
    pub key: String,
    pub value: Option<(History, u64)>,
}

/// One KV entry now (value, expiry), or `None`: deleted or evicted.
pub struct KvRow {
    pub template: TemplateId,
    pub key: String,
    pub value: Option<(String, Option<u64>)>,
}

/// What one flush writes.
#[derive(Default)]
pub struct Batch {
    pub history: Vec<HistoryRow>,
    /// Each template's bound, to prune the persistent copy to it.
    pub bounds: Vec<(TemplateId, HistoryBound)>,
    pub kv: Vec<KvRow>,
    pub quotas: Vec<(TemplateId, KvQuota)>,
    /// Latest host time the stores saw: what "expired" means for pruning.
    pub now_ms: u64,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.history.is_empty() && self.kv.is_empty()
    }
}

/// Where batches go. `write` reports refusals it survives itself (a
/// shared quota full); an `Err` means nothing was written.
pub trait StateSink: Send + 'static {
    fn backend(&self) -> &'static str;
    fn write(&mut self, batch: Batch) -> impl Future<Output = Result<(), String>> + Send;
    /// After the last write.
    fn close(self) -> impl Future<Output = ()> + Send
    where
        Self: Sized,
    {
        async {}
    }
}

/// The journaled stores a flusher drains.
#[derive(Clone)]
pub struct Journaled {
    pub history: Option<Arc<JournaledHistory>>,
    pub kv: Arc<JournaledKv>,
}

type Taken = (Vec<Changed<HistoryBound>>, Vec<Changed<KvQuota>>);

impl Journaled {
    /// Take the journals and read each changed key's current value.
    fn take(&self) -> (Batch, Taken) {
        let mut batch = Batch { now_ms: self.kv.journal.latest_ms(), ..Batch::default() };
        let mut taken_history = Vec::new();
        if let Some(h) = &self.history {
            batch.now_ms = batch.now_ms.max(h.journal.latest_ms());
            taken_history = h.journal.take();
            for c in &taken_history {
                if let Some(bound) = c.limit {
                    batch.bounds.push((c.template.clone(), bound));
                }
                for key in &c.keys {
                    let value = h.live.entry(&c.template, key);
                    batch.history.push(HistoryRow {
                        template: c.template.clone(),
                        key: key.clone(),
                        value,
                    });
                }
            }
        }
        let taken_kv = self.kv.journal.take();
        for c in &taken_kv {
            if let Some(quota) = c.limit {
                batch.quotas.push((c.template.clone(), quota));
            }
            for key in &c.keys {
                let value = self.kv.live.entry(&c.template, key);
                batch.kv.push(KvRow { template: c.template.clone(), key: key.clone(), value });
            }
        }
        (batch, (taken_history, taken_kv))
    }

    fn put_back(&self, (history, kv): Taken) {
        if let Some(h) = &self.history {
            h.journal.put_back(history);
        }
        self.kv.journal.put_back(kv);
    }
}

/// Flush until `stop`, then once more.
pub async fn run_flusher<S: StateSink>(
    mut sink: S,
    stores: Journaled,
    wake: Arc<Notify>,
    interval: Duration,
    stop: CancellationToken,
) {
    loop {
        let stopping = tokio::select! {
            _ = stop.cancelled() => true,
            _ = tokio::time::sleep(interval) => false,
            _ = wake.notified() => false,
        };
        let failed = flush_once(&mut sink, &stores).await;
        if stopping {
            if let Some(keys) = failed {
                tracing::error!(
                    backend = sink.backend(),
                    keys,
                    "State changes lost at shutdown: the backend refused the last flush."
                );
            }
            sink.close().await;
            return;
        }
    }
}

/// One flush; `Some(keys)` if it failed (and the keys went back).
async fn flush_once<S: StateSink>(sink: &mut S, stores: &Journaled) -> Option<usize> {
    let (batch, taken) = stores.take();
    if batch.is_empty() {
        return None;
    }
    let (h, kv) = (batch.history.len() as u64, batch.kv.len() as u64);
    let backend = sink.backend();
    match sink.write(batch).await {
        Ok(()) => {
            health().ok(backend);
            let m = metrics();
            m.flushed.with_label_values(&[backend, "history"]).inc_by(h);
            m.flushed.with_label_values(&[backend, "kv"]).inc_by(kv);
            None
        }
        Err(error) => {
            health().failed(backend, "flush", &error);
            let keys = (h + kv) as usize;
            stores.put_back(taken);
            Some(keys)
        }
    }
}

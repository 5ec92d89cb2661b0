//! Plugin KV on Redis: the host's KV is the journaled memory store
//! (`journal.rs`), restored from Redis at start and written behind to it by
//! [`RedisSink`], one [`KV_WRITE`] per template per flush.
//!
//! Why not read Redis in `kv-get`: a guest blocked in a host call cannot be
//! interrupted by the epoch deadline, so host calls never wait on the
//! network. So reads are this host's copy: what Redis held at start plus
//! this host's writes (hosts fed the same events compute the same values;
//! across hosts the last write wins). The quotas hold twice: the host
//! refuses a write over `kv_keys`/`kv_bytes` up front, and the script holds
//! Redis to them for every host together, refusing what another host's
//! writes left no room for (counted in `klaxon_state_kv_refused_total`).

use std::sync::Arc;

use crate::alert::TemplateId;
use crate::state::flush::{Batch, StateSink};
use crate::state::health::metrics;

use super::Redis;
use super::scripts::KV_WRITE;

pub struct RedisSink {
    pub redis: Arc<Redis>,
}

impl StateSink for RedisSink {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn write(&mut self, batch: Batch) -> Result<(), String> {
        if batch.kv.is_empty() {
            return Ok(());
        }
        let redis = self.redis.clone();
        tokio::task::spawn_blocking(move || write_kv(&redis, &batch))
            .await
            .map_err(|e| format!("KV flush panicked: {e}"))?
    }
}

fn write_kv(redis: &Redis, batch: &Batch) -> Result<(), String> {
    let quota_of = |t: &TemplateId| {
        let q = batch.quotas.iter().find(|(q, _)| q == t).map(|(_, q)| *q);
        q.unwrap_or_else(|| crate::plugins::Limits::default().kv_quota())
    };
    let mut groups: std::collections::BTreeMap<&TemplateId, Vec<usize>> = Default::default();
    for (i, row) in batch.kv.iter().enumerate() {
        groups.entry(&row.template).or_default().push(i);
    }
    let results = redis.run(|con| {
        let mut pipe = redis::pipe();
        for (template, at) in &groups {
            let quota = quota_of(template);
            let mut call = KV_WRITE.prepare_invoke();
            for kind in ["kv", "kvx", "kvb"] {
                call.key(redis.key(kind, template.as_str()));
            }
            call.arg(batch.now_ms).arg(quota.keys).arg(quota.bytes);
            for &i in at {
                let row = &batch.kv[i];
                match &row.value {
                    Some((value, expires)) => {
                        let expires = expires.map(|t| t.to_string()).unwrap_or_default();
                        call.arg("s").arg(&row.key).arg(value).arg(expires)
                    }
                    None => call.arg("d").arg(&row.key).arg("").arg(""),
                };
            }
            pipe.invoke_script(&call);
        }
        pipe.query::<Vec<Vec<i64>>>(con)
    })?;
    for ((template, _), codes) in groups.iter().zip(results) {
        for code in codes {
            let limit = match code {
                1 => "kv_keys",
                2 => "kv_bytes",
                _ => continue,
            };
            metrics().kv_refused.with_label_values(&[template.as_str(), limit]).inc();
        }
    }
    Ok(())
}

/// One template's KV entries: key, value, expiry.
pub type TemplateKv = (TemplateId, Vec<(String, String, Option<u64>)>);

/// A hash's fields and a zset's members with their scores.
type Fields = (Vec<(String, String)>, Vec<(String, u64)>);

/// Every template's KV under the prefix, for restoring.
pub fn fetch_kv(redis: &Redis) -> Result<Vec<TemplateKv>, String> {
    let hash_prefix = redis.key("kv", "");
    let hashes: Vec<String> = redis.run(|con| {
        let iter = redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(format!("{hash_prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter::<String>(con)?;
        iter.collect::<redis::RedisResult<Vec<String>>>()
    })?;
    let mut out = Vec::with_capacity(hashes.len());
    for hash in hashes {
        let template = TemplateId::new(&hash[hash_prefix.len()..]);
        let (entries, expiries): Fields = redis.run(|con| {
            redis::pipe()
                .cmd("HGETALL")
                .arg(&hash)
                .cmd("ZRANGE")
                .arg(redis.key("kvx", template.as_str()))
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query(con)
        })?;
        let expiries: std::collections::HashMap<String, u64> = expiries.into_iter().collect();
        let entries = entries
            .into_iter()
            .map(|(key, value)| {
                let expires = expiries.get(&key).copied();
                (key, value, expires)
            })
            .collect();
        out.push((template, entries));
    }
    Ok(out)
}

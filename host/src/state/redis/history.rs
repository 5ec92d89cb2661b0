//! Cooldown history in Redis, shared by every host on the same prefix.
//!
//! Reads go to Redis (one pipelined round trip per decide wave), so a host
//! sees what the others fired; commits run [`COMMIT`] per template (one
//! round trip per wave), which claims each fire atomically: of two hosts
//! firing one key at once, one records the fire and the other a
//! suppression ([`Committed::Lost`]). The bounds (`history_keys` by least
//! recently seen, `history_ttl`) are kept by the same script.
//!
//! A local copy of this host's own decisions (bounded like memory) answers
//! while Redis is unreachable: the host keeps deciding, and can then fire a
//! key another host fired meanwhile. Fail open, by design: an outage of the
//! shared store must cost at most a duplicate, never a missed alert.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::alert::{History, TemplateId};
use crate::state::health::health;
use crate::state::sqlite::parse_severity;
use crate::state::{Committed, HistoryBound, HistoryStore, MemoryHistory, Outcome, Record};

use super::Redis;
use super::scripts::COMMIT;

/// PEXPIRE above this (about 10 years) is left off.
const MAX_PEXPIRE_MS: u64 = 10 * 365 * 86_400_000;

pub struct RedisHistory {
    redis: Arc<Redis>,
    local: MemoryHistory,
}

impl RedisHistory {
    pub fn new(redis: Arc<Redis>) -> RedisHistory {
        RedisHistory { redis, local: MemoryHistory::default() }
    }

    fn failed(&self, op: &'static str, error: &str) {
        health().failed("redis", op, error);
    }
}

/// Input positions grouped by template, in a stable order.
fn by_template<'a, T>(
    items: &'a [T],
    template: impl Fn(&T) -> &'a TemplateId,
) -> BTreeMap<&'a TemplateId, Vec<usize>> {
    let mut groups: BTreeMap<&TemplateId, Vec<usize>> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        groups.entry(template(item)).or_default().push(i);
    }
    groups
}

impl HistoryStore for RedisHistory {
    fn get(&self, template: &TemplateId, key: &str, now_ms: u64) -> History {
        self.get_many(&[(template, key, now_ms)]).pop().unwrap_or_default()
    }

    fn get_many(&self, keys: &[(&TemplateId, &str, u64)]) -> Vec<History> {
        let groups = by_template(keys, |k| k.0);
        let read = self.redis.run(|con| {
            let mut pipe = redis::pipe();
            for (template, at) in &groups {
                let cmd = pipe.cmd("HMGET").arg(self.redis.key("h", template.as_str()));
                for &i in at {
                    cmd.arg(keys[i].1);
                }
            }
            pipe.query::<Vec<Vec<Option<String>>>>(con)
        });
        match read {
            Ok(values) => {
                health().ok("redis");
                let mut out = vec![History::default(); keys.len()];
                for ((_, at), values) in groups.iter().zip(values) {
                    for (&i, value) in at.iter().zip(values) {
                        out[i] = value.as_deref().and_then(decode).unwrap_or_default();
                    }
                }
                out
            }
            Err(error) => {
                self.failed("get", &error);
                keys.iter().map(|(t, k, now)| self.local.get(t, k, *now)).collect()
            }
        }
    }

    fn record(
        &self,
        template: &TemplateId,
        key: &str,
        outcome: Outcome,
        now_ms: u64,
        bound: HistoryBound,
    ) {
        // No claim: a fire recorded this way is unconditional.
        let seen = History::default();
        let r = Record { template, key, outcome, now_ms, bound, seen: &seen };
        self.commit_records(&[r], false);
    }

    fn commit(&self, records: &[Record<'_>]) -> Vec<Committed> {
        self.commit_records(records, true)
    }
}

impl RedisHistory {
    fn commit_records(&self, records: &[Record<'_>], claim: bool) -> Vec<Committed> {
        let groups = by_template(records, |r| r.template);
        let written = self.redis.run(|con| {
            let mut pipe = redis::pipe();
            for (template, at) in &groups {
                let first = &records[at[0]];
                let mut call = COMMIT.prepare_invoke();
                call.key(self.redis.key("h", template.as_str()))
                    .key(self.redis.key("hs", template.as_str()))
                    .arg(first.now_ms)
                    .arg(first.now_ms.saturating_sub(first.bound.ttl_ms))
                    .arg(first.bound.keys)
                    .arg(if first.bound.ttl_ms > MAX_PEXPIRE_MS {
                        0
                    } else {
                        first.bound.ttl_ms.max(1)
                    });
                for &i in at {
                    let r = &records[i];
                    let (claim, value, severity) = match r.outcome {
                        Outcome::Fired { severity, value } => {
                            let seen =
                                r.seen.last_fired_ms.map(|t| t.to_string()).unwrap_or_default();
                            (
                                if claim { seen } else { "!".to_owned() },
                                value.to_string(),
                                severity.as_str(),
                            )
                        }
                        Outcome::Suppressed => ("*".to_owned(), String::new(), ""),
                    };
                    call.arg(r.key).arg(claim).arg(value).arg(severity);
                }
                pipe.invoke_script(&call);
            }
            pipe.query::<Vec<Vec<i64>>>(con)
        });
        let mut out = vec![Committed::Recorded; records.len()];
        match written {
            Ok(results) => {
                health().ok("redis");
                for ((_, at), won) in groups.iter().zip(results) {
                    for (&i, won) in at.iter().zip(won) {
                        if won == 0 {
                            out[i] = Committed::Lost;
                        }
                    }
                }
            }
            Err(error) => self.failed("commit", &error),
        }
        for (r, c) in records.iter().zip(&out) {
            let outcome = if *c == Committed::Lost { Outcome::Suppressed } else { r.outcome };
            self.local.record(r.template, r.key, outcome, r.now_ms, r.bound);
        }
        out
    }
}

/// `last_fired|last_value|severity|fires|suppressed`, as [`COMMIT`] writes it.
fn decode(s: &str) -> Option<History> {
    let mut parts = s.split('|');
    let mut next = || parts.next();
    let (lf, lv, sev, fires, supp) = (next()?, next()?, next()?, next()?, next()?);
    Some(History {
        last_fired_ms: lf.parse().ok(),
        last_value: lv.parse().ok(),
        last_severity: parse_severity(sev),
        fires: fires.parse().ok()?,
        suppressed_since_fire: supp.parse().ok()?,
    })
}

//! The embedded store: cooldown history and plugin KV in an SQLite file of
//! their own beside the alert log (`alerts.db` → `alerts.state.db`).
//!
//! A sibling file rather than tables in the alert log: SQLite has one
//! writer per file, so state flushes never queue behind alert-log batches
//! (or the other way round), the alert log may as well be Postgres, and the
//! schema here evolves without the alert log's migrations. Same pragmas as
//! the alert log: WAL, `synchronous = NORMAL` (a killed process loses
//! nothing committed).
//!
//! Each flush is one transaction: the changed rows, then each touched
//! template pruned to its bound (newest `history_keys` kept, expired rows
//! dropped), so the file is bounded like the memory it mirrors.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::alert::{History, Severity, TemplateId};

use super::flush::{Batch, StateSink};
use super::{HistoryBound, KvQuota, MemoryHistory, MemoryKv};

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS history (
        template TEXT NOT NULL, alert_key TEXT NOT NULL,
        last_fired_ms INTEGER, last_value REAL, last_severity TEXT,
        fires INTEGER NOT NULL, suppressed_since_fire INTEGER NOT NULL,
        seen_ms INTEGER NOT NULL,
        PRIMARY KEY (template, alert_key))",
    "CREATE TABLE IF NOT EXISTS kv (
        template TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
        expires_at_ms INTEGER,
        PRIMARY KEY (template, key))",
];

pub struct SqliteSink {
    pool: SqlitePool,
}

impl SqliteSink {
    /// Open (creating) the file at `path`, or an in-memory database.
    pub async fn open(path: Option<&Path>) -> Result<SqliteSink, sqlx::Error> {
        let options = match path {
            Some(p) => SqliteConnectOptions::new().filename(p).create_if_missing(true),
            None => SqliteConnectOptions::from_str("sqlite::memory:")?,
        };
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(5));
        // One connection: one writer, and an in-memory database lives in it.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&pool).await?;
        }
        Ok(SqliteSink { pool })
    }

    /// Load what the file holds into the memory stores, within each
    /// configured template's bounds; templates `limits` does not know are
    /// left in the file. `wall_now_ms`: drop history past its TTL (live
    /// runs; a replay's clock is its events'). Returns (history, kv) rows
    /// restored.
    pub async fn restore(
        &self,
        history: &MemoryHistory,
        kv: &MemoryKv,
        limits: &dyn Fn(&TemplateId) -> Option<(HistoryBound, KvQuota)>,
        wall_now_ms: Option<u64>,
    ) -> Result<(usize, usize), sqlx::Error> {
        let rows = sqlx::query(
            "SELECT template, alert_key, last_fired_ms, last_value, last_severity, fires, \
             suppressed_since_fire, seen_ms FROM history ORDER BY seen_ms",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut restored = (0, 0);
        for row in rows {
            let template = TemplateId::new(row.try_get("template")?);
            let Some((bound, _)) = limits(&template) else { continue };
            let seen = row.try_get::<i64, _>("seen_ms")? as u64;
            if wall_now_ms.is_some_and(|now| seen.saturating_add(bound.ttl_ms) <= now) {
                continue;
            }
            let severity: Option<String> = row.try_get("last_severity")?;
            let h = History {
                last_fired_ms: row.try_get::<Option<i64>, _>("last_fired_ms")?.map(|v| v as u64),
                last_value: row.try_get("last_value")?,
                last_severity: severity.as_deref().and_then(parse_severity),
                fires: row.try_get::<i64, _>("fires")? as u32,
                suppressed_since_fire: row.try_get::<i64, _>("suppressed_since_fire")? as u32,
            };
            history.restore(&template, row.try_get("alert_key")?, h, seen, bound);
            restored.0 += 1;
        }
        let rows = sqlx::query(
            "SELECT template, key, value, expires_at_ms FROM kv ORDER BY template, key",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let template = TemplateId::new(row.try_get("template")?);
            let Some((_, quota)) = limits(&template) else { continue };
            let expires = row.try_get::<Option<i64>, _>("expires_at_ms")?.map(|v| v as u64);
            let (key, value): (&str, String) = (row.try_get("key")?, row.try_get("value")?);
            if kv.restore(&template, key, value, expires, quota).is_ok() {
                restored.1 += 1;
            }
        }
        Ok(restored)
    }

    async fn write_batch(&self, batch: &Batch) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let now = to_i64(batch.now_ms);
        for row in &batch.history {
            let (t, k) = (row.template.as_str(), row.key.as_str());
            match &row.value {
                Some((h, seen)) => {
                    sqlx::query(
                        "INSERT INTO history VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (template, alert_key) DO UPDATE SET \
                         last_fired_ms = excluded.last_fired_ms, last_value = excluded.last_value, \
                         last_severity = excluded.last_severity, fires = excluded.fires, \
                         suppressed_since_fire = excluded.suppressed_since_fire, seen_ms = excluded.seen_ms",
                    )
                    .bind(t)
                    .bind(k)
                    .bind(h.last_fired_ms.map(to_i64))
                    .bind(h.last_value)
                    .bind(h.last_severity.map(Severity::as_str))
                    .bind(i64::from(h.fires))
                    .bind(i64::from(h.suppressed_since_fire))
                    .bind(to_i64(*seen))
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM history WHERE template = $1 AND alert_key = $2")
                        .bind(t)
                        .bind(k)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        for (template, bound) in &batch.bounds {
            let cutoff = now.saturating_sub(to_i64(bound.ttl_ms));
            sqlx::query(
                "DELETE FROM history WHERE template = $1 AND (seen_ms <= $2 OR alert_key NOT IN \
                 (SELECT alert_key FROM history WHERE template = $1 ORDER BY seen_ms DESC LIMIT $3))",
            )
            .bind(template.as_str())
            .bind(cutoff)
            .bind(to_i64(bound.keys as u64))
            .execute(&mut *tx)
            .await?;
        }
        for row in &batch.kv {
            let (t, k) = (row.template.as_str(), row.key.as_str());
            match &row.value {
                Some((value, expires)) => {
                    sqlx::query(
                        "INSERT INTO kv VALUES ($1, $2, $3, $4) ON CONFLICT (template, key) \
                         DO UPDATE SET value = excluded.value, expires_at_ms = excluded.expires_at_ms",
                    )
                    .bind(t)
                    .bind(k)
                    .bind(value.as_str())
                    .bind(expires.map(to_i64))
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM kv WHERE template = $1 AND key = $2")
                        .bind(t)
                        .bind(k)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        for (template, _) in &batch.quotas {
            sqlx::query("DELETE FROM kv WHERE template = $1 AND expires_at_ms <= $2")
                .bind(template.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }
}

impl StateSink for SqliteSink {
    fn backend(&self) -> &'static str {
        "embedded"
    }

    async fn write(&mut self, batch: Batch) -> Result<(), String> {
        self.write_batch(&batch).await.map_err(|e| e.to_string())
    }

    async fn close(self) {
        self.pool.close().await;
    }
}

pub(crate) fn parse_severity(s: &str) -> Option<Severity> {
    match s {
        "info" => Some(Severity::Info),
        "warning" => Some(Severity::Warning),
        "critical" => Some(Severity::Critical),
        _ => None,
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

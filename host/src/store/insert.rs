//! Writing alerts: multi-row inserts in one transaction per batch.

use sqlx::Row;

use super::{AlertLog, AlertRecord, AlertStatus, Backend, INSERT_COLUMNS, ROWS_PER_STATEMENT};
use super::{StoreError, Written, to_i64};
use crate::clock::{Clock, SystemClock};

impl AlertLog {
    /// Insert `records` in one transaction, skipping ids already present.
    /// Either every new row is written or none is.
    pub async fn write(&self, records: &[AlertRecord]) -> Result<Written, StoreError> {
        let err = |action: &str| {
            let action = format!("{action} ({} rows)", records.len());
            move |source| StoreError::Query { url: self.url.to_string(), action, source }
        };
        // Multi-row inserts with positional `?` parameters on SQLite (bound
        // by index; numbered `$N` made sqlx-sqlite look each one up by name,
        // ~175 µs a row) and `$N` on Postgres, which has no `?`. Each
        // statement shape is prepared once per connection and cached.
        let mut tx = self.pool.begin().await.map_err(err("beginning a transaction"))?;
        let written = self.insert_alerts(&mut tx, records).await?;
        tx.commit().await.map_err(err("committing"))?;
        Ok(written)
    }

    /// The inserts of [`write`](Self::write), inside the caller's transaction.
    pub(crate) async fn insert_alerts(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        records: &[AlertRecord],
    ) -> Result<Written, StoreError> {
        let err = |action: &str| {
            let action = format!("{action} ({} rows)", records.len());
            move |source| StoreError::Query { url: self.url.to_string(), action, source }
        };
        let created_at = to_i64(SystemClock.now_ms());
        let mut written = Written::default();
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let sql = insert_sql(self.backend, chunk.len());
            let mut query = sqlx::query(&sql);
            for r in chunk {
                query = query
                    .bind(r.id.0.as_str())
                    .bind(r.template.as_str())
                    .bind(r.alert_key.as_str())
                    .bind(r.status.as_str())
                    .bind(r.reason.as_deref())
                    .bind(r.severity.as_str())
                    .bind(r.value)
                    .bind(r.title.as_str())
                    .bind(r.fields.as_str())
                    .bind(r.event_id.as_str())
                    .bind(r.venue.as_str())
                    .bind(r.symbol.as_str())
                    .bind(r.kind.as_str())
                    .bind(to_i64(r.exchange_time_ms))
                    .bind(to_i64(r.decided_at_ms))
                    .bind(created_at)
                    .bind(r.versions.filter.as_deref())
                    .bind(r.versions.cooldown.as_deref())
                    .bind(r.versions.formatter.as_deref());
            }
            // `RETURNING` yields only the rows actually inserted, so
            // duplicates are what is left over.
            let inserted = query.fetch_all(&mut **tx).await.map_err(err("inserting alerts"))?;
            for row in inserted {
                let status: String = row.try_get(0).map_err(err("reading inserted statuses"))?;
                match AlertStatus::parse(&status) {
                    Some(AlertStatus::Fired) => written.fired += 1,
                    Some(AlertStatus::Suppressed) => written.suppressed += 1,
                    None => return Err(self.decode_error("status", status)),
                }
            }
        }
        written.duplicates = records.len() as u64 - written.fired - written.suppressed;
        Ok(written)
    }
}

/// `INSERT INTO alert_log (...) VALUES (?, ...), (?, ...) ... ON CONFLICT (id)
/// DO NOTHING RETURNING status` for `rows` rows: `?` on SQLite, `$1..` on
/// Postgres.
fn insert_sql(backend: Backend, rows: usize) -> String {
    use std::fmt::Write;
    let n = INSERT_COLUMNS.len();
    let mut sql = format!("INSERT INTO alert_log ({}) VALUES ", INSERT_COLUMNS.join(", "));
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..n {
            let sep = if col == 0 { "" } else { ", " };
            match backend {
                Backend::Sqlite => write!(sql, "{sep}?"),
                Backend::Postgres => write!(sql, "{sep}${}", row * n + col + 1),
            }
            .expect("writing to a String cannot fail");
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (id) DO NOTHING RETURNING status");
    sql
}

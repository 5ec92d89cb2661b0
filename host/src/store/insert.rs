//! Writing alerts: multi-row inserts in one transaction per batch.
//!
//! What makes this fast (`klaxon bench`, see the README's Benchmark):
//! * rows per transaction (the writer's `batch_size`): each transaction
//!   rewrites, in the WAL, every b-tree page its rows touch;
//! * multi-row statements with positional `?` parameters on SQLite (bound
//!   by index; numbered `$N` made sqlx-sqlite look each one up by name) and
//!   `$N` on Postgres, which has no `?`, in a few fixed shapes that sqlx
//!   prepares once per connection and caches;
//! * no `RETURNING`: each returned row crossed from sqlx's SQLite worker
//!   thread to the writer on its own, a thread wake-up a row. Fired and
//!   suppressed rows go in statements of their own instead, so the rows
//!   each statement affected count the new rows of each status, and
//!   duplicates are what is left over.

use std::sync::OnceLock;

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
        let mut written = Written::default();
        for status in [AlertStatus::Fired, AlertStatus::Suppressed] {
            let rows: Vec<&AlertRecord> = records.iter().filter(|r| r.status == status).collect();
            let inserted = self.insert_rows(tx, &rows).await?;
            match status {
                AlertStatus::Fired => written.fired = inserted,
                AlertStatus::Suppressed => written.suppressed = inserted,
            }
        }
        written.duplicates = records.len() as u64 - written.fired - written.suppressed;
        Ok(written)
    }

    /// Insert `records`; returns how many were new.
    async fn insert_rows(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        records: &[&AlertRecord],
    ) -> Result<u64, StoreError> {
        let err = |action: &str| {
            let action = format!("{action} ({} rows)", records.len());
            move |source| StoreError::Query { url: self.url.to_string(), action, source }
        };
        let created_at = to_i64(SystemClock.now_ms());
        let (mut inserted, mut rest) = (0, records);
        for rows in statement_rows(records.len()) {
            let (chunk, tail) = rest.split_at(rows);
            rest = tail;
            let mut query = sqlx::query(insert_sql(self.backend, chunk.len()));
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
                    .bind(r.versions.formatter.as_deref())
                    .bind(r.reason_code.as_deref())
                    .bind(r.trace.by.as_str())
                    .bind(history_json(&r.trace.history));
            }
            let done = query.execute(&mut **tx).await.map_err(err("inserting alerts"))?;
            inserted += done.rows_affected();
        }
        Ok(inserted)
    }
}

/// The history column: compact JSON of the five numbers a policy saw.
fn history_json(h: &crate::alert::History) -> String {
    serde_json::to_string(h).expect("a history always serializes")
}

/// Rows per statement for a batch of `n`: [`ROWS_PER_STATEMENT`] while that
/// many are left, then the binary digits of the rest, largest first. A
/// batch of any size so takes at most 10 statement shapes, each prepared
/// once per connection and kept in sqlx's statement cache (100 per
/// connection): any shape per remainder would evict and re-prepare them.
fn statement_rows(mut n: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let rows = match n {
            0 => return None,
            n if n >= ROWS_PER_STATEMENT => ROWS_PER_STATEMENT,
            n => 1 << n.ilog2(),
        };
        n -= rows;
        Some(rows)
    })
}

/// Statement shapes: one per power of two up to [`ROWS_PER_STATEMENT`].
const SHAPES: usize = ROWS_PER_STATEMENT.ilog2() as usize + 1;

/// The insert of `rows` rows (a power of two from [`statement_rows`]),
/// built once per backend and shape.
fn insert_sql(backend: Backend, rows: usize) -> &'static str {
    static SQL: [OnceLock<Vec<String>>; 2] = [OnceLock::new(), OnceLock::new()];
    let shapes = SQL[backend as usize]
        .get_or_init(|| (0..SHAPES).map(|shape| build_insert_sql(backend, 1 << shape)).collect());
    &shapes[rows.ilog2() as usize]
}

/// `INSERT INTO alert_log (...) VALUES (?, ...), (?, ...) ... ON CONFLICT (id)
/// DO NOTHING` for `rows` rows: `?` on SQLite, `$1..` on Postgres.
fn build_insert_sql(backend: Backend, rows: usize) -> String {
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
    sql.push_str(" ON CONFLICT (id) DO NOTHING");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_batch_takes_few_statement_shapes() {
        let rows: Vec<usize> = statement_rows(1300).collect();
        assert_eq!(rows, [512, 512, 256, 16, 4]);
        assert_eq!(statement_rows(0).count(), 0);
        let mut shapes = std::collections::BTreeSet::new();
        for n in 1..=5000 {
            let rows: Vec<usize> = statement_rows(n).collect();
            assert_eq!(rows.iter().sum::<usize>(), n);
            shapes.extend(rows);
        }
        assert_eq!(shapes.len(), SHAPES, "{shapes:?}");
    }

    #[test]
    fn each_shape_binds_every_column_of_every_row() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let sql = insert_sql(backend, 4);
            let marks = match backend {
                Backend::Sqlite => sql.matches('?').count(),
                Backend::Postgres => sql.matches('$').count(),
            };
            assert_eq!(marks, 4 * INSERT_COLUMNS.len(), "{sql}");
        }
        assert!(insert_sql(Backend::Postgres, 2).contains(&format!("${}", 2 * 19)));
    }
}

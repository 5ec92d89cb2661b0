//! Reading the alert log for `klaxon alerts`, and pruning it.

use super::{AlertLog, AlertRecord, AlertStatus, SELECT_COLUMNS, StoreError, to_i64};

/// Which alerts [`AlertLog::query`] returns.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub template: Option<String>,
    pub status: Option<AlertStatus>,
    /// Only alerts whose event was retracted.
    pub retracted: bool,
    /// Only alerts decided at or after this unix ms.
    pub since_ms: Option<u64>,
    pub limit: u32,
}

impl AlertQuery {
    /// `status` and `retracted` from a `--status`/`?status=` value: `fired`,
    /// `suppressed` or `retracted`; `None` for anything else.
    pub fn status_filter(value: &str) -> Option<(Option<AlertStatus>, bool)> {
        match value {
            "retracted" => Some((None, true)),
            other => AlertStatus::parse(other).map(|s| (Some(s), false)),
        }
    }
}

/// What [`AlertLog::prune`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub alerts: u64,
    pub deliveries: u64,
}

impl AlertLog {
    /// Alerts matching `q`, newest first.
    pub async fn query(&self, q: &AlertQuery) -> Result<Vec<AlertRecord>, StoreError> {
        let sql = format!(
            "SELECT {SELECT_COLUMNS} FROM alert_log WHERE ($1 IS NULL OR template = $1) \
             AND ($2 IS NULL OR status = $2) AND ($3 = 0 OR retracted = TRUE) \
             AND decided_at_ms >= $4 ORDER BY decided_at_ms DESC, id DESC LIMIT $5"
        );
        let rows = sqlx::query(&sql)
            .bind(q.template.as_deref())
            .bind(q.status.map(AlertStatus::as_str))
            .bind(i64::from(q.retracted))
            .bind(to_i64(q.since_ms.unwrap_or(0)))
            .bind(i64::from(q.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error("querying alerts"))?;
        rows.iter().map(|row| self.decode_record(row)).collect()
    }

    /// The alert with id `id`, if the log has it.
    pub async fn get(&self, id: &str) -> Result<Option<AlertRecord>, StoreError> {
        let sql = format!("SELECT {SELECT_COLUMNS} FROM alert_log WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.query_error("reading an alert"))?;
        row.map(|row| self.decode_record(&row)).transpose()
    }

    /// Delete fired alerts written before `fired_before_ms` and suppressed
    /// ones before `suppressed_before_ms` (host clock, `created_at_ms`), and
    /// deliveries of fired alerts that are done (`sent`/`dead`) and as old.
    /// Pending deliveries are never pruned.
    pub async fn prune(
        &self,
        fired_before_ms: Option<u64>,
        suppressed_before_ms: Option<u64>,
    ) -> Result<Pruned, StoreError> {
        let mut pruned = Pruned::default();
        for (status, before) in [("fired", fired_before_ms), ("suppressed", suppressed_before_ms)] {
            let Some(before) = before else { continue };
            let done =
                sqlx::query("DELETE FROM alert_log WHERE status = $1 AND created_at_ms < $2")
                    .bind(status)
                    .bind(to_i64(before))
                    .execute(&self.pool)
                    .await
                    .map_err(self.query_error("pruning alerts"))?;
            pruned.alerts += done.rows_affected();
        }
        if let Some(before) = fired_before_ms {
            let done = sqlx::query(
                "DELETE FROM deliveries WHERE status IN ('sent', 'dead') AND updated_at_ms < $1",
            )
            .bind(to_i64(before))
            .execute(&self.pool)
            .await
            .map_err(self.query_error("pruning deliveries"))?;
            pruned.deliveries += done.rows_affected();
        }
        Ok(pruned)
    }
}

/// How often the pruner runs (and once at start).
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Prune per `config`'s retention in the background, for as long as the
/// runtime lives; nothing to do (and no task) without a retention.
pub fn spawn_pruner(log: AlertLog, config: &super::AlertLogConfig) {
    use crate::clock::{Clock, SystemClock};
    let (fired, suppressed) = (config.retention, config.suppressed_retention.or(config.retention));
    if fired.is_none() && suppressed.is_none() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        loop {
            tick.tick().await;
            let now = SystemClock.now_ms();
            let before = |d: Option<std::time::Duration>| {
                d.map(|d| now.saturating_sub(d.as_millis() as u64))
            };
            match log.prune(before(fired), before(suppressed)).await {
                Ok(p) if p.alerts + p.deliveries > 0 => {
                    crate::telemetry::metrics()
                        .alert_log_rows
                        .with_label_values(&["pruned"])
                        .inc_by(p.alerts);
                    tracing::info!(
                        alerts = p.alerts,
                        deliveries = p.deliveries,
                        "Alert log pruned."
                    );
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = %super::error_chain(&error), "Alert log pruning failed.")
                }
            }
        }
    });
}

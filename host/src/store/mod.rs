//! The alert log: every decided alert, fired or suppressed (with its reason),
//! in SQLite or Postgres.
//!
//! * [`AlertLogConfig`] (`config.rs`) is the user surface: url, batch size,
//!   flush interval.
//! * [`AlertLog`] (here) is a cheap, clonable handle on a connection pool: it
//!   opens and migrates the database, writes one batch per transaction, and
//!   answers the queries the CLI and tests need.
//! * [`run_writer`] (`writer.rs`) is the task that batches alerts from the
//!   decide stage and writes them; it ends, after writing everything, when
//!   its input channel closes.
//! * [`AlertRecord`] (`record.rs`) is one row.
//! * [`run_retractions`] (`retract.rs`) marks alerts of reorged events.
//! * `insert.rs` writes alert batches; `outbox.rs` is the `deliveries`
//!   table (the network sinks' durable queue); `query.rs` reads and prunes.
//! * `bound.rs` bounds keys and texts before they become rows;
//!   `isolate.rs` splits a row the database refuses out of its batch.
//!
//! One code path serves both backends: sqlx's `Any` driver picks SQLite or
//! Postgres from the url's scheme, and the SQL here and in `host/migrations/`
//! is written to run unchanged on both (`$n` placeholders, which sqlx's SQLite
//! driver also accepts; `ON CONFLICT (id) DO NOTHING`; `RETURNING`; types `Any`
//! can decode). So there is no `sqlite.rs`/`postgres.rs`: nothing differs but
//! the url handling in [`Backend`].
//!
//! Invariants: writes are idempotent on the alert id, so replaying the same
//! input leaves one row per alert; a row is never dropped silently (see
//! `writer.rs`): a refused row is logged and counted, and one bad row never
//! costs the others. This module reads no other stage and does not touch `config/`.

pub mod bound;
mod config;
mod insert;
mod isolate;
mod outbox;
mod query;
mod record;
mod retract;
mod writer;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Row};

use crate::alert::{AlertId, DecidedBy, DecisionTrace, History, TemplateId};

pub use config::AlertLogConfig;
pub(crate) use isolate::{Split, log_refused};
pub use outbox::{DeliveryQuery, DeliveryRecord, DeliveryStatus, delivery_id, markup_str};
pub use query::{AlertQuery, Pruned, spawn_pruner};
pub use record::{AlertRecord, AlertStatus, StatusCounts};
pub use retract::{RetractSummary, run_retractions};
pub use writer::{RetryPolicy, WriterSummary, error_chain, run_writer, run_writer_with};

/// Applied by [`AlertLog::open`]; the files live in `host/migrations/`.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Most rows per `INSERT` statement (a power of two, see `insert.rs`). 22
/// bind parameters a row keep a statement under 12,000 parameters, far
/// below SQLite's 32,766 and Postgres's 65,535.
const ROWS_PER_STATEMENT: usize = 512;

/// The columns the writer fills; `retracted` takes its default.
const INSERT_COLUMNS: [&str; 22] = [
    "id",
    "template",
    "alert_key",
    "status",
    "reason",
    "severity",
    "value",
    "title",
    "fields",
    "event_id",
    "venue",
    "symbol",
    "kind",
    "exchange_time_ms",
    "decided_at_ms",
    "created_at_ms",
    "filter_version",
    "cooldown_version",
    "formatter_version",
    "reason_code",
    "decided_by",
    "history",
];

const SELECT_COLUMNS: &str = "id, template, alert_key, status, reason, severity, value, title, fields, \
     event_id, venue, symbol, kind, exchange_time_ms, decided_at_ms, \
     CASE WHEN retracted THEN 1 ELSE 0 END AS retracted, created_at_ms, \
     filter_version, cooldown_version, formatter_version, reason_code, decided_by, history";

/// Which database a url points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend for `url`'s scheme, or a message saying what is wrong.
    pub fn from_url(url: &str) -> Result<Backend, String> {
        let Some((scheme, _)) = url.split_once(':') else {
            return Err(
                "missing scheme, expected `sqlite://<path>` or `postgres://<host>/<db>`".into()
            );
        };
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            other => Err(format!("unsupported scheme `{other}`, expected `sqlite` or `postgres`")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure of the alert log. Urls in messages have their password masked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("alert log `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("alert log `{url}`: cannot connect")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("alert log `{url}`: cannot apply migrations")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("alert log `{url}`: {action}")]
    Query {
        url: String,
        action: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("alert log `{url}`: column `{column}` holds unexpected value `{value}`")]
    Decode { url: String, column: &'static str, value: String },
    #[error(
        "alert log `{url}` ({backend}): {rows} rows lost after {attempts} failed attempts to write them"
    )]
    RowsLost {
        url: String,
        backend: Backend,
        rows: u64,
        attempts: u32,
        #[source]
        last: Box<StoreError>,
    },
}

/// What one [`AlertLog::write`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub fired: u64,
    pub suppressed: u64,
    /// Rows skipped because their id was already in the log (a replay or a retry).
    pub duplicates: u64,
}

impl std::ops::AddAssign for Written {
    fn add_assign(&mut self, other: Written) {
        self.fired += other.fired;
        self.suppressed += other.suppressed;
        self.duplicates += other.duplicates;
    }
}

/// Handle on the alert log. Clones share one connection pool.
#[derive(Debug, Clone)]
pub struct AlertLog {
    pool: AnyPool,
    backend: Backend,
    /// The url with its password masked, for messages.
    url: Arc<str>,
}

impl AlertLog {
    /// Connect to `url` (creating a missing SQLite file) and apply pending
    /// migrations.
    pub async fn open(url: &str) -> Result<AlertLog, StoreError> {
        let shown = redact(url);
        let backend = Backend::from_url(url)
            .map_err(|reason| StoreError::InvalidUrl { url: shown.clone(), reason })?;
        sqlx::any::install_default_drivers();
        let connect_url = match backend {
            Backend::Sqlite => sqlite_create_if_missing(url),
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&connect_url)
            .map_err(|e| StoreError::InvalidUrl { url: shown.clone(), reason: e.to_string() })?;
        // One writer plus the odd query from `/ready` or the CLI.
        let mut pool = AnyPoolOptions::new().max_connections(4);
        if is_sqlite_memory(url) {
            // Through `Any`, every new connection parses the url again and
            // gets a database of its own, which lives only while that
            // connection is open: keep exactly one, for good.
            pool = pool.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None);
        }
        if backend == Backend::Sqlite {
            // One connection: SQLite has one writer anyway, and the outbox
            // must never be read through a connection holding an older
            // snapshot than the one that just wrote to it (a sender could
            // then miss new rows, or see a row it marked `sent` as due).
            pool = pool.max_connections(1);
            pool = pool.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL: the CLI and `/ready` read beside the writer, and
                    // with `synchronous = NORMAL` a commit is not an fsync.
                    // A killed process loses nothing committed; only a power
                    // cut can lose the last commits before a checkpoint.
                    // A checkpoint copies the WAL back into the file and
                    // syncs both: at the default 1,000 pages a busy log did
                    // that every few batches (each batch dirties pages all
                    // over four b-trees); 10,000 pages (40 MiB) is about
                    // 100,000 rows between checkpoints, and the WAL file is
                    // cut back to 64 MiB after each. A multi-row insert
                    // keeps a statement journal (the pages it changed, to
                    // undo it alone): in memory, not in a temporary file.
                    for pragma in [
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA synchronous = NORMAL",
                        "PRAGMA busy_timeout = 5000",
                        "PRAGMA wal_autocheckpoint = 10000",
                        "PRAGMA journal_size_limit = 67108864",
                        "PRAGMA temp_store = MEMORY",
                        "PRAGMA cache_size = -32768",
                    ] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            });
        }
        let pool = pool
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect { url: shown.clone(), source })?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate { url: shown.clone(), source })?;
        Ok(AlertLog { pool, backend, url: Arc::from(shown) })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The url, password masked.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Rows per status (retracted rows included).
    pub async fn count_by_status(&self) -> Result<StatusCounts, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM alert_log GROUP BY status")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error("counting alerts by status"))?;
        let mut counts = StatusCounts::default();
        for row in rows {
            let status: String =
                row.try_get("status").map_err(self.query_error("reading status"))?;
            let n: i64 = row.try_get("n").map_err(self.query_error("reading count"))?;
            match AlertStatus::parse(&status) {
                Some(AlertStatus::Fired) => counts.fired = n as u64,
                Some(AlertStatus::Suppressed) => counts.suppressed = n as u64,
                None => return Err(self.decode_error("status", status)),
            }
        }
        Ok(counts)
    }

    /// Suppressed rows per reason, most frequent first (ties by reason).
    pub async fn suppressed_by_reason(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT reason, COUNT(*) AS n FROM alert_log WHERE status = 'suppressed' \
             GROUP BY reason ORDER BY n DESC, reason",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_error("counting suppressed alerts by reason"))?;
        rows.iter()
            .map(|row| {
                let reason: Option<String> =
                    row.try_get("reason").map_err(self.query_error("reading reason"))?;
                let n: i64 = row.try_get("n").map_err(self.query_error("reading count"))?;
                Ok((reason.unwrap_or_default(), n as u64))
            })
            .collect()
    }

    /// The `limit` most recently decided alerts, newest first.
    pub async fn fetch_recent(&self, limit: u32) -> Result<Vec<AlertRecord>, StoreError> {
        let sql = format!(
            "SELECT {SELECT_COLUMNS} FROM alert_log ORDER BY decided_at_ms DESC, id DESC LIMIT $1"
        );
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error("fetching recent alerts"))?;
        rows.iter().map(|row| self.decode_record(row)).collect()
    }

    /// A trivial query, for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(self.query_error("pinging"))?;
        Ok(())
    }

    /// Close every pooled connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// `decided_by` and `history`; rows from before they existed decode
    /// as decided by the policy on an empty history.
    fn decode_trace(&self, row: &sqlx::any::AnyRow) -> Result<DecisionTrace, StoreError> {
        let by: Option<String> =
            row.try_get("decided_by").map_err(self.query_error("reading `decided_by`"))?;
        let history: Option<String> =
            row.try_get("history").map_err(self.query_error("reading `history`"))?;
        let by = match by {
            None => DecidedBy::default(),
            Some(b) => DecidedBy::parse(&b).ok_or_else(|| self.decode_error("decided_by", b))?,
        };
        let history = match history {
            None => History::default(),
            Some(h) => serde_json::from_str(&h).map_err(|_| self.decode_error("history", h))?,
        };
        Ok(DecisionTrace { history, by })
    }

    fn decode_record(&self, row: &sqlx::any::AnyRow) -> Result<AlertRecord, StoreError> {
        let text = |column: &'static str| -> Result<String, StoreError> {
            row.try_get(column).map_err(self.query_error(&format!("reading `{column}`")))
        };
        let int = |column: &'static str| -> Result<u64, StoreError> {
            let v: i64 =
                row.try_get(column).map_err(self.query_error(&format!("reading `{column}`")))?;
            u64::try_from(v).map_err(|_| self.decode_error(column, v.to_string()))
        };
        let status = text("status")?;
        let severity = text("severity")?;
        Ok(AlertRecord {
            id: AlertId(text("id")?),
            template: TemplateId::new(&text("template")?),
            alert_key: text("alert_key")?,
            status: AlertStatus::parse(&status)
                .ok_or_else(|| self.decode_error("status", status.clone()))?,
            reason: row.try_get("reason").map_err(self.query_error("reading `reason`"))?,
            severity: record::parse_severity(&severity)
                .ok_or_else(|| self.decode_error("severity", severity.clone()))?,
            value: row.try_get("value").map_err(self.query_error("reading `value`"))?,
            title: text("title")?,
            fields: text("fields")?,
            event_id: text("event_id")?,
            venue: text("venue")?,
            symbol: text("symbol")?,
            kind: text("kind")?,
            exchange_time_ms: int("exchange_time_ms")?,
            decided_at_ms: int("decided_at_ms")?,
            retracted: int("retracted")? != 0,
            created_at_ms: Some(int("created_at_ms")?),
            versions: crate::alert::PluginVersions {
                filter: row
                    .try_get("filter_version")
                    .map_err(self.query_error("reading versions"))?,
                cooldown: row
                    .try_get("cooldown_version")
                    .map_err(self.query_error("reading versions"))?,
                formatter: row
                    .try_get("formatter_version")
                    .map_err(self.query_error("reading versions"))?,
            },
            reason_code: row
                .try_get("reason_code")
                .map_err(self.query_error("reading `reason_code`"))?,
            trace: self.decode_trace(row)?,
        })
    }

    fn query_error(&self, action: &str) -> impl FnOnce(sqlx::Error) -> StoreError + use<> {
        let (url, action) = (self.url.to_string(), action.to_owned());
        move |source| StoreError::Query { url, action, source }
    }

    fn decode_error(&self, column: &'static str, value: String) -> StoreError {
        StoreError::Decode { url: self.url.to_string(), column, value }
    }
}

fn to_i64(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// sqlx opens an SQLite file read-write but does not create it unless the url
/// says `mode=rwc`; the alert log should just appear on first run.
fn sqlite_create_if_missing(url: &str) -> String {
    let has_mode = url
        .split_once('?')
        .is_some_and(|(_, query)| query.split('&').any(|pair| pair.starts_with("mode=")));
    match (has_mode || is_sqlite_memory(url), url.contains('?')) {
        (true, _) => url.to_owned(),
        (false, true) => format!("{url}&mode=rwc"),
        (false, false) => format!("{url}?mode=rwc"),
    }
}

fn is_sqlite_memory(url: &str) -> bool {
    url.starts_with("sqlite::memory:")
        || url.starts_with("sqlite://:memory:")
        || url.contains("mode=memory")
}

/// Mask the password in `scheme://user:password@host/...` and in a
/// `password=` query parameter, so urls can go into logs and errors.
fn redact(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@')
            && let Some(colon) = authority[..at].find(':')
        {
            out = format!("{scheme}://{}:***{}", &authority[..colon], &rest[at..]);
        }
    }
    if let Some(start) = out.find("password=") {
        let value_start = start + "password=".len();
        let value_end = out[value_start..].find('&').map_or(out.len(), |i| value_start + i);
        out.replace_range(value_start..value_end, "***");
    }
    out
}

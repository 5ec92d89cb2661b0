//! Tests of the alert log.
//!
//! * `batching`: the writer's batching, retry and loss accounting against a
//!   fake target, under `tokio::time::pause()`, so timings are exact and no
//!   test sleeps for real.
//! * `backends`: the same behaviour tests against SQLite (a file in a temp
//!   dir) and against the local Postgres (a fresh schema per test, dropped
//!   afterwards). Postgres comes from `KLAXON_TEST_POSTGRES_URL`, by default
//!   `postgres://postgres@127.0.0.1:5432/test`.
//! * `refusals`: oversized and NUL-holding rows logged bounded, and a row
//!   the database refuses left out alone, on both backends.
//! * `urls`: url handling (scheme, create-if-missing, password masking).

/// `on_both_backends!(a, b)` makes `sqlite::a`, `postgres::a`, ... test cases
/// from `async fn a(TestDb)`; defined before the modules that use it.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::super::TestDb::sqlite()).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::super::TestDb::postgres().await).await
                }
            )*
        }
    };
}

mod backends;
mod batching;
mod outbox;
mod refusals;
mod urls;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

use crate::alert::{Alert, AlertId, Decision, Severity, TemplateId};
use crate::event::{Event, EventKind, Sym};

/// A decided alert; `n` makes its event (and so its id) unique.
pub(super) fn alert(n: u32, decision: Decision) -> Arc<Alert> {
    let template = TemplateId::new("whale-trades");
    let key = "BTCUSDT".to_owned();
    let event_id = format!("binance:BTCUSDT:a:{n}");
    let event = Event::new(
        EventKind::Trade,
        Sym::new("binance"),
        Sym::new("BTCUSDT"),
        event_id.clone(),
        1_633_912_112_123 + u64::from(n),
    );
    Arc::new(Alert {
        id: AlertId::derive(&template, &key, &event_id),
        template,
        key,
        severity: Severity::Critical,
        value: 1_200_000.0 + f64::from(n),
        title: "Whale buy".into(),
        fields: vec![("notional".into(), "$1.20M".into()), ("price".into(), "61234.5".into())],
        event: Arc::new(event),
        decision,
        decided_at_ms: 1_633_912_112_200 + u64::from(n),
        versions: Default::default(),
        trace: Default::default(),
    })
}

pub(super) fn fired(n: u32) -> Arc<Alert> {
    alert(n, Decision::Fire(Severity::Critical))
}

pub(super) fn suppressed(n: u32, reason: &str) -> Arc<Alert> {
    alert(n, Decision::Suppress(reason.into()))
}

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn postgres_url() -> String {
    std::env::var("KLAXON_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A database of its own for one test: an SQLite file in a temp dir, or a
/// fresh Postgres schema that is dropped when this value is (even if the
/// test panicked).
pub(super) struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("alerts.db").display());
        TestDb { url, _dir: Some(dir), schema: None }
    }

    pub async fn postgres() -> TestDb {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let schema = format!(
            "klaxon_test_{}_{}_{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let base = postgres_url();
        let mut admin = sqlx::PgConnection::connect(&base).await.unwrap_or_else(|e| {
            panic!("cannot reach test Postgres at `{base}` (set KLAXON_TEST_POSTGRES_URL): {e}")
        });
        sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await
            .expect("create schema");
        admin.close().await.ok();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options[search_path]={schema}");
        TestDb { url, _dir: None, schema: Some(schema) }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(schema) = self.schema.take() else { return };
        // Drop runs inside the test's runtime, which cannot be blocked on;
        // a thread with its own runtime can.
        let base = postgres_url();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&base).await?;
                sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(&mut admin)
                    .await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema: {dropped:?}");
        }
    }
}

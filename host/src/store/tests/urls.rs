//! Url handling: backend choice, SQLite create-if-missing, password masking.

use std::str::FromStr;

use sqlx::ConnectOptions;
use sqlx::any::AnyConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use crate::store::{AlertLog, Backend, StoreError, redact, sqlite_create_if_missing};

#[test]
fn backend_follows_the_scheme() {
    assert_eq!(Backend::from_url("sqlite://klaxon-alerts.db"), Ok(Backend::Sqlite));
    assert_eq!(Backend::from_url("sqlite::memory:"), Ok(Backend::Sqlite));
    assert_eq!(Backend::from_url("postgres://u@h/db"), Ok(Backend::Postgres));
    assert_eq!(Backend::from_url("postgresql://u@h/db"), Ok(Backend::Postgres));
    assert!(Backend::from_url("mysql://u@h/db").is_err());
}

#[test]
fn sqlite_files_are_created_unless_the_url_says_otherwise() {
    assert_eq!(
        sqlite_create_if_missing("sqlite://klaxon-alerts.db"),
        "sqlite://klaxon-alerts.db?mode=rwc"
    );
    assert_eq!(
        sqlite_create_if_missing("sqlite://a.db?cache=private"),
        "sqlite://a.db?cache=private&mode=rwc"
    );
    assert_eq!(sqlite_create_if_missing("sqlite://a.db?mode=ro"), "sqlite://a.db?mode=ro");
    assert_eq!(sqlite_create_if_missing("sqlite::memory:"), "sqlite::memory:");
}

#[test]
fn the_default_url_names_a_file_relative_to_the_working_directory() {
    // The path the `Any` driver takes: parse as a url, hand its text to SQLite.
    let any = AnyConnectOptions::from_str(&sqlite_create_if_missing("sqlite://klaxon-alerts.db"))
        .unwrap();
    let sqlite = SqliteConnectOptions::from_url(&any.database_url).unwrap();
    assert_eq!(sqlite.get_filename(), std::path::Path::new("klaxon-alerts.db"));
}

#[test]
fn passwords_are_masked() {
    assert_eq!(
        redact("postgres://klaxon:s3cr%40t@db:5432/alerts"),
        "postgres://klaxon:***@db:5432/alerts"
    );
    assert_eq!(
        redact("postgres://db/alerts?user=k&password=hunter2&sslmode=require"),
        "postgres://db/alerts?user=k&password=***&sslmode=require"
    );
    assert_eq!(redact("postgres://klaxon@db/alerts"), "postgres://klaxon@db/alerts");
    assert_eq!(redact("sqlite://klaxon-alerts.db"), "sqlite://klaxon-alerts.db");
}

#[tokio::test]
async fn bad_urls_fail_with_the_masked_url() {
    let err = AlertLog::open("mysql://root:pw@localhost/klaxon").await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl { .. }));
    assert_eq!(
        err.to_string(),
        "alert log `mysql://root:***@localhost/klaxon`: unsupported scheme `mysql`, expected `sqlite` or `postgres`"
    );
}

#[tokio::test]
async fn in_memory_sqlite_works() {
    let log = AlertLog::open("sqlite::memory:").await.unwrap();
    log.write(&[crate::store::AlertRecord::from_alert(&super::fired(1))]).await.unwrap();
    assert_eq!(log.count_by_status().await.unwrap().fired, 1);
    log.close().await;
}

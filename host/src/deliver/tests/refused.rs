//! A delivery whose alert row the database refuses is left out whole: no
//! delivery row without its alert, and the other deliveries of the batch
//! are queued and sent.

use std::sync::Arc;

use sqlx::Connection;

use super::mock::{MockService, Resp};
use super::{FAST, deliveries, run, sink};
use crate::alert::AlertId;
use crate::store::AlertLog;

#[tokio::test]
async fn a_refused_alert_leaves_no_delivery_behind_and_the_others_are_sent() {
    let mock = MockService::start(|_, _| Resp::ok(200, "ok"));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let db = super::Db { log: AlertLog::open(&url).await.unwrap(), _dir: dir };
    // The database itself refuses alerts keyed `poison`, as a constraint would.
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON alert_log \
         WHEN NEW.alert_key = 'poison' BEGIN SELECT RAISE(ABORT, 'poison row'); END",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let mut batch = deliveries(5, |i| format!("body {i}"));
    let mut poison = (*batch[2].alert).clone();
    poison.key = "poison".into();
    poison.id = AlertId::derive(&poison.template, &poison.key, &poison.event.id);
    let poison_id = poison.id.0.clone();
    batch[2].alert = Arc::new(poison);
    let hook = sink(&format!("type = \"webhook\"\nurl = \"{}\"\n{FAST}", mock.url("/hook")));
    let summary = run(&db, "hook", hook, &[], batch).await;

    assert_eq!(summary.delivered, 4);
    assert_eq!(mock.accepted().len(), 4);
    let rows = db.log.deliveries(&Default::default()).await.unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.out.alert_id != poison_id), "no orphan delivery");
    let logged = db.log.fetch_recent(10).await.unwrap();
    assert_eq!(logged.len(), 4);
    assert!(logged.iter().all(|r| r.id.0 != poison_id));
}

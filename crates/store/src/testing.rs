//! Test support (feature `test-support`): a fresh, migrated database per test on either engine.
//! PostgreSQL comes from `TEST_DATABASE_URL` (default: the local server at
//! `postgres://postgres@127.0.0.1:5432/test`); when that is not reachable the PostgreSQL variant of a test is
//! skipped with a message, except under `CI=true`, where a missing PostgreSQL is a failure.

// Test support fails the test that uses it when CI lacks PostgreSQL: that is its job.
#![allow(clippy::panic)]

use sqlx::{Connection, Executor};

use crate::db::{Engine, Store};
use crate::error::StoreError;

pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Keeps the temporary directory of a SQLite test database alive.
pub struct TestDb {
    pub store: Store,
    _dir: Option<TempDir>,
}

pub struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A migrated SQLite database in a new temporary directory.
pub async fn sqlite() -> Result<TestDb, StoreError> {
    let dir =
        std::env::temp_dir().join(format!("aftersales-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).map_err(|e| StoreError::Internal(e.to_string()))?;
    let url = format!("sqlite://{}", dir.join("test.db").display());
    let store = Store::connect(&url).await?;
    store.migrate().await?;
    Ok(TestDb {
        store,
        _dir: Some(TempDir(dir)),
    })
}

/// A migrated, new PostgreSQL database, or `None` (after saying why) when none is configured.
/// Panics under CI when PostgreSQL is missing, so CI always runs both engines.
pub async fn postgres() -> Option<TestDb> {
    // Without TEST_DATABASE_URL the local server of the README is tried.
    let base = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_string());
    match fresh_postgres(&base).await {
        Ok(db) => Some(db),
        Err(e) if !in_ci() => {
            say(&format!(
                "skipped: PostgreSQL at TEST_DATABASE_URL is not usable: {e}"
            ));
            None
        }
        Err(e) => panic!("PostgreSQL at TEST_DATABASE_URL is not usable under CI: {e}"),
    }
}

async fn fresh_postgres(base: &str) -> Result<TestDb, StoreError> {
    sqlx::any::install_default_drivers();
    let mut admin = sqlx::PgConnection::connect(base).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Databases of earlier runs older than two hours are dropped on the way.
    let old: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'aftersales_t_%'")
            .fetch_all(&mut admin)
            .await?;
    for name in old {
        let created = name
            .split('_')
            .nth(2)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        if created + 7200 < now {
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                .await;
        }
    }
    let name = format!(
        "aftersales_t_{now}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    admin
        .execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await?;
    let mut url = url::Url::parse(base).map_err(|e| StoreError::Url(e.to_string()))?;
    url.set_path(&format!("/{name}"));
    let store = Store::connect(url.as_str()).await?;
    store.migrate().await?;
    Ok(TestDb { store, _dir: None })
}

/// Runs raw SQL, for tests that must prove what the database itself refuses.
pub async fn execute_raw(store: &Store, sql: &str) -> Result<u64, StoreError> {
    Ok(sqlx::query(sql).execute(&store.pool).await?.rows_affected())
}

pub fn engine_name(store: &Store) -> &'static str {
    match store.engine() {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    }
}

/// Writes past the test harness's output capture, so a skip is visible in a normal run.
pub fn say(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// The store's pool, for tests that check a figure against the raw rows.
pub fn pool(store: &Store) -> &sqlx::AnyPool {
    &store.pool
}

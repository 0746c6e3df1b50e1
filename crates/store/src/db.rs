//! Connecting, configuring and migrating either engine. The dialect differences of the whole
//! store live here: connection pragmas, placeholder lists and the migration folders.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

use crate::error::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn from_url(url: &str) -> Result<Engine, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            Err(StoreError::Url(format!(
                "{url}: the database url must start with sqlite:// or postgres://"
            )))
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// The handle every part of the product holds. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    engine: Engine,
    url: String,
    /// Where customers reach the product, for links in their messages.
    public_url: std::sync::Arc<str>,
    /// The producer's key for Portuguese document signatures (from configuration, never the repository).
    pub(crate) pt_signer: Option<std::sync::Arc<documents::pt::PtSigner>>,
    /// Driving times from a routing service (logistics); the built-in model when none or when it fails.
    pub(crate) routing: Option<std::sync::Arc<dyn crate::logistics::RoutingTable>>,
    /// Signed-in users' names and scopes between requests (auth.rs, checked against `auth_epoch`).
    pub(crate) callers: std::sync::Arc<crate::auth::CallerCache>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// SQLite's `synchronous` setting in WAL mode (docs/decisions/0011): `FULL`, so every commit (an
/// issued invoice, a message put in the outbox or marked sent) is on disk before it returns and
/// survives a power loss, not only a crash of the process (`NORMAL` would lose the last commits).
pub const SQLITE_SYNCHRONOUS: &str = "FULL";

impl Store {
    /// Connects to `sqlite://path` (created when missing) or `postgres://…`.
    /// SQLite runs in WAL mode with foreign keys on and a busy timeout.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let engine = Engine::from_url(url)?;
        let url = match engine {
            Engine::Sqlite => sqlite_url_with_create(url),
            Engine::Postgres => url.to_string(),
        };
        let opts = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Url(format!("{url}: {e}")))?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        let pool = AnyPoolOptions::new()
            .max_connections(match engine {
                Engine::Sqlite => 8,
                Engine::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            // No ping before each query: it doubled the round trips of every request (issue 21).
            // A connection the server dropped fails its next query, which sqlx then closes; old
            // connections are retired after half an hour and idle ones after ten minutes.
            .test_before_acquire(false)
            .max_lifetime(Duration::from_secs(30 * 60))
            .idle_timeout(Duration::from_secs(10 * 60))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // Reads through a memory map (up to 1 GiB) and a 16 MiB page cache per
                        // connection: claim analyses read hundreds of thousands of rows, and
                        // through the default 2 MiB cache each page is a system call.
                        let pragmas = format!(
                            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 10000; PRAGMA synchronous = {SQLITE_SYNCHRONOUS}; \
                             PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -16384;"
                        );
                        conn.execute(pragmas.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        Ok(Store {
            pool,
            engine,
            url,
            public_url: "http://localhost:8080".into(),
            pt_signer: None,
            routing: None,
            callers: Default::default(),
        })
    }

    /// Sets the address customers reach the product at (links in messages to them).
    pub fn with_public_url(mut self, url: &str) -> Store {
        self.public_url = url.trim_end_matches('/').into();
        self
    }

    /// Sets the key that signs Portuguese documents (SAF-T HashControl = its version).
    pub fn with_pt_signer(mut self, signer: documents::pt::PtSigner) -> Store {
        self.pt_signer = Some(std::sync::Arc::new(signer));
        self
    }

    /// Plans logistics with driving times from this routing service (the built-in model when it fails).
    pub fn with_routing(
        mut self,
        routing: std::sync::Arc<dyn crate::logistics::RoutingTable>,
    ) -> Store {
        self.routing = Some(routing);
        self
    }

    pub fn has_pt_signer(&self) -> bool {
        self.pt_signer.is_some()
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Applies the embedded migrations of this engine that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.engine {
            Engine::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Engine::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Names of the embedded migrations not yet applied.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        let migrator = match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        };
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
            .fetch_all(&self.pool)
            .await
            .unwrap_or_default();
        Ok(migrator
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .map(|m| format!("{} {}", m.version, m.description))
            .collect())
    }

    /// Begins a write transaction. Every write goes through here: under an idempotency key
    /// ([`crate::idempotency::with_key`]) it marks the claim in the same transaction, so a
    /// request that dies after writing is never run twice.
    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        let mut tx = self.pool.begin().await?;
        crate::idempotency::mark_effect(&mut tx).await?;
        Ok(tx)
    }

    /// Readiness: the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn sqlite_url_with_create(url: &str) -> String {
    if url.contains(":memory:") || url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The file path of a `sqlite://` url, for backup and demo reset.
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        None
    } else {
        Some(path.to_string())
    }
}

/// `$start, $start+1, …` for `n` values; `NULL` for none, so `IN (NULL)` matches nothing.
/// Where a list newest first goes on: the `(created_at, id)` of the row its cursor names (the
/// last of the previous page). A cursor that names no row of `table` is refused, naming the field.
pub(crate) async fn cursor_key(
    pool: &AnyPool,
    table: &'static str,
    cursor: Option<&str>,
) -> Result<Option<(i64, String)>, StoreError> {
    let Some(c) = cursor else {
        return Ok(None);
    };
    let sql = format!("SELECT created_at, id FROM {table} WHERE id = $1");
    let key: Option<(i64, String)> = sqlx::query_as(&sql).bind(c).fetch_optional(pool).await?;
    key.map(Some).ok_or_else(|| {
        aftersales_domain::ValidationErrors::single(
            "cursor",
            aftersales_domain::Rule::Unknown,
            "cursor must be the next_cursor of the page before",
        )
        .into()
    })
}

pub(crate) fn placeholders(start: usize, n: usize) -> String {
    if n == 0 {
        return "NULL".to_string();
    }
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A single-statement write in its own transaction begun by [`Store::begin`], so it marks an
/// idempotency claim like any other write: `sqlx::query(..).bind(..).write(store).await?`.
pub(crate) trait Write {
    async fn write(self, store: &Store) -> Result<sqlx::any::AnyQueryResult, sqlx::Error>;
}

impl<'q> Write for sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    async fn write(self, store: &Store) -> Result<sqlx::any::AnyQueryResult, sqlx::Error> {
        let mut tx = store.pool.begin().await?;
        crate::idempotency::mark_effect(&mut tx).await?;
        let done = self.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            sqlite_path("sqlite://data/a.db?mode=rwc").as_deref(),
            Some("data/a.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///var/lib/a.db").as_deref(),
            Some("/var/lib/a.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert!(Engine::from_url("mysql://x").is_err());
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(placeholders(1, 0), "NULL");
    }
}

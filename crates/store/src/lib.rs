//! Persistence for both engines (SQLite embedded, PostgreSQL for scale) with one code path for
//! business queries. Every query reachable from HTTP takes a [`Scope`]; the CLI-only operations
//! live behind [`Store::cli`], which the web crate is forbidden to call (see `crates/web/clippy.toml`).

pub mod audit;
pub mod auth;
pub mod backup;
pub mod billing;
pub mod cases;
pub mod cli;
pub mod crm;
mod db;
pub mod demo;
mod error;
pub mod idempotency;
pub mod import;
pub mod intake;
pub mod notify;
pub mod org;
pub mod public;
mod scope;
pub mod triage;
pub mod user;
pub mod workshop;

pub use db::{sqlite_path, Engine, Store};
pub use error::StoreError;
pub use scope::Scope;

use time::OffsetDateTime;

/// Times are stored as Unix microseconds (UTC) on both engines: same type, same ordering.
pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A new opaque id: UUIDv7, so ids sort by creation without leaking volumes.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A page of a list, with the cursor for the next page when there is one.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Limits a page size to 1..=200, 50 by default.
pub fn page_limit(limit: Option<u32>) -> i64 {
    i64::from(limit.unwrap_or(50).clamp(1, 200))
}

#[cfg(feature = "test-support")]
pub mod testing;

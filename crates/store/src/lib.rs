//! Persistence for both engines (SQLite embedded, PostgreSQL for scale) with one code path for
//! business queries. Every query reachable from HTTP takes a [`Scope`]; the CLI-only operations
//! live behind [`Store::cli`], which the web crate is forbidden to call (see `crates/web/clippy.toml`).

pub mod audit;
pub mod auth;
pub mod backup;
mod batch;
pub mod billing;
pub mod cases;
pub mod cli;
pub mod crm;
mod db;
pub mod demo;
mod error;
pub mod gdpr;
pub mod idempotency;
pub mod kpis;
pub mod logistics;
pub mod notify;
pub mod org;
pub mod pilots;
pub mod public;
pub mod reminders;
mod scope;
pub mod standards;
pub mod training;
pub mod user;
pub mod warranty;
pub mod workshop;

pub use db::{sqlite_path, Engine, Store, SQLITE_SYNCHRONOUS};
pub use error::StoreError;
pub use scope::Scope;

pub use aftersales_api_types::Ref;
use time::OffsetDateTime;

/// Declares a capability's handle: a borrowed view of the store that holds that capability's
/// operations, so a call site names it (`store.billing().issue(..)`). See docs/decisions/0004.
macro_rules! capability {
    ($(#[$doc:meta])* $name:ident, $method:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'s> {
            pub(crate) store: &'s crate::Store,
        }

        impl crate::Store {
            $(#[$doc])*
            pub fn $method(&self) -> $name<'_> {
                $name { store: self }
            }
        }
    };
}
pub(crate) use capability;

/// Times are stored as Unix microseconds (UTC) on both engines: same type, same ordering.
pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Reads back a value stored as text through its domain parser. A value the parser refuses is an
/// error naming the table, the column and the value, never a silent default.
pub(crate) fn decode<T>(
    table: &'static str,
    column: &'static str,
    value: &str,
    parse: impl FnOnce(&str, &str) -> Result<T, aftersales_domain::validation::FieldError>,
) -> Result<T, StoreError> {
    parse(column, value).map_err(|_| StoreError::Corrupt {
        table,
        column,
        value: value.to_string(),
    })
}

/// The parameters of a system event as stored: a JSON object of strings, or NULL when there are none.
pub(crate) fn params_json(params: &[(&str, &str)]) -> Option<String> {
    if params.is_empty() {
        return None;
    }
    let map: std::collections::BTreeMap<&str, &str> = params.iter().copied().collect();
    serde_json::to_string(&map).ok()
}

/// Reads stored event parameters back; a value that is not a JSON object of strings fails loudly.
pub(crate) fn params_of(
    table: &'static str,
    value: Option<String>,
) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
    match value {
        None => Ok(Default::default()),
        Some(v) => serde_json::from_str(&v).map_err(|_| StoreError::Corrupt {
            table,
            column: "params",
            value: v,
        }),
    }
}

/// An unguessable token for a customer's link (status page, survey, document): 24 random bytes.
pub(crate) fn new_token() -> String {
    use base64::Engine as _;
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
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

impl<T> Page<T> {
    /// The page from the `limit + 1` rows a list read: it keeps `limit` of them, and when there
    /// were more, the next page starts after the last one kept (its `key`).
    pub(crate) fn from_rows(mut items: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Page<T> {
        let limit = usize::try_from(limit).unwrap_or(0);
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(key)
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

/// Limits a page size to 1..=200, 50 by default.
pub fn page_limit(limit: Option<u32>) -> i64 {
    i64::from(limit.unwrap_or(50).clamp(1, 200))
}

#[cfg(feature = "test-support")]
pub mod testing;

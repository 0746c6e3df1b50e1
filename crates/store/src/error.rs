//! The store's error type: the web layer maps each variant to one HTTP status.

use aftersales_domain::ValidationErrors;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// Absent, or outside the caller's scope: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    /// Visible to the caller, but the caller's roles do not allow this change.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Optimistic concurrency: the caller's version is stale.
    #[error("version conflict: the current version is {current}")]
    Conflict { current: i64 },
    /// A technician may not take a job: the reason names the certificate.
    #[error("refused: {}", .0.message())]
    Refused(aftersales_domain::workshop::Refusal),
    /// A bay or technician was taken by another booking between reading and booking.
    #[error("taken: {0}")]
    Taken(String),
    /// Too many wrong attempts at a secret (the current password) lately: try again later.
    #[error("too many attempts; retry after {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: i64 },
    #[error("unsupported database url: {0}")]
    Url(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("backup error: {0}")]
    Backup(String),
    /// A stored value the code does not know: a damaged row, or one written by a newer version.
    #[error("unreadable row: {table}.{column} holds {value:?}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        value: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl StoreError {
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        e.as_database_error()
            .is_some_and(|d| d.is_unique_violation())
    }
}

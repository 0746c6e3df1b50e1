//! Idempotency keys for API requests that create things: the first request with a key claims it,
//! its response is stored, and a retry with the same key gets that response instead of a duplicate.
//!
//! Claim, effect and answer are three steps, so a request can die between them. The effect marks
//! the claim in its own transaction ([`Store::begin`] does it while [`with_key`] is in scope), so
//! a claim left without an answer is resolved by what was written: without an effect the request
//! runs again, with one it never does (the retry hears that the answer was lost).

use time::{Duration, OffsetDateTime};

use crate::auth::Caller;
use crate::error::StoreError;
use crate::micros;

crate::capability!(
    /// Idempotency-Key claims and stored answers: `store.idempotency().claim_idempotency_key(..)`.
    Idempotency, idempotency
);

/// How long a key is remembered.
pub const KEY_LIFETIME: Duration = Duration::hours(24);
/// A claim without an answer after this long belongs to a request that died; it may be retried.
pub const STALE_CLAIM: Duration = Duration::minutes(2);

tokio::task_local! {
    /// The claimed key of the request this task serves: (user id, key).
    static CLAIMED: (String, String);
}

/// Runs `f` (the request) with its claimed key in scope, so each write transaction it begins
/// marks the claim as having taken effect.
pub async fn with_key<F: std::future::Future>(caller: &Caller, key: &str, f: F) -> F::Output {
    CLAIMED
        .scope((caller.user_id.clone(), key.to_string()), f)
        .await
}

/// Marks the claim in scope (if any) as having taken effect, inside the caller's transaction.
pub(crate) async fn mark_effect(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
) -> Result<(), sqlx::Error> {
    let Ok((user_id, key)) = CLAIMED.try_with(|c| c.clone()) else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE idempotency_keys SET effect = 1 WHERE user_id = $1 AND key = $2 AND status = 0",
    )
    .bind(user_id)
    .bind(key)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: run the request, then `complete` or `release` it.
    Claimed,
    /// A request with this key finished before: here is its answer, with the headers that
    /// describe it (ETag, Location, Content-Type), so a replay is the same answer.
    Replay {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// A request with this key is still running.
    InProgress,
    /// A request with this key wrote its effect and then died before its answer was stored:
    /// it is not run again; the client must look the result up.
    AnswerLost,
    /// The key was used for a different request (other method, path or body).
    Mismatch,
}

impl Idempotency<'_> {
    pub async fn claim_idempotency_key(
        self,
        caller: &Caller,
        key: &str,
        method: &str,
        path: &str,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<Claim, StoreError> {
        // Expired keys go, and so do claims whose request died before writing anything.
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE created_at < $1 \
             OR (status = 0 AND effect = 0 AND created_at < $2)",
        )
        .bind(micros(now - KEY_LIFETIME))
        .bind(micros(now - STALE_CLAIM))
        .execute(&self.store.pool)
        .await?;
        let fingerprint = crate::auth::secret_hash(&format!(
            "{method} {path} {}",
            String::from_utf8_lossy(body)
        ));
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, method, path, fingerprint, status, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, 0, NULL, $6) ON CONFLICT (user_id, key) DO NOTHING",
        )
        .bind(&caller.user_id)
        .bind(key)
        .bind(method)
        .bind(path)
        .bind(&fingerprint)
        .bind(micros(now))
        .execute(&self.store.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::Claimed);
        }
        type Row = (String, i64, Option<String>, Option<String>, i64, i64);
        let row: Option<Row> = sqlx::query_as(
            "SELECT fingerprint, status, body, headers, effect, created_at FROM idempotency_keys \
             WHERE user_id = $1 AND key = $2",
        )
        .bind(&caller.user_id)
        .bind(key)
        .fetch_optional(&self.store.pool)
        .await?;
        Ok(match row {
            None => Claim::InProgress,
            Some((f, ..)) if f != fingerprint => Claim::Mismatch,
            Some((_, 0, _, _, 1, created)) if created < micros(now - STALE_CLAIM) => {
                Claim::AnswerLost
            }
            Some((_, 0, ..)) => Claim::InProgress,
            Some((_, status, body, headers, ..)) => Claim::Replay {
                status: u16::try_from(status).unwrap_or(200),
                headers: match headers {
                    Some(h) => serde_json::from_str(&h).map_err(|_| StoreError::Corrupt {
                        table: "idempotency_keys",
                        column: "headers",
                        value: h,
                    })?,
                    None => Vec::new(),
                },
                body: body.unwrap_or_default(),
            },
        })
    }

    /// Stores the answer of a claimed key, with the headers a replay must repeat.
    pub async fn complete_idempotency_key(
        self,
        caller: &Caller,
        key: &str,
        status: u16,
        headers: &[(String, String)],
        body: &str,
    ) -> Result<(), StoreError> {
        let headers =
            serde_json::to_string(headers).map_err(|e| StoreError::Internal(e.to_string()))?;
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, body = $2, headers = $3 WHERE user_id = $4 AND key = $5",
        )
        .bind(i64::from(status))
        .bind(body)
        .bind(&headers)
        .bind(&caller.user_id)
        .bind(key)
        .execute(&self.store.pool)
        .await?;
        Ok(())
    }

    /// Forgets a claimed key whose request failed without writing anything, so that a retry
    /// runs again. Returns false when the request had written (the key then keeps its answer).
    pub async fn release_idempotency_key(
        self,
        caller: &Caller,
        key: &str,
    ) -> Result<bool, StoreError> {
        let gone = sqlx::query(
            "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status = 0 AND effect = 0",
        )
        .bind(&caller.user_id)
        .bind(key)
        .execute(&self.store.pool)
        .await?;
        Ok(gone.rows_affected() == 1)
    }
}

//! Authentication: argon2id password hashes, server-side sessions, API tokens, login rate limiting.
//! Secrets (session ids, tokens) are stored only as SHA-256 hashes; the raw value lives with the client.

use aftersales_domain::i18n::Language;
use aftersales_domain::user::{sign_in_wait, Failures, NewPassword};
use aftersales_domain::validation::Rule;
use aftersales_domain::ValidationErrors;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::audit::{record, AuditKind, NewEvent};
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{from_micros, micros, new_id};
pub use aftersales_api_types::auth::ApiToken;

crate::capability!(
    /// Sign-in, sessions and API tokens: `store.auth().login(..)`.
    Auth, auth
);

/// Argon2id with the crate's defaults (m = 19 MiB, t = 2, p = 1: the OWASP recommendation).
pub async fn hash_password(password: &str) -> Result<String, StoreError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| StoreError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| StoreError::Internal(e.to_string()))?
}

async fn verify_password(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_string(), hash.to_string());
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// At most this many sign-in checks run at once (argon2id is CPU- and memory-bound by design).
static LOGIN_PERMITS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// A hash of a password nobody knows, checked when the username is unknown so that the answer
/// takes as long as for a known one.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$x4Jm1n2eHXHQnSe4XWtLZWeJdwBnjMXtRjpQdGtOZbE";

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn secret_hash(raw: &str) -> String {
    let digest = Sha256::digest(raw.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Limits and lifetimes of sign-in; from configuration.
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    pub max_failures_per_user: i64,
    pub max_failures_per_ip: i64,
    pub window: Duration,
    pub session_ttl: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            max_failures_per_user: 5,
            max_failures_per_ip: 30,
            window: Duration::minutes(15),
            session_ttl: Duration::hours(12),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("unknown username or wrong password")]
    InvalidCredentials,
    #[error("too many failed attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new session: the raw id goes into the cookie and is never stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub raw_id: String,
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
    pub user_id: String,
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthVia {
    Session { csrf_token: String },
    ApiToken { token_id: String },
}

/// The signed-in caller of a request: who, with which scope, by what means.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub language: Language,
    pub scope: Scope,
    pub via: AuthVia,
}

/// id, name, prefix, created_at, expires_at, last_used_at, revoked_at
type TokenRow = (
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

#[derive(sqlx::FromRow)]
struct CallerRow {
    id: String,
    username: String,
    display_name: String,
    language: String,
}

/// Each signed-in user's name, language and scope, kept between requests and tagged with the
/// `auth_epoch` counter read in the same query that checks the session or token: when anything
/// that shapes a caller has changed (memberships, the organisation tree, the user), the counter
/// has moved and the entry is read again. So a request costs one query for who is asking instead
/// of four, and nothing is ever stale, on one instance or several.
#[derive(Default)]
pub(crate) struct CallerCache {
    entries: std::sync::RwLock<std::collections::HashMap<String, CachedCaller>>,
}

#[derive(Clone)]
struct CachedCaller {
    epoch: i64,
    username: String,
    display_name: String,
    language: Language,
    scope: Scope,
}

/// More staff users than this in one process's memory and the cache starts over (it refills
/// itself from the database as they come back).
const CALLER_CACHE_LIMIT: usize = 20_000;

impl std::fmt::Debug for CallerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.read().map(|e| e.len()).unwrap_or(0);
        write!(f, "CallerCache({n} users)")
    }
}

impl CallerCache {
    fn get(&self, user_id: &str, epoch: i64) -> Option<CachedCaller> {
        let entries = self.entries.read().ok()?;
        entries.get(user_id).filter(|c| c.epoch == epoch).cloned()
    }

    fn put(&self, user_id: &str, entry: CachedCaller) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= CALLER_CACHE_LIMIT {
                entries.clear();
            }
            entries.insert(user_id.to_string(), entry);
        }
    }
}

impl Auth<'_> {
    /// Checks a username and password and opens a session. Failures and rate-limited attempts are
    /// audited; the limit counts recent failures per username and per client address, in the
    /// database, so it holds across several app instances.
    pub async fn login(
        self,
        username: &str,
        password: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
        policy: &LoginPolicy,
    ) -> Result<NewSession, LoginError> {
        let username = username.trim().to_ascii_lowercase();
        // Counting, checking and recording happen under one of a few permits: parallel guesses
        // cannot all pass the count before the first failure is written, and hashing cannot
        // flood the blocking pool.
        let _permit = LOGIN_PERMITS
            .acquire()
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        // Growing waits per account and address pair, so a guesser elsewhere does not lock out the
        // real user; wider keys (the account from anywhere, the address for any account) only
        // start slowing down far later (a spread-out attack, or one address trying many names).
        let since = micros(now - policy.window);
        let failures = |sql: &'static str, a: String, b: Option<String>| {
            let pool = self.store.pool.clone();
            async move {
                let mut q = sqlx::query_as::<_, (i64, Option<i64>)>(sql).bind(a);
                if let Some(b) = b {
                    q = q.bind(b);
                }
                let (count, last) = q.bind(since).fetch_one(&pool).await?;
                Ok::<_, StoreError>(Failures {
                    count,
                    last: last.map(crate::from_micros),
                })
            }
        };
        let addr = ip.unwrap_or("").to_string();
        let pair = failures(
            "SELECT COUNT(*), MAX(at) FROM audit_events WHERE kind = 'login-failed' AND subject_username = $1 AND COALESCE(ip, '') = $2 AND at > $3",
            username.clone(),
            Some(addr.clone()),
        )
        .await?;
        let account = failures(
            "SELECT COUNT(*), MAX(at) FROM audit_events WHERE kind = 'login-failed' AND subject_username = $1 AND at > $2",
            username.clone(),
            None,
        )
        .await?;
        let address = match ip {
            Some(ip) => {
                failures(
                    "SELECT COUNT(*), MAX(at) FROM audit_events WHERE kind = 'login-failed' AND ip = $1 AND at > $2",
                    ip.to_string(),
                    None,
                )
                .await?
            }
            None => Failures::default(),
        };
        let wait = [
            sign_in_wait(pair, policy.max_failures_per_user, policy.window, now),
            sign_in_wait(
                account,
                policy.max_failures_per_user * 10,
                policy.window,
                now,
            ),
            sign_in_wait(address, policy.max_failures_per_ip, policy.window, now),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(wait) = wait {
            let (user_failures, ip_failures) = (pair.count, address.count);
            let user_id: Option<String> =
                sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                    .bind(&username)
                    .fetch_optional(&self.store.pool)
                    .await
                    .map_err(StoreError::from)?;
            let mut conn = self.store.pool.acquire().await.map_err(StoreError::from)?;
            record(
                &mut conn,
                NewEvent {
                    kind: AuditKind::LoginRateLimited,
                    subject_user_id: user_id.as_deref(),
                    subject_username: Some(&username),
                    ip,
                    detail: serde_json::json!({"user_failures": user_failures, "ip_failures": ip_failures, "account_failures": account.count, "wait_seconds": wait.whole_seconds()}),
                    ..Default::default()
                },
                now,
            )
            .await?;
            return Err(LoginError::RateLimited {
                retry_after_secs: (wait.whole_seconds() + i64::from(wait.subsec_nanoseconds() > 0))
                    .max(1),
            });
        }

        let row: Option<(String, String, i64)> =
            sqlx::query_as("SELECT id, password_hash, disabled FROM users WHERE username = $1")
                .bind(&username)
                .fetch_optional(&self.store.pool)
                .await
                .map_err(StoreError::from)?;
        let ok = match &row {
            Some((_, hash, _)) => verify_password(password, hash).await,
            None => {
                verify_password(password, DUMMY_HASH).await;
                false
            }
        };
        let mut tx = self.store.begin().await?;
        match row {
            Some((user_id, _, disabled)) if ok && disabled == 0 => {
                let session = insert_session(&mut tx, &user_id, now, policy.session_ttl).await?;
                record(
                    &mut tx,
                    NewEvent {
                        kind: AuditKind::Login,
                        actor_user_id: Some(&user_id),
                        subject_user_id: Some(&user_id),
                        subject_username: Some(&username),
                        ip,
                        detail: serde_json::json!({"method": "password"}),
                        ..Default::default()
                    },
                    now,
                )
                .await?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok(session)
            }
            other => {
                let reason = match &other {
                    None => "unknown-username",
                    Some((_, _, d)) if *d != 0 && ok => "account-disabled",
                    Some(_) => "wrong-password",
                };
                record(
                    &mut tx,
                    NewEvent {
                        kind: AuditKind::LoginFailed,
                        subject_user_id: other.as_ref().map(|o| o.0.as_str()),
                        subject_username: Some(&username),
                        ip,
                        detail: serde_json::json!({"reason": reason}),
                        ..Default::default()
                    },
                    now,
                )
                .await?;
                tx.commit().await.map_err(StoreError::from)?;
                Err(LoginError::InvalidCredentials)
            }
        }
    }

    /// The caller behind a session cookie, if the session is live; extends it (sliding expiry).
    pub async fn resolve_session(
        self,
        raw_id: &str,
        now: OffsetDateTime,
        policy: &LoginPolicy,
    ) -> Result<Option<Caller>, StoreError> {
        let hash = secret_hash(raw_id);
        let row: Option<(String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT s.user_id, s.csrf_token, s.expires_at, s.last_seen_at, e.n FROM sessions s \
             JOIN users u ON u.id = s.user_id CROSS JOIN auth_epoch e \
             WHERE s.id_hash = $1 AND u.disabled = 0",
        )
        .bind(&hash)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some((user_id, csrf_token, expires_at, last_seen_at, epoch)) = row else {
            return Ok(None);
        };
        if expires_at <= micros(now) {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(&hash)
                .execute(&self.store.pool)
                .await?;
            return Ok(None);
        }
        // Write the sliding expiry at most once a minute, not on every request.
        if micros(now) - last_seen_at > 60_000_000 {
            sqlx::query(
                "UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id_hash = $3",
            )
            .bind(micros(now))
            .bind(micros(now + policy.session_ttl))
            .bind(&hash)
            .execute(&self.store.pool)
            .await?;
        }
        self.caller(&user_id, AuthVia::Session { csrf_token }, Some(epoch))
            .await
    }

    /// The caller behind an API token (`Authorization: Bearer ast_…`), if it is live.
    pub async fn resolve_api_token(
        self,
        raw: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Caller>, StoreError> {
        let hash = secret_hash(raw);
        /// id, user, expires, last used, auth epoch
        type TokenCheck = (String, String, Option<i64>, Option<i64>, i64);
        let row: Option<TokenCheck> = sqlx::query_as(
            "SELECT t.id, t.user_id, t.expires_at, t.last_used_at, e.n FROM api_tokens t \
             JOIN users u ON u.id = t.user_id CROSS JOIN auth_epoch e \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0",
        )
        .bind(&hash)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some((token_id, user_id, expires_at, last_used_at, epoch)) = row else {
            return Ok(None);
        };
        if expires_at.is_some_and(|e| e <= micros(now)) {
            return Ok(None);
        }
        if last_used_at.is_none_or(|l| micros(now) - l > 60_000_000) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(micros(now))
                .bind(&token_id)
                .execute(&self.store.pool)
                .await?;
        }
        self.caller(&user_id, AuthVia::ApiToken { token_id }, Some(epoch))
            .await
    }

    /// The caller `user_id`, from the cache when `epoch` (read with the session or token) says
    /// nothing has changed since it was filled; `None` reads the database.
    pub(crate) async fn caller(
        self,
        user_id: &str,
        via: AuthVia,
        epoch: Option<i64>,
    ) -> Result<Option<Caller>, StoreError> {
        if let Some(c) = epoch.and_then(|e| self.store.callers.get(user_id, e)) {
            return Ok(Some(Caller {
                user_id: user_id.to_string(),
                username: c.username,
                display_name: c.display_name,
                language: c.language,
                scope: c.scope,
                via,
            }));
        }
        let row = sqlx::query_as::<_, CallerRow>(
            "SELECT id, username, display_name, language FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let scope = self.store.scope_of(&row.id).await?;
        let language = crate::decode("users", "language", &row.language, Language::parse)?;
        if let Some(epoch) = epoch {
            self.store.callers.put(
                &row.id,
                CachedCaller {
                    epoch,
                    username: row.username.clone(),
                    display_name: row.display_name.clone(),
                    language,
                    scope: scope.clone(),
                },
            );
        }
        Ok(Some(Caller {
            language,
            user_id: row.id,
            username: row.username,
            display_name: row.display_name,
            scope,
            via,
        }))
    }

    /// Ends a session (logout).
    pub async fn logout(
        self,
        caller: &Caller,
        raw_id: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1 AND user_id = $2")
            .bind(secret_hash(raw_id))
            .bind(&caller.user_id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            NewEvent {
                kind: AuditKind::Logout,
                actor_user_id: Some(&caller.user_id),
                subject_user_id: Some(&caller.user_id),
                subject_username: Some(&caller.username),
                ip,
                detail: serde_json::json!({}),
                ..Default::default()
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the caller's own password after checking the current one; ends their other sessions.
    pub async fn change_own_password(
        self,
        caller: &Caller,
        current: &str,
        new: &NewPassword,
        revoke_tokens: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        // Guessing the current password from a stolen session or token is throttled like sign-in:
        // recent wrong attempts are counted in the audit log, under the sign-in permits.
        let _permit = LOGIN_PERMITS
            .acquire()
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let policy = LoginPolicy::default();
        let failures: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE kind = 'password-change-failed' AND subject_username = $1 AND at > $2",
        )
        .bind(&caller.username)
        .bind(micros(now - policy.window))
        .fetch_one(&self.store.pool)
        .await?;
        if failures >= policy.max_failures_per_user {
            return Err(StoreError::TooManyAttempts {
                retry_after_secs: policy.window.whole_seconds(),
            });
        }
        let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(&caller.user_id)
            .fetch_one(&self.store.pool)
            .await?;
        if !verify_password(current, &hash).await {
            let mut conn = self.store.pool.acquire().await?;
            record(
                &mut conn,
                NewEvent {
                    kind: AuditKind::PasswordChangeFailed,
                    actor_user_id: Some(&caller.user_id),
                    subject_user_id: Some(&caller.user_id),
                    subject_username: Some(&caller.username),
                    detail: serde_json::json!({"failures": failures + 1}),
                    ..Default::default()
                },
                now,
            )
            .await?;
            return Err(ValidationErrors::single(
                "current_password",
                Rule::NotAllowed,
                "current_password is not your password",
            )
            .into());
        }
        let keep = match &caller.via {
            AuthVia::Session { csrf_token } => Some(csrf_token.as_str()),
            AuthVia::ApiToken { .. } => None,
        };
        let change = PasswordChange {
            user_id: &caller.user_id,
            username: &caller.username,
            actor: Some(&caller.user_id),
            by: "self",
            keep_session_csrf: keep,
            revoke_tokens,
        };
        replace_password(&self.store.pool, &change, new, now).await
    }

    /// Creates an API token for the caller. The raw token is returned once and never stored.
    pub async fn create_api_token(
        self,
        caller: &Caller,
        name: &str,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<(ApiToken, String), StoreError> {
        let name = aftersales_domain::validation::text("name", name, 1, 80)
            .map_err(ValidationErrors::from)?;
        if expires_at.is_some_and(|e| e <= now) {
            return Err(ValidationErrors::single(
                "expires_at",
                Rule::NotAllowed,
                "expires_at must be in the future",
            )
            .into());
        }
        let raw = format!("ast_{}", random_secret());
        let prefix: String = raw.chars().take(10).collect();
        let id = new_id();
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&caller.user_id)
        .bind(&name)
        .bind(secret_hash(&raw))
        .bind(&prefix)
        .bind(micros(now))
        .bind(expires_at.map(micros))
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            NewEvent {
                kind: AuditKind::ApiTokenCreated,
                actor_user_id: Some(&caller.user_id),
                subject_user_id: Some(&caller.user_id),
                subject_username: Some(&caller.username),
                detail: serde_json::json!({"token_id": id, "name": name}),
                ..Default::default()
            },
            now,
        )
        .await?;
        tx.commit().await?;
        let token = ApiToken {
            id,
            name,
            prefix,
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        Ok((token, raw))
    }

    /// The caller's own API tokens, newest first.
    pub async fn list_api_tokens(self, caller: &Caller) -> Result<Vec<ApiToken>, StoreError> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, name, prefix, created_at, expires_at, last_used_at, revoked_at FROM api_tokens \
             WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(&caller.user_id)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, name, prefix, created_at, expires_at, last_used_at, revoked_at)| ApiToken {
                    id,
                    name,
                    prefix,
                    created_at: from_micros(created_at),
                    expires_at: expires_at.map(from_micros),
                    last_used_at: last_used_at.map(from_micros),
                    revoked_at: revoked_at.map(from_micros),
                },
            )
            .collect())
    }

    pub async fn revoke_api_token(
        self,
        caller: &Caller,
        token_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(micros(now))
            .bind(token_id)
            .bind(&caller.user_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        record(
            &mut tx,
            NewEvent {
                kind: AuditKind::ApiTokenRevoked,
                actor_user_id: Some(&caller.user_id),
                subject_user_id: Some(&caller.user_id),
                subject_username: Some(&caller.username),
                detail: serde_json::json!({"token_id": token_id}),
                ..Default::default()
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn insert_session(
    tx: &mut sqlx::AnyConnection,
    user_id: &str,
    now: OffsetDateTime,
    ttl: Duration,
) -> Result<NewSession, StoreError> {
    let raw_id = random_secret();
    let csrf_token = random_secret();
    let expires_at = now + ttl;
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(secret_hash(&raw_id))
    .bind(user_id)
    .bind(&csrf_token)
    .bind(micros(now))
    .bind(micros(now))
    .bind(micros(expires_at))
    .execute(&mut *tx)
    .await?;
    // Expired sessions of this user are cleaned up on the way.
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND expires_at <= $2")
        .bind(user_id)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
    Ok(NewSession {
        raw_id,
        csrf_token,
        expires_at,
        user_id: user_id.to_string(),
    })
}

/// Who sets whose password, and which of their sessions survive.
pub(crate) struct PasswordChange<'a> {
    pub user_id: &'a str,
    pub username: &'a str,
    pub actor: Option<&'a str>,
    /// `self`, `administrator` or `cli`, for the audit log.
    pub by: &'a str,
    /// The session (by its CSRF token) that made the change and stays signed in.
    pub keep_session_csrf: Option<&'a str>,
    /// Revoke the user's API tokens too (they do not end with a password change otherwise).
    pub revoke_tokens: bool,
}

/// Revokes every live API token of a user; returns how many.
pub(crate) async fn revoke_all_tokens(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(micros(now))
    .bind(user_id)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Hashes and stores a new password, ends the user's other sessions and audits it, in one transaction.
pub(crate) async fn replace_password(
    pool: &sqlx::AnyPool,
    c: &PasswordChange<'_>,
    new: &NewPassword,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let hash = hash_password(new.expose()).await?;
    let mut tx = pool.begin().await?;
    crate::idempotency::mark_effect(&mut tx).await?;
    sqlx::query("UPDATE users SET password_hash = $1, version = version + 1 WHERE id = $2")
        .bind(&hash)
        .bind(c.user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND csrf_token <> $2")
        .bind(c.user_id)
        .bind(c.keep_session_csrf.unwrap_or(""))
        .execute(&mut *tx)
        .await?;
    let revoked = if c.revoke_tokens {
        revoke_all_tokens(&mut tx, c.user_id, now).await?
    } else {
        0
    };
    record(
        &mut tx,
        NewEvent {
            kind: AuditKind::PasswordChanged,
            actor_user_id: c.actor,
            subject_user_id: Some(c.user_id),
            subject_username: Some(c.username),
            detail: serde_json::json!({"by": c.by, "api_tokens_revoked": revoked}),
            ..Default::default()
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    pub(crate) async fn dummy_hash_is_a_valid_argon2id_hash() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("anything", DUMMY_HASH).await);
        let h = hash_password("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h).await);
        assert!(!verify_password("wrong", &h).await);
    }
}

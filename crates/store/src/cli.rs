//! Operations for the command line (`aftersales user …`, `demo`): they act as the operator of the
//! installation, without a caller's scope. The web crate must never call `Store::cli`; its
//! `clippy.toml` forbids it, so no HTTP route reaches an unscoped query.

use aftersales_domain::org::Role;
use aftersales_domain::user::{NewPassword, Username};
use aftersales_domain::validation::Rule;
use aftersales_domain::ValidationErrors;
use time::OffsetDateTime;

use crate::audit::{record, AuditKind, NewEvent};
use crate::auth::hash_password;
use crate::db::{Engine, Store};
use crate::error::StoreError;
use crate::user::NewUser;

pub struct Cli<'a> {
    store: &'a Store,
}

/// A user as the operator sees it in `aftersales user list`.
#[derive(Debug, Clone)]
pub struct UserLine {
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    pub roles: Vec<(String, String)>,
}

impl Store {
    /// Operator access for the CLI. Not reachable from HTTP (see the module doc).
    pub fn cli(&self) -> Cli<'_> {
        Cli { store: self }
    }
}

impl Cli<'_> {
    /// Finds an organisation by id or exact name (case-insensitive).
    pub async fn find_organisation(
        &self,
        id_or_name: &str,
    ) -> Result<(String, String), StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, name FROM organisations WHERE id = $1 OR LOWER(name) = LOWER($1) ORDER BY id",
        )
        .bind(id_or_name.trim())
        .fetch_all(&self.store.pool)
        .await?;
        match rows.len() {
            1 => rows.into_iter().next().ok_or(StoreError::NotFound),
            0 => Err(ValidationErrors::single(
                "org",
                Rule::Unknown,
                format!("no organisation has the id or name {id_or_name:?}"),
            )
            .into()),
            _ => Err(ValidationErrors::single(
                "org",
                Rule::Unique,
                format!("several organisations are named {id_or_name:?}; give the id"),
            )
            .into()),
        }
    }

    pub async fn organisations(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT id, kind, name FROM organisations ORDER BY name")
                .fetch_all(&self.store.pool)
                .await?,
        )
    }

    /// Creates a user from the command line (recorded in the audit log with no actor).
    pub async fn add_user(&self, new: &NewUser, now: OffsetDateTime) -> Result<String, StoreError> {
        self.store.insert_user(None, new, now).await
    }

    pub async fn set_password(
        &self,
        username: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let username = Username::parse("username", username).map_err(ValidationErrors::from)?;
        let password = NewPassword::parse("password", password).map_err(ValidationErrors::from)?;
        let hash = hash_password(password.expose()).await?;
        let mut tx = self.store.pool.begin().await?;
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(username.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let id = id.ok_or_else(|| {
            StoreError::from(ValidationErrors::single(
                "username",
                Rule::Unknown,
                format!("no user is named {}", username.as_str()),
            ))
        })?;
        sqlx::query("UPDATE users SET password_hash = $1, version = version + 1 WHERE id = $2")
            .bind(&hash)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            NewEvent {
                kind: AuditKind::PasswordChanged,
                subject_user_id: Some(&id),
                subject_username: Some(username.as_str()),
                detail: serde_json::json!({"by": "cli"}),
                ..Default::default()
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let username = Username::parse("username", username).map_err(ValidationErrors::from)?;
        let mut tx = self.store.pool.begin().await?;
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(username.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let id = id.ok_or_else(|| {
            StoreError::from(ValidationErrors::single(
                "username",
                Rule::Unknown,
                format!("no user is named {}", username.as_str()),
            ))
        })?;
        sqlx::query("UPDATE users SET disabled = $1, version = version + 1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        record(
            &mut tx,
            NewEvent {
                kind: if disabled {
                    AuditKind::UserDisabled
                } else {
                    AuditKind::UserEnabled
                },
                subject_user_id: Some(&id),
                subject_username: Some(username.as_str()),
                detail: serde_json::json!({"by": "cli"}),
                ..Default::default()
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_users(&self) -> Result<Vec<UserLine>, StoreError> {
        let users: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT id, username, display_name, disabled FROM users ORDER BY username",
        )
        .fetch_all(&self.store.pool)
        .await?;
        let roles: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT m.user_id, o.name, m.role FROM memberships m JOIN organisations o ON o.id = m.organisation_id ORDER BY o.name",
        )
        .fetch_all(&self.store.pool)
        .await?;
        Ok(users
            .into_iter()
            .map(|(id, username, display_name, disabled)| UserLine {
                roles: roles
                    .iter()
                    .filter(|r| r.0 == id)
                    .map(|r| (r.1.clone(), r.2.clone()))
                    .collect(),
                username,
                display_name,
                disabled: disabled != 0,
            })
            .collect())
    }

    /// Grants a role from the command line (recorded in the audit log with no actor).
    pub async fn grant(
        &self,
        username: &str,
        org: &str,
        role: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let role = Role::parse("role", role).map_err(ValidationErrors::from)?;
        let (org_id, _) = self.find_organisation(org).await?;
        let user: Option<(String, String)> =
            sqlx::query_as("SELECT id, username FROM users WHERE username = $1")
                .bind(username.trim().to_ascii_lowercase())
                .fetch_optional(&self.store.pool)
                .await?;
        let (id, username) = user.ok_or_else(|| {
            StoreError::from(ValidationErrors::single(
                "username",
                Rule::Unknown,
                format!("no user is named {username}"),
            ))
        })?;
        let mut tx = self.store.pool.begin().await?;
        crate::user::grant_in_tx(&mut tx, None, &id, &username, &org_id, role, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Empties a PostgreSQL database for a demo reset (the caller asked for it explicitly).
    /// SQLite demo databases are reset by removing the file before connecting.
    pub async fn wipe_postgres(&self) -> Result<(), StoreError> {
        if self.store.engine() != Engine::Postgres {
            return Err(StoreError::Internal(
                "wipe_postgres on a non-PostgreSQL store".into(),
            ));
        }
        sqlx::query("DROP SCHEMA public CASCADE")
            .execute(&self.store.pool)
            .await?;
        sqlx::query("CREATE SCHEMA public")
            .execute(&self.store.pool)
            .await?;
        Ok(())
    }
}

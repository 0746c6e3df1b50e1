//! Staff users and their roles in organisations (capability: org). Customers are not users.

use crate::db::Write;
use std::collections::BTreeMap;

use aftersales_domain::i18n::Language;
use aftersales_domain::org::{Permission, Role};
use aftersales_domain::user::{display_name, Email, NewPassword, Username};
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::ValidationErrors;
use time::OffsetDateTime;

use crate::audit::{record, AuditKind, NewEvent};
use crate::auth::hash_password;
use crate::db::placeholders;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{from_micros, micros, new_id, Page};
pub use aftersales_api_types::user::{Membership, User};

crate::capability!(
    /// People and their roles: `store.users().create_user(..)`.
    Users, users
);

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    username: String,
    display_name: String,
    email: Option<String>,
    language: String,
    disabled: i64,
    created_at: i64,
    version: i64,
}

/// A new user, parsed at the edge.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub display_name: String,
    pub email: Option<Email>,
    pub language: Language,
    pub password: NewPassword,
    pub memberships: Vec<(String, Role)>,
}

impl NewUser {
    pub fn parse(
        username: &str,
        name: &str,
        email: Option<&str>,
        language: &str,
        password: &str,
        memberships: &[(String, String)],
    ) -> Result<NewUser, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let username = errs.take(Username::parse("username", username));
        let display_name = errs.take(display_name("display_name", name));
        let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => errs.take(Email::parse("email", e)),
            None => None,
        };
        let language = errs.take(Language::parse("language", language));
        let password = errs.take(NewPassword::parse("password", password));
        let mut ms = Vec::new();
        if memberships.is_empty() {
            errs.push(FieldError::new(
                "memberships",
                Rule::Required,
                "a user needs at least one role in an organisation",
            ));
        }
        for (i, (org, role)) in memberships.iter().enumerate() {
            if org.trim().is_empty() {
                errs.push(FieldError::new(
                    format!("memberships.{i}.organisation_id"),
                    Rule::Required,
                    "organisation_id is required",
                ));
            }
            if let Some(r) = errs.take(Role::parse(&format!("memberships.{i}.role"), role)) {
                ms.push((org.trim().to_string(), r));
            }
        }
        match (username, display_name, language, password) {
            (Some(username), Some(display_name), Some(language), Some(password))
                if errs.is_empty() =>
            {
                Ok(NewUser {
                    username,
                    display_name,
                    email,
                    language,
                    password,
                    memberships: ms,
                })
            }
            _ => Err(errs),
        }
    }
}

/// A change to a user's own profile fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub email: Option<Option<Email>>,
    pub language: Option<Language>,
    pub disabled: Option<bool>,
}

impl UserPatch {
    /// Parses the fields a change of a person's details may carry; `None` leaves a field as it is,
    /// an empty e-mail removes it. The API (`PATCH /users/{id}`, `/me`) and the forms both use it.
    pub fn parse(
        name: Option<&str>,
        email: Option<Option<&str>>,
        language: Option<&str>,
        disabled: Option<bool>,
    ) -> Result<UserPatch, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let patch = UserPatch {
            display_name: name.and_then(|n| errs.take(display_name("display_name", n))),
            email: match email {
                None => None,
                Some(None) => Some(None),
                Some(Some(e)) if e.trim().is_empty() => Some(None),
                Some(Some(e)) => errs.take(Email::parse("email", e)).map(Some),
            },
            language: language.and_then(|l| errs.take(Language::parse("language", l))),
            disabled,
        };
        errs.into_result()?;
        Ok(patch)
    }
}

impl Users<'_> {
    pub(crate) async fn memberships_of(
        self,
        user_ids: &[String],
    ) -> Result<BTreeMap<String, Vec<Membership>>, StoreError> {
        let sql = format!(
            "SELECT m.user_id, m.organisation_id, o.name, m.role FROM memberships m \
             JOIN organisations o ON o.id = m.organisation_id WHERE m.user_id IN ({}) ORDER BY o.name, m.role",
            placeholders(1, user_ids.len())
        );
        let mut q = sqlx::query_as::<_, (String, String, String, String)>(&sql);
        for id in user_ids {
            q = q.bind(id);
        }
        let mut out: BTreeMap<String, Vec<Membership>> = BTreeMap::new();
        for (user_id, organisation_id, organisation_name, role) in
            q.fetch_all(&self.store.pool).await?
        {
            if let Ok(role) = Role::parse("role", &role) {
                out.entry(user_id).or_default().push(Membership {
                    organisation_id,
                    organisation_name,
                    role,
                });
            }
        }
        Ok(out)
    }

    pub(crate) fn user_from_row(
        row: UserRow,
        memberships: Vec<Membership>,
    ) -> Result<User, StoreError> {
        Ok(User {
            language: crate::decode("users", "language", &row.language, Language::parse)?,
            id: row.id,
            username: row.username,
            display_name: row.display_name,
            email: row.email,
            disabled: row.disabled != 0,
            memberships,
            created_at: from_micros(row.created_at),
            version: row.version,
        })
    }

    /// People with a role in an organisation the caller can see, ordered by username.
    /// Only the memberships inside the caller's reach are shown.
    pub async fn list_users(
        self,
        scope: &Scope,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<Page<User>, StoreError> {
        let orgs = scope.orgs_with(Permission::OrgRead);
        let n = orgs.len();
        let sql = format!(
            "SELECT id, username, display_name, email, language, disabled, created_at, version FROM users \
             WHERE id IN (SELECT user_id FROM memberships WHERE organisation_id IN ({})) AND username > ${} \
             ORDER BY username LIMIT ${}",
            placeholders(1, n),
            n + 1,
            n + 2
        );
        let mut q = sqlx::query_as::<_, UserRow>(&sql);
        for id in &orgs {
            q = q.bind(id);
        }
        let rows = q
            .bind(cursor.unwrap_or(""))
            .bind(limit + 1)
            .fetch_all(&self.store.pool)
            .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut ms = self.memberships_of(&ids).await?;
        let items: Vec<User> = rows
            .into_iter()
            .map(|r| {
                let visible = ms
                    .remove(&r.id)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|m| scope.permits(&m.organisation_id, Permission::OrgRead))
                    .collect();
                Self::user_from_row(r, visible)
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page::from_rows(items, limit, |u| u.username.clone()))
    }

    pub async fn get_user(self, scope: &Scope, id: &str) -> Result<User, StoreError> {
        let row = sqlx::query_as::<_, UserRow>(
            "SELECT id, username, display_name, email, language, disabled, created_at, version FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let all = self
            .memberships_of(std::slice::from_ref(&row.id))
            .await?
            .remove(&row.id)
            .unwrap_or_default();
        let is_self = row.id == scope.user_id();
        let visible: Vec<Membership> = all
            .into_iter()
            .filter(|m| is_self || scope.permits(&m.organisation_id, Permission::OrgRead))
            .collect();
        if visible.is_empty() && !is_self {
            return Err(StoreError::NotFound);
        }
        Self::user_from_row(row, visible)
    }

    /// The caller's own record, with all of their memberships.
    pub async fn me(self, scope: &Scope) -> Result<User, StoreError> {
        self.get_user(scope, scope.user_id()).await
    }

    /// Creates a user with roles in organisations the caller administers.
    pub async fn create_user(
        self,
        scope: &Scope,
        new: NewUser,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        for (i, (org, _)) in new.memberships.iter().enumerate() {
            if !scope.permits(org, Permission::OrgRead) {
                return Err(ValidationErrors::single(
                    format!("memberships.{i}.organisation_id"),
                    Rule::Unknown,
                    "organisation_id names no organisation you can see",
                )
                .into());
            }
            scope.require(org, Permission::UserManage)?;
        }
        let id = self.insert_user(Some(scope.user_id()), &new, now).await?;
        self.get_user(scope, &id).await
    }

    /// Inserts the user, their memberships and the audit events in one transaction.
    pub(crate) async fn insert_user(
        self,
        actor: Option<&str>,
        new: &NewUser,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let hash = hash_password(new.password.expose()).await?;
        self.insert_user_with_hash(actor, new, &hash, now).await
    }

    pub(crate) async fn insert_user_with_hash(
        self,
        actor: Option<&str>,
        new: &NewUser,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let id = new_id();
        let mut tx = self.store.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, username, display_name, email, password_hash, language, disabled, created_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, 1)",
        )
        .bind(&id)
        .bind(new.username.as_str())
        .bind(&new.display_name)
        .bind(new.email.as_ref().map(|e| e.as_str().to_string()))
        .bind(hash)
        .bind(new.language.code())
        .bind(micros(now))
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            return Err(if StoreError::is_unique_violation(&e) {
                ValidationErrors::single(
                    "username",
                    Rule::Unique,
                    format!("the username {} is taken", new.username.as_str()),
                )
                .into()
            } else {
                e.into()
            });
        }
        record(
            &mut tx,
            NewEvent {
                kind: AuditKind::UserCreated,
                actor_user_id: actor,
                subject_user_id: Some(&id),
                subject_username: Some(new.username.as_str()),
                organisation_id: new.memberships.first().map(|m| m.0.as_str()),
                detail: serde_json::json!({"display_name": new.display_name}),
                ..Default::default()
            },
            now,
        )
        .await?;
        for (org, role) in &new.memberships {
            grant_in_tx(&mut tx, actor, &id, new.username.as_str(), org, *role, now).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Grants a role; granting one already held changes nothing and records nothing.
    pub async fn grant_role(
        self,
        scope: &Scope,
        user_id: &str,
        org_id: &str,
        role: Role,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        let user = self.get_user_for_admin(scope, user_id).await?;
        if !scope.permits(org_id, Permission::OrgRead) {
            return Err(ValidationErrors::single(
                "organisation_id",
                Rule::Unknown,
                "organisation_id names no organisation you can see",
            )
            .into());
        }
        scope.require(org_id, Permission::UserManage)?;
        let mut tx = self.store.begin().await?;
        grant_in_tx(
            &mut tx,
            Some(scope.user_id()),
            &user.id,
            &user.username,
            org_id,
            role,
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_user(scope, user_id).await
    }

    /// Revokes a role. Revoking one that is not held changes nothing and is not an error.
    pub async fn revoke_role(
        self,
        scope: &Scope,
        user_id: &str,
        org_id: &str,
        role: Role,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        let user = self.get_user_for_admin(scope, user_id).await?;
        scope.require(org_id, Permission::UserManage)?;
        if user_id == scope.user_id() && role == Role::Administrator {
            return Err(ValidationErrors::single(
                "role",
                Rule::NotAllowed,
                "you cannot revoke your own administrator role; ask another administrator",
            )
            .into());
        }
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "DELETE FROM memberships WHERE user_id = $1 AND organisation_id = $2 AND role = $3",
        )
        .bind(&user.id)
        .bind(org_id)
        .bind(role.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            // Not held (any more): a second click or a stale tab. Nothing to change or record.
            return self.get_user(scope, user_id).await;
        }
        sqlx::query("UPDATE users SET version = version + 1 WHERE id = $1")
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            NewEvent {
                kind: AuditKind::RoleRevoked,
                actor_user_id: Some(scope.user_id()),
                subject_user_id: Some(&user.id),
                subject_username: Some(&user.username),
                organisation_id: Some(org_id),
                detail: serde_json::json!({"role": role.as_str()}),
                ..Default::default()
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_user(scope, user_id).await
    }

    /// A user the caller may administer: one with a membership where the caller holds UserManage.
    pub(crate) async fn get_user_for_admin(
        self,
        scope: &Scope,
        user_id: &str,
    ) -> Result<User, StoreError> {
        let user = self.get_user(scope, user_id).await?;
        if user
            .memberships
            .iter()
            .any(|m| scope.permits(&m.organisation_id, Permission::UserManage))
        {
            Ok(user)
        } else {
            Err(StoreError::Forbidden(
                "changing this user needs the administrator role in one of their organisations"
                    .into(),
            ))
        }
    }

    /// A user whose whole account the caller administers: every one of the user's memberships,
    /// including those the caller cannot see, lies where the caller holds UserManage. An account
    /// shared with another organisation is changed only by an administrator over both.
    pub(crate) async fn get_user_for_full_admin(
        self,
        scope: &Scope,
        user_id: &str,
    ) -> Result<User, StoreError> {
        let user = self.get_user_for_admin(scope, user_id).await?;
        let all = self
            .memberships_of(std::slice::from_ref(&user.id))
            .await?
            .remove(&user.id)
            .unwrap_or_default();
        if all
            .iter()
            .all(|m| scope.permits(&m.organisation_id, Permission::UserManage))
        {
            Ok(user)
        } else {
            Err(StoreError::Forbidden(
                "this account also belongs to organisations you do not administer; ask their administrator".into(),
            ))
        }
    }

    /// Whether the caller administers the whole account of this user (see `get_user_for_full_admin`).
    pub async fn manages_account(self, scope: &Scope, user_id: &str) -> Result<bool, StoreError> {
        match self.get_user_for_full_admin(scope, user_id).await {
            Ok(_) => Ok(true),
            Err(StoreError::Forbidden(_)) | Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// An administrator sets a new password for someone else's account (who forgot theirs, or
    /// whose password may be known to others): their sessions end.
    pub async fn set_password_by_admin(
        self,
        scope: &Scope,
        user_id: &str,
        new: &NewPassword,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if user_id == scope.user_id() {
            return Err(ValidationErrors::single(
                "new_password",
                Rule::NotAllowed,
                "change your own password on your profile page",
            )
            .into());
        }
        let user = self.get_user_for_full_admin(scope, user_id).await?;
        let change = crate::auth::PasswordChange {
            user_id: &user.id,
            username: &user.username,
            actor: Some(scope.user_id()),
            by: "administrator",
            keep_session_csrf: None,
            // An administrator or the operator sets a password when an account is at risk: its tokens go too.
            revoke_tokens: true,
        };
        crate::auth::replace_password(&self.store.pool, &change, new, now).await
    }

    /// Members of one organisation the caller can see, with their roles there, ordered by name.
    pub async fn list_members(self, scope: &Scope, org_id: &str) -> Result<Vec<User>, StoreError> {
        scope.require(org_id, Permission::OrgRead)?;
        let rows = sqlx::query_as::<_, UserRow>(
            "SELECT id, username, display_name, email, language, disabled, created_at, version FROM users \
             WHERE id IN (SELECT user_id FROM memberships WHERE organisation_id = $1) ORDER BY display_name, username",
        )
        .bind(org_id)
        .fetch_all(&self.store.pool)
        .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut ms = self.memberships_of(&ids).await?;
        rows.into_iter()
            .map(|r| {
                let visible = ms
                    .remove(&r.id)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|m| scope.permits(&m.organisation_id, Permission::OrgRead))
                    .collect();
                Self::user_from_row(r, visible)
            })
            .collect()
    }

    /// How many people have a role in an organisation the caller can see.
    pub async fn count_users(self, scope: &Scope) -> Result<i64, StoreError> {
        let orgs = scope.orgs_with(Permission::OrgRead);
        let sql = format!(
            "SELECT COUNT(DISTINCT user_id) FROM memberships WHERE organisation_id IN ({})",
            placeholders(1, orgs.len())
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql);
        for id in &orgs {
            q = q.bind(id);
        }
        Ok(q.fetch_one(&self.store.pool).await?)
    }

    /// Remembers the caller's language choice (from the language switch). A preference, so the
    /// last choice wins without a version check.
    pub async fn set_own_language(
        self,
        scope: &Scope,
        language: Language,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET language = $1, version = version + 1 WHERE id = $2 AND language <> $1")
            .bind(language.code())
            .bind(scope.user_id())
            .write(self.store)
            .await?;
        Ok(())
    }

    /// Changes profile fields (self: name, e-mail, language; administrators also `disabled`),
    /// guarded by the version. Disabling ends every session and revokes API tokens' use.
    pub async fn update_user(
        self,
        scope: &Scope,
        user_id: &str,
        patch: UserPatch,
        expected_version: i64,
        now: OffsetDateTime,
    ) -> Result<User, StoreError> {
        let is_self = user_id == scope.user_id();
        let user = if is_self && patch.disabled.is_none() {
            self.get_user(scope, user_id).await?
        } else {
            self.get_user_for_full_admin(scope, user_id).await?
        };
        if is_self && patch.disabled == Some(true) {
            return Err(ValidationErrors::single(
                "disabled",
                Rule::NotAllowed,
                "you cannot disable your own account",
            )
            .into());
        }
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET display_name = $1, email = $2, language = $3, disabled = $4, version = version + 1 \
             WHERE id = $5 AND version = $6",
        )
        .bind(patch.display_name.clone().unwrap_or(user.display_name.clone()))
        .bind(match &patch.email {
            Some(e) => e.as_ref().map(|e| e.as_str().to_string()),
            None => user.email.clone(),
        })
        .bind(patch.language.unwrap_or(user.language).code())
        .bind(i64::from(patch.disabled.unwrap_or(user.disabled)))
        .bind(user_id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: user.version,
            });
        }
        if let Some(disabled) = patch.disabled.filter(|d| *d != user.disabled) {
            if disabled {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                // Tokens are revoked, not merely blocked: enabling the account again does not bring
                // them back.
                crate::auth::revoke_all_tokens(&mut tx, user_id, now).await?;
            }
            record(
                &mut tx,
                NewEvent {
                    kind: if disabled {
                        AuditKind::UserDisabled
                    } else {
                        AuditKind::UserEnabled
                    },
                    actor_user_id: Some(scope.user_id()),
                    subject_user_id: Some(user_id),
                    subject_username: Some(&user.username),
                    organisation_id: user.memberships.first().map(|m| m.organisation_id.as_str()),
                    detail: serde_json::json!({}),
                    ..Default::default()
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.get_user(scope, user_id).await
    }
}

pub(crate) async fn grant_in_tx(
    tx: &mut sqlx::AnyConnection,
    actor: Option<&str>,
    user_id: &str,
    username: &str,
    org_id: &str,
    role: Role,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await?;
    let kind = kind.ok_or_else(|| {
        StoreError::from(ValidationErrors::single(
            "organisation_id",
            Rule::Unknown,
            "organisation_id names no organisation",
        ))
    })?;
    if let Ok(kind) = aftersales_domain::org::OrgKind::parse("kind", &kind) {
        if !role.fits(kind) {
            return Err(ValidationErrors::single(
                "role",
                Rule::NotAllowed,
                format!(
                    "a {} role cannot be held at a {}",
                    role.as_str(),
                    kind.as_str()
                ),
            )
            .into());
        }
    }
    // A concurrent identical grant is not an error: the role is held either way.
    let inserted = sqlx::query(
        "INSERT INTO memberships (user_id, organisation_id, role, granted_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, organisation_id, role) DO NOTHING",
    )
    .bind(user_id)
    .bind(org_id)
    .bind(role.as_str())
    .bind(micros(now))
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(());
    }
    sqlx::query("UPDATE users SET version = version + 1 WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    record(
        tx,
        NewEvent {
            kind: AuditKind::RoleGranted,
            actor_user_id: actor,
            subject_user_id: Some(user_id),
            subject_username: Some(username),
            organisation_id: Some(org_id),
            detail: serde_json::json!({"role": role.as_str()}),
            ..Default::default()
        },
        now,
    )
    .await
}

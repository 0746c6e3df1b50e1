//! The security audit log: append-only (database triggers refuse UPDATE and DELETE), written in the
//! same transaction as the change it records, readable by administrators of the organisations concerned.

use aftersales_domain::org::Permission;
use time::OffsetDateTime;

use crate::db::placeholders;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{from_micros, micros, new_id, Page};
pub use aftersales_api_types::audit::{AuditEvent, AuditKind};

crate::capability!(
    /// The security audit log: `store.audit().list_audit_events(..)`.
    Audit, audit
);

#[derive(Debug, Default)]
pub(crate) struct NewEvent<'a> {
    pub kind: AuditKind,
    pub actor_user_id: Option<&'a str>,
    pub subject_user_id: Option<&'a str>,
    pub subject_username: Option<&'a str>,
    pub organisation_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: serde_json::Value,
}

pub(crate) async fn record(
    conn: &mut sqlx::AnyConnection,
    e: NewEvent<'_>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_events (id, at, kind, actor_user_id, subject_user_id, subject_username, organisation_id, ip, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new_id())
    .bind(micros(now))
    .bind(e.kind.as_str())
    .bind(e.actor_user_id.map(str::to_string))
    .bind(e.subject_user_id.map(str::to_string))
    .bind(e.subject_username.map(str::to_string))
    .bind(e.organisation_id.map(str::to_string))
    .bind(e.ip.map(str::to_string))
    .bind(e.detail.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    at: i64,
    kind: String,
    actor_user_id: Option<String>,
    actor_username: Option<String>,
    subject_user_id: Option<String>,
    subject_username: Option<String>,
    organisation_id: Option<String>,
    ip: Option<String>,
    detail: String,
}

impl Audit<'_> {
    /// Events about the organisations the caller administers, and events about no organisation
    /// (sign-ins, password changes) of people with a role there; newest first. Attempts on
    /// usernames nobody has belong to no brand: only the installation's administrators (those who
    /// administer every top organisation) see them. An event tied to
    /// another organisation (a role granted elsewhere to a shared user) stays hidden.
    /// The cursor is the id of the last event of the previous page.
    pub async fn list_audit_events(
        self,
        scope: &Scope,
        kind: Option<AuditKind>,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<Page<AuditEvent>, StoreError> {
        let orgs = scope.orgs_with(Permission::AuditRead);
        if orgs.is_empty() {
            return Err(StoreError::Forbidden(
                "reading the audit log needs the administrator role".into(),
            ));
        }
        let n = orgs.len();
        let list_a = placeholders(1, n);
        let list_b = placeholders(n + 1, n);
        let p = 2 * n;
        let sql = format!(
            "SELECT e.id, e.at, e.kind, e.actor_user_id, a.username AS actor_username, e.subject_user_id, \
                    e.subject_username, e.organisation_id, e.ip, e.detail \
             FROM audit_events e LEFT JOIN users a ON a.id = e.actor_user_id \
             WHERE (e.organisation_id IN ({list_a}) \
                    OR (e.organisation_id IS NULL \
                        AND e.subject_user_id IN (SELECT user_id FROM memberships WHERE organisation_id IN ({list_b}))) \
                    OR (e.organisation_id IS NULL AND e.subject_user_id IS NULL \
                        AND NOT EXISTS (SELECT 1 FROM organisations o WHERE o.parent_id IS NULL AND o.id NOT IN ({list_a})))) \
               AND (${} = '' OR e.kind = ${}) \
               AND (${} = '' OR e.id < ${}) \
             ORDER BY e.id DESC LIMIT ${}",
            p + 1,
            p + 1,
            p + 2,
            p + 2,
            p + 3
        );
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for id in orgs.iter().chain(orgs.iter()) {
            q = q.bind(id);
        }
        let rows = q
            .bind(kind.map(|k| k.as_str()).unwrap_or(""))
            .bind(cursor.unwrap_or(""))
            .bind(limit + 1)
            .fetch_all(&self.store.pool)
            .await?;
        let items: Vec<AuditEvent> = rows
            .into_iter()
            .map(|r| AuditEvent {
                id: r.id,
                at: from_micros(r.at),
                kind: r.kind,
                actor_user_id: r.actor_user_id,
                actor_username: r.actor_username,
                subject_user_id: r.subject_user_id,
                subject_username: r.subject_username,
                organisation_id: r.organisation_id,
                ip: r.ip,
                detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
            })
            .collect();
        Ok(Page::from_rows(items, limit, |e| e.id.clone()))
    }
}

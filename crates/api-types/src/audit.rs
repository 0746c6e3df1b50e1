//! API types of audit: the shapes the store reads and writes and the HTTP API documents.

use serde::Serialize;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AuditKind {
    #[default]
    Login,
    LoginFailed,
    LoginRateLimited,
    Logout,
    UserCreated,
    UserDisabled,
    UserEnabled,
    PasswordChanged,
    PasswordChangeFailed,
    RoleGranted,
    RoleRevoked,
    ApiTokenCreated,
    ApiTokenRevoked,
    OrganisationCreated,
}

impl AuditKind {
    pub const ALL: [AuditKind; 14] = [
        AuditKind::Login,
        AuditKind::LoginFailed,
        AuditKind::LoginRateLimited,
        AuditKind::Logout,
        AuditKind::UserCreated,
        AuditKind::UserDisabled,
        AuditKind::UserEnabled,
        AuditKind::PasswordChanged,
        AuditKind::PasswordChangeFailed,
        AuditKind::RoleGranted,
        AuditKind::RoleRevoked,
        AuditKind::ApiTokenCreated,
        AuditKind::ApiTokenRevoked,
        AuditKind::OrganisationCreated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Login => "login",
            AuditKind::LoginFailed => "login-failed",
            AuditKind::LoginRateLimited => "login-rate-limited",
            AuditKind::Logout => "logout",
            AuditKind::UserCreated => "user-created",
            AuditKind::UserDisabled => "user-disabled",
            AuditKind::UserEnabled => "user-enabled",
            AuditKind::PasswordChanged => "password-changed",
            AuditKind::PasswordChangeFailed => "password-change-failed",
            AuditKind::RoleGranted => "role-granted",
            AuditKind::RoleRevoked => "role-revoked",
            AuditKind::ApiTokenCreated => "api-token-created",
            AuditKind::ApiTokenRevoked => "api-token-revoked",
            AuditKind::OrganisationCreated => "organisation-created",
        }
    }

    pub fn parse(s: &str) -> Option<AuditKind> {
        AuditKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub kind: String,
    pub actor_user_id: Option<String>,
    pub actor_username: Option<String>,
    pub subject_user_id: Option<String>,
    pub subject_username: Option<String>,
    pub organisation_id: Option<String>,
    pub ip: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

//! API types of user: the shapes the store reads and writes and the HTTP API documents.

use aftersales_domain::i18n::Language;
use aftersales_domain::org::Role;
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Membership {
    pub organisation_id: String,
    pub organisation_name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub language: Language,
    pub disabled: bool,
    /// The memberships the caller may see.
    pub memberships: Vec<Membership>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub version: i64,
}

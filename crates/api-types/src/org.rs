//! API types of org: the shapes the store reads and writes and the HTTP API documents.

use aftersales_domain::org::OrgKind;
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Brand {
    pub id: String,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Market {
    pub id: String,
    /// ISO 3166-1 alpha-2 country code.
    pub code: String,
    pub name: String,
    /// ISO 4217 currency code.
    pub currency: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Languages served in the market, in order of preference.
    pub languages: Vec<String>,
    pub vat_regime: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Organisation {
    pub id: String,
    pub parent_id: Option<String>,
    pub kind: OrgKind,
    pub name: String,
    pub brand: Brand,
    pub market_code: Option<String>,
    pub city: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub version: i64,
}

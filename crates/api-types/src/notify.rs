//! API types of notify: the shapes the store reads and writes and the HTTP API documents.

use aftersales_domain::i18n::Language;
use aftersales_domain::notify::Event;
use aftersales_domain::notify::MessageChannel;
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    pub event: Event,
    pub channel: MessageChannel,
    pub enabled: bool,
    /// The organisation whose rule is in force; none for the built-in default.
    pub set_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    pub event: Event,
    pub channel: MessageChannel,
    pub language: Language,
    pub subject: String,
    pub body: String,
    /// The organisation whose wording is in force; none for the built-in wording.
    pub set_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutboxItem {
    pub id: String,
    pub organisation: String,
    pub repair_order_id: Option<String>,
    pub repair_order_number: Option<String>,
    pub case_id: Option<String>,
    pub event: String,
    pub channel: String,
    pub recipient: Option<String>,
    pub language: String,
    pub subject: String,
    pub body: String,
    /// `pending`, `sent`, `dead` (gave up; an administrator may retry) or `skipped` (no address or consent).
    pub status: String,
    pub attempts: i64,
    /// For a `skipped` message the reason's code (`erased`, `no-email`, `no-phone`,
    /// `declined-service`, `no-offer-consent`); for a failed delivery the server's answer.
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<OffsetDateTime>,
}

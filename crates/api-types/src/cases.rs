//! API types of cases: the shapes the store reads and writes and the HTTP API documents.

use aftersales_domain::cases::Category;
use aftersales_domain::cases::Channel;
use aftersales_domain::cases::EscalationReason;
use aftersales_domain::cases::Priority;
use aftersales_domain::cases::Status;
use aftersales_domain::cases::Timer;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::*;

/// A mail as a gateway hands it over.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundEmail {
    pub from: String,
    /// The address it was sent to: decides the inbox.
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The `Message-ID` header: each mail is taken once.
    pub message_id: String,
    /// The `In-Reply-To` header, for threading.
    pub in_reply_to: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IntakeResult {
    pub case_id: String,
    pub case_number: String,
    /// `created`, `threaded` (added to an existing case) or `duplicate` (taken before).
    pub outcome: String,
}

/// A new case as logged by an advisor (phone) or taken in from e-mail or the web form.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseInput {
    pub customer_id: Option<String>,
    pub vehicle_id: Option<String>,
    /// The caller's phone or e-mail when they are not (yet) a known customer; a known one is linked.
    pub contact: Option<String>,
    /// `phone`, `email` or `web`.
    pub channel: String,
    /// `technical`, `maintenance`, `delivery`, `warranty`, `invoice` or `other`.
    pub category: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    pub subject: String,
    /// The customer's own words about the symptoms.
    pub symptoms: Option<String>,
}

/// One SLA timer, computed on the business calendar at the time of reading.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlaTimer {
    pub state: Timer,
    /// The target, in business minutes.
    pub minutes: i64,
    /// Business minutes used so far (or until met).
    pub used_minutes: i64,
    /// When the target runs out if the clock keeps running from now.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Case {
    pub id: String,
    /// The human number, e.g. `CASE-2026-00042`.
    pub number: String,
    /// The organisation handling the case.
    pub organisation: Ref,
    pub customer: Option<Ref>,
    pub vehicle: Option<Ref>,
    pub contact: Option<String>,
    pub channel: Channel,
    pub category: Category,
    pub priority: Priority,
    pub status: Status,
    pub subject: String,
    pub symptoms: Option<String>,
    pub owner: Option<Ref>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub escalated_at: Option<OffsetDateTime>,
    pub escalation_reason: Option<EscalationReason>,
    pub first_response: SlaTimer,
    pub resolution: SlaTimer,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseEvent {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// `created`, `status`, `note` (internal), `message` (to the customer), `escalated`, `assigned`, `breach`.
    pub kind: String,
    pub status: Option<String>,
    /// The facts of a system event (`channel`, `to`, `reason`, `number`, …), rendered in the
    /// reader's language; `body` holds only what a person wrote.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub params: std::collections::BTreeMap<String, String>,
    pub body: Option<String>,
    pub actor: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Task {
    pub id: String,
    pub case_id: String,
    pub case_number: String,
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub due_at: OffsetDateTime,
    pub assignee: Ref,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub done_at: Option<OffsetDateTime>,
}

/// A working procedure as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoutingRule {
    pub id: String,
    /// The organisation whose intake (and everything below it) the rule covers.
    pub organisation: Ref,
    pub category: Category,
    /// The party that handles such cases.
    pub target: Ref,
    pub first_response_minutes: Option<i64>,
    pub resolution_minutes: Option<i64>,
}

/// One hand-off of a case between parties.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Handoff {
    pub from: Ref,
    pub to: Ref,
    /// Set when a working procedure made the hand-off.
    pub rule_id: Option<String>,
    pub note: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    /// The case category it helps with, e.g. `technical`.
    pub category: String,
    /// Symptom words, in any of the three languages, comma-separated: `screen, freeze, skjerm, ecrã`.
    pub keywords: String,
    /// `reboot`, `setting`, `ota` or `guidance`.
    pub fix_kind: String,
    pub title_nb: String,
    pub title_en: String,
    pub title_pt: String,
    pub steps_nb: String,
    pub steps_en: String,
    pub steps_pt: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Article {
    pub id: String,
    pub organisation_id: String,
    pub category: Category,
    pub keywords: Vec<String>,
    pub fix_kind: String,
    /// Title and steps in the caller's language.
    pub title: String,
    pub steps: String,
}

/// Observed outcomes of a remote fix.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Outcomes {
    /// Decisions whose outcome is known.
    pub settled: i64,
    pub successes: i64,
    /// successes ÷ settled, in percent; `None` before any outcome is known.
    pub rate_percent: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    /// `remote-fix`, `mobile-service` or `workshop`.
    pub kind: String,
    pub article: Option<Article>,
    /// The symptom words that matched the case.
    pub matched: Vec<String>,
    pub outcomes: Option<Outcomes>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TriageDecisionInput)]
pub struct DecisionInput {
    /// `remote-fix`, `mobile-service` or `workshop`.
    pub kind: String,
    /// The article applied, for a remote fix.
    pub article_id: Option<String>,
}

/// One opening period of a weekday (0 = Monday), local `HH:MM`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpeningPeriod {
    pub weekday: u8,
    pub opens: String,
    pub closes: String,
}

/// The SLA targets of one category and priority as they apply at an organisation, and whether they
/// are its own (else inherited from above, or the built-in default).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlaTarget {
    pub category: String,
    pub priority: String,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    pub own: bool,
}

/// How an organisation's inbox works: opening hours (none set: Monday to Friday 08:00–16:00), SLA
/// targets, the mail addresses that feed it and whether the public web form reaches it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InboxSettings {
    pub opening_hours: Vec<OpeningPeriod>,
    pub sla: Vec<SlaTarget>,
    pub inbound_addresses: Vec<String>,
    pub web_intake: bool,
}

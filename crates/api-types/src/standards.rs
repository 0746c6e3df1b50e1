//! Dealer standards: catalogue versions and their requirements, audits of service points (the
//! self-assessment and the official answers side by side, evidence files, scores), corrective
//! actions, and the network view of the latest scores.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use aftersales_domain::standards::{
    ActionStatus, AuditStatus, Evidence, FigureRule, Outcome, Scores, Scoring, StandardCategory,
};

use crate::Ref;

/// One requirement of a catalogue version, with its id (answers refer to it).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CatalogueRequirement {
    pub id: String,
    pub code: String,
    pub category: StandardCategory,
    /// nb, en, pt.
    pub text: BTreeMap<String, String>,
    pub weight: u8,
    pub mandatory: bool,
    pub evidence: Evidence,
    pub scoring: Scoring,
    pub figure: Option<FigureRule>,
}

/// A version of a catalogue: a brand's standards (kept by its headquarters) or a market's
/// additions (kept by the market entity). Versions are never changed; an import makes the next.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StandardCatalogue {
    pub id: String,
    pub organisation: Ref,
    /// `brand` (a headquarters' catalogue) or `market` (a market entity's additions).
    pub scope: String,
    pub version: i64,
    pub name: BTreeMap<String, String>,
    pub pass_mark: u8,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub requirements: Vec<CatalogueRequirement>,
}

/// Plans an audit of a service point.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct StandardAuditInput {
    pub service_point_id: String,
    /// The person who runs the audit: someone who may audit at that service point.
    pub auditor_id: String,
    /// YYYY-MM-DD.
    #[schema(format = Date)]
    pub planned_on: String,
}

/// One answer to a requirement.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StandardAnswer {
    pub outcome: Option<Outcome>,
    pub figure: Option<f64>,
    pub comment: Option<String>,
    pub answered_by: Ref,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub answered_at: OffsetDateTime,
}

/// An evidence file, downloadable at `/api/v1/standard-evidence/{id}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EvidenceFile {
    pub id: String,
    /// `self`, `official` or `action` (closing evidence of a corrective action).
    pub party: String,
    pub requirement_id: Option<String>,
    pub action_id: Option<String>,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub uploaded_at: OffsetDateTime,
}

/// A requirement of an audit with both answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StandardAuditItem {
    pub requirement: CatalogueRequirement,
    #[serde(rename = "self")]
    pub self_answer: Option<StandardAnswer>,
    pub official: Option<StandardAnswer>,
}

/// An audit in a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StandardAuditSummary {
    pub id: String,
    pub service_point: Ref,
    pub auditor: Ref,
    #[schema(format = Date)]
    pub planned_on: String,
    pub status: AuditStatus,
    pub self_submitted: bool,
    /// Overall score in percent, once completed.
    pub score: Option<u8>,
    pub passed: Option<bool>,
}

/// An audit with its requirements, answers, evidence and scores.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StandardAudit {
    pub id: String,
    pub service_point: Ref,
    /// The organisation that planned it (the market entity or the importer).
    pub planned_by: Ref,
    pub auditor: Ref,
    #[schema(format = Date)]
    pub planned_on: String,
    pub status: AuditStatus,
    /// The catalogue versions the audit uses: the brand's and the market's additions.
    pub catalogues: Vec<Ref>,
    pub pass_mark: u8,
    pub self_submitted_by: Option<Ref>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub self_submitted_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<OffsetDateTime>,
    /// The official scores, once completed.
    pub scores: Option<Scores>,
    pub passed: Option<bool>,
    /// The self-assessment's scores, once submitted.
    pub self_scores: Option<Scores>,
    pub items: Vec<StandardAuditItem>,
    pub evidence: Vec<EvidenceFile>,
    pub version: i64,
}

/// One answer as sent.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AnswerInput {
    pub requirement_id: String,
    /// `met`, `partly`, `not-met` or `not-applicable`; none: not answered yet.
    pub outcome: Option<String>,
    /// The figure of a requirement scored by a figure (its outcome follows from it).
    pub figure: Option<f64>,
    pub comment: Option<String>,
}

/// Answers of one party: saved as they are, and with `finish` the self-assessment is submitted
/// (the service point) or the audit completed and scored (the auditor): then every requirement
/// needs an answer.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AnswersInput {
    pub answers: Vec<AnswerInput>,
    #[serde(default)]
    pub finish: bool,
}

/// A corrective action raised from a finding.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CorrectiveAction {
    pub id: String,
    pub audit_id: String,
    pub service_point: Ref,
    pub requirement_id: String,
    pub requirement_code: String,
    pub requirement_text: BTreeMap<String, String>,
    pub title: String,
    pub owner: Ref,
    #[schema(format = Date)]
    pub due_on: String,
    pub status: ActionStatus,
    /// Open after its due day.
    pub overdue: bool,
    /// Days since it was raised.
    pub age_days: i64,
    pub closing_note: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub submitted_at: Option<OffsetDateTime>,
    pub verified_by: Option<Ref>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub verified_at: Option<OffsetDateTime>,
    /// The auditor's note on the last review (why it was sent back, or how it was verified).
    pub review_note: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub escalated_at: Option<OffsetDateTime>,
    pub evidence: Vec<EvidenceFile>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub version: i64,
}

/// Raises a corrective action from a finding of a completed audit.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CorrectiveActionInput {
    pub requirement_id: String,
    pub title: String,
    /// A person with a role at the audited service point.
    pub owner_id: String,
    /// YYYY-MM-DD.
    #[schema(format = Date)]
    pub due_on: String,
}

/// The owner's closing of an action (evidence files are added before, to the action).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ActionSubmission {
    pub note: String,
}

/// The auditor's review: verified (it worked) or sent back with the reason.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ActionReview {
    pub verified: bool,
    pub note: Option<String>,
}

/// A past completed audit's overall score.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScorePoint {
    pub audit_id: String,
    #[schema(format = Date)]
    pub completed_on: String,
    pub score: Option<u8>,
}

/// A service point in the network view.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NetworkPoint {
    pub service_point: Ref,
    /// The latest completed audit, if any.
    pub latest_audit_id: Option<String>,
    pub score: Option<u8>,
    pub categories: BTreeMap<StandardCategory, Option<u8>>,
    pub passed: Option<bool>,
    /// Mandatory requirements not met at the latest audit.
    pub mandatory_failed: u32,
    /// Completed audits, oldest first (at most the last six).
    pub trend: Vec<ScorePoint>,
    pub open_actions: i64,
    pub overdue_actions: i64,
    /// Age in days of the oldest action not yet verified.
    pub oldest_open_days: Option<i64>,
    #[schema(format = Date)]
    pub next_audit_on: Option<String>,
}

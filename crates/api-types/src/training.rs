//! Competence and training: courses, competence profiles, training records, the gap analysis with
//! the training compliance KPI, sessions with places and attendance, xAPI statements.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use aftersales_domain::org::Role;
use aftersales_domain::training::{Attendance, Compliance, RecordSource, TrainingStanding};

use crate::Ref;

/// A course of the training catalogue.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrainingCourse {
    pub id: String,
    pub organisation: Ref,
    pub code: String,
    /// nb, en, pt.
    pub name: BTreeMap<String, String>,
    pub provider: String,
    pub duration_hours: i64,
    /// How long a completion stays valid; none: for good.
    pub validity_months: Option<i64>,
    /// A high-voltage course: reported separately in the compliance KPI.
    pub high_voltage: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TrainingCourseInput {
    pub code: String,
    pub name_nb: String,
    pub name_en: String,
    pub name_pt: String,
    pub provider: String,
    pub duration_hours: i64,
    pub validity_months: Option<i64>,
    #[serde(default)]
    pub high_voltage: bool,
}

/// A competence profile: the courses a role needs, and the competence it grants the workshop
/// (a job needing that competence is given only to someone who meets the profile).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CompetenceProfile {
    pub id: String,
    pub organisation: Ref,
    pub code: String,
    pub name: BTreeMap<String, String>,
    pub role: Role,
    pub grants: Option<String>,
    pub courses: Vec<Ref>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CompetenceProfileInput {
    pub code: String,
    pub name_nb: String,
    pub name_en: String,
    pub name_pt: String,
    pub role: String,
    /// A competence code the workshop asks for (`hv-work`), if the profile grants one.
    pub grants: Option<String>,
    /// The required courses, by id.
    pub course_ids: Vec<String>,
}

/// A training a person took.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrainingRecord {
    pub id: String,
    pub person: Ref,
    pub course: Ref,
    #[schema(format = Date)]
    pub completed_on: String,
    pub passed: bool,
    #[schema(format = Date)]
    pub expires_on: Option<String>,
    pub source: RecordSource,
    /// The certificate's file name, downloadable at `/api/v1/training-records/{id}/certificate`.
    pub certificate: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TrainingRecordInput {
    pub user_id: String,
    pub course_id: String,
    #[schema(format = Date)]
    pub completed_on: String,
    pub passed: bool,
    /// The certificate's file name (API only; pages send the file itself).
    #[serde(default)]
    pub certificate_name: Option<String>,
    /// The certificate file, base64 (a PDF or a photo, at most 10 MB); required for a passed
    /// high-voltage training.
    #[serde(default)]
    pub certificate_base64: Option<String>,
}

/// One required course of one person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequirementStanding {
    pub profile: Ref,
    pub course: Ref,
    pub high_voltage: bool,
    pub standing: TrainingStanding,
}

/// A person's competence: their profiles' requirements and where they stand.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonGap {
    pub person: Ref,
    pub service_point: Ref,
    pub role: Role,
    pub requirements: Vec<RequirementStanding>,
    pub compliance: Compliance,
    pub high_voltage: Compliance,
}

/// Compliance of a service point.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointCompliance {
    pub service_point: Ref,
    pub compliance: Compliance,
    pub high_voltage: Compliance,
    /// Requirements running out within the window.
    pub expiring: u32,
}

/// The gap analysis: per person, per service point and over everything reached (the market).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GapReport {
    #[schema(format = Date)]
    pub on: String,
    /// The warning window in days (30, 60 or 90).
    pub window_days: i64,
    pub people: Vec<PersonGap>,
    pub points: Vec<PointCompliance>,
    pub total: Compliance,
    pub high_voltage: Compliance,
}

/// A training session.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrainingSession {
    pub id: String,
    pub course: Ref,
    pub organisation: Ref,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: OffsetDateTime,
    pub location: String,
    pub places: i64,
    pub attendees: Vec<Attendee>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attendee {
    pub person: Ref,
    pub status: Attendance,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TrainingSessionInput {
    pub course_id: String,
    /// Where it is held (the organisation that runs it).
    pub organisation_id: String,
    /// RFC 3339.
    pub starts_at: String,
    pub location: String,
    pub places: i64,
}

/// Registers a person on a session, or records whether they attended (attended writes the
/// training record, passed).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AttendanceInput {
    pub user_id: String,
    /// `registered`, `attended` or `absent`.
    pub status: String,
}

/// Maps an e-learning activity (the xAPI object id) to a course.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct XapiMappingInput {
    pub activity_id: String,
    pub course_id: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct XapiMapping {
    pub id: String,
    pub organisation: Ref,
    pub activity_id: String,
    pub course: Ref,
}

/// What became of a statement posted.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct XapiResult {
    pub statement_id: String,
    /// The person the actor was matched to.
    pub person: Option<Ref>,
    /// The training record a completion granted.
    pub record_id: Option<String>,
}

/// A stored statement, indexed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct XapiStatement {
    pub id: String,
    pub actor: String,
    pub verb: String,
    pub object: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub person: Option<Ref>,
    pub record_id: Option<String>,
}

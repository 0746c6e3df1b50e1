//! Pilots: a programme run at some service points from a start date, the KPIs it should move,
//! its control group, and its evaluation (difference-in-differences, the placebo test, a
//! synthetic control for a single pilot point, the verdict).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use aftersales_domain::kpi::{Better, Kpi, KpiUnit};
use aftersales_domain::pilot::{ControlMethod, PilotRole, Thin, Verdict};

use crate::Ref;

/// A pilot as set up.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Pilot {
    pub id: String,
    /// Where it is run from (a market entity or an importer).
    pub organisation: Ref,
    pub name: String,
    /// What is tried, in its owner's words.
    pub programme: String,
    #[serde(with = "aftersales_domain::iso_date")]
    #[schema(value_type = String, format = Date)]
    pub start_date: Date,
    #[serde(with = "aftersales_domain::iso_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub end_date: Option<Date>,
    /// How many months before the start are compared.
    pub months_before: i64,
    pub kpis: Vec<Kpi>,
    pub pilot_points: Vec<Ref>,
    pub control_points: Vec<Ref>,
    pub control_method: ControlMethod,
    pub created_by: Option<Ref>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PilotInput {
    pub organisation_id: String,
    pub name: String,
    pub programme: String,
    /// `2026-08-01`; a start inside a month leaves that month out of the comparison.
    pub start_date: String,
    pub end_date: Option<String>,
    /// 2 to 24; 6 when left out.
    pub months_before: Option<i64>,
    /// Codes of the KPIs it should move (those computed on the KPI pages).
    pub kpis: Vec<String>,
    pub pilot_points: Vec<String>,
    pub control_points: Vec<String>,
    /// `chosen` (by hand, the default) or `matched` (as proposed).
    pub control_method: Option<String>,
}

/// What a control group proposal starts from.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlProposalInput {
    pub organisation_id: String,
    pub start_date: String,
    pub months_before: Option<i64>,
    pub kpis: Vec<String>,
    pub pilot_points: Vec<String>,
}

/// A service point proposed for the control group, nearest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ControlCandidate {
    pub service_point: Ref,
    /// Root mean squared difference from the pilot points' mean, in standard deviations of
    /// each KPI, over the months before the start.
    pub distance: f64,
}

/// A service point's monthly values of one KPI.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointSeries {
    pub service_point: Ref,
    pub role: PilotRole,
    /// One per month of the evaluation (`null`: nothing to compute it from).
    pub values: Vec<Option<f64>>,
}

/// The difference-in-differences of one KPI.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DidResult {
    /// The pilot points' change less the control group's, in the KPI's unit.
    pub effect: f64,
    /// Clustered by service point.
    pub std_error: f64,
    /// The 95 % interval.
    pub lower: f64,
    pub upper: f64,
    pub pilot_before: f64,
    pub pilot_after: f64,
    pub control_before: f64,
    pub control_after: f64,
    /// Share of assignments of the pilot label to as many points with an effect as large.
    pub placebo_p: Option<f64>,
    pub placebo_assignments: Option<usize>,
}

/// The synthetic control of a single pilot point.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SyntheticResult {
    /// Each control point's weight in the twin.
    pub weights: Vec<(Ref, f64)>,
    /// The twin's value per month.
    pub synthetic: Vec<Option<f64>>,
    /// The mean gap after the start.
    pub effect: f64,
    pub rmspe_before: f64,
    pub rmspe_after: f64,
    /// The placebo in space: share of points whose after/before gap ratio is as large.
    pub placebo_p: f64,
    pub placebo_points: usize,
}

/// One KPI's evaluation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PilotKpiResult {
    pub kpi: Kpi,
    pub unit: KpiUnit,
    pub direction: Better,
    /// The currency of a money KPI.
    pub currency: Option<String>,
    pub series: Vec<PointSeries>,
    /// The mean of the pilot points and of the control points per month.
    pub pilot_mean: Vec<Option<f64>>,
    pub control_mean: Vec<Option<f64>>,
    pub did: Option<DidResult>,
    pub synthetic: Option<SyntheticResult>,
    pub verdict: Verdict,
    /// Why it cannot be concluded yet, when too thin.
    pub thin: Option<Thin>,
    /// How many of the months are read for this KPI: the last ones are not while their items'
    /// 30 days are still running (first-time fix, comebacks, remote resolution).
    pub months_counted: usize,
}

/// A pilot with its evaluation as of today.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PilotEvaluation {
    pub pilot: Pilot,
    /// The months compared, `2026-08`, the before months first.
    pub months: Vec<String>,
    /// How many of them are before the start.
    pub months_before: usize,
    /// The month left out because the start falls inside it.
    pub left_out: Option<String>,
    pub results: Vec<PilotKpiResult>,
}

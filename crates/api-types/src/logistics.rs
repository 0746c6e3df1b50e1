//! Logistics: a service point's depot and travel model, loaner cars, wash bays, valet drivers' shifts, the pickup
//! and delivery jobs around repair orders, and the saved plan of a day.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Ref;
use aftersales_domain::logistics::handover::{Car, Direction};
use aftersales_domain::logistics::{JobKind, JobStatus};

/// Where a service point's drivers start and how they travel (the built-in travel model).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LogisticsSettings {
    pub organisation_id: String,
    pub latitude: f64,
    pub longitude: f64,
    /// Road distance per straight-line distance, in per cent (130 is typical of a city).
    pub road_factor_pct: i64,
    /// Speed of a driver without a car (bike, bus), km/h.
    pub unassisted_kmh: i64,
    /// Furthest a driver goes without a car, km.
    pub unassisted_max_km: i64,
    /// Minutes at the customer per hand-over.
    pub handover_minutes: i64,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogisticsSettingsInput {
    /// Degrees, such as `63.4305`.
    pub latitude: String,
    pub longitude: String,
    pub road_factor_pct: Option<i64>,
    pub unassisted_kmh: Option<i64>,
    pub unassisted_max_km: Option<i64>,
    pub handover_minutes: Option<i64>,
}

/// A loaner car of a service point.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Loaner {
    pub id: String,
    pub organisation_id: String,
    pub plate: String,
    pub vin: Option<String>,
    pub model: String,
    /// Range at the current charge, km.
    pub range_km: i64,
    pub out_of_service: bool,
    /// The repair order whose customer has it now (handed over at pickup, not yet back).
    pub with_customer: Option<Ref>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoanerInput {
    pub plate: String,
    pub vin: Option<String>,
    pub model: String,
    pub range_km: i64,
}

/// A loaner's charge or availability changed.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoanerPatch {
    pub range_km: Option<i64>,
    pub out_of_service: Option<bool>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WashBay {
    pub id: String,
    pub organisation_id: String,
    pub name: String,
    pub minutes_per_car: i64,
    /// Local `HH:MM`.
    pub opens: String,
    pub closes: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WashBayInput {
    pub name: String,
    pub minutes_per_car: i64,
    pub opens: String,
    pub closes: String,
}

/// A valet driver's working hours on a weekday (1 = Monday … 7 = Sunday), local time.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DriverShift {
    pub id: String,
    pub driver: Ref,
    pub organisation_id: String,
    pub weekday: u8,
    pub starts: String,
    pub ends: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DriverShiftInput {
    pub user_id: String,
    pub weekday: u8,
    pub starts: String,
    pub ends: String,
}

/// A pickup or delivery of a repair order's car.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransportJob {
    pub id: String,
    pub organisation_id: String,
    pub repair_order: Ref,
    pub customer: Ref,
    pub customer_phone: Option<String>,
    pub vehicle: Option<String>,
    pub kind: JobKind,
    /// The local day, `YYYY-MM-DD`.
    pub day: String,
    pub address: String,
    /// None: the address has no coordinates (flagged on the board, never guessed).
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// The window promised to the customer.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub window_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub window_to: OffsetDateTime,
    pub loaner: Option<Ref>,
    /// Washed between the repair order being ready and the delivery.
    pub clean: bool,
    /// Ready time of the repair order (its ETA), for a delivery.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ready_at: Option<OffsetDateTime>,
    pub status: JobStatus,
    /// Taken off the plan by an advisor.
    pub held: bool,
    pub lock_driver: Option<Ref>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub lock_at: Option<OffsetDateTime>,
    /// The driver who took it (on the way).
    pub driver: Option<Ref>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub on_the_way_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub arrived_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub done_at: Option<OffsetDateTime>,
    pub odometer_km: Option<i64>,
    pub charge_pct: Option<i64>,
    pub handover_note: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransportJobInput {
    pub repair_order_id: String,
    /// `pickup` or `delivery`.
    pub kind: String,
    #[schema(format = DateTime)]
    pub window_from: String,
    #[schema(format = DateTime)]
    pub window_to: String,
    /// Another address than the customer's; give coordinates with it, or it is flagged on the board.
    pub address: Option<String>,
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    /// A loaner goes out with the pickup (or comes back with the delivery).
    pub loaner_id: Option<String>,
    #[serde(default)]
    pub clean: bool,
}

/// An advisor's lock on a job: to a driver, at a time at the customer, or off the plan.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockInput {
    pub driver_id: Option<String>,
    #[schema(format = DateTime)]
    pub at: Option<String>,
    #[serde(default)]
    pub held: bool,
}

/// Another window for a job, as the customer asked.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    #[schema(format = DateTime)]
    pub window_from: String,
    #[schema(format = DateTime)]
    pub window_to: String,
}

/// A job's place on the map, and optionally a corrected address.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceInput {
    /// Degrees, such as `63.4305`.
    pub latitude: String,
    pub longitude: String,
    pub address: Option<String>,
}

/// What a driver pressed; when done, the hand-over: the customer's car's readings, the loaner's
/// when one changes hands, photos of both, and the customer's signature on the loaner agreement
/// when a loaner goes out.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobStatusInput {
    /// `on-the-way`, `arrived`, `done` (the driver) or `cancelled` (an advisor).
    pub status: String,
    /// The customer's car.
    pub odometer_km: Option<i64>,
    pub charge_pct: Option<i64>,
    /// The customer's car's condition.
    pub note: Option<String>,
    pub loaner_odometer_km: Option<i64>,
    pub loaner_charge_pct: Option<i64>,
    /// The range the loaner's display shows, km: from now on the loaner is planned with it.
    pub loaner_range_km: Option<i64>,
    pub loaner_note: Option<String>,
    /// Photos of the condition of either car at the hand-over.
    #[serde(default)]
    pub photos: Vec<PhotoInput>,
    /// The name of who signs the loaner agreement (a pickup with a loaner).
    pub signer_name: Option<String>,
    /// The signature drawn on the driver's phone: a PNG image, base64.
    pub signature_png: Option<String>,
    /// The `sha256` of the terms the customer was shown: refused when the terms changed since.
    pub terms_sha256: Option<String>,
}

/// A photo taken at a hand-over.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhotoInput {
    /// `customer` or `loaner`.
    pub car: String,
    /// The image (JPEG, PNG, WebP, HEIC or AVIF), base64.
    pub data: String,
}

/// A car changing hands at the customer's door: in to the service point or out of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Handover {
    pub id: String,
    pub job_id: String,
    pub repair_order_id: String,
    /// `pickup` or `delivery`.
    pub kind: JobKind,
    pub car: Car,
    pub direction: Direction,
    /// The loaner's plate, for a loaner.
    pub loaner: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    pub odometer_km: i64,
    pub charge_pct: Option<i64>,
    /// The range the display showed (a loaner), km.
    pub range_km: Option<i64>,
    pub note: Option<String>,
    pub recorded_by: Option<Ref>,
    /// Ids of its photos (`GET /api/v1/handover-photos/{id}`).
    pub photos: Vec<String>,
}

/// The loaner agreement a customer signed; the PDF at `GET /api/v1/loaner-agreements/{id}/pdf`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoanerAgreement {
    pub id: String,
    pub job_id: String,
    pub repair_order_id: String,
    pub loaner: String,
    /// The language the customer read and signed the terms in.
    pub language: String,
    pub signer_name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub signed_at: OffsetDateTime,
    /// SHA-256 of the PDF as kept.
    pub sha256: String,
}

/// A repair order's hand-overs and signed agreements.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Handovers {
    pub handovers: Vec<Handover>,
    pub agreements: Vec<LoanerAgreement>,
}

/// The loaner terms a service point's customers sign, in one language.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoanerTerms {
    pub language: String,
    pub body: String,
    /// The market's standard wording (the service point has not written its own).
    pub standard: bool,
    /// SHA-256 of the body: what a signature was given for.
    pub sha256: String,
}

/// A service point's own wording of the loaner terms; empty goes back to the market's standard.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoanerTermsInput {
    pub language: String,
    pub body: String,
}

/// A job on a driver's route in the saved plan.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanEntry {
    pub job: TransportJob,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: OffsetDateTime,
    /// When the driver is at the customer.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at_customer: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: OffsetDateTime,
    pub drive_km: f64,
    pub unassisted_km: f64,
    pub wash: Option<PlannedWash>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlannedWash {
    pub bay: Ref,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub to: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DriverRun {
    pub driver: Ref,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub shift_from: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub shift_to: Option<OffsetDateTime>,
    pub entries: Vec<PlanEntry>,
}

/// A job the plan leaves out, with the reason code (`no-place`, `held`, `loaner-range`, `cleaning`, `not-ready`,
/// `too-far`, or the planner's `time-window`, `shift`, `break`, `skill`, `capacity`, `pairing`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnplannedJob {
    pub job: TransportJob,
    pub reason: String,
}

/// A service point's day: the saved plan and the jobs not on it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DayPlan {
    pub organisation_id: String,
    pub day: String,
    /// The day's version: every change to its jobs raises it.
    pub version: i64,
    /// The version the saved plan was made from; behind `version` means jobs changed since.
    pub planned_version: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub planned_at: Option<OffsetDateTime>,
    /// Where the saved plan's driving times came from: `model` (built in), `routing` (the routing
    /// service), `fallback` (the built-in model because the routing service failed).
    pub travel: Option<String>,
    pub runs: Vec<DriverRun>,
    pub unplanned: Vec<UnplannedJob>,
    /// Jobs added since the plan was saved, or whose lock changed: a re-plan places them.
    pub pending: Vec<TransportJob>,
    /// Loaners out or promised on the day beyond the fleet that is in service.
    pub loaners_short: i64,
}

/// A window the booking may offer, tested against the day's saved plan.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WindowOffer {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub to: OffsetDateTime,
    /// None: the plan can serve it; else the reason code, as for an unplanned job.
    pub blocked: Option<String>,
}

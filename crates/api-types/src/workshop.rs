//! API types of workshop: the shapes the store reads and writes and the HTTP API documents.

use aftersales_domain::i18n::local_name;
use aftersales_domain::i18n::Language;
use aftersales_domain::i18n::LocalNames;
use aftersales_domain::money::Money;
use aftersales_domain::workshop::AppointmentKind;
use aftersales_domain::workshop::Approval;
use aftersales_domain::workshop::LineKind;
use aftersales_domain::workshop::NoSlotReason;
use aftersales_domain::workshop::PayType;
use aftersales_domain::workshop::RoStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::Date;
use time::OffsetDateTime;

use crate::*;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkshopSettings {
    pub organisation_id: String,
    pub labour_rate: Money,
    /// Customers may book this service point on the public booking page.
    pub self_booking: bool,
    /// Travel before and after a mobile job, in minutes.
    pub mobile_travel_minutes: i64,
    pub address: Option<String>,
    pub version: i64,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    /// Per hour, as a decimal string: `"1450.00"`.
    pub labour_rate: String,
    pub self_booking: bool,
    pub mobile_travel_minutes: Option<i64>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Bay {
    pub id: String,
    pub organisation_id: String,
    pub name: String,
    pub lift: bool,
    pub hv_area: bool,
    pub active: bool,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BayInput {
    pub organisation_id: String,
    pub name: String,
    #[serde(default)]
    pub lift: bool,
    /// A high-voltage work area (insulated floor, barriers) for battery work.
    #[serde(default)]
    pub hv_area: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Shift {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    /// Local time `HH:MM`.
    pub starts: String,
    pub ends: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Certification {
    pub id: String,
    pub code: String,
    #[schema(value_type = String, format = Date)]
    #[serde(with = "aftersales_domain::iso_date")]
    pub issued_on: Date,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(with = "aftersales_domain::iso_date::option")]
    pub expires_on: Option<Date>,
    /// Valid today.
    pub valid: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Absence {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: OffsetDateTime,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Technician {
    pub user_id: String,
    pub name: String,
    pub organisation_id: String,
    pub mobile: bool,
    pub shifts: Vec<Shift>,
    pub certifications: Vec<Certification>,
    pub absences: Vec<Absence>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TechnicianInput {
    /// Drives out for mobile service.
    #[serde(default)]
    pub mobile: bool,
    pub shifts: Vec<Shift>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificationInput {
    /// A competence code, e.g. `hv-work` for high-voltage work.
    pub code: String,
    #[schema(format = Date)]
    pub issued_on: String,
    #[schema(format = Date)]
    pub expires_on: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsenceInput {
    #[schema(format = DateTime)]
    pub starts_at: String,
    #[schema(format = DateTime)]
    pub ends_at: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LabourOperation {
    pub id: String,
    pub organisation_id: String,
    pub code: String,
    pub description: String,
    /// The name in other languages, by language code; `description` where a language has none.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub names: LocalNames,
    /// Flat-rate time in hours, a decimal string (`"1.25"`), at least 0.05.
    pub hours: String,
    pub certification: Option<String>,
    pub needs_lift: bool,
    pub needs_hv_area: bool,
    /// Offered on the public booking page.
    pub bookable: bool,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabourOperationInput {
    pub organisation_id: String,
    pub code: String,
    pub description: String,
    /// The name in other languages, by language code (nb, en, pt).
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub names: LocalNames,
    pub hours: String,
    pub certification: Option<String>,
    #[serde(default)]
    pub needs_lift: bool,
    #[serde(default)]
    pub needs_hv_area: bool,
    #[serde(default)]
    pub bookable: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Stock {
    pub organisation_id: String,
    pub quantity: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Part {
    pub id: String,
    pub organisation_id: String,
    pub part_number: String,
    pub description: String,
    /// The name in other languages, by language code; `description` where a language has none.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub names: LocalNames,
    pub price: Money,
    pub cost: Money,
    pub stock: Vec<Stock>,
}

impl Part {
    /// The part's name for a reader of `lang`.
    pub fn name(&self, lang: Language) -> &str {
        local_name(&self.names, &self.description, lang)
    }
}

impl LabourOperation {
    /// The operation's name for a reader of `lang`.
    pub fn name(&self, lang: Language) -> &str {
        local_name(&self.names, &self.description, lang)
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartInput {
    pub organisation_id: String,
    pub part_number: String,
    pub description: String,
    /// The name in other languages, by language code (nb, en, pt).
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub names: LocalNames,
    pub price: String,
    pub cost: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockInput {
    /// The service point holding the stock.
    pub organisation_id: String,
    pub quantity: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlotView {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: OffsetDateTime,
    /// The technician the slot would go to (staff views only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub technician_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub technician: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Availability {
    #[schema(value_type = String, format = Date)]
    #[serde(with = "aftersales_domain::iso_date")]
    pub date: Date,
    pub duration_minutes: i64,
    pub slots: Vec<SlotView>,
    /// Why there is no slot, when there is none.
    pub reason: Option<NoSlotReason>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingInput {
    pub organisation_id: String,
    pub customer_id: String,
    pub vehicle_id: Option<String>,
    pub case_id: Option<String>,
    /// `workshop` or `mobile`.
    pub kind: String,
    /// Labour operation codes from the catalogue; their flat-rate times make the duration.
    pub operations: Vec<String>,
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// Where a mobile technician goes; the customer's address when empty.
    pub address: Option<String>,
    /// The customer's words.
    pub complaint: Option<String>,
    /// A particular technician; any suitable one when empty.
    pub technician_id: Option<String>,
}

/// A booked appointment moved to another start (the car has not arrived yet).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveInput {
    /// The new start, one of the free times of `GET /repair-orders/{id}/appointment/availability`.
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// A particular technician; the appointment's own when free then, else any suitable one.
    pub technician_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Booked {
    pub appointment_id: String,
    pub repair_order_id: String,
    pub repair_order_number: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AppointmentView {
    pub id: String,
    pub kind: AppointmentKind,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: OffsetDateTime,
    pub bay: Option<String>,
    pub technician: Ref,
    pub address: Option<String>,
    pub status: String,
    /// `advisor` or `self-service`.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Line {
    pub id: String,
    pub kind: LineKind,
    pub code: Option<String>,
    pub description: String,
    pub quantity: String,
    /// Left out for those who do not see prices (technicians).
    pub unit_price: Option<Money>,
    pub total: Option<Money>,
    pub pay_type: PayType,
    pub certification: Option<String>,
    /// Not in stock when added: the part is on order.
    pub backordered: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: String,
    pub position: i64,
    pub title: String,
    /// The three Cs: what the customer reports, what was found, what was done.
    pub complaint: String,
    pub cause: Option<String>,
    pub correction: Option<String>,
    pub pay_type: PayType,
    pub approval: Approval,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub approval_at: Option<OffsetDateTime>,
    pub approval_via: Option<String>,
    pub technician: Option<Ref>,
    /// Certificates the job's labour needs.
    pub certifications: Vec<String>,
    pub lines: Vec<Line>,
    /// Flat-rate hours sold on the job.
    pub flat_rate_hours: String,
    pub clocked_minutes: i64,
    /// Technicians clocked on now.
    pub clocked_on: Vec<String>,
    pub estimate: Option<Money>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PayTotal {
    pub pay_type: PayType,
    pub amount: Money,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoEvent {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// `status`, `job`, `assignment`, `approved`, `declined`, `moved` (the appointment).
    pub kind: String,
    pub status: Option<RoStatus>,
    pub body: Option<String>,
    /// The facts of a system event (`from` and `to` of a moved appointment, in the service
    /// point's local time), rendered in the reader's language.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub params: std::collections::BTreeMap<String, String>,
    pub actor: Option<String>,
    /// `staff`, `status-page` or `system`.
    pub via: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RepairOrder {
    pub id: String,
    pub number: String,
    pub organisation: Ref,
    pub customer: Ref,
    pub vehicle: Option<Ref>,
    pub case: Option<Ref>,
    pub appointment: Option<AppointmentView>,
    pub status: RoStatus,
    /// The statuses it may move to now.
    pub next: Vec<RoStatus>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub eta: Option<OffsetDateTime>,
    /// The customer's status page path (no login; the token is the key).
    pub status_page: String,
    pub jobs: Vec<Job>,
    /// Whether the caller sees prices: technicians do not (lines, estimates and totals left out).
    pub prices_shown: bool,
    pub totals: Vec<PayTotal>,
    pub currency: String,
    /// Flat-rate hours ÷ clocked hours, in percent, when time was clocked.
    pub efficiency_percent: Option<i64>,
    pub events: Vec<RoEvent>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoSummary {
    pub id: String,
    pub number: String,
    pub organisation: String,
    pub customer: String,
    pub vehicle: Option<String>,
    pub status: RoStatus,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub eta: Option<OffsetDateTime>,
    pub technicians: Vec<String>,
}

impl RoSummary {
    /// The row of a list for a whole repair order: its technicians, named once each.
    pub fn of(ro: &RepairOrder) -> RoSummary {
        RoSummary {
            technicians: ro
                .jobs
                .iter()
                .filter_map(|j| j.technician.as_ref().map(|t| t.label.clone()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            starts_at: ro.appointment.as_ref().map(|a| a.starts_at),
            id: ro.id.clone(),
            number: ro.number.clone(),
            organisation: ro.organisation.label.clone(),
            customer: ro.customer.label.clone(),
            vehicle: ro.vehicle.as_ref().map(|v| v.label.clone()),
            status: ro.status,
            eta: ro.eta,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepairOrderInput {
    pub organisation_id: String,
    pub customer_id: String,
    pub vehicle_id: Option<String>,
    pub case_id: Option<String>,
    /// The first job: the customer's concern.
    pub complaint: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobInput {
    pub title: String,
    pub complaint: String,
    /// `customer` (default), `warranty`, `goodwill` or `internal`.
    pub pay_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobUpdate {
    pub complaint: Option<String>,
    pub cause: Option<String>,
    pub correction: Option<String>,
    pub pay_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RoLineInput)]
pub struct LineInput {
    /// `labour`, `part` or `sublet`.
    pub kind: String,
    /// A labour operation code (labour) or part number (part).
    pub code: Option<String>,
    /// Required for sublet work.
    pub description: Option<String>,
    /// Hours for labour (the flat rate when empty), pieces for parts (1 when empty).
    pub quantity: Option<String>,
    /// Sublet price; labour and parts take the catalogue's.
    pub unit_price: Option<String>,
    /// The job's pay type when empty.
    pub pay_type: Option<String>,
}

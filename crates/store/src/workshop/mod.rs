//! Workshop (capability workshop): capacity (bays, technicians' shifts, absences, certificates),
//! catalogues (labour operations, parts and stock), appointments against real availability,
//! and repair orders: jobs with the three Cs, lines, competence-checked assignment, clocking,
//! the status machine and the customer's approval of added work.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use aftersales_domain::calendar::Zone;
use aftersales_domain::i18n::{local_name, Language, LocalNames};
use aftersales_domain::money::{format_centi, line_total, parse_centi, Money};
use aftersales_domain::notify::Event;
use aftersales_domain::org::{OrgKind, Permission, Role};
use aftersales_domain::validation::{text, text_block, FieldError, Rule};
use aftersales_domain::workshop::{
    certification_code, check_competence, efficiency_percent, find_slots, occupied_units,
    unit_ceil, unit_floor, units_for_hours, AppointmentKind, Approval, BayCap, Certificate,
    LineKind, Need, NoSlotReason, PayType, Refusal, RoStatus, Slot, TechCap, MIN_HOURS_CENTI,
    UNIT_MINUTES,
};
use aftersales_domain::ValidationErrors;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time};

use crate::crm::opt;
use crate::db::placeholders;
use crate::error::StoreError;
use crate::notify::{enqueue, Addressee, Notice};
use crate::scope::Scope;
use crate::{from_micros, micros, new_id};

mod board;
mod booking;
mod catalogue;
mod repair_orders;
mod setup;
mod status;
mod work;

pub(crate) use work::Decider;

crate::capability!(
    /// The workshop of a service point: `store.workshop().book_appointment(..)`.
    Workshop, workshop
);

/// Hours of the labour rate when a service point has set none, in minor units per hour.
const DEFAULT_LABOUR_RATE_MINOR: i64 = 150_000;
/// Survey invitations go out this long after delivery.
const SURVEY_DELAY: Duration = Duration::hours(1);

fn parse_time_of_day(field: &str, s: &str) -> Result<Time, FieldError> {
    let bad = || {
        FieldError::new(
            field,
            Rule::Format,
            format!("{field} must be a time like 08:00"),
        )
    };
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u8, u8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Time::from_hms(h, m, 0).map_err(|_| bad())
}

fn hm(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

pub(crate) fn parse_instant(field: &str, s: &str) -> Result<OffsetDateTime, FieldError> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|_| {
        FieldError::new(
            field,
            Rule::Format,
            format!("{field} must be a date-time with offset (RFC 3339), like 2026-11-23T09:00:00+01:00"),
        )
    })
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

// ---- Types ---------------------------------------------------------------------------------------

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

pub use crate::Ref;

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
    pub kind: String,
    pub status: Option<RoStatus>,
    pub body: Option<String>,
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

// ---- Rows ------------------------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
pub(crate) struct RoRow {
    id: String,
    number: String,
    organisation_id: String,
    org_name: String,
    customer_id: String,
    customer_name: String,
    vehicle_id: Option<String>,
    vehicle_label: Option<String>,
    case_id: Option<String>,
    case_number: Option<String>,
    appointment_id: Option<String>,
    status: String,
    eta: Option<i64>,
    public_token: String,
    created_at: i64,
    version: i64,
}

const RO_SELECT: &str = "SELECT r.id, r.number, r.organisation_id, o.name AS org_name, r.customer_id, c.name AS customer_name, \
     r.vehicle_id, CASE WHEN v.id IS NULL THEN NULL ELSE COALESCE(v.model, 'Vehicle') || ' ' || COALESCE(v.registration, v.vin) END AS vehicle_label, \
     r.case_id, k.number AS case_number, r.appointment_id, r.status, r.eta, r.public_token, r.created_at, r.version \
     FROM repair_orders r JOIN organisations o ON o.id = r.organisation_id JOIN customers c ON c.id = r.customer_id \
     LEFT JOIN vehicles v ON v.id = r.vehicle_id LEFT JOIN cases k ON k.id = r.case_id";

#[derive(sqlx::FromRow)]
struct JobRow {
    id: String,
    position: i64,
    title: String,
    complaint: String,
    cause: Option<String>,
    correction: Option<String>,
    pay_type: String,
    approval: String,
    approval_at: Option<i64>,
    approval_via: Option<String>,
    technician_id: Option<String>,
    technician_name: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct LineRow {
    id: String,
    job_id: String,
    kind: String,
    code: Option<String>,
    description: String,
    quantity_centi: i64,
    unit_price_minor: i64,
    pay_type: String,
    certification: Option<String>,
    backordered: i64,
}

/// Days the calendar can plan: a date far outside working life is a typing error, not a plan.
pub(crate) fn check_day(date: Date) -> Result<(), StoreError> {
    if (2000..=2999).contains(&date.year()) {
        Ok(())
    } else {
        Err(ValidationErrors::single(
            "date",
            Rule::NotAllowed,
            "date must be between the years 2000 and 2999",
        )
        .into())
    }
}

fn require_active(status: RoStatus) -> Result<(), StoreError> {
    if status.is_active() {
        Ok(())
    } else {
        Err(ValidationErrors::single(
            "status",
            Rule::NotAllowed,
            format!(
                "a repair order that is {} can no longer change",
                status.as_str()
            ),
        )
        .into())
    }
}

pub(crate) fn availability_view(
    date: Date,
    need: &Need,
    slots: Result<Vec<Slot>, NoSlotReason>,
    names: Option<&BTreeMap<String, String>>,
) -> Availability {
    let (slots, reason) = match slots {
        Ok(s) => (s, None),
        Err(r) => (Vec::new(), Some(r)),
    };
    Availability {
        date,
        duration_minutes: need.units * UNIT_MINUTES,
        slots: slots
            .into_iter()
            .map(|s| SlotView {
                starts_at: s.starts_at(),
                ends_at: s.ends_at(),
                technician: names.and_then(|n| n.get(&s.technician).cloned()),
                technician_id: names.map(|_| s.technician.clone()),
            })
            .collect(),
        reason,
    }
}

/// Everything a booking writes, decided before the transaction.
pub(crate) struct BookingPlan<'a> {
    pub org: &'a str,
    pub kind: AppointmentKind,
    pub start: OffsetDateTime,
    pub need: &'a Need,
    pub ops: &'a [LabourOperation],
    pub customer_id: &'a str,
    pub vehicle_id: Option<&'a str>,
    pub case_id: Option<&'a str>,
    pub address: Option<&'a str>,
    pub complaint: Option<&'a str>,
    pub technician: Option<&'a str>,
    pub source: &'a str,
    pub actor: Option<&'a str>,
}

async fn next_ro_number(conn: &mut sqlx::AnyConnection, year: i32) -> Result<String, StoreError> {
    let name = format!("ro-{year}");
    sqlx::query("INSERT INTO counters (name, value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING")
        .bind(&name)
        .execute(&mut *conn)
        .await?;
    let n: i64 =
        sqlx::query_scalar("UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value")
            .bind(&name)
            .fetch_one(&mut *conn)
            .await?;
    Ok(format!("RO-{year}-{n:05}"))
}

#[allow(clippy::too_many_arguments)]
async fn insert_job(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    ro_id: &str,
    position: i64,
    title: &str,
    complaint: &str,
    pay: PayType,
    approval: Approval,
    technician: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO ro_jobs (id, repair_order_id, position, title, complaint, cause, correction, pay_type, approval, approval_at, approval_via, technician_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7, NULL, NULL, $8, $9)")
        .bind(id)
        .bind(ro_id)
        .bind(position)
        .bind(title)
        .bind(complaint)
        .bind(pay.as_str())
        .bind(approval.as_str())
        .bind(technician)
        .bind(micros(now))
        .execute(conn)
        .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn ro_event(
    conn: &mut sqlx::AnyConnection,
    ro_id: &str,
    kind: &str,
    status: Option<RoStatus>,
    body: Option<String>,
    actor: Option<&str>,
    via: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO ro_events (id, repair_order_id, kind, status, body, actor_user_id, via, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(new_id())
        .bind(ro_id)
        .bind(kind)
        .bind(status.map(|s| s.as_str()))
        .bind(body)
        .bind(actor)
        .bind(via)
        .bind(micros(now))
        .execute(conn)
        .await?;
    Ok(())
}

async fn vehicle_label(
    conn: &mut sqlx::AnyConnection,
    vehicle_id: Option<&str>,
) -> Result<String, StoreError> {
    let Some(v) = vehicle_id else {
        return Ok(String::new());
    };
    let r: Option<(Option<String>, Option<String>, String)> =
        sqlx::query_as("SELECT model, registration, vin FROM vehicles WHERE id = $1")
            .bind(v)
            .fetch_optional(conn)
            .await?;
    Ok(r.map(|(m, reg, vin)| {
        format!(
            "{} {}",
            m.unwrap_or_else(|| "Vehicle".into()),
            reg.unwrap_or(vin)
        )
    })
    .unwrap_or_default())
}

/// Roles that may be asked to do workshop work at a service point.
pub fn is_technician(scope: &Scope, org: &str) -> bool {
    scope
        .roles_at(org)
        .is_some_and(|r| r.contains(&Role::Technician))
}

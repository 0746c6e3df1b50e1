//! Workshop (capability workshop): capacity (bays, technicians' shifts, absences, certificates),
//! catalogues (labour operations, parts and stock), appointments against real availability,
//! and repair orders: jobs with the three Cs, lines, competence-checked assignment, clocking,
//! the status machine and the customer's approval of added work.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use aftersales_domain::calendar::Zone;
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
use crate::db::{placeholders, Store};
use crate::error::StoreError;
use crate::notify::{enqueue, Notice};
use crate::scope::Scope;
use crate::{from_micros, micros, new_id};

/// Hours of the labour rate when a service point has set none, in minor units per hour.
const DEFAULT_LABOUR_RATE_MINOR: i64 = 150_000;
/// Survey invitations go out this long after delivery.
const SURVEY_DELAY: Duration = Duration::hours(1);

pub(crate) fn token() -> String {
    use base64::Engine as _;
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

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
    pub issued_on: Date,
    #[schema(value_type = Option<String>, format = Date)]
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
    pub price: Money,
    pub cost: Money,
    pub stock: Vec<Stock>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartInput {
    pub organisation_id: String,
    pub part_number: String,
    pub description: String,
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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ref {
    pub id: String,
    pub label: String,
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
    pub unit_price: Money,
    pub total: Money,
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
    pub estimate: Money,
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
struct RoRow {
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
struct LineRow {
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

/// What a status change or booking tells the customer, filled in once.
pub(crate) struct RoContext {
    pub org_id: String,
    pub org_name: String,
    pub customer_id: String,
    pub number: String,
    pub token: String,
    pub vehicle: String,
    pub eta: Option<OffsetDateTime>,
}

impl Store {
    /// The organisation and its ancestors, nearest first.
    pub(crate) async fn lineage(&self, org_id: &str) -> Result<Vec<String>, StoreError> {
        let mut out = vec![org_id.to_string()];
        let mut cur = org_id.to_string();
        for _ in 0..8 {
            let parent: Option<Option<String>> =
                sqlx::query_scalar("SELECT parent_id FROM organisations WHERE id = $1")
                    .bind(&cur)
                    .fetch_optional(&self.pool)
                    .await?;
            match parent.flatten() {
                Some(p) => {
                    out.push(p.clone());
                    cur = p;
                }
                None => break,
            }
        }
        Ok(out)
    }

    async fn org_kind(&self, org_id: &str) -> Result<Option<OrgKind>, StoreError> {
        let k: Option<String> = sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(k.and_then(|k| OrgKind::parse("kind", &k).ok()))
    }

    async fn require_service_point(
        &self,
        scope: &Scope,
        org: &str,
        p: Permission,
    ) -> Result<(), StoreError> {
        scope.require(org, p)?;
        if self.org_kind(org).await? != Some(OrgKind::ServicePoint) {
            return Err(ValidationErrors::single(
                "organisation_id",
                Rule::NotAllowed,
                "organisation_id must be a service point",
            )
            .into());
        }
        Ok(())
    }

    /// The market currency of an organisation (NOK when it has no market).
    pub(crate) async fn currency_of(&self, org_id: &str) -> Result<String, StoreError> {
        let c: Option<String> = sqlx::query_scalar(
            "SELECT m.currency FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1",
        )
        .bind(org_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(c.unwrap_or_else(|| "NOK".into()))
    }

    // ---- Settings, bays, technicians -----------------------------------------------------------

    pub async fn workshop_settings(
        &self,
        scope: &Scope,
        org: &str,
    ) -> Result<WorkshopSettings, StoreError> {
        scope.require(org, Permission::CrmRead)?;
        self.settings_of(org).await
    }

    pub(crate) async fn settings_of(&self, org: &str) -> Result<WorkshopSettings, StoreError> {
        let row: Option<(i64, i64, i64, Option<String>, i64)> = sqlx::query_as(
            "SELECT labour_rate_minor, self_booking, mobile_travel_minutes, address, version FROM workshop_settings WHERE organisation_id = $1",
        )
        .bind(org)
        .fetch_optional(&self.pool)
        .await?;
        let currency = self.currency_of(org).await?;
        let (rate, sb, travel, address, version) =
            row.unwrap_or((DEFAULT_LABOUR_RATE_MINOR, 0, 30, None, 0));
        Ok(WorkshopSettings {
            organisation_id: org.to_string(),
            labour_rate: Money::new(rate, &currency),
            self_booking: sb == 1,
            mobile_travel_minutes: travel,
            address,
            version,
        })
    }

    pub async fn set_workshop_settings(
        &self,
        scope: &Scope,
        org: &str,
        input: &SettingsInput,
    ) -> Result<WorkshopSettings, StoreError> {
        self.require_service_point(scope, org, Permission::WorkshopManage)
            .await?;
        let mut errs = ValidationErrors::default();
        let rate = errs.take(parse_centi(
            "labour_rate",
            &input.labour_rate,
            0,
            100_000_000,
        ));
        let travel = input.mobile_travel_minutes.unwrap_or(30);
        if !(0..=240).contains(&travel) {
            errs.push(FieldError::new(
                "mobile_travel_minutes",
                Rule::NotAllowed,
                "mobile_travel_minutes must be 0–240",
            ));
        }
        let address = opt(&input.address).and_then(|a| errs.take(text("address", a, 3, 300)));
        errs.into_result()?;
        let rate = rate.unwrap_or(DEFAULT_LABOUR_RATE_MINOR);
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM workshop_settings WHERE organisation_id = $1")
            .bind(org)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO workshop_settings (organisation_id, labour_rate_minor, self_booking, mobile_travel_minutes, address, version) VALUES ($1, $2, $3, $4, $5, 1)")
            .bind(org)
            .bind(rate)
            .bind(flag(input.self_booking))
            .bind(travel)
            .bind(address)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.settings_of(org).await
    }

    pub async fn bays(&self, scope: &Scope, org: &str) -> Result<Vec<Bay>, StoreError> {
        scope.require(org, Permission::CrmRead)?;
        let rows: Vec<(String, String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT id, organisation_id, name, lift, hv_area, active FROM bays WHERE organisation_id = $1 ORDER BY name",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, organisation_id, name, lift, hv, active)| Bay {
                id,
                organisation_id,
                name,
                lift: lift == 1,
                hv_area: hv == 1,
                active: active == 1,
            })
            .collect())
    }

    pub async fn add_bay(
        &self,
        scope: &Scope,
        input: &BayInput,
        now: OffsetDateTime,
    ) -> Result<Bay, StoreError> {
        self.require_service_point(scope, &input.organisation_id, Permission::WorkshopManage)
            .await?;
        let name = text("name", &input.name, 1, 80).map_err(ValidationErrors::from)?;
        let id = new_id();
        let r = sqlx::query("INSERT INTO bays (id, organisation_id, name, lift, hv_area, active, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6)")
            .bind(&id)
            .bind(&input.organisation_id)
            .bind(&name)
            .bind(flag(input.lift))
            .bind(flag(input.hv_area))
            .bind(micros(now))
            .execute(&self.pool)
            .await;
        match r {
            Err(e) if StoreError::is_unique_violation(&e) => Err(ValidationErrors::single(
                "name",
                Rule::Unique,
                "this service point already has a bay of that name",
            )
            .into()),
            Err(e) => Err(e.into()),
            Ok(_) => Ok(Bay {
                id,
                organisation_id: input.organisation_id.clone(),
                name,
                lift: input.lift,
                hv_area: input.hv_area,
                active: true,
            }),
        }
    }

    pub async fn set_bay_active(
        &self,
        scope: &Scope,
        bay_id: &str,
        active: bool,
    ) -> Result<(), StoreError> {
        let org: Option<String> =
            sqlx::query_scalar("SELECT organisation_id FROM bays WHERE id = $1")
                .bind(bay_id)
                .fetch_optional(&self.pool)
                .await?;
        let org = org.ok_or(StoreError::NotFound)?;
        scope.require(&org, Permission::WorkshopManage)?;
        sqlx::query("UPDATE bays SET active = $1 WHERE id = $2")
            .bind(flag(active))
            .bind(bay_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The technicians of a service point: people holding the technician role there.
    pub async fn technicians(
        &self,
        scope: &Scope,
        org: &str,
        today: Date,
    ) -> Result<Vec<Technician>, StoreError> {
        scope.require(org, Permission::CrmRead)?;
        self.technicians_of(org, today).await
    }

    async fn technicians_of(&self, org: &str, today: Date) -> Result<Vec<Technician>, StoreError> {
        let people: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT u.id, u.display_name, t.mobile FROM memberships m JOIN users u ON u.id = m.user_id \
             LEFT JOIN technicians t ON t.user_id = u.id AND t.organisation_id = m.organisation_id \
             WHERE m.organisation_id = $1 AND m.role = 'technician' AND u.disabled = 0 ORDER BY u.display_name",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for (user_id, name, mobile) in people {
            let shifts: Vec<(i64, String, String)> = sqlx::query_as(
                "SELECT weekday, starts, ends FROM technician_shifts WHERE user_id = $1 AND organisation_id = $2 ORDER BY weekday, starts",
            )
            .bind(&user_id)
            .bind(org)
            .fetch_all(&self.pool)
            .await?;
            let certifications = self.certifications_of(&user_id, today).await?;
            let absences: Vec<(String, i64, i64, String)> = sqlx::query_as(
                "SELECT id, starts_at, ends_at, reason FROM technician_absences WHERE user_id = $1 ORDER BY starts_at",
            )
            .bind(&user_id)
            .fetch_all(&self.pool)
            .await?;
            out.push(Technician {
                organisation_id: org.to_string(),
                mobile: mobile == Some(1),
                shifts: shifts
                    .into_iter()
                    .map(|(d, s, e)| Shift {
                        weekday: u8::try_from(d).unwrap_or(0),
                        starts: s,
                        ends: e,
                    })
                    .collect(),
                certifications,
                absences: absences
                    .into_iter()
                    .map(|(id, s, e, reason)| Absence {
                        id,
                        starts_at: from_micros(s),
                        ends_at: from_micros(e),
                        reason,
                    })
                    .collect(),
                user_id,
                name,
            });
        }
        Ok(out)
    }

    async fn certifications_of(
        &self,
        user_id: &str,
        today: Date,
    ) -> Result<Vec<Certification>, StoreError> {
        let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT id, code, issued_on, expires_on FROM certifications WHERE user_id = $1 ORDER BY code, issued_on",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, code, issued, expires)| {
                let issued_on = crate::crm::parse_date("issued_on", &issued).ok()?;
                let expires_on =
                    expires.and_then(|e| crate::crm::parse_date("expires_on", &e).ok());
                Some(Certification {
                    valid: issued_on <= today && expires_on.is_none_or(|e| today <= e),
                    id,
                    code,
                    issued_on,
                    expires_on,
                })
            })
            .collect())
    }

    async fn require_technician_at(&self, org: &str, user_id: &str) -> Result<String, StoreError> {
        let name: Option<String> = sqlx::query_scalar(
            "SELECT u.display_name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.organisation_id = $1 AND m.user_id = $2 AND m.role = 'technician'",
        )
        .bind(org)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        name.ok_or(StoreError::NotFound)
    }

    /// Sets a technician's weekly shifts and whether they drive out for mobile service.
    pub async fn set_technician(
        &self,
        scope: &Scope,
        org: &str,
        user_id: &str,
        input: &TechnicianInput,
    ) -> Result<(), StoreError> {
        scope.require(org, Permission::WorkshopManage)?;
        self.require_technician_at(org, user_id).await?;
        let mut errs = ValidationErrors::default();
        let mut shifts = Vec::new();
        for (i, s) in input.shifts.iter().enumerate() {
            let a = errs.take(parse_time_of_day(&format!("shifts.{i}.starts"), &s.starts));
            let b = errs.take(parse_time_of_day(&format!("shifts.{i}.ends"), &s.ends));
            if s.weekday > 6 {
                errs.push(FieldError::new(
                    format!("shifts.{i}.weekday"),
                    Rule::NotAllowed,
                    "weekday must be 0 (Monday) to 6 (Sunday)",
                ));
            }
            if let (Some(a), Some(b)) = (a, b) {
                if a >= b {
                    errs.push(FieldError::new(
                        format!("shifts.{i}.ends"),
                        Rule::NotAllowed,
                        "a shift must end after it starts",
                    ));
                } else {
                    shifts.push((s.weekday, a, b));
                }
            }
        }
        for (i, (d, a, b)) in shifts.iter().enumerate() {
            if shifts
                .iter()
                .enumerate()
                .any(|(j, (d2, a2, b2))| i != j && d == d2 && a < b2 && a2 < b)
            {
                errs.push(FieldError::new(
                    format!("shifts.{i}"),
                    Rule::NotAllowed,
                    "shifts of one day must not overlap",
                ));
                break;
            }
        }
        errs.into_result()?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM technician_shifts WHERE user_id = $1 AND organisation_id = $2")
            .bind(user_id)
            .bind(org)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM technicians WHERE user_id = $1 AND organisation_id = $2")
            .bind(user_id)
            .bind(org)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO technicians (user_id, organisation_id, mobile) VALUES ($1, $2, $3)",
        )
        .bind(user_id)
        .bind(org)
        .bind(flag(input.mobile))
        .execute(&mut *tx)
        .await?;
        for (d, a, b) in shifts {
            sqlx::query("INSERT INTO technician_shifts (id, user_id, organisation_id, weekday, starts, ends) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(new_id())
                .bind(user_id)
                .bind(org)
                .bind(i64::from(d))
                .bind(hm(a))
                .bind(hm(b))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_certification(
        &self,
        scope: &Scope,
        org: &str,
        user_id: &str,
        input: &CertificationInput,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        scope.require(org, Permission::WorkshopManage)?;
        self.require_technician_at(org, user_id).await?;
        let mut errs = ValidationErrors::default();
        let code = errs.take(certification_code("code", &input.code));
        let issued = errs.take(crate::crm::parse_date("issued_on", &input.issued_on));
        let expires =
            opt(&input.expires_on).and_then(|e| errs.take(crate::crm::parse_date("expires_on", e)));
        if let (Some(i), Some(e)) = (issued, expires) {
            if e < i {
                errs.push(FieldError::new(
                    "expires_on",
                    Rule::NotAllowed,
                    "expires_on must not be before issued_on",
                ));
            }
        }
        errs.into_result()?;
        sqlx::query("INSERT INTO certifications (id, user_id, code, issued_on, expires_on, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(new_id())
            .bind(user_id)
            .bind(code)
            .bind(issued.map(|d| d.to_string()))
            .bind(expires.map(|d| d.to_string()))
            .bind(micros(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn add_absence(
        &self,
        scope: &Scope,
        org: &str,
        user_id: &str,
        input: &AbsenceInput,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        scope.require(org, Permission::WorkshopManage)?;
        self.require_technician_at(org, user_id).await?;
        let mut errs = ValidationErrors::default();
        let a = errs.take(parse_instant("starts_at", &input.starts_at));
        let b = errs.take(parse_instant("ends_at", &input.ends_at));
        let reason = errs.take(text("reason", &input.reason, 2, 200));
        if let (Some(a), Some(b)) = (a, b) {
            if b <= a {
                errs.push(FieldError::new(
                    "ends_at",
                    Rule::NotAllowed,
                    "ends_at must be after starts_at",
                ));
            }
        }
        errs.into_result()?;
        sqlx::query("INSERT INTO technician_absences (id, user_id, starts_at, ends_at, reason, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(new_id())
            .bind(user_id)
            .bind(a.map(micros))
            .bind(b.map(micros))
            .bind(reason)
            .bind(micros(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---- Catalogues ------------------------------------------------------------------------------

    /// The labour operations that apply at an organisation: its own and those of the
    /// organisations above it (a market's catalogue serves its service points).
    pub async fn labour_operations(
        &self,
        scope: &Scope,
        org: &str,
    ) -> Result<Vec<LabourOperation>, StoreError> {
        scope.require(org, Permission::CrmRead)?;
        self.operations_at(org).await
    }

    pub(crate) async fn operations_at(
        &self,
        org: &str,
    ) -> Result<Vec<LabourOperation>, StoreError> {
        let lineage = self.lineage(org).await?;
        let sql = format!(
            "SELECT id, organisation_id, code, description, hours_centi, certification, needs_lift, needs_hv_area, bookable \
             FROM labour_operations WHERE organisation_id IN ({}) ORDER BY code",
            placeholders(1, lineage.len())
        );
        let mut q = sqlx::query_as::<
            _,
            (
                String,
                String,
                String,
                String,
                i64,
                Option<String>,
                i64,
                i64,
                i64,
            ),
        >(&sql);
        for o in &lineage {
            q = q.bind(o);
        }
        let rows = q.fetch_all(&self.pool).await?;
        // The nearest organisation's operation wins when codes repeat.
        let mut by_code: BTreeMap<String, (usize, LabourOperation)> = BTreeMap::new();
        for (id, organisation_id, code, description, hours, cert, lift, hv, bookable) in rows {
            let depth = lineage
                .iter()
                .position(|o| *o == organisation_id)
                .unwrap_or(usize::MAX);
            let op = LabourOperation {
                id,
                organisation_id,
                code: code.clone(),
                description,
                hours: format_centi(hours),
                certification: cert,
                needs_lift: lift == 1,
                needs_hv_area: hv == 1,
                bookable: bookable == 1,
            };
            match by_code.get(&code) {
                Some((d, _)) if *d <= depth => {}
                _ => {
                    by_code.insert(code, (depth, op));
                }
            }
        }
        Ok(by_code.into_values().map(|(_, op)| op).collect())
    }

    pub async fn add_labour_operation(
        &self,
        scope: &Scope,
        input: &LabourOperationInput,
        now: OffsetDateTime,
    ) -> Result<LabourOperation, StoreError> {
        scope.require(&input.organisation_id, Permission::WorkshopManage)?;
        let mut errs = ValidationErrors::default();
        let code = errs.take(text("code", &input.code, 2, 30).and_then(|c| {
            if c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '.')
            {
                Ok(c.to_ascii_uppercase())
            } else {
                Err(FieldError::new(
                    "code",
                    Rule::Format,
                    "code must be letters, digits, dots or dashes",
                ))
            }
        }));
        let description = errs.take(text("description", &input.description, 2, 200));
        let hours = errs.take(parse_centi("hours", &input.hours, MIN_HOURS_CENTI, 10_000));
        let cert = opt(&input.certification)
            .and_then(|c| errs.take(certification_code("certification", c)));
        errs.into_result()?;
        let id = new_id();
        let r = sqlx::query("INSERT INTO labour_operations (id, organisation_id, code, description, hours_centi, certification, needs_lift, needs_hv_area, bookable, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(&id)
            .bind(&input.organisation_id)
            .bind(&code)
            .bind(&description)
            .bind(hours)
            .bind(&cert)
            .bind(flag(input.needs_lift))
            .bind(flag(input.needs_hv_area))
            .bind(flag(input.bookable))
            .bind(micros(now))
            .execute(&self.pool)
            .await;
        match r {
            Err(e) if StoreError::is_unique_violation(&e) => Err(ValidationErrors::single(
                "code",
                Rule::Unique,
                "this organisation already has an operation with that code",
            )
            .into()),
            Err(e) => Err(e.into()),
            Ok(_) => Ok(LabourOperation {
                id,
                organisation_id: input.organisation_id.clone(),
                code: code.unwrap_or_default(),
                description: description.unwrap_or_default(),
                hours: format_centi(hours.unwrap_or(MIN_HOURS_CENTI)),
                certification: cert,
                needs_lift: input.needs_lift,
                needs_hv_area: input.needs_hv_area,
                bookable: input.bookable,
            }),
        }
    }

    /// Parts that apply at an organisation (its own and its ancestors'), with stock at `org`.
    pub async fn parts(&self, scope: &Scope, org: &str) -> Result<Vec<Part>, StoreError> {
        scope.require(org, Permission::CrmRead)?;
        let lineage = self.lineage(org).await?;
        let currency = self.currency_of(org).await?;
        let sql = format!(
            "SELECT p.id, p.organisation_id, p.part_number, p.description, p.price_minor, p.cost_minor, s.quantity_centi \
             FROM parts p LEFT JOIN part_stock s ON s.part_id = p.id AND s.organisation_id = $1 \
             WHERE p.organisation_id IN ({}) ORDER BY p.part_number",
            placeholders(2, lineage.len())
        );
        let mut q =
            sqlx::query_as::<_, (String, String, String, String, i64, i64, Option<i64>)>(&sql)
                .bind(org);
        for o in &lineage {
            q = q.bind(o);
        }
        Ok(q.fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(
                |(id, organisation_id, part_number, description, price, cost, qty)| Part {
                    id,
                    organisation_id,
                    part_number,
                    description,
                    price: Money::new(price, &currency),
                    cost: Money::new(cost, &currency),
                    stock: vec![Stock {
                        organisation_id: org.to_string(),
                        quantity: format_centi(qty.unwrap_or(0)),
                    }],
                },
            )
            .collect())
    }

    pub async fn add_part(
        &self,
        scope: &Scope,
        input: &PartInput,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        scope.require(&input.organisation_id, Permission::WorkshopManage)?;
        let mut errs = ValidationErrors::default();
        let number = errs
            .take(text("part_number", &input.part_number, 2, 40))
            .map(|n| n.to_ascii_uppercase());
        let description = errs.take(text("description", &input.description, 2, 200));
        let price = errs.take(parse_centi("price", &input.price, 0, 10_000_000_000));
        let cost = errs.take(parse_centi("cost", &input.cost, 0, 10_000_000_000));
        errs.into_result()?;
        let id = new_id();
        let r = sqlx::query("INSERT INTO parts (id, organisation_id, part_number, description, price_minor, cost_minor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(&input.organisation_id)
            .bind(number)
            .bind(description)
            .bind(price)
            .bind(cost)
            .bind(micros(now))
            .execute(&self.pool)
            .await;
        match r {
            Err(e) if StoreError::is_unique_violation(&e) => Err(ValidationErrors::single(
                "part_number",
                Rule::Unique,
                "this organisation already has a part with that number",
            )
            .into()),
            Err(e) => Err(e.into()),
            Ok(_) => Ok(id),
        }
    }

    /// Sets the stock of a part at a service point (a count, not a movement).
    pub async fn set_stock(
        &self,
        scope: &Scope,
        part_id: &str,
        input: &StockInput,
    ) -> Result<(), StoreError> {
        self.require_service_point(scope, &input.organisation_id, Permission::WorkshopManage)
            .await?;
        let owner: Option<String> =
            sqlx::query_scalar("SELECT organisation_id FROM parts WHERE id = $1")
                .bind(part_id)
                .fetch_optional(&self.pool)
                .await?;
        let owner = owner.ok_or(StoreError::NotFound)?;
        if !self.lineage(&input.organisation_id).await?.contains(&owner) {
            return Err(StoreError::NotFound);
        }
        let qty = parse_centi("quantity", &input.quantity, 0, 100_000_000)
            .map_err(ValidationErrors::from)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM part_stock WHERE part_id = $1 AND organisation_id = $2")
            .bind(part_id)
            .bind(&input.organisation_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO part_stock (part_id, organisation_id, quantity_centi) VALUES ($1, $2, $3)",
        )
        .bind(part_id)
        .bind(&input.organisation_id)
        .bind(qty)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The customer, vehicle and case of a booking or repair order, checked to belong together:
    /// the customer is one of this service point's market, the vehicle is currently theirs, the
    /// case is about them and the caller may write to it (the booking is noted on it).
    async fn parties(
        &self,
        scope: &Scope,
        org: &str,
        customer_id: &str,
        vehicle_id: &Option<String>,
        case_id: &Option<String>,
        errs: &mut ValidationErrors,
    ) -> Result<(Option<crate::crm::Customer>, Option<String>, Option<String>), StoreError> {
        let lineage = self.lineage(org).await?;
        let customer = match self.get_customer(scope, customer_id.trim()).await {
            Ok(c) if lineage.contains(&c.organisation_id) && c.erased_at.is_none() => Some(c),
            Ok(_) => {
                errs.push(FieldError::new(
                    "customer_id",
                    Rule::NotAllowed,
                    "the customer belongs to another market than this service point, or was erased",
                ));
                None
            }
            Err(StoreError::NotFound) => {
                errs.push(FieldError::new(
                    "customer_id",
                    Rule::Unknown,
                    "customer_id names no customer you can see",
                ));
                None
            }
            Err(e) => return Err(e),
        };
        let vehicle = match opt(vehicle_id) {
            Some(v) => match self.get_vehicle(scope, v).await {
                Ok(v) => {
                    let owned: Option<String> = sqlx::query_scalar("SELECT customer_id FROM vehicle_ownerships WHERE vehicle_id = $1 AND to_date IS NULL")
                        .bind(&v.id)
                        .fetch_optional(&self.pool)
                        .await?;
                    if customer
                        .as_ref()
                        .is_some_and(|c| owned.as_deref() != Some(c.id.as_str()))
                    {
                        errs.push(FieldError::new(
                            "vehicle_id",
                            Rule::NotAllowed,
                            "the vehicle is not the customer's (by its current ownership)",
                        ));
                        None
                    } else {
                        Some(v.id)
                    }
                }
                Err(StoreError::NotFound) => {
                    errs.push(FieldError::new(
                        "vehicle_id",
                        Rule::Unknown,
                        "vehicle_id names no vehicle you can see",
                    ));
                    None
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        let case = match opt(case_id) {
            Some(c) => match self.writable_case(scope, c).await {
                Ok(row)
                    if row.customer_id.is_none()
                        || row.customer_id.as_deref()
                            == customer.as_ref().map(|c| c.id.as_str()) =>
                {
                    Some(row.id)
                }
                Ok(_) => {
                    errs.push(FieldError::new(
                        "case_id",
                        Rule::NotAllowed,
                        "the case is about another customer",
                    ));
                    None
                }
                Err(StoreError::NotFound) => {
                    errs.push(FieldError::new(
                        "case_id",
                        Rule::Unknown,
                        "case_id names no case you can see",
                    ));
                    None
                }
                Err(StoreError::Forbidden(_)) => {
                    errs.push(FieldError::new(
                        "case_id",
                        Rule::NotAllowed,
                        "you follow this case read-only; its handling party books",
                    ));
                    None
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        Ok((customer, vehicle, case))
    }

    // ---- Availability and booking -----------------------------------------------------------------

    pub(crate) async fn need_for(
        &self,
        org: &str,
        codes: &[String],
        kind: AppointmentKind,
    ) -> Result<(Need, Vec<LabourOperation>), StoreError> {
        let catalogue = self.operations_at(org).await?;
        let mut errs = ValidationErrors::default();
        let mut ops = Vec::new();
        if codes.is_empty() {
            errs.push(FieldError::new(
                "operations",
                Rule::Required,
                "choose at least one labour operation",
            ));
        }
        for (i, c) in codes.iter().enumerate() {
            match catalogue
                .iter()
                .find(|o| o.code.eq_ignore_ascii_case(c.trim()))
            {
                Some(o) => ops.push(o.clone()),
                None => errs.push(FieldError::new(
                    format!("operations.{i}"),
                    Rule::Unknown,
                    format!("no labour operation {c} in this service point's catalogue"),
                )),
            }
        }
        errs.into_result()?;
        let hours: i64 = ops
            .iter()
            .filter_map(|o| parse_centi("hours", &o.hours, 0, i64::MAX).ok())
            .sum();
        let travel = self.settings_of(org).await?.mobile_travel_minutes;
        let need = Need {
            units: units_for_hours(hours),
            buffer_units: if kind == AppointmentKind::Mobile {
                (travel + UNIT_MINUTES - 1) / UNIT_MINUTES
            } else {
                0
            },
            lift: kind == AppointmentKind::Workshop && ops.iter().any(|o| o.needs_lift),
            hv_area: kind == AppointmentKind::Workshop && ops.iter().any(|o| o.needs_hv_area),
            certifications: ops
                .iter()
                .filter_map(|o| o.certification.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            mobile: kind == AppointmentKind::Mobile,
        };
        Ok((need, ops))
    }

    /// The free starts of one local day at a service point for a need.
    pub(crate) async fn day_slots(
        &self,
        org: &str,
        date: Date,
        need: &Need,
        earliest: OffsetDateTime,
        only: Option<&str>,
    ) -> Result<
        (
            Zone,
            Result<Vec<Slot>, NoSlotReason>,
            BTreeMap<String, String>,
        ),
        StoreError,
    > {
        check_day(date)?;
        let cal = self.calendar_for(org, date.midnight().assume_utc()).await?;
        let zone = cal.zone;
        let open: Vec<(i64, i64)> = cal
            .open_on(date)
            .into_iter()
            .map(|(o, c)| (unit_ceil(o), unit_floor(c)))
            .collect();
        let bays: Vec<BayCap> = sqlx::query_as::<_, (String, i64, i64)>("SELECT id, lift, hv_area FROM bays WHERE organisation_id = $1 AND active = 1 ORDER BY name")
            .bind(org)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(id, lift, hv)| BayCap { id, lift: lift == 1, hv_area: hv == 1 })
            .collect();
        let day_start = zone.instant(date.midnight());
        let day_end = zone.instant((date + Duration::days(1)).midnight());
        let weekday = i64::from(date.weekday().number_days_from_monday());
        let mut techs = Vec::new();
        let mut names = BTreeMap::new();
        for t in self.technicians_of(org, date).await? {
            // A technician asked for by name: the day is planned with them alone.
            if only.is_some_and(|o| o != t.user_id) {
                continue;
            }
            let mut shifts: Vec<(i64, i64)> = t
                .shifts
                .iter()
                .filter(|s| i64::from(s.weekday) == weekday)
                .filter_map(|s| {
                    let a = parse_time_of_day("starts", &s.starts).ok()?;
                    let b = parse_time_of_day("ends", &s.ends).ok()?;
                    Some((
                        unit_ceil(zone.instant(date.with_time(a))),
                        unit_floor(zone.instant(date.with_time(b))),
                    ))
                })
                .collect();
            for a in t
                .absences
                .iter()
                .filter(|a| a.starts_at < day_end && a.ends_at > day_start)
            {
                let (x, y) = (unit_floor(a.starts_at), unit_ceil(a.ends_at));
                shifts = shifts
                    .into_iter()
                    .flat_map(|(s, e)| {
                        let mut parts = Vec::new();
                        if s < x.min(e) {
                            parts.push((s, x.min(e)));
                        }
                        if y.max(s) < e {
                            parts.push((y.max(s), e));
                        }
                        parts
                    })
                    .collect();
            }
            names.insert(t.user_id.clone(), t.name.clone());
            techs.push(TechCap {
                id: t.user_id,
                certifications: t
                    .certifications
                    .into_iter()
                    .filter(|c| c.valid)
                    .map(|c| c.code)
                    .collect(),
                mobile: t.mobile,
                shifts,
            });
        }
        let resources: Vec<String> = bays
            .iter()
            .map(|b| b.id.clone())
            .chain(techs.iter().map(|t| t.id.clone()))
            .collect();
        let sql = format!(
            "SELECT resource_id, unit FROM resource_units WHERE unit >= $1 AND unit < $2 AND resource_id IN ({})",
            placeholders(3, resources.len())
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(&sql)
            .bind(unit_floor(day_start) - 32)
            .bind(unit_ceil(day_end) + 32);
        for r in &resources {
            q = q.bind(r);
        }
        let busy: HashSet<(String, i64)> = q.fetch_all(&self.pool).await?.into_iter().collect();
        Ok((
            zone,
            find_slots(&open, &bays, &techs, &busy, need, unit_ceil(earliest)),
            names,
        ))
    }

    /// Free appointment starts on one day for the given labour operations (staff view).
    pub async fn availability(
        &self,
        scope: &Scope,
        org: &str,
        date: Date,
        kind: AppointmentKind,
        operations: &[String],
        now: OffsetDateTime,
    ) -> Result<Availability, StoreError> {
        self.require_service_point(scope, org, Permission::CrmRead)
            .await?;
        let (need, _) = self.need_for(org, operations, kind).await?;
        let (_, slots, names) = self.day_slots(org, date, &need, now, None).await?;
        Ok(availability_view(date, &need, slots, Some(&names)))
    }

    /// Books an appointment and opens its repair order (status booked) in one transaction; the
    /// customer gets the confirmation with a calendar file. A taken slot is refused, never doubled.
    pub async fn book_appointment(
        &self,
        scope: &Scope,
        input: &BookingInput,
        now: OffsetDateTime,
    ) -> Result<Booked, StoreError> {
        let org = input.organisation_id.trim();
        self.require_service_point(scope, org, Permission::WorkshopWrite)
            .await?;
        let mut errs = ValidationErrors::default();
        let kind = errs.take(AppointmentKind::parse("kind", &input.kind));
        let start = errs.take(parse_instant("starts_at", &input.starts_at));
        let complaint =
            opt(&input.complaint).and_then(|c| errs.take(text_block("complaint", c, 2, 5000)));
        let (customer, vehicle_id, case_id) = self
            .parties(
                scope,
                org,
                &input.customer_id,
                &input.vehicle_id,
                &input.case_id,
                &mut errs,
            )
            .await?;
        if let Some(s) = start {
            if s.unix_timestamp() % (UNIT_MINUTES * 60) != 0 {
                errs.push(FieldError::new(
                    "starts_at",
                    Rule::Format,
                    "starts_at must be on a quarter hour",
                ));
            } else if s < now {
                errs.push(FieldError::new(
                    "starts_at",
                    Rule::NotAllowed,
                    "starts_at must not be in the past",
                ));
            }
        }
        let address = match kind {
            Some(AppointmentKind::Mobile) => {
                let a = opt(&input.address).map(str::to_string).or_else(|| {
                    customer.as_ref().and_then(|c| {
                        let parts: Vec<&str> = [
                            c.street.as_deref(),
                            c.postal_code.as_deref(),
                            c.city.as_deref(),
                        ]
                        .into_iter()
                        .flatten()
                        .collect();
                        (!parts.is_empty()).then(|| parts.join(", "))
                    })
                });
                match a {
                    Some(a) => errs.take(text("address", &a, 3, 300)),
                    None => {
                        errs.push(FieldError::new(
                            "address",
                            Rule::Required,
                            "a mobile appointment needs the address to drive to",
                        ));
                        None
                    }
                }
            }
            _ => None,
        };
        errs.into_result()?;
        let (Some(kind), Some(start), Some(customer)) = (kind, start, customer) else {
            return Err(StoreError::Internal(
                "validated booking lost a field".into(),
            ));
        };
        let (need, ops) = self.need_for(org, &input.operations, kind).await?;
        let wanted_tech = opt(&input.technician_id).map(str::to_string);
        self.book_slot(
            &BookingPlan {
                org,
                kind,
                start,
                need: &need,
                ops: &ops,
                customer_id: &customer.id,
                vehicle_id: vehicle_id.as_deref(),
                case_id: case_id.as_deref(),
                address: address.as_deref(),
                complaint: complaint.as_deref(),
                technician: wanted_tech.as_deref(),
                source: "advisor",
                actor: Some(scope.user_id()),
            },
            now,
        )
        .await
    }

    /// Claims the slot's quarter hours and writes appointment, repair order, jobs, lines and the
    /// confirmation. Another booking that got there first makes the unique key refuse the claim;
    /// then the day is read again and, if the start is still free with other resources, retried.
    pub(crate) async fn book_slot(
        &self,
        p: &BookingPlan<'_>,
        now: OffsetDateTime,
    ) -> Result<Booked, StoreError> {
        let local_date = self.zone_of(p.org).await.local(p.start).date();
        for _attempt in 0..3 {
            let (_, slots, _) = self
                .day_slots(p.org, local_date, p.need, now, p.technician)
                .await?;
            let Some(slot) = slots
                .ok()
                .and_then(|s| s.into_iter().find(|s| s.start == unit_floor(p.start)))
            else {
                return Err(StoreError::Taken(
                    "starts_at: this time is not free; choose another slot".into(),
                ));
            };
            match self.write_booking(p, &slot, now).await {
                Ok(b) => return Ok(b),
                Err(StoreError::Database(e)) if StoreError::is_unique_violation(&e) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Taken(
            "starts_at: this time was just taken; choose another slot".into(),
        ))
    }

    async fn write_booking(
        &self,
        p: &BookingPlan<'_>,
        slot: &Slot,
        now: OffsetDateTime,
    ) -> Result<Booked, StoreError> {
        let settings = self.settings_of(p.org).await?;
        let rate = parse_centi("rate", &settings.labour_rate.amount, 0, i64::MAX)
            .unwrap_or(DEFAULT_LABOUR_RATE_MINOR);
        let org_name: String = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
            .bind(p.org)
            .fetch_one(&self.pool)
            .await?;
        let appointment_id = new_id();
        let ro_id = new_id();
        let public_token = token();
        let mut tx = self.pool.begin().await?;
        // The first statement writes, so SQLite takes the write lock before anything is read.
        sqlx::query("INSERT INTO appointments (id, organisation_id, kind, customer_id, vehicle_id, case_id, starts_at, ends_at, bay_id, technician_id, address, source, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'booked', $13, $14)")
            .bind(&appointment_id)
            .bind(p.org)
            .bind(p.kind.as_str())
            .bind(p.customer_id)
            .bind(p.vehicle_id)
            .bind(p.case_id)
            .bind(micros(slot.starts_at()))
            .bind(micros(slot.ends_at()))
            .bind(&slot.bay)
            .bind(&slot.technician)
            .bind(p.address)
            .bind(p.source)
            .bind(p.actor)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        for (resource, unit) in occupied_units(slot, p.need.buffer_units) {
            sqlx::query("INSERT INTO resource_units (resource_id, unit, appointment_id) VALUES ($1, $2, $3)")
                .bind(resource)
                .bind(unit)
                .bind(&appointment_id)
                .execute(&mut *tx)
                .await?;
        }
        let number = next_ro_number(&mut tx, now.year()).await?;
        sqlx::query("INSERT INTO repair_orders (id, number, organisation_id, customer_id, vehicle_id, case_id, appointment_id, status, eta, public_token, created_by, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'booked', NULL, $8, $9, $10, $10, 1)")
            .bind(&ro_id)
            .bind(&number)
            .bind(p.org)
            .bind(p.customer_id)
            .bind(p.vehicle_id)
            .bind(p.case_id)
            .bind(&appointment_id)
            .bind(&public_token)
            .bind(p.actor)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        for (i, op) in p.ops.iter().enumerate() {
            let job_id = new_id();
            let complaint = if i == 0 {
                p.complaint.unwrap_or(&op.description)
            } else {
                &op.description
            };
            insert_job(
                &mut tx,
                &job_id,
                &ro_id,
                i64::try_from(i).unwrap_or(0) + 1,
                &op.description,
                complaint,
                PayType::Customer,
                Approval::NotRequired,
                now,
            )
            .await?;
            let hours = parse_centi("hours", &op.hours, 0, i64::MAX).unwrap_or(MIN_HOURS_CENTI);
            sqlx::query("INSERT INTO ro_lines (id, job_id, repair_order_id, kind, code, description, quantity_centi, unit_price_minor, unit_cost_minor, pay_type, labour_operation_id, part_id, certification, backordered, created_at) \
                 VALUES ($1, $2, $3, 'labour', $4, $5, $6, $7, 0, 'customer', $8, NULL, $9, 0, $10)")
                .bind(new_id())
                .bind(&job_id)
                .bind(&ro_id)
                .bind(&op.code)
                .bind(&op.description)
                .bind(hours)
                .bind(rate)
                .bind(&op.id)
                .bind(&op.certification)
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
        }
        ro_event(
            &mut tx,
            &ro_id,
            "status",
            Some(RoStatus::Booked),
            None,
            p.actor,
            if p.actor.is_some() {
                "staff"
            } else {
                "self-service"
            },
            now,
        )
        .await?;
        if let Some(case_id) = p.case_id {
            crate::cases::event(
                &mut tx,
                case_id,
                "note",
                None,
                Some(format!("Appointment booked: {number}")),
                p.actor,
                now,
            )
            .await?;
        }
        let vehicle = vehicle_label(&mut tx, p.vehicle_id).await?;
        let place = match p.address {
            Some(a) => a.to_string(),
            None => match &settings.address {
                Some(a) => format!("{org_name}, {a}"),
                None => org_name.clone(),
            },
        };
        let ctx = RoContext {
            org_id: p.org.to_string(),
            org_name: org_name.clone(),
            customer_id: p.customer_id.to_string(),
            number: number.clone(),
            token: public_token,
            vehicle,
            eta: None,
        };
        let summary = format!(
            "{} – {}",
            org_name,
            p.ops
                .iter()
                .map(|o| o.description.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        enqueue(
            &mut tx,
            self.public_url(),
            &Notice {
                event: Event::AppointmentBooked,
                ro: Some(&ro_id),
                case_id: p.case_id,
                dedupe: format!("ro:{ro_id}:booked"),
                extra: vec![("when", slot.starts_at())],
                place: Some(place.clone()),
                message: None,
                calendar: Some(crate::notify::CalendarFile {
                    uid: format!("{appointment_id}@aftersales"),
                    start: slot.starts_at(),
                    end: slot.ends_at(),
                    summary,
                    location: place,
                }),
                delay: Duration::ZERO,
            },
            &ctx,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Booked {
            appointment_id,
            repair_order_id: ro_id,
            repair_order_number: number,
            starts_at: slot.starts_at(),
            ends_at: slot.ends_at(),
        })
    }

    // ---- Repair orders ---------------------------------------------------------------------------

    /// Opens a repair order without an appointment (a walk-in or a car already on site).
    pub async fn create_repair_order(
        &self,
        scope: &Scope,
        input: &RepairOrderInput,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let org = input.organisation_id.trim();
        self.require_service_point(scope, org, Permission::WorkshopWrite)
            .await?;
        let mut errs = ValidationErrors::default();
        let complaint = errs.take(text_block("complaint", &input.complaint, 2, 5000));
        let (customer, vehicle_id, case_id) = self
            .parties(
                scope,
                org,
                &input.customer_id,
                &input.vehicle_id,
                &input.case_id,
                &mut errs,
            )
            .await?;
        errs.into_result()?;
        let (Some(customer), Some(complaint)) = (customer, complaint) else {
            return Err(StoreError::Internal(
                "validated repair order lost a field".into(),
            ));
        };
        let id = new_id();
        let mut tx = self.pool.begin().await?;
        let number = next_ro_number(&mut tx, now.year()).await?;
        sqlx::query("INSERT INTO repair_orders (id, number, organisation_id, customer_id, vehicle_id, case_id, appointment_id, status, eta, public_token, created_by, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, 'booked', NULL, $7, $8, $9, $9, 1)")
            .bind(&id)
            .bind(&number)
            .bind(org)
            .bind(&customer.id)
            .bind(&vehicle_id)
            .bind(&case_id)
            .bind(token())
            .bind(scope.user_id())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        let title: String = complaint.chars().take(80).collect();
        insert_job(
            &mut tx,
            &new_id(),
            &id,
            1,
            &title,
            &complaint,
            PayType::Customer,
            Approval::NotRequired,
            now,
        )
        .await?;
        ro_event(
            &mut tx,
            &id,
            "status",
            Some(RoStatus::Booked),
            None,
            Some(scope.user_id()),
            "staff",
            now,
        )
        .await?;
        if let Some(case_id) = &case_id {
            crate::cases::event(
                &mut tx,
                case_id,
                "note",
                None,
                Some(format!("Repair order opened: {number}")),
                Some(scope.user_id()),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.repair_order(scope, &id).await
    }

    async fn ro_row(&self, id: &str) -> Result<RoRow, StoreError> {
        let sql = format!("{RO_SELECT} WHERE r.id = $1");
        sqlx::query_as::<_, RoRow>(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn readable_ro(&self, scope: &Scope, id: &str) -> Result<RoRow, StoreError> {
        let row = self.ro_row(id).await?;
        if !scope.permits(&row.organisation_id, Permission::CrmRead) {
            return Err(StoreError::NotFound);
        }
        Ok(row)
    }

    async fn writable_ro(&self, scope: &Scope, id: &str) -> Result<RoRow, StoreError> {
        let row = self.readable_ro(scope, id).await?;
        scope.require(&row.organisation_id, Permission::WorkshopWrite)?;
        Ok(row)
    }

    pub async fn repair_order(&self, scope: &Scope, id: &str) -> Result<RepairOrder, StoreError> {
        let row = self.readable_ro(scope, id).await?;
        self.assemble(row).await
    }

    async fn assemble(&self, row: RoRow) -> Result<RepairOrder, StoreError> {
        let currency = self.currency_of(&row.organisation_id).await?;
        let status = RoStatus::parse("status", &row.status).unwrap_or(RoStatus::Booked);
        let jobs = self.jobs_of(&row.id, &currency).await?;
        let mut totals: BTreeMap<PayType, i64> = BTreeMap::new();
        for l in jobs.iter().flat_map(|j| j.lines.iter()) {
            *totals.entry(l.pay_type).or_default() +=
                parse_centi("t", &l.total.amount, i64::MIN, i64::MAX).unwrap_or(0);
        }
        let flat: i64 = jobs
            .iter()
            .map(|j| parse_centi("h", &j.flat_rate_hours, 0, i64::MAX).unwrap_or(0))
            .sum();
        let clocked: i64 = jobs.iter().map(|j| j.clocked_minutes).sum();
        let appointment = match &row.appointment_id {
            Some(a) => self.appointment_view(a).await?,
            None => None,
        };
        let events = self.ro_events(&row.id).await?;
        Ok(RepairOrder {
            next: status.next().to_vec(),
            status,
            organisation: Ref {
                id: row.organisation_id.clone(),
                label: row.org_name,
            },
            customer: Ref {
                id: row.customer_id,
                label: row.customer_name,
            },
            vehicle: row.vehicle_id.map(|id| Ref {
                id,
                label: row.vehicle_label.unwrap_or_default(),
            }),
            case: row.case_id.map(|id| Ref {
                id,
                label: row.case_number.unwrap_or_default(),
            }),
            appointment,
            eta: row.eta.map(from_micros),
            status_page: format!("/s/{}", row.public_token),
            totals: totals
                .into_iter()
                .map(|(pay_type, m)| PayTotal {
                    pay_type,
                    amount: Money::new(m, &currency),
                })
                .collect(),
            efficiency_percent: efficiency_percent(flat, Duration::minutes(clocked)),
            currency,
            jobs,
            events,
            created_at: from_micros(row.created_at),
            version: row.version,
            id: row.id,
            number: row.number,
        })
    }

    async fn appointment_view(&self, id: &str) -> Result<Option<AppointmentView>, StoreError> {
        type Row = (
            String,
            String,
            i64,
            i64,
            Option<String>,
            String,
            String,
            Option<String>,
            String,
            String,
        );
        let row: Option<Row> = sqlx::query_as(
            "SELECT a.id, a.kind, a.starts_at, a.ends_at, b.name, a.technician_id, u.display_name, a.address, a.status, a.source \
             FROM appointments a JOIN users u ON u.id = a.technician_id LEFT JOIN bays b ON b.id = a.bay_id WHERE a.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(id, kind, s, e, bay, tid, tname, address, status, source)| AppointmentView {
                id,
                kind: AppointmentKind::parse("kind", &kind).unwrap_or(AppointmentKind::Workshop),
                starts_at: from_micros(s),
                ends_at: from_micros(e),
                bay,
                technician: Ref {
                    id: tid,
                    label: tname,
                },
                address,
                status,
                source,
            },
        ))
    }

    async fn jobs_of(&self, ro_id: &str, currency: &str) -> Result<Vec<Job>, StoreError> {
        let jobs: Vec<JobRow> = sqlx::query_as(
            "SELECT j.id, j.position, j.title, j.complaint, j.cause, j.correction, j.pay_type, j.approval, j.approval_at, j.approval_via, \
             j.technician_id, u.display_name AS technician_name FROM ro_jobs j LEFT JOIN users u ON u.id = j.technician_id \
             WHERE j.repair_order_id = $1 ORDER BY j.position",
        )
        .bind(ro_id)
        .fetch_all(&self.pool)
        .await?;
        let lines: Vec<LineRow> = sqlx::query_as(
            "SELECT id, job_id, kind, code, description, quantity_centi, unit_price_minor, pay_type, certification, backordered \
             FROM ro_lines WHERE repair_order_id = $1 ORDER BY created_at, id",
        )
        .bind(ro_id)
        .fetch_all(&self.pool)
        .await?;
        let clocks: Vec<(String, i64, Option<i64>, String)> = sqlx::query_as(
            "SELECT c.job_id, c.started_at, c.stopped_at, u.display_name FROM ro_clockings c JOIN users u ON u.id = c.technician_id WHERE c.repair_order_id = $1",
        )
        .bind(ro_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(jobs
            .into_iter()
            .map(|j| {
                let lines: Vec<Line> = lines
                    .iter()
                    .filter(|l| l.job_id == j.id)
                    .map(|l| Line {
                        id: l.id.clone(),
                        kind: LineKind::parse("kind", &l.kind).unwrap_or(LineKind::Labour),
                        code: l.code.clone(),
                        description: l.description.clone(),
                        quantity: format_centi(l.quantity_centi),
                        unit_price: Money::new(l.unit_price_minor, currency),
                        total: Money::new(
                            line_total(l.unit_price_minor, l.quantity_centi),
                            currency,
                        ),
                        pay_type: PayType::parse("pay_type", &l.pay_type)
                            .unwrap_or(PayType::Customer),
                        certification: l.certification.clone(),
                        backordered: l.backordered == 1,
                    })
                    .collect();
                let flat: i64 = lines
                    .iter()
                    .filter(|l| l.kind == LineKind::Labour)
                    .map(|l| parse_centi("q", &l.quantity, 0, i64::MAX).unwrap_or(0))
                    .sum();
                let estimate: i64 = lines
                    .iter()
                    .filter(|l| l.pay_type == PayType::Customer)
                    .map(|l| parse_centi("t", &l.total.amount, i64::MIN, i64::MAX).unwrap_or(0))
                    .sum();
                let mine: Vec<&(String, i64, Option<i64>, String)> =
                    clocks.iter().filter(|c| c.0 == j.id).collect();
                let clocked_minutes = mine
                    .iter()
                    .filter_map(|(_, s, e, _)| e.map(|e| (e - s) / 60_000_000))
                    .sum();
                let clocked_on = mine
                    .iter()
                    .filter(|c| c.2.is_none())
                    .map(|c| c.3.clone())
                    .collect();
                let certifications: BTreeSet<String> = lines
                    .iter()
                    .filter_map(|l| l.certification.clone())
                    .collect();
                Job {
                    technician: j.technician_id.map(|id| Ref {
                        id,
                        label: j.technician_name.unwrap_or_default(),
                    }),
                    pay_type: PayType::parse("pay_type", &j.pay_type).unwrap_or(PayType::Customer),
                    approval: Approval::parse("approval", &j.approval)
                        .unwrap_or(Approval::NotRequired),
                    approval_at: j.approval_at.map(from_micros),
                    approval_via: j.approval_via,
                    certifications: certifications.into_iter().collect(),
                    flat_rate_hours: format_centi(flat),
                    estimate: Money::new(estimate, currency),
                    clocked_minutes,
                    clocked_on,
                    lines,
                    id: j.id,
                    position: j.position,
                    title: j.title,
                    complaint: j.complaint,
                    cause: j.cause,
                    correction: j.correction,
                }
            })
            .collect())
    }

    async fn ro_events(&self, ro_id: &str) -> Result<Vec<RoEvent>, StoreError> {
        type Row = (
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT e.at, e.kind, e.status, e.body, u.display_name, e.via FROM ro_events e LEFT JOIN users u ON u.id = e.actor_user_id \
             WHERE e.repair_order_id = $1 ORDER BY e.at, e.id",
        )
        .bind(ro_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, kind, status, body, actor, via)| RoEvent {
                at: from_micros(at),
                kind,
                status: status.and_then(|s| RoStatus::parse("status", &s).ok()),
                body,
                actor,
                via,
            })
            .collect())
    }

    /// Repair orders of the service points in reach: active ones, or those with `status`, newest
    /// first; a technician sees the orders of their jobs first.
    pub async fn repair_orders(
        &self,
        scope: &Scope,
        status: Option<RoStatus>,
        day: Option<(OffsetDateTime, OffsetDateTime)>,
    ) -> Result<Vec<RoSummary>, StoreError> {
        let orgs = scope.orgs_with(Permission::CrmRead);
        let mut sql = format!(
            "SELECT r.id, r.number, o.name, c.name, CASE WHEN v.id IS NULL THEN NULL ELSE COALESCE(v.model, 'Vehicle') || ' ' || COALESCE(v.registration, v.vin) END, \
             r.status, a.starts_at, r.eta FROM repair_orders r JOIN organisations o ON o.id = r.organisation_id JOIN customers c ON c.id = r.customer_id \
             LEFT JOIN vehicles v ON v.id = r.vehicle_id LEFT JOIN appointments a ON a.id = r.appointment_id \
             WHERE r.organisation_id IN ({})",
            placeholders(1, orgs.len())
        );
        let mut n = orgs.len();
        match status {
            Some(_) => {
                n += 1;
                sql.push_str(&format!(" AND r.status = ${n}"));
            }
            None => sql.push_str(" AND r.status NOT IN ('delivered', 'closed', 'cancelled')"),
        }
        if day.is_some() {
            sql.push_str(&format!(
                " AND a.starts_at >= ${} AND a.starts_at < ${}",
                n + 1,
                n + 2
            ));
        }
        sql.push_str(" ORDER BY COALESCE(a.starts_at, r.created_at), r.number LIMIT 500");
        type Row = (
            String,
            String,
            String,
            String,
            Option<String>,
            String,
            Option<i64>,
            Option<i64>,
        );
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        if let Some(s) = status {
            q = q.bind(s.as_str());
        }
        if let Some((a, b)) = day {
            q = q.bind(micros(a)).bind(micros(b));
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut out = Vec::new();
        for (id, number, org, customer, vehicle, st, starts, eta) in rows {
            let technicians: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT u.display_name FROM ro_jobs j JOIN users u ON u.id = j.technician_id WHERE j.repair_order_id = $1 ORDER BY u.display_name",
            )
            .bind(&id)
            .fetch_all(&self.pool)
            .await?;
            out.push(RoSummary {
                id,
                number,
                organisation: org,
                customer,
                vehicle,
                status: RoStatus::parse("status", &st).unwrap_or(RoStatus::Booked),
                starts_at: starts.map(from_micros),
                eta: eta.map(from_micros),
                technicians,
            });
        }
        Ok(out)
    }

    /// The repair order of a case, if one was opened from it.
    pub async fn repair_orders_of_case(
        &self,
        scope: &Scope,
        case_id: &str,
    ) -> Result<Vec<RoSummary>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM repair_orders WHERE case_id = $1 ORDER BY created_at",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for id in ids {
            if let Ok(ro) = self.repair_order(scope, &id).await {
                out.push(RoSummary::of(&ro));
            }
        }
        Ok(out)
    }

    pub async fn add_job(
        &self,
        scope: &Scope,
        ro_id: &str,
        input: &JobInput,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        let status = RoStatus::parse("status", &row.status).unwrap_or(RoStatus::Booked);
        require_active(status)?;
        let mut errs = ValidationErrors::default();
        let title = errs.take(text("title", &input.title, 2, 120));
        let complaint = errs.take(text_block("complaint", &input.complaint, 2, 5000));
        let pay = match opt(&input.pay_type) {
            Some(p) => errs.take(PayType::parse("pay_type", p)),
            None => Some(PayType::Customer),
        };
        errs.into_result()?;
        let pay = pay.unwrap_or(PayType::Customer);
        // Work found after the car came in and paid by the customer waits for their approval.
        let approval = if matches!(status, RoStatus::Booked | RoStatus::CheckedIn)
            || pay != PayType::Customer
        {
            Approval::NotRequired
        } else {
            Approval::Pending
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE repair_orders SET updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(ro_id)
        .execute(&mut *tx)
        .await?;
        let pos: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(position), 0) + 1 FROM ro_jobs WHERE repair_order_id = $1",
        )
        .bind(ro_id)
        .fetch_one(&mut *tx)
        .await?;
        insert_job(
            &mut tx,
            &new_id(),
            ro_id,
            pos,
            title.as_deref().unwrap_or(""),
            complaint.as_deref().unwrap_or(""),
            pay,
            approval,
            now,
        )
        .await?;
        ro_event(
            &mut tx,
            ro_id,
            "job",
            None,
            title,
            Some(scope.user_id()),
            "staff",
            now,
        )
        .await?;
        tx.commit().await?;
        self.repair_order(scope, ro_id).await
    }

    async fn job_of(
        &self,
        ro_id: &str,
        job_id: &str,
    ) -> Result<(String, String, Option<String>), StoreError> {
        let r: Option<(String, String, Option<String>)> = sqlx::query_as("SELECT pay_type, approval, technician_id FROM ro_jobs WHERE id = $1 AND repair_order_id = $2")
            .bind(job_id)
            .bind(ro_id)
            .fetch_optional(&self.pool)
            .await?;
        r.ok_or(StoreError::NotFound)
    }

    /// Writes the three Cs and the pay type of a job.
    pub async fn update_job(
        &self,
        scope: &Scope,
        ro_id: &str,
        job_id: &str,
        input: &JobUpdate,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        require_active(RoStatus::parse("status", &row.status).unwrap_or(RoStatus::Booked))?;
        self.job_of(ro_id, job_id).await?;
        let mut errs = ValidationErrors::default();
        let complaint = input
            .complaint
            .as_deref()
            .map(|c| errs.take(text_block("complaint", c, 2, 5000)));
        let cause = input.cause.as_deref().map(|c| {
            if c.trim().is_empty() {
                None
            } else {
                errs.take(text_block("cause", c, 2, 5000))
            }
        });
        let correction = input.correction.as_deref().map(|c| {
            if c.trim().is_empty() {
                None
            } else {
                errs.take(text_block("correction", c, 2, 5000))
            }
        });
        let pay = opt(&input.pay_type).and_then(|p| errs.take(PayType::parse("pay_type", p)));
        errs.into_result()?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE repair_orders SET updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(ro_id)
        .execute(&mut *tx)
        .await?;
        if let Some(Some(c)) = complaint {
            sqlx::query("UPDATE ro_jobs SET complaint = $1 WHERE id = $2")
                .bind(c)
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(c) = cause {
            sqlx::query("UPDATE ro_jobs SET cause = $1 WHERE id = $2")
                .bind(c)
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(c) = correction {
            sqlx::query("UPDATE ro_jobs SET correction = $1 WHERE id = $2")
                .bind(c)
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(p) = pay {
            sqlx::query("UPDATE ro_jobs SET pay_type = $1 WHERE id = $2")
                .bind(p.as_str())
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE ro_lines SET pay_type = $1 WHERE job_id = $2")
                .bind(p.as_str())
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
            if p != PayType::Customer {
                sqlx::query("UPDATE ro_jobs SET approval = 'not-required' WHERE id = $1 AND approval = 'pending'").bind(job_id).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        self.repair_order(scope, ro_id).await
    }

    /// Adds a labour, part or sublet line to a job. Parts come off the service point's stock;
    /// what is not in stock is marked as on order.
    pub async fn add_line(
        &self,
        scope: &Scope,
        ro_id: &str,
        job_id: &str,
        input: &LineInput,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        require_active(RoStatus::parse("status", &row.status).unwrap_or(RoStatus::Booked))?;
        let (job_pay, _, job_tech) = self.job_of(ro_id, job_id).await?;
        let mut errs = ValidationErrors::default();
        let kind = errs.take(LineKind::parse("kind", &input.kind));
        let pay = match opt(&input.pay_type) {
            Some(p) => errs.take(PayType::parse("pay_type", p)),
            None => PayType::parse("pay_type", &job_pay).ok(),
        };
        errs.clone().into_result()?;
        let org = row.organisation_id.clone();
        struct NewLine {
            code: Option<String>,
            description: String,
            qty: i64,
            price: i64,
            cost: i64,
            op: Option<String>,
            part: Option<String>,
            cert: Option<String>,
        }
        let line = match kind {
            Some(LineKind::Labour) => {
                let code = opt(&input.code).unwrap_or("");
                let op = self
                    .operations_at(&org)
                    .await?
                    .into_iter()
                    .find(|o| o.code.eq_ignore_ascii_case(code));
                match op {
                    None => {
                        errs.push(FieldError::new(
                            "code",
                            Rule::Unknown,
                            "code names no labour operation in this service point's catalogue",
                        ));
                        None
                    }
                    Some(op) => {
                        let flat =
                            parse_centi("hours", &op.hours, 0, i64::MAX).unwrap_or(MIN_HOURS_CENTI);
                        let qty = match opt(&input.quantity) {
                            Some(q) => {
                                errs.take(parse_centi("quantity", q, MIN_HOURS_CENTI, 10_000))
                            }
                            None => Some(flat),
                        };
                        let rate = parse_centi(
                            "rate",
                            &self.settings_of(&org).await?.labour_rate.amount,
                            0,
                            i64::MAX,
                        )
                        .unwrap_or(DEFAULT_LABOUR_RATE_MINOR);
                        qty.map(|qty| NewLine {
                            code: Some(op.code),
                            description: op.description,
                            qty,
                            price: rate,
                            cost: 0,
                            op: Some(op.id),
                            part: None,
                            cert: op.certification,
                        })
                    }
                }
            }
            Some(LineKind::Part) => {
                let code = opt(&input.code).unwrap_or("").to_ascii_uppercase();
                let lineage = self.lineage(&org).await?;
                let sql = format!("SELECT id, part_number, description, price_minor, cost_minor, organisation_id FROM parts WHERE part_number = $1 AND organisation_id IN ({})", placeholders(2, lineage.len()));
                let mut q = sqlx::query_as::<_, (String, String, String, i64, i64, String)>(&sql)
                    .bind(&code);
                for o in &lineage {
                    q = q.bind(o);
                }
                let mut found = q.fetch_all(&self.pool).await?;
                found.sort_by_key(|p| lineage.iter().position(|o| *o == p.5));
                match found.into_iter().next() {
                    None => {
                        errs.push(FieldError::new(
                            "code",
                            Rule::Unknown,
                            "code names no part number in this service point's catalogue",
                        ));
                        None
                    }
                    Some((id, number, description, price, cost, _)) => {
                        let qty = match opt(&input.quantity) {
                            Some(q) => errs.take(parse_centi("quantity", q, 1, 100_000_000)),
                            None => Some(100),
                        };
                        qty.map(|qty| NewLine {
                            code: Some(number),
                            description,
                            qty,
                            price,
                            cost,
                            op: None,
                            part: Some(id),
                            cert: None,
                        })
                    }
                }
            }
            Some(LineKind::Sublet) => {
                let description = errs.take(text(
                    "description",
                    opt(&input.description).unwrap_or(""),
                    2,
                    200,
                ));
                let price = errs.take(parse_centi(
                    "unit_price",
                    opt(&input.unit_price).unwrap_or(""),
                    0,
                    10_000_000_000,
                ));
                let qty = match opt(&input.quantity) {
                    Some(q) => errs.take(parse_centi("quantity", q, 1, 100_000_000)),
                    None => Some(100),
                };
                match (description, price, qty) {
                    (Some(d), Some(p), Some(q)) => Some(NewLine {
                        code: opt(&input.code).map(str::to_string),
                        description: d,
                        qty: q,
                        price: p,
                        cost: p,
                        op: None,
                        part: None,
                        cert: None,
                    }),
                    _ => None,
                }
            }
            None => None,
        };
        errs.into_result()?;
        let (Some(line), Some(pay)) = (line, pay) else {
            return Err(StoreError::Internal("validated line lost a field".into()));
        };
        // Work that needs a certificate cannot slip onto a job already given to someone without it.
        if let (Some(tech), Some(cert)) = (&job_tech, &line.cert) {
            let name: String = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                .bind(tech)
                .fetch_one(&self.pool)
                .await?;
            let today = self.zone_of(&org).await.local(now).date();
            let certs: Vec<Certificate> = self
                .certifications_of(tech, today)
                .await?
                .into_iter()
                .map(|c| Certificate {
                    code: c.code,
                    issued_on: c.issued_on,
                    expires_on: c.expires_on,
                })
                .collect();
            check_competence(&name, &certs, std::slice::from_ref(cert), today)
                .map_err(StoreError::Refused)?;
        }
        let status = RoStatus::parse("status", &row.status).unwrap_or(RoStatus::Booked);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE repair_orders SET updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(ro_id)
        .execute(&mut *tx)
        .await?;
        let mut backordered = false;
        if let Some(part) = &line.part {
            // Take from stock only when it covers the quantity; otherwise the part is ordered.
            let took = sqlx::query("UPDATE part_stock SET quantity_centi = quantity_centi - $1 WHERE part_id = $2 AND organisation_id = $3 AND quantity_centi >= $1")
                .bind(line.qty)
                .bind(part)
                .bind(&org)
                .execute(&mut *tx)
                .await?;
            backordered = took.rows_affected() == 0;
        }
        sqlx::query("INSERT INTO ro_lines (id, job_id, repair_order_id, kind, code, description, quantity_centi, unit_price_minor, unit_cost_minor, pay_type, labour_operation_id, part_id, certification, backordered, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)")
            .bind(new_id())
            .bind(job_id)
            .bind(ro_id)
            .bind(kind.map(|k| k.as_str()).unwrap_or("labour"))
            .bind(&line.code)
            .bind(&line.description)
            .bind(line.qty)
            .bind(line.price)
            .bind(line.cost)
            .bind(pay.as_str())
            .bind(&line.op)
            .bind(&line.part)
            .bind(&line.cert)
            .bind(flag(backordered))
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        // An estimate the customer approved has grown: they decide again.
        if pay == PayType::Customer && !matches!(status, RoStatus::Booked | RoStatus::CheckedIn) {
            sqlx::query("UPDATE ro_jobs SET approval = 'pending', approval_at = NULL, approval_via = NULL WHERE id = $1 AND approval = 'approved'")
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.repair_order(scope, ro_id).await
    }

    pub async fn remove_line(
        &self,
        scope: &Scope,
        ro_id: &str,
        line_id: &str,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        require_active(RoStatus::parse("status", &row.status).unwrap_or(RoStatus::Booked))?;
        let line: Option<(Option<String>, i64, i64)> = sqlx::query_as("SELECT part_id, quantity_centi, backordered FROM ro_lines WHERE id = $1 AND repair_order_id = $2")
            .bind(line_id)
            .bind(ro_id)
            .fetch_optional(&self.pool)
            .await?;
        let (part, qty, backordered) = line.ok_or(StoreError::NotFound)?;
        let mut tx = self.pool.begin().await?;
        let gone = sqlx::query("DELETE FROM ro_lines WHERE id = $1")
            .bind(line_id)
            .execute(&mut *tx)
            .await?;
        if gone.rows_affected() == 0 {
            // Removed meanwhile (a double submit): nothing to give back twice.
            return Err(StoreError::NotFound);
        }
        if let (Some(part), 0) = (part, backordered) {
            sqlx::query("UPDATE part_stock SET quantity_centi = quantity_centi + $1 WHERE part_id = $2 AND organisation_id = $3")
                .bind(qty)
                .bind(part)
                .bind(&row.organisation_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "UPDATE repair_orders SET updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(ro_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.repair_order(scope, ro_id).await
    }

    /// Gives a job to a technician of the service point who holds every certificate its labour
    /// needs, valid today. A refusal names the person and the certificate.
    pub async fn assign_technician(
        &self,
        scope: &Scope,
        ro_id: &str,
        job_id: &str,
        technician_id: &str,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        require_active(RoStatus::parse("status", &row.status).unwrap_or(RoStatus::Booked))?;
        self.job_of(ro_id, job_id).await?;
        let name: Option<String> =
            sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                .bind(technician_id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(name) = name else {
            return Err(ValidationErrors::single(
                "technician_id",
                Rule::Unknown,
                "technician_id names nobody",
            )
            .into());
        };
        if self
            .require_technician_at(&row.organisation_id, technician_id)
            .await
            .is_err()
        {
            return Err(StoreError::Refused(Refusal::NotTechnicianHere {
                technician: name,
            }));
        }
        let required: Vec<String> = sqlx::query_scalar("SELECT DISTINCT certification FROM ro_lines WHERE job_id = $1 AND certification IS NOT NULL ORDER BY certification")
            .bind(job_id)
            .fetch_all(&self.pool)
            .await?;
        let today = self.zone_of(&row.organisation_id).await.local(now).date();
        let certs: Vec<Certificate> = self
            .certifications_of(technician_id, today)
            .await?
            .into_iter()
            .map(|c| Certificate {
                code: c.code,
                issued_on: c.issued_on,
                expires_on: c.expires_on,
            })
            .collect();
        check_competence(&name, &certs, &required, today).map_err(StoreError::Refused)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE ro_jobs SET technician_id = $1 WHERE id = $2")
            .bind(technician_id)
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE repair_orders SET updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(ro_id)
        .execute(&mut *tx)
        .await?;
        ro_event(
            &mut tx,
            ro_id,
            "assignment",
            None,
            Some(name),
            Some(scope.user_id()),
            "staff",
            now,
        )
        .await?;
        tx.commit().await?;
        self.repair_order(scope, ro_id).await
    }

    /// The caller clocks on a job assigned to them; a running clocking elsewhere stops first.
    pub async fn clock_on(
        &self,
        scope: &Scope,
        ro_id: &str,
        job_id: &str,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        require_active(RoStatus::parse("status", &row.status).unwrap_or(RoStatus::Booked))?;
        let (_, _, tech) = self.job_of(ro_id, job_id).await?;
        if tech.as_deref() != Some(scope.user_id()) {
            return Err(ValidationErrors::single(
                "job_id",
                Rule::NotAllowed,
                "only the technician assigned to a job clocks on it",
            )
            .into());
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE ro_clockings SET stopped_at = $1 WHERE technician_id = $2 AND stopped_at IS NULL")
            .bind(micros(now))
            .bind(scope.user_id())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO ro_clockings (id, job_id, repair_order_id, technician_id, started_at, stopped_at) VALUES ($1, $2, $3, $4, $5, NULL)")
            .bind(new_id())
            .bind(job_id)
            .bind(ro_id)
            .bind(scope.user_id())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.repair_order(scope, ro_id).await
    }

    pub async fn clock_off(
        &self,
        scope: &Scope,
        ro_id: &str,
        job_id: &str,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        self.writable_ro(scope, ro_id).await?;
        self.job_of(ro_id, job_id).await?;
        let done = sqlx::query("UPDATE ro_clockings SET stopped_at = $1 WHERE job_id = $2 AND technician_id = $3 AND stopped_at IS NULL")
            .bind(micros(now))
            .bind(job_id)
            .bind(scope.user_id())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(ValidationErrors::single(
                "job_id",
                Rule::NotAllowed,
                "you are not clocked on this job",
            )
            .into());
        }
        self.repair_order(scope, ro_id).await
    }

    /// Sets or clears the expected ready time.
    pub async fn set_eta(
        &self,
        scope: &Scope,
        ro_id: &str,
        eta: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        self.writable_ro(scope, ro_id).await?;
        sqlx::query("UPDATE repair_orders SET eta = $1, updated_at = $2, version = version + 1 WHERE id = $3")
            .bind(eta.map(micros))
            .bind(micros(now))
            .bind(ro_id)
            .execute(&self.pool)
            .await?;
        self.repair_order(scope, ro_id).await
    }

    /// Records the customer's answer taken by phone or at the desk.
    pub async fn decide_job(
        &self,
        scope: &Scope,
        ro_id: &str,
        job_id: &str,
        approve: bool,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        self.decide(&row, job_id, approve, Some(scope.user_id()), "staff", now)
            .await?;
        self.repair_order(scope, ro_id).await
    }

    async fn decide(
        &self,
        row: &RoRow,
        job_id: &str,
        approve: bool,
        actor: Option<&str>,
        via: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        require_active(RoStatus::parse("status", &row.status).unwrap_or(RoStatus::Booked))?;
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE ro_jobs SET approval = $1, approval_at = $2, approval_via = $3 WHERE id = $4 AND repair_order_id = $5 AND approval = 'pending'")
            .bind(if approve { "approved" } else { "declined" })
            .bind(micros(now))
            .bind(via)
            .bind(job_id)
            .bind(&row.id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(ValidationErrors::single(
                "job_id",
                Rule::NotAllowed,
                "this job does not wait for a decision",
            )
            .into());
        }
        let title: String = sqlx::query_scalar("SELECT title FROM ro_jobs WHERE id = $1")
            .bind(job_id)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE repair_orders SET updated_at = $1, version = version + 1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
        ro_event(
            &mut tx,
            &row.id,
            if approve { "approved" } else { "declined" },
            None,
            Some(title),
            actor,
            via,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves a repair order along its status machine, guarded by its version, and tells the
    /// customer through the outbox where the market's rules say so.
    pub async fn set_ro_status(
        &self,
        scope: &Scope,
        ro_id: &str,
        next: RoStatus,
        expected_version: i64,
        now: OffsetDateTime,
    ) -> Result<RepairOrder, StoreError> {
        let row = self.writable_ro(scope, ro_id).await?;
        let current = RoStatus::parse("status", &row.status).unwrap_or(RoStatus::Booked);
        if !current.may_become(next) {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                format!(
                    "a repair order that is {} cannot become {}; next can be {}",
                    current.as_str(),
                    next.as_str(),
                    current
                        .next()
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .into());
        }
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ro_jobs WHERE repair_order_id = $1 AND approval = 'pending'",
        )
        .bind(ro_id)
        .fetch_one(&self.pool)
        .await?;
        if next == RoStatus::WaitingApproval && pending == 0 {
            return Err(ValidationErrors::single("status", Rule::NotAllowed, "nothing waits for the customer's approval: add the work found as a job paid by the customer first").into());
        }
        // The car is not finished (or handed back) while the customer still has to decide on work.
        let finishing = matches!(
            next,
            RoStatus::QualityCheck | RoStatus::Cleaning | RoStatus::Ready | RoStatus::Delivered
        );
        if (current == RoStatus::WaitingApproval || finishing) && pending > 0 {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                "some jobs still wait for the customer's decision",
            )
            .into());
        }
        let place = self
            .settings_of(&row.organisation_id)
            .await?
            .address
            .map(|a| format!("{}, {a}", row.org_name))
            .unwrap_or_else(|| row.org_name.clone());
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE repair_orders SET status = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4")
            .bind(next.as_str())
            .bind(micros(now))
            .bind(ro_id)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: row.version,
            });
        }
        ro_event(
            &mut tx,
            ro_id,
            "status",
            Some(next),
            None,
            Some(scope.user_id()),
            "staff",
            now,
        )
        .await?;
        if next == RoStatus::Cancelled {
            if let Some(a) = &row.appointment_id {
                sqlx::query("DELETE FROM resource_units WHERE appointment_id = $1")
                    .bind(a)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE appointments SET status = 'cancelled' WHERE id = $1")
                    .bind(a)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if next == RoStatus::CheckedIn {
            if let Some(a) = &row.appointment_id {
                sqlx::query("UPDATE appointments SET status = 'arrived' WHERE id = $1")
                    .bind(a)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if next == RoStatus::Closed {
            sqlx::query("UPDATE ro_clockings SET stopped_at = $1 WHERE repair_order_id = $2 AND stopped_at IS NULL").bind(micros(now)).bind(ro_id).execute(&mut *tx).await?;
        }
        let vehicle = vehicle_label(&mut tx, row.vehicle_id.as_deref()).await?;
        let ctx = RoContext {
            org_id: row.organisation_id.clone(),
            org_name: row.org_name.clone(),
            customer_id: row.customer_id.clone(),
            number: row.number.clone(),
            token: row.public_token.clone(),
            vehicle,
            eta: row.eta.map(from_micros),
        };
        if let Some(event) = Event::for_status(next) {
            let seq: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM ro_events WHERE repair_order_id = $1 AND kind = 'status'",
            )
            .bind(ro_id)
            .fetch_one(&mut *tx)
            .await?;
            enqueue(
                &mut tx,
                self.public_url(),
                &Notice {
                    event,
                    ro: Some(ro_id),
                    case_id: row.case_id.as_deref(),
                    dedupe: format!("ro:{ro_id}:status:{seq}"),
                    extra: Vec::new(),
                    place: Some(place.clone()),
                    message: None,
                    calendar: None,
                    delay: Duration::ZERO,
                },
                &ctx,
                now,
            )
            .await?;
        }
        if next == RoStatus::Delivered {
            let survey_token = token();
            let lang: String = sqlx::query_scalar("SELECT language FROM customers WHERE id = $1")
                .bind(&row.customer_id)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO surveys (repair_order_id, organisation_id, token, language, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (repair_order_id) DO NOTHING")
                .bind(ro_id)
                .bind(&row.organisation_id)
                .bind(&survey_token)
                .bind(lang)
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
            let survey_token: String =
                sqlx::query_scalar("SELECT token FROM surveys WHERE repair_order_id = $1")
                    .bind(ro_id)
                    .fetch_one(&mut *tx)
                    .await?;
            enqueue(
                &mut tx,
                self.public_url(),
                &Notice {
                    event: Event::Survey,
                    ro: Some(ro_id),
                    case_id: row.case_id.as_deref(),
                    dedupe: format!("ro:{ro_id}:survey"),
                    extra: Vec::new(),
                    place: Some(place),
                    message: Some(format!("/survey/{survey_token}")),
                    calendar: None,
                    delay: SURVEY_DELAY,
                },
                &ctx,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.repair_order(scope, ro_id).await
    }

    /// The appointments of one local day at a service point, for the workshop board.
    pub async fn day_board(
        &self,
        scope: &Scope,
        org: &str,
        date: Date,
    ) -> Result<Vec<(AppointmentView, RoSummary)>, StoreError> {
        scope.require(org, Permission::CrmRead)?;
        check_day(date)?;
        let zone = self.zone_of(org).await;
        let (a, b) = (
            zone.instant(date.midnight()),
            zone.instant((date + Duration::days(1)).midnight()),
        );
        let ids: Vec<(String, String)> = sqlx::query_as(
            "SELECT a.id, r.id FROM appointments a JOIN repair_orders r ON r.appointment_id = a.id WHERE a.organisation_id = $1 AND a.starts_at >= $2 AND a.starts_at < $3 AND a.status <> 'cancelled' ORDER BY a.starts_at",
        )
        .bind(org)
        .bind(micros(a))
        .bind(micros(b))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for (aid, rid) in ids {
            let (Some(app), Ok(ro)) = (
                self.appointment_view(&aid).await?,
                self.repair_order(scope, &rid).await,
            ) else {
                continue;
            };
            out.push((app, RoSummary::of(&ro)));
        }
        Ok(out)
    }

    /// Jobs assigned to the caller on active repair orders (the technician's list).
    pub async fn my_jobs(&self, scope: &Scope) -> Result<Vec<(RoSummary, Job)>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT r.id FROM ro_jobs j JOIN repair_orders r ON r.id = j.repair_order_id WHERE j.technician_id = $1 AND r.status NOT IN ('delivered', 'closed', 'cancelled')",
        )
        .bind(scope.user_id())
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for id in ids {
            let Ok(ro) = self.repair_order(scope, &id).await else {
                continue;
            };
            let summary = RoSummary::of(&ro);
            for j in ro.jobs.into_iter().filter(|j| {
                j.technician
                    .as_ref()
                    .is_some_and(|t| t.id == scope.user_id())
            }) {
                out.push((summary.clone(), j));
            }
        }
        Ok(out)
    }
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
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO ro_jobs (id, repair_order_id, position, title, complaint, cause, correction, pay_type, approval, approval_at, approval_via, technician_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, $7, NULL, NULL, NULL, $8)")
        .bind(id)
        .bind(ro_id)
        .bind(position)
        .bind(title)
        .bind(complaint)
        .bind(pay.as_str())
        .bind(approval.as_str())
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

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
mod moving;
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

pub use crate::Ref;
pub use aftersales_api_types::workshop::{
    Absence, AbsenceInput, AppointmentView, Availability, Bay, BayInput, Booked, BookingInput,
    Certification, CertificationInput, Job, JobInput, JobUpdate, LabourOperation,
    LabourOperationInput, Line, LineInput, MoveInput, Part, PartInput, PayTotal, RepairOrder,
    RepairOrderInput, RoEvent, RoSummary, SettingsInput, Shift, SlotView, Stock, StockInput,
    Technician, TechnicianInput, WorkshopSettings,
};

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

/// Where the customer goes: the address of a mobile visit, else the service point with its address.
fn place_of(org_name: &str, service_point_address: Option<&str>, visit: Option<&str>) -> String {
    match (visit, service_point_address) {
        (Some(v), _) => v.to_string(),
        (None, Some(a)) => format!("{org_name}, {a}"),
        (None, None) => org_name.to_string(),
    }
}

impl RoRow {
    /// Who hears about this repair order, with its vehicle as the customer knows it and the ETA.
    fn addressee(&self, vehicle: String, eta: Option<OffsetDateTime>) -> Addressee {
        Addressee {
            org_id: self.organisation_id.clone(),
            org_name: self.org_name.clone(),
            customer_id: self.customer_id.clone(),
            number: self.number.clone(),
            token: self.public_token.clone(),
            vehicle,
            eta,
        }
    }
}

impl Workshop<'_> {
    /// Who hears about a repair order, for another capability that tells its customer something
    /// (logistics: pickup confirmed, driver on the way).
    pub(crate) async fn addressee_of(
        self,
        conn: &mut sqlx::AnyConnection,
        ro_id: &str,
    ) -> Result<Addressee, StoreError> {
        let row = self.ro_row(ro_id).await?;
        let vehicle = vehicle_label(conn, row.vehicle_id.as_deref()).await?;
        Ok(row.addressee(vehicle, row.eta.map(from_micros)))
    }

    /// The customer's language: work from the catalogue reads in it (estimate, status page, invoice).
    async fn customer_language(self, customer_id: &str) -> Result<Language, StoreError> {
        let lang: Option<String> =
            sqlx::query_scalar("SELECT language FROM customers WHERE id = $1")
                .bind(customer_id)
                .fetch_optional(&self.store.pool)
                .await?;
        Ok(lang
            .as_deref()
            .and_then(|l| Language::parse("language", l).ok())
            .unwrap_or(Language::En))
    }
}

/// A system event on a repair order, stored as its facts (rendered in the reader's language).
pub(crate) async fn ro_fact(
    conn: &mut sqlx::AnyConnection,
    ro_id: &str,
    kind: &str,
    params: &[(&str, &str)],
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO ro_events (id, repair_order_id, kind, status, body, actor_user_id, via, at, params) VALUES ($1, $2, $3, NULL, NULL, $4, $5, $6, $7)")
        .bind(new_id())
        .bind(ro_id)
        .bind(kind)
        .bind(actor)
        .bind(if actor.is_some() { "staff" } else { "system" })
        .bind(micros(now))
        .bind(crate::params_json(params))
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn vehicle_label(
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

//! Cases (capability cases): intake, SLA timers on the handling organisation's business calendar
//! (paused while waiting for the customer), escalation by hand and by rule, messages to the
//! customer versus internal notes, and follow-up tasks.

use aftersales_domain::calendar::{BusinessCalendar, Zone};
use aftersales_domain::cases::{
    safety_signals, timer_state, Category, Channel, EscalationReason, Priority, Status, Timer,
};
use aftersales_domain::crm::Phone;
use aftersales_domain::org::{Permission, Role};
use aftersales_domain::validation::{text, text_block, FieldError, Rule};
use aftersales_domain::ValidationErrors;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time};

use crate::crm::{add_entry, NewEntry};
use crate::db::placeholders;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{from_micros, micros, new_id};

mod create;
mod escalation;
mod inbox;
pub mod intake;
mod routing;
mod sla;
mod tasks;
pub mod triage;

crate::capability!(
    /// Cases from every channel, their SLA, escalation, tasks and routing: `store.cases().inbox(..)`.
    Cases, cases
);

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

pub use crate::Ref;

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

/// A case ready to be written, resolved and validated by its intake.
pub(crate) struct NewCase<'a> {
    pub org: &'a str,
    /// (customer id, the customer's owning organisation)
    pub customer: Option<(&'a str, &'a str)>,
    pub vehicle_id: Option<&'a str>,
    pub channel: Channel,
    pub category: Category,
    pub priority: Priority,
    pub subject: &'a str,
    pub symptoms: Option<&'a str>,
    pub contact: Option<&'a str>,
    /// Who took it in (and owns it); `None` for the public web form.
    pub actor: Option<&'a str>,
}

/// A routing rule that applies to a case.
pub(crate) struct RouteMatch {
    pub rule_id: String,
    pub target: String,
    pub target_name: String,
    pub first_response: Option<i64>,
    pub resolution: Option<i64>,
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

/// Which cases an inbox shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxFilter {
    /// Every active case the caller can see.
    All,
    /// Active cases the caller owns.
    Mine,
    /// Active escalated cases: the service manager's queue.
    Escalated,
}

/// Built-in SLA targets (first response, resolution) in business minutes, used where an
/// organisation has configured none for a category and priority.
pub fn default_policy(priority: Priority) -> (i64, i64) {
    match priority {
        Priority::Urgent => (30, 4 * 60),
        Priority::High => (60, 8 * 60),
        Priority::Normal => (4 * 60, 3 * 8 * 60),
        Priority::Low => (8 * 60, 5 * 8 * 60),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CaseRow {
    pub(crate) id: String,
    number: String,
    organisation_id: String,
    organisation_name: String,
    pub(crate) customer_id: Option<String>,
    customer_name: Option<String>,
    vehicle_id: Option<String>,
    vehicle_label: Option<String>,
    contact: Option<String>,
    channel: String,
    category: String,
    priority: String,
    status: String,
    subject: String,
    symptoms: Option<String>,
    owner_user_id: Option<String>,
    owner_name: Option<String>,
    escalated_at: Option<i64>,
    escalation_reason: Option<String>,
    first_response_minutes: i64,
    resolution_minutes: i64,
    first_responded_at: Option<i64>,
    resolved_at: Option<i64>,
    first_response_breached_at: Option<i64>,
    resolution_breached_at: Option<i64>,
    created_at: i64,
    version: i64,
}

const CASE_SELECT: &str = "SELECT c.id, c.number, c.organisation_id, o.name AS organisation_name, c.customer_id, cu.name AS customer_name, \
    c.vehicle_id, COALESCE(v.registration, v.vin) AS vehicle_label, c.contact, c.channel, c.category, c.priority, c.status, c.subject, \
    c.symptoms, c.owner_user_id, u.display_name AS owner_name, c.escalated_at, c.escalation_reason, c.first_response_minutes, \
    c.resolution_minutes, c.first_responded_at, c.resolved_at, c.first_response_breached_at, c.resolution_breached_at, c.created_at, c.version \
    FROM cases c JOIN organisations o ON o.id = c.organisation_id LEFT JOIN customers cu ON cu.id = c.customer_id \
    LEFT JOIN vehicles v ON v.id = c.vehicle_id LEFT JOIN users u ON u.id = c.owner_user_id";

fn parse_hm(s: &str) -> Option<Time> {
    let (h, m) = s.split_once(':')?;
    Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()
}

/// Mirrors a case event on the customer's timeline, so everything about them reads in one place.
async fn on_customer_timeline(
    conn: &mut sqlx::AnyConnection,
    row: &CaseRow,
    summary: String,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let Some(customer) = &row.customer_id else {
        return Ok(());
    };
    let owner: Option<String> =
        sqlx::query_scalar("SELECT organisation_id FROM customers WHERE id = $1")
            .bind(customer)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(owner) = owner {
        add_entry(
            conn,
            NewEntry {
                organisation_id: &owner,
                customer_id: Some(customer),
                vehicle_id: row.vehicle_id.as_deref(),
                kind: "case",
                summary,
                body: None,
                actor,
            },
            now,
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn event(
    conn: &mut sqlx::AnyConnection,
    case_id: &str,
    kind: &str,
    status: Option<Status>,
    body: Option<String>,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO case_events (id, case_id, at, kind, status, body, actor_user_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(new_id())
        .bind(case_id)
        .bind(micros(now))
        .bind(kind)
        .bind(status.map(|s| s.as_str().to_string()))
        .bind(body)
        .bind(actor.map(str::to_string))
        .execute(conn)
        .await?;
    Ok(())
}

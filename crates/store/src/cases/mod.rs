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
mod settings;
mod sla;
mod tasks;
pub mod triage;

crate::capability!(
    /// Cases from every channel, their SLA, escalation, tasks and routing: `store.cases().inbox(..)`.
    Cases, cases
);

pub use crate::Ref;
pub use aftersales_api_types::cases::{
    Case, CaseEvent, CaseInput, Handoff, InboxSettings, OpeningPeriod, RoutingRule, SlaTarget,
    SlaTimer, Task,
};

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
    what: (&'static str, String),
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
                summary: String::new(),
                params: vec![("case", row.number.clone()), what],
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
    fact(conn, case_id, kind, status, &[], body, actor, now).await
}

/// A case event with its facts as parameters (rendered in the reader's language) and, in `body`,
/// only what a person wrote.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn fact(
    conn: &mut sqlx::AnyConnection,
    case_id: &str,
    kind: &str,
    status: Option<Status>,
    params: &[(&str, &str)],
    body: Option<String>,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO case_events (id, case_id, at, kind, status, body, actor_user_id, params) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(new_id())
        .bind(case_id)
        .bind(micros(now))
        .bind(kind)
        .bind(status.map(|s| s.as_str().to_string()))
        .bind(body)
        .bind(actor.map(str::to_string))
        .bind(crate::params_json(params))
        .execute(conn)
        .await?;
    Ok(())
}

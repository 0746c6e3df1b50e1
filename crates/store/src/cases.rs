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
use crate::db::{placeholders, Store};
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{from_micros, micros, new_id};

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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ref {
    pub id: String,
    pub label: String,
}

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

impl Store {
    /// The time zone an organisation's people read times in: its market's (Oslo when it has none).
    pub async fn zone_of(&self, org_id: &str) -> Zone {
        let tz: Option<(String,)> = sqlx::query_as(
            "SELECT m.time_zone FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1",
        )
        .bind(org_id)
        .fetch_optional(&self.pool)
        .await
        .ok()
        .flatten();
        tz.and_then(|(tz,)| Zone::parse("time_zone", &tz).ok())
            .unwrap_or(Zone::KNOWN[0])
    }

    /// The business calendar of an organisation: its opening hours (Monday–Friday 08:00–16:00
    /// when none are set), its market's time zone and public holidays.
    pub async fn calendar_for(
        &self,
        org_id: &str,
        around: OffsetDateTime,
    ) -> Result<BusinessCalendar, StoreError> {
        let market: Option<(String, String)> = sqlx::query_as(
            "SELECT m.code, m.time_zone FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1",
        )
        .bind(org_id)
        .fetch_optional(&self.pool)
        .await?;
        let (country, tz) = market.unwrap_or_else(|| ("NO".into(), "Europe/Oslo".into()));
        let zone = Zone::parse("time_zone", &tz).unwrap_or(Zone::KNOWN[0]);
        let year = around.year();
        let mut cal = BusinessCalendar::weekdays(
            zone,
            Time::from_hms(8, 0, 0).unwrap_or(Time::MIDNIGHT),
            Time::from_hms(16, 0, 0).unwrap_or(Time::MIDNIGHT),
            &country,
            year - 1..=year + 2,
        );
        let hours: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT weekday, opens, closes FROM opening_hours WHERE organisation_id = $1 ORDER BY weekday, opens")
                .bind(org_id)
                .fetch_all(&self.pool)
                .await?;
        if !hours.is_empty() {
            cal.week = Default::default();
            for (day, o, c) in hours {
                if let (Some(o), Some(c), Ok(d)) =
                    (parse_hm(&o), parse_hm(&c), usize::try_from(day))
                {
                    if let Some(slot) = cal.week.get_mut(d) {
                        slot.push((o, c));
                    }
                }
            }
        }
        Ok(cal)
    }

    /// Sets the opening hours of an organisation the caller administers (`weekday` 0 = Monday).
    pub async fn set_opening_hours(
        &self,
        scope: &Scope,
        org_id: &str,
        hours: &[(u8, Time, Time)],
    ) -> Result<(), StoreError> {
        scope.require(org_id, Permission::OrgManage)?;
        for (i, (d, o, c)) in hours.iter().enumerate() {
            let overlaps = hours
                .iter()
                .enumerate()
                .any(|(j, (d2, o2, c2))| j != i && d2 == d && o < c2 && o2 < c);
            if overlaps {
                return Err(ValidationErrors::single(
                    format!("hours.{i}"),
                    Rule::NotAllowed,
                    "opening hours of one day must not overlap",
                )
                .into());
            }
            if *d > 6 || o >= c {
                return Err(ValidationErrors::single(
                    format!("hours.{i}"),
                    Rule::Format,
                    "each day needs 0–6 and opening before closing",
                )
                .into());
            }
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM opening_hours WHERE organisation_id = $1")
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        for (d, o, c) in hours {
            sqlx::query("INSERT INTO opening_hours (organisation_id, weekday, opens, closes) VALUES ($1, $2, $3, $4)")
                .bind(org_id)
                .bind(i64::from(*d))
                .bind(format!("{:02}:{:02}", o.hour(), o.minute()))
                .bind(format!("{:02}:{:02}", c.hour(), c.minute()))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets an SLA policy of an organisation the caller administers.
    pub async fn set_sla_policy(
        &self,
        scope: &Scope,
        org_id: &str,
        category: Category,
        priority: Priority,
        first_response_minutes: i64,
        resolution_minutes: i64,
    ) -> Result<(), StoreError> {
        scope.require(org_id, Permission::OrgManage)?;
        if !(1..=60 * 24 * 30).contains(&first_response_minutes)
            || !(first_response_minutes..=60 * 24 * 90).contains(&resolution_minutes)
        {
            return Err(ValidationErrors::single(
                "resolution_minutes",
                Rule::Format,
                "targets must be positive, and resolution no shorter than first response",
            )
            .into());
        }
        sqlx::query("DELETE FROM sla_policies WHERE organisation_id = $1 AND category = $2 AND priority = $3")
            .bind(org_id)
            .bind(category.as_str())
            .bind(priority.as_str())
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO sla_policies (organisation_id, category, priority, first_response_minutes, resolution_minutes) VALUES ($1, $2, $3, $4, $5)")
            .bind(org_id)
            .bind(category.as_str())
            .bind(priority.as_str())
            .bind(first_response_minutes)
            .bind(resolution_minutes)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The SLA targets for a case: the handling organisation's policy, else the nearest above, else
    /// the built-in default.
    async fn policy_for(
        &self,
        org_id: &str,
        category: Category,
        priority: Priority,
    ) -> Result<(i64, i64), StoreError> {
        let found: Option<(i64, i64)> = sqlx::query_as(
            "WITH RECURSIVE up(id, parent_id, depth) AS ( \
                SELECT id, parent_id, 0 FROM organisations WHERE id = $1 \
                UNION ALL SELECT p.id, p.parent_id, up.depth + 1 FROM organisations p JOIN up ON p.id = up.parent_id \
             ) SELECT s.first_response_minutes, s.resolution_minutes FROM sla_policies s JOIN up ON up.id = s.organisation_id \
             WHERE s.category = $2 AND s.priority = $3 ORDER BY up.depth LIMIT 1",
        )
        .bind(org_id)
        .bind(category.as_str())
        .bind(priority.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.unwrap_or_else(|| default_policy(priority)))
    }

    /// The organisation that handles cases the caller takes in: their first membership whose
    /// roles may write customer records.
    async fn case_home(&self, scope: &Scope) -> Result<String, StoreError> {
        let ms: Vec<(String, String)> = sqlx::query_as("SELECT organisation_id, role FROM memberships WHERE user_id = $1 ORDER BY granted_at, organisation_id")
            .bind(scope.user_id())
            .fetch_all(&self.pool)
            .await?;
        ms.into_iter()
            .find(|(_, r)| Role::parse("role", r).is_ok_and(|r| r.grants(Permission::CrmWrite)))
            .map(|(o, _)| o)
            .ok_or_else(|| {
                StoreError::Forbidden(format!(
                    "your roles do not allow {}",
                    Permission::CrmWrite.describe()
                ))
            })
    }

    async fn next_number(conn: &mut sqlx::AnyConnection, year: i32) -> Result<String, StoreError> {
        let name = format!("case-{year}");
        sqlx::query(
            "INSERT INTO counters (name, value) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&name)
        .execute(&mut *conn)
        .await?;
        let n: i64 = sqlx::query_scalar(
            "UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value",
        )
        .bind(&name)
        .fetch_one(&mut *conn)
        .await?;
        Ok(format!("CASE-{year}-{n:05}"))
    }

    /// Takes in a case. Links the customer (given, or found by the contact's phone or e-mail) and
    /// the vehicle; escalates at once when the customer describes a safety risk or contacts us
    /// again while an earlier case about the same is open.
    pub async fn create_case(
        &self,
        scope: &Scope,
        input: &CaseInput,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        let mut errs = ValidationErrors::default();
        let channel = errs.take(Channel::parse("channel", &input.channel));
        let category = errs.take(Category::parse("category", &input.category));
        let priority = errs.take(Priority::parse("priority", &input.priority));
        let subject = errs.take(text("subject", &input.subject, 3, 200));
        let symptoms = crate::crm::opt(&input.symptoms)
            .and_then(|s| errs.take(text_block("symptoms", s, 1, 5000)));
        let contact =
            crate::crm::opt(&input.contact).and_then(|s| errs.take(text("contact", s, 3, 200)));
        let mut customer = match crate::crm::opt(&input.customer_id) {
            Some(id) => match self.get_customer(scope, id).await {
                Ok(c) => Some(c),
                Err(StoreError::NotFound) => {
                    errs.push(FieldError::new(
                        "customer_id",
                        Rule::Unknown,
                        "customer_id names no customer you can see",
                    ));
                    None
                }
                Err(e) => return Err(e),
            },
            None => None,
        };
        let vehicle = match crate::crm::opt(&input.vehicle_id) {
            Some(id) => match self.get_vehicle(scope, id).await {
                Ok(v) => Some(v),
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
        if customer.is_none() && contact.is_none() && vehicle.is_none() {
            errs.push(FieldError::new(
                "contact",
                Rule::Required,
                "name the customer, the vehicle or the caller's phone or e-mail",
            ));
        }
        errs.clone().into_result()?;
        let (Some(channel), Some(category), Some(priority), Some(subject)) =
            (channel, category, priority, subject)
        else {
            return Err(errs.into());
        };
        let org = self.case_home(scope).await?;
        // A caller who is a known customer is linked by their phone or e-mail.
        if customer.is_none() {
            if let Some(c) = &contact {
                customer = self.find_customer_by_contact(scope, &org, c).await?;
            }
        }
        if customer.is_none() {
            if let Some(v) = &vehicle {
                if let Some(o) = v.owners.iter().find(|o| o.to_date.is_none()) {
                    customer = self.get_customer(scope, &o.customer_id).await.ok();
                }
            }
        }
        let id = self
            .insert_case(
                &NewCase {
                    org: &org,
                    customer: customer
                        .as_ref()
                        .map(|c| (c.id.as_str(), c.organisation_id.as_str())),
                    vehicle_id: vehicle.as_ref().map(|v| v.id.as_str()),
                    channel,
                    category,
                    priority,
                    subject: &subject,
                    symptoms: symptoms.as_deref(),
                    contact: contact.as_deref(),
                    actor: Some(scope.user_id()),
                },
                now,
            )
            .await?;
        self.get_case(scope, &id, now).await
    }

    /// Writes a new case with its SLA targets and the escalation rules applied at intake.
    pub(crate) async fn insert_case(
        &self,
        n: &NewCase<'_>,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let (intake_org, channel, category, priority, subject) =
            (n.org, n.channel, n.category, n.priority, n.subject);
        // Working procedures: the nearest rule at or above the intake hands the case on.
        let route = self.route_for(intake_org, category).await?;
        let org = route
            .as_ref()
            .map(|r| r.target.as_str())
            .unwrap_or(intake_org);
        let (fr, res) = match &route {
            Some(RouteMatch {
                first_response: Some(f),
                resolution: Some(r),
                ..
            }) => (*f, *r),
            _ => self.policy_for(org, category, priority).await?,
        };
        let text_for_rules = format!("{subject} {}", n.symptoms.unwrap_or_default());
        let signals = safety_signals(&text_for_rules);
        let repeat = match n.customer {
            Some((customer_id, _)) => {
                let since = micros(now - Duration::days(7));
                // A mail or web form is not classified yet ("other"): any open or recent concern
                // of the same customer makes it a repeat contact.
                let same_concern = if category == Category::Other {
                    "$2 = $2"
                } else {
                    "category = $2"
                };
                let n: i64 = sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM cases WHERE customer_id = $1 AND {same_concern} AND (status IN ('new', 'open', 'waiting-for-customer') OR resolved_at > $3)",
                ))
                .bind(customer_id)
                .bind(category.as_str())
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
                n > 0
            }
            None => false,
        };
        let escalation = if !signals.is_empty() {
            Some((
                EscalationReason::Safety,
                format!("Safety words in the description: {}", signals.join(", ")),
            ))
        } else if repeat {
            Some((
                EscalationReason::RepeatContact,
                "The customer contacted us again about an open or recent concern".to_string(),
            ))
        } else {
            None
        };
        let id = new_id();
        let mut tx = self.pool.begin().await?;
        let number = Self::next_number(&mut tx, now.year()).await?;
        sqlx::query(
            "INSERT INTO cases (id, number, organisation_id, customer_id, vehicle_id, channel, category, priority, status, subject, symptoms, \
             contact, owner_user_id, escalated_at, escalation_reason, first_response_minutes, resolution_minutes, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'new', $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, 1)",
        )
        .bind(&id)
        .bind(&number)
        .bind(org)
        .bind(n.customer.map(|c| c.0.to_string()))
        .bind(n.vehicle_id.map(str::to_string))
        .bind(channel.as_str())
        .bind(category.as_str())
        .bind(priority.as_str())
        .bind(subject)
        .bind(n.symptoms.map(str::to_string))
        .bind(n.contact.map(str::to_string))
        .bind(if route.is_some() { None } else { n.actor.map(str::to_string) })
        .bind(escalation.as_ref().map(|_| micros(now)))
        .bind(escalation.as_ref().map(|(r, _)| r.as_str().to_string()))
        .bind(fr)
        .bind(res)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        event(
            &mut tx,
            &id,
            "created",
            Some(Status::New),
            Some(format!("{} via {}", subject, channel.as_str())),
            n.actor,
            now,
        )
        .await?;
        if let Some(r) = &route {
            sqlx::query(
                "INSERT INTO case_handoffs (id, case_id, from_organisation_id, to_organisation_id, rule_id, note, actor_user_id, at) \
                 VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(intake_org)
            .bind(&r.target)
            .bind(&r.rule_id)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
            event(
                &mut tx,
                &id,
                "handoff",
                None,
                Some(format!(
                    "Handed to {} by the working procedure for {}",
                    r.target_name,
                    category.as_str()
                )),
                None,
                now,
            )
            .await?;
        }
        if let Some((reason, why)) = &escalation {
            event(
                &mut tx,
                &id,
                "escalated",
                None,
                Some(format!("{}: {why}", reason.as_str())),
                None,
                now,
            )
            .await?;
        }
        if let Some((customer_id, customer_org)) = n.customer {
            add_entry(
                &mut tx,
                NewEntry {
                    organisation_id: customer_org,
                    customer_id: Some(customer_id),
                    vehicle_id: n.vehicle_id,
                    kind: "case",
                    summary: format!("{number} opened: {subject}"),
                    body: None,
                    actor: n.actor,
                },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// A visible customer of the market whose phone or e-mail is `contact`.
    async fn find_customer_by_contact(
        &self,
        scope: &Scope,
        org: &str,
        contact: &str,
    ) -> Result<Option<crate::crm::Customer>, StoreError> {
        let country: Option<String> =
            sqlx::query_scalar("SELECT m.code FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id = $1")
                .bind(org)
                .fetch_optional(&self.pool)
                .await?;
        let handle = if contact.contains('@') {
            contact.trim().to_lowercase()
        } else {
            match Phone::parse(
                "contact",
                contact,
                country
                    .as_deref()
                    .and_then(crate::crm::calling_code)
                    .unwrap_or(""),
            ) {
                Ok(p) => p.as_str().to_string(),
                Err(_) => return Ok(None),
            }
        };
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM customers WHERE (LOWER(email) = $1 OR phone = $1) AND erased_at IS NULL ORDER BY created_at")
            .bind(&handle)
            .fetch_all(&self.pool)
            .await?;
        for id in ids {
            if let Ok(c) = self.get_customer(scope, &id).await {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    async fn events_of(&self, case_id: &str) -> Result<Vec<CaseEvent>, StoreError> {
        type Row = (
            String,
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT e.id, e.at, e.kind, e.status, e.body, u.display_name FROM case_events e LEFT JOIN users u ON u.id = e.actor_user_id \
             WHERE e.case_id = $1 ORDER BY e.at, e.id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, at, kind, status, body, actor)| CaseEvent {
                id,
                at: from_micros(at),
                kind,
                status,
                body,
                actor,
            })
            .collect())
    }

    async fn case_from_row(&self, row: CaseRow, now: OffsetDateTime) -> Result<Case, StoreError> {
        let events = self.events_of(&row.id).await?;
        let cal = self.calendar_for(&row.organisation_id, now).await?;
        let created = from_micros(row.created_at);
        let status = Status::parse("status", &row.status).unwrap_or(Status::Open);
        // Pauses: from each change into waiting-for-customer to the next change out of it.
        let mut pauses: Vec<(OffsetDateTime, OffsetDateTime)> = Vec::new();
        let mut since: Option<OffsetDateTime> = None;
        for e in events
            .iter()
            .filter(|e| e.kind == "status" || e.kind == "created")
        {
            // Waiting for the customer, or resolved until reopened: the clock stands still.
            let stopped =
                |st: &str| st == "waiting-for-customer" || st == "resolved" || st == "closed";
            match (e.status.as_deref(), since) {
                (Some(st), None) if stopped(st) => since = Some(e.at),
                (Some(s), Some(start)) if !stopped(s) => {
                    pauses.push((start, e.at));
                    since = None;
                }
                _ => {}
            }
        }
        if let Some(start) = since {
            pauses.push((start, now.max(start)));
        }
        let paused = status == Status::WaitingForCustomer;
        let timer = |minutes: i64, done_at: Option<i64>| {
            let end = done_at.map(from_micros).unwrap_or(now);
            let used = cal.business_time(created, end, &pauses).whole_minutes();
            let due = if done_at.is_some() {
                None
            } else {
                cal.deadline(created, Duration::minutes(minutes), &pauses)
            };
            SlaTimer {
                state: timer_state(done_at.is_some(), used <= minutes, paused, minutes, used),
                minutes,
                used_minutes: used,
                due_at: due,
            }
        };
        // A case resolved without a reply no longer waits for its first response.
        let first_response = timer(
            row.first_response_minutes,
            row.first_responded_at.or(row.resolved_at),
        );
        let resolution = timer(row.resolution_minutes, row.resolved_at);
        Ok(Case {
            id: row.id,
            number: row.number,
            organisation: Ref {
                id: row.organisation_id,
                label: row.organisation_name,
            },
            customer: row.customer_id.map(|id| Ref {
                id,
                label: row.customer_name.unwrap_or_default(),
            }),
            vehicle: row.vehicle_id.map(|id| Ref {
                id,
                label: row.vehicle_label.unwrap_or_default(),
            }),
            contact: row.contact,
            channel: Channel::parse("channel", &row.channel).unwrap_or(Channel::Phone),
            category: Category::parse("category", &row.category).unwrap_or(Category::Other),
            priority: Priority::parse("priority", &row.priority).unwrap_or(Priority::Normal),
            status,
            subject: row.subject,
            symptoms: row.symptoms,
            owner: row.owner_user_id.map(|id| Ref {
                id,
                label: row.owner_name.unwrap_or_default(),
            }),
            escalated_at: row.escalated_at.map(from_micros),
            escalation_reason: row
                .escalation_reason
                .as_deref()
                .and_then(EscalationReason::parse),
            first_response,
            resolution,
            created_at: created,
            version: row.version,
        })
    }

    /// A case the caller may read: one their reach handles, or one a party in their reach took in
    /// and handed on (that party keeps following it, read-only).
    async fn case_row(&self, scope: &Scope, id: &str) -> Result<CaseRow, StoreError> {
        let sql = format!("{CASE_SELECT} WHERE c.id = $1");
        let row = sqlx::query_as::<_, CaseRow>(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        if scope.permits(&row.organisation_id, Permission::CrmRead) {
            return Ok(row);
        }
        let parties: Vec<String> =
            sqlx::query_scalar("SELECT from_organisation_id FROM case_handoffs WHERE case_id = $1")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        if parties
            .iter()
            .any(|p| scope.permits(p, Permission::CrmRead))
        {
            Ok(row)
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// The id of the case with this number (`CASE-2026-00042`, any case, spaces ignored) when
    /// the caller may read it; `NotFound` otherwise, so numbers out of reach reveal nothing.
    pub async fn case_id_by_number(
        &self,
        scope: &Scope,
        number: &str,
    ) -> Result<String, StoreError> {
        let number: String = number
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        let id: Option<String> = sqlx::query_scalar("SELECT id FROM cases WHERE number = $1")
            .bind(&number)
            .fetch_optional(&self.pool)
            .await?;
        let id = id.ok_or(StoreError::NotFound)?;
        self.case_row(scope, &id).await?;
        Ok(id)
    }

    pub async fn get_case(
        &self,
        scope: &Scope,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        let row = self.case_row(scope, id).await?;
        self.case_from_row(row, now).await
    }

    pub async fn case_events(&self, scope: &Scope, id: &str) -> Result<Vec<CaseEvent>, StoreError> {
        self.case_row(scope, id).await?;
        self.events_of(id).await
    }

    /// The inbox: active cases in reach, the most urgent first (breached, at risk, then by due
    /// time). Reading it also applies the SLA rules: a timer newly at risk escalates its case,
    /// a newly breached one is recorded.
    pub async fn inbox(
        &self,
        scope: &Scope,
        filter: InboxFilter,
        now: OffsetDateTime,
    ) -> Result<Vec<Case>, StoreError> {
        let orgs = scope.orgs_with(Permission::CrmRead);
        let n = orgs.len();
        let extra = match filter {
            InboxFilter::All => String::new(),
            InboxFilter::Mine => format!(" AND c.owner_user_id = ${}", n + 1),
            InboxFilter::Escalated => " AND c.escalated_at IS NOT NULL".to_string(),
        };
        let sql = format!(
            "{CASE_SELECT} WHERE c.organisation_id IN ({}) AND c.status IN ('new', 'open', 'waiting-for-customer'){extra} ORDER BY c.created_at LIMIT 500",
            placeholders(1, n)
        );
        let mut q = sqlx::query_as::<_, CaseRow>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        if filter == InboxFilter::Mine {
            q = q.bind(scope.user_id());
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut cases = Vec::with_capacity(rows.len());
        for row in rows {
            let (fr_breached, res_breached, escalated) = (
                row.first_response_breached_at.is_some(),
                row.resolution_breached_at.is_some(),
                row.escalated_at.is_some(),
            );
            let case = self.case_from_row(row, now).await?;
            self.apply_sla_rules(&case, fr_breached, res_breached, escalated, now)
                .await?;
            cases.push(case);
        }
        let rank = |t: Timer| match t {
            Timer::Breached => 0,
            Timer::AtRisk => 1,
            Timer::Running => 2,
            Timer::Paused => 3,
            Timer::Met => 4,
        };
        cases.sort_by(|a, b| {
            let ka = (
                rank(a.first_response.state).min(rank(a.resolution.state)),
                a.resolution.due_at,
            );
            let kb = (
                rank(b.first_response.state).min(rank(b.resolution.state)),
                b.resolution.due_at,
            );
            ka.cmp(&kb)
        });
        Ok(cases)
    }

    async fn apply_sla_rules(
        &self,
        c: &Case,
        fr_breached: bool,
        res_breached: bool,
        escalated: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut changed = false;
        for (timer, already, column, label) in [
            (
                &c.first_response,
                fr_breached,
                "first_response_breached_at",
                "first response",
            ),
            (
                &c.resolution,
                res_breached,
                "resolution_breached_at",
                "resolution",
            ),
        ] {
            if timer.state == Timer::Breached && !already {
                let sql =
                    format!("UPDATE cases SET {column} = $1 WHERE id = $2 AND {column} IS NULL");
                let done = sqlx::query(&sql)
                    .bind(micros(now))
                    .bind(&c.id)
                    .execute(&mut *tx)
                    .await?;
                // Two readers at once record the breach once.
                if done.rows_affected() == 0 {
                    continue;
                }
                event(
                    &mut tx,
                    &c.id,
                    "breach",
                    None,
                    Some(format!(
                        "The {label} target of {} business minutes was missed",
                        timer.minutes
                    )),
                    None,
                    now,
                )
                .await?;
                changed = true;
            }
        }
        let at_risk = [&c.first_response, &c.resolution]
            .iter()
            .any(|t| matches!(t.state, Timer::AtRisk | Timer::Breached));
        if at_risk && !escalated {
            sqlx::query("UPDATE cases SET escalated_at = $1, escalation_reason = 'sla-at-risk' WHERE id = $2 AND escalated_at IS NULL")
                .bind(micros(now))
                .bind(&c.id)
                .execute(&mut *tx)
                .await?;
            event(
                &mut tx,
                &c.id,
                "escalated",
                None,
                Some("sla-at-risk: the SLA is close to breaching".into()),
                None,
                now,
            )
            .await?;
            changed = true;
        }
        if changed {
            tx.commit().await?;
        }
        Ok(())
    }

    pub(crate) async fn writable_case(
        &self,
        scope: &Scope,
        id: &str,
    ) -> Result<CaseRow, StoreError> {
        let row = self.case_row(scope, id).await?;
        scope.require(&row.organisation_id, Permission::CrmWrite)?;
        Ok(row)
    }

    /// An internal note (only colleagues see it) or a message to the customer (which counts as
    /// the first response and opens a new case).
    pub async fn add_case_message(
        &self,
        scope: &Scope,
        id: &str,
        body: &str,
        to_customer: bool,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        let row = self.writable_case(scope, id).await?;
        let body = text_block("body", body, 1, 10_000).map_err(ValidationErrors::from)?;
        let mut tx = self.pool.begin().await?;
        event(
            &mut tx,
            id,
            if to_customer { "message" } else { "note" },
            None,
            Some(body.clone()),
            Some(scope.user_id()),
            now,
        )
        .await?;
        if let (true, Some(customer_id)) = (to_customer, &row.customer_id) {
            // The message goes to the customer through the outbox, in the same transaction.
            let seq: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM case_events WHERE case_id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            crate::notify::enqueue(
                &mut tx,
                self.public_url(),
                &crate::notify::Notice {
                    event: aftersales_domain::notify::Event::CaseMessage,
                    ro: None,
                    case_id: Some(id),
                    dedupe: format!("case:{id}:message:{seq}"),
                    extra: Vec::new(),
                    place: None,
                    message: Some(body),
                    calendar: None,
                    delay: Duration::ZERO,
                },
                &crate::workshop::RoContext {
                    org_id: row.organisation_id.clone(),
                    org_name: row.organisation_name.clone(),
                    customer_id: customer_id.clone(),
                    number: row.number.clone(),
                    token: String::new(),
                    vehicle: row.vehicle_label.clone().unwrap_or_default(),
                    eta: None,
                },
                now,
            )
            .await?;
        }
        if to_customer {
            sqlx::query("UPDATE cases SET first_responded_at = COALESCE(first_responded_at, $1), updated_at = $1, version = version + 1 WHERE id = $2")
                .bind(micros(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if row.status == "new" {
                sqlx::query("UPDATE cases SET status = 'open' WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                event(
                    &mut tx,
                    id,
                    "status",
                    Some(Status::Open),
                    None,
                    Some(scope.user_id()),
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.get_case(scope, id, now).await
    }

    /// Moves a case along its status machine, guarded by its version.
    pub async fn set_case_status(
        &self,
        scope: &Scope,
        id: &str,
        next: Status,
        expected_version: i64,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        let row = self.writable_case(scope, id).await?;
        let current = Status::parse("status", &row.status).unwrap_or(Status::Open);
        if !current.may_become(next) {
            return Err(ValidationErrors::single(
                "status",
                Rule::NotAllowed,
                format!(
                    "a {} case cannot become {}",
                    current.as_str(),
                    next.as_str()
                ),
            )
            .into());
        }
        let resolved_at = match next {
            Status::Resolved => Some(micros(now)),
            Status::Closed => row.resolved_at,
            _ => None,
        };
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE cases SET status = $1, resolved_at = $2, updated_at = $3, version = version + 1 WHERE id = $4 AND version = $5")
            .bind(next.as_str())
            .bind(resolved_at)
            .bind(micros(now))
            .bind(id)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict {
                current: row.version,
            });
        }
        event(
            &mut tx,
            id,
            "status",
            Some(next),
            None,
            Some(scope.user_id()),
            now,
        )
        .await?;
        if matches!(next, Status::Resolved | Status::Closed) {
            on_customer_timeline(
                &mut tx,
                &row,
                format!("{} {}", row.number, next.as_str()),
                Some(scope.user_id()),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.get_case(scope, id, now).await
    }

    /// Escalates a case to the service manager in one action.
    pub async fn escalate_case(
        &self,
        scope: &Scope,
        id: &str,
        note: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        let row = self.writable_case(scope, id).await?;
        if row.escalated_at.is_some() {
            return Err(ValidationErrors::single(
                "id",
                Rule::NotAllowed,
                "the case is escalated already",
            )
            .into());
        }
        let note = note
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| text_block("note", n, 1, 2000))
            .transpose()
            .map_err(ValidationErrors::from)?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE cases SET escalated_at = $1, escalation_reason = 'manual', updated_at = $1, version = version + 1 WHERE id = $2")
            .bind(micros(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            id,
            "escalated",
            None,
            Some(match note {
                Some(n) => format!("manual: {n}"),
                None => "manual".into(),
            }),
            Some(scope.user_id()),
            now,
        )
        .await?;
        on_customer_timeline(
            &mut tx,
            &row,
            format!("{} escalated to the service manager", row.number),
            Some(scope.user_id()),
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_case(scope, id, now).await
    }

    /// Makes the caller the case's owner.
    pub async fn take_case(
        &self,
        scope: &Scope,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        self.writable_case(scope, id).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE cases SET owner_user_id = $1, updated_at = $2, version = version + 1 WHERE id = $3")
            .bind(scope.user_id())
            .bind(micros(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            id,
            "assigned",
            None,
            None,
            Some(scope.user_id()),
            now,
        )
        .await?;
        tx.commit().await?;
        self.get_case(scope, id, now).await
    }

    /// Cases of a customer, newest first.
    pub async fn cases_of_customer(
        &self,
        scope: &Scope,
        customer_id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Case>, StoreError> {
        self.get_customer(scope, customer_id).await?;
        let sql =
            format!("{CASE_SELECT} WHERE c.customer_id = $1 ORDER BY c.created_at DESC LIMIT 100");
        let rows = sqlx::query_as::<_, CaseRow>(&sql)
            .bind(customer_id)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for r in rows {
            if self.case_row(scope, &r.id).await.is_ok() {
                out.push(self.case_from_row(r, now).await?);
            }
        }
        Ok(out)
    }

    // ------------------------------------------------------------ follow-up tasks

    /// A follow-up ("call the customer back on Tuesday") for the caller or a colleague.
    pub async fn add_task(
        &self,
        scope: &Scope,
        case_id: &str,
        title: &str,
        due_at: OffsetDateTime,
        assignee: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Task, StoreError> {
        let row = self.writable_case(scope, case_id).await?;
        let title = text("title", title, 3, 200).map_err(ValidationErrors::from)?;
        let assignee = assignee
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .unwrap_or(scope.user_id())
            .to_string();
        if assignee != scope.user_id() {
            let visible = self.get_user(scope, &assignee).await.is_ok();
            if !visible {
                return Err(ValidationErrors::single(
                    "assignee_user_id",
                    Rule::Unknown,
                    "assignee_user_id names no colleague you can see",
                )
                .into());
            }
        }
        let id = new_id();
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO case_tasks (id, case_id, title, due_at, assignee_user_id, done_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)")
            .bind(&id)
            .bind(case_id)
            .bind(&title)
            .bind(micros(due_at))
            .bind(&assignee)
            .bind(scope.user_id())
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            case_id,
            "task",
            None,
            Some(format!("Follow-up: {title}")),
            Some(scope.user_id()),
            now,
        )
        .await?;
        on_customer_timeline(
            &mut tx,
            &row,
            format!("{} follow-up: {title}", row.number),
            Some(scope.user_id()),
            now,
        )
        .await?;
        tx.commit().await?;
        self.task(&id).await
    }

    async fn task(&self, id: &str) -> Result<Task, StoreError> {
        type Row = (
            String,
            String,
            String,
            String,
            i64,
            String,
            String,
            Option<i64>,
        );
        let r: Row = sqlx::query_as(
            "SELECT t.id, t.case_id, c.number, t.title, t.due_at, t.assignee_user_id, u.display_name, t.done_at FROM case_tasks t \
             JOIN cases c ON c.id = t.case_id JOIN users u ON u.id = t.assignee_user_id WHERE t.id = $1",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Task {
            id: r.0,
            case_id: r.1,
            case_number: r.2,
            title: r.3,
            due_at: from_micros(r.4),
            assignee: Ref {
                id: r.5,
                label: r.6,
            },
            done_at: r.7.map(from_micros),
        })
    }

    /// The caller's open follow-ups, soonest first.
    pub async fn my_tasks(&self, scope: &Scope) -> Result<Vec<Task>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM case_tasks WHERE assignee_user_id = $1 AND done_at IS NULL ORDER BY due_at")
            .bind(scope.user_id())
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for id in ids {
            let task = self.task(&id).await?;
            // A case handed out of the caller's reach takes its tasks with it.
            if self.case_row(scope, &task.case_id).await.is_ok() {
                out.push(task);
            }
        }
        Ok(out)
    }

    /// Tasks of a case.
    pub async fn case_tasks(&self, scope: &Scope, case_id: &str) -> Result<Vec<Task>, StoreError> {
        self.case_row(scope, case_id).await?;
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM case_tasks WHERE case_id = $1 ORDER BY due_at")
                .bind(case_id)
                .fetch_all(&self.pool)
                .await?;
        let mut out = Vec::new();
        for id in ids {
            out.push(self.task(&id).await?);
        }
        Ok(out)
    }

    pub async fn complete_task(
        &self,
        scope: &Scope,
        task_id: &str,
        now: OffsetDateTime,
    ) -> Result<Task, StoreError> {
        let case_id: Option<String> =
            sqlx::query_scalar("SELECT case_id FROM case_tasks WHERE id = $1")
                .bind(task_id)
                .fetch_optional(&self.pool)
                .await?;
        let case_id = case_id.ok_or(StoreError::NotFound)?;
        self.writable_case(scope, &case_id).await?;
        sqlx::query("UPDATE case_tasks SET done_at = $1 WHERE id = $2 AND done_at IS NULL")
            .bind(micros(now))
            .bind(task_id)
            .execute(&self.pool)
            .await?;
        self.task(task_id).await
    }
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

impl Store {
    /// The nearest working procedure for `category` at or above the intake organisation, when it
    /// names another party.
    pub(crate) async fn route_for(
        &self,
        intake_org: &str,
        category: Category,
    ) -> Result<Option<RouteMatch>, StoreError> {
        type Row = (String, String, String, Option<i64>, Option<i64>);
        let row: Option<Row> = sqlx::query_as(
            "WITH RECURSIVE up(id, parent_id, depth) AS ( \
                SELECT id, parent_id, 0 FROM organisations WHERE id = $1 \
                UNION ALL SELECT p.id, p.parent_id, up.depth + 1 FROM organisations p JOIN up ON p.id = up.parent_id \
             ) SELECT r.id, r.target_organisation_id, t.name, r.first_response_minutes, r.resolution_minutes \
             FROM routing_rules r JOIN up ON up.id = r.organisation_id JOIN organisations t ON t.id = r.target_organisation_id \
             WHERE r.category = $2 ORDER BY up.depth LIMIT 1",
        )
        .bind(intake_org)
        .bind(category.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.filter(|r| r.1 != intake_org).map(
            |(rule_id, target, target_name, first_response, resolution)| RouteMatch {
                rule_id,
                target,
                target_name,
                first_response,
                resolution,
            },
        ))
    }

    /// Sets the working procedure of an organisation the caller administers: cases of `category`
    /// taken in at or below it go to `target` (a party in the same brand), optionally with that
    /// party's own SLA targets.
    pub async fn set_routing_rule(
        &self,
        scope: &Scope,
        org_id: &str,
        category: Category,
        target: &str,
        targets: Option<(i64, i64)>,
        now: OffsetDateTime,
    ) -> Result<RoutingRule, StoreError> {
        scope.require(org_id, Permission::OrgManage)?;
        let brands: Vec<(String, String)> =
            sqlx::query_as("SELECT id, brand_id FROM organisations WHERE id = $1 OR id = $2")
                .bind(org_id)
                .bind(target)
                .fetch_all(&self.pool)
                .await?;
        let brand_of = |id: &str| brands.iter().find(|b| b.0 == id).map(|b| b.1.clone());
        if brand_of(target).is_none() || brand_of(target) != brand_of(org_id) {
            return Err(ValidationErrors::single(
                "target_organisation_id",
                Rule::Unknown,
                "the target must be an organisation of the same brand",
            )
            .into());
        }
        if let Some((f, r)) = targets {
            if !(1..=60 * 24 * 30).contains(&f) || !(f..=60 * 24 * 90).contains(&r) {
                return Err(ValidationErrors::single(
                    "resolution_minutes",
                    Rule::Format,
                    "targets must be positive, and resolution no shorter than first response",
                )
                .into());
            }
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM routing_rules WHERE organisation_id = $1 AND category = $2")
            .bind(org_id)
            .bind(category.as_str())
            .execute(&mut *tx)
            .await?;
        let id = new_id();
        sqlx::query(
            "INSERT INTO routing_rules (id, organisation_id, category, target_organisation_id, first_response_minutes, resolution_minutes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(category.as_str())
        .bind(target)
        .bind(targets.map(|t| t.0))
        .bind(targets.map(|t| t.1))
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.routing_rules(scope)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(StoreError::NotFound)
    }

    /// The working procedures that apply within the caller's reach (theirs and those above).
    pub async fn routing_rules(&self, scope: &Scope) -> Result<Vec<RoutingRule>, StoreError> {
        type Row = (
            String,
            String,
            String,
            String,
            String,
            String,
            Option<i64>,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT r.id, r.organisation_id, o.name, r.category, r.target_organisation_id, t.name, r.first_response_minutes, r.resolution_minutes \
             FROM routing_rules r JOIN organisations o ON o.id = r.organisation_id JOIN organisations t ON t.id = r.target_organisation_id ORDER BY o.name, r.category",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter(|r| scope.permits_record(&r.1, Permission::CrmRead))
            .map(
                |(id, org, org_name, category, target, target_name, f, res)| RoutingRule {
                    id,
                    organisation: Ref {
                        id: org,
                        label: org_name,
                    },
                    category: Category::parse("category", &category).unwrap_or(Category::Other),
                    target: Ref {
                        id: target,
                        label: target_name,
                    },
                    first_response_minutes: f,
                    resolution_minutes: res,
                },
            )
            .collect())
    }

    /// The hand-offs of a case, oldest first.
    pub async fn case_handoffs(
        &self,
        scope: &Scope,
        case_id: &str,
    ) -> Result<Vec<Handoff>, StoreError> {
        self.case_row(scope, case_id).await?;
        type Row = (
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT h.from_organisation_id, f.name, h.to_organisation_id, t.name, h.rule_id, h.note, h.at FROM case_handoffs h \
             JOIN organisations f ON f.id = h.from_organisation_id JOIN organisations t ON t.id = h.to_organisation_id \
             WHERE h.case_id = $1 ORDER BY h.at, h.id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(f, fname, t, tname, rule_id, note, at)| Handoff {
                from: Ref {
                    id: f,
                    label: fname,
                },
                to: Ref {
                    id: t,
                    label: tname,
                },
                rule_id,
                note,
                at: from_micros(at),
            })
            .collect())
    }

    /// Hands a case to another party by hand: one named by a working procedure within the
    /// caller's reach. The new party's SLA targets apply from now on.
    pub async fn hand_off_case(
        &self,
        scope: &Scope,
        case_id: &str,
        to: &str,
        note: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Case, StoreError> {
        let row = self.writable_case(scope, case_id).await?;
        let allowed = self
            .routing_rules(scope)
            .await?
            .into_iter()
            .any(|r| r.target.id == to);
        if !allowed || to == row.organisation_id {
            return Err(ValidationErrors::single(
                "to_organisation_id",
                Rule::NotAllowed,
                "hand cases only to a party a working procedure names",
            )
            .into());
        }
        let note = note
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| text_block("note", n, 1, 2000))
            .transpose()
            .map_err(ValidationErrors::from)?;
        let category = Category::parse("category", &row.category).unwrap_or(Category::Other);
        let priority = Priority::parse("priority", &row.priority).unwrap_or(Priority::Normal);
        let (fr, res) = self.policy_for(to, category, priority).await?;
        let to_name: String = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
            .bind(to)
            .fetch_one(&self.pool)
            .await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE cases SET organisation_id = $1, first_response_minutes = $2, resolution_minutes = $3, owner_user_id = NULL, \
             updated_at = $4, version = version + 1 WHERE id = $5",
        )
        .bind(to)
        .bind(fr)
        .bind(res)
        .bind(micros(now))
        .bind(case_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO case_handoffs (id, case_id, from_organisation_id, to_organisation_id, rule_id, note, actor_user_id, at) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6, $7)",
        )
        .bind(new_id())
        .bind(case_id)
        .bind(&row.organisation_id)
        .bind(to)
        .bind(note.clone())
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        event(
            &mut tx,
            case_id,
            "handoff",
            None,
            Some(format!(
                "Handed to {to_name}{}",
                note.map(|n| format!(": {n}")).unwrap_or_default()
            )),
            Some(scope.user_id()),
            now,
        )
        .await?;
        tx.commit().await?;
        // The party that handed it on keeps reading it (see `case_row`).
        self.get_case(scope, case_id, now).await
    }
}

impl crate::cli::Cli<'_> {
    /// The SLA sweep the server runs every minute: applies the SLA rules (breaches recorded,
    /// at-risk cases escalated) to every active case, whether or not anyone opens an inbox.
    /// Returns how many active cases were looked at.
    pub async fn sweep_sla(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let store = self.store();
        let sql = format!("{CASE_SELECT} WHERE c.status IN ('new', 'open', 'waiting-for-customer') ORDER BY c.created_at LIMIT 5000");
        let rows = sqlx::query_as::<_, CaseRow>(&sql)
            .fetch_all(&store.pool)
            .await?;
        let n = rows.len();
        for row in rows {
            let flags = (
                row.first_response_breached_at.is_some(),
                row.resolution_breached_at.is_some(),
                row.escalated_at.is_some(),
            );
            let case = store.case_from_row(row, now).await?;
            store
                .apply_sla_rules(&case, flags.0, flags.1, flags.2, now)
                .await?;
        }
        Ok(n)
    }
}

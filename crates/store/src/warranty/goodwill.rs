//! Goodwill by policy: the market's matrix (versioned JSON, the newest in force) proposes the
//! shares for a repair-order job from the car's age, km and the failed component; the person
//! deciding approves within their authority (or passes the request up with their shares), may
//! deviate from the proposal with a reason, and the approval splits the job's lines between
//! goodwill and the customer so the invoice shows the customer's share. Budgets per market and
//! quarter show what approvals committed and invoices spent. Rules: `domain::warranty::goodwill`.

use std::collections::BTreeMap;

use aftersales_domain::analysis::history::months_between;
use aftersales_domain::money::{line_total, Money};
use aftersales_domain::org::{Permission, Role};
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::warranty::goodwill::{
    self as rules, Band, ComponentGroup, GoodwillStatus, Policy,
};
use aftersales_domain::ValidationErrors;
use time::{Date, OffsetDateTime};

use super::{
    GoodwillBudget, GoodwillDecision, GoodwillEvent, GoodwillInput, GoodwillRequest, Warranty,
};
use crate::crm::parse_date;
use crate::db::placeholders;
use crate::error::StoreError;
use crate::scope::Scope;
use crate::{decode, from_micros, micros, new_id, Ref};
use aftersales_domain::money::parse_centi;

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    number: String,
    organisation_id: String,
    case_id: Option<String>,
    repair_order_id: Option<String>,
    job_id: Option<String>,
    policy_code: String,
    component_group: String,
    age_months: i64,
    odometer_km: i64,
    network_history: i64,
    first_owner: i64,
    parts_minor: i64,
    labour_minor: i64,
    currency: String,
    proposed_parts_pct: Option<i64>,
    proposed_labour_pct: Option<i64>,
    no_goodwill: Option<String>,
    parts_pct: i64,
    labour_pct: i64,
    brand_pct: i64,
    importer_pct: i64,
    dealer_pct: i64,
    deviation_reason: Option<String>,
    level: String,
    status: String,
    created_at: i64,
    version: i64,
}

const COLUMNS: &str = "id, number, organisation_id, case_id, repair_order_id, job_id, policy_code, component_group, \
    age_months, odometer_km, network_history, first_owner, parts_minor, labour_minor, currency, proposed_parts_pct, \
    proposed_labour_pct, no_goodwill, parts_pct, labour_pct, brand_pct, importer_pct, dealer_pct, deviation_reason, level, \
    status, created_at, version";

/// What a request is on.
enum On {
    Job {
        ro_id: String,
        job_id: String,
        number: String,
    },
    Case {
        case_id: String,
        number: String,
    },
}

impl On {
    fn field(&self) -> &'static str {
        match self {
            On::Job { .. } => "job_id",
            On::Case { .. } => "case_id",
        }
    }
    fn number(&self) -> &str {
        match self {
            On::Job { number, .. } | On::Case { number, .. } => number,
        }
    }
    fn repair_order(&self) -> Option<&str> {
        match self {
            On::Job { ro_id, .. } => Some(ro_id),
            On::Case { .. } => None,
        }
    }
    fn job(&self) -> Option<&str> {
        match self {
            On::Job { job_id, .. } => Some(job_id),
            On::Case { .. } => None,
        }
    }
    fn case(&self) -> Option<&str> {
        match self {
            On::Job { .. } => None,
            On::Case { case_id, .. } => Some(case_id),
        }
    }
}

struct Subject {
    org: String,
    market: String,
    vehicle_id: String,
    on: On,
    parts: i64,
    labour: i64,
}

/// A job with nothing the customer would pay has nothing for goodwill.
fn no_lines() -> FieldError {
    FieldError::new(
        "job_id",
        Rule::Required,
        "the job has no lines the customer would pay",
    )
    .hint("gw-err-no-lines")
}

/// The code of the published starting policy a market has until it keeps its own.
const PUBLISHED: &str = "standard-2026";

/// The quarter a day falls in: `2026-Q4`.
pub(crate) fn quarter(d: Date) -> String {
    format!("{}-Q{}", d.year(), (u8::from(d.month()) - 1) / 3 + 1)
}

fn shares_band(r: &Row) -> Band {
    Band {
        max_age_months: 0,
        max_km: 0,
        groups: Vec::new(),
        parts_pct: r.parts_pct,
        labour_pct: r.labour_pct,
        brand_pct: r.brand_pct,
        importer_pct: r.importer_pct,
        dealer_pct: r.dealer_pct,
    }
}

impl Warranty<'_> {
    /// The policy in force in a market: its newest version, else the published starting policy.
    async fn policy_of(self, market_id: &str) -> Result<Option<Policy>, StoreError> {
        Ok(Some(
            self.own_policy(market_id)
                .await?
                .unwrap_or_else(|| rules::published_policy(PUBLISHED)),
        ))
    }

    async fn own_policy(self, market_id: &str) -> Result<Option<Policy>, StoreError> {
        let body: Option<String> = sqlx::query_scalar(
            "SELECT body FROM goodwill_policies WHERE market_id = $1 ORDER BY created_at DESC, code DESC",
        )
        .bind(market_id)
        .fetch_optional(&self.store.pool)
        .await?;
        body.map(|b| {
            serde_json::from_str::<Policy>(&b).map_err(|e| {
                StoreError::Internal(format!("goodwill_policies.body does not read: {e}"))
            })
        })
        .transpose()
    }

    /// The caller's goodwill authority at an organisation: the largest of their roles there.
    fn authority_at(scope: &Scope, org: &str, currency: &str) -> Option<i64> {
        scope
            .roles_at(org)
            .into_iter()
            .flatten()
            .filter_map(|r| rules::authority(*r, currency))
            .max()
    }

    /// What a goodwill request is about: a repair-order job (its customer and goodwill lines are
    /// the amounts) or a case before the order exists (the estimate is the amounts).
    async fn goodwill_subject(
        self,
        scope: &Scope,
        input: &GoodwillInput,
        errs: &mut ValidationErrors,
    ) -> Result<Subject, StoreError> {
        let job_id = input
            .job_id
            .as_deref()
            .map(str::trim)
            .filter(|j| !j.is_empty());
        let case_id = input
            .case_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let (org, market, vehicle_id, subject) = match (job_id, case_id) {
            (Some(job), None) => {
                type JobRow = (String, String, Option<String>, String, Option<String>, i64);
                let row: Option<JobRow> = sqlx::query_as(
                    "SELECT j.repair_order_id, r.organisation_id, r.vehicle_id, r.number, o.market_id, j.position FROM ro_jobs j \
                     JOIN repair_orders r ON r.id = j.repair_order_id JOIN organisations o ON o.id = r.organisation_id WHERE j.id = $1",
                )
                .bind(job)
                .fetch_optional(&self.store.pool)
                .await?;
                let Some((ro_id, org, vehicle_id, ro_number, market, position)) = row else {
                    return Err(StoreError::NotFound);
                };
                (
                    org,
                    market,
                    vehicle_id,
                    On::Job {
                        ro_id,
                        job_id: job.to_string(),
                        number: format!("GW-{ro_number}-{position}"),
                    },
                )
            }
            (None, Some(case)) => {
                type CaseRow = (String, Option<String>, String, Option<String>);
                let row: Option<CaseRow> = sqlx::query_as(
                    "SELECT c.organisation_id, c.vehicle_id, c.number, o.market_id FROM cases c \
                     JOIN organisations o ON o.id = c.organisation_id WHERE c.id = $1",
                )
                .bind(case)
                .fetch_optional(&self.store.pool)
                .await?;
                let Some((org, vehicle_id, case_number, market)) = row else {
                    return Err(StoreError::NotFound);
                };
                let asked: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM goodwill_requests WHERE case_id = $1")
                        .bind(case)
                        .fetch_one(&self.store.pool)
                        .await?;
                (
                    org,
                    market,
                    vehicle_id,
                    On::Case {
                        case_id: case.to_string(),
                        number: format!("GW-{case_number}-{}", asked + 1),
                    },
                )
            }
            _ => {
                return Err(ValidationErrors::single(
                    "job_id",
                    Rule::Required,
                    "a goodwill request is for a repair-order job (job_id) or a case (case_id), one of the two",
                )
                .into())
            }
        };
        if !scope.permits(&org, Permission::CrmRead) {
            return Err(StoreError::NotFound);
        }
        scope.require(&org, Permission::WarrantyClaim)?;
        let whose = match subject {
            On::Job { .. } => "job_id",
            On::Case { .. } => "case_id",
        };
        let Some(market) = market else {
            return Err(ValidationErrors::single(
                whose,
                Rule::NotAllowed,
                "the service point belongs to no market with a goodwill policy",
            )
            .into());
        };
        let Some(vehicle_id) = vehicle_id else {
            return Err(ValidationErrors::from(
                FieldError::new(
                    whose,
                    Rule::NotAllowed,
                    "there is no car to give goodwill on",
                )
                .hint("gw-err-no-car"),
            )
            .into());
        };
        let (parts, labour) = match &subject {
            On::Job { job_id, .. } => {
                let taken: Option<String> =
                    sqlx::query_scalar("SELECT number FROM goodwill_requests WHERE job_id = $1")
                        .bind(job_id)
                        .fetch_optional(&self.store.pool)
                        .await?;
                if taken.is_some() {
                    errs.push(
                        FieldError::new(
                            "job_id",
                            Rule::Unique,
                            "this job already has a goodwill request",
                        )
                        .hint("gw-err-taken"),
                    );
                }
                let (parts, labour, lines) = self.job_amounts(job_id, true).await?;
                if lines == 0 {
                    errs.push(no_lines());
                }
                (parts, labour)
            }
            On::Case { case_id, .. } => {
                let open: Option<String> = sqlx::query_scalar(
                    "SELECT number FROM goodwill_requests WHERE case_id = $1 AND job_id IS NULL AND status <> 'rejected'",
                )
                .bind(case_id)
                .fetch_optional(&self.store.pool)
                .await?;
                if let Some(n) = open {
                    errs.push(
                        FieldError::new(
                            "case_id",
                            Rule::Unique,
                            format!("the case has goodwill request {n} not yet applied to a job"),
                        )
                        .hint("gw-err-case-taken"),
                    );
                }
                let amount = |name: &str, v: Option<&str>, errs: &mut ValidationErrors| match v
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                {
                    None => 0,
                    Some(v) => errs
                        .take(
                            parse_centi(name, v, 0, 100_000_000)
                                .map_err(|e| e.hint("gw-err-amount")),
                        )
                        .unwrap_or(0),
                };
                let parts = amount("parts_amount", input.parts_amount.as_deref(), errs);
                let labour = amount("labour_amount", input.labour_amount.as_deref(), errs);
                if parts + labour == 0 && errs.is_empty() {
                    errs.push(
                        FieldError::new(
                            "parts_amount",
                            Rule::Required,
                            "a request from a case needs the estimated parts or labour amount",
                        )
                        .hint("gw-err-estimate"),
                    );
                }
                (parts, labour)
            }
        };
        if matches!(subject, On::Job { .. })
            && (input.parts_amount.is_some() || input.labour_amount.is_some())
        {
            errs.push(FieldError::new(
                "parts_amount",
                Rule::NotAllowed,
                "a job's amounts are its lines; an estimate is for a case only",
            ));
        }
        Ok(Subject {
            org,
            market,
            vehicle_id,
            on: subject,
            parts,
            labour,
        })
    }

    /// Asks for goodwill on a repair-order job or a case (see [`GoodwillInput`]): the amounts
    /// (parts and sublet as parts, labour as labour), the car's age from its delivery day, its
    /// km, the component group; the market's policy proposes the shares, and the amount decides
    /// the level whose authority it needs.
    pub async fn request_goodwill(
        self,
        scope: &Scope,
        input: &GoodwillInput,
        now: OffsetDateTime,
    ) -> Result<GoodwillRequest, StoreError> {
        let mut errs = ValidationErrors::default();
        let Subject {
            org,
            market,
            vehicle_id,
            on,
            parts,
            labour,
        } = self.goodwill_subject(scope, input, &mut errs).await?;
        let group = errs.take(ComponentGroup::parse(
            "component_group",
            &input.component_group,
        ));
        let note = input
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
            errs.push(FieldError::new(
                "note",
                Rule::TooLong,
                "note must be at most 2000 characters",
            ));
        }
        let v = self.store.crm().get_vehicle(scope, &vehicle_id).await?;
        let delivered = v
            .delivery_date
            .as_deref()
            .and_then(|d| parse_date("delivery_date", d).ok());
        let Some(delivered) = delivered else {
            return Err(ValidationErrors::from(
                FieldError::new(
                    on.field(),
                    Rule::NotAllowed,
                    "the car has no delivery day: its age decides goodwill",
                )
                .hint("gw-err-no-delivery"),
            )
            .into());
        };
        let km = input
            .odometer_km
            .or_else(|| v.odometer.first().map(|r| r.km));
        match km {
            Some(k) if (0..=2_000_000).contains(&k) => {}
            _ => errs.push(
                FieldError::new("odometer_km", Rule::Required, "the car's km is needed")
                    .hint("wc-err-odometer"),
            ),
        }
        let policy = self
            .policy_of(&market)
            .await?
            .unwrap_or_else(|| rules::published_policy(PUBLISHED));
        errs.into_result()?;
        let (Some(group), Some(km)) = (group, km) else {
            return Err(StoreError::Internal("checked above".into()));
        };
        let owners: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM vehicle_ownerships WHERE vehicle_id = $1")
                .bind(&vehicle_id)
                .fetch_one(&self.store.pool)
                .await?;
        let serviced: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM repair_orders WHERE vehicle_id = $1 AND id <> $2 AND status IN ('delivered', 'closed')",
        )
        .bind(&vehicle_id)
        .bind(on.repair_order().unwrap_or(""))
        .fetch_one(&self.store.pool)
        .await?;
        let network_history = input.network_history.unwrap_or(serviced > 0);
        let first_owner = input.first_owner.unwrap_or(owners <= 1);
        let age = months_between(delivered, now.date()).max(0);
        let band = rules::band_for(
            &policy,
            u32::try_from(age).unwrap_or(u32::MAX),
            km,
            group,
            network_history,
            first_owner,
        );
        let (proposed, no_goodwill, shares) = match band {
            Ok(b) => (Some((b.parts_pct, b.labour_pct)), None, b.clone()),
            Err(why) => (
                None,
                Some(why.as_str()),
                policy.bands.first().cloned().unwrap_or(Band {
                    max_age_months: 0,
                    max_km: 0,
                    groups: Vec::new(),
                    parts_pct: 0,
                    labour_pct: 0,
                    brand_pct: 60,
                    importer_pct: 25,
                    dealer_pct: 15,
                }),
            ),
        };
        let (pp, lp) = proposed.unwrap_or((0, 0));
        let split = rules::split(parts, labour, pp, lp, &shares);
        let currency = self.store.workshop().currency_of(&org).await?;
        let level = rules::level_for(split.goodwill, &currency);
        let id = new_id();
        let at = micros(now);
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "INSERT INTO goodwill_requests (id, number, organisation_id, market_id, repair_order_id, job_id, vehicle_id, policy_code, \
             component_group, age_months, odometer_km, network_history, first_owner, parts_minor, labour_minor, currency, \
             proposed_parts_pct, proposed_labour_pct, no_goodwill, parts_pct, labour_pct, brand_pct, importer_pct, dealer_pct, \
             deviation_reason, goodwill_minor, customer_minor, level, status, period, created_by, created_at, updated_at, version, case_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, \
             NULL, $25, $26, $27, 'pending', NULL, $28, $29, $29, 1, $30) ON CONFLICT DO NOTHING",
        )
        .bind(&id)
        .bind(on.number())
        .bind(&org)
        .bind(&market)
        .bind(on.repair_order())
        .bind(on.job())
        .bind(&vehicle_id)
        .bind(&policy.code)
        .bind(group.as_str())
        .bind(age)
        .bind(km)
        .bind(i64::from(network_history))
        .bind(i64::from(first_owner))
        .bind(parts)
        .bind(labour)
        .bind(&currency)
        .bind(proposed.map(|p| p.0))
        .bind(proposed.map(|p| p.1))
        .bind(no_goodwill)
        .bind(pp)
        .bind(lp)
        .bind(shares.brand_pct)
        .bind(shares.importer_pct)
        .bind(shares.dealer_pct)
        .bind(split.goodwill)
        .bind(split.customer)
        .bind(level.as_str())
        .bind(scope.user_id())
        .bind(at)
        .bind(on.case())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ValidationErrors::from(
                FieldError::new(
                    on.field(),
                    Rule::Unique,
                    "this already has a goodwill request",
                )
                .hint("gw-err-taken"),
            )
            .into());
        }
        Self::event(
            &mut tx,
            &id,
            scope,
            None,
            "request",
            Some((pp, lp)),
            note.as_deref(),
            at,
        )
        .await?;
        tx.commit().await?;
        self.goodwill_request(scope, &id).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn event(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        id: &str,
        scope: &Scope,
        role: Option<Role>,
        action: &str,
        pcts: Option<(i64, i64)>,
        note: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO goodwill_events (id, request_id, at, actor_id, role, action, parts_pct, labour_pct, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new_id())
        .bind(id)
        .bind(at)
        .bind(scope.user_id())
        .bind(role.map(Role::as_str))
        .bind(action)
        .bind(pcts.map(|p| p.0))
        .bind(pcts.map(|p| p.1))
        .bind(note)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// A request the caller sees warranty matters of (else not found).
    async fn visible_row(self, scope: &Scope, id: &str) -> Result<Row, StoreError> {
        match self.goodwill_row(id).await? {
            Some(r) if scope.permits(&r.organisation_id, Permission::WarrantyRead) => Ok(r),
            _ => Err(StoreError::NotFound),
        }
    }

    async fn goodwill_row(self, id: &str) -> Result<Option<Row>, StoreError> {
        Ok(sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM goodwill_requests WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.store.pool)
        .await?)
    }

    async fn view(self, scope: &Scope, r: Row) -> Result<GoodwillRequest, StoreError> {
        let status = decode(
            "goodwill_requests",
            "status",
            &r.status,
            GoodwillStatus::parse,
        )?;
        let level = decode("goodwill_requests", "level", &r.level, |f, s| {
            Role::parse(f, s)
        })?;
        let group = decode(
            "goodwill_requests",
            "component_group",
            &r.component_group,
            ComponentGroup::parse,
        )?;
        let split = rules::split(
            r.parts_minor,
            r.labour_minor,
            r.parts_pct,
            r.labour_pct,
            &shares_band(&r),
        );
        type Names = (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let (org_name, ro_number, job_title, case_number, vin): Names = sqlx::query_as(
            "SELECT o.name, ro.number, j.title, c.number, v.vin FROM goodwill_requests g JOIN organisations o ON o.id = g.organisation_id \
             LEFT JOIN repair_orders ro ON ro.id = g.repair_order_id LEFT JOIN ro_jobs j ON j.id = g.job_id \
             LEFT JOIN cases c ON c.id = g.case_id LEFT JOIN vehicles v ON v.id = g.vehicle_id WHERE g.id = $1",
        )
        .bind(&r.id)
        .fetch_one(&self.store.pool)
        .await?;
        let apply_to = match (&r.case_id, &r.job_id) {
            (Some(case), None)
                if status == GoodwillStatus::Approved
                    && scope.permits(&r.organisation_id, Permission::WarrantyClaim) =>
            {
                self.jobs_to_apply(case).await?
            }
            _ => Vec::new(),
        };
        type Ev = (
            i64,
            Option<String>,
            Option<String>,
            String,
            Option<i64>,
            Option<i64>,
            Option<String>,
        );
        let rows: Vec<Ev> = sqlx::query_as(
            "SELECT e.at, u.display_name, e.role, e.action, e.parts_pct, e.labour_pct, e.note FROM goodwill_events e \
             LEFT JOIN users u ON u.id = e.actor_id WHERE e.request_id = $1 ORDER BY e.at, e.id",
        )
        .bind(&r.id)
        .fetch_all(&self.store.pool)
        .await?;
        let mut events = Vec::with_capacity(rows.len());
        for (at, actor, role, action, pp, lp, note) in rows {
            events.push(GoodwillEvent {
                at: from_micros(at),
                actor,
                role: role
                    .map(|x| decode("goodwill_events", "role", &x, Role::parse))
                    .transpose()?,
                action,
                parts_pct: pp,
                labour_pct: lp,
                note,
            });
        }
        let authority = Self::authority_at(scope, &r.organisation_id, &r.currency);
        let cur = r.currency.clone();
        let m = |v: i64| Money::new(v, &cur);
        Ok(GoodwillRequest {
            may_decide: status == GoodwillStatus::Pending && authority.is_some(),
            authority: authority.filter(|a| *a < i64::MAX).map(m),
            organisation: Ref {
                id: r.organisation_id.clone(),
                label: org_name,
            },
            case: r
                .case_id
                .clone()
                .zip(case_number)
                .map(|(id, label)| Ref { id, label }),
            repair_order: r
                .repair_order_id
                .clone()
                .zip(ro_number)
                .map(|(id, label)| Ref { id, label }),
            job_title,
            apply_to,
            vin,
            policy: r.policy_code,
            component_group: group,
            age_months: r.age_months,
            odometer_km: r.odometer_km,
            network_history: r.network_history != 0,
            first_owner: r.first_owner != 0,
            parts: m(r.parts_minor),
            labour: m(r.labour_minor),
            proposed_parts_pct: r.proposed_parts_pct,
            proposed_labour_pct: r.proposed_labour_pct,
            no_goodwill: r.no_goodwill,
            parts_pct: r.parts_pct,
            labour_pct: r.labour_pct,
            brand_pct: r.brand_pct,
            importer_pct: r.importer_pct,
            dealer_pct: r.dealer_pct,
            deviation_reason: r.deviation_reason,
            goodwill: m(split.goodwill),
            customer: m(split.customer),
            split,
            level,
            status,
            events,
            created_at: from_micros(r.created_at),
            version: r.version,
            id: r.id,
            number: r.number,
            job_id: r.job_id,
            currency: r.currency,
        })
    }

    /// One goodwill request, for those who see warranty matters at its service point.
    pub async fn goodwill_request(
        self,
        scope: &Scope,
        id: &str,
    ) -> Result<GoodwillRequest, StoreError> {
        let r = self.visible_row(scope, id).await?;
        self.view(scope, r).await
    }

    /// The goodwill requests the caller sees, pending first; with `pending_mine` only those the
    /// caller may decide now; of one repair order or one case when given.
    pub async fn goodwill_requests(
        self,
        scope: &Scope,
        pending_mine: bool,
        repair_order_id: Option<&str>,
        case_id: Option<&str>,
    ) -> Result<Vec<GoodwillRequest>, StoreError> {
        scope.require_somewhere(Permission::WarrantyRead)?;
        let orgs = scope.orgs_with(Permission::WarrantyRead);
        let mut sql = format!(
            "SELECT {COLUMNS} FROM goodwill_requests WHERE organisation_id IN ({})",
            placeholders(1, orgs.len())
        );
        if repair_order_id.is_some() {
            sql.push_str(&format!(" AND repair_order_id = ${}", orgs.len() + 1));
        }
        if case_id.is_some() {
            let n = orgs.len() + 1 + usize::from(repair_order_id.is_some());
            sql.push_str(&format!(" AND case_id = ${n}"));
        }
        sql.push_str(
            " ORDER BY CASE WHEN status = 'pending' THEN 0 ELSE 1 END, updated_at DESC LIMIT 200",
        );
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        if let Some(ro) = repair_order_id {
            q = q.bind(ro);
        }
        if let Some(case) = case_id {
            q = q.bind(case);
        }
        let mut out = Vec::new();
        for r in q.fetch_all(&self.store.pool).await? {
            let v = self.view(scope, r).await?;
            if pending_mine && !v.may_decide {
                continue;
            }
            out.push(v);
        }
        Ok(out)
    }

    /// Decides a goodwill request (`version` as read): reject, or approve at the proposal or at
    /// other shares with a reason. Within the decider's authority the approval splits the job's
    /// lines (goodwill pays its share of each unit price, the customer the rest) and commits the
    /// quarter's budget; above it the request goes up a level with the decider's shares.
    pub async fn decide_goodwill(
        self,
        scope: &Scope,
        id: &str,
        version: i64,
        input: &GoodwillDecision,
        now: OffsetDateTime,
    ) -> Result<GoodwillRequest, StoreError> {
        let r = self.visible_row(scope, id).await?;
        let Some(authority) = Self::authority_at(scope, &r.organisation_id, &r.currency) else {
            return Err(StoreError::Forbidden(
                "deciding goodwill needs a service manager, importer staff, a market manager or a warranty administrator".into(),
            ));
        };
        let role = scope
            .roles_at(&r.organisation_id)
            .into_iter()
            .flatten()
            .copied()
            .max_by_key(|x| rules::authority(*x, &r.currency).unwrap_or(-1));
        let status = decode(
            "goodwill_requests",
            "status",
            &r.status,
            GoodwillStatus::parse,
        )?;
        let mut errs = ValidationErrors::default();
        if status != GoodwillStatus::Pending {
            errs.push(
                FieldError::new("action", Rule::NotAllowed, "the request has been decided")
                    .hint("gw-err-decided"),
            );
        }
        let note = input
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        let reason = input
            .deviation_reason
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        for (name, v) in [
            ("parts_pct", input.parts_pct),
            ("labour_pct", input.labour_pct),
        ] {
            if v.is_some_and(|v| !(0..=100).contains(&v)) {
                errs.push(
                    FieldError::new(
                        name,
                        Rule::NotAllowed,
                        format!("{name} lies between 0 and 100"),
                    )
                    .hint("gw-err-pct"),
                );
            }
        }
        let action = input.action.trim();
        if !matches!(action, "approve" | "reject") {
            errs.push(FieldError::new(
                "action",
                Rule::OneOf,
                "action must be one of approve, reject",
            ));
        }
        let pp = input.parts_pct.unwrap_or(r.parts_pct);
        let lp = input.labour_pct.unwrap_or(r.labour_pct);
        let proposed = (
            r.proposed_parts_pct.unwrap_or(0),
            r.proposed_labour_pct.unwrap_or(0),
        );
        if action == "approve" && (pp, lp) != proposed && reason.is_none() {
            errs.push(
                FieldError::new(
                    "deviation_reason",
                    Rule::Required,
                    "shares other than the policy's proposal need a reason",
                )
                .hint("gw-err-deviation"),
            );
        }
        if action == "reject" && note.is_none() {
            errs.push(
                FieldError::new("note", Rule::Required, "say why goodwill is refused")
                    .hint("gw-err-reject-note"),
            );
        }
        errs.into_result()?;
        let mut shares = shares_band(&r);
        shares.parts_pct = pp;
        shares.labour_pct = lp;
        let split = rules::split(r.parts_minor, r.labour_minor, pp, lp, &shares);
        let at = micros(now);
        let mut tx = self.store.begin().await?;
        let (next, event, level) = match action {
            "reject" => (
                GoodwillStatus::Rejected,
                "reject",
                rules::level_for(split.goodwill, &r.currency),
            ),
            _ if split.goodwill <= authority => (
                GoodwillStatus::Approved,
                "approve",
                rules::level_for(split.goodwill, &r.currency),
            ),
            _ => {
                // Above the decider's authority: the next level that covers the amount decides.
                (
                    GoodwillStatus::Pending,
                    "recommend",
                    rules::level_for(split.goodwill, &r.currency),
                )
            }
        };
        let done = sqlx::query(
            "UPDATE goodwill_requests SET status = $1, parts_pct = $2, labour_pct = $3, deviation_reason = COALESCE($4, deviation_reason), \
             goodwill_minor = $5, customer_minor = $6, level = $7, period = $8, updated_at = $9, version = version + 1 \
             WHERE id = $10 AND version = $11 AND status = 'pending'",
        )
        .bind(next.as_str())
        .bind(pp)
        .bind(lp)
        .bind(&reason)
        .bind(split.goodwill)
        .bind(split.customer)
        .bind(level.as_str())
        .bind((next == GoodwillStatus::Approved).then(|| quarter(now.date())))
        .bind(at)
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict { current: r.version });
        }
        // A request from a case splits the lines when it is applied to a job.
        if let (GoodwillStatus::Approved, Some(job)) = (next, &r.job_id) {
            self.split_lines(&mut tx, job, pp, lp, now).await?;
        }
        Self::event(
            &mut tx,
            id,
            scope,
            role,
            event,
            Some((pp, lp)),
            note.as_deref(),
            at,
        )
        .await?;
        tx.commit().await?;
        self.goodwill_request(scope, id).await
    }

    /// What a job's lines the customer would pay (with those already goodwill when `with_goodwill`)
    /// come to: parts (and sublet), labour, and how many lines.
    async fn job_amounts(
        self,
        job_id: &str,
        with_goodwill: bool,
    ) -> Result<(i64, i64, usize), StoreError> {
        let lines: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT kind, quantity_centi, unit_price_minor FROM ro_lines WHERE job_id = $1 \
             AND (pay_type = 'customer' OR (pay_type = 'goodwill' AND $2 = 1))",
        )
        .bind(job_id)
        .bind(i64::from(with_goodwill))
        .fetch_all(&self.store.pool)
        .await?;
        let (mut parts, mut labour) = (0_i64, 0_i64);
        for (kind, q, p) in &lines {
            if kind == "labour" {
                labour += line_total(*p, *q);
            } else {
                parts += line_total(*p, *q);
            }
        }
        Ok((parts, labour, lines.len()))
    }

    /// The jobs of a case's repair orders (not cancelled) that have no goodwill request yet.
    async fn jobs_to_apply(self, case_id: &str) -> Result<Vec<Ref>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT j.id, r.number, j.title FROM ro_jobs j JOIN repair_orders r ON r.id = j.repair_order_id \
             WHERE r.case_id = $1 AND r.status <> 'cancelled' \
             AND NOT EXISTS (SELECT 1 FROM goodwill_requests g WHERE g.job_id = j.id) ORDER BY r.created_at, j.position",
        )
        .bind(case_id)
        .fetch_all(&self.store.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, number, title)| Ref {
                id,
                label: format!("{number} · {title}"),
            })
            .collect())
    }

    /// Applies an approved goodwill request from a case to a job of the case's repair order
    /// (`version` as read): the job's customer lines become the amounts, split at the approved
    /// shares. Goodwill above what was approved is refused (ask again on the job), so the
    /// decision's authority holds.
    pub async fn apply_goodwill(
        self,
        scope: &Scope,
        id: &str,
        version: i64,
        job_id: &str,
        now: OffsetDateTime,
    ) -> Result<GoodwillRequest, StoreError> {
        let r = self.visible_row(scope, id).await?;
        scope.require(&r.organisation_id, Permission::WarrantyClaim)?;
        let status = decode(
            "goodwill_requests",
            "status",
            &r.status,
            GoodwillStatus::parse,
        )?;
        let Some(case) = r.case_id.clone().filter(|_| r.job_id.is_none()) else {
            return Err(ValidationErrors::from(
                FieldError::new(
                    "job_id",
                    Rule::NotAllowed,
                    "only a request from a case that is not applied yet is applied to a job",
                )
                .hint("gw-err-applied"),
            )
            .into());
        };
        if status != GoodwillStatus::Approved {
            return Err(ValidationErrors::from(
                FieldError::new(
                    "job_id",
                    Rule::NotAllowed,
                    "a request is applied once it is approved",
                )
                .hint("gw-err-not-approved"),
            )
            .into());
        }
        if !self
            .jobs_to_apply(&case)
            .await?
            .iter()
            .any(|j| j.id == job_id)
        {
            return Err(ValidationErrors::from(
                FieldError::new(
                    "job_id",
                    Rule::NotAllowed,
                    "the job is not one of the case's repair orders, or has goodwill already",
                )
                .hint("gw-err-not-case-job"),
            )
            .into());
        }
        let (parts, labour, lines) = self.job_amounts(job_id, false).await?;
        let split = rules::split(parts, labour, r.parts_pct, r.labour_pct, &shares_band(&r));
        let approved = rules::split(
            r.parts_minor,
            r.labour_minor,
            r.parts_pct,
            r.labour_pct,
            &shares_band(&r),
        );
        let mut errs = ValidationErrors::default();
        if lines == 0 {
            errs.push(no_lines());
        }
        if split.goodwill > approved.goodwill {
            errs.push(
                FieldError::new(
                    "job_id",
                    Rule::NotAllowed,
                    "the job's goodwill is above what was approved: ask for goodwill on the job",
                )
                .hint("gw-err-above-approved"),
            );
        }
        errs.into_result()?;
        let ro_id: String = sqlx::query_scalar("SELECT repair_order_id FROM ro_jobs WHERE id = $1")
            .bind(job_id)
            .fetch_one(&self.store.pool)
            .await?;
        let at = micros(now);
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE goodwill_requests SET repair_order_id = $1, job_id = $2, parts_minor = $3, labour_minor = $4, \
             goodwill_minor = $5, customer_minor = $6, updated_at = $7, version = version + 1 \
             WHERE id = $8 AND version = $9 AND job_id IS NULL",
        )
        .bind(&ro_id)
        .bind(job_id)
        .bind(parts)
        .bind(labour)
        .bind(split.goodwill)
        .bind(split.customer)
        .bind(at)
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict { current: r.version });
        }
        self.split_lines(&mut tx, job_id, r.parts_pct, r.labour_pct, now)
            .await?;
        Self::event(&mut tx, id, scope, None, "apply", None, None, at).await?;
        tx.commit().await?;
        self.goodwill_request(scope, id).await
    }

    /// Splits a job's customer lines between goodwill and the customer: goodwill pays its share
    /// of each unit price (parts and sublet at `pp`, labour at `lp`), the customer the rest, so
    /// the two lines add up to the original exactly. Lines already on an invoice are refused.
    async fn split_lines(
        self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        job: &str,
        pp: i64,
        lp: i64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let billed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM billing_lines bl JOIN ro_lines l ON l.id = bl.ro_line_id WHERE l.job_id = $1",
        )
        .bind(job)
        .fetch_one(&mut **tx)
        .await?;
        if billed > 0 {
            return Err(ValidationErrors::from(
                FieldError::new(
                    "job_id",
                    Rule::NotAllowed,
                    "the job's lines are on an invoice already: credit it first",
                )
                .hint("gw-err-invoiced"),
            )
            .into());
        }
        let lines: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT id, kind, unit_price_minor FROM ro_lines WHERE job_id = $1 AND pay_type = 'customer' ORDER BY created_at, id",
        )
        .bind(job)
        .fetch_all(&mut **tx)
        .await?;
        for (line, kind, unit) in lines {
            let pct = if kind == "labour" { lp } else { pp };
            match pct {
                0 => {}
                100 => {
                    sqlx::query("UPDATE ro_lines SET pay_type = 'goodwill' WHERE id = $1")
                        .bind(&line)
                        .execute(&mut **tx)
                        .await?;
                }
                _ => {
                    let share = rules::unit_share(unit, pct);
                    sqlx::query(
                        "INSERT INTO ro_lines (id, job_id, repair_order_id, kind, code, description, quantity_centi, unit_price_minor, \
                         unit_cost_minor, pay_type, labour_operation_id, part_id, certification, backordered, created_at) \
                         SELECT $1, job_id, repair_order_id, kind, code, description, quantity_centi, $2, 0, 'goodwill', \
                         labour_operation_id, part_id, certification, backordered, $3 FROM ro_lines WHERE id = $4",
                    )
                    .bind(new_id())
                    .bind(share)
                    .bind(micros(now))
                    .bind(&line)
                    .execute(&mut **tx)
                    .await?;
                    sqlx::query("UPDATE ro_lines SET unit_price_minor = $1 WHERE id = $2")
                        .bind(unit - share)
                        .bind(&line)
                        .execute(&mut **tx)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// The market organisation's goodwill policy in force (its own newest version, else the
    /// published one).
    pub async fn goodwill_policy(self, scope: &Scope, org: &str) -> Result<Policy, StoreError> {
        scope.require(org, Permission::WarrantyRead)?;
        let market = self.market_of(org).await?;
        Ok(self
            .policy_of(&market)
            .await?
            .unwrap_or_else(|| rules::published_policy(PUBLISHED)))
    }

    async fn market_of(self, org: &str) -> Result<String, StoreError> {
        let market: Option<Option<String>> =
            sqlx::query_scalar("SELECT market_id FROM organisations WHERE id = $1")
                .bind(org)
                .fetch_optional(&self.store.pool)
                .await?;
        market.flatten().ok_or(StoreError::NotFound)
    }

    /// Keeps a new version of a market's goodwill policy (checked by field); requests decided
    /// under an older version keep its code.
    pub async fn add_goodwill_policy(
        self,
        scope: &Scope,
        org: &str,
        policy: &Policy,
        now: OffsetDateTime,
    ) -> Result<Policy, StoreError> {
        scope.require(org, Permission::WarrantyReview)?;
        let market = self.market_of(org).await?;
        let mut errs = ValidationErrors::default();
        let code = policy.code.trim();
        if code.is_empty() || code.len() > 40 {
            errs.push(FieldError::new(
                "code",
                Rule::Required,
                "a policy version has a code of 1 to 40 characters",
            ));
        }
        if let Err(e) = rules::check_policy(policy) {
            errs.0.extend(e.0);
        }
        errs.into_result()?;
        let body =
            serde_json::to_string(policy).map_err(|e| StoreError::Internal(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "INSERT INTO goodwill_policies (id, market_id, code, body, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (market_id, code) DO NOTHING",
        )
        .bind(new_id())
        .bind(&market)
        .bind(code)
        .bind(body)
        .bind(scope.user_id())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ValidationErrors::single(
                "code",
                Rule::Unique,
                "this market has a policy version with that code: versions are never changed",
            )
            .into());
        }
        tx.commit().await?;
        Ok(policy.clone())
    }

    /// The goodwill budgets of the markets the caller sees warranty matters in, for the quarter
    /// of `on`: the budget, what approvals committed and invoices spent, what is left.
    pub async fn goodwill_budgets(
        self,
        scope: &Scope,
        on: Date,
    ) -> Result<Vec<GoodwillBudget>, StoreError> {
        scope.require_somewhere(Permission::WarrantyRead)?;
        let orgs = scope.orgs_with(Permission::WarrantyRead);
        let sql = format!(
            "SELECT DISTINCT m.id, m.name, m.currency FROM organisations o JOIN markets m ON m.id = o.market_id WHERE o.id IN ({}) ORDER BY m.name",
            placeholders(1, orgs.len())
        );
        let mut q = sqlx::query_as::<_, (String, String, String)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let period = quarter(on);
        let mut out = Vec::new();
        for (market, name, currency) in q.fetch_all(&self.store.pool).await? {
            let budget: Option<i64> = sqlx::query_scalar(
                "SELECT amount_minor FROM goodwill_budgets WHERE market_id = $1 AND period = $2",
            )
            .bind(&market)
            .bind(&period)
            .fetch_optional(&self.store.pool)
            .await?;
            let approved: Vec<(Option<String>, i64)> = sqlx::query_as(
                "SELECT job_id, goodwill_minor FROM goodwill_requests WHERE market_id = $1 AND period = $2 AND status = 'approved'",
            )
            .bind(&market)
            .bind(&period)
            .fetch_all(&self.store.pool)
            .await?;
            let mut invoiced: BTreeMap<String, i64> = BTreeMap::new();
            for job in approved.iter().filter_map(|(job, _)| job.as_ref()) {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT d.kind, bl.net_minor FROM billing_lines bl JOIN billing_documents d ON d.id = bl.document_id \
                     JOIN ro_lines l ON l.id = bl.ro_line_id WHERE l.job_id = $1 AND l.pay_type = 'goodwill' AND d.status = 'issued'",
                )
                .bind(job)
                .fetch_all(&self.store.pool)
                .await?;
                let net: i64 = rows
                    .iter()
                    .map(|(k, n)| if k == "invoice" { *n } else { -*n })
                    .sum();
                invoiced.insert(job.clone(), net);
            }
            let spent: i64 = approved
                .iter()
                .map(|(job, g)| {
                    job.as_ref()
                        .and_then(|j| invoiced.get(j))
                        .copied()
                        .unwrap_or(0)
                        .clamp(0, *g)
                })
                .sum();
            let committed: i64 = approved.iter().map(|(_, g)| *g).sum::<i64>() - spent;
            let b = budget.unwrap_or(0);
            out.push(GoodwillBudget {
                market: name,
                period: period.clone(),
                budget: Money::new(b, &currency),
                committed: Money::new(committed, &currency),
                spent: Money::new(spent, &currency),
                left: Money::new(b - committed - spent, &currency),
            });
        }
        Ok(out)
    }

    /// Sets a market's goodwill budget for a quarter (`2026-Q4`), as its market manager or a
    /// warranty administrator above it.
    pub async fn set_goodwill_budget(
        self,
        scope: &Scope,
        market_org: &str,
        period: &str,
        amount_minor: i64,
    ) -> Result<(), StoreError> {
        scope.require(market_org, Permission::WarrantyReview)?;
        let market: Option<Option<String>> =
            sqlx::query_scalar("SELECT market_id FROM organisations WHERE id = $1")
                .bind(market_org)
                .fetch_optional(&self.store.pool)
                .await?;
        let Some(Some(market)) = market else {
            return Err(StoreError::NotFound);
        };
        let mut errs = ValidationErrors::default();
        let ok_period = period.len() == 7
            && period[..4].bytes().all(|b| b.is_ascii_digit())
            && matches!(&period[4..], "-Q1" | "-Q2" | "-Q3" | "-Q4");
        if !ok_period {
            errs.push(FieldError::new(
                "period",
                Rule::Format,
                "period is a quarter like 2026-Q4",
            ));
        }
        if amount_minor < 0 {
            errs.push(FieldError::new(
                "amount",
                Rule::NotAllowed,
                "a budget is not negative",
            ));
        }
        errs.into_result()?;
        let mut tx = self.store.begin().await?;
        sqlx::query(
            "INSERT INTO goodwill_budgets (market_id, period, amount_minor) VALUES ($1, $2, $3) \
             ON CONFLICT (market_id, period) DO UPDATE SET amount_minor = excluded.amount_minor",
        )
        .bind(&market)
        .bind(period)
        .bind(amount_minor)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn quarters_and_whole_months() {
        assert_eq!(quarter(date!(2026 - 12 - 06)), "2026-Q4");
        assert_eq!(quarter(date!(2026 - 01 - 01)), "2026-Q1");
        assert_eq!(
            months_between(date!(2023 - 12 - 06), date!(2026 - 12 - 06)),
            36
        );
        assert_eq!(
            months_between(date!(2023 - 12 - 07), date!(2026 - 12 - 06)),
            35
        );
    }
}

//! Goodwill by policy: the market's matrix (versioned JSON, the newest in force) proposes the
//! shares for a repair-order job from the car's age, km and the failed component; the person
//! deciding approves within their authority (or passes the request up with their shares), may
//! deviate from the proposal with a reason, and the approval splits the job's lines between
//! goodwill and the customer so the invoice shows the customer's share. Budgets per market and
//! quarter show what approvals committed and invoices spent. Rules: `domain::warranty::goodwill`.
//! Here: the rows, a request as read and the lists; request.rs asks, decide.rs decides and
//! applies, policy.rs keeps the matrix versions and the budgets.

mod decide;
mod policy;
mod request;

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

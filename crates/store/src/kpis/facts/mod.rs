//! Reads what happened, for the KPIs: repair orders with their status times, jobs, lines and
//! clockings; survey answers; cases with their timers and last triage decision, and the visits
//! after them; issued invoices and warranty claims with their costs; transport jobs; technicians'
//! attendance and clocked time. Every read is bounded by the organisations asked for (already
//! cut to the caller's scope) and a window of days; the formulas in `domain::kpi::formulas`
//! decide what counts.
//! Money facts are read in money.rs, technicians' time in times.rs.

mod money;
mod times;

use money::load_money;
pub(crate) use times::load_times;

use std::collections::HashMap;

use aftersales_domain::kpi::formulas::{
    CaseFact, ClockFact, JobFact, LineFact, MoneyFact, RoFact, SurveyFact, TechnicianTime,
    TransportFact, Visit,
};
use aftersales_domain::kpi::{self, Dims, ItemRef, KpiItemKind, Period};
use aftersales_domain::workshop::{LineKind, PayType};
use time::{Date, Duration, OffsetDateTime};

use crate::db::placeholders;
use crate::error::StoreError;
use crate::{decode, from_micros, micros};

/// A visit as read: vehicle, customer, when, the case it was for and that case's category.
pub(crate) type VisitRow = (Option<String>, String, i64, Option<String>, Option<String>);

/// An organisation as read: id, parent, name, kind, market, market name, currency.
type OrgTuple = (
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A claim line as read: claim, kind, claimed, quantity, unit cost.
type ClaimLine = (String, String, i64, i64, i64);

/// One organisation as the KPIs group by it.
#[derive(Debug, Clone)]
pub(crate) struct OrgRow {
    pub id: String,
    pub parent: Option<String>,
    pub name: String,
    pub kind: String,
    pub market: Option<(String, String)>,
    pub currency: Option<String>,
}

/// Every organisation (a small table), to find markets, currencies and subtrees.
#[derive(Debug, Clone, Default)]
pub(crate) struct Orgs {
    pub by_id: HashMap<String, OrgRow>,
}

impl Orgs {
    pub async fn load(pool: &sqlx::AnyPool) -> Result<Orgs, StoreError> {
        let rows: Vec<OrgTuple> = sqlx::query_as(
            "SELECT o.id, o.parent_id, o.name, o.kind, o.market_id, m.name, m.currency \
                 FROM organisations o LEFT JOIN markets m ON m.id = o.market_id",
        )
        .fetch_all(pool)
        .await?;
        Ok(Orgs {
            by_id: rows
                .into_iter()
                .map(|(id, parent, name, kind, market, market_name, currency)| {
                    (
                        id.clone(),
                        OrgRow {
                            id,
                            parent,
                            name,
                            kind,
                            market: market.zip(market_name),
                            currency,
                        },
                    )
                })
                .collect(),
        })
    }

    pub fn name(&self, id: &str) -> String {
        self.by_id
            .get(id)
            .map(|o| o.name.clone())
            .unwrap_or_default()
    }

    /// Whether `id` is `ancestor` or below it.
    pub fn is_under(&self, id: &str, ancestor: &str) -> bool {
        let mut cur = Some(id);
        let mut hops = 0;
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            hops += 1;
            if hops > 12 {
                return false;
            }
            cur = self.by_id.get(c).and_then(|o| o.parent.as_deref());
        }
        false
    }

    /// `id` and the organisations above it, nearest first.
    pub fn lineage(&self, id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = Some(id.to_string());
        while let Some(c) = cur.take() {
            if out.len() > 12 {
                break;
            }
            cur = self.by_id.get(&c).and_then(|o| o.parent.clone());
            out.push(c);
        }
        out
    }

    pub fn dims(&self, org: &str) -> Dims {
        Dims {
            market: self
                .by_id
                .get(org)
                .and_then(|o| o.market.as_ref().map(|m| m.0.clone())),
            service_point: org.to_string(),
            ..Dims::default()
        }
    }

    pub fn currency(&self, org: &str) -> String {
        self.by_id
            .get(org)
            .and_then(|o| o.currency.clone())
            .unwrap_or_else(|| "EUR".into())
    }

    /// A market's name by its id.
    pub fn market_name(&self, market: &str) -> Option<String> {
        self.by_id.values().find_map(|o| {
            o.market
                .as_ref()
                .filter(|m| m.0 == market)
                .map(|m| m.1.clone())
        })
    }
}

/// What the KPIs read over a window.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    pub ros: Vec<RoFact>,
    pub surveys: Vec<SurveyFact>,
    pub cases: Vec<CaseFact>,
    pub visits: Vec<Visit>,
    pub money: Vec<MoneyFact>,
    pub transport: Vec<TransportFact>,
    /// Per service point and technician, for each period asked for (`load_times`).
    pub times: Vec<(Period, Vec<TechnicianTime>)>,
}

/// A value bound to a query.
#[derive(Clone)]
enum B {
    S(String),
    I(i64),
}

fn bind_all_as<'q, O>(
    mut q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    binds: &[B],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = match b {
            B::S(s) => q.bind(s.clone()),
            B::I(i) => q.bind(*i),
        };
    }
    q
}

fn pay(v: &str) -> Result<PayType, StoreError> {
    decode("ro_jobs", "pay_type", v, PayType::parse)
}

fn time_of(v: &str) -> i64 {
    let (h, m) = v.split_once(':').unwrap_or((v, "0"));
    h.trim().parse::<i64>().unwrap_or(0) * 60 + m.trim().parse::<i64>().unwrap_or(0)
}

/// Which kinds of facts a set of KPIs reads, so a view loads only those.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// Repair orders with their events, jobs, lines and clockings.
    pub ros: bool,
    pub surveys: bool,
    /// Cases and the visits after them.
    pub cases: bool,
    /// Invoices, credit notes and claims.
    pub money: bool,
    pub transport: bool,
}

impl Needs {
    pub fn of(kpis: &[kpi::Kpi]) -> Needs {
        use kpi::Kpi::*;
        let mut n = Needs::default();
        for k in kpis {
            match k {
                FirstTimeFix | Comeback | Turnaround | LabourRate | HoursPerRo | Efficiency => {
                    n.ros = true
                }
                Csat | Nps => n.surveys = true,
                RemoteResolution | ResponseSla | ResolutionSla => n.cases = true,
                ServiceRevenue | ContributionMargin | MarginPercent => n.money = true,
                LogisticsOnTime => n.transport = true,
                Productivity | ClaimsPer1000 | WarrantyCostPerUnit | GoodwillCostPerUnit
                | StandardsCompliance | TrainingCompliance => {}
            }
        }
        n
    }
}

/// Reads the facts of `orgs` for figures over `window` (see the module): the kinds `needs` names.
pub(crate) async fn load(
    pool: &sqlx::AnyPool,
    orgs_tree: &Orgs,
    orgs: &[String],
    window: Period,
    needs: Needs,
) -> Result<Facts, StoreError> {
    let mut f = Facts::default();
    if orgs.is_empty() {
        return Ok(f);
    }
    let (from, to) = window.bounds();
    let late = to + Duration::days(kpi::formulas::RETURN_DAYS + 1);
    let n = orgs.len();
    let in_orgs = placeholders(1, n);
    let mut base: Vec<B> = orgs.iter().cloned().map(B::S).collect();
    base.extend([B::I(micros(from)), B::I(micros(to)), B::I(micros(late))]);
    let (pf, pt, pl) = (n + 1, n + 2, n + 3);

    if needs.ros {
        load_ros(pool, orgs_tree, &base, &in_orgs, (pf, pt, pl), &mut f).await?;
    }
    if needs.surveys {
        // Survey answers in the window.
        let sql = format!(
        "SELECT s.repair_order_id, r.number, r.organisation_id, v.model, r.created_by, s.answered_at, s.csat, s.nps, \
         (SELECT j.technician_id FROM ro_jobs j WHERE j.repair_order_id = r.id ORDER BY j.position LIMIT 1), \
         (SELECT j.pay_type FROM ro_jobs j WHERE j.repair_order_id = r.id ORDER BY j.position LIMIT 1) \
         FROM surveys s JOIN repair_orders r ON r.id = s.repair_order_id LEFT JOIN vehicles v ON v.id = r.vehicle_id \
         WHERE r.organisation_id IN ({in_orgs}) AND s.answered_at >= ${pf} AND s.answered_at < ${pt}"
    );
        type SurveyRow = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<SurveyRow> = bind_all_as(sqlx::query_as(&sql), &base)
            .fetch_all(pool)
            .await?;
        for (ro, number, org, model, advisor, at, csat, nps, technician, pay_type) in rows {
            let mut dims = orgs_tree.dims(&org);
            dims.model = model;
            dims.advisor = advisor;
            dims.technician = technician;
            dims.pay_type = pay_type.as_deref().map(pay).transpose()?;
            f.surveys.push(SurveyFact {
                repair_order: ItemRef {
                    kind: KpiItemKind::RepairOrder,
                    id: ro,
                    label: number,
                },
                dims,
                answered_at: from_micros(at),
                csat,
                nps,
            });
        }
    }
    if needs.cases {
        // Cases opened in the window, and the visits after them.
        let sql = format!(
        "SELECT c.id, c.number, c.organisation_id, c.owner_user_id, c.vehicle_id, v.model, c.customer_id, c.category, \
         c.created_at, c.resolved_at, c.first_responded_at, c.first_response_breached_at, c.resolution_breached_at, \
         (SELECT t.kind FROM triage_decisions t WHERE t.case_id = c.id ORDER BY t.at DESC, t.id DESC LIMIT 1) \
         FROM cases c LEFT JOIN vehicles v ON v.id = c.vehicle_id \
         WHERE c.organisation_id IN ({in_orgs}) AND c.created_at >= ${pf} AND c.created_at < ${pt}"
    );
        type CaseRow = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            i64,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<String>,
        );
        let rows: Vec<CaseRow> = bind_all_as(sqlx::query_as(&sql), &base)
            .fetch_all(pool)
            .await?;
        for (
            id,
            number,
            org,
            owner,
            vehicle,
            model,
            customer,
            category,
            created,
            resolved,
            responded,
            rb,
            sb,
            decision,
        ) in rows
        {
            let mut dims = orgs_tree.dims(&org);
            dims.model = model;
            dims.advisor = owner;
            f.cases.push(CaseFact {
                item: ItemRef {
                    kind: KpiItemKind::Case,
                    id,
                    label: number,
                },
                dims,
                vehicle,
                customer,
                technical: category == "technical",
                created_at: from_micros(created),
                resolved_at: resolved.map(from_micros),
                remote_fix: decision.as_deref() == Some("remote-fix"),
                first_responded_at: responded.map(from_micros),
                response_breached_at: rb.map(from_micros),
                resolution_breached_at: sb.map(from_micros),
            });
        }
        if f.cases.iter().any(|c| c.technical) {
            let sql = format!(
            "SELECT a.vehicle_id, a.customer_id, a.created_at, a.case_id, c.category FROM appointments a \
             LEFT JOIN cases c ON c.id = a.case_id WHERE a.organisation_id IN ({in_orgs}) AND a.created_at >= ${pf} AND a.created_at < ${pl} \
             UNION ALL \
             SELECT r.vehicle_id, r.customer_id, r.created_at, r.case_id, c.category FROM repair_orders r \
             LEFT JOIN cases c ON c.id = r.case_id WHERE r.organisation_id IN ({in_orgs}) AND r.created_at >= ${pf} AND r.created_at < ${pl} \
             UNION ALL \
             SELECT c.vehicle_id, c.customer_id, c.created_at, c.id, c.category FROM cases c \
             WHERE c.category = 'technical' AND c.customer_id IS NOT NULL AND c.organisation_id IN ({in_orgs}) AND c.created_at >= ${pf} AND c.created_at < ${pl}"
        );
            let rows: Vec<VisitRow> = bind_all_as(sqlx::query_as(&sql), &base)
                .fetch_all(pool)
                .await?;
            f.visits = rows
                .into_iter()
                .map(|(vehicle, customer, at, case, category)| Visit {
                    vehicle,
                    customer: Some(customer),
                    at: from_micros(at),
                    case: case.map(|c| (c, category.as_deref() == Some("technical"))),
                })
                .collect();
        }
    }
    if needs.money {
        load_money(pool, orgs_tree, &base, &in_orgs, (pf, pt), window, &mut f).await?;
    }
    if needs.transport {
        load_transport(pool, orgs_tree, &base, &in_orgs, (pf, pt), &mut f).await?;
    }
    Ok(f)
}

/// Repair orders opened in the window (or up to 31 days after: returns), or finished in it,
/// with their status times, jobs, lines and clockings. The ids come first (each half of the
/// rule by its own index), then what hangs on them, by id.
async fn load_ros(
    pool: &sqlx::AnyPool,
    orgs_tree: &Orgs,
    base: &[B],
    in_orgs: &str,
    (pf, pt, pl): (usize, usize, usize),
    f: &mut Facts,
) -> Result<(), StoreError> {
    type RoRow = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        i64,
    );
    let columns = "r.id, r.number, r.organisation_id, r.vehicle_id, v.model, r.created_by, r.status, r.created_at \
         FROM repair_orders r LEFT JOIN vehicles v ON v.id = r.vehicle_id";
    let opened = format!(
        "SELECT {columns} WHERE r.organisation_id IN ({in_orgs}) AND r.created_at >= ${pf} AND r.created_at < ${pl}"
    );
    let finished = format!(
        "SELECT {columns} WHERE r.organisation_id IN ({in_orgs}) AND r.created_at < ${pf} AND r.id IN \
         (SELECT e.repair_order_id FROM ro_events e WHERE e.kind = 'status' AND e.status IN ('delivered', 'closed') \
         AND e.at >= ${pf} AND e.at < ${pt})"
    );
    let mut rows: Vec<RoRow> = bind_all_as(sqlx::query_as(&opened), base)
        .fetch_all(pool)
        .await?;
    rows.extend(
        bind_all_as(sqlx::query_as::<_, RoRow>(&finished), base)
            .fetch_all(pool)
            .await?,
    );
    let mut index: HashMap<String, usize> = HashMap::new();
    for (id, number, org, vehicle, model, advisor, status, created) in rows {
        if index.contains_key(&id) {
            continue;
        }
        index.insert(id.clone(), f.ros.len());
        let mut dims = orgs_tree.dims(&org);
        dims.model = model;
        dims.advisor = advisor;
        f.ros.push(RoFact {
            id,
            number,
            currency: orgs_tree.currency(&org),
            dims,
            vehicle,
            created_at: from_micros(created),
            received_at: None,
            delivered_at: None,
            closed_at: None,
            cancelled: status == "cancelled",
            jobs: vec![],
            lines: vec![],
            clockings: vec![],
        });
    }
    let ids: Vec<String> = f.ros.iter().map(|r| r.id.clone()).collect();
    for chunk in ids.chunks(500) {
        let binds: Vec<B> = chunk.iter().cloned().map(B::S).collect();
        let sub = placeholders(1, chunk.len());
        let sql = format!(
            "SELECT repair_order_id, status, MIN(at) FROM ro_events WHERE kind = 'status' \
             AND status IN ('checked-in', 'delivered', 'closed') AND repair_order_id IN ({sub}) GROUP BY repair_order_id, status"
        );
        let rows: Vec<(String, String, i64)> = bind_all_as(sqlx::query_as(&sql), &binds)
            .fetch_all(pool)
            .await?;
        for (ro, status, at) in rows {
            let Some(r) = index.get(&ro).and_then(|i| f.ros.get_mut(*i)) else {
                continue;
            };
            let at = Some(from_micros(at));
            match status.as_str() {
                "checked-in" => r.received_at = at,
                "delivered" => r.delivered_at = at,
                _ => r.closed_at = at,
            }
        }
        let sql = format!(
            "SELECT j.id, j.repair_order_id, j.pay_type, j.technician_id, j.title FROM ro_jobs j \
             WHERE j.repair_order_id IN ({sub}) ORDER BY j.repair_order_id, j.position"
        );
        let rows: Vec<(String, String, String, Option<String>, String)> =
            bind_all_as(sqlx::query_as(&sql), &binds)
                .fetch_all(pool)
                .await?;
        for (id, ro, pay_type, technician, title) in rows {
            if let Some(r) = index.get(&ro).and_then(|i| f.ros.get_mut(*i)) {
                r.jobs.push(JobFact {
                    id,
                    pay_type: pay(&pay_type)?,
                    technician,
                    title,
                });
            }
        }
        let sql = format!(
            "SELECT l.job_id, l.repair_order_id, l.kind, l.pay_type, l.code, l.quantity_centi, l.unit_price_minor, l.unit_cost_minor \
             FROM ro_lines l WHERE l.repair_order_id IN ({sub})"
        );
        type LineRow = (
            String,
            String,
            String,
            String,
            Option<String>,
            i64,
            i64,
            i64,
        );
        let rows: Vec<LineRow> = bind_all_as(sqlx::query_as(&sql), &binds)
            .fetch_all(pool)
            .await?;
        for (job, ro, kind, pay_type, code, q, price, cost) in rows {
            if let Some(r) = index.get(&ro).and_then(|i| f.ros.get_mut(*i)) {
                r.lines.push(LineFact {
                    job,
                    kind: decode("ro_lines", "kind", &kind, LineKind::parse)?,
                    pay_type: decode("ro_lines", "pay_type", &pay_type, PayType::parse)?,
                    code,
                    quantity_centi: q,
                    unit_price_minor: price,
                    unit_cost_minor: cost,
                });
            }
        }
        let sql = format!(
            "SELECT c.job_id, c.repair_order_id, c.technician_id, c.started_at, c.stopped_at FROM ro_clockings c \
             WHERE c.stopped_at IS NOT NULL AND c.repair_order_id IN ({sub})"
        );
        let rows: Vec<(String, String, String, i64, i64)> =
            bind_all_as(sqlx::query_as(&sql), &binds)
                .fetch_all(pool)
                .await?;
        for (job, ro, technician, started, stopped) in rows {
            if let Some(r) = index.get(&ro).and_then(|i| f.ros.get_mut(*i)) {
                r.clockings.push(ClockFact {
                    job,
                    technician,
                    started_at: from_micros(started),
                    seconds: (stopped - started).max(0) / 1_000_000,
                });
            }
        }
    }
    Ok(())
}

/// Pickups and deliveries whose window opens in the window, not cancelled.
async fn load_transport(
    pool: &sqlx::AnyPool,
    orgs_tree: &Orgs,
    base: &[B],
    in_orgs: &str,
    (pf, pt): (usize, usize),
    f: &mut Facts,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT j.repair_order_id, r.number, j.organisation_id, v.model, r.created_by, j.window_from, j.window_to, j.arrived_at \
         FROM transport_jobs j JOIN repair_orders r ON r.id = j.repair_order_id LEFT JOIN vehicles v ON v.id = r.vehicle_id \
         WHERE j.status <> 'cancelled' AND j.organisation_id IN ({in_orgs}) AND j.window_from >= ${pf} AND j.window_from < ${pt}"
    );
    type Row = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        i64,
        i64,
        Option<i64>,
    );
    let rows: Vec<Row> = bind_all_as(sqlx::query_as(&sql), base)
        .fetch_all(pool)
        .await?;
    for (ro, number, org, model, advisor, wf, wt, arrived) in rows {
        f.transport.push(TransportFact {
            repair_order: ItemRef {
                kind: KpiItemKind::RepairOrder,
                id: ro,
                label: number,
            },
            dims: Dims {
                model,
                advisor,
                ..orgs_tree.dims(&org)
            },
            window_from: from_micros(wf),
            window_to: from_micros(wt),
            arrived_at: arrived.map(from_micros),
        });
    }
    Ok(())
}

/// The contributions of `kpi` over `period` from facts read for a window that holds it.
pub(crate) fn contributions(
    k: kpi::Kpi,
    f: &Facts,
    period: Period,
    now: OffsetDateTime,
    costs: &dyn Fn(&str) -> kpi::formulas::HourlyCosts,
) -> Vec<kpi::Contribution> {
    use kpi::formulas as x;
    use kpi::Kpi::*;
    match k {
        FirstTimeFix => x::first_time_fix(&f.ros, period, now, false),
        Comeback => x::first_time_fix(&f.ros, period, now, true),
        RemoteResolution => x::remote_resolution(&f.cases, &f.visits, period, now),
        Turnaround => x::turnaround(&f.ros, period),
        ResponseSla => x::sla(&f.cases, period, false),
        ResolutionSla => x::sla(&f.cases, period, true),
        LabourRate => x::labour_rate(&f.ros, period),
        HoursPerRo => x::hours_per_ro(&f.ros, period),
        Efficiency => x::efficiency(&f.ros, period),
        Productivity => f
            .times
            .iter()
            .find(|(p, _)| *p == period)
            .map(|(_, t)| x::productivity(t, period))
            .unwrap_or_default(),
        Csat => x::csat(&f.surveys, period),
        Nps => x::nps(&f.surveys, period),
        ServiceRevenue => x::revenue(&f.money, period),
        ContributionMargin => x::margin(&f.money, costs, period, false),
        MarginPercent => x::margin(&f.money, costs, period, true),
        LogisticsOnTime => x::on_time(&f.transport, period),
        ClaimsPer1000 | WarrantyCostPerUnit | GoodwillCostPerUnit | StandardsCompliance
        | TrainingCompliance => Vec::new(),
    }
}

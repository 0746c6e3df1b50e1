//! Reads what happened, for the KPIs: repair orders with their status times, jobs, lines and
//! clockings; survey answers; cases with their timers and last triage decision, and the visits
//! after them; issued invoices and warranty claims with their costs; transport jobs; technicians'
//! attendance and clocked time. Every read is bounded by the organisations asked for (already
//! cut to the caller's scope) and a window of days; the formulas in `domain::kpi::formulas`
//! decide what counts.

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

/// Issued invoices and credit notes (not those to the brand: the claims stand for them) and
/// warranty claims past draft, with their costs.
async fn load_money(
    pool: &sqlx::AnyPool,
    orgs_tree: &Orgs,
    base: &[B],
    in_orgs: &str,
    (pf, pt): (usize, usize),
    window: Period,
    f: &mut Facts,
) -> Result<(), StoreError> {
    let doc_where = format!(
        "d.status = 'issued' AND d.organisation_id IN ({in_orgs}) AND d.issued_at >= ${pf} AND d.issued_at < ${pt} \
         AND (d.pay_type IS NULL OR d.pay_type <> 'warranty')"
    );
    let sql = format!(
        "SELECT d.id, d.number, d.organisation_id, d.kind, d.pay_type, d.currency, d.issued_at, d.repair_order_id, v.model, r.created_by \
         FROM billing_documents d LEFT JOIN repair_orders r ON r.id = d.repair_order_id LEFT JOIN vehicles v ON v.id = r.vehicle_id \
         WHERE {doc_where} ORDER BY d.issued_at, d.id"
    );
    type DocRow = (
        String,
        Option<String>,
        String,
        String,
        Option<String>,
        String,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let docs: Vec<DocRow> = bind_all_as(sqlx::query_as(&sql), base)
        .fetch_all(pool)
        .await?;
    let sql = format!(
        "SELECT bl.document_id, bl.kind, bl.net_minor, bl.quantity_centi, rl.unit_cost_minor, rl.job_id \
         FROM billing_lines bl LEFT JOIN ro_lines rl ON rl.id = bl.ro_line_id \
         WHERE bl.document_id IN (SELECT d.id FROM billing_documents d WHERE {doc_where})"
    );
    type BillLine = (String, String, i64, i64, Option<i64>, Option<String>);
    let lines: Vec<BillLine> = bind_all_as(sqlx::query_as(&sql), base)
        .fetch_all(pool)
        .await?;
    let sql = format!(
        "SELECT c.job_id, CAST(SUM(c.stopped_at - c.started_at) AS BIGINT) FROM ro_clockings c WHERE c.stopped_at IS NOT NULL AND c.repair_order_id IN \
         (SELECT d.repair_order_id FROM billing_documents d WHERE {doc_where}) GROUP BY c.job_id"
    );
    let clocked: HashMap<String, i64> = bind_all_as(sqlx::query_as::<_, (String, i64)>(&sql), base)
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
    let sql = format!(
        "SELECT t.repair_order_id, CAST(SUM(t.done_at - t.on_the_way_at) AS BIGINT) FROM transport_jobs t \
         WHERE t.done_at IS NOT NULL AND t.on_the_way_at IS NOT NULL AND t.repair_order_id IN \
         (SELECT d.repair_order_id FROM billing_documents d WHERE {doc_where}) GROUP BY t.repair_order_id"
    );
    let mut driven: HashMap<String, i64> =
        bind_all_as(sqlx::query_as::<_, (String, i64)>(&sql), base)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
    let mut by_doc: HashMap<&str, Vec<&BillLine>> = HashMap::new();
    for l in &lines {
        by_doc.entry(l.0.as_str()).or_default().push(l);
    }
    let mut jobs_used: std::collections::HashSet<String> = Default::default();
    for (id, number, org, kind, pay_type, currency, issued, ro, model, advisor) in &docs {
        let sign = if kind == "credit-note" { -1 } else { 1 };
        let mut m = MoneyFact {
            item: ItemRef {
                kind: KpiItemKind::Invoice,
                id: id.clone(),
                label: number.clone().unwrap_or_default(),
            },
            dims: Dims {
                model: model.clone(),
                advisor: advisor.clone(),
                pay_type: pay_type.as_deref().map(pay).transpose()?,
                ..orgs_tree.dims(org)
            },
            at: from_micros(*issued),
            currency: currency.clone(),
            revenue_minor: 0,
            parts_cost_minor: 0,
            sublet_cost_minor: 0,
            labour_seconds: 0,
            driver_seconds: 0,
        };
        for (_, kind, net, q, cost, job) in by_doc.get(id.as_str()).into_iter().flatten() {
            if !matches!(kind.as_str(), "labour" | "part" | "sublet") {
                continue;
            }
            m.revenue_minor += sign * net;
            let at_cost = cost.unwrap_or(0) * q / 100;
            match kind.as_str() {
                "part" => m.parts_cost_minor += sign * at_cost,
                "sublet" => m.sublet_cost_minor += sign * at_cost,
                _ => {}
            }
            if sign > 0 && kind == "labour" {
                match job.as_ref().and_then(|j| clocked.get(j).map(|c| (j, *c))) {
                    Some((j, c)) => {
                        if jobs_used.insert(j.clone()) {
                            m.labour_seconds += c / 1_000_000;
                        }
                    }
                    // Nothing clocked: the hours billed.
                    None => m.labour_seconds += q * 36,
                }
            }
        }
        if sign > 0 {
            if let Some(ro) = ro {
                m.driver_seconds = driven.remove(ro).unwrap_or(0) / 1_000_000;
            }
        }
        f.money.push(m);
    }

    // Claims: what was claimed from the brand, opened in the window.
    let mut binds: Vec<B> = base[..base.len() - 3].to_vec();
    let n = binds.len();
    binds.push(B::S(window.from.to_string()));
    binds.push(B::S(window.to.to_string()));
    let claim_where = format!(
        "c.status <> 'draft' AND c.organisation_id IN ({in_orgs}) AND c.opened_on >= ${} AND c.opened_on <= ${}",
        n + 1,
        n + 2
    );
    let sql = format!(
        "SELECT c.id, c.number, c.organisation_id, c.currency, c.opened_on, c.job_id, v.model, r.created_by, c.technician_id \
         FROM warranty_claims c JOIN repair_orders r ON r.id = c.repair_order_id LEFT JOIN vehicles v ON v.id = c.vehicle_id WHERE {claim_where}"
    );
    type ClaimRow = (
        String,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let claims: Vec<ClaimRow> = bind_all_as(sqlx::query_as(&sql), &binds)
        .fetch_all(pool)
        .await?;
    if claims.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT cl.claim_id, cl.kind, cl.claimed_minor, cl.quantity_centi, rl.unit_cost_minor FROM warranty_claim_lines cl \
         JOIN ro_lines rl ON rl.id = cl.ro_line_id WHERE cl.claim_id IN (SELECT c.id FROM warranty_claims c WHERE {claim_where})"
    );
    let lines: Vec<ClaimLine> = bind_all_as(sqlx::query_as(&sql), &binds)
        .fetch_all(pool)
        .await?;
    let sql = format!(
        "SELECT k.job_id, CAST(SUM(k.stopped_at - k.started_at) AS BIGINT) FROM ro_clockings k WHERE k.stopped_at IS NOT NULL AND k.job_id IN \
         (SELECT c.job_id FROM warranty_claims c WHERE {claim_where}) GROUP BY k.job_id"
    );
    let clocked: HashMap<String, i64> =
        bind_all_as(sqlx::query_as::<_, (String, i64)>(&sql), &binds)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
    let mut by_claim: HashMap<&str, Vec<&ClaimLine>> = HashMap::new();
    for l in &lines {
        by_claim.entry(l.0.as_str()).or_default().push(l);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    for (id, number, org, currency, opened, job, model, advisor, technician) in claims {
        let day = Date::parse(&opened, &fmt).map_err(|_| StoreError::Corrupt {
            table: "warranty_claims",
            column: "opened_on",
            value: opened.clone(),
        })?;
        let mut m = MoneyFact {
            item: ItemRef {
                kind: KpiItemKind::Claim,
                id: id.clone(),
                label: number,
            },
            dims: Dims {
                model,
                advisor,
                technician,
                pay_type: Some(PayType::Warranty),
                ..orgs_tree.dims(&org)
            },
            at: day
                .with_hms(12, 0, 0)
                .map_or(day.midnight(), |t| t)
                .assume_utc(),
            currency,
            revenue_minor: 0,
            parts_cost_minor: 0,
            sublet_cost_minor: 0,
            labour_seconds: clocked.get(&job).copied().unwrap_or(0) / 1_000_000,
            driver_seconds: 0,
        };
        let clocked_any = m.labour_seconds > 0;
        for (_, kind, claimed, q, cost) in by_claim.get(id.as_str()).into_iter().flatten() {
            m.revenue_minor += claimed;
            match kind.as_str() {
                "part" => m.parts_cost_minor += cost * q / 100,
                "sublet" => m.sublet_cost_minor += cost * q / 100,
                // Nothing clocked: the hours claimed.
                "labour" if !clocked_any => m.labour_seconds += q * 36,
                _ => {}
            }
        }
        f.money.push(m);
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

/// Technicians' attendance over a period (their weekly shifts less absences, up to today) and
/// the time they clocked on repair orders in it.
pub(crate) async fn load_times(
    pool: &sqlx::AnyPool,
    orgs_tree: &Orgs,
    orgs: &[String],
    window: Period,
    now: OffsetDateTime,
) -> Result<Vec<TechnicianTime>, StoreError> {
    let mut out = Vec::new();
    if orgs.is_empty() {
        return Ok(out);
    }
    let n = orgs.len();
    let in_orgs = placeholders(1, n);
    let binds: Vec<B> = orgs.iter().cloned().map(B::S).collect();
    let sql = format!(
        "SELECT t.user_id, t.organisation_id, u.display_name FROM technicians t JOIN users u ON u.id = t.user_id \
         WHERE t.organisation_id IN ({in_orgs})"
    );
    let techs: Vec<(String, String, String)> = bind_all_as(sqlx::query_as(&sql), &binds)
        .fetch_all(pool)
        .await?;
    if techs.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT user_id, organisation_id, weekday, starts, ends FROM technician_shifts WHERE organisation_id IN ({in_orgs})"
    );
    let shifts: Vec<(String, String, i64, String, String)> =
        bind_all_as(sqlx::query_as(&sql), &binds)
            .fetch_all(pool)
            .await?;
    let (from, _) = window.bounds();
    let to = (window.to.min(now.date() - Duration::days(1)) + Duration::days(1))
        .midnight()
        .assume_utc();
    let mut b2 = binds.clone();
    b2.extend([B::I(micros(from)), B::I(micros(to))]);
    let sql = format!(
        "SELECT a.user_id, a.starts_at, a.ends_at FROM technician_absences a WHERE a.user_id IN \
         (SELECT t.user_id FROM technicians t WHERE t.organisation_id IN ({in_orgs})) AND a.ends_at > ${} AND a.starts_at < ${}",
        n + 1,
        n + 2
    );
    let absences: Vec<(String, i64, i64)> = bind_all_as(sqlx::query_as(&sql), &b2)
        .fetch_all(pool)
        .await?;
    // Only whole days: today's shift is not over (and its clockings wait with it).
    let last_day = window.to.min(now.date() - Duration::days(1));
    let clocked = super::rollups::clocked(pool, orgs, window.from, last_day).await?;
    let today = now.date();
    let worked = Period {
        from: window.from,
        to: window.to.min(today - Duration::days(1)),
    };
    for (user, org, name) in techs {
        let pattern: Vec<(u8, i64, i64)> = shifts
            .iter()
            .filter(|s| s.0 == user && s.1 == org)
            .map(|s| {
                (
                    u8::try_from(s.2 + 1).unwrap_or(0),
                    time_of(&s.3),
                    time_of(&s.4),
                )
            })
            .collect();
        let off: Vec<(Date, Date)> = absences
            .iter()
            .filter(|a| a.0 == user)
            .map(|a| {
                (
                    from_micros(a.1).date(),
                    (from_micros(a.2) - Duration::microseconds(1)).date(),
                )
            })
            .collect();
        let attendance = if worked.from <= worked.to {
            kpi::attendance_seconds(&pattern, &off, worked)
        } else {
            0
        };
        let clocked_seconds = clocked
            .get(&(user.clone(), org.clone()))
            .copied()
            .unwrap_or(0)
            / 1_000_000;
        out.push(TechnicianTime {
            technician: user,
            name,
            dims: orgs_tree.dims(&org),
            attendance_seconds: attendance,
            clocked_seconds,
        });
    }
    Ok(out)
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

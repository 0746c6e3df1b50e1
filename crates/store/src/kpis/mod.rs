//! KPIs (capability kpis, issue 20): every figure computed from what happened (facts.rs reads
//! it, `domain::kpi::formulas` decides), so any past period can be recomputed and drills down:
//! KPI → breakdown (market, service point, advisor, technician, model, pay type, month) → the
//! items → the repair order, case, claim or invoice. Targets per KPI, organisation and month on
//! with the red/amber/green rule, the service point's costs per hour (targets.rs). A market
//! manager's figures are those of the organisations in their scope, never another market's.

use std::collections::{BTreeMap, BTreeSet};

use aftersales_domain::kpi::formulas::HourlyCosts;
use aftersales_domain::kpi::{self, Contribution, Dimension, Kpi, KpiItemKind, Period, Rag};
use aftersales_domain::org::Permission;
use aftersales_domain::workshop::PayType;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::scope::Scope;
use crate::Ref;

pub use aftersales_api_types::kpis::{
    BreakdownRow, KpiCosts, KpiCostsInput, KpiDefinition, KpiItem, KpiReport, KpiTarget,
    KpiTargetInput, KpiValue,
};

mod digests;
mod facts;
mod history;
mod report;
mod rollups;
mod targets;

pub use digests::{digest_period, DueDigest, FREQUENCIES};
pub use history::PointStaff;

use facts::Facts;
pub(crate) use facts::Orgs;
pub(crate) use facts::VisitRow;

crate::capability!(
    /// KPIs: `store.kpis().report(..)`.
    Kpis, kpis
);

/// What a view of the KPIs covers: the filters in its URL.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiQuery {
    pub period: Period,
    /// An organisation in reach (a market entity, an importer, a service point) and all below
    /// it; none: everything in reach.
    pub organisation: Option<String>,
    pub model: Option<String>,
    pub pay_type: Option<PayType>,
}

/// A dashboard: each KPI's figure against its target, and the same side by side per column
/// (service points for a market manager, markets for headquarters).
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub values: Vec<KpiValue>,
    pub by: Option<Dimension>,
    /// (the column, its figures in the order of `values`).
    pub columns: Vec<(Ref, Vec<KpiValue>)>,
}

/// Figures per `(KPI, service point, month index)`.
pub(crate) type Monthly = BTreeMap<(Kpi, String, usize), kpi::Figure>;

/// A share of a figure: one item's contribution (read from the facts) or a roll-up row's sums.
#[derive(Debug, Clone)]
struct Part {
    org: String,
    /// The month (`year × 12 + month − 1`), for a breakdown by month from the roll-ups.
    month: Option<i64>,
    num: f64,
    den: f64,
    items: usize,
    currency: Option<String>,
}

impl Part {
    fn of(c: &Contribution) -> Part {
        Part {
            org: c.dims.service_point.clone(),
            month: None,
            num: c.num,
            den: c.den,
            items: 1,
            currency: c.currency.clone(),
        }
    }
}

fn figure_of<'a>(k: Kpi, parts: impl IntoIterator<Item = &'a Part>) -> kpi::Figure {
    kpi::figure_of_sums(
        k,
        parts
            .into_iter()
            .map(|p| (p.num, p.den, p.items, p.currency.as_deref())),
    )
}

/// A KPI's shares over a view's period and over the period before.
type Both = (Vec<Part>, Vec<Part>);

/// Whether a view reads the roll-ups: no model or pay-type filter (the roll-ups are kept per
/// organisation and day, not per model or pay type).
fn unfiltered(q: &KpiQuery) -> bool {
    q.model.is_none() && q.pay_type.is_none()
}

/// The facts of a query with what is needed to read them.
struct Loaded {
    orgs: Orgs,
    /// The organisations the query reads (the caller's reach, cut to the filter).
    reach: Vec<String>,
    facts: Facts,
    costs: BTreeMap<String, HourlyCosts>,
    targets: Vec<KpiTarget>,
}

impl Loaded {
    fn costs_of(&self, org: &str) -> HourlyCosts {
        self.orgs
            .lineage(org)
            .iter()
            .find_map(|o| self.costs.get(o).copied())
            .unwrap_or_default()
    }

    fn contributions(
        &self,
        k: Kpi,
        q: &KpiQuery,
        period: Period,
        now: OffsetDateTime,
    ) -> Vec<Contribution> {
        let mut cs = facts::contributions(k, &self.facts, period, now, &|o| self.costs_of(o));
        if let Some(m) = &q.model {
            cs.retain(|c| c.dims.model.as_deref() == Some(m.as_str()));
        }
        if let Some(p) = q.pay_type {
            if k.dimensions().contains(&Dimension::PayType) {
                cs.retain(|c| c.dims.pay_type == Some(p));
            }
        }
        cs
    }

    /// The target in force for `org` (or the nearest organisation above it with one).
    fn target(&self, k: Kpi, org: &str, period: Period) -> Option<KpiTarget> {
        for o in self.orgs.lineage(org) {
            let best = self
                .targets
                .iter()
                .filter(|t| t.kpi == k && t.organisation.id == o && t.valid_from <= period.from)
                .max_by_key(|t| t.valid_from);
            if let Some(t) = best {
                return Some(t.clone());
            }
        }
        None
    }

    /// A KPI's shares over the period and the one before from the facts, computed once for a
    /// view.
    fn both(&self, k: Kpi, q: &KpiQuery, now: OffsetDateTime) -> Both {
        (
            self.contributions(k, q, q.period, now)
                .iter()
                .map(Part::of)
                .collect(),
            self.contributions(k, q, q.period.previous(), now)
                .iter()
                .map(Part::of)
                .collect(),
        )
    }

    /// A roll-up row as a share, the organisation's hourly costs charged on a margin.
    fn part_of(&self, r: &rollups::Rolled) -> Part {
        Part {
            num: r.num(self.costs_of(&r.org)),
            org: r.org.clone(),
            month: r.month,
            den: r.sums.den,
            items: usize::try_from(r.sums.items).unwrap_or(0),
            currency: r.currency.clone(),
        }
    }

    /// The figure of `org` (all, without one) against its target.
    fn value(&self, k: Kpi, q: &KpiQuery, (current, before): &Both, org: Option<&str>) -> KpiValue {
        let within = |p: &&Part| match org {
            Some(o) => self.orgs.is_under(&p.org, o),
            None => true,
        };
        let figure = figure_of(k, current.iter().filter(within));
        let previous = figure_of(k, before.iter().filter(within));
        self.judged(k, q, figure, previous, org)
    }

    /// A figure and the one before, against the target in force for `org`.
    fn judged(
        &self,
        k: Kpi,
        q: &KpiQuery,
        figure: kpi::Figure,
        previous: kpi::Figure,
        org: Option<&str>,
    ) -> KpiValue {
        let target = org.and_then(|o| self.target(k, o, q.period));
        let rag = target
            .as_ref()
            .zip(figure.value)
            .map(|(t, v)| rag_of(k, t, v));
        KpiValue {
            kpi: k,
            figure,
            previous,
            target,
            rag,
        }
    }
}

/// Where an item is opened in the product.
pub fn href(kind: KpiItemKind, id: &str) -> Option<String> {
    match kind {
        KpiItemKind::RepairOrder => Some(format!("/workshop/repair-orders/{id}")),
        KpiItemKind::Case => Some(format!("/cases/{id}")),
        KpiItemKind::Claim => Some(format!("/warranty/claims/{id}")),
        KpiItemKind::Invoice => Some(format!("/billing/documents/{id}")),
        KpiItemKind::Technician => None,
    }
}

impl Kpis<'_> {
    /// The organisations a query reads: those in reach (with `KpiRead`), cut to the filter's
    /// subtree. An organisation out of reach is not found.
    async fn orgs_of(
        &self,
        scope: &Scope,
        q: &KpiQuery,
    ) -> Result<(Orgs, Vec<String>), StoreError> {
        scope.require_somewhere(Permission::KpiRead)?;
        let orgs = Orgs::load(&self.store.pool).await?;
        let mut reach = scope.orgs_with(Permission::KpiRead);
        if let Some(o) = &q.organisation {
            if !reach.contains(o) {
                return Err(StoreError::NotFound);
            }
            reach.retain(|r| orgs.is_under(r, o));
        }
        Ok((orgs, reach))
    }

    async fn load(
        &self,
        scope: &Scope,
        q: &KpiQuery,
        kpis: &[Kpi],
        now: OffsetDateTime,
    ) -> Result<Loaded, StoreError> {
        let (orgs, reach) = self.orgs_of(scope, q).await?;
        let window = Period {
            from: q.period.previous().from,
            to: q.period.to,
        };
        let mut facts = facts::load(
            &self.store.pool,
            &orgs,
            &reach,
            window,
            facts::Needs::of(kpis),
        )
        .await?;
        if kpis.contains(&Kpi::Productivity) {
            for p in [q.period, q.period.previous()] {
                let t = facts::load_times(&self.store.pool, &orgs, &reach, p, now).await?;
                facts.times.push((p, t));
            }
        }
        let costs = self.costs_map().await?;
        let targets = self.targets_of(&orgs, &reach).await?;
        Ok(Loaded {
            orgs,
            reach,
            facts,
            costs,
            targets,
        })
    }

    /// The organisation whose targets a whole view is judged against: the filter, or the one
    /// organisation at the top of the caller's reach.
    fn view_org(orgs: &Orgs, reach: &[String], q: &KpiQuery) -> Option<String> {
        if let Some(o) = &q.organisation {
            return Some(o.clone());
        }
        let tops: Vec<&String> = reach
            .iter()
            .filter(|r| {
                orgs.by_id
                    .get(*r)
                    .and_then(|o| o.parent.as_ref())
                    .is_none_or(|p| !reach.contains(p))
            })
            .collect();
        (tops.len() == 1).then(|| tops[0].clone())
    }

    /// What a dashboard sets side by side: markets for a reader who reaches service points in
    /// more than one, service points for one who reaches several in one market, nothing for a
    /// reader of one service point.
    pub async fn columns(
        self,
        scope: &Scope,
        q: &KpiQuery,
    ) -> Result<Option<Dimension>, StoreError> {
        let (orgs, reach) = self.orgs_of(scope, q).await?;
        let points: Vec<&facts::OrgRow> = reach
            .iter()
            .filter_map(|r| orgs.by_id.get(r))
            .filter(|o| o.kind == "service-point")
            .collect();
        let markets: BTreeSet<&str> = points
            .iter()
            .filter_map(|o| o.market.as_ref().map(|m| m.0.as_str()))
            .collect();
        Ok(if markets.len() > 1 {
            Some(Dimension::Market)
        } else if points.len() > 1 {
            Some(Dimension::ServicePoint)
        } else {
            None
        })
    }

    /// Each computed KPI over the query's period against its target; with `columns`, the same
    /// per service point or market side by side. Read from the roll-ups where the view has no
    /// model or pay-type filter.
    pub async fn dashboard(
        self,
        scope: &Scope,
        q: &KpiQuery,
        columns: Option<Dimension>,
        now: OffsetDateTime,
    ) -> Result<Dashboard, StoreError> {
        self.dashboard_via(scope, q, columns, now, true).await
    }

    /// Brings the roll-ups up to date: every read does it first; the hourly run does it so a
    /// reader seldom waits (after a new day, or a large import, there is more to add up).
    pub async fn refresh(self, now: OffsetDateTime) -> Result<(), StoreError> {
        rollups::refresh(&self.store.pool, now).await
    }

    /// The same dashboard computed from the facts alone, every item of the period read: what
    /// the roll-ups are checked against (tests) and measured beside (the benchmark).
    pub async fn dashboard_from_facts(
        self,
        scope: &Scope,
        q: &KpiQuery,
        columns: Option<Dimension>,
        now: OffsetDateTime,
    ) -> Result<Dashboard, StoreError> {
        self.dashboard_via(scope, q, columns, now, false).await
    }

    async fn dashboard_via(
        self,
        scope: &Scope,
        q: &KpiQuery,
        columns: Option<Dimension>,
        now: OffsetDateTime,
        use_rollups: bool,
    ) -> Result<Dashboard, StoreError> {
        let all: Vec<Kpi> = Kpi::computed().collect();
        let (rolled, from_facts): (Vec<Kpi>, Vec<Kpi>) = all
            .iter()
            .partition(|k| use_rollups && unfiltered(q) && rollups::rolled(**k));
        let loaded = self.load(scope, q, &from_facts, now).await?;
        let reach = &loaded.reach;
        let view = Self::view_org(&loaded.orgs, reach, q);
        let mut from_rollups = self.rolled(&loaded, &rolled, q.period, false, now).await?;
        let computed: Vec<(Kpi, Both)> = all
            .iter()
            .map(|k| {
                let both = from_rollups
                    .remove(k)
                    .unwrap_or_else(|| loaded.both(*k, q, now));
                (*k, both)
            })
            .collect();
        let values = computed
            .iter()
            .map(|(k, cs)| loaded.value(*k, q, cs, view.as_deref()))
            .collect();
        let mut cols = Vec::new();
        if let Some(by) = columns {
            let keys: BTreeSet<String> = match by {
                Dimension::Market => reach
                    .iter()
                    .filter_map(|r| loaded.orgs.by_id.get(r))
                    .filter(|o| o.kind == "market-entity")
                    .map(|o| o.id.clone())
                    .collect(),
                _ => reach
                    .iter()
                    .filter_map(|r| loaded.orgs.by_id.get(r))
                    .filter(|o| o.kind == "service-point")
                    .map(|o| o.id.clone())
                    .collect(),
            };
            let mut named: Vec<Ref> = keys
                .into_iter()
                .map(|id| Ref {
                    label: loaded.orgs.name(&id),
                    id,
                })
                .collect();
            named.sort_by(|a, b| a.label.cmp(&b.label));
            // Each share goes to its column once (a column holds the organisations below it),
            // rather than every column filtering every share.
            let index: BTreeMap<&str, usize> = named
                .iter()
                .enumerate()
                .map(|(i, r)| (r.id.as_str(), i))
                .collect();
            let mut column_of: BTreeMap<&str, Option<usize>> = BTreeMap::new();
            let mut per_column: Vec<Vec<(Vec<&Part>, Vec<&Part>)>> =
                vec![vec![(Vec::new(), Vec::new()); computed.len()]; named.len()];
            for (ki, (_, (current, before))) in computed.iter().enumerate() {
                for (side, parts) in [current, before].into_iter().enumerate() {
                    for p in parts {
                        let col = *column_of.entry(p.org.as_str()).or_insert_with(|| {
                            loaded
                                .orgs
                                .lineage(&p.org)
                                .iter()
                                .find_map(|o| index.get(o.as_str()).copied())
                        });
                        if let Some(c) = col {
                            let cell = &mut per_column[c][ki];
                            if side == 0 {
                                cell.0.push(p);
                            } else {
                                cell.1.push(p);
                            }
                        }
                    }
                }
            }
            for (r, cells) in named.into_iter().zip(per_column) {
                let vs = computed
                    .iter()
                    .zip(cells)
                    .map(|((k, _), (current, before))| {
                        loaded.judged(
                            *k,
                            q,
                            figure_of(*k, current),
                            figure_of(*k, before),
                            Some(&r.id),
                        )
                    })
                    .collect();
                cols.push((r, vs));
            }
        }
        Ok(Dashboard {
            values,
            by: columns,
            columns: cols,
        })
    }

    /// The models of the vehicles the caller's organisations service (for the filter).
    pub async fn models(self, scope: &Scope) -> Result<Vec<String>, StoreError> {
        let reach = scope.orgs_with(Permission::KpiRead);
        if reach.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT DISTINCT v.model FROM repair_orders r JOIN vehicles v ON v.id = r.vehicle_id \
             WHERE r.organisation_id IN ({}) AND v.model IS NOT NULL ORDER BY v.model",
            crate::db::placeholders(1, reach.len())
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for o in &reach {
            q = q.bind(o);
        }
        Ok(q.fetch_all(&self.store.pool).await?)
    }

    /// The organisations a view may be filtered to: those in reach that hold service points or
    /// are one, nearest the top first.
    pub async fn organisations(self, scope: &Scope) -> Result<Vec<Ref>, StoreError> {
        let orgs = Orgs::load(&self.store.pool).await?;
        let reach = scope.orgs_with(Permission::KpiRead);
        let mut out: Vec<(usize, Ref)> = reach
            .iter()
            .filter_map(|r| orgs.by_id.get(r))
            .filter(|o| {
                matches!(
                    o.kind.as_str(),
                    "market-entity" | "importer" | "service-point" | "brand-hq"
                )
            })
            .map(|o| {
                (
                    orgs.lineage(&o.id).len(),
                    Ref {
                        id: o.id.clone(),
                        label: o.name.clone(),
                    },
                )
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.label.cmp(&b.1.label)));
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }
}

fn rag_of(k: Kpi, t: &KpiTarget, v: f64) -> Rag {
    kpi::Target {
        green: t.green,
        amber: t.amber,
    }
    .rag(k, v)
}

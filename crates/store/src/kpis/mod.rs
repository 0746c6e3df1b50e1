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

/// A KPI's contributions over a view's period and over the period before.
type Both = (Vec<Contribution>, Vec<Contribution>);

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

    /// A KPI's contributions over the period and the one before, computed once for a view.
    fn both(
        &self,
        k: Kpi,
        q: &KpiQuery,
        now: OffsetDateTime,
    ) -> (Vec<Contribution>, Vec<Contribution>) {
        (
            self.contributions(k, q, q.period, now),
            self.contributions(k, q, q.period.previous(), now),
        )
    }

    /// The figure of `org` (all, without one) against its target.
    fn value(&self, k: Kpi, q: &KpiQuery, (current, before): &Both, org: Option<&str>) -> KpiValue {
        let within = |c: &&Contribution| match org {
            Some(o) => self.orgs.is_under(&c.dims.service_point, o),
            None => true,
        };
        let figure = kpi::figure(k, current.iter().filter(within));
        let previous = kpi::figure(k, before.iter().filter(within));
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
    /// per service point or market side by side.
    pub async fn dashboard(
        self,
        scope: &Scope,
        q: &KpiQuery,
        columns: Option<Dimension>,
        now: OffsetDateTime,
    ) -> Result<Dashboard, StoreError> {
        let all: Vec<Kpi> = Kpi::computed().collect();
        let loaded = self.load(scope, q, &all, now).await?;
        let reach = &loaded.reach;
        let view = Self::view_org(&loaded.orgs, reach, q);
        let computed: Vec<(Kpi, Both)> =
            all.iter().map(|k| (*k, loaded.both(*k, q, now))).collect();
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
            for r in named {
                let vs = computed
                    .iter()
                    .map(|(k, cs)| loaded.value(*k, q, cs, Some(&r.id)))
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

    /// One KPI over the query's period: its figure against the target, the breakdown by `by`,
    /// and the newest `limit` items behind it.
    pub async fn report(
        self,
        scope: &Scope,
        k: Kpi,
        q: &KpiQuery,
        by: Dimension,
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<KpiReport, StoreError> {
        if let Some(page) = k.computed_at() {
            return Err(StoreError::Invalid(
                aftersales_domain::FieldError::new(
                    "code",
                    aftersales_domain::Rule::NotAllowed,
                    format!("{} is computed on {page}", k.as_str()),
                )
                .into(),
            ));
        }
        if !k.dimensions().contains(&by) {
            return Err(StoreError::Invalid(
                aftersales_domain::FieldError::new(
                    "by",
                    aftersales_domain::Rule::OneOf,
                    format!(
                        "by must be one of {}",
                        k.dimensions()
                            .iter()
                            .map(|d| d.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .into(),
            ));
        }
        let loaded = self.load(scope, q, &[k], now).await?;
        let view = Self::view_org(&loaded.orgs, &loaded.reach, q);
        let both = loaded.both(k, q, now);
        let value = loaded.value(k, q, &both, view.as_deref());
        let mut cs = both.0;
        if let Some(o) = &view {
            cs.retain(|c| loaded.orgs.is_under(&c.dims.service_point, o));
        }
        let people = self.people(&cs).await?;
        let breakdown = kpi::breakdown(k, &cs, by)
            .into_iter()
            .map(|(key, figure)| {
                let label = match (&key, by) {
                    (None, _) => String::new(),
                    (Some(id), Dimension::ServicePoint) => loaded.orgs.name(id),
                    (Some(id), Dimension::Market) => {
                        loaded.orgs.market_name(id).unwrap_or_else(|| id.clone())
                    }
                    (Some(id), Dimension::Advisor | Dimension::Technician) => {
                        people.get(id).cloned().unwrap_or_default()
                    }
                    (Some(v), _) => v.clone(),
                };
                let rag = match (&key, by) {
                    (Some(id), Dimension::ServicePoint) => loaded
                        .target(k, id, q.period)
                        .zip(figure.value)
                        .map(|(t, v)| rag_of(k, &t, v)),
                    _ => None,
                };
                BreakdownRow {
                    key,
                    label,
                    figure,
                    rag,
                }
            })
            .collect();
        cs.sort_by(|a, b| {
            b.at.cmp(&a.at)
                .then_with(|| a.item.label.cmp(&b.item.label))
        });
        let items_total = cs.len();
        let split = |c: &Contribution| {
            if k != Kpi::Turnaround {
                return None;
            }
            loaded
                .facts
                .ros
                .iter()
                .find(|r| r.id == c.item.id)
                .and_then(aftersales_domain::kpi::formulas::turnaround_split)
        };
        let items = cs
            .into_iter()
            .take(limit)
            .map(|c| KpiItem {
                active_hours: split(&c).map(|s| s.0),
                waiting_hours: split(&c).map(|s| s.1),
                href: href(c.item.kind, &c.item.id),
                at: c.at,
                service_point: Ref {
                    label: loaded.orgs.name(&c.dims.service_point),
                    id: c.dims.service_point,
                },
                numerator: c.num,
                denominator: c.den,
                currency: c.currency,
                item: c.item,
            })
            .collect();
        Ok(KpiReport {
            kpi: k,
            from: q.period.from,
            to: q.period.to,
            value,
            by,
            breakdown,
            items,
            items_total,
        })
    }

    /// Each KPI's figure per service point and month, for the pilots: `(kpi, point, month
    /// index)`. The caller has checked that the points are in reach.
    pub(crate) async fn monthly(
        self,
        points: &[String],
        kpis: &[Kpi],
        months: &[Period],
        now: OffsetDateTime,
    ) -> Result<Monthly, StoreError> {
        let mut out = Monthly::new();
        let (Some(first), Some(last)) = (months.first(), months.last()) else {
            return Ok(out);
        };
        let orgs = Orgs::load(&self.store.pool).await?;
        let window = Period {
            from: first.from,
            to: last.to,
        };
        let mut facts = facts::load(
            &self.store.pool,
            &orgs,
            points,
            window,
            facts::Needs::of(kpis),
        )
        .await?;
        if kpis.contains(&Kpi::Productivity) {
            for m in months {
                let t = facts::load_times(&self.store.pool, &orgs, points, *m, now).await?;
                facts.times.push((*m, t));
            }
        }
        let loaded = Loaded {
            orgs,
            reach: points.to_vec(),
            facts,
            costs: self.costs_map().await?,
            targets: Vec::new(),
        };
        for k in kpis {
            for (i, m) in months.iter().enumerate() {
                let cs = facts::contributions(*k, &loaded.facts, *m, now, &|o| loaded.costs_of(o));
                let mut by: BTreeMap<&str, Vec<&Contribution>> = BTreeMap::new();
                for c in &cs {
                    by.entry(c.dims.service_point.as_str()).or_default().push(c);
                }
                for (point, group) in by {
                    out.insert((*k, point.to_string(), i), kpi::figure(*k, group));
                }
            }
        }
        Ok(out)
    }

    /// Names of the advisors and technicians in contributions.
    async fn people(&self, cs: &[Contribution]) -> Result<BTreeMap<String, String>, StoreError> {
        let ids: BTreeSet<&str> = cs
            .iter()
            .flat_map(|c| [c.dims.advisor.as_deref(), c.dims.technician.as_deref()])
            .flatten()
            .collect();
        let mut out = BTreeMap::new();
        for chunk in ids.into_iter().collect::<Vec<_>>().chunks(500) {
            let sql = format!(
                "SELECT id, display_name FROM users WHERE id IN ({})",
                crate::db::placeholders(1, chunk.len())
            );
            let mut q = sqlx::query_as::<_, (String, String)>(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            out.extend(q.fetch_all(&self.store.pool).await?);
        }
        Ok(out)
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

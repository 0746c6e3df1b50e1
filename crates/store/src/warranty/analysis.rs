//! Claim analysis over the vehicles and claims a caller reaches (issue 18): claims per 1,000
//! vehicles by months in service, cost per unit, a Weibull fit per component by months in
//! service and by km, and a Laney u′ chart of a component's monthly claim rate. The store counts in SQL
//! (grouped to a few thousand rows however many claims there are); the statistics are
//! `domain::analysis`. Who: those with `WarrantyAnalyse` (market managers, importer staff,
//! analysts, warranty administrators), over the organisations they have it at: the vehicles
//! those organisations own and the claims made on them.
//!
//! Which claims count: every claim that was submitted and not rejected (drafts and rejections
//! are not failures the brand pays for). A claim's month in service is counted from 1 (the
//! first month after delivery), from the delivery day the claim states to the day the car came
//! in. Money is the approved amount where a decision was made, else the claimed amount.

use aftersales_domain::analysis::control::{
    laney_u_prime, ControlChart, ControlOptions, RatePoint,
};
use aftersales_domain::analysis::funnel::{self, Funnel, FunnelOptions, MeanUnit, Overdispersion};
use aftersales_domain::analysis::mis::{self, MisMatrix};
use aftersales_domain::analysis::weibull::{self, Observation, WeibullFit};
use aftersales_domain::org::Permission;
use aftersales_domain::warranty::goodwill::ComponentGroup;
use time::Date;

use super::Warranty;
use crate::db::placeholders;
use crate::error::StoreError;
use crate::scope::Scope;

/// Months from a `YYYY-MM-DD` column `d` to another `o`, in SQL both engines read.
fn months_sql(d: &str, o: &str) -> String {
    format!(
        "((CAST(SUBSTR({o}, 1, 4) AS INTEGER) * 12 + CAST(SUBSTR({o}, 6, 2) AS INTEGER)) \
         - (CAST(SUBSTR({d}, 1, 4) AS INTEGER) * 12 + CAST(SUBSTR({d}, 6, 2) AS INTEGER)) \
         - CASE WHEN SUBSTR({o}, 9, 2) < SUBSTR({d}, 9, 2) THEN 1 ELSE 0 END)"
    )
}

/// The claims that count as failures.
const COUNTED: &str = "c.status NOT IN ('draft', 'rejected')";

/// The delivery quarter of a `YYYY-MM-DD` day: `2024-Q1`.
fn quarter_of(day: &str) -> Option<String> {
    let year = day.get(..4)?;
    let month: u32 = day.get(5..7)?.parse().ok()?;
    Some(format!("{year}-Q{}", (month.max(1) - 1) / 3 + 1))
}

/// Money of the analysis: parts (and sublet) and labour, the supplier's recovery, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimCost {
    pub parts: i64,
    pub labour: i64,
    pub sublet: i64,
    pub recovered: i64,
    /// Charged back to service points after audits.
    pub charged_back: i64,
}

/// Cost per unit over the vehicles reached (CPU in the KPI definitions).
#[derive(Debug, Clone, PartialEq)]
pub struct CostPerUnit {
    /// Vehicles in service (delivered) the figures are per.
    pub vehicles: i64,
    /// Claims counted.
    pub claims: i64,
    pub currency: Option<String>,
    pub cost: ClaimCost,
    /// Goodwill approved, by who bears it: brand, importer, service point, customer.
    pub goodwill: [i64; 4],
}

impl CostPerUnit {
    /// Warranty cost (parts + labour + sublet) per vehicle, in minor units.
    pub fn per_unit(&self) -> Option<f64> {
        let total = self.cost.parts + self.cost.labour + self.cost.sublet - self.cost.charged_back;
        (self.vehicles > 0).then(|| total as f64 / self.vehicles as f64)
    }
    /// Supplier recovery ÷ warranty cost.
    pub fn recovery_share(&self) -> Option<f64> {
        let total = self.cost.parts + self.cost.labour + self.cost.sublet;
        (total > 0).then(|| self.cost.recovered as f64 / total as f64)
    }
}

/// A breakdown of claims per 1,000: of one component group, model (as the vehicle names it) or
/// market (its code), and repairs (repair orders with a claim) rather than claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MisQuery {
    pub component: Option<ComponentGroup>,
    pub model: Option<String>,
    pub market: Option<String>,
    pub repairs: bool,
}

/// What a funnel compares service points on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerMeasure {
    /// Labour hours claimed per claim.
    LabourPerClaim,
    /// Money per claim (approved where decided, else claimed), in minor units.
    CostPerClaim,
}

/// Service points against their peers on a measure per claim.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerFunnel {
    pub measure: PeerMeasure,
    /// The service points in the funnel's order: (id, name).
    pub points: Vec<(String, String)>,
    pub funnel: Funnel,
    /// The standard deviation of one claim's value, pooled.
    pub sd: f64,
}

/// Fewer units than this cannot estimate the spread between them: limits allow for chance only.
pub const MIN_UNITS_FOR_OVERDISPERSION: usize = 10;

/// A component's monthly claim rate as a Laney u′ chart, with the months it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct EarlyWarning {
    pub component: ComponentGroup,
    /// First day of each month charted, oldest first.
    pub months: Vec<Date>,
    pub chart: ControlChart,
}

impl Warranty<'_> {
    /// The organisations the caller analyses claims at.
    fn analysed(scope: &Scope) -> Result<Vec<String>, StoreError> {
        scope.require_somewhere(Permission::WarrantyAnalyse)?;
        Ok(scope.orgs_with(Permission::WarrantyAnalyse))
    }

    /// Delivered vehicles reached, by delivery day: (day, count).
    async fn deliveries(self, orgs: &[String], on: Date) -> Result<Vec<(String, i64)>, StoreError> {
        self.deliveries_of(orgs, on, &MisQuery::default()).await
    }

    /// The filter of a breakdown (model, market) as SQL on `v`, with its values after `first`.
    fn breakdown(q: &MisQuery, first: usize) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut values = Vec::new();
        if let Some(m) = &q.model {
            values.push(m.clone());
            sql.push_str(&format!(" AND v.model = ${}", first + values.len()));
        }
        if let Some(code) = &q.market {
            values.push(code.clone());
            sql.push_str(&format!(
                " AND v.organisation_id IN (SELECT o.id FROM organisations o JOIN markets mk ON mk.id = o.market_id WHERE mk.code = ${})",
                first + values.len()
            ));
        }
        (sql, values)
    }

    /// Delivered vehicles reached (of a model, in a market), by delivery day: (day, count).
    async fn deliveries_of(
        self,
        orgs: &[String],
        on: Date,
        filter: &MisQuery,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let (extra, values) = Self::breakdown(filter, orgs.len() + 1);
        let sql = format!(
            "SELECT v.delivery_date, COUNT(*) FROM vehicles v WHERE v.organisation_id IN ({}) \
             AND v.delivery_date IS NOT NULL AND v.delivery_date <= ${}{extra} GROUP BY v.delivery_date",
            placeholders(1, orgs.len()),
            orgs.len() + 1
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
        for o in orgs {
            q = q.bind(o);
        }
        q = q.bind(on.to_string());
        for v in &values {
            q = q.bind(v);
        }
        Ok(q.fetch_all(&self.store.pool).await?)
    }

    /// Counted claims (or the repair orders behind them) on vehicles reached, grouped by the
    /// vehicle's delivery day and the month in service (from 1): (delivery day, month, count).
    async fn claims_by_month(
        self,
        orgs: &[String],
        on: Date,
        filter: &MisQuery,
    ) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let n = orgs.len();
        let mis = months_sql("v.delivery_date", "c.opened_on");
        let mut values = Vec::new();
        let mut extra = String::new();
        if let Some(c) = filter.component {
            values.push(c.as_str().to_string());
            extra.push_str(&format!(
                " AND c.component_group = ${}",
                n + 1 + values.len()
            ));
        }
        let (more, more_values) = Self::breakdown(filter, n + 1 + values.len());
        extra.push_str(&more);
        values.extend(more_values);
        let count = if filter.repairs {
            "COUNT(DISTINCT c.repair_order_id)"
        } else {
            "COUNT(*)"
        };
        let sql = format!(
            "SELECT v.delivery_date, {mis} + 1 AS m, {count} FROM warranty_claims c JOIN vehicles v ON v.id = c.vehicle_id \
             WHERE v.organisation_id IN ({}) AND v.delivery_date IS NOT NULL AND {COUNTED} AND c.opened_on <= ${} \
             AND c.opened_on >= v.delivery_date{extra} GROUP BY v.delivery_date, {mis} + 1",
            placeholders(1, n),
            n + 1,
        );
        let mut q = sqlx::query_as::<_, (String, i64, i64)>(&sql);
        for o in orgs {
            q = q.bind(o);
        }
        q = q.bind(on.to_string());
        for v in &values {
            q = q.bind(v);
        }
        Ok(q.fetch_all(&self.store.pool).await?)
    }

    /// The models and markets of the vehicles reached: the choices of a breakdown.
    pub async fn breakdowns(
        self,
        scope: &Scope,
    ) -> Result<(Vec<String>, Vec<(String, String)>), StoreError> {
        let orgs = Self::analysed(scope)?;
        let sql = format!(
            "SELECT DISTINCT v.model FROM vehicles v WHERE v.organisation_id IN ({}) AND v.model IS NOT NULL ORDER BY v.model",
            placeholders(1, orgs.len())
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let models = q.fetch_all(&self.store.pool).await?;
        let sql = format!(
            "SELECT DISTINCT mk.code, mk.name FROM organisations o JOIN markets mk ON mk.id = o.market_id \
             WHERE o.id IN ({}) ORDER BY mk.code",
            placeholders(1, orgs.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        Ok((models, q.fetch_all(&self.store.pool).await?))
    }

    /// Claims (or repairs) per 1,000 vehicles by months in service, a row per delivery quarter,
    /// up to `max_months` columns; of one component group, model or market when asked.
    pub async fn mis_matrix(
        self,
        scope: &Scope,
        on: Date,
        filter: &MisQuery,
        max_months: u32,
    ) -> Result<MisMatrix<String>, StoreError> {
        let orgs = Self::analysed(scope)?;
        let mut vehicles = Vec::new();
        for (day, count) in self.deliveries_of(&orgs, on, filter).await? {
            let Some(cohort) = quarter_of(&day) else {
                continue;
            };
            let Ok(d) = crate::crm::parse_date("delivery_date", &day) else {
                continue;
            };
            let entered =
                u32::try_from(aftersales_domain::analysis::history::months_between(d, on) + 1)
                    .unwrap_or(0);
            for _ in 0..count {
                vehicles.push(mis::Vehicle {
                    cohort: cohort.clone(),
                    months_in_service: entered,
                });
            }
        }
        let mut claims = Vec::new();
        for (day, month, count) in self.claims_by_month(&orgs, on, filter).await? {
            let (Some(cohort), Ok(month)) = (quarter_of(&day), u32::try_from(month)) else {
                continue;
            };
            for _ in 0..count {
                claims.push(mis::Claim {
                    cohort: cohort.clone(),
                    month_in_service: month,
                });
            }
        }
        mis::mis_matrix(&vehicles, &claims, Some(max_months))
            .map_err(|e| StoreError::Internal(format!("claims per 1,000: {e}")))
    }

    /// Warranty cost per unit over the vehicles reached, with supplier recovery and the
    /// goodwill approved split by who bears it.
    pub async fn cost_per_unit(self, scope: &Scope, on: Date) -> Result<CostPerUnit, StoreError> {
        let orgs = Self::analysed(scope)?;
        let n = orgs.len();
        let vehicles: i64 = self.deliveries(&orgs, on).await?.iter().map(|d| d.1).sum();
        let sql = format!(
            "SELECT l.kind, CAST(SUM(COALESCE(l.approved_minor, l.claimed_minor)) AS BIGINT), \
             CAST(SUM(COALESCE(l.recovery_minor, 0)) AS BIGINT), COUNT(DISTINCT c.id), MIN(c.currency) \
             FROM warranty_claims c JOIN vehicles v ON v.id = c.vehicle_id JOIN warranty_claim_lines l ON l.claim_id = c.id \
             WHERE v.organisation_id IN ({}) AND {COUNTED} AND c.opened_on <= ${} GROUP BY l.kind",
            placeholders(1, n),
            n + 1
        );
        let mut q = sqlx::query_as::<_, (String, i64, i64, i64, Option<String>)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let mut out = CostPerUnit {
            vehicles,
            claims: 0,
            currency: None,
            cost: ClaimCost::default(),
            goodwill: [0; 4],
        };
        for (kind, amount, recovered, _, currency) in
            q.bind(on.to_string()).fetch_all(&self.store.pool).await?
        {
            match kind.as_str() {
                "labour" => out.cost.labour += amount,
                "sublet" => out.cost.sublet += amount,
                _ => out.cost.parts += amount,
            }
            out.cost.recovered += recovered;
            out.currency = out.currency.or(currency);
        }
        let sql = format!(
            "SELECT COUNT(*), CAST(COALESCE(SUM(c.charged_back_minor), 0) AS BIGINT) FROM warranty_claims c \
             JOIN vehicles v ON v.id = c.vehicle_id WHERE v.organisation_id IN ({}) AND {COUNTED} AND c.opened_on <= ${}",
            placeholders(1, n),
            n + 1
        );
        let mut q = sqlx::query_as::<_, (i64, i64)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        (out.claims, out.cost.charged_back) =
            q.bind(on.to_string()).fetch_one(&self.store.pool).await?;
        let sql = format!(
            "SELECT g.goodwill_minor, g.customer_minor, g.brand_pct, g.importer_pct, g.dealer_pct FROM goodwill_requests g \
             JOIN vehicles v ON v.id = g.vehicle_id WHERE v.organisation_id IN ({}) AND g.status = 'approved'",
            placeholders(1, n)
        );
        let mut q = sqlx::query_as::<_, (i64, i64, i64, i64, i64)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        for (goodwill, customer, brand, importer, dealer) in q.fetch_all(&self.store.pool).await? {
            let brand_part = goodwill * brand / 100;
            let importer_part = goodwill * importer / 100;
            let _ = dealer;
            out.goodwill[0] += brand_part;
            out.goodwill[1] += importer_part;
            out.goodwill[2] += goodwill - brand_part - importer_part;
            out.goodwill[3] += customer;
        }
        Ok(out)
    }

    /// A Weibull fit of a component's first failure by months in service over the vehicles
    /// reached (each vehicle's first counted claim of the component a failure at its age then,
    /// every other vehicle a suspension at its age on `on`), at `confidence`.
    pub async fn weibull_by_months(
        self,
        scope: &Scope,
        on: Date,
        component: ComponentGroup,
        confidence: f64,
    ) -> Result<Result<WeibullFit, weibull::WeibullError>, StoreError> {
        let orgs = Self::analysed(scope)?;
        let n = orgs.len();
        let sql = format!(
            "SELECT v.delivery_date, MIN(c.opened_on) FROM warranty_claims c JOIN vehicles v ON v.id = c.vehicle_id \
             WHERE v.organisation_id IN ({}) AND v.delivery_date IS NOT NULL AND {COUNTED} AND c.component_group = ${} \
             AND c.opened_on <= ${} AND c.opened_on >= v.delivery_date GROUP BY v.id, v.delivery_date",
            placeholders(1, n),
            n + 1,
            n + 2
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let failed = q
            .bind(component.as_str())
            .bind(on.to_string())
            .fetch_all(&self.store.pool)
            .await?;
        let months = |from: &str, to: Date| -> Option<f64> {
            let d = crate::crm::parse_date("delivery_date", from).ok()?;
            Some(((to - d).whole_days().max(1)) as f64 / 30.4375)
        };
        let mut obs = Vec::new();
        let mut failures_by_day: std::collections::BTreeMap<String, i64> = Default::default();
        for (delivered, first) in &failed {
            let Ok(at) = crate::crm::parse_date("opened_on", first) else {
                continue;
            };
            if let Some(t) = months(delivered, at) {
                obs.push(Observation::failure(t));
                *failures_by_day.entry(delivered.clone()).or_default() += 1;
            }
        }
        for (day, count) in self.deliveries(&orgs, on).await? {
            let failed_here = failures_by_day.get(&day).copied().unwrap_or(0);
            if let Some(t) = months(&day, on) {
                for _ in 0..(count - failed_here).max(0) {
                    obs.push(Observation::suspension(t));
                }
            }
        }
        Ok(weibull::fit(&obs, confidence))
    }

    /// A Weibull fit of a component's first failure by km over the vehicles reached: each
    /// vehicle's first counted claim of the component a failure at the odometer it states, every
    /// other vehicle a suspension at its estimated km on `on`: its latest known reading (claims
    /// and recorded readings) carried forward at its own km per day since delivery, or at the
    /// fleet's median km per day when it has no reading.
    pub async fn weibull_by_km(
        self,
        scope: &Scope,
        on: Date,
        component: ComponentGroup,
        confidence: f64,
    ) -> Result<Result<WeibullFit, weibull::WeibullError>, StoreError> {
        use std::collections::HashMap;
        let orgs = Self::analysed(scope)?;
        let n = orgs.len();
        let bind_orgs = |sql: &str| -> String { sql.replace("{orgs}", &placeholders(1, n)) };
        let sql = bind_orgs(
            "SELECT v.id, v.delivery_date FROM vehicles v WHERE v.organisation_id IN ({orgs}) \
             AND v.delivery_date IS NOT NULL AND v.delivery_date <= $X",
        )
        .replace("$X", &format!("${}", n + 1));
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let vehicles = q.bind(on.to_string()).fetch_all(&self.store.pool).await?;
        // The latest known km per vehicle, with the day it was read.
        let mut latest: HashMap<String, (i64, Date)> = HashMap::new();
        let sql = bind_orgs(&format!(
            "SELECT c.vehicle_id, c.odometer_km, c.opened_on, c.component_group, c.status FROM warranty_claims c \
             JOIN vehicles v ON v.id = c.vehicle_id WHERE v.organisation_id IN ({{orgs}}) AND c.opened_on <= ${} \
             AND v.delivery_date IS NOT NULL",
            n + 1
        ));
        let mut q = sqlx::query_as::<_, (String, i64, String, Option<String>, String)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let mut first: HashMap<String, (Date, i64)> = HashMap::new();
        for (vehicle, km, opened, group, status) in
            q.bind(on.to_string()).fetch_all(&self.store.pool).await?
        {
            let Ok(day) = crate::crm::parse_date("opened_on", &opened) else {
                continue;
            };
            let e = latest.entry(vehicle.clone()).or_insert((km, day));
            if km > e.0 {
                *e = (km, day);
            }
            let counted = status != "draft" && status != "rejected";
            if counted && group.as_deref() == Some(component.as_str()) {
                let f = first.entry(vehicle).or_insert((day, km));
                if day < f.0 {
                    *f = (day, km);
                }
            }
        }
        let sql = bind_orgs(
            "SELECT r.vehicle_id, MAX(r.km), MAX(r.at) FROM odometer_readings r JOIN vehicles v ON v.id = r.vehicle_id \
             WHERE v.organisation_id IN ({orgs}) GROUP BY r.vehicle_id",
        );
        let mut q = sqlx::query_as::<_, (String, i64, i64)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        for (vehicle, km, at) in q.fetch_all(&self.store.pool).await? {
            let day = crate::from_micros(at).date();
            if day > on {
                continue;
            }
            let e = latest.entry(vehicle).or_insert((km, day));
            if km > e.0 {
                *e = (km, day);
            }
        }
        let mut rates = Vec::new();
        let mut delivered: Vec<(String, Date)> = Vec::with_capacity(vehicles.len());
        for (id, day) in vehicles {
            let Ok(d) = crate::crm::parse_date("delivery_date", &day) else {
                continue;
            };
            if let Some((km, at)) = latest.get(&id) {
                let days = (*at - d).whole_days();
                if days >= 30 {
                    rates.push(*km as f64 / days as f64);
                }
            }
            delivered.push((id, d));
        }
        rates.sort_by(f64::total_cmp);
        let median = rates.get(rates.len() / 2).copied().unwrap_or(40.0);
        let mut obs = Vec::with_capacity(delivered.len());
        for (id, d) in &delivered {
            if let Some((_, km)) = first.get(id) {
                obs.push(Observation::failure((*km).max(1) as f64));
                continue;
            }
            let age = (on - *d).whole_days().max(1) as f64;
            let rate = match latest.get(id) {
                Some((km, at)) if (*at - *d).whole_days() >= 30 => {
                    *km as f64 / (*at - *d).whole_days() as f64
                }
                _ => median,
            };
            let km = latest.get(id).map_or(0.0, |l| l.0 as f64).max(rate * age);
            obs.push(Observation::suspension(km.max(1.0)));
        }
        Ok(weibull::fit(&obs, confidence))
    }

    /// A component's claims per 1,000 vehicles in service per calendar month over the `months`
    /// months before `on`'s month, as a Laney u′ chart (EWMA and CUSUM beside it).
    pub async fn early_warning(
        self,
        scope: &Scope,
        on: Date,
        component: ComponentGroup,
        months: u32,
    ) -> Result<Result<EarlyWarning, String>, StoreError> {
        let orgs = Self::analysed(scope)?;
        let n = orgs.len();
        let first_of = |d: Date| d.replace_day(1).unwrap_or(d);
        let mut starts = Vec::new();
        let mut m = first_of(on);
        for _ in 0..months {
            m = first_of(m.previous_day().unwrap_or(m));
            starts.push(m);
        }
        starts.reverse();
        let Some(from) = starts.first().copied() else {
            return Ok(Err("no months".into()));
        };
        let end = first_of(on);
        let sql = format!(
            "SELECT SUBSTR(c.opened_on, 1, 7), COUNT(*) FROM warranty_claims c JOIN vehicles v ON v.id = c.vehicle_id \
             WHERE v.organisation_id IN ({}) AND {COUNTED} AND c.component_group = ${} AND c.opened_on >= ${} AND c.opened_on < ${} \
             GROUP BY SUBSTR(c.opened_on, 1, 7)",
            placeholders(1, n),
            n + 1,
            n + 2,
            n + 3
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let counts: std::collections::BTreeMap<String, i64> = q
            .bind(component.as_str())
            .bind(from.to_string())
            .bind(end.to_string())
            .fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .collect();
        let deliveries = self.deliveries(&orgs, on).await?;
        let points: Vec<RatePoint> = starts
            .iter()
            .map(|start| {
                let key = start.to_string()[..7].to_string();
                // In service that month: delivered before it began.
                let at_risk: i64 = deliveries
                    .iter()
                    .filter(|(d, _)| d.as_str() < start.to_string().as_str())
                    .map(|d| d.1)
                    .sum();
                RatePoint {
                    count: u64::try_from(counts.get(&key).copied().unwrap_or(0)).unwrap_or(0),
                    exposure: at_risk as f64 / 1000.0,
                }
            })
            .collect();
        let baseline = (starts.len() * 2 / 3).max(2);
        Ok(laney_u_prime(
            &points,
            &ControlOptions {
                baseline: Some(baseline),
                ..ControlOptions::default()
            },
        )
        .map(|chart| EarlyWarning {
            component,
            months: starts,
            chart,
        })
        .map_err(|e| e.to_string()))
    }

    /// Service points compared with their peers on a measure per claim, over the claims opened
    /// in the `months` months before `on`: a funnel of each one's mean against the pooled mean,
    /// with limits at 95 % and 99.8 % from the pooled standard deviation of one claim (σ/√n).
    /// With fewer than [`MIN_UNITS_FOR_OVERDISPERSION`] points the spread between them cannot be
    /// estimated and the limits allow for chance only.
    pub async fn peer_funnel(
        self,
        scope: &Scope,
        on: Date,
        measure: PeerMeasure,
        months: u32,
    ) -> Result<Result<PeerFunnel, String>, StoreError> {
        let orgs = Self::analysed(scope)?;
        let n = orgs.len();
        let from = on
            .checked_sub(time::Duration::days(i64::from(months) * 30))
            .unwrap_or(on);
        let value = match measure {
            PeerMeasure::LabourPerClaim => {
                "SUM(CASE WHEN l.kind = 'labour' THEN l.quantity_centi ELSE 0 END)"
            }
            PeerMeasure::CostPerClaim => "SUM(COALESCE(l.approved_minor, l.claimed_minor))",
        };
        let sql = format!(
            "SELECT x.organisation_id, o.name, COUNT(*), CAST(SUM(x.v) AS BIGINT), CAST(SUM(x.v * x.v) AS BIGINT) FROM \
             (SELECT c.id, c.organisation_id, {value} AS v FROM warranty_claims c JOIN vehicles v ON v.id = c.vehicle_id \
              JOIN warranty_claim_lines l ON l.claim_id = c.id \
              WHERE v.organisation_id IN ({}) AND {COUNTED} AND c.opened_on > ${} AND c.opened_on <= ${} \
              GROUP BY c.id, c.organisation_id) x \
             JOIN organisations o ON o.id = x.organisation_id GROUP BY x.organisation_id, o.name ORDER BY o.name",
            placeholders(1, n),
            n + 1,
            n + 2
        );
        let mut q = sqlx::query_as::<_, (String, String, i64, i64, i64)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let rows = q
            .bind(from.to_string())
            .bind(on.to_string())
            .fetch_all(&self.store.pool)
            .await?;
        let (count, sum, squares) = rows.iter().fold((0.0, 0.0, 0.0), |(c, s, q), r| {
            (c + r.2 as f64, s + r.3 as f64, q + r.4 as f64)
        });
        if count < 2.0 {
            return Ok(Err("fewer than 2 claims".into()));
        }
        let mean = sum / count;
        let sd = ((squares - count * mean * mean) / (count - 1.0))
            .max(0.0)
            .sqrt();
        let units: Vec<MeanUnit> = rows
            .iter()
            .map(|r| MeanUnit {
                mean: r.3 as f64 / r.2.max(1) as f64,
                n: u64::try_from(r.2).unwrap_or(0),
            })
            .collect();
        let options = FunnelOptions {
            overdispersion: if rows.len() >= MIN_UNITS_FOR_OVERDISPERSION {
                Overdispersion::Additive
            } else {
                Overdispersion::None
            },
            ..FunnelOptions::default()
        };
        Ok(funnel::mean_funnel(&units, sd, &options)
            .map(|funnel| PeerFunnel {
                measure,
                points: rows.into_iter().map(|r| (r.0, r.1)).collect(),
                funnel,
                sd,
            })
            .map_err(|e| e.to_string()))
    }
}

//! Claim analysis over the vehicles and claims a caller reaches (issue 18): claims per 1,000
//! vehicles by months in service, cost per unit, a Weibull fit per component by months in
//! service and by km, and a Laney u′ chart of a component's monthly claim rate. The store counts in SQL
//! over the facts kept per claim and per vehicle (`facts.rs`: no joins, grouped to a few thousand
//! rows however many claims there are); the statistics are
//! `domain::analysis`. Who: those with `WarrantyAnalyse` (market managers, importer staff,
//! analysts, warranty administrators), over the organisations they have it at: the vehicles
//! those organisations own and the claims made on them.
//!
//! Which claims count: every claim that was submitted and not rejected (drafts and rejections
//! are not failures the brand pays for). A claim's month in service is counted from 1 (the
//! first month after delivery), from the vehicle's delivery day to the day the car came in. Money is the approved amount where a decision was made, else the claimed amount.
//! Here: claims per 1,000, cost per unit, the MIS matrix and the funnels; reliability.rs the
//! Weibull fits and early warnings.

mod reliability;

use aftersales_domain::analysis::control::{
    laney_u_prime, ControlChart, ControlOptions, RatePoint,
};
use aftersales_domain::analysis::funnel::{
    self, Funnel, FunnelOptions, MeanUnit, Overdispersion, RateUnit,
};
use aftersales_domain::analysis::mis::{self, MisMatrix};
use aftersales_domain::analysis::weibull::{self, Observation, WeibullFit};
use aftersales_domain::org::Permission;
use aftersales_domain::warranty::goodwill::ComponentGroup;
use time::Date;

use super::facts::Read;
use super::Warranty;
use crate::db::placeholders;
use crate::error::StoreError;
use crate::scope::Scope;

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
    /// Service revenue of the service points reached (the KPI definitions' "service revenue"):
    /// what they invoiced net of VAT other than to the brand for warranty (credit notes
    /// subtracted), and what they claimed from the brand for warranty (warranty revenue).
    pub invoiced: i64,
    pub claimed: i64,
}

impl CostPerUnit {
    /// Warranty cost (parts + labour + sublet) per vehicle, in minor units.
    pub fn per_unit(&self) -> Option<f64> {
        let total = self.cost.parts + self.cost.labour + self.cost.sublet - self.cost.charged_back;
        (self.vehicles > 0).then(|| total as f64 / self.vehicles as f64)
    }
    /// Warranty cost (net of chargebacks) ÷ service revenue (invoiced plus claimed).
    pub fn revenue_share(&self) -> Option<f64> {
        let total = self.cost.parts + self.cost.labour + self.cost.sublet - self.cost.charged_back;
        let revenue = self.invoiced + self.claimed;
        (revenue > 0).then(|| total as f64 / revenue as f64)
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
    /// Only the claims this service point made (over all the vehicles reached).
    pub service_point: Option<String>,
    pub repairs: bool,
}

/// What a funnel compares service points on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerMeasure {
    /// Labour hours claimed per claim.
    LabourPerClaim,
    /// Money per claim (approved where decided, else claimed), in minor units.
    CostPerClaim,
    /// Claims per vehicle serviced: the claims a service point made over the vehicles it had in
    /// for a repair order in the period (a rate, Poisson limits).
    ClaimsPerVehicle,
}

impl PeerMeasure {
    /// Every measure, in the order the screens show them.
    pub const ALL: [PeerMeasure; 3] = [
        PeerMeasure::LabourPerClaim,
        PeerMeasure::CostPerClaim,
        PeerMeasure::ClaimsPerVehicle,
    ];

    /// Its name in the API and the audit (`labour-per-claim`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            PeerMeasure::LabourPerClaim => "labour-per-claim",
            PeerMeasure::CostPerClaim => "cost-per-claim",
            PeerMeasure::ClaimsPerVehicle => "claims-per-vehicle",
        }
    }
}

/// Service points against their peers on a measure per claim.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerFunnel {
    pub measure: PeerMeasure,
    /// The service points in the funnel's order: (id, name).
    pub points: Vec<(String, String)>,
    pub funnel: Funnel,
    /// The standard deviation of one claim's value, pooled (for the rate: √θ₀, so that σ/√n is
    /// the standard error at exposure n as for the means).
    pub sd: f64,
}

/// A service point's claims in a funnel: (id, name, claims, labour sum, labour squares, money
/// sum, money squares).
type PeerRow = (String, String, i64, i64, i64, i64, i64);

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
    /// The organisations the caller analyses claims at, with the facts brought up to date.
    async fn analysed(self, scope: &Scope) -> Result<Vec<String>, StoreError> {
        scope.require_somewhere(Permission::WarrantyAnalyse)?;
        self.refresh_facts().await?;
        Ok(scope.orgs_with(Permission::WarrantyAnalyse))
    }

    /// Delivered vehicles reached, by delivery day: (day, count).
    async fn deliveries(self, orgs: &[String], on: Date) -> Result<Vec<(String, i64)>, StoreError> {
        self.deliveries_of(orgs, on, &MisQuery::default()).await
    }

    /// The filter of a breakdown (model, market) as SQL on the facts table `t` (both have `model`
    /// and `owner_id`), with its values after `first`.
    fn breakdown(q: &MisQuery, first: usize, t: &str) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut values = Vec::new();
        if let Some(m) = &q.model {
            values.push(m.clone());
            sql.push_str(&format!(" AND {t}.model = ${}", first + values.len()));
        }
        if let Some(code) = &q.market {
            values.push(code.clone());
            sql.push_str(&format!(
                " AND {t}.owner_id IN (SELECT o.id FROM organisations o JOIN markets mk ON mk.id = o.market_id WHERE mk.code = ${})",
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
        let (extra, values) = Self::breakdown(filter, orgs.len() + 1, "v");
        let sql = format!(
            "SELECT v.delivered_on, COUNT(*) FROM vehicle_facts v WHERE v.owner_id IN ({}) \
             AND v.delivered_on IS NOT NULL AND v.delivered_on <= ${}{extra} GROUP BY v.delivered_on",
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
    /// vehicle's delivery quarter and the month in service (from 1): (quarter, month, count).
    async fn claims_by_month(
        self,
        orgs: &[String],
        on: Date,
        filter: &MisQuery,
    ) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let n = orgs.len();
        let mut values = Vec::new();
        let mut extra = String::new();
        if let Some(c) = filter.component {
            values.push(c.as_str().to_string());
            extra.push_str(&format!(" AND f.component = ${}", n + 1 + values.len()));
        }
        let (more, more_values) = Self::breakdown(filter, n + 1 + values.len(), "f");
        extra.push_str(&more);
        values.extend(more_values);
        if let Some(p) = &filter.service_point {
            values.push(p.clone());
            extra.push_str(&format!(" AND f.point_id = ${}", n + 1 + values.len()));
        }
        // A repair order counts once: at its first claim (of the component, when one is asked).
        let count = match (filter.repairs, filter.component) {
            (false, _) => "COUNT(*)",
            (true, None) => "SUM(f.first_of_repair)",
            (true, Some(_)) => "SUM(f.first_of_repair_component)",
        };
        let sql = format!(
            "SELECT f.cohort, f.mis, CAST({count} AS BIGINT) FROM claim_facts f \
             WHERE f.owner_id IN ({}) AND f.mis IS NOT NULL AND f.opened_on <= ${}{extra} GROUP BY f.cohort, f.mis",
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
        let orgs = self.analysed(scope).await?;
        let sql = format!(
            "SELECT DISTINCT v.model FROM vehicle_facts v WHERE v.owner_id IN ({}) AND v.model IS NOT NULL ORDER BY v.model",
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

    /// The service points reached that made claims: the choices of a breakdown, by name.
    pub async fn service_points_analysed(
        self,
        scope: &Scope,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let orgs = self.analysed(scope).await?;
        let sql = format!(
            "SELECT o.id, o.name FROM organisations o WHERE o.id IN ({}) \
             AND EXISTS (SELECT 1 FROM claim_facts f WHERE f.point_id = o.id) ORDER BY o.name",
            placeholders(1, orgs.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        Ok(q.fetch_all(&self.store.pool).await?)
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
        let orgs = self.analysed(scope).await?;
        let mut vehicles = Vec::new();
        for (day, count) in self.deliveries_of(&orgs, on, filter).await? {
            let Ok(d) = crate::crm::parse_date("delivery_date", &day) else {
                continue;
            };
            let cohort = super::facts::quarter_of(d);
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
        for (cohort, month, count) in self.claims_by_month(&orgs, on, filter).await? {
            let Ok(month) = u32::try_from(month) else {
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
        let orgs = self.analysed(scope).await?;
        let n = orgs.len();
        let vehicles: i64 = self.deliveries(&orgs, on).await?.iter().map(|d| d.1).sum();
        let sum = |c: &str| format!("CAST(COALESCE(SUM(f.{c}), 0) AS BIGINT)");
        let sql = format!(
            "SELECT {}, {}, {}, {}, {}, {}, COUNT(*), MIN(f.currency) FROM {} \
             WHERE f.owner_id IN ({}) AND f.opened_on <= ${}",
            sum("claimed_minor"),
            sum("parts_minor"),
            sum("labour_minor"),
            sum("sublet_minor"),
            sum("recovered_minor"),
            sum("charged_back_minor"),
            self.facts_as("f", Read::Table),
            placeholders(1, n),
            n + 1
        );
        let mut q = sqlx::query_as::<_, (i64, i64, i64, i64, i64, i64, i64, Option<String>)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let (claimed, parts, labour, sublet, recovered, charged_back, claims, currency) =
            q.bind(on.to_string()).fetch_one(&self.store.pool).await?;
        // Invoiced by the service points reached, in the claims' currency.
        let sql = format!(
            "SELECT CAST(COALESCE(SUM(CASE WHEN d.kind = 'credit-note' THEN -d.net_minor ELSE d.net_minor END), 0) AS BIGINT) \
             FROM billing_documents d WHERE d.organisation_id IN ({}) AND d.status = 'issued' \
             AND (d.pay_type IS NULL OR d.pay_type <> 'warranty') AND d.issue_date <= ${} AND d.currency = ${}",
            placeholders(1, n),
            n + 1,
            n + 2
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let invoiced = match &currency {
            Some(c) => {
                q.bind(on.to_string())
                    .bind(c)
                    .fetch_one(&self.store.pool)
                    .await?
            }
            None => 0,
        };
        let mut out = CostPerUnit {
            vehicles,
            claims,
            currency,
            cost: ClaimCost {
                parts,
                labour,
                sublet,
                recovered,
                charged_back,
            },
            goodwill: [0; 4],
            invoiced,
            claimed,
        };
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
        let (rows, serviced) = self.peer_rows(scope, on, months).await?;
        Ok(Self::funnel_of(&rows, &serviced, measure))
    }

    /// [`Warranty::peer_funnel`] on every measure, from one reading.
    pub async fn peer_funnels(
        self,
        scope: &Scope,
        on: Date,
        months: u32,
    ) -> Result<Vec<(PeerMeasure, Result<PeerFunnel, String>)>, StoreError> {
        let (rows, serviced) = self.peer_rows(scope, on, months).await?;
        Ok(PeerMeasure::ALL
            .into_iter()
            .map(|m| (m, Self::funnel_of(&rows, &serviced, m)))
            .collect())
    }

    /// Per service point: claims, and the sum and sum of squares of labour (hundredths of an
    /// hour) and of money per claim; and the vehicles each had in for a repair order in the period.
    async fn peer_rows(
        self,
        scope: &Scope,
        on: Date,
        months: u32,
    ) -> Result<(Vec<PeerRow>, std::collections::HashMap<String, i64>), StoreError> {
        let orgs = self.analysed(scope).await?;
        let n = orgs.len();
        let from = on
            .checked_sub(time::Duration::days(i64::from(months) * 30))
            .unwrap_or(on);
        let sum = |e: &str| format!("CAST(SUM({e}) AS BIGINT)");
        let sql = format!(
            "SELECT f.point_id, o.name, COUNT(*), {}, {}, {}, {} \
             FROM {} JOIN organisations o ON o.id = f.point_id \
             WHERE f.owner_id IN ({}) AND f.opened_on > ${} AND f.opened_on <= ${} GROUP BY f.point_id, o.name ORDER BY o.name",
            sum("f.labour_centi"),
            sum("f.labour_centi * f.labour_centi"),
            sum("f.cost_minor"),
            sum("f.cost_minor * f.cost_minor"),
            self.facts_as("f", Read::ByOpened),
            placeholders(1, n),
            n + 1,
            n + 2
        );
        let mut q = sqlx::query_as::<_, PeerRow>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let rows = q
            .bind(from.to_string())
            .bind(on.to_string())
            .fetch_all(&self.store.pool)
            .await?;
        // Vehicles serviced: repair orders opened at the point after `from`, up to `on` (UTC days).
        let mut serviced = std::collections::HashMap::new();
        if !rows.is_empty() {
            let day_start = |d: Date| crate::micros(d.midnight().assume_utc());
            let sql = format!(
                "SELECT organisation_id, COUNT(DISTINCT vehicle_id) FROM repair_orders WHERE organisation_id IN ({}) \
                 AND created_at >= ${} AND created_at < ${} AND vehicle_id IS NOT NULL GROUP BY organisation_id",
                placeholders(1, rows.len()),
                rows.len() + 1,
                rows.len() + 2
            );
            let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
            for r in &rows {
                q = q.bind(r.0.as_str());
            }
            serviced = q
                .bind(day_start(from.next_day().unwrap_or(from)))
                .bind(day_start(on.next_day().unwrap_or(on)))
                .fetch_all(&self.store.pool)
                .await?
                .into_iter()
                .collect();
        }
        Ok((rows, serviced))
    }

    fn funnel_of(
        rows: &[PeerRow],
        serviced: &std::collections::HashMap<String, i64>,
        measure: PeerMeasure,
    ) -> Result<PeerFunnel, String> {
        let options = FunnelOptions {
            overdispersion: if rows.len() >= MIN_UNITS_FOR_OVERDISPERSION {
                Overdispersion::Additive
            } else {
                Overdispersion::None
            },
            ..FunnelOptions::default()
        };
        if measure == PeerMeasure::ClaimsPerVehicle {
            // Points that serviced no vehicle in the period have no rate.
            let kept: Vec<(&PeerRow, i64)> = rows
                .iter()
                .filter_map(|r| serviced.get(&r.0).filter(|v| **v > 0).map(|v| (r, *v)))
                .collect();
            let units: Vec<RateUnit> = kept
                .iter()
                .map(|(r, v)| RateUnit {
                    count: u64::try_from(r.2).unwrap_or(0),
                    exposure: *v as f64,
                })
                .collect();
            return funnel::rate_funnel(&units, &options)
                .map(|funnel| PeerFunnel {
                    measure,
                    points: kept
                        .iter()
                        .map(|(r, _)| (r.0.clone(), r.1.clone()))
                        .collect(),
                    sd: funnel.target.max(0.0).sqrt(),
                    funnel,
                })
                .map_err(|e| e.to_string());
        }
        let labour = measure == PeerMeasure::LabourPerClaim;
        let sum_of = |r: &PeerRow| if labour { r.3 } else { r.5 };
        let squares_of = |r: &PeerRow| if labour { r.4 } else { r.6 };
        let (count, sum, squares) = rows.iter().fold((0.0, 0.0, 0.0), |(c, s, q), r| {
            (
                c + r.2 as f64,
                s + sum_of(r) as f64,
                q + squares_of(r) as f64,
            )
        });
        if count < 2.0 {
            return Err("fewer than 2 claims".into());
        }
        let mean = sum / count;
        let sd = ((squares - count * mean * mean) / (count - 1.0))
            .max(0.0)
            .sqrt();
        let units: Vec<MeanUnit> = rows
            .iter()
            .map(|r| MeanUnit {
                mean: sum_of(r) as f64 / r.2.max(1) as f64,
                n: u64::try_from(r.2).unwrap_or(0),
            })
            .collect();
        funnel::mean_funnel(&units, sd, &options)
            .map(|funnel| PeerFunnel {
                measure,
                points: rows.iter().map(|r| (r.0.clone(), r.1.clone())).collect(),
                funnel,
                sd,
            })
            .map_err(|e| e.to_string())
    }
}

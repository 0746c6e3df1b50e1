//! Reliability: Weibull fits of first failures by months in service and by km, and the early
//! warnings that compare each component's recent claim rate with its own past.

use super::*;

impl Warranty<'_> {
    /// Each vehicle's first counted claim of a component (in service, up to `on`), grouped by
    /// a column of `claim_facts`: (delivery day, value, vehicles).
    pub(super) async fn first_failures(
        self,
        orgs: &[String],
        on: Date,
        component: ComponentGroup,
        column: &str,
    ) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let n = orgs.len();
        let sql = format!(
            "SELECT f.delivered_on, f.{column}, COUNT(*) FROM claim_facts f WHERE f.owner_id IN ({}) \
             AND f.component = ${} AND f.first_of_component = 1 AND f.opened_on <= ${} GROUP BY f.delivered_on, f.{column}",
            placeholders(1, n),
            n + 1,
            n + 2
        );
        let mut q = sqlx::query_as::<_, (String, i64, i64)>(&sql);
        for o in orgs {
            q = q.bind(o);
        }
        Ok(q.bind(component.as_str())
            .bind(on.to_string())
            .fetch_all(&self.store.pool)
            .await?)
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
        let orgs = self.analysed(scope).await?;
        let months = |days: i64| days.max(1) as f64 / 30.4375;
        let mut obs = Vec::new();
        let mut failures_by_day: std::collections::BTreeMap<String, i64> = Default::default();
        for (delivered, days, count) in self
            .first_failures(&orgs, on, component, "days_in_service")
            .await?
        {
            for _ in 0..count {
                obs.push(Observation::failure(months(days)));
            }
            *failures_by_day.entry(delivered).or_default() += count;
        }
        for (day, count) in self.deliveries(&orgs, on).await? {
            let failed_here = failures_by_day.get(&day).copied().unwrap_or(0);
            let Ok(d) = crate::crm::parse_date("delivery_date", &day) else {
                continue;
            };
            for _ in 0..(count - failed_here).max(0) {
                obs.push(Observation::suspension(months((on - d).whole_days())));
            }
        }
        Ok(weibull::fit(&obs, confidence))
    }

    /// A Weibull fit of a component's first failure by km over the vehicles reached: each
    /// vehicle's first counted claim of the component a failure at the odometer it states, every
    /// other vehicle a suspension at its estimated km on `on` (in 100 km steps): its latest
    /// known reading (claims and recorded readings) carried forward at its own km per day since
    /// delivery, or at the fleet's median km per day when it has no reading 30 days or more after
    /// delivery.
    pub async fn weibull_by_km(
        self,
        scope: &Scope,
        on: Date,
        component: ComponentGroup,
        confidence: f64,
    ) -> Result<Result<WeibullFit, weibull::WeibullError>, StoreError> {
        let orgs = self.analysed(scope).await?;
        let n = orgs.len();
        let reached = format!(
            "v.owner_id IN ({}) AND v.delivered_on IS NOT NULL AND v.delivered_on <= ${}",
            placeholders(1, n),
            n + 1
        );
        let sql = format!(
            "SELECT COUNT(*) FROM vehicle_facts v WHERE {reached} AND v.metres_per_day IS NOT NULL"
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        let rated = q.bind(on.to_string()).fetch_one(&self.store.pool).await?;
        let median: i64 = if rated == 0 {
            40_000
        } else {
            let sql = format!(
                "SELECT v.metres_per_day FROM vehicle_facts v WHERE {reached} AND v.metres_per_day IS NOT NULL \
                 ORDER BY v.metres_per_day LIMIT 1 OFFSET {}",
                rated / 2
            );
            let mut q = sqlx::query_scalar::<_, i64>(&sql);
            for o in &orgs {
                q = q.bind(o);
            }
            q.bind(on.to_string()).fetch_one(&self.store.pool).await?
        };
        // Estimated km on `on`, in hundreds, of every vehicle reached; then of those that failed.
        let day = i64::from(on.to_julian_day());
        let age = format!(
            "CASE WHEN ${p} - v.delivered_day < 1 THEN 1 ELSE ${p} - v.delivered_day END",
            p = n + 2
        );
        let est = format!("(COALESCE(v.metres_per_day, ${}) * {age}) / 1000", n + 3);
        let km =
            format!("CASE WHEN COALESCE(v.latest_km, 0) > {est} THEN v.latest_km ELSE {est} END");
        let mut buckets: std::collections::BTreeMap<i64, i64> = Default::default();
        for failed in [false, true] {
            // The failed: from each first failure to its vehicle (not the other way round).
            let (from, extra) = if failed {
                (
                    "claim_facts f CROSS JOIN vehicle_facts v",
                    format!(
                        " AND v.vehicle_id = f.vehicle_id AND f.component = ${} AND f.first_of_component = 1 AND f.opened_on <= ${}",
                        n + 4,
                        n + 1
                    ),
                )
            } else {
                ("vehicle_facts v", String::new())
            };
            let sql = format!(
                "SELECT x.h, COUNT(*) FROM (SELECT ({km}) / 100 AS h FROM {from} WHERE {reached}{extra}) x GROUP BY x.h"
            );
            let mut q = sqlx::query_as::<_, (i64, i64)>(&sql);
            for o in &orgs {
                q = q.bind(o);
            }
            q = q.bind(on.to_string()).bind(day).bind(median);
            if failed {
                q = q.bind(component.as_str());
            }
            for (h, count) in q.fetch_all(&self.store.pool).await? {
                *buckets.entry(h).or_default() += if failed { -count } else { count };
            }
        }
        let mut obs = Vec::new();
        for (_, km, count) in self
            .first_failures(&orgs, on, component, "odometer_km")
            .await?
        {
            for _ in 0..count {
                obs.push(Observation::failure(km.max(1) as f64));
            }
        }
        for (h, count) in buckets {
            for _ in 0..count.max(0) {
                obs.push(Observation::suspension((h * 100 + 50).max(1) as f64));
            }
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
        let mut all = self.warnings(scope, on, Some(component), months).await?;
        Ok(all
            .pop()
            .map_or_else(|| Err("no months".into()), |(_, w)| w))
    }

    /// [`Warranty::early_warning`] for every component group, from one reading.
    pub async fn early_warnings(
        self,
        scope: &Scope,
        on: Date,
        months: u32,
    ) -> Result<Vec<(ComponentGroup, Result<EarlyWarning, String>)>, StoreError> {
        self.warnings(scope, on, None, months).await
    }

    pub(super) async fn warnings(
        self,
        scope: &Scope,
        on: Date,
        only: Option<ComponentGroup>,
        months: u32,
    ) -> Result<Vec<(ComponentGroup, Result<EarlyWarning, String>)>, StoreError> {
        let orgs = self.analysed(scope).await?;
        let n = orgs.len();
        let groups: Vec<ComponentGroup> = match only {
            Some(g) => vec![g],
            None => ComponentGroup::ALL.to_vec(),
        };
        let first_of = |d: Date| d.replace_day(1).unwrap_or(d);
        let mut starts = Vec::new();
        let mut m = first_of(on);
        for _ in 0..months {
            m = first_of(m.previous_day().unwrap_or(m));
            starts.push(m);
        }
        starts.reverse();
        let Some(from) = starts.first().copied() else {
            return Ok(groups
                .into_iter()
                .map(|g| (g, Err("no months".into())))
                .collect());
        };
        let end = first_of(on);
        let one = if only.is_some() {
            format!(" AND f.component = ${}", n + 3)
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT f.component, f.opened_month, COUNT(*) FROM {} \
             WHERE f.owner_id IN ({}) AND f.component IS NOT NULL AND f.opened_on >= ${} AND f.opened_on < ${}{one} \
             GROUP BY f.component, f.opened_month",
            self.facts_as("f", Read::ByOpened),
            placeholders(1, n),
            n + 1,
            n + 2,
        );
        let mut q = sqlx::query_as::<_, (String, String, i64)>(&sql);
        for o in &orgs {
            q = q.bind(o);
        }
        q = q.bind(from.to_string()).bind(end.to_string());
        if let Some(g) = only {
            q = q.bind(g.as_str());
        }
        let counts: std::collections::BTreeMap<(String, String), i64> = q
            .fetch_all(&self.store.pool)
            .await?
            .into_iter()
            .map(|(g, month, n)| ((g, month), n))
            .collect();
        let deliveries = self.deliveries(&orgs, on).await?;
        // In service each month: delivered before it began.
        let at_risk: Vec<i64> = starts
            .iter()
            .map(|start| {
                let start = start.to_string();
                deliveries
                    .iter()
                    .filter(|(d, _)| d.as_str() < start.as_str())
                    .map(|d| d.1)
                    .sum()
            })
            .collect();
        let baseline = (starts.len() * 2 / 3).max(2);
        Ok(groups
            .into_iter()
            .map(|g| {
                let points: Vec<RatePoint> = starts
                    .iter()
                    .zip(&at_risk)
                    .map(|(start, risk)| {
                        let key = (g.as_str().to_string(), start.to_string()[..7].to_string());
                        RatePoint {
                            count: u64::try_from(counts.get(&key).copied().unwrap_or(0))
                                .unwrap_or(0),
                            exposure: *risk as f64 / 1000.0,
                        }
                    })
                    .collect();
                let chart = laney_u_prime(
                    &points,
                    &ControlOptions {
                        baseline: Some(baseline),
                        ..ControlOptions::default()
                    },
                )
                .map(|chart| EarlyWarning {
                    component: g,
                    months: starts.clone(),
                    chart,
                })
                .map_err(|e| e.to_string());
                (g, chart)
            })
            .collect())
    }
}

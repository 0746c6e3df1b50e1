//! A pilot's evaluation as of today, and the control group proposal: the KPIs per service point
//! and month read through the KPI pages' own computation (`Kpis::monthly`), the estimators and
//! the verdict from `domain::pilot`.

use std::collections::BTreeSet;

use aftersales_domain::kpi::{Kpi, Period};
use aftersales_domain::org::Permission;
use aftersales_domain::pilot::{self, matching, PilotRole};
use aftersales_domain::ValidationErrors;
use time::OffsetDateTime;

use super::{
    check_points, ControlCandidate, ControlProposalInput, DidResult, PilotEvaluation,
    PilotKpiResult, Pilots, PointSeries, SyntheticResult,
};
use crate::error::StoreError;
use crate::kpis::{Monthly, Orgs};
use crate::scope::Scope;
use crate::Ref;

/// The placebo test's seed (when there are too many assignments to try them all).
const SEED: u64 = 20_261_207;

fn month_label(p: Period) -> String {
    format!("{}-{:02}", p.from.year(), u8::from(p.from.month()))
}

fn mean(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = values.flatten().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn series_of(monthly: &Monthly, k: Kpi, point: &str, months: usize) -> Vec<Option<f64>> {
    (0..months)
        .map(|i| {
            monthly
                .get(&(k, point.to_string(), i))
                .and_then(|f| f.value)
        })
        .collect()
}

impl Pilots<'_> {
    /// The pilot with each of its KPIs evaluated over the whole months before and after the
    /// start (up to the last month ended before `now`).
    pub async fn evaluate(
        self,
        scope: &Scope,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<PilotEvaluation, StoreError> {
        let p = self.get(scope, id).await?;
        let layout = pilot::months(p.start_date, p.end_date, p.months_before, now.date());
        let all: Vec<(PilotRole, &Ref)> = p
            .pilot_points
            .iter()
            .map(|r| (PilotRole::Pilot, r))
            .chain(p.control_points.iter().map(|r| (PilotRole::Control, r)))
            .collect();
        let ids: Vec<String> = all.iter().map(|(_, r)| r.id.clone()).collect();
        let monthly = self
            .store
            .kpis()
            .monthly(&ids, &p.kpis, &layout.periods, now)
            .await?;
        let n = layout.periods.len();
        let mut results = Vec::new();
        for k in &p.kpis {
            // A month not yet settled for this KPI (its 30 days still running) is not read.
            let counted = pilot::months_counted(*k, &layout.periods, now.date());
            let series: Vec<PointSeries> = all
                .iter()
                .map(|(role, r)| {
                    let mut values = series_of(&monthly, *k, &r.id, n);
                    values.iter_mut().skip(counted).for_each(|v| *v = None);
                    PointSeries {
                        service_point: (*r).clone(),
                        role: *role,
                        values,
                    }
                })
                .collect();
            let currency = monthly
                .iter()
                .filter(|((kk, _, _), _)| kk == k)
                .find_map(|(_, f)| f.currency.clone());
            let by_role = |role: PilotRole| -> Vec<Option<f64>> {
                (0..n)
                    .map(|i| {
                        mean(
                            series
                                .iter()
                                .filter(|s| s.role == role)
                                .map(|s| s.values[i]),
                        )
                    })
                    .collect()
            };
            let input: Vec<(bool, Vec<Option<f64>>)> = series
                .iter()
                .map(|s| (s.role == PilotRole::Pilot, s.values.clone()))
                .collect();
            let e = pilot::evaluate(k.direction(), &input, layout.first_after, SEED);
            let did = e.estimate.map(|est| DidResult {
                effect: est.effect,
                std_error: est.std_error,
                lower: est.lower,
                upper: est.upper,
                pilot_before: est.means[0],
                pilot_after: est.means[1],
                control_before: est.means[2],
                control_after: est.means[3],
                placebo_p: e.placebo.as_ref().map(|t| t.p_value),
                placebo_assignments: e.placebo.as_ref().map(|t| t.assignments),
            });
            // The synthetic control's weights are over the control points with data on both
            // sides of the start, in the order of the series.
            let synthetic = e.synthetic.as_ref().map(|(s, placebo)| {
                let donors: Vec<&Ref> = series
                    .iter()
                    .filter(|x| x.role == PilotRole::Control)
                    .filter(|x| pilot::takes_part(&x.values, layout.first_after))
                    .map(|x| &x.service_point)
                    .collect();
                SyntheticResult {
                    weights: donors
                        .into_iter()
                        .cloned()
                        .zip(s.weights.iter().copied())
                        .collect(),
                    synthetic: s.synthetic.clone(),
                    effect: s.effect,
                    rmspe_before: s.rmspe_before,
                    rmspe_after: s.rmspe_after,
                    placebo_p: placebo.p_value,
                    placebo_points: placebo.points,
                }
            });
            results.push(PilotKpiResult {
                kpi: *k,
                unit: k.unit(),
                direction: k.direction(),
                currency,
                pilot_mean: by_role(PilotRole::Pilot),
                control_mean: by_role(PilotRole::Control),
                series,
                did,
                synthetic,
                verdict: e.verdict,
                thin: e.thin,
                months_counted: counted,
            });
        }
        Ok(PilotEvaluation {
            months: layout.periods.iter().map(|m| month_label(*m)).collect(),
            months_before: layout.first_after,
            left_out: layout.left_out.map(month_label),
            results,
            pilot: p,
        })
    }

    /// The service points of the organisation that are not in the pilot, nearest the pilot
    /// points on the KPIs over the months before the start first.
    pub async fn propose_controls(
        self,
        scope: &Scope,
        input: &ControlProposalInput,
        now: OffsetDateTime,
    ) -> Result<Vec<ControlCandidate>, StoreError> {
        let mut errors = ValidationErrors::default();
        let start = errors.take(pilot::parse_start(&input.start_date));
        let months_before = errors.take(pilot::parse_months_before(input.months_before));
        let kpis = errors.take(pilot::parse_kpis("kpis", &input.kpis));
        if !scope.permits(&input.organisation_id, Permission::KpiRead) {
            return Err(StoreError::Invalid(ValidationErrors::single(
                "organisation_id",
                aftersales_domain::Rule::Unknown,
                "organisation_id must be an organisation whose KPIs you read",
            )));
        }
        let orgs = Orgs::load(&self.store.pool).await?;
        let pilots = check_points(
            &orgs,
            &input.organisation_id,
            "pilot_points",
            &input.pilot_points,
            &mut errors,
        );
        if pilots.is_empty() && errors.is_empty() {
            errors.push(aftersales_domain::FieldError::new(
                "pilot_points",
                aftersales_domain::Rule::Required,
                "pilot_points needs at least one service point",
            ));
        }
        errors.into_result()?;
        let (Some(start), Some(months_before), Some(kpis)) = (start, months_before, kpis) else {
            return Err(StoreError::Internal(
                "a checked proposal lost a field".into(),
            ));
        };
        let chosen: BTreeSet<&str> = pilots.iter().map(|r| r.id.as_str()).collect();
        let mut candidates: Vec<Ref> = orgs
            .by_id
            .values()
            .filter(|o| o.kind == "service-point" && orgs.is_under(&o.id, &input.organisation_id))
            .filter(|o| !chosen.contains(o.id.as_str()))
            .map(|o| Ref {
                id: o.id.clone(),
                label: o.name.clone(),
            })
            .collect();
        candidates.sort_by(|a, b| a.label.cmp(&b.label));
        let layout = pilot::months(start, None, months_before, start);
        let before = &layout.periods[..layout.first_after];
        let units: Vec<&Ref> = pilots.iter().chain(candidates.iter()).collect();
        let ids: Vec<String> = units.iter().map(|r| r.id.clone()).collect();
        let monthly = self.store.kpis().monthly(&ids, &kpis, before, now).await?;
        let series: Vec<Vec<Vec<Option<f64>>>> = kpis
            .iter()
            .map(|k| {
                units
                    .iter()
                    .map(|r| series_of(&monthly, *k, &r.id, before.len()))
                    .collect()
            })
            .collect();
        let flags: Vec<bool> = (0..units.len()).map(|i| i < pilots.len()).collect();
        Ok(matching::rank(&series, &flags)
            .into_iter()
            .map(|m| ControlCandidate {
                service_point: units[m.unit].clone(),
                distance: m.distance,
            })
            .collect())
    }
}

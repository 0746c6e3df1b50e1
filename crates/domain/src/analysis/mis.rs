//! The months-in-service (MIS) matrix: claims (or repairs) per 1,000 vehicles per delivery
//! cohort and month in service, with right censoring (C/1000 in the KPI definitions).
//!
//! Definitions:
//! - months in service are counted from 1: MIS 1 is the first month after delivery. A vehicle's
//!   `months_in_service` is the number of MIS months it has entered by the analysis date
//!   (delivered 10 days ago: 1; not yet delivered: 0);
//! - vehicles at risk in MIS m: those of the cohort that have entered month m. A vehicle that has
//!   not reached m is censored there, not counted as a vehicle without claims;
//! - claims per 1,000 in MIS m = claims in m / vehicles at risk in m × 1000 (none where nobody is
//!   at risk), and the cumulative figure is the sum of those rates over months 1..=m, i.e. the
//!   expected claims per 1,000 vehicles by the end of month m (not cumulative claims over the
//!   cohort's size, which would understate the later months);
//! - the total row pools the cohorts month by month (at-risk and claims added, then divided).

use std::collections::BTreeMap;

use serde::Serialize;

/// A vehicle: its cohort (delivery month such as `"2024-03"`, or any key) and how many months in
/// service it has entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vehicle<K> {
    /// Its cohort key.
    pub cohort: K,
    /// MIS months entered by the analysis date (0: not yet delivered).
    pub months_in_service: u32,
}

/// A claim (or repair): the cohort of its vehicle and the month in service it fell in (from 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim<K> {
    /// The cohort of the claim's vehicle.
    pub cohort: K,
    /// The month in service the claim fell in, from 1.
    pub month_in_service: u32,
}

/// One cell of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MisCell {
    /// Month in service, from 1.
    pub month: u32,
    /// Vehicles of the cohort that have entered this month.
    pub vehicles_at_risk: u64,
    /// Claims in this month.
    pub claims: u64,
    /// Claims per 1,000 vehicles at risk in this month; `None` when none is at risk (censored).
    pub per_1000: Option<f64>,
    /// Sum of `per_1000` over months 1..=month; `None` from the first censored month on.
    pub cumulative_per_1000: Option<f64>,
}

/// One cohort's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MisRow<K> {
    /// The cohort key.
    pub cohort: K,
    /// Vehicles in the cohort (delivered or not).
    pub vehicles: u64,
    /// Months 1..=`MisMatrix::months`, in order.
    pub cells: Vec<MisCell>,
}

/// The matrix: a row per cohort in key order, and the pooled total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MisMatrix<K> {
    /// Number of month columns.
    pub months: u32,
    /// One row per cohort, in key order.
    pub rows: Vec<MisRow<K>>,
    /// All cohorts pooled, month by month.
    pub total: Vec<MisCell>,
}

/// Why the matrix cannot be built from the data given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MisError {
    /// A claim in month 0.
    #[error("claim {index}: the month in service counts from 1")]
    MonthZero {
        /// Position of the claim in the input.
        index: usize,
    },
    /// A claim in a month no vehicle of its cohort has reached (or of an unknown cohort).
    #[error("claim {index}: no vehicle of its cohort has reached that month in service")]
    NoVehicleAtRisk {
        /// Position of the claim in the input.
        index: usize,
    },
}

/// Builds the MIS matrix. `max_months` caps the columns (claims beyond are left out); without
/// it the columns run to the longest months in service of any vehicle.
pub fn mis_matrix<K: Ord + Clone>(
    vehicles: &[Vehicle<K>],
    claims: &[Claim<K>],
    max_months: Option<u32>,
) -> Result<MisMatrix<K>, MisError> {
    let longest = vehicles
        .iter()
        .map(|v| v.months_in_service)
        .max()
        .unwrap_or(0);
    let months = max_months.map_or(longest, |cap| cap.min(longest));
    let width = months as usize;
    // Per cohort: vehicles by months entered (capped at the width), then at risk by suffix sums.
    let mut reached: BTreeMap<&K, Vec<u64>> = BTreeMap::new();
    let mut longest_by_cohort: BTreeMap<&K, u32> = BTreeMap::new();
    for v in vehicles {
        let longest = longest_by_cohort.entry(&v.cohort).or_insert(0);
        *longest = (*longest).max(v.months_in_service);
        let hist = reached
            .entry(&v.cohort)
            .or_insert_with(|| vec![0; width + 1]);
        hist[(v.months_in_service as usize).min(width)] += 1;
    }
    let mut at_risk: BTreeMap<&K, Vec<u64>> = BTreeMap::new();
    for (cohort, hist) in &reached {
        // at[m] = vehicles that entered month m or later, m = 1..=width (at[0] is every vehicle).
        let mut at = vec![0u64; width + 1];
        let mut running = 0;
        for m in (0..=width).rev() {
            running += hist[m];
            at[m] = running;
        }
        at_risk.insert(*cohort, at);
    }
    let mut counted: BTreeMap<&K, Vec<u64>> = BTreeMap::new();
    for (index, c) in claims.iter().enumerate() {
        if c.month_in_service == 0 {
            return Err(MisError::MonthZero { index });
        }
        if longest_by_cohort
            .get(&c.cohort)
            .is_none_or(|l| *l < c.month_in_service)
        {
            return Err(MisError::NoVehicleAtRisk { index });
        }
        let m = c.month_in_service as usize;
        if m > width {
            continue; // beyond the cap
        }
        counted
            .entry(&c.cohort)
            .or_insert_with(|| vec![0; width + 1])[m] += 1;
    }
    let mut total_at_risk = vec![0u64; width + 1];
    let mut total_claims = vec![0u64; width + 1];
    let mut rows = Vec::with_capacity(at_risk.len());
    for (cohort, at) in &at_risk {
        let none = vec![0; width + 1];
        let claims_by_month = counted.get(cohort).unwrap_or(&none);
        for m in 1..=width {
            total_at_risk[m] += at[m];
            total_claims[m] += claims_by_month[m];
        }
        rows.push(MisRow {
            cohort: (*cohort).clone(),
            vehicles: at[0],
            cells: cells(at, claims_by_month),
        });
    }
    Ok(MisMatrix {
        months,
        rows,
        total: cells(&total_at_risk, &total_claims),
    })
}

fn cells(at_risk: &[u64], claims: &[u64]) -> Vec<MisCell> {
    let mut cumulative = Some(0.0);
    (1..at_risk.len())
        .map(|m| {
            let per_1000 = (at_risk[m] > 0).then(|| claims[m] as f64 / at_risk[m] as f64 * 1000.0);
            cumulative = match (cumulative, per_1000) {
                (Some(sum), Some(rate)) => Some(sum + rate),
                _ => None,
            };
            MisCell {
                month: m as u32,
                vehicles_at_risk: at_risk[m],
                claims: claims[m],
                per_1000,
                cumulative_per_1000: cumulative,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(cohort: &str, months: u32) -> Vehicle<String> {
        Vehicle {
            cohort: cohort.to_string(),
            months_in_service: months,
        }
    }

    fn c(cohort: &str, month: u32) -> Claim<String> {
        Claim {
            cohort: cohort.to_string(),
            month_in_service: month,
        }
    }

    #[test]
    fn censored_months_are_not_zero() {
        // March: 4 cars, all 3 months in; April: 2 cars with 2 months, 1 not delivered.
        let vehicles = [
            v("2024-03", 3),
            v("2024-03", 3),
            v("2024-03", 3),
            v("2024-03", 3),
            v("2024-04", 2),
            v("2024-04", 2),
            v("2024-04", 0),
        ];
        let claims = [
            c("2024-03", 1),
            c("2024-03", 3),
            c("2024-03", 3),
            c("2024-04", 2),
        ];
        let m = mis_matrix(&vehicles, &claims, None).unwrap();
        assert_eq!(m.months, 3);
        let march = &m.rows[0];
        assert_eq!(march.cohort, "2024-03");
        assert_eq!(march.vehicles, 4);
        assert_eq!(march.cells[0].per_1000, Some(250.0));
        assert_eq!(march.cells[1].per_1000, Some(0.0));
        assert_eq!(march.cells[2].per_1000, Some(500.0));
        assert_eq!(march.cells[2].cumulative_per_1000, Some(750.0));
        let april = &m.rows[1];
        assert_eq!(april.vehicles, 3);
        assert_eq!(april.cells[0].vehicles_at_risk, 2);
        assert_eq!(april.cells[1].per_1000, Some(500.0));
        assert_eq!(april.cells[2].vehicles_at_risk, 0);
        assert_eq!(april.cells[2].per_1000, None);
        assert_eq!(april.cells[2].cumulative_per_1000, None);
        // Pooled: month 2 has 6 at risk and 1 claim; month 3 only March's 4.
        assert_eq!(m.total[1].vehicles_at_risk, 6);
        assert_eq!(m.total[2].vehicles_at_risk, 4);
        assert_eq!(m.total[2].per_1000, Some(500.0));
    }

    #[test]
    fn empty_and_inconsistent_input() {
        let m = mis_matrix::<String>(&[], &[], None).unwrap();
        assert_eq!((m.months, m.rows.len(), m.total.len()), (0, 0, 0));
        let vehicles = [v("2024-03", 2)];
        assert_eq!(
            mis_matrix(&vehicles, &[c("2024-03", 0)], None),
            Err(MisError::MonthZero { index: 0 })
        );
        assert_eq!(
            mis_matrix(&vehicles, &[c("2024-03", 1), c("2024-03", 3)], None),
            Err(MisError::NoVehicleAtRisk { index: 1 })
        );
        assert_eq!(
            mis_matrix(&vehicles, &[c("2024-05", 1)], None),
            Err(MisError::NoVehicleAtRisk { index: 0 })
        );
    }

    #[test]
    fn cap_leaves_later_claims_out() {
        let vehicles = [v("a", 24), v("a", 12)];
        let claims = [c("a", 2), c("a", 20)];
        let m = mis_matrix(&vehicles, &claims, Some(12)).unwrap();
        assert_eq!(m.months, 12);
        assert_eq!(m.rows[0].cells.len(), 12);
        assert_eq!(m.rows[0].cells[11].vehicles_at_risk, 2);
        assert_eq!(m.total.iter().map(|c| c.claims).sum::<u64>(), 1);
        // A claim beyond the cap that no vehicle could have had is still an error.
        assert_eq!(
            mis_matrix(&vehicles, &[c("a", 30)], Some(12)),
            Err(MisError::NoVehicleAtRisk { index: 0 })
        );
    }
}

//! A control group proposed by matching: the service points whose KPIs in the months before the
//! start were closest to the pilot points' (their mean), so the two groups start alike.
//!
//! Each KPI is put on one scale by its standard deviation over every value in the window (of
//! all points); a candidate's distance is the root mean squared standardised difference from
//! the pilot group's mean over the KPI-months both have. A candidate with values in fewer than
//! half of the pilot group's KPI-months is not proposed.

/// `series[kpi][unit][period]`: a KPI's value per point and month before the start.
pub type Series = [Vec<Vec<Option<f64>>>];

/// A proposed control point: its index and its distance from the pilot group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    pub unit: usize,
    pub distance: f64,
}

/// The points that are not in the pilot, nearest first.
pub fn rank(series: &Series, pilot: &[bool]) -> Vec<Match> {
    let units = pilot.len();
    let mut sums = vec![(0.0, 0usize); units];
    let mut cells = 0usize;
    for kpi in series {
        let all: Vec<f64> = kpi.iter().flatten().flatten().copied().collect();
        if all.len() < 2 {
            continue;
        }
        let mean = all.iter().sum::<f64>() / all.len() as f64;
        let sd =
            (all.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (all.len() - 1) as f64).sqrt();
        let sd = if sd > 1e-12 { sd } else { 1.0 };
        let periods = kpi.iter().map(Vec::len).max().unwrap_or(0);
        for t in 0..periods {
            let pilot_values: Vec<f64> = (0..units)
                .filter(|u| pilot[*u])
                .filter_map(|u| kpi.get(u).and_then(|s| s.get(t)).copied().flatten())
                .collect();
            if pilot_values.is_empty() {
                continue;
            }
            cells += 1;
            let target = pilot_values.iter().sum::<f64>() / pilot_values.len() as f64;
            for (u, sum) in sums.iter_mut().enumerate() {
                if pilot[u] {
                    continue;
                }
                if let Some(v) = kpi.get(u).and_then(|s| s.get(t)).copied().flatten() {
                    sum.0 += ((v - target) / sd).powi(2);
                    sum.1 += 1;
                }
            }
        }
    }
    let mut out: Vec<Match> = sums
        .iter()
        .enumerate()
        .filter(|(u, (_, n))| !pilot[*u] && *n > 0 && 2 * n >= cells)
        .map(|(unit, (s, n))| Match {
            unit,
            distance: (s / *n as f64).sqrt(),
        })
        .collect();
    out.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.unit.cmp(&b.unit)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_points_come_first_and_sparse_ones_are_left_out() {
        // One KPI, four months; the pilot point is unit 0.
        let kpi = vec![
            vec![Some(80.0), Some(82.0), Some(81.0), Some(83.0)],
            vec![Some(60.0), Some(61.0), Some(59.0), Some(60.0)],
            vec![Some(79.0), Some(83.0), Some(80.0), Some(84.0)],
            vec![None, None, None, Some(81.0)],
            vec![Some(75.0), Some(76.0), Some(77.0), Some(75.0)],
        ];
        let m = rank(&[kpi], &[true, false, false, false, false]);
        let order: Vec<usize> = m.iter().map(|m| m.unit).collect();
        assert_eq!(order, vec![2, 4, 1]);
        assert!(m[0].distance < m[1].distance && m[1].distance < m[2].distance);
    }
}

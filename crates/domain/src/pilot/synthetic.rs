//! A synthetic control for a pilot run at a single service point (Abadie, Diamond and
//! Hainmueller 2010): the weighted mix of the control points, weights non-negative and summing to
//! one, whose monthly values before the start come closest to the pilot point's; after the start,
//! the gap between the pilot point and its synthetic twin is the estimate.
//!
//! - The predictors are the pilot's KPI in each month before the start, each month standardised
//!   by its standard deviation across all points and weighed equally (pysyncon's `Synth.fit` with
//!   `custom_V` of ones, which the fixture checks). The weights solve that quadratic programme on
//!   the simplex by accelerated projected gradient to 1e-12.
//! - Months where the pilot point or a control point has no value are left out of the fit; a
//!   control point missing a month of the fit is left out of the pool.
//! - Inference is the placebo in space: each control point in turn is treated as if it had run
//!   the programme, with the others as its pool; the p-value is the share of points (the pilot's
//!   own among them) whose ratio of root mean squared gap after to before is at least the
//!   pilot's. There is no confidence interval in this method: the page shows the placebo gaps.

/// A fitted synthetic control.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthetic {
    /// One weight per control point, in the order given (0 for those left out).
    pub weights: Vec<f64>,
    /// The synthetic twin's value per period (none where a weighted control has no value).
    pub synthetic: Vec<Option<f64>>,
    /// The pilot point less its twin, per period.
    pub gap: Vec<Option<f64>>,
    /// The mean gap after the start: the estimate.
    pub effect: f64,
    /// Root mean squared gap before the start (the quality of the fit) and after.
    pub rmspe_before: f64,
    pub rmspe_after: f64,
}

/// The placebo test in space.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthPlacebo {
    /// Share of points whose after/before ratio is at least the pilot's.
    pub p_value: f64,
    /// Points that were compared (the pilot's own included).
    pub points: usize,
    /// Each control point's gap per period as if it had run the programme.
    pub gaps: Vec<Vec<Option<f64>>>,
}

/// Fits the synthetic control of `treated` from `donors` (each a series over the same periods);
/// `start` is the index of the first period after the start. `None` when fewer than two control
/// points or fewer than two months before the start can be used, or nothing after it.
pub fn fit(
    treated: &[Option<f64>],
    donors: &[Vec<Option<f64>>],
    start: usize,
) -> Option<Synthetic> {
    let rows: Vec<usize> = (0..start.min(treated.len()))
        .filter(|t| treated[*t].is_some())
        .collect();
    let pool: Vec<usize> = (0..donors.len())
        .filter(|j| {
            rows.iter()
                .all(|t| donors[*j].get(*t).copied().flatten().is_some())
        })
        .collect();
    if pool.len() < 2 || rows.len() < 2 {
        return None;
    }
    // Standardise each month by its sample standard deviation across all points.
    let value = |j: usize, t: usize| donors[j][t].unwrap_or(0.0);
    let mut x0 = vec![vec![0.0; pool.len()]; rows.len()];
    let mut x1 = vec![0.0; rows.len()];
    for (r, t) in rows.iter().enumerate() {
        let mut all: Vec<f64> = pool.iter().map(|j| value(*j, *t)).collect();
        let own = treated[*t].unwrap_or(0.0);
        all.push(own);
        let n = all.len() as f64;
        let mean = all.iter().sum::<f64>() / n;
        let sd = (all.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let sd = if sd > 1e-12 { sd } else { 1.0 };
        for (c, j) in pool.iter().enumerate() {
            x0[r][c] = value(*j, *t) / sd;
        }
        x1[r] = own / sd;
    }
    let w_pool = simplex_least_squares(&x0, &x1);
    let mut weights = vec![0.0; donors.len()];
    for (c, j) in pool.iter().enumerate() {
        weights[*j] = w_pool[c];
    }
    let periods = treated.len();
    let synthetic: Vec<Option<f64>> = (0..periods)
        .map(|t| {
            let mut s = 0.0;
            for (j, w) in weights.iter().enumerate() {
                if *w > 1e-9 {
                    s += w * donors[j].get(t).copied().flatten()?;
                }
            }
            Some(s)
        })
        .collect();
    let gap: Vec<Option<f64>> = (0..periods)
        .map(|t| Some(treated[t]? - synthetic[t]?))
        .collect();
    let before: Vec<f64> = gap[..start.min(periods)]
        .iter()
        .flatten()
        .copied()
        .collect();
    let after: Vec<f64> = gap[start.min(periods)..]
        .iter()
        .flatten()
        .copied()
        .collect();
    if after.is_empty() || before.is_empty() {
        return None;
    }
    let rms = |v: &[f64]| (v.iter().map(|g| g * g).sum::<f64>() / v.len() as f64).sqrt();
    Some(Synthetic {
        effect: after.iter().sum::<f64>() / after.len() as f64,
        rmspe_before: rms(&before),
        rmspe_after: rms(&after),
        weights,
        synthetic,
        gap,
    })
}

/// The placebo test in space of the fit of `treated` (see the module).
pub fn placebo(
    treated: &[Option<f64>],
    donors: &[Vec<Option<f64>>],
    start: usize,
) -> Option<SynthPlacebo> {
    let own = fit(treated, donors, start)?;
    let ratio = |s: &Synthetic| s.rmspe_after / s.rmspe_before.max(1e-12);
    let actual = ratio(&own);
    let mut at_least = 1usize;
    let mut points = 1usize;
    let mut gaps = Vec::new();
    for j in 0..donors.len() {
        let others: Vec<Vec<Option<f64>>> = donors
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != j)
            .map(|(_, d)| d.clone())
            .collect();
        if let Some(s) = fit(&donors[j], &others, start) {
            points += 1;
            if ratio(&s) >= actual * (1.0 - 1e-12) {
                at_least += 1;
            }
            gaps.push(s.gap);
        }
    }
    Some(SynthPlacebo {
        p_value: at_least as f64 / points as f64,
        points,
        gaps,
    })
}

/// Minimises ‖x1 − x0·w‖² over the simplex (w ≥ 0, Σw = 1) by accelerated projected gradient.
fn simplex_least_squares(x0: &[Vec<f64>], x1: &[f64]) -> Vec<f64> {
    let n = x0.first().map_or(0, Vec::len);
    // P = x0'x0, q = x0'x1: the objective ½w'Pw − q'w has the same minimiser.
    let mut p = vec![vec![0.0; n]; n];
    let mut q = vec![0.0; n];
    for (row, y) in x0.iter().zip(x1) {
        for i in 0..n {
            q[i] += row[i] * y;
            for j in 0..n {
                p[i][j] += row[i] * row[j];
            }
        }
    }
    // Step 1/L with L the largest eigenvalue of P (power iteration, then a safety margin).
    let mut v = vec![1.0; n];
    let mut l = 0.0;
    for _ in 0..200 {
        let pv: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| p[i][j] * v[j]).sum())
            .collect();
        let norm = pv.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm < 1e-300 {
            break;
        }
        l = norm / v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v = pv.iter().map(|x| x / norm).collect();
    }
    let step = 1.0 / (l * 1.05).max(1e-12);
    let mut w = vec![1.0 / n as f64; n];
    let mut y = w.clone();
    let mut t = 1.0_f64;
    for _ in 0..50_000 {
        let grad: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| p[i][j] * y[j]).sum::<f64>() - q[i])
            .collect();
        let next = project(&(0..n).map(|i| y[i] - step * grad[i]).collect::<Vec<_>>());
        let t_next = (1.0 + (1.0 + 4.0 * t * t).sqrt()) / 2.0;
        let change = next
            .iter()
            .zip(&w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        y = (0..n)
            .map(|i| next[i] + (t - 1.0) / t_next * (next[i] - w[i]))
            .collect();
        w = next;
        t = t_next;
        if change < 1e-12 {
            break;
        }
    }
    w
}

/// The Euclidean projection onto the simplex (Duchi et al. 2008).
fn project(v: &[f64]) -> Vec<f64> {
    let mut u = v.to_vec();
    u.sort_by(|a, b| b.total_cmp(a));
    let mut cumulative = 0.0;
    let mut theta = 0.0;
    for (i, x) in u.iter().enumerate() {
        cumulative += x;
        let candidate = (cumulative - 1.0) / (i + 1) as f64;
        if x - candidate > 0.0 {
            theta = candidate;
        }
    }
    v.iter().map(|x| (x - theta).max(0.0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(level: f64, slope: f64, lift: f64, start: usize) -> Vec<Option<f64>> {
        (0..12)
            .map(|t| {
                // A wiggle of its own per series, so no series is a mix of the others.
                let wiggle = ((t as f64) * level / 7.0).sin() * 2.0;
                Some(level + slope * t as f64 + wiggle + if t >= start { lift } else { 0.0 })
            })
            .collect()
    }

    #[test]
    fn a_point_that_is_a_mix_of_two_others_is_found_and_its_lift_measured() {
        // The pilot point is exactly ¼ of A and ¾ of B before the start, then 5 higher.
        let a = series(70.0, 0.2, 0.0, 8);
        let b = series(80.0, -0.1, 0.0, 8);
        let c = series(60.0, 0.5, 0.0, 8);
        let treated: Vec<Option<f64>> = (0..12)
            .map(|t| {
                Some(0.25 * a[t].unwrap() + 0.75 * b[t].unwrap() + if t >= 8 { 5.0 } else { 0.0 })
            })
            .collect();
        let s = fit(&treated, &[a, b, c], 8).unwrap();
        assert!((s.weights[0] - 0.25).abs() < 1e-6, "{:?}", s.weights);
        assert!((s.weights[1] - 0.75).abs() < 1e-6, "{:?}", s.weights);
        assert!(s.weights[2].abs() < 1e-6);
        assert!((s.effect - 5.0).abs() < 1e-5, "{}", s.effect);
        assert!(s.rmspe_before < 1e-5);
    }

    #[test]
    fn too_few_controls_or_months_give_no_fit() {
        let a = series(70.0, 0.2, 0.0, 8);
        let t = series(71.0, 0.2, 3.0, 8);
        assert!(fit(&t, std::slice::from_ref(&a), 8).is_none());
        assert!(fit(&t, &[a.clone(), a], 1).is_none());
    }

    #[test]
    fn projection_lands_on_the_simplex() {
        let p = project(&[0.5, 2.0, -1.0]);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p.iter().all(|x| *x >= 0.0));
        assert_eq!(p, vec![0.0, 1.0, 0.0]);
    }
}

//! Pilots (capability pilots, issue 20): whether a programme run at some service points moved a
//! KPI, against a control group. The data is a panel: a KPI's value per service point and period
//! (month), each point in the pilot or the control group, each period before or after the start.
//!
//! - Difference-in-differences by ordinary least squares, y = α + β·pilot + γ·after +
//!   δ·(pilot × after) + ε, δ the estimate; its standard error clustered by service point (the
//!   sandwich with the small-sample factor G/(G−1)·(N−1)/(N−K), as statsmodels' `cov_type =
//!   "cluster"`), the 95 % interval from the normal quantile.
//! - The permutation (placebo) test: the same estimate with the pilot label moved to every other
//!   set of as many service points (all of them when there are at most `MAX_EXACT`
//!   assignments, else a seeded sample); the p-value is the share of assignments whose estimate
//!   is at least as far from zero as the pilot's, the pilot's own among them.
//! - `thin` says plainly when the data is too thin: no point in the pilot, fewer than two in the
//!   control group, fewer than two periods on either side of the start. (A single pilot site is
//!   estimated too; a synthetic control for it is still to come.)
//!
//! Checked against statsmodels on fixed data sets (`tools/pilots/make_fixtures.py`).

use crate::analysis::normal;
use crate::analysis::sample::SplitMix64;

/// One observation: a service point's KPI value in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The service point's index.
    pub unit: usize,
    /// The period's index (months from the panel's first).
    pub period: i64,
    pub value: f64,
}

/// A pilot's panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub observations: Vec<Observation>,
    /// Which units are in the pilot (by index); the rest are the control group.
    pub pilot: Vec<bool>,
    /// The first period after the start.
    pub start: i64,
}

/// A difference-in-differences estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// δ: the pilot's change less the control group's.
    pub effect: f64,
    /// Clustered by service point.
    pub std_error: f64,
    /// The 95 % interval.
    pub lower: f64,
    pub upper: f64,
    /// The four means: pilot before, pilot after, control before, control after.
    pub means: [f64; 4],
}

/// Why a pilot cannot be concluded yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thin {
    TooFewPilotPoints,
    TooFewControlPoints,
    TooFewPeriodsBefore,
    TooFewPeriodsAfter,
}

/// The permutation test.
#[derive(Debug, Clone, PartialEq)]
pub struct Placebo {
    /// Share of assignments with an estimate at least as far from zero as the pilot's.
    pub p_value: f64,
    /// How many assignments were tried (the pilot's own included).
    pub assignments: usize,
    /// Whether every assignment was tried.
    pub exact: bool,
}

/// At most this many assignments are tried one by one; beyond, a seeded sample of this size.
pub const MAX_EXACT: usize = 5_000;

impl Panel {
    /// Checks that the data allows a conclusion.
    pub fn thin(&self) -> Option<Thin> {
        let pilots = self.pilot.iter().filter(|p| **p).count();
        let controls = self.pilot.len() - pilots;
        if pilots < 1 {
            return Some(Thin::TooFewPilotPoints);
        }
        if controls < 2 {
            return Some(Thin::TooFewControlPoints);
        }
        let periods = |after: bool| {
            let mut ps: Vec<i64> = self
                .observations
                .iter()
                .filter(|o| (o.period >= self.start) == after)
                .map(|o| o.period)
                .collect();
            ps.sort_unstable();
            ps.dedup();
            ps.len()
        };
        if periods(false) < 2 {
            return Some(Thin::TooFewPeriodsBefore);
        }
        if periods(true) < 2 {
            return Some(Thin::TooFewPeriodsAfter);
        }
        None
    }

    /// The estimate with the pilot label as given.
    pub fn estimate(&self) -> Option<Estimate> {
        did(&self.observations, &self.pilot, self.start)
    }

    /// The permutation test of the estimate (see the module).
    pub fn placebo(&self, seed: u64) -> Option<Placebo> {
        let actual = self.estimate()?.effect;
        let n = self.pilot.len();
        let k = self.pilot.iter().filter(|p| **p).count();
        let total = binomial(n, k);
        let tol = 1e-12 * actual.abs().max(1.0);
        let mut at_least = 0usize;
        let mut tried = 0usize;
        let mut count = |labels: &[bool]| {
            if let Some(e) = did(&self.observations, labels, self.start) {
                tried += 1;
                if e.effect.abs() >= actual.abs() - tol {
                    at_least += 1;
                }
            }
        };
        let exact = total <= MAX_EXACT as u128;
        if exact {
            let mut idx: Vec<usize> = (0..k).collect();
            loop {
                let mut labels = vec![false; n];
                for i in &idx {
                    labels[*i] = true;
                }
                count(&labels);
                // The next combination in lexicographic order: the rightmost index that can
                // still move, moved by one, those after it right behind.
                let mut i = k;
                while i > 0 && idx[i - 1] == n - k + i - 1 {
                    i -= 1;
                }
                if i == 0 {
                    break;
                }
                idx[i - 1] += 1;
                for j in i..k {
                    idx[j] = idx[j - 1] + 1;
                }
            }
        } else {
            count(&self.pilot);
            let mut rng = SplitMix64::new(seed);
            for _ in 1..MAX_EXACT {
                let mut order: Vec<usize> = (0..n).collect();
                for i in (1..n).rev() {
                    let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                    order.swap(i, j);
                }
                let mut labels = vec![false; n];
                for i in order.iter().take(k) {
                    labels[*i] = true;
                }
                count(&labels);
            }
        }
        (tried > 0).then(|| Placebo {
            p_value: at_least as f64 / tried as f64,
            assignments: tried,
            exact,
        })
    }
}

fn binomial(n: usize, k: usize) -> u128 {
    let k = k.min(n - k.min(n));
    let mut r: u128 = 1;
    for i in 0..k {
        r = r * (n - i) as u128 / (i + 1) as u128;
        if r > 1_000_000_000 {
            return r;
        }
    }
    r
}

/// Solves a small symmetric system by Gauss–Jordan with partial pivoting; the inverse.
fn invert(m: [[f64; 4]; 4]) -> Option<[[f64; 4]; 4]> {
    let mut a = m;
    let mut inv = [[0.0; 4]; 4];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for col in 0..4 {
        let pivot = (col..4).max_by(|x, y| a[*x][col].abs().total_cmp(&a[*y][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let d = a[col][col];
        for j in 0..4 {
            a[col][j] /= d;
            inv[col][j] /= d;
        }
        for r in 0..4 {
            if r != col {
                let f = a[r][col];
                for j in 0..4 {
                    a[r][j] -= f * a[col][j];
                    inv[r][j] -= f * inv[col][j];
                }
            }
        }
    }
    Some(inv)
}

/// The difference-in-differences regression (see the module); `None` when a cell is empty.
pub fn did(observations: &[Observation], pilot: &[bool], start: i64) -> Option<Estimate> {
    let row = |o: &Observation| {
        let p = f64::from(u8::from(*pilot.get(o.unit)?));
        let a = f64::from(u8::from(o.period >= start));
        Some([1.0, p, a, p * a])
    };
    let mut xtx = [[0.0; 4]; 4];
    let mut xty = [0.0; 4];
    let mut sums = [(0.0, 0usize); 4];
    for o in observations {
        let x = row(o)?;
        for i in 0..4 {
            xty[i] += x[i] * o.value;
            for j in 0..4 {
                xtx[i][j] += x[i] * x[j];
            }
        }
        let cell = match (x[1] > 0.5, x[2] > 0.5) {
            (true, false) => 0,
            (true, true) => 1,
            (false, false) => 2,
            (false, true) => 3,
        };
        sums[cell].0 += o.value;
        sums[cell].1 += 1;
    }
    if sums.iter().any(|(_, n)| *n == 0) {
        return None;
    }
    let inv = invert(xtx)?;
    let beta: Vec<f64> = (0..4)
        .map(|i| (0..4).map(|j| inv[i][j] * xty[j]).sum())
        .collect();
    // The meat: Σ over clusters of (X_g' u_g)(X_g' u_g)'.
    let units = pilot.len();
    let mut score = vec![[0.0; 4]; units];
    for o in observations {
        let x = row(o)?;
        let u = o.value - (0..4).map(|i| x[i] * beta[i]).sum::<f64>();
        for i in 0..4 {
            score[o.unit][i] += x[i] * u;
        }
    }
    let used: Vec<&[f64; 4]> = score
        .iter()
        .enumerate()
        .filter(|(g, _)| observations.iter().any(|o| o.unit == *g))
        .map(|(_, s)| s)
        .collect();
    let g = used.len() as f64;
    let n = observations.len() as f64;
    let k = 4.0;
    if g < 2.0 || n <= k {
        return None;
    }
    let mut meat = [[0.0; 4]; 4];
    for s in used {
        for i in 0..4 {
            for j in 0..4 {
                meat[i][j] += s[i] * s[j];
            }
        }
    }
    let factor = g / (g - 1.0) * (n - 1.0) / (n - k);
    // The variance of δ: row 3 of inv · meat · inv, column 3.
    let mut var = 0.0;
    for i in 0..4 {
        for j in 0..4 {
            var += inv[3][i] * meat[i][j] * inv[j][3];
        }
    }
    let se = (var * factor).max(0.0).sqrt();
    let z = normal::quantile(0.975)?;
    let means = sums.map(|(s, n)| s / n as f64);
    Some(Estimate {
        effect: beta[3],
        std_error: se,
        lower: beta[3] - z * se,
        upper: beta[3] + z * se,
        means,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel(effect: f64) -> Panel {
        // Five points, eight months, the programme from month 4 at points 0 and 1.
        let base = [80.0, 76.0, 78.0, 74.0, 79.0];
        let mut observations = Vec::new();
        for (unit, b) in base.iter().enumerate() {
            for period in 0..8 {
                let wiggle = ((unit * 7 + period as usize * 3) % 5) as f64 - 2.0;
                let lift = if unit < 2 && period >= 4 { effect } else { 0.0 };
                observations.push(Observation {
                    unit,
                    period,
                    value: b + 0.5 * period as f64 + wiggle + lift,
                });
            }
        }
        Panel {
            observations,
            pilot: vec![true, true, false, false, false],
            start: 4,
        }
    }

    #[test]
    fn the_estimate_is_the_difference_of_the_differences_of_means() {
        let p = panel(6.0);
        let e = p.estimate().unwrap();
        let [pb, pa, cb, ca] = e.means;
        assert!((e.effect - ((pa - pb) - (ca - cb))).abs() < 1e-9);
        assert!(e.lower < e.effect && e.effect < e.upper);
        assert!(p.thin().is_none());
    }

    #[test]
    fn the_placebo_test_tries_every_assignment_and_ranks_the_pilot() {
        let p = panel(6.0);
        let t = p.placebo(1).unwrap();
        // C(5, 2) = 10 assignments; the real one is the most extreme.
        assert_eq!(t.assignments, 10);
        assert!(t.exact);
        assert!((t.p_value - 0.1).abs() < 1e-12, "{}", t.p_value);
        let none = panel(0.0).placebo(1).unwrap();
        assert!(none.p_value > 0.1);
    }

    #[test]
    fn thin_data_is_named() {
        let mut p = panel(1.0);
        p.pilot = vec![true, true, true, true, false];
        assert_eq!(p.thin(), Some(Thin::TooFewControlPoints));
        let mut p = panel(1.0);
        p.start = 7;
        assert_eq!(p.thin(), Some(Thin::TooFewPeriodsAfter));
        let mut p = panel(1.0);
        p.pilot = vec![false; 5];
        assert_eq!(p.thin(), Some(Thin::TooFewPilotPoints));
        assert!(p.estimate().is_none());
    }
}

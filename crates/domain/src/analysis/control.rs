//! Early warning on claim rates over calendar months: Laney's u′ chart for counts over areas of
//! opportunity (claims over vehicles at risk), with a run rule, and an EWMA and a one-sided
//! CUSUM on the same standardised rates as second opinions.
//!
//! Laney u′ (D. B. Laney, "Improved control charts for attributes", Quality Engineering 14(4),
//! 2002): with counts nᵢ over exposures aᵢ, uᵢ = nᵢ/aᵢ and ū = Σn/Σa,
//! zᵢ = (uᵢ − ū)/√(ū/aᵢ), σ_z = (mean moving range of z)/1.128, and the limits are
//! ū ± 3·√(ū/aᵢ)·σ_z (the lower one floored at 0). σ_z absorbs the month-to-month variation
//! that a plain u chart ignores, which with fleets of thousands of vehicles makes every month
//! "out of control". ū and σ_z come from a baseline (the first months, or all of them).
//!
//! Signals, upward only (the question is whether a component's rate rises):
//! - a point above the upper limit;
//! - a run: the point ends `run_length` (8) or more consecutive points strictly above ū
//!   (Nelson's rule 2 on one side);
//! - EWMA on wᵢ = zᵢ/σ_z (unit variance under Laney's model): Eᵢ = λ·wᵢ + (1−λ)·Eᵢ₋₁, E₀ = 0,
//!   signal when Eᵢ > L·√(λ/(2−λ)·(1 − (1−λ)^(2i))) (exact time-varying limit; λ = 0.2, L = 3);
//! - upper CUSUM on the same wᵢ: Cᵢ = max(0, Cᵢ₋₁ + wᵢ − k), C₀ = 0, signal when Cᵢ > h
//!   (k = 0.5, h = 4); not reset after a signal, so a persisting shift keeps signalling.

use serde::Serialize;

/// d₂ for moving ranges of two: the mean range of two standard normal draws.
pub const D2: f64 = 1.128;

/// One calendar month (or other period): claims counted over the exposure at risk.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatePoint {
    /// Claims (or repairs) in the period.
    pub count: u64,
    /// Vehicles at risk (or vehicle-months) in the period; > 0.
    pub exposure: f64,
}

/// Settings of the chart; [`Default`] gives the documented ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ControlOptions {
    /// Use the first `n` points (at least 2) for ū and σ_z; `None`: all points.
    pub baseline: Option<usize>,
    /// Width of the Laney limits in σ (3).
    pub sigma_multiplier: f64,
    /// Points in a row above the centre line that make a run signal (8).
    pub run_length: usize,
    /// EWMA weight λ, 0 < λ ≤ 1 (0.2).
    pub ewma_lambda: f64,
    /// EWMA limit width L (3).
    pub ewma_width: f64,
    /// CUSUM reference value k, in σ (0.5).
    pub cusum_k: f64,
    /// CUSUM decision interval h, in σ (4).
    pub cusum_h: f64,
}

impl Default for ControlOptions {
    fn default() -> Self {
        ControlOptions {
            baseline: None,
            sigma_multiplier: 3.0,
            run_length: 8,
            ewma_lambda: 0.2,
            ewma_width: 3.0,
            cusum_k: 0.5,
            cusum_h: 4.0,
        }
    }
}

/// One point of the chart with its limits and signals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ControlPoint {
    /// Claims in the period.
    pub count: u64,
    /// Exposure at risk in the period.
    pub exposure: f64,
    /// uᵢ = count / exposure.
    pub rate: f64,
    /// Lower Laney limit for this point's exposure, floored at 0.
    pub lower: f64,
    /// Upper Laney limit for this point's exposure.
    pub upper: f64,
    /// zᵢ = (uᵢ − ū)/√(ū/aᵢ).
    pub z: f64,
    /// wᵢ = zᵢ/σ_z, the input of the EWMA and the CUSUM.
    pub standardised: f64,
    /// The rate lies above the upper limit.
    pub above_upper: bool,
    /// This point ends a run of `run_length` or more points above ū.
    pub run_above: bool,
    /// Eᵢ, the EWMA of the standardised rates.
    pub ewma: f64,
    /// The EWMA's upper limit at this point.
    pub ewma_upper: f64,
    /// Eᵢ lies above its limit.
    pub ewma_signal: bool,
    /// Cᵢ, the upper CUSUM of the standardised rates.
    pub cusum: f64,
    /// Cᵢ lies above h.
    pub cusum_signal: bool,
}

impl ControlPoint {
    /// Whether any of the rules signals a rise at this point.
    pub fn signals(&self) -> bool {
        self.above_upper || self.run_above || self.ewma_signal || self.cusum_signal
    }
}

/// A Laney u′ chart with its second opinions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlChart {
    /// ū over the baseline.
    pub centre: f64,
    /// Mean moving range of z over the baseline.
    pub mean_moving_range: f64,
    /// σ_z = mean moving range / [`D2`]: 1 when the counts are as Poisson says, more when the
    /// rate varies between months.
    pub sigma_z: f64,
    /// Points used for ū and σ_z.
    pub baseline: usize,
    /// The settings the chart was drawn with.
    pub options: ControlOptions,
    /// Every point in input order.
    pub points: Vec<ControlPoint>,
}

impl ControlChart {
    /// Indices of the points where any rule signals a rise.
    pub fn signalled(&self) -> Vec<usize> {
        self.points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.signals())
            .map(|(i, _)| i)
            .collect()
    }
}

/// Why no chart can be drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    /// Fewer than 2 points, or a baseline shorter than 2 or longer than the data.
    #[error(
        "a chart needs at least 2 points in its baseline, and the baseline no more than the points"
    )]
    TooFewPoints,
    /// An exposure is zero, negative or not finite.
    #[error("point {index}: the exposure must be a finite number above 0")]
    InvalidExposure {
        /// Position of the point in the input.
        index: usize,
    },
    /// No claim at all in the baseline.
    #[error("no counts in the baseline: the centre line is 0 and no point can be judged")]
    NoEvents,
    /// Every z of the baseline is the same.
    #[error("the standardised rates do not vary in the baseline: σ_z is 0")]
    NoVariation,
    /// An option lies outside its range.
    #[error("an option is out of range: {option}")]
    InvalidOption {
        /// The option's field name.
        option: &'static str,
    },
}

/// Draws the Laney u′ chart with run rule, EWMA and CUSUM (definitions in the module header).
pub fn laney_u_prime(
    points: &[RatePoint],
    options: &ControlOptions,
) -> Result<ControlChart, ControlError> {
    check_options(options)?;
    if let Some(index) = points
        .iter()
        .position(|p| !(p.exposure.is_finite() && p.exposure > 0.0))
    {
        return Err(ControlError::InvalidExposure { index });
    }
    let baseline = options.baseline.unwrap_or(points.len());
    if baseline < 2 || baseline > points.len() {
        return Err(ControlError::TooFewPoints);
    }
    let base = &points[..baseline];
    let total_count: f64 = base.iter().map(|p| p.count as f64).sum();
    let total_exposure: f64 = base.iter().map(|p| p.exposure).sum();
    let centre = total_count / total_exposure;
    if !(centre.is_finite() && centre > 0.0) {
        return Err(ControlError::NoEvents);
    }
    let z: Vec<f64> = points
        .iter()
        .map(|p| (p.count as f64 / p.exposure - centre) / (centre / p.exposure).sqrt())
        .collect();
    let mean_moving_range = z[..baseline]
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .sum::<f64>()
        / (baseline - 1) as f64;
    let sigma_z = mean_moving_range / D2;
    if !(sigma_z > 0.0 && sigma_z.is_finite()) {
        return Err(ControlError::NoVariation);
    }
    let lambda = options.ewma_lambda;
    let mut ewma = 0.0;
    let mut cusum = 0.0;
    let mut run = 0usize;
    let mut out = Vec::with_capacity(points.len());
    for (i, (p, z)) in points.iter().zip(&z).enumerate() {
        let rate = p.count as f64 / p.exposure;
        let half = options.sigma_multiplier * (centre / p.exposure).sqrt() * sigma_z;
        let upper = centre + half;
        let w = z / sigma_z;
        run = if rate > centre { run + 1 } else { 0 };
        ewma = lambda * w + (1.0 - lambda) * ewma;
        let steps = (i + 1) as f64;
        let ewma_upper = options.ewma_width
            * (lambda / (2.0 - lambda) * (1.0 - (1.0 - lambda).powf(2.0 * steps))).sqrt();
        cusum = (cusum + w - options.cusum_k).max(0.0);
        out.push(ControlPoint {
            count: p.count,
            exposure: p.exposure,
            rate,
            lower: (centre - half).max(0.0),
            upper,
            z: *z,
            standardised: w,
            above_upper: rate > upper,
            run_above: run >= options.run_length,
            ewma,
            ewma_upper,
            ewma_signal: ewma > ewma_upper,
            cusum,
            cusum_signal: cusum > options.cusum_h,
        });
    }
    Ok(ControlChart {
        centre,
        mean_moving_range,
        sigma_z,
        baseline,
        options: *options,
        points: out,
    })
}

fn check_options(o: &ControlOptions) -> Result<(), ControlError> {
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if !positive(o.sigma_multiplier) {
        return Err(ControlError::InvalidOption {
            option: "sigma_multiplier",
        });
    }
    if o.run_length == 0 {
        return Err(ControlError::InvalidOption {
            option: "run_length",
        });
    }
    if !(positive(o.ewma_lambda) && o.ewma_lambda <= 1.0) {
        return Err(ControlError::InvalidOption {
            option: "ewma_lambda",
        });
    }
    if !positive(o.ewma_width) {
        return Err(ControlError::InvalidOption {
            option: "ewma_width",
        });
    }
    if !(o.cusum_k.is_finite() && o.cusum_k >= 0.0) {
        return Err(ControlError::InvalidOption { option: "cusum_k" });
    }
    if !positive(o.cusum_h) {
        return Err(ControlError::InvalidOption { option: "cusum_h" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(counts: &[u64], exposure: f64) -> Vec<RatePoint> {
        counts
            .iter()
            .map(|c| RatePoint {
                count: *c,
                exposure,
            })
            .collect()
    }

    #[test]
    fn rejects_bad_input() {
        let o = ControlOptions::default();
        assert_eq!(laney_u_prime(&[], &o), Err(ControlError::TooFewPoints));
        assert_eq!(
            laney_u_prime(&pts(&[3], 100.0), &o),
            Err(ControlError::TooFewPoints)
        );
        let mut p = pts(&[3, 4, 5], 100.0);
        p[2].exposure = 0.0;
        assert_eq!(
            laney_u_prime(&p, &o),
            Err(ControlError::InvalidExposure { index: 2 })
        );
        assert_eq!(
            laney_u_prime(&pts(&[0, 0, 0], 100.0), &o),
            Err(ControlError::NoEvents)
        );
        assert_eq!(
            laney_u_prime(&pts(&[4, 4, 4], 100.0), &o),
            Err(ControlError::NoVariation)
        );
        let too_long = ControlOptions {
            baseline: Some(4),
            ..o
        };
        assert_eq!(
            laney_u_prime(&pts(&[3, 4, 5], 100.0), &too_long),
            Err(ControlError::TooFewPoints)
        );
        let bad = ControlOptions {
            ewma_lambda: 1.5,
            ..o
        };
        assert_eq!(
            laney_u_prime(&pts(&[3, 4, 5], 100.0), &bad),
            Err(ControlError::InvalidOption {
                option: "ewma_lambda"
            })
        );
    }

    #[test]
    fn huge_denominators_stay_finite_and_calm() {
        // A fleet of 5 million with a rate that wobbles by a few per cent: a plain u chart would
        // flag nearly every month; Laney's σ_z widens the limits to the real variation.
        let wobble = [
            1.00, 1.03, 0.98, 1.02, 0.97, 1.01, 0.99, 1.04, 0.96, 1.00, 1.02, 0.98,
        ];
        let p: Vec<RatePoint> = wobble
            .iter()
            .map(|w| RatePoint {
                count: (5.0e6 * 2.0e-3 * w) as u64,
                exposure: 5.0e6,
            })
            .collect();
        let c = laney_u_prime(&p, &ControlOptions::default()).unwrap();
        assert!(c.sigma_z > 2.0, "{}", c.sigma_z);
        assert!(c
            .points
            .iter()
            .all(|p| p.upper.is_finite() && !p.above_upper));
        let p: Vec<RatePoint> = p
            .iter()
            .map(|p| RatePoint {
                count: p.count * 1000,
                exposure: p.exposure * 1000.0,
            })
            .collect();
        let big = laney_u_prime(&p, &ControlOptions::default()).unwrap();
        assert!(big.signalled().is_empty());
        assert!((big.centre / c.centre - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_step_up_signals() {
        let mut counts = vec![20, 23, 18, 21, 19, 22, 20, 17, 24, 21, 19, 20];
        counts.extend([30, 32, 31, 33]);
        let p = pts(&counts, 10_000.0);
        let o = ControlOptions {
            baseline: Some(12),
            ..ControlOptions::default()
        };
        let c = laney_u_prime(&p, &o).unwrap();
        assert!(c.signalled().iter().all(|i| *i >= 12));
        assert!(c.points[12].above_upper);
        assert!(c.points[15].cusum_signal && c.points[15].ewma_signal);
    }

    #[test]
    fn run_rule_needs_eight() {
        let counts = [10, 10, 12, 12, 12, 12, 12, 12, 12, 12, 8, 9];
        let p = pts(&counts, 1000.0);
        let c = laney_u_prime(&p, &ControlOptions::default()).unwrap();
        let runs: Vec<bool> = c.points.iter().map(|p| p.run_above).collect();
        assert_eq!(runs.iter().filter(|r| **r).count(), 1);
        assert!(runs[9]);
    }
}

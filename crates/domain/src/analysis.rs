//! Statistics behind claim analysis and the risk-based audit of service points (issue 18): pure
//! functions over plain numbers, no store, no clock, randomness only as a seed passed in. Each
//! file owns one method and states its definition, so every figure on a screen can say how it
//! was computed; the reference values come from `tools/reliability/` (see its README).
#![warn(missing_docs)]

pub mod audit;
pub mod control;
pub mod funnel;
pub mod history;
pub mod mis;
pub mod normal;
pub mod sample;
pub mod student;
pub mod weibull;

use serde::Serialize;

/// A two-sided interval, `lower` ≤ `upper`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The lower end.
    pub lower: f64,
    /// The upper end.
    pub upper: f64,
}

impl Interval {
    /// Whether `x` lies inside the interval, ends included.
    pub fn contains(&self, x: f64) -> bool {
        self.lower <= x && x <= self.upper
    }
}

/// A point estimate with its two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// The lower confidence bound.
    pub lower: f64,
    /// The upper confidence bound.
    pub upper: f64,
}

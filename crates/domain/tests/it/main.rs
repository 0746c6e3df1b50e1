//! The statistics of `aftersales_domain::analysis` against reference values written by
//! `tools/reliability/make_fixtures.py` (the Python `reliability` 0.9.0 and `lifelines` 0.30.3
//! packages, and numpy implementations of the published chart formulas). Tolerances, also in
//! `tools/reliability/README.md`:
//! - Weibull against `reliability`'s own Fit_Weibull_2P output: β and η relative 5e-4 (its TNC
//!   optimizer stops up to 1.1e-4 from the maximum), log-likelihood relative 1e-6, bounds on β
//!   and η and F(t) with its bounds relative 1e-3;
//! - Weibull against `reliability`'s log-likelihood, autograd Hessian and bound formulas evaluated
//!   at the exact maximum (the method without the optimizer's error): relative 1e-9 for
//!   everything (estimates, log-likelihood, covariance, bounds, F(t) and its bounds);
//! - Weibull against `lifelines`' WeibullFitter: β and η relative 1e-5, log-likelihood relative 1e-8;
//! - plotting positions against `reliability`'s plotting_positions: relative 1e-12;
//! - Laney u′ (with EWMA and CUSUM) and funnel plots against numpy: relative 1e-9 (plus 1e-12
//!   absolute for values near 0), every flag and position identical.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod analysis;
mod pilots;

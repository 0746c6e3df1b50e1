//! The logistics optimiser: vehicle routing with time windows, pickup and delivery, breaks, skills, locks and
//! time-of-day travel times. Pure computation: no I/O but the text readers for the benchmark formats.
//!
//! Build a [`Problem`], call [`solve`] with a [`Config`], and get a [`Plan`] whose every route carries its schedule
//! and whose every unassigned stop names the constraint that blocks it. [`check`] verifies any plan independently.

mod check;
mod eval;
pub mod io;
mod model;
mod plan;
mod rng;
mod route;
mod solver;

pub use check::{check, check_sequences, Summary};
pub use eval::Reason;
pub use model::{
    Break, Load, Matrix, ModelError, Problem, Role, Stop, TravelTimes, Vehicle, Window, MAX_DIMS,
    MAX_SKILLS,
};
pub use plan::{BreakTaken, Objective, Plan, Route, Stats, Unassigned, Visit};
pub use solver::{solve, Config};

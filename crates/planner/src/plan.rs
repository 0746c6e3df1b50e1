//! What the solver returns: routes with their full schedule, unassigned stops with the reason, and the objective.

use std::cmp::Ordering;

use crate::eval::Reason;

/// The hierarchical objective: unassigned stops (weighted by priority), then vehicles used, then cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    pub unassigned: f64,
    pub vehicles: usize,
    pub cost: f64,
}

impl Objective {
    /// Lexicographic comparison; lower is better.
    pub fn compare(&self, other: &Objective) -> Ordering {
        self.unassigned
            .total_cmp(&other.unassigned)
            .then(self.vehicles.cmp(&other.vehicles))
            .then(self.cost.total_cmp(&other.cost))
    }

    pub fn better_than(&self, other: &Objective) -> bool {
        self.compare(other) == Ordering::Less
    }
}

/// A served stop with its times.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    pub stop: usize,
    pub arrival: f64,
    /// Service begins (after waiting and any break taken here).
    pub start: f64,
    pub departure: f64,
}

/// A break as taken: `gap` is the number of visits before it; before travelling (at the previous place) or after
/// arriving (at the next one).
#[derive(Debug, Clone, PartialEq)]
pub struct BreakTaken {
    pub index: usize,
    pub start: f64,
    pub end: f64,
    pub gap: usize,
    pub before_travel: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub vehicle: usize,
    pub visits: Vec<Visit>,
    pub breaks: Vec<BreakTaken>,
    /// Departure from the start.
    pub start: f64,
    /// Arrival at the end location (or departure from the last stop when there is none), before a break there.
    pub end_arrival: f64,
    /// When the route is over.
    pub end: f64,
    pub distance: f64,
    pub cost: f64,
}

/// A stop the plan leaves out, with the constraint that blocks it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unassigned {
    pub stop: usize,
    pub reason: Reason,
}

/// Search statistics, for benchmarks and logs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub iterations: u64,
    /// Seconds to the first plan that served every stop it could, and to the best plan.
    pub time_to_first: Option<f64>,
    pub time_to_best: f64,
    pub elapsed: f64,
    pub cancelled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub routes: Vec<Route>,
    pub unassigned: Vec<Unassigned>,
    pub objective: Objective,
    pub stats: Stats,
}

impl Plan {
    /// The stop sequences per vehicle, for warm-starting the next solve.
    pub fn sequences(&self) -> Vec<(usize, Vec<usize>)> {
        self.routes
            .iter()
            .map(|r| (r.vehicle, r.visits.iter().map(|v| v.stop).collect()))
            .collect()
    }

    pub fn distance(&self) -> f64 {
        self.routes.iter().map(|r| r.distance).sum()
    }
}

//! The planner's tests: constructed cases for every constraint and reason, benchmark readers, and property tests
//! that every plan the solver returns passes the independent checker with locks respected.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::type_complexity
)]

mod cases;
mod properties;
mod readers;

use planner::{Config, Matrix, Problem, Stop, TravelTimes, Vehicle, Window, MAX_DIMS};

/// Locations on a line: location i sits at x = xs[i]; travel time equals distance.
pub fn line(xs: &[f64]) -> (Matrix, TravelTimes) {
    let points: Vec<(f64, f64)> = xs.iter().map(|x| (*x, 0.0)).collect();
    let m = Matrix::euclidean(&points);
    (m.clone(), TravelTimes::Static(m))
}

pub fn load(a: i64) -> [i64; MAX_DIMS] {
    let mut l = [0; MAX_DIMS];
    l[0] = a;
    l
}

pub fn stop(
    name: &str,
    location: usize,
    window: Option<(f64, f64)>,
    service: f64,
    demand: i64,
) -> Stop {
    let mut s = Stop::new(name, location);
    s.windows = window
        .map(|(a, b)| vec![Window::new(a, b)])
        .unwrap_or_default();
    s.service = service;
    s.demand = load(demand);
    s
}

pub fn vehicle(name: &str, depot: usize, shift: (f64, f64), capacity: i64) -> Vehicle {
    Vehicle::new(name, depot, Window::new(shift.0, shift.1), load(capacity))
}

pub fn iterations(n: u64) -> Config {
    Config {
        time_limit: None,
        iteration_limit: Some(n),
        ..Config::default()
    }
}

pub fn problem(xs: &[f64], stops: Vec<Stop>, vehicles: Vec<Vehicle>) -> Problem {
    let (m, t) = line(xs);
    match Problem::new(m, t, stops, vehicles) {
        Ok(p) => p,
        Err(e) => panic!("test problem rejected: {e}"),
    }
}

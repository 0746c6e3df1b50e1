//! The problem the planner solves: stops, vehicles, matrices and locks, validated once on construction.
//!
//! Units are the caller's: times and durations in one unit (seconds in the product, the instance's unit in the
//! benchmarks), distances in another. Everything is `f64`, as the benchmark conventions require.

use std::collections::HashMap;

/// Most demand dimensions a problem may use (cars, loaners, seats, …).
pub const MAX_DIMS: usize = 4;
/// Most distinct skill names a problem may use.
pub const MAX_SKILLS: usize = 64;

/// A load or capacity: one amount per dimension; unused dimensions are zero.
pub type Load = [i64; MAX_DIMS];

/// A square matrix indexed by location, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    size: usize,
    values: Vec<f64>,
    /// Known to satisfy the triangle inequality (Euclidean, or checked): the search may then stop a scan early.
    metric: bool,
}

/// Largest demand or capacity per dimension: sums over a route stay far from overflow.
pub const MAX_AMOUNT: i64 = 1 << 40;

impl Matrix {
    /// A matrix from rows; every row must have as many entries as there are rows, each finite and not negative.
    pub fn from_rows(rows: Vec<Vec<f64>>) -> Result<Self, ModelError> {
        let size = rows.len();
        let mut values = Vec::with_capacity(size * size);
        for (i, row) in rows.into_iter().enumerate() {
            if row.len() != size {
                return Err(ModelError::new(
                    format!("matrix row {i}"),
                    "must have one entry per location",
                ));
            }
            for (j, v) in row.iter().enumerate() {
                if !v.is_finite() || *v < 0.0 {
                    return Err(ModelError::new(
                        format!("matrix[{i}][{j}]"),
                        "must be a finite number not below zero",
                    ));
                }
            }
            values.extend(row);
        }
        let mut m = Self {
            size,
            values,
            metric: false,
        };
        // Checking the triangle inequality is cubic: done for small matrices, assumed false for large ones.
        m.metric = size <= 150
            && (0..size).all(|i| {
                (0..size).all(|j| {
                    (0..size).all(|k| m.get(i, j) <= m.get(i, k) + m.get(k, j) + 1e-9 * m.get(i, j))
                })
            });
        Ok(m)
    }

    /// Euclidean distances between points, in double precision (the benchmark convention).
    pub fn euclidean(points: &[(f64, f64)]) -> Self {
        let size = points.len();
        let mut values = Vec::with_capacity(size * size);
        for a in points {
            for b in points {
                values.push(((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt());
            }
        }
        Self {
            size,
            values,
            metric: true,
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    fn finite(&self) -> bool {
        self.values.iter().all(|v| v.is_finite() && *v >= 0.0)
    }

    #[inline]
    pub fn get(&self, from: usize, to: usize) -> f64 {
        self.values[from * self.size + to]
    }
}

/// Travel times: one matrix, or one per time-of-day slot (rush hour). The slot is chosen by the departure time.
#[derive(Debug, Clone, PartialEq)]
pub enum TravelTimes {
    Static(Matrix),
    /// `starts[k]` is the time slot `k` begins; slot 0 begins at `starts[0]` and also covers everything earlier.
    Slots {
        starts: Vec<f64>,
        matrices: Vec<Matrix>,
    },
}

impl TravelTimes {
    #[inline]
    pub fn time(&self, from: usize, to: usize, departure: f64) -> f64 {
        match self {
            TravelTimes::Static(m) => m.get(from, to),
            TravelTimes::Slots { starts, matrices } => {
                let slot = starts
                    .partition_point(|s| *s <= departure)
                    .saturating_sub(1);
                matrices[slot].get(from, to)
            }
        }
    }

    fn size(&self) -> Option<usize> {
        match self {
            TravelTimes::Static(m) => Some(m.size()),
            TravelTimes::Slots { matrices, .. } => {
                let first = matrices.first()?.size();
                matrices.iter().all(|m| m.size() == first).then_some(first)
            }
        }
    }
}

/// A time window `[open, close]`: service must begin inside it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub open: f64,
    pub close: f64,
}

impl Window {
    pub fn new(open: f64, close: f64) -> Self {
        Self { open, close }
    }
}

/// What a stop does with the vehicle's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Delivers goods carried from the route's start (the classic VRP customer).
    Delivery,
    /// Picks up goods carried to the route's end.
    Pickup,
    /// The first half of a pickup-and-delivery task; the other half is the stop with this index.
    PairedPickup { delivery: usize },
    /// The second half of a pickup-and-delivery task.
    PairedDelivery { pickup: usize },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    /// The caller's name for the stop, used in messages.
    pub name: String,
    pub location: usize,
    /// One or more windows, sorted and not overlapping; empty means any time within the shift.
    pub windows: Vec<Window>,
    pub service: f64,
    /// Amount per dimension, not negative; the role says whether it is loaded or unloaded here.
    pub demand: Load,
    pub role: Role,
    pub skills: Vec<String>,
    /// Weight of leaving this stop unassigned (default 1).
    pub priority: f64,
    /// Lock: the stop must be served by this vehicle.
    pub vehicle: Option<usize>,
}

impl Stop {
    /// A plain delivery stop at a location with no window, no demand and no skills.
    pub fn new(name: impl Into<String>, location: usize) -> Self {
        Self {
            name: name.into(),
            location,
            windows: Vec::new(),
            service: 0.0,
            demand: [0; MAX_DIMS],
            role: Role::Delivery,
            skills: Vec::new(),
            priority: 1.0,
            vehicle: None,
        }
    }
}

/// A break of `duration` that must begin inside `window`, needed when the route is still running when the window opens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Break {
    pub duration: f64,
    pub window: Window,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Vehicle {
    pub name: String,
    /// Where the route begins; `None` starts at the first stop.
    pub start: Option<usize>,
    /// Where the route ends; `None` ends at the last stop.
    pub end: Option<usize>,
    /// Earliest departure and latest return.
    pub shift: Window,
    pub capacity: Load,
    pub skills: Vec<String>,
    /// Sorted by window; taken in this order.
    pub breaks: Vec<Break>,
    pub fixed_cost: f64,
    pub distance_cost: f64,
    pub time_cost: f64,
    /// Lock: stops already under way, in order, at the start of the route.
    pub fixed_prefix: Vec<usize>,
}

impl Vehicle {
    pub fn new(name: impl Into<String>, depot: usize, shift: Window, capacity: Load) -> Self {
        Self {
            name: name.into(),
            start: Some(depot),
            end: Some(depot),
            shift,
            capacity,
            skills: Vec::new(),
            breaks: Vec::new(),
            fixed_cost: 0.0,
            distance_cost: 1.0,
            time_cost: 0.0,
            fixed_prefix: Vec::new(),
        }
    }
}

/// Everything the solver needs; immutable once built.
#[derive(Debug, Clone)]
pub struct Problem {
    pub(crate) distance: Matrix,
    pub(crate) travel: TravelTimes,
    pub(crate) stops: Vec<Stop>,
    pub(crate) vehicles: Vec<Vehicle>,
    /// Per stop, the skills bit set; per vehicle, likewise.
    pub(crate) stop_skills: Vec<u64>,
    pub(crate) vehicle_skills: Vec<u64>,
    /// Tasks: a single stop or a pickup with its delivery. `task_of[stop]` is the task's index.
    pub(crate) tasks: Vec<Task>,
    pub(crate) task_of: Vec<usize>,
    /// Granular neighbourhood: `near[a * size + b]` when `b` is among the nearest locations of `a`, or a vehicle's
    /// start or end. The search only tries a stop next to places near it.
    pub(crate) near: Vec<bool>,
    /// Travel times satisfy the triangle inequality and do not depend on the time of day.
    pub(crate) metric: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Task {
    Single(usize),
    Pair(usize, usize),
}

impl Task {
    pub(crate) fn first(self) -> usize {
        match self {
            Task::Single(s) | Task::Pair(s, _) => s,
        }
    }
}

/// A problem that breaks a rule: `field` names where, `rule` says what must hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct ModelError {
    pub field: String,
    pub rule: String,
}

impl ModelError {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

/// How many nearest places count as near in the granular neighbourhood.
pub(crate) const GRANULAR: usize = 100;

fn granular(distance: &Matrix, stops: &[Stop], vehicles: &[Vehicle]) -> Vec<bool> {
    let size = distance.size();
    if size > 3000 {
        // Too large for a dense table: everything counts as near.
        return Vec::new();
    }
    let mut near = vec![false; size * size];
    let used: Vec<usize> = {
        let mut u: Vec<usize> = stops.iter().map(|s| s.location).collect();
        u.sort_unstable();
        u.dedup();
        u
    };
    for &a in &used {
        let mut others: Vec<usize> = used.iter().copied().filter(|b| *b != a).collect();
        others.sort_by(|x, y| distance.get(a, *x).total_cmp(&distance.get(a, *y)));
        for &b in others.iter().take(GRANULAR) {
            near[a * size + b] = true;
            near[b * size + a] = true;
        }
        near[a * size + a] = true;
        for v in vehicles {
            for d in [v.start, v.end].into_iter().flatten() {
                near[a * size + d] = true;
            }
        }
    }
    near
}

impl Problem {
    /// Whether place `b` is near `a` (a missing place, an open start or end, always is).
    #[inline]
    pub(crate) fn is_near(&self, a: usize, b: Option<usize>) -> bool {
        b.is_none_or(|b| {
            self.near
                .get(a * self.distance.size() + b)
                .copied()
                .unwrap_or(true)
        })
    }

    /// Validates and indexes a problem.
    pub fn new(
        distance: Matrix,
        travel: TravelTimes,
        stops: Vec<Stop>,
        vehicles: Vec<Vehicle>,
    ) -> Result<Self, ModelError> {
        let size = distance.size();
        if travel.size() != Some(size) {
            return Err(ModelError::new(
                "travel",
                "every travel-time matrix must have the size of the distance matrix",
            ));
        }
        if !distance.finite() {
            return Err(ModelError::new(
                "distance",
                "every entry must be a finite number not below zero",
            ));
        }
        let travel_finite = match &travel {
            TravelTimes::Static(m) => m.finite(),
            TravelTimes::Slots { matrices, .. } => matrices.iter().all(Matrix::finite),
        };
        if !travel_finite {
            return Err(ModelError::new(
                "travel",
                "every entry must be a finite number not below zero",
            ));
        }
        if let TravelTimes::Slots { starts, matrices } = &travel {
            if starts.len() != matrices.len()
                || starts.iter().any(|s| !s.is_finite())
                || starts.windows(2).any(|w| w[0] >= w[1])
            {
                return Err(ModelError::new(
                    "travel.starts",
                    "one increasing start time per matrix",
                ));
            }
        }
        let mut skill_ids: HashMap<String, u32> = HashMap::new();
        let mut skill_bits = |names: &[String], field: String| -> Result<u64, ModelError> {
            let mut bits = 0u64;
            for n in names {
                let next = skill_ids.len() as u32;
                let id = *skill_ids.entry(n.clone()).or_insert(next);
                if id as usize >= MAX_SKILLS {
                    return Err(ModelError::new(
                        field.clone(),
                        format!("at most {MAX_SKILLS} distinct skills"),
                    ));
                }
                bits |= 1u64 << id;
            }
            Ok(bits)
        };
        let mut stop_skills = Vec::with_capacity(stops.len());
        for (i, s) in stops.iter().enumerate() {
            let f = |name: &str| format!("stops[{i}].{name}");
            if s.location >= size {
                return Err(ModelError::new(
                    f("location"),
                    "must be a row of the matrices",
                ));
            }
            if !(s.service.is_finite() && s.service >= 0.0) {
                return Err(ModelError::new(
                    f("service"),
                    "must be a finite duration not below zero",
                ));
            }
            if !(s.priority.is_finite() && s.priority > 0.0) {
                return Err(ModelError::new(
                    f("priority"),
                    "must be a finite number above zero",
                ));
            }
            if s.demand.iter().any(|d| *d < 0 || *d > MAX_AMOUNT) {
                return Err(ModelError::new(
                    f("demand"),
                    "amounts must be between 0 and 2^40; the role gives the direction",
                ));
            }
            for (k, w) in s.windows.iter().enumerate() {
                if !(w.open.is_finite() && w.close.is_finite() && w.open <= w.close) {
                    return Err(ModelError::new(
                        format!("stops[{i}].windows[{k}]"),
                        "open must not be after close",
                    ));
                }
                if k > 0 && s.windows[k - 1].close >= w.open {
                    return Err(ModelError::new(
                        format!("stops[{i}].windows[{k}]"),
                        "windows must be sorted and apart",
                    ));
                }
            }
            if let Some(v) = s.vehicle {
                if v >= vehicles.len() {
                    return Err(ModelError::new(
                        f("vehicle"),
                        "must name a vehicle of the problem",
                    ));
                }
            }
            match s.role {
                Role::PairedPickup { delivery } => {
                    let ok = stops
                        .get(delivery)
                        .is_some_and(|d| d.role == Role::PairedDelivery { pickup: i });
                    if !ok {
                        return Err(ModelError::new(
                            f("role"),
                            "the delivery must name this stop as its pickup",
                        ));
                    }
                    if stops[delivery].demand != s.demand {
                        return Err(ModelError::new(
                            f("demand"),
                            "a pickup and its delivery carry the same load",
                        ));
                    }
                    if stops[delivery].vehicle != s.vehicle {
                        return Err(ModelError::new(
                            f("vehicle"),
                            "a pickup and its delivery are locked alike",
                        ));
                    }
                }
                Role::PairedDelivery { pickup } => {
                    let ok = stops
                        .get(pickup)
                        .is_some_and(|p| p.role == Role::PairedPickup { delivery: i });
                    if !ok {
                        return Err(ModelError::new(
                            f("role"),
                            "the pickup must name this stop as its delivery",
                        ));
                    }
                }
                Role::Delivery | Role::Pickup => {}
            }
            stop_skills.push(skill_bits(&s.skills, f("skills"))?);
        }
        let mut vehicle_skills = Vec::with_capacity(vehicles.len());
        let mut prefixed = vec![None; stops.len()];
        for (i, v) in vehicles.iter().enumerate() {
            let f = |name: &str| format!("vehicles[{i}].{name}");
            for (name, loc) in [("start", v.start), ("end", v.end)] {
                if loc.is_some_and(|l| l >= size) {
                    return Err(ModelError::new(f(name), "must be a row of the matrices"));
                }
            }
            if !(v.shift.open.is_finite()
                && v.shift.close.is_finite()
                && v.shift.open <= v.shift.close)
            {
                return Err(ModelError::new(f("shift"), "start must not be after end"));
            }
            if v.capacity.iter().any(|c| *c < 0 || *c > MAX_AMOUNT) {
                return Err(ModelError::new(f("capacity"), "must be between 0 and 2^40"));
            }
            for (name, c) in [
                ("fixed_cost", v.fixed_cost),
                ("distance_cost", v.distance_cost),
                ("time_cost", v.time_cost),
            ] {
                if !(c.is_finite() && c >= 0.0) {
                    return Err(ModelError::new(
                        f(name),
                        "must be a finite number not below zero",
                    ));
                }
            }
            for (k, b) in v.breaks.iter().enumerate() {
                if !(b.duration.is_finite() && b.duration >= 0.0 && b.window.open <= b.window.close)
                {
                    return Err(ModelError::new(
                        format!("vehicles[{i}].breaks[{k}]"),
                        "a duration and an ordered window",
                    ));
                }
                if k > 0 && v.breaks[k - 1].window.open > b.window.open {
                    return Err(ModelError::new(
                        format!("vehicles[{i}].breaks[{k}]"),
                        "breaks must be sorted by window",
                    ));
                }
            }
            for (k, s) in v.fixed_prefix.iter().enumerate() {
                let field = format!("vehicles[{i}].fixed_prefix[{k}]");
                let Some(stop) = stops.get(*s) else {
                    return Err(ModelError::new(field, "must be a stop of the problem"));
                };
                if prefixed[*s].replace(i).is_some() {
                    return Err(ModelError::new(
                        field,
                        "a stop can be under way on one route once",
                    ));
                }
                if stop.vehicle.is_some_and(|l| l != i) {
                    return Err(ModelError::new(
                        field,
                        "the stop is locked to another vehicle",
                    ));
                }
                if let Role::PairedDelivery { pickup } = stop.role {
                    if !v.fixed_prefix[..k].contains(&pickup) {
                        return Err(ModelError::new(
                            field,
                            "a delivery under way needs its pickup before it",
                        ));
                    }
                }
            }
            vehicle_skills.push(skill_bits(&v.skills, f("skills"))?);
        }
        let mut tasks = Vec::new();
        let mut task_of = vec![0; stops.len()];
        for (i, s) in stops.iter().enumerate() {
            match s.role {
                Role::Delivery | Role::Pickup => {
                    task_of[i] = tasks.len();
                    tasks.push(Task::Single(i));
                }
                Role::PairedPickup { delivery } => {
                    task_of[i] = tasks.len();
                    task_of[delivery] = tasks.len();
                    tasks.push(Task::Pair(i, delivery));
                }
                Role::PairedDelivery { .. } => {}
            }
        }
        let near = granular(&distance, &stops, &vehicles);
        let metric = matches!(&travel, TravelTimes::Static(m) if m.metric) && distance.metric;
        let problem = Self {
            near,
            metric,
            distance,
            travel,
            stops,
            vehicles,
            stop_skills,
            vehicle_skills,
            tasks,
            task_of,
        };
        // Work under way must be servable as given: the caller states where each vehicle is and since when.
        for (i, v) in problem.vehicles.iter().enumerate() {
            if v.fixed_prefix.is_empty() {
                continue;
            }
            if let Some(k) = v.fixed_prefix.iter().position(|s| !problem.skilled(i, *s)) {
                return Err(ModelError::new(
                    format!("vehicles[{i}].fixed_prefix[{k}]"),
                    "the vehicle lacks a skill the stop needs",
                ));
            }
            let mut route = crate::route::RouteCache {
                vehicle: i,
                stops: v.fixed_prefix.clone(),
                fixed: v.fixed_prefix.len(),
                ..Default::default()
            };
            if let Err(reason) = route.rebuild(&problem) {
                return Err(ModelError::new(
                    format!("vehicles[{i}].fixed_prefix"),
                    format!(
                        "the work under way cannot be served as given ({})",
                        reason.as_str()
                    ),
                ));
            }
        }
        Ok(problem)
    }

    pub fn stops(&self) -> &[Stop] {
        &self.stops
    }

    pub fn vehicles(&self) -> &[Vehicle] {
        &self.vehicles
    }

    pub fn distance(&self) -> &Matrix {
        &self.distance
    }

    pub fn travel(&self) -> &TravelTimes {
        &self.travel
    }

    /// Whether the vehicle has every skill the stop needs.
    pub fn skilled(&self, vehicle: usize, stop: usize) -> bool {
        self.stop_skills[stop] & !self.vehicle_skills[vehicle] == 0
    }

    /// Whether the stop may be served by the vehicle at all (skills and locks).
    pub(crate) fn allowed(&self, vehicle: usize, stop: usize) -> bool {
        self.skilled(vehicle, stop) && self.stops[stop].vehicle.is_none_or(|v| v == vehicle)
    }
}

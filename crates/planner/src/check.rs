//! The independent feasibility checker: re-verifies a plan against the problem with its own arithmetic, sharing no
//! code with the solver's schedule. Every test and benchmark solution goes through it.

use crate::model::{Problem, Role, TravelTimes, MAX_DIMS};
use crate::plan::{Plan, Route};

/// What a feasible plan amounts to, recomputed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub vehicles: usize,
    pub distance: f64,
    pub cost: f64,
    pub unassigned: f64,
}

const EPS: f64 = 1e-6;

fn tol(x: f64) -> f64 {
    EPS * x.abs().max(1.0)
}

/// A reported number disagrees with the recomputed one (a NaN or infinity always does).
fn differs(recomputed: f64, reported: f64) -> bool {
    !(recomputed.is_finite() && reported.is_finite())
        || (recomputed - reported).abs() > tol(recomputed)
}

fn travel(p: &Problem, a: Option<usize>, b: Option<usize>, at: f64) -> f64 {
    let (Some(a), Some(b)) = (a, b) else {
        return 0.0;
    };
    match p.travel() {
        TravelTimes::Static(m) => m.get(a, b),
        // The slot in force at departure: the last one begun by then (the first also covers earlier times).
        TravelTimes::Slots { starts, matrices } => {
            let mut slot = 0;
            for (k, s) in starts.iter().enumerate() {
                if *s <= at {
                    slot = k;
                }
            }
            matrices[slot].get(a, b)
        }
    }
}

/// Every number a route reports, which must all be finite.
fn numbers(route: &Route) -> impl Iterator<Item = f64> + '_ {
    [
        route.start,
        route.end_arrival,
        route.end,
        route.distance,
        route.cost,
    ]
    .into_iter()
    .chain(
        route
            .visits
            .iter()
            .flat_map(|v| [v.arrival, v.start, v.departure]),
    )
    .chain(route.breaks.iter().flat_map(|b| [b.start, b.end]))
}

fn distance(p: &Problem, a: Option<usize>, b: Option<usize>) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) => p.distance().get(a, b),
        _ => 0.0,
    }
}

/// Checks a full plan: every constraint of every route, the unassigned list, distances, costs and the objective.
pub fn check(p: &Problem, plan: &Plan) -> Result<Summary, Vec<String>> {
    let mut errors = Vec::new();
    let mut served: Vec<Option<(usize, usize)>> = vec![None; p.stops().len()];
    let mut vehicle_used = vec![false; p.vehicles().len()];
    let mut total_distance = 0.0;
    let mut total_cost = 0.0;
    for (ri, route) in plan.routes.iter().enumerate() {
        let Some(v) = p.vehicles().get(route.vehicle) else {
            errors.push(format!("route {ri}: no vehicle {}", route.vehicle));
            continue;
        };
        if std::mem::replace(&mut vehicle_used[route.vehicle], true) {
            errors.push(format!("route {ri}: vehicle {} has two routes", v.name));
        }
        if route.visits.is_empty() {
            errors.push(format!("route {ri}: an empty route is listed"));
            continue;
        }
        if numbers(route).any(|x| !x.is_finite()) {
            errors.push(format!(
                "route {ri}: a time, distance or cost is not a finite number"
            ));
            continue;
        }
        if let Some(b) = route.breaks.iter().find(|b| b.gap > route.visits.len()) {
            errors.push(format!(
                "route {ri}: break {} is placed after the end of the route",
                b.index
            ));
        }
        for (k, visit) in route.visits.iter().enumerate() {
            let Some(stop) = p.stops().get(visit.stop) else {
                errors.push(format!("route {ri}: no stop {}", visit.stop));
                continue;
            };
            if let Some((r0, _)) = served[visit.stop].replace((ri, k)) {
                errors.push(format!(
                    "stop {} is served twice (routes {r0} and {ri})",
                    stop.name
                ));
            }
            // Skills compared by name, not through the solver's bit sets.
            if !stop.skills.iter().all(|s| v.skills.contains(s)) {
                errors.push(format!(
                    "stop {}: vehicle {} lacks a skill",
                    stop.name, v.name
                ));
            }
            if stop.vehicle.is_some_and(|l| l != route.vehicle) {
                errors.push(format!("stop {}: locked to another vehicle", stop.name));
            }
        }
        let seq: Vec<usize> = route.visits.iter().map(|x| x.stop).collect();
        if !seq.starts_with(&v.fixed_prefix) {
            errors.push(format!(
                "route {ri}: the work under way is not the start of the route"
            ));
        }
        check_schedule(p, ri, route, &mut errors);
        check_loads(p, ri, route, &mut errors);
        let mut d = 0.0;
        let mut from = v.start;
        for visit in &route.visits {
            let to = p.stops().get(visit.stop).map(|s| s.location);
            d += distance(p, from, to);
            from = to;
        }
        d += distance(p, from, v.end);
        if differs(d, route.distance) {
            errors.push(format!(
                "route {ri}: distance is {d}, the plan says {}",
                route.distance
            ));
        }
        let cost = v.fixed_cost + v.distance_cost * d + v.time_cost * (route.end - v.shift.open);
        if differs(cost, route.cost) {
            errors.push(format!(
                "route {ri}: cost is {cost}, the plan says {}",
                route.cost
            ));
        }
        total_distance += d;
        total_cost += cost;
    }
    for (k, v) in p.vehicles().iter().enumerate() {
        if !v.fixed_prefix.is_empty() && !plan.routes.iter().any(|r| r.vehicle == k) {
            errors.push(format!(
                "vehicle {}: its work under way is missing from the plan",
                v.name
            ));
        }
    }
    // Pairs: same route, pickup first; or both out (a pickup under way may leave its delivery out).
    for (i, s) in p.stops().iter().enumerate() {
        if let Role::PairedPickup { delivery } = s.role {
            match (served[i], served[delivery]) {
                (Some((ra, ka)), Some((rb, kb))) => {
                    if ra != rb {
                        errors.push(format!(
                            "stop {}: pickup and delivery on different routes",
                            s.name
                        ));
                    } else if ka >= kb {
                        errors.push(format!(
                            "stop {}: the delivery comes before the pickup",
                            s.name
                        ));
                    }
                }
                (None, None) => {}
                (Some((ra, ka)), None) => {
                    let under_way = plan
                        .routes
                        .get(ra)
                        .and_then(|r| p.vehicles().get(r.vehicle))
                        .is_some_and(|v| ka < v.fixed_prefix.len());
                    if !under_way {
                        errors.push(format!("stop {}: picked up but never delivered", s.name));
                    }
                }
                (None, Some(_)) => {
                    errors.push(format!("stop {}: delivered but never picked up", s.name))
                }
            }
        }
    }
    let mut listed = vec![false; p.stops().len()];
    let mut unassigned = 0.0;
    for u in &plan.unassigned {
        match p.stops().get(u.stop) {
            None => errors.push(format!("unassigned: no stop {}", u.stop)),
            Some(s) => {
                if std::mem::replace(&mut listed[u.stop], true) {
                    errors.push(format!("stop {} is listed unassigned twice", s.name));
                }
                if served[u.stop].is_some() {
                    errors.push(format!("stop {} is both served and unassigned", s.name));
                }
                if !matches!(s.role, Role::PairedDelivery { .. }) {
                    unassigned += s.priority;
                } else if let Role::PairedDelivery { pickup } = s.role {
                    if served[pickup].is_some() {
                        unassigned += p.stops()[pickup].priority;
                    }
                }
            }
        }
    }
    for (i, s) in p.stops().iter().enumerate() {
        if served[i].is_none() && !listed[i] {
            errors.push(format!(
                "stop {} is neither served nor listed unassigned",
                s.name
            ));
        }
    }
    let vehicles = plan.routes.len();
    let o = &plan.objective;
    if o.vehicles != vehicles || differs(unassigned, o.unassigned) || differs(total_cost, o.cost) {
        errors.push(format!(
            "objective: recomputed {unassigned} unassigned, {vehicles} vehicles, cost {total_cost}; the plan says {o:?}"
        ));
    }
    if errors.is_empty() {
        Ok(Summary {
            vehicles,
            distance: total_distance,
            cost: total_cost,
            unassigned,
        })
    } else {
        Err(errors)
    }
}

fn check_schedule(p: &Problem, ri: usize, route: &Route, errors: &mut Vec<String>) {
    let v = &p.vehicles()[route.vehicle];
    let mut err = |m: String| errors.push(format!("route {ri}: {m}"));
    if route.start < v.shift.open - tol(v.shift.open) {
        err(format!(
            "leaves at {} before the shift starts at {}",
            route.start, v.shift.open
        ));
    }
    let n = route.visits.len();
    let mut cursor = route.start;
    let mut from = v.start;
    let mut next_break = 0;
    for gap in 0..=n {
        let mut gap_breaks: Vec<_> = route.breaks.iter().filter(|b| b.gap == gap).collect();
        gap_breaks.sort_by(|a, b| a.start.total_cmp(&b.start));
        for b in gap_breaks.iter().filter(|b| b.before_travel) {
            if b.start < cursor - tol(cursor) {
                err(format!("break {} overlaps earlier work", b.index));
            }
            cursor = b.end;
        }
        let (to, arrival) = if gap < n {
            let visit = &route.visits[gap];
            (p.stops().get(visit.stop).map(|s| s.location), visit.arrival)
        } else {
            (v.end, route.end_arrival)
        };
        let needed = cursor + travel(p, from, to, cursor);
        if arrival < needed - tol(needed) {
            err(format!(
                "arrives at {arrival} at place {gap}; the drive ends at {needed} at the earliest"
            ));
        }
        cursor = arrival;
        for b in gap_breaks.iter().filter(|b| !b.before_travel) {
            if b.start < cursor - tol(cursor) {
                err(format!("break {} overlaps the drive", b.index));
            }
            cursor = b.end;
        }
        for b in &gap_breaks {
            match v.breaks.get(b.index) {
                None => err(format!("no break {}", b.index)),
                Some(def) => {
                    if b.index != next_break {
                        err(format!("break {} taken out of order", b.index));
                    }
                    next_break = b.index + 1;
                    if b.start < def.window.open - tol(def.window.open)
                        || b.start > def.window.close + tol(def.window.close)
                    {
                        err(format!(
                            "break {} starts at {} outside its window",
                            b.index, b.start
                        ));
                    }
                    if b.end - b.start < def.duration - tol(def.duration) {
                        err(format!(
                            "break {} is shorter than {}",
                            b.index, def.duration
                        ));
                    }
                }
            }
        }
        if gap < n {
            let visit = &route.visits[gap];
            let Some(stop) = p.stops().get(visit.stop) else {
                return;
            };
            if visit.start < cursor - tol(cursor) {
                err(format!(
                    "stop {}: service begins at {} before arrival or break end {cursor}",
                    stop.name, visit.start
                ));
            }
            let inside = stop.windows.is_empty()
                || stop.windows.iter().any(|w| {
                    visit.start >= w.open - tol(w.open) && visit.start <= w.close + tol(w.close)
                });
            if !inside {
                err(format!(
                    "stop {}: service begins at {} outside its windows",
                    stop.name, visit.start
                ));
            }
            if visit.departure < visit.start + stop.service - tol(visit.start) {
                err(format!(
                    "stop {}: leaves before the service is done",
                    stop.name
                ));
            }
            cursor = visit.departure;
            from = Some(stop.location);
        } else {
            if route.end < cursor - tol(cursor) {
                err(format!(
                    "ends at {} before its last break ends at {cursor}",
                    route.end
                ));
            }
            if route.end > v.shift.close + tol(v.shift.close) {
                err(format!(
                    "ends at {} after the shift ends at {}",
                    route.end, v.shift.close
                ));
            }
        }
    }
    for (k, def) in v.breaks.iter().enumerate() {
        let taken = route.breaks.iter().filter(|b| b.index == k).count();
        if taken > 1 {
            err(format!("break {k} taken {taken} times"));
        }
        if taken == 0 && def.window.open < route.end_arrival - tol(route.end_arrival) {
            err(format!(
                "break {k} is missing: the route is still running when its window opens"
            ));
        }
    }
}

fn check_loads(p: &Problem, ri: usize, route: &Route, errors: &mut Vec<String>) {
    let v = &p.vehicles()[route.vehicle];
    let mut load = [0i64; MAX_DIMS];
    for visit in &route.visits {
        if let Some(s) = p.stops().get(visit.stop) {
            if s.role == Role::Delivery {
                for (l, d) in load.iter_mut().zip(s.demand) {
                    *l += d;
                }
            }
        }
    }
    let over = |load: &[i64; MAX_DIMS]| (0..MAX_DIMS).any(|d| load[d] > v.capacity[d]);
    if over(&load) {
        errors.push(format!(
            "route {ri}: the load at the start exceeds the capacity"
        ));
    }
    for visit in &route.visits {
        let Some(s) = p.stops().get(visit.stop) else {
            continue;
        };
        for (l, d) in load.iter_mut().zip(s.demand) {
            match s.role {
                Role::Delivery | Role::PairedDelivery { .. } => *l -= d,
                Role::Pickup | Role::PairedPickup { .. } => *l += d,
            }
        }
        if over(&load) {
            errors.push(format!(
                "route {ri}: the load after stop {} exceeds the capacity",
                s.name
            ));
        }
    }
}

/// Checks bare stop sequences (as other solvers report them): builds the earliest schedule, waiting where early,
/// and verifies windows, shifts, capacity, pairs and that every stop is served once. Breaks are not modelled here.
pub fn check_sequences(
    p: &Problem,
    routes: &[(usize, Vec<usize>)],
) -> Result<Summary, Vec<String>> {
    let mut errors = Vec::new();
    if p.vehicles().iter().any(|v| !v.breaks.is_empty()) {
        errors.push("bare sequences cannot show breaks; check a full plan instead".to_string());
        return Err(errors);
    }
    let mut plan_routes = Vec::new();
    for (vi, seq) in routes {
        if seq.is_empty() {
            continue;
        }
        let Some(v) = p.vehicles().get(*vi) else {
            errors.push(format!("no vehicle {vi}"));
            continue;
        };
        let mut t = v.shift.open;
        let mut from = v.start;
        let mut visits = Vec::new();
        let mut d = 0.0;
        for &s in seq {
            let Some(stop) = p.stops().get(s) else {
                errors.push(format!("no stop {s}"));
                continue;
            };
            let to = Some(stop.location);
            let arrival = t + travel(p, from, to, t);
            d += distance(p, from, to);
            let start = stop
                .windows
                .iter()
                .find(|w| w.close >= arrival)
                .map_or(arrival, |w| w.open.max(arrival));
            visits.push(crate::plan::Visit {
                stop: s,
                arrival,
                start,
                departure: start + stop.service,
            });
            t = start + stop.service;
            from = to;
        }
        let end_arrival = t + travel(p, from, v.end, t);
        d += distance(p, from, v.end);
        plan_routes.push(Route {
            vehicle: *vi,
            visits,
            breaks: Vec::new(),
            start: v.shift.open,
            end_arrival,
            end: end_arrival,
            distance: d,
            cost: v.fixed_cost + v.distance_cost * d + v.time_cost * (end_arrival - v.shift.open),
        });
    }
    let served: Vec<bool> = {
        let mut s = vec![false; p.stops().len()];
        for r in &plan_routes {
            for v in &r.visits {
                s[v.stop] = true;
            }
        }
        s
    };
    let unassigned: Vec<crate::plan::Unassigned> = (0..p.stops().len())
        .filter(|i| !served[*i])
        // The checker does not judge reasons; bare sequences carry none, so any value serves here.
        .map(|stop| crate::plan::Unassigned {
            stop,
            reason: crate::eval::Reason::Shift,
        })
        .collect();
    let objective = crate::plan::Objective {
        unassigned: p
            .stops()
            .iter()
            .enumerate()
            .filter(|(i, s)| !served[*i] && !matches!(s.role, Role::PairedDelivery { .. }))
            .map(|(_, s)| s.priority)
            .sum(),
        vehicles: plan_routes.len(),
        cost: plan_routes.iter().map(|r| r.cost).sum(),
    };
    let plan = Plan {
        routes: plan_routes,
        unassigned,
        objective,
        stats: Default::default(),
    };
    match check(p, &plan) {
        Ok(s) if errors.is_empty() => Ok(s),
        Ok(_) => Err(errors),
        Err(e) => {
            errors.extend(e);
            Err(errors)
        }
    }
}

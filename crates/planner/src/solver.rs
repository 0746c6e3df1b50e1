//! The search: ruin and recreate with string removals (Christiaens & Vanden Berghe's SISR), a route-minimisation
//! phase that eliminates vehicles, and simulated annealing on cost; anytime, seeded, cancellable, warm-startable.

use std::cmp::Ordering;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::eval::{finish, start_state, step, Reason};
use crate::model::{Problem, Role, Task, MAX_DIMS};
use crate::plan::{BreakTaken, Objective, Plan, Route, Stats, Unassigned, Visit};
use crate::rng::Rng;
use crate::route::{Found, RouteCache};

mod local;

/// How long and how to search.
#[derive(Debug, Clone)]
pub struct Config {
    /// Wall-clock budget; `None` means only the iteration limit stops the search.
    pub time_limit: Option<Duration>,
    /// Ruin-and-recreate iterations; with no time limit the result depends only on the seed.
    pub iteration_limit: Option<u64>,
    pub seed: u64,
    /// Set to true from another thread to stop early; the best plan so far is returned.
    pub cancel: Option<Arc<AtomicBool>>,
    /// A previous plan's stop sequences per vehicle: the search starts from what of it is still feasible.
    pub warm_start: Vec<(usize, Vec<usize>)>,
    /// Share of the budget spent removing vehicles before minimising cost.
    pub fleet_share: f64,
    /// Phase 1 gives up when this share of the budget passes without removing a vehicle: the rest goes to cost.
    pub fleet_patience: f64,
    /// Annealing temperatures at the start and the end, as multiples of the first plan's cost per stop.
    pub temperature: (f64, f64),
    /// Polish promising candidates with a granular local search (relocate, strings, swap, 2-opt*, 2-opt).
    pub local_search: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            time_limit: Some(Duration::from_secs(1)),
            iteration_limit: None,
            seed: 0,
            cancel: None,
            warm_start: Vec::new(),
            fleet_share: 0.7,
            fleet_patience: 0.35,
            temperature: (10.0, 0.1),
            local_search: true,
        }
    }
}

/// Average number of stops one ruin removes, and the longest string (SISR's c̄ and L^max).
const AVG_REMOVED: f64 = 10.0;
const MAX_STRING: f64 = 10.0;
/// Chance to skip a position while recreating (SISR's blinks).
const BLINK: f64 = 0.01;
/// How many nearest neighbours the local search pairs a stop with (tried 6, 10, 20, 30 on Solomon at 1 s).
const GRANULAR: usize = 10;
/// How many nearest neighbours the ruin walks through.
const NEIGHBOURS: usize = 100;

#[derive(Debug, Clone, Default)]
struct Sol {
    routes: Vec<RouteCache>,
    /// Tasks not served.
    unassigned: Vec<usize>,
    /// For each stop, the route serving it.
    route_of: Vec<Option<usize>>,
    /// For each stop on a route, its index there (valid while `route_of` is set).
    pos_of: Vec<usize>,
    /// A counter of route changes; `stamp[r]`: when route `r` last changed; `tested[s]`: when the local search last
    /// found no move for stop `s` (moves between routes unchanged since need no second look).
    clock: u64,
    stamp: Vec<u64>,
    tested: Vec<u64>,
}

impl Sol {
    fn copy_from(&mut self, o: &Sol) {
        self.routes.truncate(o.routes.len());
        for (i, r) in o.routes.iter().enumerate() {
            match self.routes.get_mut(i) {
                Some(mine) => mine.clone_from(r),
                None => self.routes.push(r.clone()),
            }
        }
        self.unassigned.clone_from(&o.unassigned);
        self.route_of.clone_from(&o.route_of);
        self.pos_of.clone_from(&o.pos_of);
        self.clock = o.clock;
        self.stamp.clone_from(&o.stamp);
        self.tested.clone_from(&o.tested);
    }

    fn objective(&self, p: &Problem) -> Objective {
        Objective {
            unassigned: self
                .unassigned
                .iter()
                .map(|t| p.stops[p.tasks[*t].first()].priority)
                .sum(),
            vehicles: self.routes.iter().filter(|r| !r.is_empty()).count(),
            cost: self.routes.iter().map(|r| r.cost).sum(),
        }
    }

    fn index(&mut self, r: usize) {
        self.clock += 1;
        if let Some(t) = self.stamp.get_mut(r) {
            *t = self.clock;
        }
        for (k, &s) in self.routes[r].stops.iter().enumerate() {
            self.route_of[s] = Some(r);
            self.pos_of[s] = k;
        }
    }
}

struct Search<'a> {
    p: &'a Problem,
    rng: Rng,
    neighbours: Vec<Vec<usize>>,
    /// Vehicles that are interchangeable when empty share a class; only one empty route per class is tried.
    class: Vec<usize>,
    /// Per task: total demand and distance from the first vehicle's start, for the recreate orders.
    demand: Vec<i64>,
    far: Vec<f64>,
    started: Instant,
    config: Config,
    iterations: u64,
    /// Whether the distance matrix is symmetric (a reversed segment keeps its length).
    symmetric: bool,
    /// Whether every stop is a delivery from the depot (a route's load is then highest at its start).
    deliveries_only: bool,
    /// Scratch buffers for the insertion scan.
    order: Vec<usize>,
    seen: Vec<bool>,
}

/// Solves a problem; never fails: what cannot be served is returned as unassigned with its reason.
pub fn solve(problem: &Problem, mut config: Config) -> Plan {
    config.fleet_share = if config.fleet_share.is_finite() {
        config.fleet_share.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // Patience is a share of the budget too; anything that is not a number means no limit.
    config.fleet_patience = if config.fleet_patience.is_nan() {
        1.0
    } else {
        config.fleet_patience.max(0.0)
    };
    let mut search = Search::new(problem, config);
    search.run()
}

impl<'a> Search<'a> {
    fn new(p: &'a Problem, config: Config) -> Self {
        let n = p.stops.len();
        let fixed: Vec<bool> = {
            let mut f = vec![false; n];
            for v in &p.vehicles {
                for s in &v.fixed_prefix {
                    f[*s] = true;
                }
            }
            f
        };
        let neighbours = (0..n)
            .map(|i| {
                let mut others: Vec<usize> = (0..n).filter(|j| *j != i && !fixed[*j]).collect();
                let li = p.stops[i].location;
                others.sort_by(|a, b| {
                    p.distance
                        .get(li, p.stops[*a].location)
                        .total_cmp(&p.distance.get(li, p.stops[*b].location))
                });
                others.truncate(NEIGHBOURS);
                others
            })
            .collect();
        let mut class = Vec::with_capacity(p.vehicles.len());
        for (i, v) in p.vehicles.iter().enumerate() {
            let unique = !v.fixed_prefix.is_empty() || p.stops.iter().any(|s| s.vehicle == Some(i));
            let same = (0..i).find(|j| {
                let w = &p.vehicles[*j];
                !unique
                    && class[*j] == *j
                    && w.fixed_prefix.is_empty()
                    && !p.stops.iter().any(|s| s.vehicle == Some(*j))
                    && w.start == v.start
                    && w.end == v.end
                    && w.shift == v.shift
                    && w.capacity == v.capacity
                    && p.vehicle_skills[*j] == p.vehicle_skills[i]
                    && w.breaks == v.breaks
                    && w.fixed_cost == v.fixed_cost
                    && w.distance_cost == v.distance_cost
                    && w.time_cost == v.time_cost
            });
            class.push(same.unwrap_or(i));
        }
        let origin = p.vehicles.first().and_then(|v| v.start);
        let demand = p
            .tasks
            .iter()
            .map(|t| p.stops[t.first()].demand.iter().sum())
            .collect();
        let far = p
            .tasks
            .iter()
            .map(|t| origin.map_or(0.0, |o| p.distance.get(o, p.stops[t.first()].location)))
            .collect();
        let symmetric = (0..p.distance.size())
            .all(|a| (0..a).all(|b| p.distance.get(a, b) == p.distance.get(b, a)));
        Search {
            p,
            symmetric,
            deliveries_only: p.stops.iter().all(|s| s.role == Role::Delivery),
            rng: Rng::new(config.seed),
            neighbours,
            class,
            demand,
            far,
            started: Instant::now(),
            config,
            iterations: 0,
            order: Vec::new(),
            seen: Vec::new(),
        }
    }

    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// How far through the budget the search is, in [0, 1]; 1 also when cancelled.
    fn progress(&self) -> f64 {
        if self
            .config
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(AtomicOrdering::Relaxed))
        {
            return 1.0;
        }
        let by_time = self
            .config
            .time_limit
            .map_or(0.0, |t| self.elapsed() / t.as_secs_f64().max(1e-9));
        let by_iter = self
            .config
            .iteration_limit
            .map_or(0.0, |n| self.iterations as f64 / (n.max(1) as f64));
        if self.config.time_limit.is_none() && self.config.iteration_limit.is_none() {
            return 1.0;
        }
        by_time.max(by_iter).min(1.0)
    }

    /// The stops a task puts on a route: a single stop, a pair, or the delivery of a pickup under way.
    fn task_stops(&self, sol: &Sol, t: usize) -> (usize, Option<usize>) {
        match self.p.tasks[t] {
            Task::Single(s) => (s, None),
            Task::Pair(pick, drop) if sol.route_of[pick].is_some() => (drop, None),
            Task::Pair(pick, drop) => (pick, Some(drop)),
        }
    }

    fn empty_solution(&self) -> Sol {
        let p = self.p;
        let mut sol = Sol {
            routes: (0..p.vehicles.len())
                .map(|v| RouteCache::new(p, v))
                .collect(),
            unassigned: Vec::new(),
            route_of: vec![None; p.stops.len()],
            pos_of: vec![0; p.stops.len()],
            clock: 0,
            stamp: vec![0; p.vehicles.len()],
            tested: vec![0; p.stops.len()],
        };
        for r in 0..sol.routes.len() {
            sol.index(r);
        }
        sol.unassigned = (0..p.tasks.len())
            .filter(|t| {
                let s = p.tasks[*t];
                match s {
                    Task::Single(s) => sol.route_of[s].is_none(),
                    Task::Pair(_, d) => sol.route_of[d].is_none(),
                }
            })
            .collect();
        sol
    }

    /// Best insertion of a task over the routes (non-empty first; an empty vehicle per class only if none fits).
    fn best_insertion(
        &mut self,
        sol: &Sol,
        t: usize,
        max_routes: usize,
        blink: f64,
    ) -> Option<(usize, usize, usize)> {
        let p = self.p;
        let stops = self.task_stops(sol, t);
        let allowed = |v: usize| p.allowed(v, stops.0) && stops.1.is_none_or(|d| p.allowed(v, d));
        let mut best = f64::INFINITY;
        let mut found = None;
        let rng = &mut self.rng;
        let mut coin = || blink > 0.0 && rng.unit() < blink;
        // Routes through the stop's nearest neighbours first: a good early bound prunes the rest.
        let mut order = std::mem::take(&mut self.order);
        order.clear();
        let mut seen = std::mem::take(&mut self.seen);
        seen.clear();
        seen.resize(sol.routes.len(), false);
        for n in self.neighbours[stops.0].iter().take(10) {
            if let Some(r) = sol.route_of[*n] {
                if !std::mem::replace(&mut seen[r], true) {
                    order.push(r);
                }
            }
        }
        order.extend((0..sol.routes.len()).filter(|r| !seen[*r]));
        for &ri in &order {
            let r = &sol.routes[ri];
            if r.is_empty() || !allowed(r.vehicle) {
                continue;
            }
            let mut on = |f: Found| {
                if let Found::Better { p: g, q: h, .. } = f {
                    found = Some((ri, g, h));
                }
            };
            match stops {
                (s, None) => r.scan_single(p, s, &mut best, blink > 0.0, &mut coin, &mut on),
                (pick, Some(drop)) => {
                    r.scan_pair(p, (pick, drop), &mut best, blink > 0.0, &mut coin, &mut on)
                }
            }
        }
        self.order = order;
        self.seen = seen;
        let used = sol.routes.iter().filter(|r| !r.is_empty()).count();
        if found.is_none() && used < max_routes {
            let mut tried = vec![false; p.vehicles.len()];
            for (ri, r) in sol.routes.iter().enumerate() {
                if !r.is_empty() || !allowed(r.vehicle) || tried[self.class[r.vehicle]] {
                    continue;
                }
                tried[self.class[r.vehicle]] = true;
                let mut never = || false;
                let mut on = |f: Found| {
                    if let Found::Better { p: g, q: h, .. } = f {
                        found = Some((ri, g, h));
                    }
                };
                match stops {
                    (s, None) => r.scan_single(p, s, &mut best, false, &mut never, &mut on),
                    (pick, Some(drop)) => {
                        r.scan_pair(p, (pick, drop), &mut best, false, &mut never, &mut on)
                    }
                }
            }
        }
        found
    }

    /// Puts the unassigned tasks back, in one of SISR's orders, each at its cheapest feasible place.
    fn recreate(&mut self, sol: &mut Sol, max_routes: usize, blink: f64) {
        let mut todo = std::mem::take(&mut sol.unassigned);
        let order = self.rng.below(11);
        // Shuffle first so equal keys fall in a random order.
        for i in (1..todo.len()).rev() {
            let j = self.rng.below(i + 1);
            todo.swap(i, j);
        }
        match order {
            0..=3 => {}
            4..=7 => todo.sort_by(|a, b| self.demand[*b].cmp(&self.demand[*a])),
            8..=9 => todo.sort_by(|a, b| self.far[*b].total_cmp(&self.far[*a])),
            _ => todo.sort_by(|a, b| self.far[*a].total_cmp(&self.far[*b])),
        }
        for t in todo {
            match self.best_insertion(sol, t, max_routes, blink) {
                Some((r, g, h)) => {
                    let stops = self.task_stops(sol, t);
                    if sol.routes[r].insert(self.p, stops, g, h).is_ok() {
                        sol.index(r);
                    } else {
                        // Cannot happen (the scan simulated this very sequence); undo rather than keep a bad route.
                        let route = &mut sol.routes[r];
                        route.stops.retain(|s| *s != stops.0 && Some(*s) != stops.1);
                        let _ = route.rebuild(self.p);
                        sol.index(r);
                        sol.unassigned.push(t);
                    }
                }
                None => sol.unassigned.push(t),
            }
        }
    }

    /// SISR's ruin: strings of consecutive stops removed from routes near a random seed stop.
    fn ruin(&mut self, sol: &mut Sol) {
        let assigned: usize = sol.routes.iter().map(|r| r.len() - r.fixed).sum();
        let used = sol.routes.iter().filter(|r| r.len() > r.fixed).count();
        if assigned == 0 || used == 0 {
            return;
        }
        let avg = assigned as f64 / used as f64;
        let ls_max = MAX_STRING.min(avg);
        let ks_max = 4.0 * AVG_REMOVED / (1.0 + ls_max) - 1.0;
        let ks = (1.0 + self.rng.unit() * ks_max).floor().max(1.0) as usize;
        // A random assigned, movable stop as the seed.
        let mut pick = self.rng.below(assigned);
        let mut seed = None;
        for r in &sol.routes {
            let free = r.len() - r.fixed;
            if pick < free {
                seed = Some(r.stops[r.fixed + pick]);
                break;
            }
            pick -= free;
        }
        let Some(seed) = seed else { return };
        let mut ruined: Vec<usize> = Vec::new();
        let mut removed: Vec<usize> = Vec::new();
        let candidates: Vec<usize> = std::iter::once(seed)
            .chain(self.neighbours[seed].iter().copied())
            .collect();
        for c in candidates {
            if ruined.len() >= ks {
                break;
            }
            let Some(r) = sol.route_of[c] else { continue };
            if ruined.contains(&r) {
                continue;
            }
            let route = &sol.routes[r];
            let Some(pos) = route.stops.iter().position(|s| *s == c) else {
                continue;
            };
            if pos < route.fixed {
                continue;
            }
            let free = route.len() - route.fixed;
            let l_max = (free as f64).min(ls_max);
            let l = ((1.0 + self.rng.unit() * l_max).floor() as usize).clamp(1, free);
            ruined.push(r);
            if self.rng.unit() < 0.5 || l == free {
                // A string of l stops containing c.
                let lo = (pos + 1).saturating_sub(l).max(route.fixed);
                let hi = pos.min(route.len() - l);
                let start = lo + self.rng.below(hi - lo + 1);
                removed.extend_from_slice(&route.stops[start..start + l]);
            } else {
                // A split string: l + m stops containing c, of which m consecutive ones stay.
                let mut m = 1;
                while l + m < free && self.rng.unit() > BLINK {
                    m += 1;
                }
                let span = l + m;
                let lo = (pos + 1).saturating_sub(span).max(route.fixed);
                let hi = pos.min(route.len() - span);
                let start = lo + self.rng.below(hi - lo + 1);
                let keep = start + self.rng.below(l + 1);
                for (k, s) in route.stops[start..start + span].iter().enumerate() {
                    if start + k < keep || start + k >= keep + m {
                        removed.push(*s);
                    }
                }
            }
        }
        self.remove(sol, &removed);
    }

    /// Takes stops (and their partners) off their routes and marks their tasks unassigned.
    fn remove(&mut self, sol: &mut Sol, stops: &[usize]) {
        let p = self.p;
        let mut touched: Vec<usize> = Vec::new();
        let mut out = vec![false; p.stops.len()];
        for &s in stops {
            let partner = match p.stops[s].role {
                Role::PairedPickup { delivery } => Some(delivery),
                Role::PairedDelivery { pickup } => Some(pickup),
                _ => None,
            };
            for x in std::iter::once(s).chain(partner) {
                let Some(r) = sol.route_of[x] else { continue };
                let route = &sol.routes[r];
                if route.stops[..route.fixed].contains(&x) || out[x] {
                    continue;
                }
                out[x] = true;
                if !touched.contains(&r) {
                    touched.push(r);
                }
            }
        }
        for &r in &touched {
            let route = &mut sol.routes[r];
            let fixed = route.fixed;
            let mut k = 0;
            route.stops.retain(|s| {
                k += 1;
                k <= fixed || !out[*s]
            });
            if route.rebuild(p).is_err() {
                // Removing stops can move a break so the rest no longer fits: empty the route but for its prefix.
                for s in route.stops.drain(fixed..) {
                    out[s] = true;
                }
                let _ = route.rebuild(p);
            }
            sol.index(r);
        }
        let mut tasks: Vec<usize> = Vec::new();
        for (s, gone) in out.iter().enumerate() {
            if *gone {
                sol.route_of[s] = None;
                let t = p.task_of[s];
                if !tasks.contains(&t) {
                    tasks.push(t);
                }
            }
        }
        sol.unassigned.extend(tasks);
    }

    fn warm(&mut self, sol: &mut Sol) {
        let p = self.p;
        let warm = std::mem::take(&mut self.config.warm_start);
        for (v, seq) in &warm {
            let Some(route) = sol.routes.get(*v) else {
                continue;
            };
            let mut trial = route.clone();
            for &s in seq {
                if s >= p.stops.len()
                    || sol.route_of[s].is_some()
                    || trial.stops.contains(&s)
                    || !p.allowed(*v, s)
                {
                    continue;
                }
                if let Role::PairedDelivery { pickup } = p.stops[s].role {
                    if !trial.stops.contains(&pickup) {
                        continue;
                    }
                }
                trial.stops.push(s);
                if trial.rebuild(p).is_err() {
                    trial.stops.pop();
                    // The cache now describes the failed attempt: rebuild the sequence that held.
                    if trial.rebuild(p).is_err() {
                        trial = route.clone();
                        break;
                    }
                }
            }
            // A pickup whose delivery did not follow is dropped: the pair goes back to the pool.
            let orphan: Vec<usize> = trial
                .stops
                .iter()
                .enumerate()
                .filter(|(k, s)| {
                    *k >= trial.fixed
                        && matches!(p.stops[**s].role, Role::PairedPickup { delivery } if !trial.stops.contains(&delivery))
                })
                .map(|(_, s)| *s)
                .collect();
            if !orphan.is_empty() {
                trial.stops.retain(|s| !orphan.contains(s));
                if trial.rebuild(p).is_err() {
                    continue;
                }
            }
            sol.routes[*v] = trial;
            sol.index(*v);
        }
        sol.unassigned.retain(|t| {
            let last = match p.tasks[*t] {
                Task::Single(s) | Task::Pair(_, s) => s,
            };
            sol.route_of[last].is_none()
        });
        self.config.warm_start = warm;
    }

    fn run(&mut self) -> Plan {
        let p = self.p;
        let fleet = p.vehicles.len();
        let mut cur = self.empty_solution();
        self.warm(&mut cur);
        self.recreate(&mut cur, fleet, 0.0);
        let mut cur_obj = cur.objective(p);
        let mut best = cur.clone();
        let mut best_obj = cur_obj;
        let mut time_to_best = self.elapsed();
        let mut time_to_first = cur.unassigned.is_empty().then(|| self.elapsed());
        let scale = (cur_obj.cost / (p.stops.len().max(1) as f64)).max(1e-9);
        let (t0, tf) = (
            self.config.temperature.0 * scale,
            self.config.temperature.1 * scale,
        );
        let mut cand = Sol::default();

        // Phase 1: remove vehicles. A route's stops go to the pool; the search accepts fewer unassigned stops, or
        // the same number with a lower absence count, until the pool is empty (one vehicle fewer) or time is up.
        let lower = self.fleet_lower_bound();
        let mut absence = vec![0u64; p.tasks.len()];
        let mut last_removal = self.progress();
        let patience = self.config.fleet_patience;
        let fleet_open = |s: &Self, last: f64| {
            let at = s.progress();
            at < s.config.fleet_share && at - last < patience
        };
        'fleet: while fleet_open(self, last_removal) && best_obj.vehicles > lower {
            let Some(victim) = self.pick_route_to_remove(&best) else {
                break;
            };
            let target = best_obj.vehicles - 1;
            let mut fm = best.clone();
            let stops: Vec<usize> = fm.routes[victim].stops[fm.routes[victim].fixed..].to_vec();
            self.remove(&mut fm, &stops);
            while fleet_open(self, last_removal) {
                self.iterations += 1;
                cand.copy_from(&fm);
                self.ruin(&mut cand);
                self.recreate(&mut cand, target, BLINK);
                for t in &cand.unassigned {
                    absence[*t] += 1;
                }
                let obj = cand.objective(p);
                if obj.unassigned <= best_obj.unassigned && obj.vehicles <= target {
                    best.copy_from(&cand);
                    best_obj = obj;
                    time_to_best = self.elapsed();
                    if time_to_first.is_none() && best.unassigned.is_empty() {
                        time_to_first = Some(time_to_best);
                    }
                    cur.copy_from(&cand);
                    cur_obj = obj;
                    last_removal = self.progress();
                    continue 'fleet;
                }
                // Both sums with today's counters: a task that keeps falling out weighs more and more.
                let abs: u64 = cand.unassigned.iter().map(|t| absence[*t]).sum();
                let fm_abs: u64 = fm.unassigned.iter().map(|t| absence[*t]).sum();
                if cand.unassigned.len() < fm.unassigned.len() || abs < fm_abs {
                    fm.copy_from(&cand);
                }
            }
        }

        // Phase 2: simulated annealing on cost, never accepting more unassigned stops or more vehicles.
        let phase_start = self.progress();
        while self.progress() < 1.0 {
            self.iterations += 1;
            let f =
                ((self.progress() - phase_start) / (1.0 - phase_start).max(1e-9)).clamp(0.0, 1.0);
            let temp = t0 * (tf / t0).powf(f);
            cand.copy_from(&cur);
            self.ruin(&mut cand);
            self.recreate(&mut cand, fleet, BLINK);
            let mut obj = cand.objective(p);
            // Polish the promising candidates only: the descent costs about as much as ten recreates.
            if self.config.local_search
                && obj.cost < cur_obj.cost + temp
                && obj.vehicles <= cur_obj.vehicles
            {
                self.local_search(&mut cand);
                obj = cand.objective(p);
            }
            let accept = match (
                obj.unassigned.total_cmp(&cur_obj.unassigned),
                obj.vehicles.cmp(&cur_obj.vehicles),
            ) {
                (Ordering::Less, _) | (Ordering::Equal, Ordering::Less) => true,
                (Ordering::Equal, Ordering::Equal) => {
                    obj.cost < cur_obj.cost - temp * self.rng.unit().max(1e-300).ln()
                }
                _ => false,
            };
            if accept {
                std::mem::swap(&mut cur, &mut cand);
                cur_obj = obj;
                if cur_obj.better_than(&best_obj) {
                    best.copy_from(&cur);
                    best_obj = cur_obj;
                    time_to_best = self.elapsed();
                    if time_to_first.is_none() && best.unassigned.is_empty() {
                        time_to_first = Some(time_to_best);
                    }
                }
            }
        }

        // A last pass without blinks for anything still out.
        if !best.unassigned.is_empty() {
            self.recreate(&mut best, fleet, 0.0);
        }
        let stats = Stats {
            iterations: self.iterations,
            time_to_first,
            time_to_best,
            elapsed: self.elapsed(),
            cancelled: self
                .config
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(AtomicOrdering::Relaxed)),
        };
        self.plan(&best, stats)
    }

    /// No fewer vehicles can carry the total demand (per dimension, with the largest capacity).
    fn fleet_lower_bound(&self) -> usize {
        let p = self.p;
        let mut bound = 1;
        for d in 0..MAX_DIMS {
            let total: i64 = p
                .stops
                .iter()
                .filter(|s| matches!(s.role, Role::Delivery | Role::Pickup))
                .map(|s| s.demand[d])
                .sum();
            let cap = p.vehicles.iter().map(|v| v.capacity[d]).max().unwrap_or(0);
            if total > 0 && cap > 0 {
                bound = bound.max(((total + cap - 1) / cap) as usize);
            }
        }
        bound
    }

    /// The route to dissolve: one of the shortest (fewest movable stops), chosen at random among them.
    fn pick_route_to_remove(&mut self, sol: &Sol) -> Option<usize> {
        let mut routes: Vec<(usize, usize)> = sol
            .routes
            .iter()
            .enumerate()
            // A route with work under way or stops locked to its vehicle cannot be dissolved.
            .filter(|(_, r)| {
                r.len() > r.fixed
                    && r.fixed == 0
                    && !r.stops.iter().any(|s| self.p.stops[*s].vehicle.is_some())
            })
            .map(|(i, r)| (r.len(), i))
            .collect();
        routes.sort();
        let pool = routes.len().min(3);
        if pool == 0 {
            return None;
        }
        Some(routes[self.rng.below(pool)].1)
    }

    /// Builds the plan's schedule and explains every unassigned stop.
    fn plan(&self, sol: &Sol, stats: Stats) -> Plan {
        let p = self.p;
        let mut routes = Vec::new();
        for r in &sol.routes {
            if r.is_empty() {
                continue;
            }
            let v = &p.vehicles[r.vehicle];
            let mut st = start_state(v);
            let mut from = v.start;
            let mut visits = Vec::with_capacity(r.len());
            let mut log: Vec<(usize, f64, bool)> = Vec::new();
            let mut gaps: Vec<usize> = Vec::new();
            let mut ok = true;
            for (k, &s) in r.stops.iter().enumerate() {
                let before = log.len();
                match step(p, v, from, st, s, &mut log) {
                    Ok((next, m)) => {
                        visits.push(Visit {
                            stop: s,
                            arrival: m.arrival,
                            start: m.start,
                            departure: next.time,
                        });
                        st = next;
                    }
                    Err(_) => ok = false,
                }
                gaps.extend(std::iter::repeat_n(k, log.len() - before));
                from = Some(p.stops[s].location);
            }
            let before = log.len();
            let (end_arrival, end) = finish(p, v, from, st, &mut log).unwrap_or((r.end, r.end));
            gaps.extend(std::iter::repeat_n(r.len(), log.len() - before));
            debug_assert!(ok, "a route in the search is always feasible");
            let breaks = log
                .iter()
                .zip(gaps)
                .map(|((index, start, before_travel), gap)| BreakTaken {
                    index: *index,
                    start: *start,
                    end: start + v.breaks[*index].duration,
                    gap,
                    before_travel: *before_travel,
                })
                .collect();
            routes.push(Route {
                vehicle: r.vehicle,
                visits,
                breaks,
                start: v.shift.open,
                end_arrival,
                end,
                distance: r.distance,
                cost: r.cost,
            });
        }
        let mut unassigned = Vec::new();
        for &t in &sol.unassigned {
            let reason = self.explain(sol, t);
            match p.tasks[t] {
                Task::Single(s) => unassigned.push(Unassigned { stop: s, reason }),
                Task::Pair(a, b) => {
                    for s in [a, b] {
                        if sol.route_of[s].is_none() {
                            unassigned.push(Unassigned { stop: s, reason });
                        }
                    }
                }
            }
        }
        unassigned.sort_by_key(|u| u.stop);
        Plan {
            routes,
            unassigned,
            objective: sol.objective(p),
            stats,
        }
    }

    /// Why a task is out, found by trying it: alone on each vehicle that may take it, then in the current routes.
    fn explain(&self, sol: &Sol, t: usize) -> Reason {
        let p = self.p;
        let stops = self.task_stops(sol, t);
        let members: Vec<usize> = std::iter::once(stops.0).chain(stops.1).collect();
        // The delivery of a pickup under way can only ride the vehicle that carries it.
        let carrier = match p.stops[stops.0].role {
            Role::PairedDelivery { pickup } => sol.route_of[pickup].map(|r| sol.routes[r].vehicle),
            _ => None,
        };
        let skilled: Vec<usize> = (0..p.vehicles.len())
            .filter(|v| carrier.is_none_or(|c| c == *v))
            .filter(|v| members.iter().all(|s| p.allowed(*v, *s)))
            .collect();
        if skilled.is_empty() {
            return Reason::Skill;
        }
        let demand = p.stops[stops.0].demand;
        let roomy: Vec<usize> = skilled
            .iter()
            .copied()
            .filter(|v| (0..MAX_DIMS).all(|d| demand[d] <= p.vehicles[*v].capacity[d]))
            .collect();
        if roomy.is_empty() {
            return Reason::Capacity;
        }
        let mut alone: Vec<Reason> = Vec::new();
        let mut fits_alone = false;
        for &v in &roomy {
            let mut r = sol.routes[v].clone();
            r.stops.truncate(r.fixed);
            if r.rebuild(p).is_err() {
                continue;
            }
            let blocked = self.try_route(&r, stops);
            match blocked {
                None => fits_alone = true,
                Some(reasons) => {
                    // A pair whose halves each fit alone but not together is a pairing problem.
                    if let (pick, Some(drop)) = stops {
                        let load_blocks = reasons.contains(&Reason::Capacity);
                        if !load_blocks && self.half_fits(&r, pick) && self.half_fits(&r, drop) {
                            alone.push(Reason::Pairing);
                            continue;
                        }
                    }
                    alone.extend(most_common(&reasons));
                }
            }
        }
        if !fits_alone {
            return most_common(&alone).unwrap_or(Reason::Shift);
        }
        // It fits an empty vehicle of its own, so the routes as planned are what blocks it.
        let mut reasons = Vec::new();
        for &v in &roomy {
            if let Some(rs) = self.try_route(&sol.routes[v], stops) {
                reasons.extend(rs);
            }
        }
        most_common(&reasons).unwrap_or(Reason::Shift)
    }

    /// Every failure reason of inserting the task anywhere on the route; `None` if some place works.
    fn try_route(&self, r: &RouteCache, stops: (usize, Option<usize>)) -> Option<Vec<Reason>> {
        let mut reasons = Vec::new();
        let mut ok = false;
        let mut best = f64::INFINITY;
        let mut never = || false;
        let mut on = |f: Found| match f {
            Found::Better { .. } => ok = true,
            Found::Blocked(e) => reasons.push(e),
        };
        match stops {
            (s, None) => r.scan_single(self.p, s, &mut best, false, &mut never, &mut on),
            (pick, Some(drop)) => {
                r.scan_pair(self.p, (pick, drop), &mut best, false, &mut never, &mut on)
            }
        }
        (!ok).then_some(reasons)
    }

    /// Whether one half of a pair, visited alone (ignoring the other half), fits the route's timing.
    fn half_fits(&self, r: &RouteCache, s: usize) -> bool {
        let p = self.p;
        let v = &p.vehicles[r.vehicle];
        let n = r.len();
        let from = if n == 0 {
            v.start
        } else {
            Some(p.stops[r.stops[n - 1]].location)
        };
        match step(p, v, from, r.states[n], s, &mut crate::eval::NoLog) {
            Ok((st, _)) => {
                finish(p, v, Some(p.stops[s].location), st, &mut crate::eval::NoLog).is_ok()
            }
            Err(_) => false,
        }
    }
}

fn most_common(reasons: &[Reason]) -> Option<Reason> {
    let mut counts = [0usize; Reason::ALL.len()];
    for r in reasons {
        counts[*r as usize] += 1;
    }
    let (i, c) = counts
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))?;
    (*c > 0).then(|| Reason::ALL[i])
}

//! One vehicle's route during the search, with the cached schedule and loads that make an insertion cheap to test:
//! the schedule after an inserted stop is simulated only until it meets the old one again.

use crate::eval::{finish, start_state, step, travel, NoLog, Reason, State};
use crate::model::TravelTimes;
use crate::model::{Load, Problem, Role, MAX_DIMS};

#[derive(Debug, Default)]
pub(crate) struct RouteCache {
    pub vehicle: usize,
    pub stops: Vec<usize>,
    /// The first `fixed` stops are work under way: never removed, nothing inserted before them.
    pub fixed: usize,
    /// `states[k]`: ready to leave after the first `k` stops (`states[0]`: at the start).
    pub states: Vec<State>,
    /// `loads[k]`: on board after the first `k` stops; `pmax`/`smax`: running maxima from the front/back.
    pub loads: Vec<Load>,
    pub pmax: Vec<Load>,
    pub smax: Vec<Load>,
    pub distance: f64,
    pub end: f64,
    pub cost: f64,
    /// Without breaks, time-of-day travel or time cost, `latest[k]` is the latest arrival at stop `k` (at the end
    /// for `k = len`) that keeps the rest of the route feasible: an insertion is then checked in constant time.
    pub fast: bool,
    pub latest: Vec<f64>,
    /// Whether `latest[k]` is set by the shift's end (else by a later stop's window): the reason a late arrival gives.
    pub shift_bound: Vec<bool>,
    /// `places`: start, each stop's location, end; `arcs[g]`: the distance across gap `g` (zero on an empty route).
    pub places: Vec<Option<usize>>,
    pub arcs: Vec<f64>,
}

impl Clone for RouteCache {
    fn clone(&self) -> Self {
        let mut r = RouteCache::default();
        r.clone_from(self);
        r
    }

    // Reuses the buffers: the search copies solutions every iteration.
    fn clone_from(&mut self, o: &Self) {
        self.vehicle = o.vehicle;
        self.stops.clone_from(&o.stops);
        self.fixed = o.fixed;
        self.states.clone_from(&o.states);
        self.loads.clone_from(&o.loads);
        self.pmax.clone_from(&o.pmax);
        self.smax.clone_from(&o.smax);
        self.distance = o.distance;
        self.end = o.end;
        self.cost = o.cost;
        self.fast = o.fast;
        self.latest.clone_from(&o.latest);
        self.shift_bound.clone_from(&o.shift_bound);
        self.places.clone_from(&o.places);
        self.arcs.clone_from(&o.arcs);
    }
}

/// What an insertion candidate looks like: the gaps (before original stop `p`, and `q` for a pair's delivery).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Found {
    Better { p: usize, q: usize, delta: f64 },
    Blocked(Reason),
}

#[inline]
fn dist(p: &Problem, a: Option<usize>, b: Option<usize>) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) => p.distance.get(a, b),
        _ => 0.0,
    }
}

#[inline]
fn max_into(m: &mut Load, l: &Load) {
    for (a, b) in m.iter_mut().zip(l) {
        *a = (*a).max(*b);
    }
}

#[inline]
fn fits(load: &Load, add: &Load, cap: &Load) -> bool {
    (0..MAX_DIMS).all(|d| load[d] + add[d] <= cap[d])
}

impl RouteCache {
    pub fn new(p: &Problem, vehicle: usize) -> Self {
        let v = &p.vehicles[vehicle];
        let mut r = RouteCache {
            vehicle,
            stops: v.fixed_prefix.clone(),
            fixed: v.fixed_prefix.len(),
            ..RouteCache::default()
        };
        // The prefix was checked when the problem was built; an empty route always evaluates.
        let _ = r.rebuild(p);
        r
    }

    pub fn len(&self) -> usize {
        self.stops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stops.is_empty()
    }

    #[inline]
    pub fn loc(&self, p: &Problem, k: usize) -> Option<usize> {
        Some(p.stops[self.stops[k]].location)
    }

    /// Recomputes schedule, loads, distance and cost; fails if the sequence is infeasible.
    pub fn rebuild(&mut self, p: &Problem) -> Result<(), Reason> {
        let v = &p.vehicles[self.vehicle];
        let n = self.stops.len();
        self.states.clear();
        self.loads.clear();
        let mut st = start_state(v);
        self.states.push(st);
        let mut start_load = [0; MAX_DIMS];
        for &s in &self.stops {
            if p.stops[s].role == Role::Delivery {
                for (d, a) in start_load.iter_mut().zip(p.stops[s].demand) {
                    *d += a;
                }
            }
        }
        let mut load = start_load;
        self.loads.push(load);
        let mut from = v.start;
        let mut distance = 0.0;
        let mut feasible = Ok(());
        for &s in &self.stops {
            let stop = &p.stops[s];
            distance += dist(p, from, Some(stop.location));
            match step(p, v, from, st, s, &mut NoLog) {
                Ok((next, _)) => st = next,
                Err(e) => {
                    feasible = Err(e);
                    st = State {
                        time: f64::INFINITY,
                        brk: st.brk,
                    };
                }
            }
            self.states.push(st);
            for (d, a) in load.iter_mut().zip(stop.demand) {
                match stop.role {
                    Role::Delivery | Role::PairedDelivery { .. } => *d -= a,
                    Role::Pickup | Role::PairedPickup { .. } => *d += a,
                }
            }
            if !fits(&load, &[0; MAX_DIMS], &v.capacity) && feasible.is_ok() {
                feasible = Err(Reason::Capacity);
            }
            self.loads.push(load);
            from = Some(stop.location);
        }
        if !fits(&start_load, &[0; MAX_DIMS], &v.capacity) && feasible.is_ok() {
            feasible = Err(Reason::Capacity);
        }
        self.end = if n == 0 {
            v.shift.open
        } else {
            distance += dist(p, from, v.end);
            match finish(p, v, from, st, &mut NoLog) {
                Ok((_, end)) => end,
                Err(e) => {
                    if feasible.is_ok() {
                        feasible = Err(e);
                    }
                    f64::INFINITY
                }
            }
        };
        self.pmax.clear();
        let mut m = [i64::MIN; MAX_DIMS];
        for l in &self.loads {
            max_into(&mut m, l);
            self.pmax.push(m);
        }
        self.smax.clear();
        self.smax.resize(n + 1, [0; MAX_DIMS]);
        let mut m = [i64::MIN; MAX_DIMS];
        for k in (0..=n).rev() {
            max_into(&mut m, &self.loads[k]);
            self.smax[k] = m;
        }
        self.distance = distance;
        self.places.clear();
        self.places.push(v.start);
        self.places
            .extend(self.stops.iter().map(|s| Some(p.stops[*s].location)));
        self.places.push(v.end);
        self.arcs.clear();
        for g in 0..=n {
            self.arcs.push(if n == 0 {
                0.0
            } else {
                dist(p, self.places[g], self.places[g + 1])
            });
        }
        self.fast =
            v.breaks.is_empty() && v.time_cost == 0.0 && matches!(p.travel, TravelTimes::Static(_));
        self.latest.clear();
        self.shift_bound.clear();
        if self.fast {
            self.latest.resize(n + 1, f64::NEG_INFINITY);
            self.shift_bound.resize(n + 1, true);
            self.latest[n] = v.shift.close;
            let mut next = v.end;
            for k in (0..n).rev() {
                let stop = &p.stops[self.stops[k]];
                let carried =
                    self.latest[k + 1] - travel(p, Some(stop.location), next, 0.0) - stop.service;
                let bound = carried.min(v.shift.close);
                let by_shift = v.shift.close < carried || self.shift_bound[k + 1];
                (self.latest[k], self.shift_bound[k]) = if stop.windows.is_empty() {
                    (bound, by_shift)
                } else {
                    match stop.windows.partition_point(|w| w.open <= bound) {
                        0 => (f64::NEG_INFINITY, false),
                        w => {
                            let close = stop.windows[w - 1].close;
                            (close.min(bound), close >= bound && by_shift)
                        }
                    }
                };
                next = Some(stop.location);
            }
        }
        self.cost = if n == 0 {
            0.0
        } else {
            v.fixed_cost + v.distance_cost * distance + v.time_cost * (self.end - v.shift.open)
        };
        feasible
    }

    /// Runs the schedule on from state `st` at `from` through the original stops `k..`, stopping early once it meets
    /// the old schedule. Returns the new end time.
    #[inline]
    fn run_on(
        &self,
        p: &Problem,
        mut from: Option<usize>,
        mut st: State,
        k: usize,
    ) -> Result<f64, Reason> {
        let v = &p.vehicles[self.vehicle];
        for j in k..self.stops.len() {
            let (next, _) = step(p, v, from, st, self.stops[j], &mut NoLog)?;
            if next == self.states[j + 1] {
                return Ok(self.end);
            }
            st = next;
            from = self.loc(p, j);
        }
        finish(p, v, from, st, &mut NoLog).map(|(_, end)| end)
    }

    /// The schedule after an insertion that ends in state `st` at `from`, before original stop `k`: new end time.
    #[inline]
    pub(crate) fn run_after(
        &self,
        p: &Problem,
        from: Option<usize>,
        st: State,
        k: usize,
    ) -> Result<f64, Reason> {
        if self.fast {
            if st.time + travel(p, from, self.places[k + 1], st.time) <= self.latest[k] {
                Ok(self.end)
            } else {
                Err(self.late_reason(k))
            }
        } else {
            self.run_on(p, from, st, k)
        }
    }

    /// Arriving after `latest[k]` breaks a later window, or the shift when `k` is the end.
    fn late_reason(&self, k: usize) -> Reason {
        if self.shift_bound.get(k).copied().unwrap_or(true) {
            Reason::Shift
        } else {
            Reason::TimeWindow
        }
    }

    #[inline]
    fn delta_cost(&self, p: &Problem, ddist: f64, new_end: f64) -> f64 {
        let v = &p.vehicles[self.vehicle];
        let old_end = if self.stops.is_empty() {
            v.shift.open
        } else {
            self.end
        };
        let fixed = if self.stops.is_empty() {
            v.fixed_cost
        } else {
            0.0
        };
        fixed + v.distance_cost * ddist + v.time_cost * (new_end - old_end)
    }

    /// Tries one stop (a single task, or a delivery whose pickup is under way) in every gap after the fixed prefix.
    /// `best` is the delta to beat; each gap is skipped with probability `blink` (drawn from `coin`).
    pub fn scan_single(
        &self,
        p: &Problem,
        s: usize,
        best: &mut f64,
        granular: bool,
        blink: &mut impl FnMut() -> bool,
        on: &mut impl FnMut(Found),
    ) {
        let v = &p.vehicles[self.vehicle];
        let stop = &p.stops[s];
        let loc = Some(stop.location);
        let min_gap = match stop.role {
            // The delivery of a pickup under way comes after it.
            Role::PairedDelivery { pickup } => match self.stops.iter().position(|x| *x == pickup) {
                Some(i) => i + 1,
                None => return,
            },
            _ => self.fixed,
        };
        for g in min_gap.max(self.fixed)..=self.stops.len() {
            let ok_load = match stop.role {
                Role::Delivery => fits(&self.pmax[g], &stop.demand, &v.capacity),
                Role::Pickup => fits(&self.smax[g], &stop.demand, &v.capacity),
                _ => true,
            };
            if !ok_load {
                on(Found::Blocked(Reason::Capacity));
                continue;
            }
            let (a, b) = (self.places[g], self.places[g + 1]);
            if granular && !p.is_near(stop.location, a) && !p.is_near(stop.location, b) {
                continue;
            }
            let ddist = dist(p, a, loc) + dist(p, loc, b) - self.arcs[g];
            // Without a time cost the distance is the whole delta: a bound that skips the simulation.
            if v.time_cost == 0.0 && self.delta_cost(p, ddist, self.end) >= *best {
                continue;
            }
            if blink() {
                continue;
            }
            let at = match step(p, v, a, self.states[g], s, &mut NoLog) {
                Ok((st, _)) => st,
                Err(e) => {
                    on(Found::Blocked(e));
                    if p.metric && (e == Reason::TimeWindow || e == Reason::Shift) {
                        // With metric, time-independent travel, later gaps only arrive later.
                        break;
                    }
                    continue;
                }
            };
            let end = self.run_after(p, loc, at, g);
            match end {
                Ok(end) => {
                    let delta = self.delta_cost(p, ddist, end);
                    if delta < *best {
                        *best = delta;
                        on(Found::Better { p: g, q: g, delta });
                    }
                }
                Err(e) => on(Found::Blocked(e)),
            }
        }
    }

    /// Tries a pickup in every gap `g` and its delivery in every gap `h >= g` after it.
    pub fn scan_pair(
        &self,
        p: &Problem,
        (pick, drop): (usize, usize),
        best: &mut f64,
        granular: bool,
        blink: &mut impl FnMut() -> bool,
        on: &mut impl FnMut(Found),
    ) {
        let v = &p.vehicles[self.vehicle];
        let demand = p.stops[pick].demand;
        let (lp, ld) = (Some(p.stops[pick].location), Some(p.stops[drop].location));
        let n = self.stops.len();
        for g in self.fixed..=n {
            if !fits(&self.loads[g], &demand, &v.capacity) {
                on(Found::Blocked(Reason::Capacity));
                continue;
            }
            let (a, b) = (self.places[g], self.places[g + 1]);
            let pl = p.stops[pick].location;
            if granular && !p.is_near(pl, a) && !p.is_near(pl, b) {
                continue;
            }
            let arc_g = self.arcs[g];
            let dpick = dist(p, a, lp) + dist(p, lp, b) - arc_g;
            if p.metric
                && v.time_cost == 0.0
                && v.distance_cost * dpick + if n == 0 { v.fixed_cost } else { 0.0 } >= *best
            {
                continue;
            }
            let mut cur = match step(p, v, a, self.states[g], pick, &mut NoLog) {
                Ok((st, _)) => st,
                Err(e) => {
                    on(Found::Blocked(e));
                    if p.metric && (e == Reason::TimeWindow || e == Reason::Shift) {
                        break;
                    }
                    continue;
                }
            };
            let mut from = lp;
            let mut rmax = self.loads[g];
            for h in g..=n {
                if h > g {
                    max_into(&mut rmax, &self.loads[h]);
                }
                if !fits(&rmax, &demand, &v.capacity) {
                    on(Found::Blocked(Reason::Capacity));
                    break;
                }
                let next = self.places[h + 1];
                let ddist = if h == g {
                    dist(p, a, lp) + dist(p, lp, ld) + dist(p, ld, b) - arc_g
                } else {
                    dpick + dist(p, from, ld) + dist(p, ld, next) - dist(p, from, next)
                };
                let lower = v.distance_cost * ddist + if n == 0 { v.fixed_cost } else { 0.0 };
                if (v.time_cost > 0.0 || lower < *best) && !blink() {
                    match step(p, v, from, cur, drop, &mut NoLog) {
                        Ok((st, _)) => match self.run_after(p, ld, st, h) {
                            Ok(end) => {
                                let delta = self.delta_cost(p, ddist, end);
                                if delta < *best {
                                    *best = delta;
                                    on(Found::Better { p: g, q: h, delta });
                                }
                            }
                            Err(e) => on(Found::Blocked(e)),
                        },
                        Err(e) => {
                            on(Found::Blocked(e));
                            if p.metric && (e == Reason::TimeWindow || e == Reason::Shift) {
                                break;
                            }
                        }
                    }
                }
                if h == n {
                    break;
                }
                // Carry the pickup past original stop h.
                match step(p, v, from, cur, self.stops[h], &mut NoLog) {
                    Ok((_, m)) if self.fast && m.arrival > self.latest[h] => {
                        on(Found::Blocked(self.late_reason(h)));
                        break;
                    }
                    Ok((st, _)) => cur = st,
                    Err(e) => {
                        on(Found::Blocked(e));
                        break;
                    }
                }
                from = self.loc(p, h);
            }
        }
    }

    /// Inserts a found candidate: a single stop at gap `g`, or a pair at gaps `g` and `h`.
    pub fn insert(
        &mut self,
        p: &Problem,
        stops: (usize, Option<usize>),
        g: usize,
        h: usize,
    ) -> Result<(), Reason> {
        match stops {
            (s, None) => self.stops.insert(g, s),
            (pick, Some(drop)) => {
                self.stops.insert(h, drop);
                self.stops.insert(g, pick);
            }
        }
        self.rebuild(p)
    }
}

//! Local search on plain routes (metric, static travel, no breaks, no time cost), where every move below is checked
//! in constant time from the route caches: the departure state after a prefix (`states`) and the latest arrival
//! that keeps a suffix feasible (`latest`). Moves, each between a stop `u` and one of its nearest neighbours `v`:
//! relocate `u` next to `v`, swap `u` and `v`, and the two tail exchanges (2-opt*) that make `u` and `v` adjacent.
//! A move moving a stop within its own route is simulated on a scratch route. Capacity, skills and locks are
//! verified when a move is applied; a move that fails there is undone.

use super::{Search, Sol};
use crate::eval::{step, travel, NoLog};
use crate::model::{Problem, Role, Task, MAX_DIMS};
use crate::route::RouteCache;

/// A move must save more than this to count, so rounding noise never loops.
const EPS: f64 = 1e-7;

#[derive(Debug, Clone, Copy)]
enum Move {
    /// Take `u` out of its route and insert it into route `rb` before original stop `g`.
    Relocate { rb: usize, g: usize },
    /// Exchange `u` (route `ra`, index `k`) and `v` (route `rb`, index `m`).
    Swap { rb: usize, m: usize },
    /// `A[..=k] + B[m..]` and `B[..m] + A[k+1..]`: `u` is followed by `v`.
    TailsAfter { rb: usize, m: usize },
    /// `B[..=m] + A[k..]` and `A[..k] + B[m+1..]`: `v` is followed by `u`.
    TailsBefore { rb: usize, m: usize },
    /// Move `u` within its own route to before original index `g`.
    Within { g: usize },
    /// Reverse the stops `i..=j` of `u`'s route.
    Reverse { i: usize, j: usize },
}

#[inline]
fn dist(p: &Problem, a: Option<usize>, b: Option<usize>) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) => p.distance.get(a, b),
        _ => 0.0,
    }
}

/// Whether a route's tail can move to the other vehicle with the caches still true: same end, closing time and
/// costs (the tail's `latest` times were computed for its own vehicle's end).
fn tails_compatible(p: &Problem, a: usize, b: usize) -> bool {
    let (x, y) = (&p.vehicles[a], &p.vehicles[b]);
    x.end == y.end
        && x.shift.close == y.shift.close
        && x.distance_cost == y.distance_cost
        && x.fixed_cost == y.fixed_cost
}

impl Search<'_> {
    /// Descends with relocate, swap and 2-opt* over the granular neighbourhood until no move saves cost.
    pub(super) fn local_search(&mut self, sol: &mut Sol) {
        let p = self.p;
        if !p.metric {
            return;
        }
        // Tail exchanges would split a pickup from its delivery.
        let tails = !p.tasks.iter().any(|t| matches!(t, Task::Pair(..)));
        let mut order: Vec<usize> = (0..p.stops.len())
            .filter(|s| matches!(p.stops[*s].role, Role::Delivery | Role::Pickup))
            .collect();
        for _round in 0..30 {
            let mut improved = false;
            for i in (1..order.len()).rev() {
                let j = self.rng.below(i + 1);
                order.swap(i, j);
            }
            for &u in &order {
                match self.find_move(sol, u, tails) {
                    Some((ra, k, mv)) => {
                        if self.apply(sol, u, ra, k, mv) {
                            improved = true;
                        }
                    }
                    None => sol.tested[u] = sol.clock,
                }
            }
            if !improved {
                break;
            }
        }
    }

    /// The first move of `u` with one of its neighbours that saves cost and passes the constant-time checks.
    fn find_move(&self, sol: &Sol, u: usize, tails: bool) -> Option<(usize, usize, Move)> {
        let p = self.p;
        let ra = sol.route_of[u]?;
        let a = &sol.routes[ra];
        if !a.fast {
            return None;
        }
        let k = sol.pos_of[u];
        debug_assert_eq!(a.stops.get(k), Some(&u), "positions are indexed");
        if k < a.fixed {
            return None;
        }
        let va = &p.vehicles[a.vehicle];
        let lu = Some(p.stops[u].location);
        let (prev_u, next_u) = (a.places[k], a.places[k + 2]);
        // Cost change of taking u out of its route (negative: a saving).
        let out_a = if a.len() == 1 {
            -a.cost
        } else {
            va.distance_cost * (dist(p, prev_u, next_u) - a.arcs[k] - a.arcs[k + 1])
        };
        let since = sol.tested[u];
        let a_changed = sol.stamp[ra] > since;
        for &v in self.neighbours[u].iter().take(self.granular) {
            let Some(rb) = sol.route_of[v] else { continue };
            if !a_changed && sol.stamp[rb] <= since {
                continue;
            }
            let b = &sol.routes[rb];
            if !b.fast {
                continue;
            }
            let m = sol.pos_of[v];
            debug_assert_eq!(b.stops.get(m), Some(&v), "positions are indexed");
            if m < b.fixed {
                continue;
            }
            if rb == ra {
                // Within the route: u just before or just after v.
                for g in [m, m + 1] {
                    if g == k || g == k + 1 {
                        continue;
                    }
                    let (x, y) = (a.places[g], a.places[g + 1]);
                    let ins = dist(p, x, lu) + dist(p, lu, y) - a.arcs[g];
                    let removal = dist(p, prev_u, next_u) - a.arcs[k] - a.arcs[k + 1];
                    if va.distance_cost * (ins + removal) < -EPS && self.within_fits(a, k, g) {
                        return Some((ra, k, Move::Within { g }));
                    }
                }
                // 2-opt: reverse the stops between u and v so that they become adjacent.
                if self.symmetric {
                    let (i, j) = if k < m { (k + 1, m) } else { (m, k - 1) };
                    let plain =
                        |s: &usize| matches!(p.stops[*s].role, Role::Delivery | Role::Pickup);
                    if i < j && i >= a.fixed && a.stops[i..=j].iter().all(plain) {
                        let delta = dist(p, a.places[i], a.places[j + 1])
                            + dist(p, a.places[i + 1], a.places[j + 2])
                            - a.arcs[i]
                            - a.arcs[j + 1];
                        if va.distance_cost * delta < -EPS
                            && self.seq_fits(a, i, a.stops[i..=j].iter().rev().copied(), j + 1)
                        {
                            return Some((ra, k, Move::Reverse { i, j }));
                        }
                    }
                }
                continue;
            }
            let vb = &p.vehicles[b.vehicle];
            let lv = Some(p.stops[v].location);
            // Relocate u next to v.
            if p.allowed(b.vehicle, u) {
                for g in [m, m + 1] {
                    let (x, y) = (b.places[g], b.places[g + 1]);
                    let ins = vb.distance_cost * (dist(p, x, lu) + dist(p, lu, y) - b.arcs[g]);
                    if out_a + ins < -EPS && self.insert_fits(b, u, g) {
                        return Some((ra, k, Move::Relocate { rb, g }));
                    }
                }
            }
            // Swap u and v.
            if matches!(p.stops[v].role, Role::Delivery | Role::Pickup)
                && p.allowed(a.vehicle, v)
                && p.allowed(b.vehicle, u)
            {
                let (prev_v, next_v) = (b.places[m], b.places[m + 2]);
                let da = dist(p, prev_u, lv) + dist(p, lv, next_u) - a.arcs[k] - a.arcs[k + 1];
                let db = dist(p, prev_v, lu) + dist(p, lu, next_v) - b.arcs[m] - b.arcs[m + 1];
                if va.distance_cost * da + vb.distance_cost * db < -EPS
                    && self.replace_fits(a, k, v)
                    && self.replace_fits(b, m, u)
                {
                    return Some((ra, k, Move::Swap { rb, m }));
                }
            }
            if !tails || !tails_compatible(p, a.vehicle, b.vehicle) {
                continue;
            }
            let dc = va.distance_cost;
            // u then v: A[..=k] + B[m..], B[..m] + A[k+1..].
            {
                let b_empty = m == 0 && k + 1 == a.len();
                let mut delta = dist(p, lu, lv) + dist(p, b.places[m], a.places[k + 2])
                    - a.arcs[k + 1]
                    - b.arcs[m];
                let mut fixed = 0.0;
                if b_empty {
                    delta -= dist(p, b.places[m], a.places[k + 2]);
                    fixed = vb.fixed_cost;
                }
                if dc * delta - fixed < -EPS
                    && a.states[k + 1].time + travel(p, lu, lv, a.states[k + 1].time) <= b.latest[m]
                    && (b_empty
                        || b.states[m].time
                            + travel(p, b.places[m], a.places[k + 2], b.states[m].time)
                            <= a.latest[k + 1])
                {
                    return Some((ra, k, Move::TailsAfter { rb, m }));
                }
            }
            // v then u: B[..=m] + A[k..], A[..k] + B[m+1..].
            {
                let a_empty = k == 0 && m + 1 == b.len();
                let mut delta = dist(p, lv, lu) + dist(p, a.places[k], b.places[m + 2])
                    - b.arcs[m + 1]
                    - a.arcs[k];
                let mut fixed = 0.0;
                if a_empty {
                    delta -= dist(p, a.places[k], b.places[m + 2]);
                    fixed = va.fixed_cost;
                }
                if dc * delta - fixed < -EPS
                    && b.states[m + 1].time + travel(p, lv, lu, b.states[m + 1].time) <= a.latest[k]
                    && (a_empty
                        || a.states[k].time
                            + travel(p, a.places[k], b.places[m + 2], a.states[k].time)
                            <= b.latest[m + 1])
                {
                    return Some((ra, k, Move::TailsBefore { rb, m }));
                }
            }
        }
        None
    }

    /// Whether stop `s` fits route `r` before original stop `g` (load and time; the route is fast).
    fn insert_fits(&self, r: &RouteCache, s: usize, g: usize) -> bool {
        let p = self.p;
        let v = &p.vehicles[r.vehicle];
        let stop = &p.stops[s];
        let load_ok = match stop.role {
            Role::Delivery => (0..MAX_DIMS).all(|d| r.pmax[g][d] + stop.demand[d] <= v.capacity[d]),
            Role::Pickup => (0..MAX_DIMS).all(|d| r.smax[g][d] + stop.demand[d] <= v.capacity[d]),
            _ => false,
        };
        load_ok
            && match step(p, v, r.places[g], r.states[g], s, &mut NoLog) {
                Ok((st, _)) => r.run_after(p, Some(stop.location), st, g).is_ok(),
                Err(_) => false,
            }
    }

    /// Whether stop `s` can take the place of the stop at index `k` of route `r` (load and time).
    fn replace_fits(&self, r: &RouteCache, k: usize, s: usize) -> bool {
        let p = self.p;
        let v = &p.vehicles[r.vehicle];
        let (old, new) = (&p.stops[r.stops[k]], &p.stops[s]);
        // Deliveries are on board from the start up to their stop, pickups from their stop to the end.
        let part = |stop: &crate::model::Stop, role: Role, d: usize| {
            if stop.role == role {
                stop.demand[d]
            } else {
                0
            }
        };
        let load_ok = (0..MAX_DIMS).all(|d| {
            r.pmax[k][d] + part(new, Role::Delivery, d) - part(old, Role::Delivery, d)
                <= v.capacity[d]
                && r.smax[k + 1][d] + part(new, Role::Pickup, d) - part(old, Role::Pickup, d)
                    <= v.capacity[d]
        });
        load_ok
            && match step(p, v, r.places[k], r.states[k], s, &mut NoLog) {
                Ok((st, _)) => r.run_after(p, Some(new.location), st, k + 1).is_ok(),
                Err(_) => false,
            }
    }

    /// Whether moving the stop at index `k` to before original index `g` of the same route keeps it feasible.
    fn within_fits(&self, r: &RouteCache, k: usize, g: usize) -> bool {
        let u = r.stops[k];
        if g > k {
            self.seq_fits(r, k, r.stops[k + 1..g].iter().copied().chain([u]), g)
        } else {
            self.seq_fits(
                r,
                g,
                [u].into_iter().chain(r.stops[g..k].iter().copied()),
                k + 1,
            )
        }
    }

    /// Whether route `r` stays on time with its stops `from..resume` replaced by `mid`: the schedule is simulated
    /// through `mid` and the unchanged rest is checked against its latest arrival.
    fn seq_fits(
        &self,
        r: &RouteCache,
        from: usize,
        mid: impl Iterator<Item = usize>,
        resume: usize,
    ) -> bool {
        let p = self.p;
        let v = &p.vehicles[r.vehicle];
        let mut st = r.states[from];
        let mut at = r.places[from];
        for s in mid {
            match step(p, v, at, st, s, &mut NoLog) {
                Ok((next, _)) => st = next,
                Err(_) => return false,
            }
            at = Some(p.stops[s].location);
        }
        r.run_after(p, at, st, resume).is_ok()
    }

    /// Applies a move found by `find_move`; returns whether it was kept (it is undone if a full check fails).
    fn apply(&mut self, sol: &mut Sol, u: usize, ra: usize, k: usize, mv: Move) -> bool {
        let p = self.p;
        let rb = match mv {
            Move::Relocate { rb, .. }
            | Move::Swap { rb, .. }
            | Move::TailsAfter { rb, .. }
            | Move::TailsBefore { rb, .. } => rb,
            Move::Within { .. } | Move::Reverse { .. } => ra,
        };
        let old = if rb == ra {
            sol.routes[ra].cost
        } else {
            sol.routes[ra].cost + sol.routes[rb].cost
        };
        let mut a = sol.routes[ra].clone();
        let mut b = if rb == ra {
            RouteCache::default()
        } else {
            sol.routes[rb].clone()
        };
        match mv {
            Move::Relocate { g, .. } => {
                a.stops.remove(k);
                b.stops.insert(g, u);
            }
            Move::Swap { m, .. } => {
                std::mem::swap(&mut a.stops[k], &mut b.stops[m]);
            }
            Move::TailsAfter { m, .. } => {
                let tail_a = a.stops.split_off(k + 1);
                let tail_b = b.stops.split_off(m);
                a.stops.extend(tail_b);
                b.stops.extend(tail_a);
            }
            Move::TailsBefore { m, .. } => {
                let tail_a = a.stops.split_off(k);
                let tail_b = b.stops.split_off(m + 1);
                a.stops.extend(tail_b);
                b.stops.extend(tail_a);
            }
            Move::Within { g } => {
                let s = a.stops.remove(k);
                a.stops.insert(if g > k { g - 1 } else { g }, s);
            }
            Move::Reverse { i, j } => a.stops[i..=j].reverse(),
        }
        let allowed = |r: &RouteCache| r.stops[r.fixed..].iter().all(|s| p.allowed(r.vehicle, *s));
        // Every move keeps pairs together by construction; checked again here rather than trusted.
        let paired = |r: &RouteCache| {
            r.stops
                .iter()
                .enumerate()
                .all(|(j, s)| match p.stops[*s].role {
                    Role::PairedDelivery { pickup } => r.stops[..j].contains(&pickup),
                    _ => true,
                })
        };
        let ok = if rb == ra {
            paired(&a) && a.rebuild(p).is_ok() && a.cost < old - EPS
        } else {
            allowed(&a)
                && allowed(&b)
                && paired(&a)
                && paired(&b)
                && a.rebuild(p).is_ok()
                && b.rebuild(p).is_ok()
                && a.cost + b.cost < old - EPS
        };
        if !ok {
            return false;
        }
        sol.routes[ra] = a;
        sol.index(ra);
        if rb != ra {
            sol.routes[rb] = b;
            sol.index(rb);
        }
        true
    }
}

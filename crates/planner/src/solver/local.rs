//! Local search on plain routes (metric, static travel, no breaks, no time cost), where every move below is checked
//! from the route caches: the departure state after a prefix (`states`) and the latest arrival that keeps a suffix
//! feasible (`latest`), so only the changed stretch is simulated. Moves, each between a stop `u` and one of its
//! nearest neighbours `v`: relocate `u`, or the string of two or three stops it starts, next to `v`; swap `u` and
//! `v`; the two tail exchanges (2-opt*) that make `u` and `v` adjacent; within one route, move `u` next to `v` or
//! reverse the stretch between them (2-opt, symmetric distances only). Capacity, skills, locks and pairs are
//! checked again when a move is applied by rebuilding the routes; a move that fails there is dropped.

use super::{Search, Sol, GRANULAR};
use crate::eval::{step, travel, NoLog};
use crate::model::{Problem, Role, Task, MAX_DIMS};
use crate::route::RouteCache;

/// A move must save more than this to count, so rounding noise never loops.
const EPS: f64 = 1e-7;

#[derive(Debug, Clone, Copy)]
enum Move {
    /// Take `u` out of its route and insert it into route `rb` before original stop `g`.
    Relocate { rb: usize, g: usize },
    /// Take the `len` stops starting at `u` out of its route and insert them, in order, into route `rb` before
    /// original stop `g`.
    String { rb: usize, g: usize, len: usize },
    /// Exchange `u` (route `ra`, index `k`) and `v` (route `rb`, index `m`).
    Swap { rb: usize, m: usize },
    /// 2-opt* with route `rb`: `A[..i] + B[j..]` and `B[..j] + A[i..]`.
    Tails { rb: usize, i: usize, j: usize },
    /// Move `u` within its own route to before original index `g`.
    Within { g: usize },
    /// Reverse the stops `i..=j` of `u`'s route.
    Reverse { i: usize, j: usize },
}

/// A checked move: the new route `ra`, and the other route changed with it.
struct Trial {
    ra: usize,
    a: RouteCache,
    b: Option<(usize, RouteCache)>,
}

#[inline]
fn dist(p: &Problem, a: Option<usize>, b: Option<usize>) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) => p.distance.get(a, b),
        _ => 0.0,
    }
}

/// A stop that is not half of a pair: it can move alone.
fn plain(p: &Problem, s: usize) -> bool {
    matches!(p.stops[s].role, Role::Delivery | Role::Pickup)
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
    /// First-improvement descent over the granular neighbourhood until no move saves cost.
    pub(super) fn local_search(&mut self, sol: &mut Sol) {
        let p = self.p;
        if !p.metric {
            return;
        }
        // Tail exchanges would split a pickup from its delivery.
        let tails = !p.tasks.iter().any(|t| matches!(t, Task::Pair(..)));
        let mut order: Vec<usize> = (0..p.stops.len()).filter(|s| plain(p, *s)).collect();
        for _round in 0..30 {
            let mut improved = false;
            for i in (1..order.len()).rev() {
                let j = self.rng.below(i + 1);
                order.swap(i, j);
            }
            for &u in &order {
                match self.find_move(sol, u, tails) {
                    Some(t) => {
                        sol.routes[t.ra] = t.a;
                        sol.index(t.ra);
                        if let Some((rb, b)) = t.b {
                            sol.routes[rb] = b;
                            sol.index(rb);
                        }
                        improved = true;
                    }
                    None => sol.tested[u] = sol.clock,
                }
            }
            if !improved {
                break;
            }
        }
    }

    /// The first move of `u` with one of its neighbours that saves cost: it passes the constant-time checks,
    /// then the full one (`trial`); a move the full check refuses does not stop the look at the others.
    fn find_move(&self, sol: &Sol, u: usize, tails: bool) -> Option<Trial> {
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
        for &v in self.neighbours[u].iter().take(GRANULAR) {
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
                        if let Some(t) = self.trial(sol, u, ra, k, Move::Within { g }) {
                            return Some(t);
                        }
                    }
                }
                // 2-opt: reverse the stops between u and v so that they become adjacent.
                if self.symmetric {
                    let (i, j) = if k < m { (k + 1, m) } else { (m, k - 1) };
                    if i < j && i >= a.fixed && a.stops[i..=j].iter().all(|s| plain(p, *s)) {
                        let delta = dist(p, a.places[i], a.places[j + 1])
                            + dist(p, a.places[i + 1], a.places[j + 2])
                            - a.arcs[i]
                            - a.arcs[j + 1];
                        if va.distance_cost * delta < -EPS
                            && self.seq_fits(a, i, a.stops[i..=j].iter().rev().copied(), j + 1)
                        {
                            if let Some(t) = self.trial(sol, u, ra, k, Move::Reverse { i, j }) {
                                return Some(t);
                            }
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
                        if let Some(t) = self.trial(sol, u, ra, k, Move::Relocate { rb, g }) {
                            return Some(t);
                        }
                    }
                }
            }
            // Relocate the string of two or three stops starting at u next to v (or-opt).
            for len in 2..=3 {
                let end = k + len;
                if end > a.len()
                    || !a.stops[k..end]
                        .iter()
                        .all(|s| plain(p, *s) && p.allowed(b.vehicle, *s))
                {
                    break;
                }
                let last = a.places[end];
                // The arcs inside the string travel with it, priced by the vehicle that drives them.
                let inside: f64 = a.arcs[k + 1..end].iter().sum();
                let out = if end - k == a.len() {
                    -a.cost
                } else {
                    va.distance_cost
                        * (dist(p, prev_u, a.places[end + 1]) - a.arcs[k] - a.arcs[end] - inside)
                };
                for g in [m, m + 1] {
                    let (x, y) = (b.places[g], b.places[g + 1]);
                    let ins =
                        vb.distance_cost * (dist(p, x, lu) + inside + dist(p, last, y) - b.arcs[g]);
                    if out + ins < -EPS
                        && self.string_load_fits(b, &a.stops[k..end], g)
                        && self.seq_fits(b, g, a.stops[k..end].iter().copied(), g)
                    {
                        if let Some(t) = self.trial(sol, u, ra, k, Move::String { rb, g, len }) {
                            return Some(t);
                        }
                    }
                }
            }
            // Swap u and v.
            if plain(p, v) && p.allowed(a.vehicle, v) && p.allowed(b.vehicle, u) {
                let (prev_v, next_v) = (b.places[m], b.places[m + 2]);
                let da = dist(p, prev_u, lv) + dist(p, lv, next_u) - a.arcs[k] - a.arcs[k + 1];
                let db = dist(p, prev_v, lu) + dist(p, lu, next_v) - b.arcs[m] - b.arcs[m + 1];
                if va.distance_cost * da + vb.distance_cost * db < -EPS
                    && self.replace_fits(a, k, v)
                    && self.replace_fits(b, m, u)
                {
                    if let Some(t) = self.trial(sol, u, ra, k, Move::Swap { rb, m }) {
                        return Some(t);
                    }
                }
            }
            if !tails || !tails_compatible(p, a.vehicle, b.vehicle) {
                continue;
            }
            // u then v (A[..=k] + B[m..]), then v then u (B[..=m] + A[k..]).
            for (i, j) in [(k + 1, m), (k, m + 1)] {
                if self.tails_fit(a, i, b, j) {
                    if let Some(t) = self.trial(sol, u, ra, k, Move::Tails { rb, i, j }) {
                        return Some(t);
                    }
                }
            }
        }
        None
    }

    /// Whether exchanging tails, `A[..i] + B[j..]` and `B[..j] + A[i..]`, saves cost and passes the constant-time
    /// checks (the vehicles are `tails_compatible`).
    fn tails_fit(&self, a: &RouteCache, i: usize, b: &RouteCache, j: usize) -> bool {
        let p = self.p;
        let (a_empty, b_empty) = (i == 0 && j == b.len(), j == 0 && i == a.len());
        // The two new arcs: A's prefix to B's tail, B's prefix to A's tail (an emptied route drives neither).
        let to_b = dist(p, a.places[i], b.places[j + 1]);
        let to_a = dist(p, b.places[j], a.places[i + 1]);
        let mut delta = -a.arcs[i] - b.arcs[j];
        let mut fixed = 0.0;
        if a_empty {
            fixed += p.vehicles[a.vehicle].fixed_cost;
        } else {
            delta += to_b;
        }
        if b_empty {
            fixed += p.vehicles[b.vehicle].fixed_cost;
        } else {
            delta += to_a;
        }
        // With deliveries only, a route's load is what it starts with: the two new routes' totals decide.
        let loads_fit = |x: &RouteCache, xi: usize, y: &RouteCache, yj: usize| {
            let cap = &p.vehicles[x.vehicle].capacity;
            !self.deliveries_only
                || (0..MAX_DIMS).all(|d| x.loads[0][d] - x.loads[xi][d] + y.loads[yj][d] <= cap[d])
        };
        let on_time = |x: &RouteCache, xi: usize, y: &RouteCache, yj: usize| {
            let st = x.states[xi];
            st.time + travel(p, x.places[xi], y.places[yj + 1], st.time) <= y.latest[yj]
        };
        p.vehicles[a.vehicle].distance_cost * delta - fixed < -EPS
            && loads_fit(a, i, b, j)
            && loads_fit(b, j, a, i)
            && (a_empty || on_time(a, i, b, j))
            && (b_empty || on_time(b, j, a, i))
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

    /// Whether a string of stops fits route `r`'s load before original stop `g`: its deliveries ride from the
    /// start, its pickups to the end (exact for strings of one kind; the move is checked again when applied).
    fn string_load_fits(&self, r: &RouteCache, string: &[usize], g: usize) -> bool {
        let p = self.p;
        let cap = &p.vehicles[r.vehicle].capacity;
        (0..MAX_DIMS).all(|d| {
            let (mut del, mut pick) = (0, 0);
            for s in string {
                match p.stops[*s].role {
                    Role::Delivery => del += p.stops[*s].demand[d],
                    Role::Pickup => pick += p.stops[*s].demand[d],
                    _ => {}
                }
            }
            r.pmax[g][d] + del <= cap[d] && r.smax[g][d] + pick <= cap[d]
        })
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

    /// The routes after a move, rebuilt and checked in full (skills, locks, pairs, capacity, schedule); `None` if
    /// the move is infeasible or does not save cost after all.
    fn trial(&self, sol: &Sol, u: usize, ra: usize, k: usize, mv: Move) -> Option<Trial> {
        let p = self.p;
        let rb = match mv {
            Move::Relocate { rb, .. }
            | Move::String { rb, .. }
            | Move::Swap { rb, .. }
            | Move::Tails { rb, .. } => rb,
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
            Move::String { g, len, .. } => {
                let string: Vec<usize> = a.stops.drain(k..k + len).collect();
                b.stops.splice(g..g, string);
            }
            Move::Swap { m, .. } => {
                std::mem::swap(&mut a.stops[k], &mut b.stops[m]);
            }
            Move::Tails { i, j, .. } => {
                let tail_a = a.stops.split_off(i);
                let tail_b = b.stops.split_off(j);
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
        ok.then(|| Trial {
            ra,
            a,
            b: (rb != ra).then_some((rb, b)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, Search};
    use crate::io::read_solomon;
    use crate::rng::Rng;

    /// A random instance in Solomon's format: `n` customers, tight or wide windows, capacity `cap`.
    fn instance(seed: u64, n: usize, cap: i64, wide: bool) -> String {
        let mut rng = Rng::new(seed);
        let mut text = format!(
            "RANDOM\n\nVEHICLE\nNUMBER     CAPACITY\n  {n}         {cap}\n\nCUSTOMER\n\
             CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME\n\n    \
             0      50        50          0          0       1000          0\n"
        );
        for c in 1..=n {
            let (x, y) = (rng.below(101), rng.below(101));
            let demand = 1 + rng.below(30);
            let width = if wide {
                300 + rng.below(400)
            } else {
                30 + rng.below(60)
            };
            let ready = rng.below(800 - width.min(700));
            text += &format!("{c} {x} {y} {demand} {ready} {} 10\n", ready + width);
        }
        text
    }

    #[test]
    fn the_descent_keeps_every_stop_once_feasible_and_never_costs_more() {
        let mut moved = 0;
        for seed in 0..40 {
            let text = instance(seed, 60, 60 + 40 * (seed as i64 % 4), seed % 2 == 0);
            let inst = read_solomon("random", &text).unwrap_or_else(|e| panic!("{e}"));
            let p = &inst.problem;
            let mut search = Search::new(
                p,
                Config {
                    seed,
                    ..Config::default()
                },
            );
            let mut sol = search.empty_solution();
            search.recreate(&mut sol, p.vehicles.len(), 0.0);
            let before = sol.objective(p);
            search.local_search(&mut sol);
            let after = sol.objective(p);
            assert!(
                after.cost <= before.cost + 1e-9,
                "seed {seed}: {before:?} -> {after:?}"
            );
            assert!(after.vehicles <= before.vehicles, "seed {seed}");
            assert_eq!(after.unassigned, before.unassigned, "seed {seed}");
            if after.cost < before.cost - 1e-6 {
                moved += 1;
            }
            let mut seen = vec![0; p.stops.len()];
            for (r, route) in sol.routes.iter().enumerate() {
                let mut fresh = route.clone();
                assert!(
                    fresh.rebuild(p).is_ok(),
                    "seed {seed}: route {r} is infeasible"
                );
                assert!(
                    (fresh.cost - route.cost).abs() < 1e-6,
                    "seed {seed}: stale cost"
                );
                for (k, s) in route.stops.iter().enumerate() {
                    seen[*s] += 1;
                    assert_eq!(sol.route_of[*s], Some(r), "seed {seed}: route of {s}");
                    assert_eq!(sol.pos_of[*s], k, "seed {seed}: position of {s}");
                }
            }
            // And the independent checker, with its own arithmetic, on the sequences.
            let routes: Vec<(usize, Vec<usize>)> = sol
                .routes
                .iter()
                .filter(|r| !r.is_empty())
                .map(|r| (r.vehicle, r.stops.clone()))
                .collect();
            let summary =
                crate::check_sequences(p, &routes).unwrap_or_else(|e| panic!("seed {seed}: {e:?}"));
            assert!(
                (summary.cost - after.cost).abs() < 1e-6,
                "seed {seed}: cost"
            );
            let served = seen.iter().filter(|c| **c == 1).count();
            assert!(seen.iter().all(|c| *c <= 1), "seed {seed}: a stop twice");
            assert_eq!(served + sol.unassigned.len(), p.stops.len(), "seed {seed}");
        }
        // Greedy insertion leaves room to improve: the moves must find some of it.
        assert!(moved >= 30, "the descent improved only {moved} of 40 plans");
    }
}

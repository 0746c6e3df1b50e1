//! Property tests: random problems with every feature mixed in; every plan passes the independent checker, locks
//! hold, every unassigned stop has a reason that survives a re-check, and a seed fixes the plan.

use planner::{
    check, solve, Break, Config, Matrix, Problem, Reason, Role, Stop, TravelTimes, Vehicle, Window,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Spec {
    points: Vec<(f64, f64)>,
    stops: Vec<(
        usize,
        Option<(f64, f64)>,
        bool,
        f64,
        i64,
        bool,
        Option<usize>,
    )>,
    pairs: usize,
    vehicles: Vec<(f64, f64, i64, bool, Option<(f64, f64, f64)>, f64)>,
    rush: bool,
    prefix: bool,
    seed: u64,
}

fn spec() -> impl Strategy<Value = Spec> {
    let point = (0.0..100.0f64, 0.0..100.0f64);
    (
        prop::collection::vec(point, 2..10),
        prop::collection::vec(
            (
                0usize..10,
                prop::option::of((0.0..400.0f64, 0.0..200.0f64)),
                any::<bool>(),
                0.0..20.0f64,
                0i64..4,
                prop::bool::weighted(0.2),
                prop::option::weighted(0.1, 0usize..3),
            ),
            1..14,
        ),
        0usize..4,
        prop::collection::vec(
            (
                0.0..100.0f64,
                200.0..800.0f64,
                1i64..8,
                any::<bool>(),
                prop::option::weighted(0.4, (0.0..300.0f64, 0.0..100.0f64, 5.0..40.0f64)),
                0.0..50.0f64,
            ),
            1..4,
        ),
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(points, stops, pairs, vehicles, rush, prefix, seed)| Spec {
                points,
                stops,
                pairs,
                vehicles,
                rush,
                prefix,
                seed,
            },
        )
}

/// Builds the problem a spec describes, or `None` when the model rejects it (then there is nothing to solve).
fn build(s: &Spec) -> Option<Problem> {
    let n = s.points.len();
    let m = Matrix::euclidean(&s.points);
    let travel = if s.rush {
        let slow: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..n).map(|j| m.get(i, j) * 1.7).collect())
            .collect();
        TravelTimes::Slots {
            starts: vec![0.0, 150.0, 300.0],
            matrices: vec![m.clone(), Matrix::from_rows(slow).ok()?, m.clone()],
        }
    } else {
        TravelTimes::Static(m.clone())
    };
    let mut stops: Vec<Stop> = Vec::new();
    for (k, (loc, window, two, service, demand, skill, lock)) in s.stops.iter().enumerate() {
        let mut st = Stop::new(format!("s{k}"), loc % n);
        if let Some((open, len)) = window {
            st.windows.push(Window::new(*open, open + len));
            if *two {
                st.windows
                    .push(Window::new(open + len + 50.0, open + len + 150.0));
            }
        }
        st.service = *service;
        st.demand[0] = *demand;
        st.demand[1] = i64::from(k % 3 == 0);
        if *skill {
            st.skills = vec!["hv".into()];
        }
        st.vehicle = lock.filter(|v| *v < s.vehicles.len());
        st.priority = 1.0 + (k % 2) as f64;
        stops.push(st);
    }
    // Turn the first `pairs` even/odd neighbours into pickup-and-delivery pairs.
    for k in 0..s.pairs.min(stops.len() / 2) {
        let (a, b) = (2 * k, 2 * k + 1);
        stops[a].role = Role::PairedPickup { delivery: b };
        stops[b].role = Role::PairedDelivery { pickup: a };
        stops[b].demand = stops[a].demand;
        stops[b].vehicle = stops[a].vehicle;
    }
    let mut vehicles = Vec::new();
    for (k, (open, len, cap, skill, brk, fixed)) in s.vehicles.iter().enumerate() {
        let mut v = Vehicle::new(
            format!("v{k}"),
            k % n,
            Window::new(*open, open + len),
            [*cap, 2, 0, 0],
        );
        if k == 1 {
            v.end = None;
        }
        if *skill {
            v.skills = vec!["hv".into()];
        }
        if let Some((bo, bl, bd)) = brk {
            v.breaks = vec![Break {
                duration: *bd,
                window: Window::new(*bo, bo + bl),
            }];
        }
        v.fixed_cost = *fixed;
        v.time_cost = if k == 2 { 0.5 } else { 0.0 };
        vehicles.push(v);
    }
    if s.prefix && stops.len() > 4 {
        // The last single stop is under way on the first vehicle.
        let last = stops.len() - 1;
        if matches!(stops[last].role, Role::Delivery) && stops[last].vehicle.is_none_or(|v| v == 0)
        {
            vehicles[0].fixed_prefix = vec![last];
        }
    }
    Problem::new(m, travel, stops, vehicles).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn every_plan_is_feasible_and_keeps_locks(s in spec()) {
        let Some(p) = build(&s) else { return Ok(()) };
        let config = Config { seed: s.seed, time_limit: None, iteration_limit: Some(150), ..Config::default() };
        let plan = solve(&p, config.clone());
        let summary = check(&p, &plan);
        prop_assert!(summary.is_ok(), "{:?}", summary);
        for r in &plan.routes {
            for v in &r.visits {
                if let Some(l) = p.stops()[v.stop].vehicle {
                    prop_assert_eq!(l, r.vehicle);
                }
            }
            let prefix = &p.vehicles()[r.vehicle].fixed_prefix;
            let seq: Vec<usize> = r.visits.iter().map(|v| v.stop).collect();
            prop_assert!(seq.starts_with(prefix));
        }
        for (k, v) in p.vehicles().iter().enumerate() {
            if !v.fixed_prefix.is_empty() {
                prop_assert!(plan.routes.iter().any(|r| r.vehicle == k));
            }
        }
        // The same seed and iteration budget give the same plan.
        let again = solve(&p, config);
        prop_assert_eq!(plan.sequences(), again.sequences());
        // Each reason is checked: a stop blocked by skill has no allowed vehicle; by capacity, none big enough.
        for u in &plan.unassigned {
            let stop = &p.stops()[u.stop];
            let allowed: Vec<usize> = (0..p.vehicles().len())
                .filter(|v| p.skilled(*v, u.stop) && stop.vehicle.is_none_or(|l| l == *v))
                .collect();
            match u.reason {
                Reason::Skill => prop_assert!(allowed.is_empty() || pair_partner_unskilled(&p, u.stop)),
                Reason::Capacity => prop_assert!(!allowed.is_empty()),
                _ => prop_assert!(!allowed.is_empty()),
            }
        }
    }
}

/// A pair is blocked by skill when no vehicle may serve both halves (skills and locks).
fn pair_partner_unskilled(p: &Problem, s: usize) -> bool {
    let partner = match p.stops()[s].role {
        Role::PairedPickup { delivery } => delivery,
        Role::PairedDelivery { pickup } => pickup,
        _ => return false,
    };
    let allowed =
        |v: usize, s: usize| p.skilled(v, s) && p.stops()[s].vehicle.is_none_or(|l| l == v);
    !(0..p.vehicles().len()).any(|v| allowed(v, s) && allowed(v, partner))
}

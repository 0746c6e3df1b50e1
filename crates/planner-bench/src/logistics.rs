//! The logistics benchmark: realistic service-centre days (Trondheim-like geography around the service point),
//! planned on the same job-node model (docs/decisions/0006) by our planner, by a greedy dispatcher (earliest window
//! first, the free driver who gets there first: what people do by hand) and, where installed, by PyVRP and VROOM
//! (reference/logistics_ref.py); every plan is scored by one evaluator here. Then the re-plan latency after one
//! change, and how many other jobs changed driver or time.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aftersales_domain::logistics::{
    model, plan as plan_day, Budget, Day, DayDriver, DayJob, JobKind, Model, Place, TravelModel,
    WashBay,
};
use anyhow::{Context, Result};
use planner::{check, solve, Config};

/// Routes as (vehicle, planner stops in order).
type Routes = Vec<(usize, Vec<usize>)>;

/// The days of the benchmark: jobs and drivers.
pub const SIZES: [(usize, usize); 3] = [(20, 3), (100, 10), (300, 25)];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n.saturating_sub(1))
    }
}

const H: f64 = 3600.0;

/// A service-centre day: customers mostly in the city (within 4 km), some in the suburbs (up to 10 km), windows of
/// 1–3 hours from 07:30 to 19:00, half pickups (a quarter with a loaner) and half deliveries (ready some time before
/// the window, 40 % washed first), drivers on staggered shifts of at most 5.5 hours, wash bays of 20 minutes.
pub fn generate(jobs: usize, drivers: usize, seed: u64) -> Day {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ jobs as u64);
    let depot = Place {
        lat: 63.4318,
        lon: 10.4412,
    };
    let km_lat = 1.0 / 111.2;
    let km_lon = 1.0 / (111.2 * depot.lat.to_radians().cos());
    let mut out = Vec::with_capacity(jobs);
    for _ in 0..jobs {
        let radius = if r.next() < 0.7 {
            4.0 * (r.next() + r.next()) / 2.0
        } else {
            4.0 + 6.0 * r.next()
        };
        let angle = r.next() * std::f64::consts::TAU;
        let place = Place {
            lat: depot.lat + radius * angle.sin() * km_lat,
            lon: depot.lon + radius * angle.cos() * km_lon,
        };
        let open = 7.5 * H + (r.pick(39) as f64) * 0.25 * H;
        let length = (1 + r.pick(3)) as f64 * H;
        let kind = if r.next() < 0.5 {
            JobKind::Pickup
        } else {
            JobKind::Delivery
        };
        let delivery = kind == JobKind::Delivery;
        out.push(DayJob {
            loaner_km: (r.next() < 0.25).then(|| 150.0 + 300.0 * r.next()),
            ready: delivery.then(|| (open - 2.0 * H * r.next()).max(7.0 * H)),
            clean: delivery && r.next() < 0.4,
            ..DayJob::new(kind, Some(place), (open, (open + length).min(20.0 * H)))
        });
    }
    let starts = [7.0, 9.5, 12.0, 14.5];
    let drivers = (0..drivers)
        .map(|d| {
            let s = starts[d % starts.len()] * H;
            DayDriver {
                shift: (s, s + 5.5 * H),
            }
        })
        .collect();
    let bays = (0..(jobs / 40).max(2))
        .map(|_| WashBay {
            secs_per_car: 20.0 * 60.0,
            open: 7.0 * H,
            close: 20.0 * H,
        })
        .collect();
    Day {
        depot,
        travel: TravelModel::city(),
        table: None,
        handover: 600.0,
        jobs: out,
        drivers,
        bays,
    }
}

/// How a plan serves its day, all plans scored alike: stops served on time and late (with the minutes), jobs not
/// served, driver minutes (leaving the service point to returning), km moved (driving and unassisted).
#[derive(Debug, Clone, Default)]
pub struct Score {
    pub on_time: usize,
    pub late: usize,
    pub late_min: f64,
    pub unserved: usize,
    pub driver_min: f64,
    pub km: f64,
}

/// Scores routes of planner stops (vehicle, stops) on the model: a stop reached after its window is served late
/// (the driver does not skip it), one never visited is unserved, and so is what the day excluded before any solve.
pub fn score(day: &Day, m: &Model, routes: &[(usize, Vec<usize>)]) -> Score {
    let p = &m.problem;
    let mut s = Score::default();
    let mut seen = vec![false; p.stops().len()];
    for (v, seq) in routes {
        let Some(veh) = p.vehicles().get(*v) else {
            continue;
        };
        let Some(first) = seq.first() else {
            continue;
        };
        let depot = veh.start.unwrap_or(0);
        let first_loc = p.stops()[*first].location;
        let lead = p.travel().time(depot, first_loc, veh.shift.open);
        let open = p.stops()[*first].windows.first().map_or(0.0, |w| w.open);
        let depart = veh.shift.open.max(open - lead);
        let (mut t, mut loc) = (depart, depot);
        for &st in seq {
            let Some(stop) = p.stops().get(st) else {
                continue;
            };
            if std::mem::replace(&mut seen[st], true) {
                continue;
            }
            let arrive = t + p.travel().time(loc, stop.location, t);
            s.km += p.distance().get(loc, stop.location) / 1000.0;
            let (wo, wc) = stop
                .windows
                .first()
                .map_or((f64::MIN, f64::MAX), |w| (w.open, w.close));
            let start = arrive.max(wo);
            if start > wc + 1e-6 {
                s.late += 1;
                s.late_min += (start - wc) / 60.0;
            } else {
                s.on_time += 1;
            }
            t = start + stop.service;
            loc = stop.location;
        }
        let back = t + p.travel().time(loc, depot, t);
        s.km += p.distance().get(loc, depot) / 1000.0;
        s.driver_min += (back - depart) / 60.0;
    }
    s.unserved = day.jobs.len() - s.on_time - s.late;
    s
}

/// What people do by hand: jobs in order of their window, each to the driver who can be there first (free soonest
/// plus the way there), if any driver can be there in the window and back before the end of the shift.
pub fn greedy(m: &Model) -> Routes {
    let p = &m.problem;
    let mut order: Vec<usize> = (0..p.stops().len()).collect();
    let open = |s: usize| p.stops()[s].windows.first().map_or(0.0, |w| w.open);
    order.sort_by(|a, b| open(*a).total_cmp(&open(*b)).then(a.cmp(b)));
    let mut state: Vec<(f64, usize)> = p
        .vehicles()
        .iter()
        .map(|v| (v.shift.open, v.start.unwrap_or(0)))
        .collect();
    let mut routes: Routes = (0..state.len()).map(|v| (v, Vec::new())).collect();
    for s in order {
        let stop = &p.stops()[s];
        let w = stop.windows.first().copied();
        let mut best: Option<(f64, usize)> = None;
        for (v, (free, loc)) in state.iter().enumerate() {
            let veh = &p.vehicles()[v];
            let arrive = free + p.travel().time(*loc, stop.location, *free);
            let start = w.map_or(arrive, |w| arrive.max(w.open));
            let end = start + stop.service;
            let home = end + p.travel().time(stop.location, veh.end.unwrap_or(0), end);
            let fits = w.is_none_or(|w| start <= w.close) && home <= veh.shift.close;
            if fits && best.is_none_or(|(b, _)| start < b) {
                best = Some((start, v));
            }
        }
        if let Some((start, v)) = best {
            state[v] = (start + stop.service, stop.location);
            routes[v].1.push(s);
        }
    }
    routes
}

/// Our planner on the model, as the product runs it (no fleet minimisation: drivers are on shift anyway).
fn ours(m: &Model, budget: f64, seed: u64) -> Result<(Routes, f64)> {
    let t0 = Instant::now();
    let plan = solve(
        &m.problem,
        Config {
            time_limit: Some(Duration::from_secs_f64(budget)),
            seed,
            fleet_share: 0.0,
            ..Config::default()
        },
    );
    let wall = t0.elapsed().as_secs_f64();
    check(&m.problem, &plan).map_err(|e| anyhow::anyhow!("our plan fails the checker: {e:?}"))?;
    Ok((plan.sequences(), wall))
}

/// The model as the reference adapter reads it: integer seconds and metres.
fn export(m: &Model) -> serde_json::Value {
    let p = &m.problem;
    let n = p.distance().size();
    let mut service = vec![0i64; n];
    let mut windows = vec![[0i64, 48 * 3600]; n];
    for s in p.stops() {
        service[s.location] = s.service.ceil() as i64;
        if let Some(w) = s.windows.first() {
            windows[s.location] = [w.open.floor() as i64, w.close.floor() as i64];
        }
    }
    let time: Vec<Vec<i64>> = (0..n)
        .map(|a| {
            (0..n)
                .map(|b| p.travel().time(a, b, 0.0).ceil() as i64)
                .collect()
        })
        .collect();
    let dist: Vec<Vec<i64>> = (0..n)
        .map(|a| {
            (0..n)
                .map(|b| p.distance().get(a, b).round() as i64)
                .collect()
        })
        .collect();
    let vehicles: Vec<[i64; 2]> = p
        .vehicles()
        .iter()
        .map(|v| [v.shift.open.ceil() as i64, v.shift.close.floor() as i64])
        .collect();
    serde_json::json!({"n": n, "time": time, "dist": dist, "service": service, "windows": windows,
        "vehicles": vehicles, "prize": 10_000_000})
}

/// A reference solver through the adapter: its routes as planner stops (node k is stop k - 1).
fn reference(
    python: &Path,
    script: &Path,
    solver: &str,
    day_json: &Path,
    budget: f64,
    seed: u64,
) -> Result<(Routes, f64, String)> {
    let out = Command::new(python)
        .arg(script)
        .arg(solver)
        .arg(day_json)
        .arg(budget.to_string())
        .arg(seed.to_string())
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value =
        serde_json::from_str(line.trim()).with_context(|| format!("{solver} printed {line:?}"))?;
    if let Some(e) = v["error"].as_str() {
        anyhow::bail!("{solver}: {e}");
    }
    let routes = v["routes"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| {
                    let veh = r[0].as_u64()? as usize;
                    let seq = r[1]
                        .as_array()?
                        .iter()
                        .filter_map(|x| x.as_u64().map(|n| n as usize - 1))
                        .collect();
                    Some((veh, seq))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((
        routes,
        v["wall"].as_f64().unwrap_or(f64::NAN),
        v["version"].as_str().unwrap_or("?").to_string(),
    ))
}

/// One change to a planned day, for the re-plan latency.
fn change(
    day: &mut Day,
    k: usize,
    r: &mut Rng,
    base: &aftersales_domain::logistics::DayPlan,
) -> &'static str {
    match k % 4 {
        0 => {
            let mut j = day.jobs[r.pick(day.jobs.len())].clone();
            j.window = (12.0 * H, 15.0 * H);
            j.lock_driver = None;
            j.lock_at = None;
            day.jobs.push(j);
            "new job"
        }
        1 => {
            let j = r.pick(day.jobs.len());
            day.jobs[j].held = true;
            "cancelled job"
        }
        2 => {
            let routes: Vec<_> = base.routes.iter().filter(|r| !r.jobs.is_empty()).collect();
            if let Some(route) = routes.get(r.pick(routes.len().max(1))) {
                let pj = route.jobs[r.pick(route.jobs.len())];
                let to = (route.driver + 1) % day.drivers.len();
                day.jobs[pj.job].lock_driver = Some(to);
            }
            "locked move"
        }
        _ => {
            let ds: Vec<usize> = (0..day.jobs.len())
                .filter(|j| day.jobs[*j].ready.is_some())
                .collect();
            if let Some(j) = ds.get(r.pick(ds.len().max(1))) {
                if let Some(t) = day.jobs[*j].ready.as_mut() {
                    *t += 0.5 * H;
                }
            }
            "ready +30 min"
        }
    }
}

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * q).round() as usize]
}

pub struct Args {
    pub budgets: Vec<f64>,
    pub seed: u64,
    pub reference_dir: PathBuf,
    pub summary: PathBuf,
    pub machine: String,
    pub date: String,
    pub commit: String,
}

/// Runs the comparison and the re-plan latency, and writes the marked section of the benchmarks page.
pub fn run(a: &Args) -> Result<()> {
    let python = a.reference_dir.join("venv/bin/python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("reference/logistics_ref.py");
    let have_refs = python.exists();
    let tmp = std::env::temp_dir().join(format!("logistics-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Machine: {}. Date: {}. Commit: {}. Command: `{command}`\n\nDays generated by `planner-bench logistics` \
         (seed {}): customers around the Trondheim service point, windows of 1–3 h from 07:30, half pickups (a \
         quarter with a loaner), half deliveries (ready before the window, 40 % washed first), drivers on staggered \
         shifts of 5.5 h. Every plan is scored by the same evaluator on the job-node model (docs/decisions/0006): \
         on time / late (minutes) / not served, driver minutes, km. PyVRP and VROOM get the same model as integer \
         seconds and metres (reference/logistics_ref.py); they do not express breaks or locks, which these days \
         do not have.\n",
        a.machine, a.date, a.commit, a.seed
    );
    let _ = writeln!(
        md,
        "| day | budget | solver | on time | late (min) | not served | driver min | km | time (s) |\n|---|---|---|---:|---:|---:|---:|---:|---:|"
    );
    for (jobs, drivers) in SIZES {
        let day = generate(jobs, drivers, a.seed);
        let m = model(&day).map_err(|e| anyhow::anyhow!("{e}"))?;
        let label = format!("{jobs} jobs, {drivers} drivers");
        let day_json = tmp.join(format!("day-{jobs}.json"));
        std::fs::write(&day_json, serde_json::to_string(&export(&m))?)?;
        let t0 = Instant::now();
        let g = greedy(&m);
        let gw = t0.elapsed().as_secs_f64();
        row(
            &mut md,
            &label,
            "–",
            "greedy dispatcher",
            &score(&day, &m, &g),
            gw,
        );
        for &b in &a.budgets {
            let (r, w) = ours(&m, b, a.seed)?;
            row(
                &mut md,
                &label,
                &format!("{b} s"),
                "aftersales",
                &score(&day, &m, &r),
                w,
            );
            for solver in ["pyvrp", "vroom"] {
                if !have_refs {
                    let _ = writeln!(md, "| {label} | {b} s | {solver} | not installed (reference/install.sh) | | | | | |");
                    continue;
                }
                match reference(&python, &script, solver, &day_json, b, a.seed) {
                    Ok((r, w, ver)) => row(
                        &mut md,
                        &label,
                        &format!("{b} s"),
                        &format!("{solver} {ver}"),
                        &score(&day, &m, &r),
                        w,
                    ),
                    Err(e) => {
                        let _ = writeln!(
                            md,
                            "| {label} | {b} s | {solver} | failed: {} | | | | | |",
                            e.to_string().replace('|', "/")
                        );
                    }
                }
            }
            eprintln!("logistics: {label}, {b} s done");
        }
    }

    // Re-plan latency on the 300-job day: from the saved plan, one change, one insertion pass plus a short search.
    let (jobs, drivers) = SIZES[2];
    let day = generate(jobs, drivers, a.seed);
    let base = plan_day(
        &day,
        &Budget {
            time: Some(Duration::from_secs(10)),
            iterations: None,
            seed: a.seed,
        },
        &[],
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let where_of = |p: &aftersales_domain::logistics::DayPlan, j: usize| {
        p.routes.iter().find_map(|r| {
            r.jobs
                .iter()
                .find(|x| x.job == j)
                .map(|x| (r.driver, x.at_customer))
        })
    };
    let served = base.routes.iter().map(|r| r.jobs.len()).sum::<usize>();
    let _ = writeln!(
        md,
        "\nRe-plan after one change on the {jobs}-job day ({served} jobs planned by a 10 s plan), 100 changes (a new \
         job, a cancelled job, a job locked to another driver, a ready time 30 minutes later, in turn); each re-plan \
         starts from the saved plan (warm start): one insertion pass, or that and 200 iterations of search. Changed: \
         other jobs that changed driver or moved more than 15 minutes.\n\n| re-plan | p50 (ms) | p95 (ms) | changed p50 | changed p95 | jobs planned (mean) |\n|---|---:|---:|---:|---:|---:|"
    );
    for iterations in [1u64, 200] {
        let mut r = Rng(a.seed ^ 0xabcdef);
        let mut lat: Vec<f64> = Vec::new();
        let mut moved: Vec<f64> = Vec::new();
        let mut planned = 0usize;
        for k in 0..100 {
            let mut d = day.clone();
            change(&mut d, k, &mut r, &base);
            let t0 = Instant::now();
            let p = plan_day(
                &d,
                &Budget {
                    time: None,
                    iterations: Some(iterations),
                    seed: a.seed,
                },
                &base.sequences(),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            lat.push(t0.elapsed().as_secs_f64() * 1000.0);
            planned += p.routes.iter().map(|r| r.jobs.len()).sum::<usize>();
            let changed = (0..day.jobs.len())
                .filter(|j| match (where_of(&base, *j), where_of(&p, *j)) {
                    (Some((da, ta)), Some((db, tb))) => da != db || (ta - tb).abs() > 900.0,
                    (a, b) => a.is_some() != b.is_some(),
                })
                .count();
            moved.push(changed as f64);
        }
        let _ = writeln!(
            md,
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} |",
            if iterations == 1 {
                "insertion pass".to_string()
            } else {
                format!("{iterations} iterations")
            },
            percentile(&mut lat.clone(), 0.5),
            percentile(&mut lat, 0.95),
            percentile(&mut moved.clone(), 0.5),
            percentile(&mut moved, 0.95),
            planned as f64 / 100.0
        );
    }
    let begin = "<!-- logistics:begin -->";
    let end = "<!-- logistics:end -->";
    let page = std::fs::read_to_string(&a.summary).unwrap_or_default();
    let new = match (page.find(begin), page.find(end)) {
        (Some(b), Some(e)) if b < e => format!("{}{begin}\n{md}\n{}", &page[..b], &page[e..]),
        _ => format!("{page}\n## Logistics days\n\n{begin}\n{md}\n{end}\n"),
    };
    std::fs::write(&a.summary, new)?;
    let _ = std::fs::remove_dir_all(&tmp);
    eprintln!("wrote {}", a.summary.display());
    Ok(())
}

fn row(md: &mut String, day: &str, budget: &str, solver: &str, s: &Score, wall: f64) {
    let _ = writeln!(
        md,
        "| {day} | {budget} | {solver} | {} | {} ({:.0}) | {} | {:.0} | {:.1} | {:.2} |",
        s.on_time, s.late, s.late_min, s.unserved, s.driver_min, s.km, wall
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_days_are_plannable_and_scored_alike() {
        let day = generate(20, 3, 1);
        assert_eq!(day.jobs.len(), 20);
        let m = model(&day).unwrap();
        let g = greedy(&m);
        let sg = score(&day, &m, &g);
        assert_eq!(sg.late, 0, "the greedy dispatcher only takes what fits");
        assert_eq!(sg.on_time + sg.unserved, 20);
        let (r, _) = ours(&m, 0.2, 1).unwrap();
        let so = score(&day, &m, &r);
        assert_eq!(so.late, 0, "our plans pass the checker: nothing late");
        assert!(so.on_time >= sg.on_time, "{so:?} vs {sg:?}");
    }
}

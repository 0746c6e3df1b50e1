//! Logistics: pickups and deliveries of customers' cars around the repair order, planned as one day per service
//! point. Pure: a day's jobs, drivers and wash bays in, a checked plan out (docs/decisions/0006).
//!
//! The model is the driver's, honestly: a driver is always either driving a car (the customer's or a loaner) or
//! travelling unassisted (on foot, by bike or public transport) at a configured speed up to a maximum distance. Each
//! job is therefore one trip with a place the driver must be to begin it and a place it ends, and the planner sees one
//! node per job: travel between nodes is the unassisted leg from where one job ends to where the next begins, and the
//! job's own driving is its service time. A pickup with a loaner is one trip out in the loaner and back in the
//! customer's car (it begins and ends at the service point); a delivery with a loaner back is the mirror. The
//! customer's window applies to the moment the driver is at the customer, so the node's window is shifted by the
//! drive before it. The planner's checker judges every plan before it leaves this module.

use std::time::Duration;

pub mod handover;

/// The planner's reasons, which `Why` wraps.
pub use planner::Reason;
use planner::{Matrix, Problem, Stop, TravelTimes, Vehicle, Window};
use serde::{Deserialize, Serialize};

use crate::validation::{FieldError, Rule};

/// Mean Earth radius in km (IUGG).
const EARTH_KM: f64 = 6371.0088;
/// A leg the driver cannot make unassisted: long enough that no shift holds it.
const UNREACHABLE: f64 = 1.0e7;
/// Range a loaner must keep beyond the trips to and from the customer, for the customer's own driving (km).
pub const LOANER_RESERVE_KM: f64 = 50.0;

/// A point on the map in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub lat: f64,
    pub lon: f64,
}

impl Place {
    /// From millionths of a degree, as stored.
    pub fn from_e6(lat: i64, lon: i64) -> Place {
        Place {
            lat: lat as f64 / 1e6,
            lon: lon as f64 / 1e6,
        }
    }

    /// Great-circle distance in km (haversine).
    pub fn km_to(&self, other: &Place) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_KM * a.sqrt().asin()
    }
}

/// Parses coordinates typed by a person ("63.4305", "10.3951"): degrees, latitude within ±90, longitude ±180.
pub fn parse_place(lat: &str, lon: &str) -> Result<Place, FieldError> {
    let number = |field: &str, s: &str, limit: f64| -> Result<f64, FieldError> {
        let v: f64 = s.trim().replace(',', ".").parse().map_err(|_| {
            FieldError::new(
                field,
                Rule::Format,
                "must be a number of degrees, such as 63.4305",
            )
        })?;
        if !v.is_finite() || v.abs() > limit {
            return Err(FieldError::new(
                field,
                Rule::Format,
                format!("must be between -{limit} and {limit} degrees"),
            ));
        }
        Ok(v)
    };
    Ok(Place {
        lat: number("latitude", lat, 90.0)?,
        lon: number("longitude", lon, 180.0)?,
    })
}

vocabulary!(
    /// What a job does with the customer's car: fetch it to the service point, or bring it back.
    JobKind {
        Pickup => "pickup",
        Delivery => "delivery",
    }
);

vocabulary!(
    /// Where a job stands; the driver moves it forward, the advisor may cancel it until it is done.
    JobStatus {
        Planned => "planned",
        OnTheWay => "on-the-way",
        Arrived => "arrived",
        Done => "done",
        Cancelled => "cancelled",
    }
);

impl JobStatus {
    /// Whether a driver may press `to` now: one step forward at a time.
    pub fn can_go(self, to: JobStatus) -> bool {
        matches!(
            (self, to),
            (JobStatus::Planned, JobStatus::OnTheWay)
                | (JobStatus::OnTheWay, JobStatus::Arrived)
                | (JobStatus::Arrived, JobStatus::Done)
                | (
                    JobStatus::Planned | JobStatus::OnTheWay | JobStatus::Arrived,
                    JobStatus::Cancelled
                )
        )
    }

    /// Under way or finished: the plan keeps it where it is.
    pub fn started(self) -> bool {
        matches!(
            self,
            JobStatus::OnTheWay | JobStatus::Arrived | JobStatus::Done
        )
    }
}

/// How long the driver needs between places: the built-in model (great-circle distance times a road factor, driving
/// speed by time of day; unassisted at one speed up to a maximum distance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TravelModel {
    /// Road distance per straight-line distance (1.3 is typical of a city).
    pub road_factor: f64,
    /// Driving speed in km/h from a second of the local day on, sorted; the first also covers anything earlier.
    pub speeds: Vec<(f64, f64)>,
    pub unassisted_kmh: f64,
    /// Furthest a driver goes unassisted (km, road distance).
    pub unassisted_max_km: f64,
}

/// One leg: road km and seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leg {
    pub km: f64,
    pub secs: f64,
}

impl TravelModel {
    /// A city's default: rush hours 07–09 and 15–17:30 at 28 km/h, 42 km/h by day, 55 at night; 15 km/h unassisted
    /// (bike or bus), at most 12 km.
    pub fn city() -> TravelModel {
        TravelModel {
            road_factor: 1.3,
            speeds: vec![
                (0.0, 55.0),
                (7.0 * 3600.0, 28.0),
                (9.0 * 3600.0, 42.0),
                (15.0 * 3600.0, 28.0),
                (17.5 * 3600.0, 42.0),
                (21.0 * 3600.0, 55.0),
            ],
            unassisted_kmh: 15.0,
            unassisted_max_km: 12.0,
        }
    }

    fn speed_at(&self, at: f64) -> f64 {
        let k = self
            .speeds
            .partition_point(|(from, _)| *from <= at)
            .saturating_sub(1);
        self.speeds.get(k).map_or(40.0, |s| s.1).max(1.0)
    }

    /// Driving from `a` to `b`, leaving at second `at` of the local day.
    pub fn drive(&self, a: &Place, b: &Place, at: f64) -> Leg {
        let km = a.km_to(b) * self.road_factor;
        Leg {
            km,
            secs: km / self.speed_at(at) * 3600.0,
        }
    }

    /// Travelling unassisted from `a` to `b`; `None` beyond the maximum distance.
    pub fn unassisted(&self, a: &Place, b: &Place) -> Option<Leg> {
        let km = a.km_to(b) * self.road_factor;
        (km <= self.unassisted_max_km + 1e-9).then(|| Leg {
            km,
            secs: km / self.unassisted_kmh.max(0.5) * 3600.0,
        })
    }
}

/// A job of the day as the planner needs it. Times are seconds from the local midnight of the day.
#[derive(Debug, Clone, PartialEq)]
pub struct DayJob {
    pub kind: JobKind,
    /// The customer's address on the map; `None` is flagged, never guessed.
    pub place: Option<Place>,
    /// When the driver is to be at the customer.
    pub window: (f64, f64),
    /// The loaner's range in km when a loaner goes out (pickup) or comes back (delivery).
    pub loaner_km: Option<f64>,
    /// Delivery: when the repair order is ready (before cleaning).
    pub ready: Option<f64>,
    /// Delivery: the repair order is not ready and has no expected ready time, so no delivery can be planned.
    pub ready_unknown: bool,
    /// Delivery: the car is washed between ready and delivery.
    pub clean: bool,
    /// Locked to this driver (an index of `Day::drivers`; beyond them: a driver off that day).
    pub lock_driver: Option<usize>,
    /// Locked start at the customer.
    pub lock_at: Option<f64>,
    /// Taken off the plan by an advisor.
    pub held: bool,
    /// Under way (on the way, arrived): stays with `lock_driver`, ahead of the driver's other jobs, finished from
    /// the start of the driver's (re-planned) day on. Jobs done are not given to the planner at all.
    pub started: bool,
}

impl DayJob {
    /// A job at `place` in `window` with nothing else asked: no loaner, ready, no wash, no lock.
    pub fn new(kind: JobKind, place: Option<Place>, window: (f64, f64)) -> DayJob {
        DayJob {
            kind,
            place,
            window,
            loaner_km: None,
            ready: None,
            ready_unknown: false,
            clean: false,
            lock_driver: None,
            lock_at: None,
            held: false,
            started: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DayDriver {
    /// Shift start and end, seconds from local midnight.
    pub shift: (f64, f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct WashBay {
    pub secs_per_car: f64,
    pub open: f64,
    pub close: f64,
}

/// Driving times and distances between a day's places from a routing service on the road network; where it has a
/// pair, it replaces the built-in model for driving (not for the driver's unassisted legs).
#[derive(Debug, Clone, PartialEq)]
pub struct DriveTable {
    pub places: Vec<Place>,
    pub secs: Vec<Vec<f64>>,
    pub km: Vec<Vec<f64>>,
}

impl DriveTable {
    fn leg(&self, a: &Place, b: &Place) -> Option<Leg> {
        let i = self.places.iter().position(|p| p == a)?;
        let j = self.places.iter().position(|p| p == b)?;
        Some(Leg {
            km: *self.km.get(i)?.get(j)?,
            secs: *self.secs.get(i)?.get(j)?,
        })
    }
}

/// Everything one service point's day needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    pub depot: Place,
    pub travel: TravelModel,
    /// Driving from a routing service, when one is configured and answered.
    pub table: Option<DriveTable>,
    /// Time at the customer per hand-over (keys, walk-round, signature), seconds.
    pub handover: f64,
    pub jobs: Vec<DayJob>,
    pub drivers: Vec<DayDriver>,
    pub bays: Vec<WashBay>,
}

/// A break of 30 minutes for a shift above 5.5 hours (the Norwegian Working Environment Act § 10-9 and the
/// Portuguese Labour Code art. 213 both require one), to begin between 3 hours after the start and 2 hours before
/// the end.
pub fn shift_break(shift: (f64, f64)) -> Option<(f64, (f64, f64))> {
    let len = shift.1 - shift.0;
    (len > 5.5 * 3600.0).then(|| {
        let open = shift.0 + 3.0 * 3600.0;
        (1800.0, (open, (shift.1 - 2.0 * 3600.0).max(open)))
    })
}

/// Why a job is not on the plan; stored and shown by its code (`as_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Why {
    /// The address has no coordinates.
    NoPlace,
    /// Taken off the plan by an advisor.
    Held,
    /// Locked to a driver who has no shift left on the day.
    DriverOff,
    /// The loaner's charge does not cover the trip.
    LoanerRange,
    /// No wash bay can clean the car in time.
    Cleaning,
    /// The car is ready (and clean) only after the window closes.
    NotReady,
    /// The repair order has no expected ready time yet.
    NoEta,
    /// The customer is further than a driver goes unassisted, and the job needs the driver there without a car.
    TooFar,
    /// What the planner found blocking.
    Planner(Reason),
}

impl Why {
    pub fn as_str(self) -> &'static str {
        match self {
            Why::NoPlace => "no-place",
            Why::Held => "held",
            Why::DriverOff => "driver-off",
            Why::LoanerRange => "loaner-range",
            Why::Cleaning => "cleaning",
            Why::NotReady => "not-ready",
            Why::NoEta => "no-eta",
            Why::TooFar => "too-far",
            Why::Planner(r) => r.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<Why> {
        [
            Why::NoPlace,
            Why::Held,
            Why::DriverOff,
            Why::LoanerRange,
            Why::Cleaning,
            Why::NotReady,
            Why::NoEta,
            Why::TooFar,
        ]
        .into_iter()
        .chain(Reason::ALL.into_iter().map(Why::Planner))
        .find(|w| w.as_str() == s)
    }
}

/// A car's slot in a wash bay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wash {
    pub bay: usize,
    pub start: f64,
    pub end: f64,
}

/// Washes cars in order of readiness, each in the bay that finishes it first (list scheduling); `None` for a job
/// that needs no wash, `Err` where no bay can wash it the same day.
pub fn wash_schedule(day: &Day) -> Vec<Option<Result<Wash, ()>>> {
    let mut free: Vec<f64> = day.bays.iter().map(|b| b.open).collect();
    let mut order: Vec<usize> = (0..day.jobs.len())
        .filter(|j| {
            let job = &day.jobs[*j];
            job.kind == JobKind::Delivery && job.clean && !job.held && !job.started
        })
        .collect();
    order.sort_by(|a, b| {
        let ra = day.jobs[*a].ready.unwrap_or(0.0);
        let rb = day.jobs[*b].ready.unwrap_or(0.0);
        ra.total_cmp(&rb).then(a.cmp(b))
    });
    let mut out: Vec<Option<Result<Wash, ()>>> = vec![None; day.jobs.len()];
    for j in order {
        let ready = day.jobs[j].ready.unwrap_or(0.0);
        let best = day
            .bays
            .iter()
            .enumerate()
            .map(|(k, b)| {
                let start = free[k].max(ready).max(b.open);
                (k, start, start + b.secs_per_car)
            })
            .filter(|(k, _, end)| *end <= day.bays[*k].close)
            .min_by(|x, y| x.2.total_cmp(&y.2));
        out[j] = Some(match best {
            Some((bay, start, end)) => {
                free[bay] = end;
                Ok(Wash { bay, start, end })
            }
            None => Err(()),
        });
    }
    out
}

/// A job on a driver's route: when the driver begins it, is at the customer, and is done with it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedJob {
    pub job: usize,
    pub start: f64,
    pub at_customer: f64,
    pub end: f64,
    /// Road km driven in the car, and travelled unassisted to the job's start.
    pub drive_km: f64,
    pub unassisted_km: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DriverRoute {
    pub driver: usize,
    pub jobs: Vec<PlannedJob>,
    /// Back at the service point.
    pub end: f64,
    pub break_at: Option<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DayPlan {
    pub routes: Vec<DriverRoute>,
    pub unassigned: Vec<(usize, Why)>,
    pub washes: Vec<Option<Wash>>,
}

impl DayPlan {
    /// The job order per driver, for the next plan's warm start.
    pub fn sequences(&self) -> Vec<(usize, Vec<usize>)> {
        self.routes
            .iter()
            .map(|r| (r.driver, r.jobs.iter().map(|j| j.job).collect()))
            .collect()
    }
}

/// How a plan could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("the day cannot be modelled: {0}")]
    Model(#[from] planner::ModelError),
    #[error("the planner's plan fails its checker: {0:?}")]
    Check(Vec<String>),
}

/// One job's geometry: where the driver begins and ends it, its driving, and when it reaches the customer.
struct Trip {
    from: Place,
    to: Place,
    /// Seconds from the job's start to the driver being at the customer.
    lead: f64,
    /// Seconds from start to end (driving and hand-overs).
    length: f64,
    drive_km: f64,
}

impl Day {
    /// Driving from `a` to `b` leaving at second `at`: the routing service's answer, else the built-in model.
    pub fn drive(&self, a: &Place, b: &Place, at: f64) -> Leg {
        self.table
            .as_ref()
            .and_then(|t| t.leg(a, b))
            .unwrap_or_else(|| self.travel.drive(a, b, at))
    }
}

fn trip(day: &Day, job: &DayJob, place: Place) -> Trip {
    let at = job.window.0;
    let out = day.drive(&day.depot, &place, at);
    let back = day.drive(&place, &day.depot, at);
    match (job.kind, job.loaner_km.is_some()) {
        // Unassisted to the customer, then in the customer's car to the service point.
        (JobKind::Pickup, false) => Trip {
            from: place,
            to: day.depot,
            lead: 0.0,
            length: day.handover + back.secs,
            drive_km: back.km,
        },
        // Out in the loaner, hand it over, back in the customer's car.
        (JobKind::Pickup, true) | (JobKind::Delivery, true) => Trip {
            from: day.depot,
            to: day.depot,
            lead: out.secs,
            length: out.secs + day.handover + back.secs,
            drive_km: out.km + back.km,
        },
        // In the customer's car to the customer; the driver leaves unassisted.
        (JobKind::Delivery, false) => Trip {
            from: day.depot,
            to: place,
            lead: out.secs,
            length: out.secs + day.handover,
            drive_km: out.km,
        },
    }
}

/// The planner problem of a day: node 0 is the service point, node `k + 1` the `k`-th plannable job.
struct Built {
    problem: Problem,
    /// Day job of each planner stop.
    jobs: Vec<usize>,
    trips: Vec<Trip>,
    unassisted_km: Vec<Vec<f64>>,
    unassigned: Vec<(usize, Why)>,
    washes: Vec<Option<Wash>>,
}

fn build(day: &Day) -> Result<Built, PlanError> {
    let schedule = wash_schedule(day);
    let mut unassigned = Vec::new();
    let mut washes = vec![None; day.jobs.len()];
    let mut jobs = Vec::new();
    let mut trips = Vec::new();
    let mut windows = Vec::new();
    for (j, job) in day.jobs.iter().enumerate() {
        let why = |w: Why| Some((j, w));
        let blocked = if job.held && !job.started {
            why(Why::Held)
        } else if job.ready_unknown && job.kind == JobKind::Delivery && !job.started {
            why(Why::NoEta)
        } else if job.lock_driver.is_some_and(|d| d >= day.drivers.len()) {
            why(Why::DriverOff)
        } else if let Some(place) = job.place {
            let t = trip(day, job, place);
            let round = day.depot.km_to(&place) * day.travel.road_factor * 2.0;
            let ready = match schedule[j] {
                Some(Ok(w)) => {
                    washes[j] = Some(w);
                    Some(w.end)
                }
                Some(Err(())) => None,
                None => Some(job.ready.unwrap_or(0.0)),
            };
            // A job under way is finished from the shift's (re-planned) start on, whatever its window said.
            let (open, close) = match (job.started, job.lock_at) {
                (true, _) => (0.0, 2.0 * 86_400.0),
                (false, Some(at)) => (at - t.lead, at - t.lead),
                (false, None) => (job.window.0 - t.lead, job.window.1 - t.lead),
            };
            if job
                .loaner_km
                .is_some_and(|km| km < round + LOANER_RESERVE_KM)
                && !job.started
            {
                why(Why::LoanerRange)
            } else if matches!(schedule[j], Some(Err(()))) {
                why(Why::Cleaning)
            } else if ready.is_some_and(|r| r > close) && !job.started {
                why(Why::NotReady)
            } else {
                let open = if job.started {
                    open
                } else {
                    open.max(ready.unwrap_or(0.0))
                };
                jobs.push(j);
                trips.push(t);
                windows.push(Window::new(open, close));
                None
            }
        } else {
            why(Why::NoPlace)
        };
        unassigned.extend(blocked);
    }
    let n = jobs.len() + 1;
    let from = |k: usize| if k == 0 { day.depot } else { trips[k - 1].from };
    let to = |k: usize| if k == 0 { day.depot } else { trips[k - 1].to };
    let mut time = vec![vec![0.0; n]; n];
    let mut dist = vec![vec![0.0; n]; n];
    let mut unassisted_km = vec![vec![0.0; n]; n];
    for a in 0..n {
        for b in 0..n {
            if a == b {
                continue;
            }
            let (secs, km) = match day.travel.unassisted(&to(a), &from(b)) {
                Some(leg) => (leg.secs, leg.km),
                None => (UNREACHABLE, UNREACHABLE),
            };
            time[a][b] = secs;
            unassisted_km[a][b] = km;
            // Metres moved: unassisted to b, then b's own driving.
            dist[a][b] = km * 1000.0
                + if b == 0 {
                    0.0
                } else {
                    trips[b - 1].drive_km * 1000.0
                };
        }
    }
    // A job the driver must reach unassisted from the service point is too far when no leg gets there.
    let mut keep = Vec::new();
    for (k, j) in jobs.iter().enumerate() {
        if time[0][k + 1] >= UNREACHABLE && !day.jobs[*j].started {
            unassigned.push((*j, Why::TooFar));
        } else {
            keep.push(k);
        }
    }
    if keep.len() != jobs.len() {
        let pick = |m: &Vec<Vec<f64>>| -> Vec<Vec<f64>> {
            std::iter::once(0)
                .chain(keep.iter().map(|k| k + 1))
                .map(|a| {
                    std::iter::once(0)
                        .chain(keep.iter().map(|k| k + 1))
                        .map(|b| m[a][b])
                        .collect()
                })
                .collect()
        };
        time = pick(&time);
        dist = pick(&dist);
        unassisted_km = pick(&unassisted_km);
        jobs = keep.iter().map(|k| jobs[*k]).collect();
        let mut t2 = Vec::new();
        let mut w2 = Vec::new();
        for (k, (t, w)) in trips.into_iter().zip(windows).enumerate() {
            if keep.contains(&k) {
                t2.push(t);
                w2.push(w);
            }
        }
        trips = t2;
        windows = w2;
    }
    let stops: Vec<Stop> = jobs
        .iter()
        .enumerate()
        .map(|(k, j)| {
            let job = &day.jobs[*j];
            let mut s = Stop::new(format!("job {j}"), k + 1);
            s.windows = vec![windows[k]];
            s.service = trips[k].length;
            s.vehicle = job.lock_driver;
            s
        })
        .collect();
    let vehicles: Vec<Vehicle> = day
        .drivers
        .iter()
        .enumerate()
        .map(|(d, driver)| {
            let mut v = Vehicle::new(
                format!("driver {d}"),
                0,
                Window::new(driver.shift.0, driver.shift.1),
                [0; planner::MAX_DIMS],
            );
            v.time_cost = 1.0;
            v.distance_cost = 0.01;
            if let Some((len, (open, close))) = shift_break(driver.shift) {
                v.breaks = vec![planner::Break {
                    duration: len,
                    window: Window::new(open, close),
                }];
            }
            // Jobs under way stay first, in the order they began.
            let mut started: Vec<usize> = (0..stops.len())
                .filter(|k| day.jobs[jobs[*k]].started && stops[*k].vehicle == Some(d))
                .collect();
            started.sort_by(|a, b| {
                stops[*a].windows[0]
                    .open
                    .total_cmp(&stops[*b].windows[0].open)
            });
            v.fixed_prefix = started;
            v
        })
        .collect();
    let problem = Problem::new(
        Matrix::from_rows(dist)?,
        TravelTimes::Static(Matrix::from_rows(time)?),
        stops,
        vehicles,
    )?;
    Ok(Built {
        problem,
        jobs,
        trips,
        unassisted_km,
        unassigned,
        washes,
    })
}

/// A day as the planner sees it, for benchmarks and comparisons: the problem (stop `k` is node `k + 1`, node 0 the
/// service point), the day job of each stop, and the jobs decided unplannable before any solve.
pub struct Model {
    pub problem: Problem,
    pub jobs: Vec<usize>,
    pub unassigned: Vec<(usize, Why)>,
}

/// The planner problem of a day, without solving it.
pub fn model(day: &Day) -> Result<Model, PlanError> {
    let b = build(day)?;
    Ok(Model {
        problem: b.problem,
        jobs: b.jobs,
        unassigned: b.unassigned,
    })
}

/// How long and from where to search.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    pub time: Option<Duration>,
    pub iterations: Option<u64>,
    pub seed: u64,
}

/// Plans a day: builds the problem, solves it from `warm` (the previous plan's job order per driver), and returns the
/// plan only when the planner's checker passes it.
pub fn plan(
    day: &Day,
    budget: &Budget,
    warm: &[(usize, Vec<usize>)],
) -> Result<DayPlan, PlanError> {
    let b = build(day)?;
    let node_of = |j: usize| b.jobs.iter().position(|x| *x == j);
    let warm_start: Vec<(usize, Vec<usize>)> = warm
        .iter()
        .filter(|(d, _)| *d < day.drivers.len())
        .map(|(d, js)| (*d, js.iter().filter_map(|j| node_of(*j)).collect()))
        .collect();
    let config = planner::Config {
        time_limit: budget.time,
        iteration_limit: budget.iterations,
        seed: budget.seed,
        warm_start,
        // Drivers are on shift whether used or not: only time and distance count.
        fleet_share: 0.0,
        ..planner::Config::default()
    };
    let solved = planner::solve(&b.problem, config);
    planner::check(&b.problem, &solved).map_err(PlanError::Check)?;
    let mut unassigned = b.unassigned.clone();
    unassigned.extend(
        solved
            .unassigned
            .iter()
            .map(|u| (b.jobs[u.stop], Why::Planner(u.reason))),
    );
    unassigned.sort_by_key(|u| u.0);
    let routes = solved
        .routes
        .iter()
        .filter(|r| !r.visits.is_empty())
        .map(|r| {
            let mut prev = 0usize;
            let jobs = r
                .visits
                .iter()
                .map(|v| {
                    let node = v.stop + 1;
                    let t = &b.trips[v.stop];
                    let pj = PlannedJob {
                        job: b.jobs[v.stop],
                        start: v.start,
                        at_customer: v.start + t.lead,
                        end: v.departure,
                        drive_km: t.drive_km,
                        unassisted_km: b.unassisted_km[prev][node],
                    };
                    prev = node;
                    pj
                })
                .collect();
            DriverRoute {
                driver: r.vehicle,
                jobs,
                end: r.end_arrival,
                break_at: r.breaks.first().map(|b| (b.start, b.end)),
            }
        })
        .collect();
    Ok(DayPlan {
        routes,
        unassigned,
        washes: b.washes,
    })
}

/// Whether job `job` of `day` fits into the plan whose order per driver is `current`: one insertion from that plan,
/// no search (fast), the test behind the windows offered at booking. `Err` names what blocks it.
pub fn fits(day: &Day, current: &[(usize, Vec<usize>)], job: usize) -> Result<(), Why> {
    let budget = Budget {
        time: None,
        iterations: Some(1),
        seed: 0,
    };
    match plan(day, &budget, current) {
        Ok(p) => match p.unassigned.iter().find(|u| u.0 == job) {
            Some((_, why)) => Err(*why),
            None => Ok(()),
        },
        Err(_) => Err(Why::Planner(Reason::TimeWindow)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trondheim() -> Place {
        Place {
            lat: 63.4305,
            lon: 10.3951,
        }
    }

    fn job(kind: JobKind, dlat: f64, from_h: f64, to_h: f64) -> DayJob {
        DayJob::new(
            kind,
            Some(Place {
                lat: 63.4305 + dlat,
                lon: 10.3951 + dlat,
            }),
            (from_h * 3600.0, to_h * 3600.0),
        )
    }

    fn day(jobs: Vec<DayJob>, drivers: usize) -> Day {
        Day {
            depot: trondheim(),
            travel: TravelModel::city(),
            table: None,
            handover: 600.0,
            jobs,
            drivers: vec![
                DayDriver {
                    shift: (7.0 * 3600.0, 16.0 * 3600.0)
                };
                drivers
            ],
            bays: vec![WashBay {
                secs_per_car: 1800.0,
                open: 7.0 * 3600.0,
                close: 17.0 * 3600.0,
            }],
        }
    }

    fn budget() -> Budget {
        Budget {
            time: None,
            iterations: Some(300),
            seed: 1,
        }
    }

    #[test]
    fn haversine_matches_a_known_distance() {
        // Trondheim Torvet to Oslo Sentralstasjon: about 392 km as the crow flies.
        let oslo = Place {
            lat: 59.9111,
            lon: 10.7528,
        };
        let km = trondheim().km_to(&oslo);
        assert!((km - 392.0).abs() < 3.0, "{km}");
    }

    #[test]
    fn rush_hour_is_slower() {
        let t = TravelModel::city();
        let b = Place {
            lat: 63.40,
            lon: 10.40,
        };
        assert!(
            t.drive(&trondheim(), &b, 8.0 * 3600.0).secs
                > t.drive(&trondheim(), &b, 11.0 * 3600.0).secs
        );
        assert!(t
            .unassisted(
                &trondheim(),
                &Place {
                    lat: 63.0,
                    lon: 10.4
                }
            )
            .is_none());
    }

    #[test]
    fn every_job_served_inside_its_window_and_customer_times_follow_the_trip() {
        let jobs = vec![
            job(JobKind::Pickup, 0.01, 8.0, 9.0),
            job(JobKind::Pickup, -0.01, 8.0, 10.0),
            job(JobKind::Delivery, 0.02, 12.0, 14.0),
            job(JobKind::Delivery, -0.015, 13.0, 15.0),
        ];
        let d = day(jobs, 2);
        let p = plan(&d, &budget(), &[]).expect("plan");
        assert!(p.unassigned.is_empty(), "{:?}", p.unassigned);
        for r in &p.routes {
            for j in &r.jobs {
                let w = d.jobs[j.job].window;
                assert!(j.at_customer >= w.0 - 1e-6 && j.at_customer <= w.1 + 1e-6);
                assert!(j.end > j.start);
            }
        }
    }

    #[test]
    fn reasons_name_the_block() {
        let mut far = job(JobKind::Pickup, 0.01, 8.0, 9.0);
        far.place = None;
        let mut loaner = job(JobKind::Pickup, 0.05, 8.0, 9.0);
        loaner.loaner_km = Some(30.0);
        let mut late = job(JobKind::Delivery, 0.01, 8.0, 9.0);
        late.ready = Some(10.0 * 3600.0);
        let mut held = job(JobKind::Delivery, 0.01, 10.0, 12.0);
        held.held = true;
        let mut off_shift = job(JobKind::Delivery, 0.01, 19.0, 20.0);
        off_shift.ready = Some(8.0 * 3600.0);
        let mut remote = job(JobKind::Pickup, 0.3, 10.0, 12.0);
        remote.loaner_km = None;
        let d = day(vec![far, loaner, late, held, off_shift, remote], 1);
        let p = plan(&d, &budget(), &[]).expect("plan");
        let why: Vec<&str> = p.unassigned.iter().map(|u| u.1.as_str()).collect();
        assert_eq!(
            why,
            [
                "no-place",
                "loaner-range",
                "not-ready",
                "held",
                "shift",
                "too-far"
            ]
        );
        for w in why {
            assert!(Why::parse(w).is_some(), "{w}");
        }
    }

    #[test]
    fn a_loaner_pickup_starts_and_ends_at_the_service_point_and_cleaning_delays_delivery() {
        let mut a = job(JobKind::Pickup, 0.02, 9.0, 10.0);
        a.loaner_km = Some(300.0);
        let mut b = job(JobKind::Delivery, 0.02, 9.0, 15.0);
        b.ready = Some(9.0 * 3600.0);
        b.clean = true;
        let d = day(vec![a, b], 1);
        let p = plan(&d, &budget(), &[]).expect("plan");
        assert!(p.unassigned.is_empty(), "{:?}", p.unassigned);
        let wash = p.washes[1].expect("washed");
        assert_eq!(wash.start, 9.0 * 3600.0);
        let delivery = p.routes[0]
            .jobs
            .iter()
            .find(|j| j.job == 1)
            .expect("on route");
        assert!(delivery.start >= wash.end);
        let pickup = p.routes[0]
            .jobs
            .iter()
            .find(|j| j.job == 0)
            .expect("on route");
        assert!(
            pickup.at_customer > pickup.start,
            "drives out in the loaner first"
        );
    }

    #[test]
    fn locks_hold_and_warm_start_keeps_a_feasible_order() {
        let mut jobs: Vec<DayJob> = (0..8)
            .map(|k| job(JobKind::Pickup, 0.005 * k as f64, 8.0, 14.0))
            .collect();
        jobs[3].lock_driver = Some(1);
        jobs[3].lock_at = Some(11.0 * 3600.0);
        let d = day(jobs, 2);
        let first = plan(&d, &budget(), &[]).expect("plan");
        let on = first
            .routes
            .iter()
            .find(|r| r.jobs.iter().any(|j| j.job == 3))
            .expect("locked job planned");
        assert_eq!(on.driver, 1);
        let at = on.jobs.iter().find(|j| j.job == 3).map(|j| j.at_customer);
        assert_eq!(at, Some(11.0 * 3600.0));
        let again = plan(
            &d,
            &Budget {
                iterations: Some(1),
                ..budget()
            },
            &first.sequences(),
        )
        .expect("replan");
        assert!(again.unassigned.is_empty());
    }

    #[test]
    fn insertion_test_answers_for_one_job() {
        let mut jobs: Vec<DayJob> = (0..4)
            .map(|k| job(JobKind::Pickup, 0.004 * k as f64, 8.0, 9.0))
            .collect();
        jobs.push(job(JobKind::Pickup, 0.01, 8.0, 8.25));
        let d = day(jobs, 1);
        let current = plan(&d, &budget(), &[]).expect("plan").sequences();
        // Five pickups in one hour with 10-minute hand-overs and the drive back cannot all fit one driver.
        let verdicts: Vec<bool> = (0..5).map(|j| fits(&d, &current, j).is_ok()).collect();
        assert!(verdicts.iter().any(|v| !v), "{verdicts:?}");
        let mut roomy = d.clone();
        roomy.jobs[4].window = (13.0 * 3600.0, 15.0 * 3600.0);
        assert_eq!(fits(&roomy, &current, 4), Ok(()));
    }

    #[test]
    fn a_routing_table_replaces_the_model_for_driving() {
        let mut d = day(vec![job(JobKind::Delivery, 0.01, 12.0, 14.0)], 1);
        let place = d.jobs[0].place.expect("placed");
        let model = d.drive(&d.depot, &place, 12.0 * 3600.0);
        d.table = Some(DriveTable {
            places: vec![d.depot, place],
            secs: vec![vec![0.0, 1500.0], vec![1400.0, 0.0]],
            km: vec![vec![0.0, 9.0], vec![8.5, 0.0]],
        });
        let table = d.drive(&d.depot, &place, 12.0 * 3600.0);
        assert_eq!((table.secs, table.km), (1500.0, 9.0));
        assert_ne!(model.secs, table.secs);
        let p = plan(&d, &budget(), &[]).expect("plan");
        let e = p.routes[0].jobs[0];
        assert!(
            (e.at_customer - e.start - 1500.0).abs() < 1e-6,
            "the delivery drives the table's 25 minutes"
        );
    }

    #[test]
    fn statuses_move_one_step() {
        assert!(JobStatus::Planned.can_go(JobStatus::OnTheWay));
        assert!(!JobStatus::Planned.can_go(JobStatus::Done));
        assert!(!JobStatus::Done.can_go(JobStatus::Cancelled));
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse("status", s.as_str()), Ok(*s));
        }
    }
}

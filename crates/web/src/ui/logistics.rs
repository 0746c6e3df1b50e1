//! Logistics screens: the advisor's dispatch board (a timeline per driver, a map drawn on the
//! coordinates, jobs left out with their reason, locks and re-plan), the driver's run sheet on a
//! phone, adding a pickup or delivery to a repair order with the windows the plan can still serve,
//! and the set-up (depot, loaners, wash bays, drivers' shifts).

use aftersales_domain::calendar::Zone;
use aftersales_domain::logistics::{JobKind, JobStatus};
use aftersales_domain::org::Permission;
use aftersales_store::logistics::{
    Budget, DayPlan, DriverRun, DriverShift, DriverShiftInput, JobStatusInput, Loaner, LoanerInput,
    LoanerPatch, LoanerTerms, LoanerTermsInput, LockInput, LogisticsSettings,
    LogisticsSettingsInput, PhotoInput, PlaceInput, PlanEntry, TransportJob, TransportJobInput,
    WashBay, WashBayInput, WindowInput, WindowOffer,
};
use aftersales_store::{Ref, StoreError};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::{field, form_pairs, or_page, render, see_other, Chrome, FormErrors, Sent, SignedIn};
use crate::i18n::Tr;
use crate::AppState;

/// The board's timeline spans these local hours.
const FROM_HOUR: f64 = 6.0;
const TO_HOUR: f64 = 20.0;
/// Route colours on the map and the timeline, one per driver in turn.
const COLOURS: [&str; 6] = [
    "#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#0f766e",
];

fn hm(zone: Zone, t: OffsetDateTime) -> String {
    let l = zone.local(t);
    format!("{:02}:{:02}", l.hour(), l.minute())
}

/// A `YYYY-MM-DD` day as the reader writes dates ("7. desember 2026"); as given when it is no date.
pub(crate) fn day_label(day: &str, lang: aftersales_domain::i18n::Language) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(day, &fmt)
        .map(|d| aftersales_domain::notify::format_day(d, lang))
        .unwrap_or_else(|_| day.to_string())
}

/// The local day asked for (`day=YYYY-MM-DD`), else today.
fn day_of(q: &[(String, String)], zone: Zone, now: OffsetDateTime) -> Date {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(field(q, "day"), &fmt).unwrap_or_else(|_| zone.local(now).date())
}

/// A job's place in the reader's words: kind, customer, address.
fn why_key(code: &str) -> String {
    format!("lg-why-{code}")
}

/// A driver's path on the map: colour, the polyline, the stops (x, y, number).
pub type MapRoute = (&'static str, String, Vec<(f64, f64, usize)>);

/// The dispatch map on a 640 × 400 drawing in Web Mercator: the depot, each driver's path, the places of jobs left
/// out, and the map tiles under them when a tile URL is configured (x, y, href).
pub struct MapView {
    pub depot: Option<(f64, f64)>,
    pub routes: Vec<MapRoute>,
    pub unplanned: Vec<(f64, f64)>,
    pub tiles: Vec<(f64, f64, String)>,
}

const MAP_W: f64 = 640.0;
const MAP_H: f64 = 400.0;

/// World pixel coordinates of a place at zoom `z` (Web Mercator, 256-pixel tiles).
fn mercator(lat: f64, lon: f64, z: f64) -> (f64, f64) {
    let n = 256.0 * 2f64.powf(z);
    let lat = lat.clamp(-85.0511, 85.0511).to_radians();
    (
        (lon + 180.0) / 360.0 * n,
        (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n,
    )
}

fn map_of(plan: &DayPlan, settings: Option<&LogisticsSettings>, tile_url: Option<&str>) -> MapView {
    let mut pts: Vec<(f64, f64)> = Vec::new();
    if let Some(s) = settings {
        pts.push((s.latitude, s.longitude));
    }
    let place = |j: &TransportJob| j.latitude.zip(j.longitude);
    for r in &plan.runs {
        pts.extend(r.entries.iter().filter_map(|e| place(&e.job)));
    }
    pts.extend(plan.unplanned.iter().filter_map(|u| place(&u.job)));
    if pts.is_empty() {
        return MapView {
            depot: None,
            routes: Vec::new(),
            unplanned: Vec::new(),
            tiles: Vec::new(),
        };
    }
    // The closest zoom at which every place fits with a margin; the drawing is centred on them. Tiles
    // come in whole zoom levels; drawn on coordinates alone, the zoom is fractional and fills the map.
    let bbox = |z: f64| {
        let ps: Vec<(f64, f64)> = pts.iter().map(|(la, lo)| mercator(*la, *lo, z)).collect();
        let (x0, x1) = ps
            .iter()
            .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.0), a.1.max(p.0)));
        let (y0, y1) = ps
            .iter()
            .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.1), a.1.max(p.1)));
        (x0, x1, y0, y1)
    };
    let whole = (1..=17)
        .rev()
        .find(|z| {
            let (x0, x1, y0, y1) = bbox(f64::from(*z));
            x1 - x0 <= MAP_W - 40.0 && y1 - y0 <= MAP_H - 40.0
        })
        .unwrap_or(1);
    let z = if tile_url.is_some() {
        f64::from(whole)
    } else {
        let (x0, x1, y0, y1) = bbox(f64::from(whole));
        let fit = ((MAP_W - 40.0) / (x1 - x0).max(1e-9)).min((MAP_H - 40.0) / (y1 - y0).max(1e-9));
        (f64::from(whole) + fit.log2()).min(17.0)
    };
    let (x0, x1, y0, y1) = bbox(z);
    let (ox, oy) = ((x0 + x1) / 2.0 - MAP_W / 2.0, (y0 + y1) / 2.0 - MAP_H / 2.0);
    let xy = |(la, lo): (f64, f64)| {
        let (x, y) = mercator(la, lo, z);
        (x - ox, y - oy)
    };
    let tiles = match tile_url {
        Some(url) => {
            let max = 2i64.pow(whole as u32);
            let (tx0, tx1) = (
                (ox / 256.0).floor() as i64,
                ((ox + MAP_W) / 256.0).floor() as i64,
            );
            let (ty0, ty1) = (
                (oy / 256.0).floor() as i64,
                ((oy + MAP_H) / 256.0).floor() as i64,
            );
            let mut out = Vec::new();
            for ty in ty0.max(0)..=ty1.min(max - 1) {
                for tx in tx0..=tx1 {
                    let href = url
                        .replace("{z}", &whole.to_string())
                        .replace("{x}", &tx.rem_euclid(max).to_string())
                        .replace("{y}", &ty.to_string());
                    out.push((tx as f64 * 256.0 - ox, ty as f64 * 256.0 - oy, href));
                }
            }
            out
        }
        None => Vec::new(),
    };
    let depot = settings.map(|s| xy((s.latitude, s.longitude)));
    let routes = plan
        .runs
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.entries.is_empty())
        .map(|(i, r)| {
            let stops: Vec<(f64, f64, usize)> = r
                .entries
                .iter()
                .enumerate()
                .filter_map(|(n, e)| place(&e.job).map(|p| (xy(p), n + 1)))
                .map(|((x, y), n)| (x, y, n))
                .collect();
            // The driver's real path: a pickup runs from the customer to the service point, a
            // delivery from the service point to the customer, a loaner trip out and back.
            let mut path: Vec<(f64, f64)> = depot.into_iter().collect();
            for e in &r.entries {
                let Some(c) = place(&e.job).map(xy) else {
                    continue;
                };
                let legs: Vec<(f64, f64)> = match (e.job.kind, e.job.loaner.is_some()) {
                    (JobKind::Pickup, false) => [Some(c), depot].into_iter().flatten().collect(),
                    (JobKind::Delivery, false) => [depot, Some(c)].into_iter().flatten().collect(),
                    _ => [depot, Some(c), depot].into_iter().flatten().collect(),
                };
                path.extend(legs);
            }
            path.extend(depot);
            path.dedup();
            let line: Vec<String> = path.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            (COLOURS[i % COLOURS.len()], line.join(" "), stops)
        })
        .collect();
    let unplanned = plan
        .unplanned
        .iter()
        .filter_map(|u| place(&u.job).map(xy))
        .collect();
    MapView {
        depot,
        routes,
        unplanned,
        tiles,
    }
}

#[derive(Template)]
#[template(path = "logistics_board.html")]
struct BoardPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    orgs: Vec<(String, String)>,
    org: String,
    day: String,
    prev: String,
    next: String,
    plan: DayPlan,
    map: MapView,
    /// Whose map the tiles are, shown under the map when tiles are configured.
    attribution: Option<String>,
    zone: Zone,
    drivers: Vec<Ref>,
    has_depot: bool,
    /// The next day with jobs, when this one has none.
    next_busy: Option<String>,
    errors: FormErrors,
    done: String,
}

impl BoardPage<'_> {
    fn hm(&self, t: &OffsetDateTime) -> String {
        hm(self.zone, *t)
    }
    fn pos(&self, t: &OffsetDateTime) -> f64 {
        let l = self.zone.local(*t);
        let h = f64::from(l.hour()) + f64::from(l.minute()) / 60.0;
        ((h - FROM_HOUR) / (TO_HOUR - FROM_HOUR) * 100.0).clamp(0.0, 100.0)
    }
    fn left(&self, e: &PlanEntry) -> String {
        format!("{:.2}", self.pos(&e.starts_at))
    }
    fn width(&self, e: &PlanEntry) -> String {
        format!(
            "{:.2}",
            (self.pos(&e.ends_at) - self.pos(&e.starts_at)).max(0.6)
        )
    }
    fn shift(&self, r: &DriverRun) -> Option<(String, String)> {
        let (a, b) = (r.shift_from?, r.shift_to?);
        let left = self.pos(&a);
        Some((format!("{left:.2}"), format!("{:.2}", self.pos(&b) - left)))
    }
    fn colour(&self, i: &usize) -> &'static str {
        COLOURS[i % COLOURS.len()]
    }
    fn hours(&self) -> Vec<(u32, String)> {
        (FROM_HOUR as u32..=TO_HOUR as u32)
            .step_by(2)
            .map(|h| {
                (
                    h,
                    format!(
                        "{:.2}",
                        (f64::from(h) - FROM_HOUR) / (TO_HOUR - FROM_HOUR) * 100.0
                    ),
                )
            })
            .collect()
    }
    fn kind(&self, j: &TransportJob) -> String {
        self.t.t(&format!("lg-kind-{}", j.kind.as_str()))
    }
    fn status(&self, j: &TransportJob) -> String {
        self.t.t(&format!("lg-status-{}", j.status.as_str()))
    }
    fn why(&self, code: &str) -> String {
        self.t.t(&why_key(code))
    }
    fn window(&self, j: &TransportJob) -> String {
        format!("{}–{}", self.hm(&j.window_from), self.hm(&j.window_to))
    }
    fn day_label(&self, day: &str) -> String {
        day_label(day, self.t.lang)
    }
    fn washed(&self, e: &PlanEntry) -> Option<String> {
        let w = e.wash.as_ref()?;
        Some(self.t.with(
            "lg-washed",
            &[
                ("bay", &w.bay.label),
                ("from", &self.hm(&w.from)),
                ("to", &self.hm(&w.to)),
            ],
        ))
    }
    fn late(&self, e: &PlanEntry) -> bool {
        e.at_customer > e.job.window_to
    }
    fn stale(&self) -> bool {
        self.plan.planned_version != Some(self.plan.version) && self.plan.version > 0
    }
    fn unmapped(&self) -> Vec<&TransportJob> {
        self.plan
            .runs
            .iter()
            .flat_map(|r| r.entries.iter().map(|e| &e.job))
            .chain(self.plan.unplanned.iter().map(|u| &u.job))
            .chain(self.plan.pending.iter())
            .filter(|j| j.latitude.is_none())
            .collect()
    }
    fn locked(&self, j: &TransportJob) -> String {
        let mut parts = Vec::new();
        if let Some(d) = &j.lock_driver {
            parts.push(d.label.clone());
        }
        if let Some(a) = &j.lock_at {
            parts.push(self.hm(a));
        }
        if j.held {
            parts.push(self.t.t("lg-held"));
        }
        parts.join(", ")
    }
    fn window_from(&self, j: &TransportJob) -> String {
        self.hm(&j.window_from)
    }
    fn window_to(&self, j: &TransportJob) -> String {
        self.hm(&j.window_to)
    }
    fn lock_at_value(&self, j: &TransportJob) -> String {
        j.lock_at.map(|a| self.hm(&a)).unwrap_or_default()
    }
}

/// The service points where the reader plans or drives, and the one asked for.
async fn org_choice(
    state: &AppState,
    s: &SignedIn,
    q: &[(String, String)],
) -> Result<(Vec<(String, String)>, Option<String>), StoreError> {
    let orgs = super::orgs_named(state, s, Permission::LogisticsRead).await?;
    let asked = field(q, "org");
    let org = orgs
        .iter()
        .find(|(id, _)| id == asked)
        .or(orgs.first())
        .map(|(id, _)| id.clone());
    Ok((orgs, org))
}

async fn board_page(
    state: &AppState,
    s: &SignedIn,
    q: &[(String, String)],
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let (orgs, org) = or_page!(state, &s.ctx, org_choice(state, s, q).await);
    let Some(org) = org else {
        return super::store_error(state, &s.ctx, StoreError::Forbidden(String::new()));
    };
    let scope = &s.caller.scope;
    // A driver's screen is the run sheet.
    if !scope.permits(&org, Permission::LogisticsPlan) {
        return see_other("/logistics/run");
    }
    let store = state.store.logistics();
    let zone = or_page!(state, &s.ctx, state.store.org().zone_of(&org).await);
    let date = day_of(q, zone, state.now());
    let plan = or_page!(state, &s.ctx, store.day_plan(scope, &org, date).await);
    let settings = or_page!(state, &s.ctx, store.settings(scope, &org).await);
    let drivers = or_page!(state, &s.ctx, store.drivers(scope, &org).await);
    let empty = plan.runs.iter().all(|r| r.entries.is_empty())
        && plan.unplanned.is_empty()
        && plan.pending.is_empty();
    let next_busy = if empty {
        or_page!(
            state,
            &s.ctx,
            store.next_day_with_jobs(scope, &org, date).await
        )
    } else {
        None
    };
    let day = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
    (
        status,
        render(&BoardPage {
            chrome: Chrome::new(&t, &s.ctx),
            orgs,
            prev: day(date.previous_day()),
            next: day(date.next_day()),
            day: date.to_string(),
            map: map_of(&plan, settings.as_ref(), state.config.tile_url.as_deref()),
            attribution: state.config.tile_attribution.clone(),
            has_depot: settings.is_some(),
            next_busy,
            plan,
            zone,
            drivers,
            org,
            errors,
            done: field(q, "done").to_string(),
            t,
        }),
    )
        .into_response()
}

pub async fn board(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    board_page(&state, &s, &q, FormErrors::default(), StatusCode::OK).await
}

/// After a form on the board: back to the board's day with `done`, or the board again with the errors.
async fn back_to_board_after(
    state: &AppState,
    s: &SignedIn,
    p: &[(String, String)],
    r: Result<(), StoreError>,
    done: &str,
) -> Response {
    super::after_form(state, s, r, &back_to_board(p, done), |errors| {
        board_page(state, s, p, errors, StatusCode::UNPROCESSABLE_ENTITY)
    })
    .await
}

fn back_to_board(p: &[(String, String)], done: &str) -> String {
    format!(
        "/logistics?org={}&day={}&done={done}",
        field(p, "org"),
        field(p, "day")
    )
}

/// Plans the day again from its saved plan: by default only what changed is placed (the rest stays where it
/// is); "optimise" searches for a second and may move everything.
pub async fn replan(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let org = field(&p, "org");
    let zone = or_page!(state, &s.ctx, state.store.org().zone_of(org).await);
    let date = day_of(&p, zone, state.now());
    let r = state
        .store
        .logistics()
        .replan(
            &s.caller.scope,
            org,
            date,
            Budget {
                time: std::time::Duration::from_secs(1),
                seed: 0,
                minimal: field(&p, "mode") != "optimise",
            },
            state.now(),
        )
        .await
        .map(|_| ());
    back_to_board_after(&state, &s, &p, r, "replanned").await
}

/// A local `HH:MM` on the form's day as RFC 3339; what does not read as a time is passed on as
/// typed, for the store to name.
fn instant_of(zone: Zone, day: &str, hhmm: &str) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let parsed = Date::parse(day, &fmt).ok().and_then(|d| {
        let (h, m) = hhmm.trim().split_once(':')?;
        let t = time::Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()?;
        zone.instant(d.with_time(t)).format(&Rfc3339).ok()
    });
    parsed.unwrap_or_else(|| hhmm.to_string())
}

/// Locks a job to a driver and/or time, holds it off the plan, or unlocks it.
pub async fn lock(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let zone = or_page!(
        state,
        &s.ctx,
        state.store.org().zone_of(field(&p, "org")).await
    );
    let at = field(&p, "at").trim();
    let input = LockInput {
        driver_id: Some(field(&p, "driver_id").to_string()),
        at: (!at.is_empty()).then(|| instant_of(zone, field(&p, "day"), at)),
        held: field(&p, "held") == "on",
    };
    let r = state
        .store
        .logistics()
        .lock_job(&s.caller.scope, &id, &input)
        .await
        .map(|_| ());
    back_to_board_after(&state, &s, &p, r, "locked").await
}

/// Another window for a job on the same day, as the customer asked (times typed as HH:MM).
pub async fn window(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let zone = or_page!(
        state,
        &s.ctx,
        state.store.org().zone_of(field(&p, "org")).await
    );
    let day = field(&p, "day");
    let input = WindowInput {
        window_from: instant_of(zone, day, field(&p, "from")),
        window_to: instant_of(zone, day, field(&p, "to")),
    };
    let r = state
        .store
        .logistics()
        .move_window(&s.caller.scope, &id, &input, state.now())
        .await
        .map(|_| ());
    back_to_board_after(&state, &s, &p, r, "moved").await
}

/// Puts a flagged address on the map (coordinates typed by the advisor).
pub async fn place(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = PlaceInput {
        latitude: field(&p, "latitude").to_string(),
        longitude: field(&p, "longitude").to_string(),
        address: Some(field(&p, "address").to_string()),
    };
    let r = state
        .store
        .logistics()
        .set_job_place(&s.caller.scope, &id, &input)
        .await
        .map(|_| ());
    back_to_board_after(&state, &s, &p, r, "placed").await
}

#[derive(Template)]
#[template(path = "logistics_run.html")]
struct RunPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    day: String,
    runs: Vec<DriverRun>,
    next_busy: Option<String>,
    zone: Zone,
    errors: FormErrors,
    sent: Sent,
    done: String,
    /// The loaner terms each pickup with a loaner has the customer sign, by job.
    terms: Vec<(String, LoanerTerms)>,
}

impl RunPage<'_> {
    fn terms(&self, j: &TransportJob) -> Option<&LoanerTerms> {
        self.terms
            .iter()
            .find(|(id, _)| *id == j.id)
            .map(|(_, t)| t)
    }
    fn signs(&self, j: &TransportJob) -> bool {
        j.kind == JobKind::Pickup && j.loaner.is_some()
    }
    /// The hand-over's heading for a car, in the reader's words ("Your car in", "Loaner out").
    fn car_heading(&self, j: &TransportJob, car: &str) -> String {
        use aftersales_domain::logistics::handover::{direction, Car};
        let c = if car == "loaner" {
            Car::Loaner
        } else {
            Car::Customer
        };
        self.t.t(&format!(
            "lg-handover-{}-{}",
            c.as_str(),
            direction(j.kind, c).as_str()
        ))
    }
    fn day_label(&self, day: &str) -> String {
        day_label(day, self.t.lang)
    }
    fn hm(&self, t: &OffsetDateTime) -> String {
        hm(self.zone, *t)
    }
    fn kind(&self, j: &TransportJob) -> String {
        self.t.t(&format!("lg-kind-{}", j.kind.as_str()))
    }
    fn status(&self, j: &TransportJob) -> String {
        self.t.t(&format!("lg-status-{}", j.status.as_str()))
    }
    /// The button that moves the job on, if any: (status code, label).
    fn next(&self, j: &TransportJob) -> Option<(&'static str, String)> {
        let to = match j.status {
            JobStatus::Planned => JobStatus::OnTheWay,
            JobStatus::OnTheWay => JobStatus::Arrived,
            _ => return None,
        };
        Some((to.as_str(), self.t.t(&format!("lg-press-{}", to.as_str()))))
    }
    fn arrived(&self, j: &TransportJob) -> bool {
        j.status == JobStatus::Arrived
    }
    /// What to take along, in the reader's words.
    fn take(&self, j: &TransportJob) -> Vec<String> {
        let mut out = Vec::new();
        match (j.kind, &j.loaner) {
            (JobKind::Pickup, Some(l)) => {
                out.push(self.t.t1("lg-take-loaner", "plate", &l.label));
                out.push(self.t.t("lg-take-cable"));
            }
            (JobKind::Pickup, None) => out.push(self.t.t("lg-take-plates")),
            (JobKind::Delivery, loaner) => {
                out.push(self.t.t("lg-take-keys"));
                if let Some(l) = loaner {
                    out.push(self.t.t1("lg-take-back", "plate", &l.label));
                }
            }
        }
        out
    }
    fn geo(&self, j: &TransportJob) -> Option<String> {
        let (la, lo) = j.latitude.zip(j.longitude)?;
        Some(format!("geo:{la:.6},{lo:.6}"))
    }
}

async fn run_page(
    state: &AppState,
    s: &SignedIn,
    q: &[(String, String)],
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let zone = or_page!(state, &s.ctx, super::reader_zone(state, s).await);
    let date = day_of(q, zone, state.now());
    let runs = or_page!(
        state,
        &s.ctx,
        state.store.logistics().my_runs(&s.caller.scope, date).await
    );
    let next_busy = if runs.iter().all(|r| r.entries.is_empty()) {
        or_page!(
            state,
            &s.ctx,
            state
                .store
                .logistics()
                .my_next_day(&s.caller.scope, date)
                .await
        )
    } else {
        None
    };
    let mut terms = Vec::new();
    for e in runs.iter().flat_map(|r| &r.entries) {
        let j = &e.job;
        if j.kind == JobKind::Pickup && j.loaner.is_some() && j.status == JobStatus::Arrived {
            let tt = or_page!(
                state,
                &s.ctx,
                state
                    .store
                    .logistics()
                    .terms_for_job(&s.caller.scope, j)
                    .await
            );
            terms.push((j.id.clone(), tt));
        }
    }
    (
        status,
        render(&RunPage {
            terms,
            chrome: Chrome::new(&t, &s.ctx),
            day: date.to_string(),
            runs,
            next_busy,
            zone,
            errors,
            sent,
            done: field(q, "done").to_string(),
            t,
        }),
    )
        .into_response()
}

pub async fn run(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    run_page(&state, &s, &q, Default::default(), StatusCode::OK).await
}

/// What a driver pressed (or an advisor's cancel from the board).
pub async fn set_status(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (p, files) = super::form_with_files(&headers, &body);
    let number = |name: &str| -> Option<i64> {
        let v = field(&p, name).trim().replace([' ', '.', '\u{a0}'], "");
        // What does not read as a whole number is passed on out of range, for the store to name.
        (!v.is_empty()).then(|| v.parse::<i64>().unwrap_or(-1))
    };
    let text = |name: &str| Some(field(&p, name).to_string()).filter(|v| !v.trim().is_empty());
    let photos = files
        .into_iter()
        .filter_map(|(name, data)| {
            let car = name.strip_prefix("photos_")?;
            Some(PhotoInput {
                car: car.to_string(),
                data: base64::engine::general_purpose::STANDARD.encode(data),
            })
        })
        .collect();
    let input = JobStatusInput {
        status: field(&p, "status").to_string(),
        odometer_km: number("odometer_km"),
        charge_pct: number("charge_pct"),
        note: text("note"),
        loaner_odometer_km: number("loaner_odometer_km"),
        loaner_charge_pct: number("loaner_charge_pct"),
        loaner_range_km: number("loaner_range_km"),
        loaner_note: text("loaner_note"),
        photos,
        signer_name: text("signer_name"),
        signature_png: text("signature_png"),
        terms_sha256: text("terms_sha256"),
    };
    let r = state
        .store
        .logistics()
        .set_job_status(&s.caller.scope, &id, &input, state.now())
        .await
        .map(|_| ());
    let from_board = field(&p, "back") == "board";
    let done = if from_board {
        back_to_board(&p, "status")
    } else {
        format!("/logistics/run?day={}&done=status", field(&p, "day"))
    };
    super::after_form(&state, &s, r, &done, |errors| async {
        if from_board {
            board_page(&state, &s, &p, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        } else {
            run_page(
                &state,
                &s,
                &p,
                (errors, Sent::new(format!("job-{id}"), p.clone())),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    })
    .await
}

#[derive(Template)]
#[template(path = "logistics_new.html")]
struct NewJobPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    ro: aftersales_store::workshop::RepairOrder,
    kind: String,
    day: String,
    offers: Vec<WindowOffer>,
    loaners: Vec<Loaner>,
    jobs: Vec<TransportJob>,
    zone: Zone,
    errors: FormErrors,
    sent: Sent,
}

impl NewJobPage<'_> {
    fn day_label(&self, day: &str) -> String {
        day_label(day, self.t.lang)
    }
    fn hm(&self, t: &OffsetDateTime) -> String {
        hm(self.zone, *t)
    }
    fn why(&self, code: &str) -> String {
        self.t.t(&why_key(code))
    }
    fn value(&self, o: &WindowOffer) -> String {
        format!(
            "{}|{}",
            o.from.format(&Rfc3339).unwrap_or_default(),
            o.to.format(&Rfc3339).unwrap_or_default()
        )
    }
    fn kind_label(&self, k: &str) -> String {
        self.t.t(&format!("lg-kind-{k}"))
    }
    fn status(&self, j: &TransportJob) -> String {
        self.t.t(&format!("lg-status-{}", j.status.as_str()))
    }
}

async fn new_page(
    state: &AppState,
    s: &SignedIn,
    q: &[(String, String)],
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let scope = &s.caller.scope;
    let ro_id = field(q, "repair_order_id");
    let ro = or_page!(
        state,
        &s.ctx,
        state.store.workshop().repair_order(scope, ro_id).await
    );
    let org = ro.organisation.id.clone();
    let zone = or_page!(state, &s.ctx, state.store.org().zone_of(&org).await);
    let kind = JobKind::parse("kind", field(q, "kind")).unwrap_or(JobKind::Pickup);
    // The day the car comes in (pickup) or is expected ready (delivery), unless another is asked.
    let suggested = match kind {
        JobKind::Pickup => ro.appointment.as_ref().map(|a| a.starts_at),
        JobKind::Delivery => ro.eta,
    }
    .filter(|t| *t > state.now())
    .map(|t| zone.local(t).date());
    let date = match (field(q, "day").is_empty(), suggested) {
        (true, Some(d)) => d,
        _ => day_of(q, zone, state.now()),
    };
    let store = state.store.logistics();
    let loaners = or_page!(state, &s.ctx, store.loaners(scope, &org).await);
    let loaner_wanted = !field(q, "loaner_id").is_empty();
    let offers = match store
        .offers(scope, ro_id, kind, date, loaner_wanted, state.now())
        .await
    {
        Ok(o) => o,
        // No depot yet: the form still takes a window typed by hand.
        Err(StoreError::Invalid(_)) => Vec::new(),
        Err(e) => return super::store_error(state, &s.ctx, e),
    };
    let jobs = or_page!(
        state,
        &s.ctx,
        store.jobs_of_repair_order(scope, ro_id).await
    );
    (
        status,
        render(&NewJobPage {
            chrome: Chrome::new(&t, &s.ctx),
            ro,
            kind: kind.as_str().to_string(),
            day: date.to_string(),
            offers,
            loaners: loaners
                .into_iter()
                .filter(|l| !l.out_of_service && l.with_customer.is_none())
                .collect(),
            jobs,
            zone,
            errors,
            sent,
            t,
        }),
    )
        .into_response()
}

pub async fn new_job(
    State(state): State<AppState>,
    s: SignedIn,
    RawQuery(q): RawQuery,
) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    new_page(&state, &s, &q, Default::default(), StatusCode::OK).await
}

pub async fn create_job(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let f = |n: &str| field(&p, n).to_string();
    let (from, to) = f("window")
        .split_once('|')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap_or_default();
    let some = |n: &str| Some(f(n)).filter(|v| !v.trim().is_empty());
    let input = TransportJobInput {
        repair_order_id: f("repair_order_id"),
        kind: f("kind"),
        window_from: from,
        window_to: to,
        address: some("address"),
        latitude: some("latitude"),
        longitude: some("longitude"),
        loaner_id: some("loaner_id"),
        clean: field(&p, "clean") == "on",
    };
    let r = state
        .store
        .logistics()
        .add_job(&s.caller.scope, &input, state.now())
        .await;
    super::answer(
        &state,
        &s,
        r,
        |j| {
            see_other(&format!(
                "/workshop/repair-orders/{}?done=transport",
                j.repair_order.id
            ))
        },
        |errors| {
            new_page(
                &state,
                &s,
                &p,
                (errors, Sent::new("job", p.clone())),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "logistics_setup.html")]
struct SetupPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    orgs: Vec<(String, String)>,
    org: String,
    settings: Option<LogisticsSettings>,
    loaners: Vec<Loaner>,
    bays: Vec<WashBay>,
    shifts: Vec<DriverShift>,
    drivers: Vec<Ref>,
    terms: Vec<LoanerTerms>,
    can_manage: bool,
    errors: FormErrors,
    sent: Sent,
    done: String,
}

impl SetupPage<'_> {
    fn language(&self, code: &str) -> String {
        self.t.t(&format!("field-{code}"))
    }
    /// The text in the terms form: as typed when it came back, else the service point's own.
    fn terms_text(&self, tt: &LoanerTerms) -> String {
        let form = format!("terms-{}", tt.language);
        if self.sent.is(&form) {
            self.sent.get(&form, "body").to_string()
        } else if tt.standard {
            String::new()
        } else {
            tt.body.clone()
        }
    }
    fn weekday(&self, d: &u8) -> String {
        self.t.t(&format!("weekday-{d}"))
    }
    fn setting(&self, name: &str, default: &str) -> String {
        let v = match (&self.settings, name) {
            (Some(s), "latitude") => s.latitude.to_string(),
            (Some(s), "longitude") => s.longitude.to_string(),
            (Some(s), "road_factor_pct") => s.road_factor_pct.to_string(),
            (Some(s), "unassisted_kmh") => s.unassisted_kmh.to_string(),
            (Some(s), "unassisted_max_km") => s.unassisted_max_km.to_string(),
            (Some(s), "handover_minutes") => s.handover_minutes.to_string(),
            _ => default.to_string(),
        };
        self.sent.or("settings", name, &v).to_string()
    }
}

async fn setup_page(
    state: &AppState,
    s: &SignedIn,
    q: &[(String, String)],
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let (orgs, org) = or_page!(state, &s.ctx, org_choice(state, s, q).await);
    let Some(org) = org else {
        return super::store_error(state, &s.ctx, StoreError::Forbidden(String::new()));
    };
    let scope = &s.caller.scope;
    let store = state.store.logistics();
    (
        status,
        render(&SetupPage {
            chrome: Chrome::new(&t, &s.ctx),
            settings: or_page!(state, &s.ctx, store.settings(scope, &org).await),
            loaners: or_page!(state, &s.ctx, store.loaners(scope, &org).await),
            bays: or_page!(state, &s.ctx, store.wash_bays(scope, &org).await),
            shifts: or_page!(state, &s.ctx, store.driver_shifts(scope, &org).await),
            drivers: or_page!(state, &s.ctx, store.drivers(scope, &org).await),
            terms: or_page!(state, &s.ctx, store.loaner_terms(scope, &org).await),
            can_manage: scope.permits(&org, Permission::LogisticsManage),
            orgs,
            org,
            errors,
            sent,
            done: field(q, "done").to_string(),
            t,
        }),
    )
        .into_response()
}

pub async fn setup(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    setup_page(&state, &s, &q, Default::default(), StatusCode::OK).await
}

/// Each set-up form posts here with `form` naming it; one handler, one place for the answer.
pub async fn setup_post(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let f = |n: &str| field(&p, n).to_string();
    let int = |n: &str| -> i64 {
        let v = f(n).trim().to_string();
        if v.is_empty() {
            0
        } else {
            v.parse().unwrap_or(-1)
        }
    };
    let opt_int = |n: &str| (!f(n).trim().is_empty()).then(|| int(n));
    let scope = &s.caller.scope;
    let org = f("org");
    let store = state.store.logistics();
    let now = state.now();
    let form = f("form");
    let r: Result<(), StoreError> = match form.as_str() {
        "settings" => store
            .set_settings(
                scope,
                &org,
                &LogisticsSettingsInput {
                    latitude: f("latitude"),
                    longitude: f("longitude"),
                    road_factor_pct: opt_int("road_factor_pct"),
                    unassisted_kmh: opt_int("unassisted_kmh"),
                    unassisted_max_km: opt_int("unassisted_max_km"),
                    handover_minutes: opt_int("handover_minutes"),
                },
                now,
            )
            .await
            .map(|_| ()),
        "loaner" => store
            .add_loaner(
                scope,
                &org,
                &LoanerInput {
                    plate: f("plate"),
                    vin: Some(f("vin")),
                    model: f("model"),
                    range_km: int("range_km"),
                },
                now,
            )
            .await
            .map(|_| ()),
        "loaner-state" => store
            .set_loaner(
                scope,
                &f("loaner_id"),
                &LoanerPatch {
                    range_km: opt_int("range_km"),
                    out_of_service: Some(f("out_of_service") == "on"),
                },
            )
            .await
            .map(|_| ()),
        "wash-bay" => store
            .add_wash_bay(
                scope,
                &org,
                &WashBayInput {
                    name: f("name"),
                    minutes_per_car: int("minutes_per_car"),
                    opens: f("opens"),
                    closes: f("closes"),
                },
                now,
            )
            .await
            .map(|_| ()),
        "shift" => store
            .set_driver_shift(
                scope,
                &org,
                &DriverShiftInput {
                    user_id: f("user_id"),
                    weekday: f("weekday").parse().unwrap_or(7),
                    starts: f("starts"),
                    ends: f("ends"),
                },
            )
            .await
            .map(|_| ()),
        "shift-remove" => store.remove_driver_shift(scope, &f("shift_id")).await,
        terms if terms.starts_with("terms-") => store
            .set_loaner_terms(
                scope,
                &org,
                &LoanerTermsInput {
                    language: terms.trim_start_matches("terms-").to_string(),
                    body: f("body"),
                },
                now,
            )
            .await
            .map(|_| ()),
        _ => Err(StoreError::NotFound),
    };
    let done = format!("/logistics/setup?org={org}&done={form}");
    super::after_form(&state, &s, r, &done, |errors| {
        setup_page(
            &state,
            &s,
            &p,
            (errors, Sent::new(form.clone(), p.clone())),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    })
    .await
}

/// A hand-over photo, for those who may see the repair order's logistics.
pub async fn photo(State(state): State<AppState>, s: SignedIn, Path(id): Path<String>) -> Response {
    match state
        .store
        .logistics()
        .handover_photo(&s.caller.scope, &id)
        .await
    {
        Ok((kind, bytes)) => crate::download::image_response(&kind, bytes),
        Err(e) => super::store_error(&state, &s.ctx, e),
    }
}

/// A signed loaner agreement as kept (PDF, shown in the browser).
pub async fn agreement(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    match state
        .store
        .logistics()
        .agreement_pdf(&s.caller.scope, &id)
        .await
    {
        Ok((name, bytes)) => crate::download::pdf_response(&name, bytes, false),
        Err(e) => super::store_error(&state, &s.ctx, e),
    }
}

//! Workshop pages (capability workshop): the day board, booking against free times, the repair
//! order with its jobs, lines, assignment, clocking and approvals, and the workshop setup.

use aftersales_domain::calendar::Zone;
use aftersales_domain::org::{OrgKind, Permission};
use aftersales_domain::workshop::{AppointmentKind, LineKind, PayType, Refusal, RoStatus};
use aftersales_store::notify::OutboxItem;
use aftersales_store::workshop::{
    AbsenceInput, AppointmentView, Availability, Bay, BayInput, BookingInput, CertificationInput,
    JobInput, JobUpdate, LabourOperation, LabourOperationInput, LineInput, Part, PartInput,
    RepairOrder, RepairOrderInput, RoSummary, SettingsInput, Shift, StockInput, Technician,
    TechnicianInput, WorkshopSettings,
};
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use time::{Date, OffsetDateTime};

use super::{field, form_pairs, render, see_other, store_error, Chrome, FormErrors, SignedIn};
use crate::i18n::Tr;
use crate::AppState;

fn query(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref()
        .map(|q| form_pairs(q.as_bytes()))
        .unwrap_or_default()
}

pub fn local(zone: Zone, at: OffsetDateTime) -> String {
    let l = zone.local(at);
    format!("{} {:02}:{:02}", l.date(), l.hour(), l.minute())
}

fn hm(zone: Zone, at: OffsetDateTime) -> String {
    let l = zone.local(at);
    format!("{:02}:{:02}", l.hour(), l.minute())
}

fn parse_day(s: &str) -> Option<Date> {
    Date::parse(
        s.trim(),
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// Service points where the caller works in the workshop (or may see it), by name.
async fn service_points(
    state: &AppState,
    s: &SignedIn,
) -> Result<Vec<(String, String)>, StoreError> {
    let orgs = state
        .store
        .org()
        .list_organisations(&s.caller.scope, None, 200)
        .await?
        .items;
    Ok(orgs
        .into_iter()
        .filter(|o| o.kind == OrgKind::ServicePoint)
        .map(|o| (o.id, o.name))
        .collect())
}

fn refusal_text(t: &Tr<'_>, r: &Refusal) -> String {
    let mut args = fluent_bundle::FluentArgs::new();
    let key = match r {
        Refusal::NotTechnicianHere { technician } => {
            args.set("technician", technician.clone());
            "refusal-not-technician-here"
        }
        Refusal::MissingCertification {
            technician,
            certification,
        } => {
            args.set("technician", technician.clone());
            args.set("certification", certification.clone());
            "refusal-missing-certification"
        }
        Refusal::ExpiredCertification {
            technician,
            certification,
            expired_on,
        } => {
            args.set("technician", technician.clone());
            args.set("certification", certification.clone());
            args.set("date", expired_on.to_string());
            "refusal-expired-certification"
        }
        Refusal::MissingTraining {
            technician,
            competence,
            profile,
            training,
            expired_on,
        } => {
            let name = |m: &aftersales_domain::i18n::LocalNames| {
                m.get(t.lang.code())
                    .or_else(|| m.get("en"))
                    .cloned()
                    .unwrap_or_default()
            };
            args.set("technician", technician.clone());
            args.set("profile", format!("{} ({competence})", name(profile)));
            args.set("training", name(training));
            match expired_on {
                Some(d) => {
                    args.set("date", t.date(&d.to_string()));
                    "refusal-training-expired"
                }
                None => "refusal-training-missing",
            }
        }
    };
    t.i18n.get(t.lang, key, Some(&args))
}

// ---- Board ---------------------------------------------------------------------------------------

pub struct BoardRow {
    pub time: String,
    pub app_kind: &'static str,
    pub bay: String,
    pub technician: String,
    pub ro: RoSummary,
}

/// One lane of the board by bay or by technician: its appointments placed in time.
pub struct Lane {
    pub name: String,
    pub blocks: Vec<Block>,
}

/// An appointment on a lane: its grid column (quarter hours from the board's first hour, after the
/// lane's name) and width, and what the advisor needs to see on it.
pub struct Block {
    pub col: i64,
    pub span: i64,
    pub time: String,
    pub ro: RoSummary,
}

/// The board's hours across the top: grid column and the hour as `08:00`.
pub struct HourMark {
    pub col: i64,
    pub label: String,
}

pub struct JobRow {
    pub ro: RoSummary,
    pub job_title: String,
    pub clocked_on: bool,
}

#[derive(Template)]
#[template(path = "workshop_board.html")]
struct BoardPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    points: Vec<(String, String)>,
    org: String,
    date: String,
    /// The day before and after, for the arrows.
    prev: String,
    next_day: String,
    today: String,
    /// `list`, `bay` or `technician`.
    view: &'static str,
    lanes: Vec<Lane>,
    hours: Vec<HourMark>,
    /// Quarter-hour columns of the lanes.
    cols: i64,
    rows: Vec<BoardRow>,
    orders: Vec<(RoSummary, String)>,
    /// The next page of the active orders.
    next: Option<String>,
    my_jobs: Vec<JobRow>,
    can_book: bool,
    can_setup: bool,
}

impl BoardPage<'_> {
    /// "mandag 23.11.2026": the day shown, in the reader's words.
    fn day_label(&self) -> String {
        match parse_day(&self.date) {
            Some(d) => format!(
                "{} {}",
                self.t.t(&format!(
                    "weekday-{}",
                    d.weekday().number_days_from_monday()
                )),
                self.t.date(&self.date)
            ),
            None => self.date.clone(),
        }
    }
    fn status(&self, s: &RoStatus) -> String {
        self.t.t(&format!("ro-status-{}", s.as_str()))
    }
}

pub async fn board(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = query(&q);
    let points = super::or_page!(state, &s.ctx, service_points(&state, &s).await);
    let org = Some(field(&q, "org").to_string())
        .filter(|o| points.iter().any(|(id, _)| id == o))
        .or_else(|| points.first().map(|p| p.0.clone()))
        .unwrap_or_default();
    let zone = super::or_page!(state, &s.ctx, state.store.org().zone_of(&org).await);
    let today = zone.local(state.now()).date();
    let view = match field(&q, "view") {
        "bay" => "bay",
        "technician" => "technician",
        _ => "list",
    };
    // Without a date the board opens on today, or the next day the service point is open.
    let calendar = if org.is_empty() {
        None
    } else {
        Some(super::or_page!(
            state,
            &s.ctx,
            state.store.cases().calendar_for(&org, state.now()).await
        ))
    };
    let date = parse_day(field(&q, "date")).unwrap_or_else(|| {
        (0..14)
            .map(|d| today + time::Duration::days(d))
            .find(|d| calendar.as_ref().is_some_and(|c| !c.open_on(*d).is_empty()))
            .unwrap_or(today)
    });
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let mut rows = Vec::new();
    let mut day = Vec::new();
    if !org.is_empty() {
        match state
            .store
            .workshop()
            .day_board(&s.caller.scope, &org, date)
            .await
        {
            Ok(list) => {
                for (a, ro) in list {
                    day.push((a.clone(), ro.clone()));
                    rows.push(BoardRow {
                        time: format!("{}–{}", hm(zone, a.starts_at), hm(zone, a.ends_at)),
                        app_kind: if a.kind == AppointmentKind::Mobile {
                            "ws-kind-mobile"
                        } else {
                            "ws-kind-workshop"
                        },
                        bay: a.bay.unwrap_or_else(|| a.address.unwrap_or_default()),
                        technician: a.technician.label,
                        ro,
                    })
                }
            }
            Err(e) => return store_error(&state, &s.ctx, e),
        }
    }
    let (lanes, hours, cols) = if view == "list" || org.is_empty() {
        (Vec::new(), Vec::new(), 0)
    } else {
        let open = calendar
            .as_ref()
            .map(|c| c.open_on(date))
            .unwrap_or_default();
        let names: Vec<(String, String)> = if view == "bay" {
            super::or_page!(
                state,
                &s.ctx,
                state.store.workshop().bays(&s.caller.scope, &org).await
            )
            .into_iter()
            .filter(|b| b.active)
            .map(|b| (b.name.clone(), b.name))
            .collect()
        } else {
            super::or_page!(
                state,
                &s.ctx,
                state
                    .store
                    .workshop()
                    .technicians(&s.caller.scope, &org, date)
                    .await
            )
            .into_iter()
            .map(|x| (x.user_id, x.name))
            .collect()
        };
        board_lanes(&t, zone, view, &open, names, &day)
    };
    let page = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .workshop()
            .repair_orders(
                &s.caller.scope,
                None,
                None,
                Some(field(&q, "cursor")).filter(|c| !c.is_empty()),
                super::PAGE_ROWS,
            )
            .await
    );
    let next = page
        .next_cursor
        .map(|c| super::next_page("/workshop", &q, "cursor", &c));
    let orders = page
        .items
        .into_iter()
        .map(|r| {
            let when = r.starts_at.map(|a| local(zone, a)).unwrap_or_default();
            (r, when)
        })
        .collect();
    let my_jobs = super::or_page!(
        state,
        &s.ctx,
        state.store.workshop().my_jobs(&s.caller.scope).await
    )
    .into_iter()
    .map(|(ro, j)| JobRow {
        clocked_on: j.clocked_on.contains(&s.caller.display_name),
        job_title: j.title,
        ro,
    })
    .collect();
    render(&BoardPage {
        chrome: Chrome::new(&t, &s.ctx),
        can_book: s.caller.scope.permits(&org, Permission::WorkshopWrite),
        can_setup: s.caller.scope.permits(&org, Permission::WorkshopManage),
        points,
        org,
        date: date.to_string(),
        prev: (date - time::Duration::days(1)).to_string(),
        next_day: (date + time::Duration::days(1)).to_string(),
        today: today.to_string(),
        view,
        lanes,
        hours,
        cols,
        rows,
        orders,
        next,
        my_jobs,
        t,
    })
}

/// The lanes of a day by bay or by technician, with the hours across the top: from the first
/// opening hour (or the earliest appointment) to the last, in quarter-hour columns. Mobile visits
/// (no bay) get a lane of their own on the bay view.
fn board_lanes(
    t: &Tr<'_>,
    zone: Zone,
    view: &str,
    open: &[(OffsetDateTime, OffsetDateTime)],
    names: Vec<(String, String)>,
    day: &[(AppointmentView, RoSummary)],
) -> (Vec<Lane>, Vec<HourMark>, i64) {
    let minutes = |at: OffsetDateTime| {
        let l = zone.local(at);
        i64::from(l.hour()) * 60 + i64::from(l.minute())
    };
    let first = open
        .iter()
        .map(|(a, _)| minutes(*a))
        .chain(day.iter().map(|(a, _)| minutes(a.starts_at)))
        .min()
        .unwrap_or(8 * 60)
        / 60;
    let last = open
        .iter()
        .map(|(_, b)| minutes(*b))
        .chain(day.iter().map(|(a, _)| minutes(a.ends_at)))
        .max()
        .unwrap_or(16 * 60);
    let last = (last + 59) / 60;
    let cols = ((last - first) * 4).max(4);
    let hours = (first..last)
        .map(|h| HourMark {
            col: 2 + (h - first) * 4,
            label: format!("{h:02}:00"),
        })
        .collect();
    let mut lanes: Vec<(String, Lane)> = names
        .into_iter()
        .map(|(key, name)| {
            (
                key,
                Lane {
                    name,
                    blocks: Vec::new(),
                },
            )
        })
        .collect();
    for (a, ro) in day {
        let key = if view == "bay" {
            a.bay.clone().unwrap_or_default()
        } else {
            a.technician.id.clone()
        };
        let lane = match lanes.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let name = if key.is_empty() {
                    t.t("ws-kind-mobile")
                } else if view == "bay" {
                    key.clone()
                } else {
                    a.technician.label.clone()
                };
                lanes.push((
                    key,
                    Lane {
                        name,
                        blocks: Vec::new(),
                    },
                ));
                lanes.len() - 1
            }
        };
        let start = (minutes(a.starts_at) - first * 60) / 15;
        let end = (minutes(a.ends_at) - first * 60 + 14) / 15;
        lanes[lane].1.blocks.push(Block {
            col: 2 + start.max(0),
            span: (end - start).max(1),
            time: format!("{}–{}", hm(zone, a.starts_at), hm(zone, a.ends_at)),
            ro: ro.clone(),
        });
    }
    (lanes.into_iter().map(|(_, l)| l).collect(), hours, cols)
}

// ---- Booking -------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "workshop_book.html")]
struct BookPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    points: Vec<(String, String)>,
    org: String,
    customer_id: String,
    customer_name: String,
    case_id: String,
    vehicles: Vec<(String, String)>,
    vehicle_id: String,
    /// The customer's cars' open recalls, worded for the advisor.
    campaigns: Vec<String>,
    kind: String,
    date: String,
    operations: Vec<LabourOperation>,
    chosen: Vec<String>,
    complaint: String,
    address: String,
    /// Pickup and delivery wanted: after booking, the windows the day can serve.
    transport: bool,
    availability: Option<Availability>,
    slots: Vec<(String, String, String)>,
    errors: FormErrors,
    taken: bool,
}

impl BookPage<'_> {
    fn chosen_op(&self, code: &str) -> bool {
        self.chosen.iter().any(|c| c == code)
    }
    fn no_slot(&self) -> Option<String> {
        self.availability
            .as_ref()
            .and_then(|a| a.reason)
            .map(|r| no_slot_text(&self.t, r))
    }
}

/// Why a day offers no free time, in the reader's words.
fn no_slot_text(t: &Tr<'_>, r: aftersales_domain::workshop::NoSlotReason) -> String {
    t.t(&format!(
        "ws-no-slot-{}",
        serde_json::to_value(r)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    ))
}

/// The free starts of a day as the slot buttons show them: the value to send and the local time.
fn slot_choices(zone: Zone, a: &Availability) -> Vec<(String, String, String)> {
    a.slots
        .iter()
        .map(|sl| {
            let value = sl
                .starts_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            (
                value,
                hm(zone, sl.starts_at),
                sl.technician.clone().unwrap_or_default(),
            )
        })
        .collect()
}

struct BookForm {
    org: String,
    customer_id: String,
    case_id: String,
    vehicle_id: String,
    kind: String,
    date: String,
    ops: Vec<String>,
    complaint: String,
    address: String,
    transport: bool,
}

fn book_form(p: &[(String, String)]) -> BookForm {
    BookForm {
        org: field(p, "org").into(),
        customer_id: field(p, "customer").into(),
        case_id: field(p, "case").into(),
        vehicle_id: field(p, "vehicle").into(),
        kind: Some(field(p, "kind"))
            .filter(|k| !k.is_empty())
            .unwrap_or("workshop")
            .into(),
        date: field(p, "date").into(),
        ops: p
            .iter()
            .filter(|(k, _)| k == "op")
            .map(|(_, v)| v.clone())
            .collect(),
        complaint: field(p, "complaint").into(),
        address: field(p, "address").into(),
        transport: field(p, "transport") == "on",
    }
}

async fn book_page(
    state: &AppState,
    s: &SignedIn,
    mut f: BookForm,
    errors: FormErrors,
    taken: bool,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let points: Vec<(String, String)> =
        super::or_page!(state, &s.ctx, service_points(state, s).await)
            .into_iter()
            .filter(|(id, _)| s.caller.scope.permits(id, Permission::WorkshopWrite))
            .collect();
    if !points.iter().any(|(id, _)| *id == f.org) {
        f.org = points.first().map(|p| p.0.clone()).unwrap_or_default();
    }
    // Coming from a case: its customer, vehicle and words.
    if !f.case_id.is_empty() {
        match state
            .store
            .cases()
            .get_case(&s.caller.scope, &f.case_id, state.now())
            .await
        {
            Ok(c) => {
                if f.customer_id.is_empty() {
                    f.customer_id = c
                        .customer
                        .as_ref()
                        .map(|r| r.id.clone())
                        .unwrap_or_default();
                }
                if f.vehicle_id.is_empty() {
                    f.vehicle_id = c.vehicle.as_ref().map(|r| r.id.clone()).unwrap_or_default();
                }
                if f.complaint.is_empty() {
                    f.complaint = c.symptoms.clone().unwrap_or(c.subject.clone());
                }
            }
            Err(e) => return store_error(state, &s.ctx, e),
        }
    }
    let customer = match state
        .store
        .crm()
        .get_customer(&s.caller.scope, &f.customer_id)
        .await
    {
        Ok(c) => c,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let vehicles = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .crm()
            .vehicles_of(&s.caller.scope, &customer.id)
            .await
    )
    .into_iter()
    .map(|v| {
        (
            v.id,
            format!(
                "{} {}",
                v.model.unwrap_or_default(),
                v.registration.unwrap_or(v.vin)
            ),
        )
    })
    .collect::<Vec<(String, String)>>();
    // A customer with one car: it is the car, for the booking and a drop-in alike.
    if f.vehicle_id.is_empty() && vehicles.len() == 1 {
        f.vehicle_id = vehicles[0].0.clone();
    }
    // Open recalls of the customer's cars: "also do campaign X" while the car is in.
    let mut campaigns = Vec::new();
    for (id, label) in &vehicles {
        let open = match state
            .store
            .warranty()
            .open_campaigns(&s.caller.scope, id)
            .await
        {
            Ok(c) => c,
            Err(StoreError::NotFound) => Vec::new(),
            Err(e) => return store_error(state, &s.ctx, e),
        };
        for c in open {
            let title = c
                .title
                .get(t.lang.code())
                .or_else(|| c.title.get("en"))
                .cloned()
                .unwrap_or_default();
            campaigns.push(match c.operation {
                Some(op) => format!("{label}: {} · {title} ({op})", c.code),
                None => format!("{label}: {} · {title}", c.code),
            });
        }
    }
    let zone = super::or_page!(state, &s.ctx, state.store.org().zone_of(&f.org).await);
    let date = parse_day(&f.date)
        .unwrap_or_else(|| zone.local(state.now()).date() + time::Duration::days(1));
    let operations = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .workshop()
            .labour_operations(&s.caller.scope, &f.org)
            .await
    );
    let kind = AppointmentKind::parse("kind", &f.kind).unwrap_or(AppointmentKind::Workshop);
    let availability = if f.ops.is_empty() {
        None
    } else {
        // A choice the store refuses (an operation of another service point) offers no times.
        match state
            .store
            .workshop()
            .availability(&s.caller.scope, &f.org, date, kind, &f.ops, state.now())
            .await
        {
            Ok(a) => Some(a),
            Err(StoreError::Invalid(_)) => None,
            Err(e) => return store_error(state, &s.ctx, e),
        }
    };
    let slots = availability
        .as_ref()
        .map(|a| slot_choices(zone, a))
        .unwrap_or_default();
    (
        status,
        render(&BookPage {
            chrome: Chrome::new(&t, &s.ctx),
            campaigns,
            points,
            org: f.org,
            customer_id: customer.id.clone(),
            customer_name: customer.name.clone(),
            case_id: f.case_id,
            vehicles,
            vehicle_id: f.vehicle_id,
            kind: kind.as_str().into(),
            date: date.to_string(),
            operations,
            chosen: f.ops,
            complaint: f.complaint,
            address: f.address,
            transport: f.transport,
            availability,
            slots,
            errors,
            taken,
            t,
        }),
    )
        .into_response()
}

pub async fn book_get(
    State(state): State<AppState>,
    s: SignedIn,
    RawQuery(q): RawQuery,
) -> Response {
    let f = book_form(&query(&q));
    book_page(&state, &s, f, FormErrors::default(), false, StatusCode::OK).await
}

pub async fn book_post(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let f = book_form(&p);
    let input = BookingInput {
        organisation_id: f.org.clone(),
        customer_id: f.customer_id.clone(),
        vehicle_id: Some(f.vehicle_id.clone()),
        case_id: Some(f.case_id.clone()),
        kind: f.kind.clone(),
        operations: f.ops.clone(),
        starts_at: field(&p, "starts_at").into(),
        address: Some(f.address.clone()),
        complaint: Some(f.complaint.clone()),
        technician_id: None,
    };
    match state
        .store
        .workshop()
        .book_appointment(&s.caller.scope, &input, state.now())
        .await
    {
        // With pickup asked for, the advisor goes on to the windows the day can still serve.
        Ok(b) if f.transport => see_other(&format!(
            "/logistics/new?repair_order_id={}&kind=pickup",
            b.repair_order_id
        )),
        Ok(b) => see_other(&format!("/workshop/repair-orders/{}", b.repair_order_id)),
        Err(StoreError::Invalid(e)) => {
            book_page(
                &state,
                &s,
                f,
                FormErrors(e.0),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(StoreError::Taken(_)) => {
            book_page(
                &state,
                &s,
                f,
                FormErrors::default(),
                true,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

/// A walk-in: a repair order without an appointment.
pub async fn create_order(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let input = RepairOrderInput {
        organisation_id: field(&p, "org").into(),
        customer_id: field(&p, "customer").into(),
        vehicle_id: Some(field(&p, "vehicle").into()),
        case_id: Some(field(&p, "case").into()),
        complaint: field(&p, "complaint").into(),
    };
    let r = state
        .store
        .workshop()
        .create_repair_order(&s.caller.scope, &input, state.now())
        .await;
    super::answer(
        &state,
        &s,
        r,
        |ro| see_other(&format!("/workshop/repair-orders/{}", ro.id)),
        |errors| {
            book_page(
                &state,
                &s,
                book_form(&p),
                errors,
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        },
    )
    .await
}

// ---- Repair order --------------------------------------------------------------------------------

pub struct EventView {
    pub at: String,
    pub what: String,
    pub detail: String,
    pub who: String,
}

/// The move panel of a booked appointment: the day looked at and its free starts.
struct MoveView {
    date: String,
    /// The panel is open: a day was asked for, or a move was refused.
    open: bool,
    slots: Vec<(String, String, String)>,
    no_slot: Option<String>,
    taken: bool,
}

#[derive(Template)]
#[template(path = "repair_order.html")]
struct RoPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    ro: RepairOrder,
    appointment: Option<(String, String)>,
    /// Moving the booked appointment: offered while the car has not arrived.
    moving: Option<MoveView>,
    eta: String,
    technicians: Vec<Technician>,
    operations: Vec<LabourOperation>,
    parts: Vec<Part>,
    messages: Vec<(OutboxItem, String)>,
    events: Vec<EventView>,
    documents: Vec<aftersales_store::billing::DocSummary>,
    can_invoice: bool,
    /// The caller plans the work (assigns jobs): advisors and managers, not technicians.
    can_plan: bool,
    can_write: bool,
    me: String,
    /// The reader's name as clockings show it.
    me_name: String,
    /// The confirmation of a clocking just made.
    clocked: Option<String>,
    errors: FormErrors,
    /// The form that came back with errors, as it was typed.
    sent: super::Sent,
    refusal: Option<String>,
    /// The car's pickup and delivery, and whether the reader plans them here.
    transport: Vec<aftersales_store::logistics::TransportJob>,
    can_transport: bool,
    transport_added: bool,
    /// Each car in and out at the customer's door, and the loaner agreements signed.
    handovers: aftersales_store::logistics::Handovers,
    /// The car's warranty today (when the reader may see the car's record).
    coverage: Option<aftersales_store::warranty::VehicleCoverage>,
    /// The order's warranty claims (those who see claims here).
    claims: Vec<aftersales_store::warranty::ClaimSummary>,
    /// The car's open recalls and service campaigns.
    open_campaigns: Vec<aftersales_store::warranty::OpenCampaign>,
    /// The order's goodwill requests.
    goodwill: Vec<aftersales_store::warranty::GoodwillRequest>,
    /// Goodwill approved on the order's case, not yet applied to one of its jobs.
    case_goodwill: Vec<aftersales_store::warranty::GoodwillRequest>,
    /// The reader makes warranty claims here.
    can_claim: bool,
    zone: aftersales_domain::calendar::Zone,
}

impl RoPage<'_> {
    fn handover_car(&self, h: &aftersales_store::logistics::Handover) -> String {
        let heading = self.t.t(&format!(
            "lg-handover-{}-{}",
            h.car.as_str(),
            h.direction.as_str()
        ));
        match &h.loaner {
            Some(plate) => format!("{heading} · {plate}"),
            None => heading,
        }
    }
    fn claim_of(&self, job: &str) -> Option<&aftersales_store::warranty::ClaimSummary> {
        self.claims.iter().find(|c| c.job_id == job)
    }
    /// A job with warranty or goodwill lines the customer did not decline, not yet claimed.
    fn claimable(&self, j: &aftersales_store::workshop::Job) -> bool {
        self.can_claim
            && j.approval.as_str() != "declined"
            && self.claim_of(&j.id).is_none()
            && j.lines.iter().any(|l| {
                matches!(
                    l.pay_type,
                    aftersales_domain::workshop::PayType::Warranty
                        | aftersales_domain::workshop::PayType::Goodwill
                )
            })
    }
    fn campaigns_line(&self) -> String {
        self.open_campaigns
            .iter()
            .map(|c| {
                let title = c
                    .title
                    .get(self.t.lang.code())
                    .or_else(|| c.title.get("en"))
                    .cloned()
                    .unwrap_or_default();
                match &c.operation {
                    Some(op) => format!("{} · {title} ({op})", c.code),
                    None => format!("{} · {title}", c.code),
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
    fn goodwill_of(&self, job: &str) -> Option<&aftersales_store::warranty::GoodwillRequest> {
        self.goodwill
            .iter()
            .find(|g| g.job_id.as_deref() == Some(job))
    }
    /// A job the customer would pay, the reader may ask goodwill for.
    fn goodwill_possible(&self, j: &aftersales_store::workshop::Job) -> bool {
        self.can_claim
            && j.approval.as_str() != "declined"
            && self.goodwill_of(&j.id).is_none()
            && self.claim_of(&j.id).is_none()
            && j.lines
                .iter()
                .any(|l| l.pay_type == aftersales_domain::workshop::PayType::Customer)
    }
    fn goodwill_status(&self, g: &aftersales_store::warranty::GoodwillRequest) -> String {
        self.t.t(&format!("gw-status-{}", g.status.as_str()))
    }
    fn claim_status(&self, c: &aftersales_store::warranty::ClaimSummary) -> String {
        self.t.t(&format!("wc-status-{}", c.status.as_str()))
    }
    fn coverage_summary(&self) -> Option<String> {
        self.coverage
            .as_ref()
            .map(|c| super::warranty::summary(&self.t, c))
    }
    /// A job the customer is not to pay as warranty while no coverage of the car runs today.
    fn uncovered(&self, pay: &PayType) -> bool {
        *pay == PayType::Warranty
            && self.coverage.as_ref().is_some_and(|c| {
                c.undecided.is_none() && !c.coverages.iter().any(|x| x.standing == "covered")
            })
    }
    fn agreement_line(&self, a: &aftersales_store::logistics::LoanerAgreement) -> String {
        self.t.with(
            "lg-agreement-signed",
            &[("plate", &a.loaner), ("name", &a.signer_name)],
        )
    }
    fn when(&self, t: &time::OffsetDateTime) -> String {
        local(self.zone, *t)
    }
    /// Km the customer drove the loaner, once it is back.
    fn loaner_driven(&self) -> Option<String> {
        use aftersales_domain::logistics::handover::{Car, Direction};
        let of = |d: Direction| {
            self.handovers
                .handovers
                .iter()
                .rev()
                .find(|h| h.car == Car::Loaner && h.direction == d)
        };
        let (out, back) = (of(Direction::Out)?, of(Direction::In)?);
        if out.loaner != back.loaner {
            return None;
        }
        let (out, back) = (out.odometer_km, back.odometer_km);
        Some(
            self.t
                .t1("lg-loaner-driven", "km", &(back - out).to_string()),
        )
    }
    fn transport_line(&self, j: &aftersales_store::logistics::TransportJob) -> String {
        format!(
            "{}: {} {}–{} · {}",
            self.t.t(&format!("lg-kind-{}", j.kind.as_str())),
            super::logistics::day_label(&j.day, self.t.lang),
            hm(self.zone, j.window_from),
            hm(self.zone, j.window_to),
            self.t.t(&format!("lg-status-{}", j.status.as_str()))
        )
    }
    fn status(&self, s: &RoStatus) -> String {
        self.t.t(&format!("ro-status-{}", s.as_str()))
    }
    fn label(&self, prefix: &str, code: &str) -> String {
        self.t.t(&format!("{prefix}-{code}"))
    }
    fn pay_types(&self) -> &'static [PayType] {
        PayType::ALL
    }
    fn line_kinds(&self) -> &'static [LineKind] {
        LineKind::ALL
    }
    /// Whether the add-line form of job `job` came back with errors.
    fn line_sent(&self, job: &str) -> bool {
        self.sent.is(&format!("line:{job}"))
    }
    /// What was typed into the add-line form of job `job`.
    fn line_val(&self, job: &str, name: &str) -> String {
        self.sent.get(&format!("line:{job}"), name).to_string()
    }
    fn job_sent(&self, job: &str) -> bool {
        self.sent.is(&format!("job:{job}"))
    }
    /// The job form's field: what was typed when it came back, else what is saved.
    fn job_val(&self, job: &str, name: &str, saved: &str) -> String {
        self.sent.or(&format!("job:{job}"), name, saved).to_string()
    }
    /// Whether the job is the reader's (a technician at the car): its clocking is at the top.
    fn mine(&self, j: &aftersales_store::workshop::Job) -> bool {
        j.technician.as_ref().is_some_and(|t| t.id == self.me)
    }
    /// Whether work can be clocked now (the car is in, the order not finished).
    fn can_clock(&self) -> bool {
        self.can_write && self.ro.status.allows_clocking()
    }
    fn has_mine(&self) -> bool {
        self.ro.jobs.iter().any(|j| self.mine(j))
    }
    /// Whether the reader is clocked on the job now.
    fn on(&self, j: &aftersales_store::workshop::Job) -> bool {
        j.clocked_on.contains(&self.me_name)
    }
    fn clocked(&self, minutes: &i64) -> String {
        self.t.t1("ws-clocked", "minutes", &minutes.to_string())
    }
}

/// What the repair order page shows besides the order: errors of a form sent, a refused
/// assignment, the day asked for when moving the appointment.
#[derive(Default)]
struct RoExtras {
    /// `(on|off, job position, local time)` of a clocking just made.
    clocked: Option<(String, String, String)>,
    errors: FormErrors,
    sent: super::Sent,
    refusal: Option<String>,
    move_date: Option<Date>,
    move_taken: bool,
    /// A pickup or delivery was just added.
    transport_added: bool,
}

async fn ro_page(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    extras: RoExtras,
    status: StatusCode,
) -> Response {
    let RoExtras {
        clocked,
        errors,
        sent,
        refusal,
        move_date,
        move_taken,
        transport_added,
    } = extras;
    let ro = match state
        .store
        .workshop()
        .repair_order(&s.caller.scope, id)
        .await
    {
        Ok(r) => r,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let zone = super::or_page!(
        state,
        &s.ctx,
        state.store.org().zone_of(&ro.organisation.id).await
    );
    let today = zone.local(state.now()).date();
    let technicians = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .workshop()
            .technicians(&s.caller.scope, &ro.organisation.id, today)
            .await
    );
    let operations = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .workshop()
            .labour_operations(&s.caller.scope, &ro.organisation.id)
            .await
    );
    let parts = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .workshop()
            .parts(&s.caller.scope, &ro.organisation.id)
            .await
    );
    let messages = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .workshop()
            .ro_messages(&s.caller.scope, id)
            .await
    )
    .into_iter()
    .map(|m| {
        let when = local(zone, m.sent_at.unwrap_or(m.not_before));
        (m, when)
    })
    .collect();
    let events = ro
        .events
        .iter()
        .map(|e| EventView {
            at: local(zone, e.at),
            what: t.t(&format!("ws-event-{}", e.kind)),
            detail: match (&e.status, &e.body) {
                (Some(st), _) => t.t(&format!("ro-status-{}", st.as_str())),
                (None, Some(b)) => b.clone(),
                _ if e.kind == "moved" => {
                    let get = |k: &str| e.params.get(k).map(String::as_str).unwrap_or("");
                    let moved = t.with("ws-moved", &[("from", get("from")), ("to", get("to"))]);
                    match e.params.get("technician") {
                        Some(who) => format!(
                            "{moved} · {}",
                            t.with("ws-moved-technician", &[("technician", who)])
                        ),
                        None => moved,
                    }
                }
                _ => String::new(),
            },
            who: match &e.actor {
                Some(a) => a.clone(),
                None => t.t(&format!("ws-via-{}", e.via)),
            },
        })
        .collect();
    let appointment = ro.appointment.as_ref().map(|a| {
        (
            format!("{}–{}", local(zone, a.starts_at), hm(zone, a.ends_at)),
            format!(
                "{} · {} · {}",
                t.t(if a.kind == AppointmentKind::Mobile {
                    "ws-kind-mobile"
                } else {
                    "ws-kind-workshop"
                }),
                a.bay.clone().or(a.address.clone()).unwrap_or_default(),
                a.technician.label
            ),
        )
    });
    let documents = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .billing()
            .documents(
                &s.caller.scope,
                &aftersales_store::billing::DocFilter {
                    repair_order_id: Some(id),
                    ..Default::default()
                },
                None,
                200,
                state.now()
            )
            .await
    )
    .items;
    let movable = ro.status == RoStatus::Booked
        && s.caller
            .scope
            .permits(&ro.organisation.id, Permission::WorkshopWrite);
    let moving = match (&ro.appointment, movable) {
        (Some(a), true) => {
            let day = move_date.unwrap_or_else(|| zone.local(a.starts_at).date());
            let (slots, no_slot) = if move_date.is_some() {
                let free = super::or_page!(
                    state,
                    &s.ctx,
                    state
                        .store
                        .workshop()
                        .move_availability(&s.caller.scope, id, Some(day), state.now())
                        .await
                );
                (
                    slot_choices(zone, &free),
                    free.reason.map(|r| no_slot_text(&t, r)),
                )
            } else {
                (Vec::new(), None)
            };
            Some(MoveView {
                date: day.to_string(),
                open: move_date.is_some() || move_taken,
                slots,
                no_slot,
                taken: move_taken,
            })
        }
        _ => None,
    };
    let can_invoice = s
        .caller
        .scope
        .permits(&ro.organisation.id, Permission::BillingWrite);
    let transport = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .logistics()
            .jobs_of_repair_order(&s.caller.scope, id)
            .await
    );
    let handovers = if transport.is_empty() {
        aftersales_store::logistics::Handovers {
            handovers: Vec::new(),
            agreements: Vec::new(),
        }
    } else {
        super::or_page!(
            state,
            &s.ctx,
            state
                .store
                .logistics()
                .handovers_of_repair_order(&s.caller.scope, id)
                .await
        )
    };
    // The car's warranty today, at its latest reading; a reader without the car's record sees none.
    let coverage = match &ro.vehicle {
        Some(v) => match state
            .store
            .warranty()
            .coverage(&s.caller.scope, &v.id, zone.local(state.now()).date(), None)
            .await
        {
            Ok(c) => Some(c),
            Err(StoreError::NotFound) => None,
            Err(e) => return super::store_error(state, &s.ctx, e),
        },
        None => None,
    };
    // The car's open recalls and campaigns: "also do campaign X".
    let open_campaigns = match &ro.vehicle {
        Some(v) => match state
            .store
            .warranty()
            .open_campaigns(&s.caller.scope, &v.id)
            .await
        {
            Ok(c) => c,
            Err(StoreError::NotFound) => Vec::new(),
            Err(e) => return super::store_error(state, &s.ctx, e),
        },
        None => Vec::new(),
    };
    // The order's warranty claims, for those who see claims here.
    let claims = if s
        .caller
        .scope
        .permits(&ro.organisation.id, Permission::WarrantyRead)
    {
        let filter = aftersales_store::warranty::ClaimFilter {
            repair_order_id: Some(ro.id.clone()),
            ..Default::default()
        };
        match state
            .store
            .warranty()
            .claims(&s.caller.scope, &filter, state.now())
            .await
        {
            Ok(c) => c,
            Err(e) => return super::store_error(state, &s.ctx, e),
        }
    } else {
        Vec::new()
    };
    let goodwill = if s
        .caller
        .scope
        .permits(&ro.organisation.id, Permission::WarrantyRead)
    {
        match state
            .store
            .warranty()
            .goodwill_requests(&s.caller.scope, false, Some(&ro.id), None)
            .await
        {
            Ok(g) => g,
            Err(e) => return super::store_error(state, &s.ctx, e),
        }
    } else {
        Vec::new()
    };
    // Goodwill approved on the order's case before the order existed, waiting to be applied.
    let case_goodwill = match &ro.case {
        Some(c)
            if s.caller
                .scope
                .permits(&ro.organisation.id, Permission::WarrantyRead) =>
        {
            match state
                .store
                .warranty()
                .goodwill_requests(&s.caller.scope, false, None, Some(&c.id))
                .await
            {
                Ok(g) => g.into_iter().filter(|g| !g.apply_to.is_empty()).collect(),
                Err(e) => return super::store_error(state, &s.ctx, e),
            }
        }
        _ => Vec::new(),
    };
    let can_claim = s
        .caller
        .scope
        .permits(&ro.organisation.id, Permission::WarrantyClaim);
    let can_transport = s
        .caller
        .scope
        .permits(&ro.organisation.id, Permission::LogisticsPlan)
        && ro.status.is_active();
    let eta = ro.eta.map(|e| {
        let l = zone.local(e);
        format!("{}T{:02}:{:02}", l.date(), l.hour(), l.minute())
    });
    (
        status,
        render(&RoPage {
            chrome: Chrome::new(&t, &s.ctx),
            can_write: s
                .caller
                .scope
                .permits(&ro.organisation.id, Permission::WorkshopWrite)
                && ro.status.is_active(),
            can_plan: s
                .caller
                .scope
                .permits(&ro.organisation.id, Permission::WorkshopPlan),
            me: s.caller.scope.user_id().to_string(),
            me_name: s.caller.display_name.clone(),
            clocked: clocked.map(|(action, job, at)| {
                let title = ro
                    .jobs
                    .iter()
                    .find(|j| j.position.to_string() == job)
                    .map(|j| format!("{job}. {}", j.title))
                    .unwrap_or(job);
                t.with(
                    if action == "off" {
                        "ws-clock-off-done"
                    } else {
                        "ws-clock-on-done"
                    },
                    &[("job", &title), ("time", &at)],
                )
            }),
            documents,
            can_invoice,
            transport,
            can_transport,
            transport_added,
            handovers,
            coverage,
            claims,
            goodwill,
            case_goodwill,
            open_campaigns,
            can_claim,
            zone,
            eta: eta.unwrap_or_default(),
            appointment,
            moving,
            ro,
            technicians,
            operations,
            parts,
            messages,
            events,
            errors,
            sent,
            refusal,
            t,
        }),
    )
        .into_response()
}

/// The repair order page with errors of an action started elsewhere (invoicing it).
pub(crate) async fn order_with_errors(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    errors: FormErrors,
) -> Response {
    ro_page(
        state,
        s,
        id,
        RoExtras {
            errors,
            ..Default::default()
        },
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

pub async fn order(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = query(&q);
    let move_date = parse_day(field(&q, "move_date"));
    let clocked = match (field(&q, "clocked"), field(&q, "job"), field(&q, "at")) {
        (a @ ("on" | "off"), job, at) if !job.is_empty() && at.len() == 5 => {
            Some((a.to_string(), job.to_string(), at.to_string()))
        }
        _ => None,
    };
    let extras = RoExtras {
        move_date,
        clocked,
        transport_added: field(&q, "done") == "transport",
        ..Default::default()
    };
    ro_page(&state, &s, &id, extras, StatusCode::OK).await
}

/// Moves the booked appointment to the start chosen among the day's free times.
pub async fn order_move(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = aftersales_store::workshop::MoveInput {
        starts_at: field(&p, "starts_at").into(),
        technician_id: None,
    };
    let move_date = parse_day(field(&p, "date"));
    match state
        .store
        .workshop()
        .move_appointment(&s.caller.scope, &id, &input, state.now())
        .await
    {
        Ok(_) => see_other(&format!("/workshop/repair-orders/{id}")),
        Err(StoreError::Invalid(e)) => {
            let extras = RoExtras {
                errors: FormErrors(e.0),
                move_date,
                ..Default::default()
            };
            ro_page(&state, &s, &id, extras, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(StoreError::Taken(_)) => {
            let extras = RoExtras {
                move_date,
                move_taken: true,
                ..Default::default()
            };
            ro_page(&state, &s, &id, extras, StatusCode::CONFLICT).await
        }
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

async fn after(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    r: Result<RepairOrder, StoreError>,
) -> Response {
    after_form(state, s, id, r, super::Sent::default()).await
}

/// After a form on the repair order's page: back to it, or with the errors and `sent` as typed.
async fn after_form(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    r: Result<RepairOrder, StoreError>,
    sent: super::Sent,
) -> Response {
    match r {
        Ok(_) => see_other(&format!("/workshop/repair-orders/{id}")),
        Err(StoreError::Invalid(e)) => {
            let extras = RoExtras {
                errors: FormErrors(e.0),
                sent,
                ..Default::default()
            };
            ro_page(state, s, id, extras, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(StoreError::Refused(r)) => {
            let t = Tr {
                i18n: &state.i18n,
                lang: s.ctx.lang,
            };
            let msg = refusal_text(&t, &r);
            let extras = RoExtras {
                refusal: Some(msg),
                ..Default::default()
            };
            ro_page(state, s, id, extras, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => store_error(state, &s.ctx, e),
    }
}

pub async fn order_status(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let r = match (
        RoStatus::parse("status", field(&p, "status")),
        field(&p, "version").parse::<i64>(),
    ) {
        (Ok(st), Ok(v)) => {
            state
                .store
                .workshop()
                .set_ro_status(&s.caller.scope, &id, st, v, state.now())
                .await
        }
        (Err(e), _) => Err(StoreError::Invalid(e.into())),
        (_, Err(_)) => Err(StoreError::Invalid(
            aftersales_domain::ValidationErrors::single(
                "version",
                aftersales_domain::Rule::Format,
                "the form lost its version; reload the page",
            ),
        )),
    };
    after(&state, &s, &id, r).await
}

pub async fn order_eta(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let raw = field(&p, "eta").trim();
    let r = if raw.is_empty() {
        state
            .store
            .workshop()
            .set_eta(&s.caller.scope, &id, None, state.now())
            .await
    } else {
        let parsed = time::PrimitiveDateTime::parse(
            raw,
            &time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]"),
        );
        match (
            parsed,
            state
                .store
                .workshop()
                .repair_order(&s.caller.scope, &id)
                .await,
        ) {
            (Ok(l), Ok(ro)) => {
                let zone = super::or_page!(
                    state,
                    &s.ctx,
                    state.store.org().zone_of(&ro.organisation.id).await
                );
                state
                    .store
                    .workshop()
                    .set_eta(&s.caller.scope, &id, Some(zone.instant(l)), state.now())
                    .await
            }
            (_, Err(e)) => Err(e),
            (Err(_), _) => Err(StoreError::Invalid(
                aftersales_domain::ValidationErrors::single(
                    "eta",
                    aftersales_domain::Rule::Format,
                    "eta must be a date and time",
                ),
            )),
        }
    };
    after_form(&state, &s, &id, r, super::Sent::new("eta", p)).await
}

pub async fn order_add_job(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = JobInput {
        title: field(&p, "title").into(),
        complaint: field(&p, "complaint").into(),
        pay_type: Some(field(&p, "pay_type").into()),
    };
    let r = state
        .store
        .workshop()
        .add_job(&s.caller.scope, &id, &input, state.now())
        .await;
    after_form(&state, &s, &id, r, super::Sent::new("job", p)).await
}

pub async fn order_update_job(
    State(state): State<AppState>,
    s: SignedIn,
    Path((id, job)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = JobUpdate {
        complaint: Some(field(&p, "complaint").into()),
        cause: Some(field(&p, "cause").into()),
        correction: Some(field(&p, "correction").into()),
        pay_type: Some(field(&p, "pay_type").into()),
    };
    let r = state
        .store
        .workshop()
        .update_job(&s.caller.scope, &id, &job, &input, state.now())
        .await;
    after_form(
        &state,
        &s,
        &id,
        r,
        super::Sent::new(format!("job:{job}"), p),
    )
    .await
}

pub async fn order_add_line(
    State(state): State<AppState>,
    s: SignedIn,
    Path((id, job)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = LineInput {
        kind: field(&p, "kind").into(),
        code: Some(field(&p, "code").into()),
        description: Some(field(&p, "description").into()),
        quantity: Some(field(&p, "quantity").into()),
        unit_price: Some(field(&p, "unit_price").into()),
        pay_type: None,
    };
    let r = state
        .store
        .workshop()
        .add_line(&s.caller.scope, &id, &job, &input, state.now())
        .await;
    after_form(
        &state,
        &s,
        &id,
        r,
        super::Sent::new(format!("line:{job}"), p),
    )
    .await
}

pub async fn order_remove_line(
    State(state): State<AppState>,
    s: SignedIn,
    Path((id, line)): Path<(String, String)>,
) -> Response {
    let r = state
        .store
        .workshop()
        .remove_line(&s.caller.scope, &id, &line, state.now())
        .await;
    after(&state, &s, &id, r).await
}

pub async fn order_assign(
    State(state): State<AppState>,
    s: SignedIn,
    Path((id, job)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let r = state
        .store
        .workshop()
        .assign_technician(
            &s.caller.scope,
            &id,
            &job,
            field(&p, "technician_id"),
            state.now(),
        )
        .await;
    after(&state, &s, &id, r).await
}

pub async fn order_clock(
    State(state): State<AppState>,
    s: SignedIn,
    Path((id, job)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let off = field(&p, "action") == "off";
    let r = if off {
        state
            .store
            .workshop()
            .clock_off(&s.caller.scope, &id, &job, state.now())
            .await
    } else {
        state
            .store
            .workshop()
            .clock_on(&s.caller.scope, &id, &job, state.now())
            .await
    };
    // Back at the top of the order with what was done and when, on the service point's clock.
    match r {
        Ok(ro) => {
            let zone = super::or_page!(
                state,
                &s.ctx,
                state.store.org().zone_of(&ro.organisation.id).await
            );
            let position = ro
                .jobs
                .iter()
                .find(|j| j.id == job)
                .map(|j| j.position)
                .unwrap_or_default();
            see_other(&format!(
                "/workshop/repair-orders/{id}?clocked={}&job={position}&at={}#my-work",
                if off { "off" } else { "on" },
                hm(zone, state.now())
            ))
        }
        r => after(&state, &s, &id, r).await,
    }
}

pub async fn order_decide(
    State(state): State<AppState>,
    s: SignedIn,
    Path((id, job)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let r = state
        .store
        .workshop()
        .decide_job(
            &s.caller.scope,
            &id,
            &job,
            field(&p, "approve") == "true",
            state.now(),
        )
        .await;
    after(&state, &s, &id, r).await
}

// ---- Setup ---------------------------------------------------------------------------------------

pub struct TechView {
    pub tech: Technician,
    pub hours: String,
}

#[derive(Template)]
#[template(path = "workshop_setup.html")]
struct SetupPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    points: Vec<(String, String)>,
    org: String,
    settings: WorkshopSettings,
    bays: Vec<Bay>,
    technicians: Vec<TechView>,
    operations: Vec<LabourOperation>,
    parts: Vec<Part>,
    can_manage: bool,
    errors: FormErrors,
    saved: bool,
}

async fn setup_page(
    state: &AppState,
    s: &SignedIn,
    org: &str,
    errors: FormErrors,
    saved: bool,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let points = super::or_page!(state, &s.ctx, service_points(state, s).await);
    let org = Some(org.to_string())
        .filter(|o| points.iter().any(|(id, _)| id == o))
        .or_else(|| points.first().map(|p| p.0.clone()))
        .unwrap_or_default();
    let settings = match state
        .store
        .workshop()
        .workshop_settings(&s.caller.scope, &org)
        .await
    {
        Ok(x) => x,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let zone = super::or_page!(state, &s.ctx, state.store.org().zone_of(&org).await);
    let today = zone.local(state.now()).date();
    let technicians = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .workshop()
            .technicians(&s.caller.scope, &org, today)
            .await
    )
    .into_iter()
    .map(|tech| {
        let hours = tech
            .shifts
            .iter()
            .map(|sh: &Shift| {
                format!(
                    "{} {}–{}",
                    t.t(&format!("weekday-short-{}", sh.weekday)),
                    sh.starts,
                    sh.ends
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        TechView { tech, hours }
    })
    .collect();
    (
        status,
        render(&SetupPage {
            chrome: Chrome::new(&t, &s.ctx),
            can_manage: s.caller.scope.permits(&org, Permission::WorkshopManage),
            bays: super::or_page!(
                state,
                &s.ctx,
                state.store.workshop().bays(&s.caller.scope, &org).await
            ),
            operations: super::or_page!(
                state,
                &s.ctx,
                state
                    .store
                    .workshop()
                    .labour_operations(&s.caller.scope, &org)
                    .await
            ),
            parts: super::or_page!(
                state,
                &s.ctx,
                state.store.workshop().parts(&s.caller.scope, &org).await
            ),
            points,
            org,
            settings,
            technicians,
            errors,
            saved,
            t,
        }),
    )
        .into_response()
}

pub async fn setup(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = query(&q);
    setup_page(
        &state,
        &s,
        field(&q, "org"),
        FormErrors::default(),
        field(&q, "saved") == "1",
        StatusCode::OK,
    )
    .await
}

async fn after_setup(
    state: &AppState,
    s: &SignedIn,
    org: &str,
    r: Result<(), StoreError>,
) -> Response {
    match r {
        Ok(()) => see_other(&format!("/workshop/setup?org={org}&saved=1")),
        Err(StoreError::Invalid(e)) => {
            setup_page(
                state,
                s,
                org,
                FormErrors(e.0),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => store_error(state, &s.ctx, e),
    }
}

pub async fn setup_settings(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let org = field(&p, "org").to_string();
    let input = SettingsInput {
        labour_rate: field(&p, "labour_rate").into(),
        self_booking: field(&p, "self_booking") == "on",
        mobile_travel_minutes: field(&p, "travel").trim().parse().ok(),
        address: Some(field(&p, "address").into()),
    };
    let r = state
        .store
        .workshop()
        .set_workshop_settings(&s.caller.scope, &org, &input)
        .await
        .map(|_| ());
    after_setup(&state, &s, &org, r).await
}

pub async fn setup_bay(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let org = field(&p, "org").to_string();
    let input = BayInput {
        organisation_id: org.clone(),
        name: field(&p, "name").into(),
        lift: field(&p, "lift") == "on",
        hv_area: field(&p, "hv_area") == "on",
    };
    let r = state
        .store
        .workshop()
        .add_bay(&s.caller.scope, &input, state.now())
        .await
        .map(|_| ());
    after_setup(&state, &s, &org, r).await
}

pub async fn setup_technician(
    State(state): State<AppState>,
    s: SignedIn,
    Path(user): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let org = field(&p, "org").to_string();
    let (a, b) = (field(&p, "starts"), field(&p, "ends"));
    let shifts = if a.is_empty() && b.is_empty() {
        Vec::new()
    } else {
        (0..5)
            .map(|d| Shift {
                weekday: d,
                starts: a.into(),
                ends: b.into(),
            })
            .collect()
    };
    let input = TechnicianInput {
        mobile: field(&p, "mobile") == "on",
        shifts,
    };
    let r = state
        .store
        .workshop()
        .set_technician(&s.caller.scope, &org, &user, &input)
        .await;
    after_setup(&state, &s, &org, r).await
}

pub async fn setup_certification(
    State(state): State<AppState>,
    s: SignedIn,
    Path(user): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let org = field(&p, "org").to_string();
    let input = CertificationInput {
        code: field(&p, "code").into(),
        issued_on: field(&p, "issued_on").into(),
        expires_on: Some(field(&p, "expires_on").into()),
    };
    let r = state
        .store
        .workshop()
        .add_certification(&s.caller.scope, &org, &user, &input, state.now())
        .await;
    after_setup(&state, &s, &org, r).await
}

pub async fn setup_absence(
    State(state): State<AppState>,
    s: SignedIn,
    Path(user): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let org = field(&p, "org").to_string();
    let zone = super::or_page!(state, &s.ctx, state.store.org().zone_of(&org).await);
    let to_rfc = |v: &str| {
        time::PrimitiveDateTime::parse(
            v.trim(),
            &time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]"),
        )
        .ok()
        .and_then(|l| {
            zone.instant(l)
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| v.to_string())
    };
    let input = AbsenceInput {
        starts_at: to_rfc(field(&p, "starts_at")),
        ends_at: to_rfc(field(&p, "ends_at")),
        reason: field(&p, "reason").into(),
    };
    let r = state
        .store
        .workshop()
        .add_absence(&s.caller.scope, &org, &user, &input, state.now())
        .await;
    after_setup(&state, &s, &org, r).await
}

pub async fn setup_operation(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let org = field(&p, "org").to_string();
    let input = LabourOperationInput {
        organisation_id: org.clone(),
        code: field(&p, "code").into(),
        description: field(&p, "description").into(),
        names: names_from(&p),
        hours: field(&p, "hours").into(),
        certification: Some(field(&p, "certification").into()),
        needs_lift: field(&p, "needs_lift") == "on",
        needs_hv_area: field(&p, "needs_hv_area") == "on",
        bookable: field(&p, "bookable") == "on",
    };
    let r = state
        .store
        .workshop()
        .add_labour_operation(&s.caller.scope, &input, state.now())
        .await
        .map(|_| ());
    after_setup(&state, &s, &org, r).await
}

pub async fn setup_part(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let org = field(&p, "org").to_string();
    let input = PartInput {
        organisation_id: org.clone(),
        part_number: field(&p, "part_number").into(),
        description: field(&p, "description").into(),
        names: names_from(&p),
        price: field(&p, "price").into(),
        cost: field(&p, "cost").into(),
    };
    let r = state
        .store
        .workshop()
        .add_part(&s.caller.scope, &input, state.now())
        .await
        .map(|_| ());
    after_setup(&state, &s, &org, r).await
}

pub async fn setup_stock(
    State(state): State<AppState>,
    s: SignedIn,
    Path(part): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let org = field(&p, "org").to_string();
    let input = StockInput {
        organisation_id: org.clone(),
        quantity: field(&p, "quantity").into(),
    };
    let r = state
        .store
        .workshop()
        .set_stock(&s.caller.scope, &part, &input)
        .await;
    after_setup(&state, &s, &org, r).await
}

/// The catalogue names per language typed in the setup form (`name_nb`, `name_en`, `name_pt`).
fn names_from(p: &[(String, String)]) -> aftersales_domain::i18n::LocalNames {
    aftersales_domain::i18n::Language::ALL
        .iter()
        .filter_map(|l| {
            let v = field(p, &format!("name_{}", l.code())).trim().to_string();
            (!v.is_empty()).then(|| (l.code().to_string(), v))
        })
        .collect()
}

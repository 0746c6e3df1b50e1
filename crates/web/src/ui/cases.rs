//! Case pages (capability cases): the advisor's inbox with SLA timers, logging a call in a few
//! keystrokes, a case with its messages and notes, escalation, follow-up tasks.

use std::collections::HashMap;

use aftersales_domain::calendar::Zone;
use aftersales_domain::cases::{Category, Priority, Status, Timer};
use aftersales_domain::org::Permission;
use aftersales_store::cases::{Case, CaseEvent, CaseInput, InboxFilter, SlaTimer, Task};
use aftersales_store::crm::Customer;
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use super::{field, form_pairs, render, see_other, store_error, Chrome, FormErrors, SignedIn};
use crate::i18n::Tr;
use crate::AppState;

fn query_param(q: &Option<String>, name: &str) -> Option<String> {
    q.as_deref().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

/// A timer as shown: its state (in words, not colour only) and its deadline in local time.
pub struct TimerView {
    pub state: &'static str,
    pub label: String,
    pub due: String,
}

/// A case as a row of the inbox.
pub struct Row {
    pub case: Case,
    pub first: TimerView,
    pub resolution: TimerView,
    pub urgent: bool,
}

fn state_code(t: Timer) -> &'static str {
    match t {
        Timer::Met => "met",
        Timer::Running => "running",
        Timer::AtRisk => "at-risk",
        Timer::Breached => "breached",
        Timer::Paused => "paused",
    }
}

use super::local_time as local;

fn timer_view(t: &Tr<'_>, zone: Zone, timer: &SlaTimer) -> TimerView {
    let state = state_code(timer.state);
    TimerView {
        state,
        label: t.t(&format!("timer-{state}")),
        due: timer.due_at.map(|d| local(zone, d)).unwrap_or_default(),
    }
}

async fn zones(state: &AppState, cases: &[Case]) -> Result<HashMap<String, Zone>, StoreError> {
    let mut out = HashMap::new();
    for c in cases {
        if !out.contains_key(&c.organisation.id) {
            let zone = state.store.org().zone_of(&c.organisation.id).await?;
            out.insert(c.organisation.id.clone(), zone);
        }
    }
    Ok(out)
}

fn row(t: &Tr<'_>, zones: &HashMap<String, Zone>, case: Case) -> Row {
    let zone = zones
        .get(&case.organisation.id)
        .copied()
        .unwrap_or(Zone::OSLO);
    let first = timer_view(t, zone, &case.first_response);
    let resolution = timer_view(t, zone, &case.resolution);
    let urgent = [&case.first_response, &case.resolution]
        .iter()
        .any(|x| matches!(x.state, Timer::AtRisk | Timer::Breached));
    Row {
        case,
        first,
        resolution,
        urgent,
    }
}

// ------------------------------------------------------------ inbox

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    view: &'static str,
    rows: Vec<Row>,
    tasks: Vec<Task>,
    /// A case number searched for that is not (or not for this caller) a case.
    not_found: Option<String>,
    /// The next page of the inbox.
    next: Option<String>,
}

impl InboxPage<'_> {
    fn label(&self, kind: &str, code: &str) -> String {
        self.t.t(&format!("{kind}-{code}"))
    }
}

pub async fn inbox(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let mut not_found = None;
    if let Some(number) = query_param(&q, "number").filter(|n| !n.trim().is_empty()) {
        match state
            .store
            .cases()
            .case_id_by_number(&s.caller.scope, &number)
            .await
        {
            Ok(id) => return see_other(&format!("/cases/{id}")),
            Err(StoreError::NotFound) => not_found = Some(number),
            Err(e) => return store_error(&state, &s.ctx, e),
        }
    }
    let (view, filter) = match query_param(&q, "view").as_deref() {
        Some("mine") => ("mine", InboxFilter::Mine),
        Some("escalated") => ("escalated", InboxFilter::Escalated),
        _ => ("all", InboxFilter::All),
    };
    let now = state.now();
    let cursor = query_param(&q, "cursor").filter(|c| !c.is_empty());
    let page = match state
        .store
        .cases()
        .inbox_page(
            &s.caller.scope,
            filter,
            (cursor.as_deref(), super::PAGE_ROWS),
            now,
        )
        .await
    {
        Ok(c) => c,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let next = page.next_cursor.map(|c| {
        super::next_page(
            "/inbox",
            &[("view".to_string(), view.to_string())],
            "cursor",
            &c,
        )
    });
    let cases = page.items;
    let zones = super::or_page!(state, &s.ctx, zones(&state, &cases).await);
    let rows = cases.into_iter().map(|c| row(&t, &zones, c)).collect();
    let tasks = super::or_page!(
        state,
        &s.ctx,
        state.store.cases().my_tasks(&s.caller.scope).await
    );
    render(&InboxPage {
        chrome: Chrome::new(&t, &s.ctx),
        view,
        rows,
        tasks,
        not_found,
        next,
        t,
    })
}

// ------------------------------------------------------------ logging a call

#[derive(Template)]
#[template(path = "case_new.html")]
struct NewPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    customer: Option<Customer>,
    vehicles: Vec<(String, String)>,
    form: CaseInput,
    errors: FormErrors,
}

impl NewPage<'_> {
    fn label(&self, kind: &str, code: &str) -> String {
        self.t.t(&format!("{kind}-{code}"))
    }
    fn categories(&self) -> Vec<&'static str> {
        Category::ALL.iter().map(|c| c.as_str()).collect()
    }
    fn priorities(&self) -> Vec<&'static str> {
        Priority::ALL.iter().map(|c| c.as_str()).collect()
    }
    fn val<'b>(&self, v: &'b Option<String>) -> &'b str {
        v.as_deref().unwrap_or("")
    }
    fn selected(&self, value: &str, option: &str) -> bool {
        value == option
    }
    fn is_vehicle(&self, id: &str) -> bool {
        self.form.vehicle_id.as_deref() == Some(id)
    }
}

async fn new_page(
    state: &AppState,
    s: &SignedIn,
    form: CaseInput,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let customer = match form.customer_id.as_deref().filter(|c| !c.is_empty()) {
        Some(id) => match state.store.crm().get_customer(&s.caller.scope, id).await {
            Ok(c) => Some(c),
            Err(e) => return store_error(state, &s.ctx, e),
        },
        None => None,
    };
    let vehicles = match &customer {
        Some(c) => super::or_page!(
            state,
            &s.ctx,
            state.store.crm().vehicles_of(&s.caller.scope, &c.id).await
        )
        .into_iter()
        .map(|v| {
            (
                v.id,
                [v.registration, v.model, Some(v.vin)]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · "),
            )
        })
        .collect(),
        None => Vec::new(),
    };
    (
        status,
        render(&NewPage {
            chrome: Chrome::new(&t, &s.ctx),
            customer,
            vehicles,
            form,
            errors,
            t,
        }),
    )
        .into_response()
}

pub async fn new_form(
    State(state): State<AppState>,
    s: SignedIn,
    RawQuery(q): RawQuery,
) -> Response {
    let form = CaseInput {
        customer_id: query_param(&q, "customer"),
        channel: "phone".into(),
        category: "technical".into(),
        priority: "normal".into(),
        ..Default::default()
    };
    new_page(&state, &s, form, FormErrors::default(), StatusCode::OK).await
}

pub async fn create(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let o = |name: &str| Some(field(&p, name).to_string()).filter(|v| !v.trim().is_empty());
    let form = CaseInput {
        customer_id: o("customer_id"),
        vehicle_id: o("vehicle_id"),
        contact: o("contact"),
        channel: field(&p, "channel").into(),
        category: field(&p, "category").into(),
        priority: field(&p, "priority").into(),
        subject: field(&p, "subject").into(),
        symptoms: o("symptoms"),
    };
    let r = state
        .store
        .cases()
        .create_case(&s.caller.scope, &form, state.now())
        .await;
    super::answer(
        &state,
        &s,
        r,
        |c| see_other(&format!("/cases/{}", c.id)),
        |errors| new_page(&state, &s, form, errors, StatusCode::UNPROCESSABLE_ENTITY),
    )
    .await
}

// ------------------------------------------------------------ a case

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    row: Row,
    events: Vec<(String, CaseEvent)>,
    tasks: Vec<(String, Task)>,
    next_statuses: Vec<&'static str>,
    errors: FormErrors,
    today: String,
    suggestions: Vec<aftersales_store::cases::triage::Suggestion>,
    handoffs: Vec<(String, aftersales_store::cases::Handoff)>,
    hand_to: Vec<aftersales_store::cases::Ref>,
    /// The caller may change this case (the read-only intake party of a handed-on case may not).
    can_act: bool,
    /// The caller already owns this case.
    is_owner: bool,
    /// Repair orders opened from this case.
    orders: Vec<aftersales_store::workshop::RoSummary>,
    /// The caller may book workshop time for it.
    can_book: bool,
    /// Remote fixes are withheld: the case was escalated as a safety risk.
    no_remote_fix: bool,
    /// A repair order for the case is open (not cancelled): triage has done its work.
    booked: bool,
    /// The case's car's open recalls and campaigns.
    campaigns: Vec<aftersales_store::warranty::OpenCampaign>,
    /// Goodwill asked for on this case.
    goodwill: Vec<aftersales_store::warranty::GoodwillRequest>,
    /// The caller may ask for goodwill on it (a car, warranty rights at the case's service point).
    can_ask_goodwill: bool,
}

impl CasePage<'_> {
    fn label(&self, kind: &str, code: &str) -> String {
        self.t.t(&format!("{kind}-{code}"))
    }
    /// A system event's facts in the reader's language.
    fn fact(&self, e: &CaseEvent) -> Option<String> {
        super::events::case_event(&self.t, &e.kind, &e.params)
    }
    fn campaign_line(&self, c: &aftersales_store::warranty::OpenCampaign) -> String {
        let title = c
            .title
            .get(self.t.lang.code())
            .or_else(|| c.title.get("en"))
            .cloned()
            .unwrap_or_default();
        format!("{} · {title}", c.code)
    }
    fn goodwill_status(&self, g: &aftersales_store::warranty::GoodwillRequest) -> String {
        self.t.t(&format!("gw-status-{}", g.status.as_str()))
    }
}

async fn case_page(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let now = state.now();
    let case = match state.store.cases().get_case(&s.caller.scope, id, now).await {
        Ok(c) => c,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let zones = super::or_page!(
        state,
        &s.ctx,
        zones(state, std::slice::from_ref(&case)).await
    );
    let zone = zones
        .get(&case.organisation.id)
        .copied()
        .unwrap_or(Zone::OSLO);
    let events = super::or_page!(
        state,
        &s.ctx,
        state.store.cases().case_events(&s.caller.scope, id).await
    )
    .into_iter()
    .map(|e| (local(zone, e.at), e))
    .collect();
    let tasks = super::or_page!(
        state,
        &s.ctx,
        state.store.cases().case_tasks(&s.caller.scope, id).await
    )
    .into_iter()
    .map(|x| (local(zone, x.due_at), x))
    .collect();
    let next_statuses = Status::ALL
        .iter()
        .copied()
        .filter(|n| case.status.may_become(*n))
        .map(|n| n.as_str())
        .collect();
    let today = zone.local(now).date().to_string();
    let suggestions = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .cases()
            .triage_suggestions(&s.caller.scope, id, s.ctx.lang, now)
            .await
    );
    let handoffs = super::or_page!(
        state,
        &s.ctx,
        state.store.cases().case_handoffs(&s.caller.scope, id).await
    )
    .into_iter()
    .map(|h| (local(zone, h.at), h))
    .collect();
    let mut hand_to: Vec<aftersales_store::cases::Ref> = Vec::new();
    for r in super::or_page!(
        state,
        &s.ctx,
        state.store.cases().routing_rules(&s.caller.scope).await
    ) {
        if r.target.id != case.organisation.id && !hand_to.iter().any(|x| x.id == r.target.id) {
            hand_to.push(r.target);
        }
    }
    let can_act = s
        .caller
        .scope
        .permits(&case.organisation.id, Permission::CrmWrite);
    let is_owner = case
        .owner
        .as_ref()
        .is_some_and(|o| o.id == s.caller.user_id);
    let orders = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .workshop()
            .repair_orders_of_case(&s.caller.scope, &case.id)
            .await
    );
    // Once the car is booked, triage has done its work: the case says what happened instead
    // (a cancelled booking opens triage again).
    let booked = orders
        .iter()
        .any(|o| o.status != aftersales_domain::workshop::RoStatus::Cancelled);
    let suggestions = if booked { Vec::new() } else { suggestions };
    let can_book = can_act
        && case.customer.is_some()
        && !s
            .caller
            .scope
            .orgs_with(aftersales_domain::org::Permission::WorkshopWrite)
            .is_empty();
    // The car's open recalls: the advisor offers to do them with the visit.
    let campaigns = match &case.vehicle {
        Some(v) => match state
            .store
            .warranty()
            .open_campaigns(&s.caller.scope, &v.id)
            .await
        {
            Ok(c) => c,
            Err(aftersales_store::StoreError::NotFound) => Vec::new(),
            Err(e) => return super::store_error(state, &s.ctx, e),
        },
        None => Vec::new(),
    };
    let sees_warranty = s
        .caller
        .scope
        .permits(&case.organisation.id, Permission::WarrantyRead);
    let goodwill = if sees_warranty {
        super::or_page!(
            state,
            &s.ctx,
            state
                .store
                .warranty()
                .goodwill_requests(&s.caller.scope, false, None, Some(&case.id))
                .await
        )
    } else {
        Vec::new()
    };
    // One open request per case: another may be asked once it is applied or refused.
    let open_request = goodwill.iter().any(|g| {
        g.job_id.is_none()
            && g.status != aftersales_domain::warranty::goodwill::GoodwillStatus::Rejected
    });
    let can_ask_goodwill = case.vehicle.is_some()
        && !open_request
        && s.caller
            .scope
            .permits(&case.organisation.id, Permission::WarrantyClaim);
    let row = row(&t, &zones, case);
    (
        status,
        render(&CasePage {
            campaigns,
            goodwill,
            can_ask_goodwill,
            orders,
            can_book,
            booked,
            no_remote_fix: aftersales_domain::cases::remote_fix_withheld(
                row.case.escalation_reason,
            )
            .is_some(),
            chrome: Chrome::new(&t, &s.ctx),
            row,
            events,
            tasks,
            next_statuses,
            errors,
            today,
            suggestions,
            handoffs,
            hand_to,
            can_act,
            is_owner,
            t,
        }),
    )
        .into_response()
}

pub async fn detail(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    case_page(&state, &s, &id, FormErrors::default(), StatusCode::OK).await
}

async fn after(state: &AppState, s: &SignedIn, id: &str, r: Result<(), StoreError>) -> Response {
    match r {
        Ok(()) => see_other(&format!("/cases/{id}")),
        Err(StoreError::Invalid(e)) => {
            case_page(
                state,
                s,
                id,
                FormErrors(e.0),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => store_error(state, &s.ctx, e),
    }
}

pub async fn message(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let r = state
        .store
        .cases()
        .add_case_message(
            &s.caller.scope,
            &id,
            field(&p, "body"),
            field(&p, "to_customer") == "true",
            state.now(),
        )
        .await
        .map(|_| ());
    after(&state, &s, &id, r).await
}

pub async fn set_status(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let r = match (
        Status::parse("status", field(&p, "status")),
        field(&p, "version").parse::<i64>(),
    ) {
        (Ok(st), Ok(v)) => state
            .store
            .cases()
            .set_case_status(&s.caller.scope, &id, st, v, state.now())
            .await
            .map(|_| ()),
        (Err(e), _) => {
            if let Err(e) = state
                .store
                .cases()
                .get_case(&s.caller.scope, &id, state.now())
                .await
            {
                return store_error(&state, &s.ctx, e);
            }
            Err(aftersales_domain::ValidationErrors::from(e).into())
        }
        (_, Err(_)) => Err(StoreError::Conflict { current: 0 }),
    };
    after(&state, &s, &id, r).await
}

pub async fn escalate(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let r = state
        .store
        .cases()
        .escalate_case(&s.caller.scope, &id, Some(field(&p, "note")), state.now())
        .await
        .map(|_| ());
    after(&state, &s, &id, r).await
}

pub async fn take(State(state): State<AppState>, s: SignedIn, Path(id): Path<String>) -> Response {
    let r = state
        .store
        .cases()
        .take_case(&s.caller.scope, &id, state.now())
        .await
        .map(|_| ());
    after(&state, &s, &id, r).await
}

pub async fn add_task(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let now = state.now();
    let case = match state
        .store
        .cases()
        .get_case(&s.caller.scope, &id, now)
        .await
    {
        Ok(c) => c,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let date_fmt = time::macros::format_description!("[year]-[month]-[day]");
    let time_fmt = time::macros::format_description!("[hour]:[minute]");
    let when = match (
        time::Date::parse(field(&p, "due_date"), &date_fmt),
        time::Time::parse(field(&p, "due_time"), &time_fmt),
    ) {
        (Ok(d), Ok(tm)) => d.with_time(tm),
        _ => {
            let e = aftersales_domain::FieldError::new(
                "due_date",
                aftersales_domain::Rule::Format,
                "due_date must be a date and due_time a time like 14:30",
            );
            return case_page(
                &state,
                &s,
                &id,
                FormErrors(vec![e]),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let zone = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .cases()
            .calendar_for(&case.organisation.id, now)
            .await
    )
    .zone;
    let r = state
        .store
        .cases()
        .add_task(
            &s.caller.scope,
            &id,
            field(&p, "title"),
            zone.instant(when),
            None,
            now,
        )
        .await
        .map(|_| ());
    after(&state, &s, &id, r).await
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    tasks: Vec<Task>,
    /// The reader's time zone: that of the organisation they work at.
    zone: Zone,
}

impl TasksPage<'_> {
    fn when(&self, at: &OffsetDateTime) -> String {
        local(self.zone, *at)
    }
}

pub async fn tasks(State(state): State<AppState>, s: SignedIn) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let me = super::or_page!(state, &s.ctx, state.store.users().me(&s.caller.scope).await);
    let zone = match me.memberships.first() {
        Some(m) => super::or_page!(
            state,
            &s.ctx,
            state.store.org().zone_of(&m.organisation_id).await
        ),
        None => Zone::OSLO,
    };
    match state.store.cases().my_tasks(&s.caller.scope).await {
        Ok(tasks) => render(&TasksPage {
            chrome: Chrome::new(&t, &s.ctx),
            tasks,
            zone,
            t,
        }),
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

pub async fn complete_task(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    match state
        .store
        .cases()
        .complete_task(&s.caller.scope, &id, state.now())
        .await
    {
        Ok(task) => see_other(&format!("/cases/{}", task.case_id)),
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

pub async fn triage(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = aftersales_store::cases::triage::DecisionInput {
        kind: field(&p, "kind").into(),
        article_id: Some(field(&p, "article_id").to_string()).filter(|a| !a.is_empty()),
    };
    let r = state
        .store
        .cases()
        .record_triage(&s.caller.scope, &id, &input, state.now())
        .await;
    after(&state, &s, &id, r).await
}

pub async fn hand_off(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let now = state.now();
    let r = state
        .store
        .cases()
        .hand_off_case(
            &s.caller.scope,
            &id,
            field(&p, "to_organisation_id"),
            Some(field(&p, "note")),
            now,
        )
        .await;
    super::answer(
        &state,
        &s,
        r,
        |_| see_other(&format!("/cases/{id}")),
        |errors| case_page(&state, &s, &id, errors, StatusCode::UNPROCESSABLE_ENTITY),
    )
    .await
}

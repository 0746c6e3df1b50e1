//! CRM pages (capability crm): find a customer while typing, register and edit customers, their
//! vehicles, consents and timeline, GDPR export and erasure, a vehicle's page with odometer.

use aftersales_domain::org::Permission;
use aftersales_store::crm::{
    Channel, Consent, ConsentInput, Customer, CustomerInput, NewCustomer, Purpose, SearchHit,
    TimelineEntry, TimelineInput, Vehicle, VehicleInput,
};
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{
    field, form_pairs, render, see_other, store_error, Chrome, FormErrors, Sent, SignedIn,
};
use crate::i18n::Tr;
use crate::AppState;

fn tr<'a>(state: &'a AppState, s: &SignedIn) -> Tr<'a> {
    Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    }
}

fn query_param(q: &Option<String>, name: &str) -> Option<String> {
    q.as_deref().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

// ------------------------------------------------------------ list and search

#[derive(Template)]
#[template(path = "customers.html")]
struct ListPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    q: String,
    searched: bool,
    hits: Vec<SearchHit>,
    customers: Vec<Customer>,
    next: Option<String>,
    can_write: bool,
}

pub async fn list(State(state): State<AppState>, s: SignedIn, RawQuery(raw): RawQuery) -> Response {
    let t = tr(&state, &s);
    let scope = &s.caller.scope;
    let q = query_param(&raw, "q").unwrap_or_default();
    let hits = if q.trim().is_empty() {
        None
    } else {
        match state.store.crm().search_crm(scope, &q, 50).await {
            Ok(h) => Some(h),
            Err(e) => return store_error(&state, &s.ctx, e),
        }
    };
    let page = match state
        .store
        .crm()
        .list_customers(scope, query_param(&raw, "cursor").as_deref(), 50)
        .await
    {
        Ok(p) => p,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let can_write = !scope.record_owners_with(Permission::CrmWrite).is_empty();
    render(&ListPage {
        chrome: Chrome::new(&t, &s.ctx),
        q,
        searched: hits.is_some(),
        hits: hits.unwrap_or_default(),
        customers: page.items,
        next: page.next_cursor.map(|c| format!("/customers?cursor={c}")),
        can_write,
        t,
    })
}

// ------------------------------------------------------------ create and edit

#[derive(Template)]
#[template(path = "customer_form.html")]
struct FormPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    /// `None` for a new customer.
    id: Option<String>,
    version: i64,
    form: CustomerInput,
    errors: FormErrors,
}

/// One text field of the customer form: name, label key, value, input type, hint key.
pub struct TextField {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub kind: &'static str,
    pub hint: &'static str,
}

impl FormPage<'_> {
    fn fields(&self) -> Vec<TextField> {
        let f = &self.form;
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        [
            ("name", "field-name", f.name.clone(), "text", ""),
            ("phone", "field-phone", v(&f.phone), "tel", "hint-phone"),
            ("email", "field-email", v(&f.email), "email", ""),
            (
                "org_number",
                "field-org-number",
                v(&f.org_number),
                "text",
                "hint-org-number",
            ),
            ("nif", "field-nif", v(&f.nif), "text", "hint-nif"),
            ("street", "field-street", v(&f.street), "text", ""),
            (
                "postal_code",
                "field-postal-code",
                v(&f.postal_code),
                "text",
                "",
            ),
            ("city", "field-city", v(&f.city), "text", ""),
            (
                "country",
                "field-country",
                f.country.clone(),
                "text",
                "hint-country",
            ),
        ]
        .into_iter()
        .map(|(name, label, value, kind, hint)| TextField {
            name,
            label,
            value,
            kind,
            hint,
        })
        .collect()
    }
    fn coord(&self, v: &Option<f64>) -> String {
        v.map(|x| x.to_string()).unwrap_or_default()
    }
}

fn default_country(lang: aftersales_domain::i18n::Language) -> &'static str {
    match lang {
        aftersales_domain::i18n::Language::Pt => "PT",
        _ => "NO",
    }
}

fn customer_input(p: &[(String, String)]) -> (CustomerInput, Vec<aftersales_domain::FieldError>) {
    let mut errors = Vec::new();
    let mut num = |name: &str| -> Option<f64> {
        let v = field(p, name).trim();
        if v.is_empty() {
            return None;
        }
        match v.replace(',', ".").parse::<f64>() {
            Ok(x) => Some(x),
            Err(_) => {
                errors.push(aftersales_domain::FieldError::new(
                    name,
                    aftersales_domain::Rule::Format,
                    format!("{name} must be a number"),
                ));
                None
            }
        }
    };
    let latitude = num("latitude");
    let longitude = num("longitude");
    let o = |name: &str| Some(field(p, name).to_string()).filter(|v| !v.trim().is_empty());
    let input = CustomerInput {
        kind: field(p, "kind").to_string(),
        name: field(p, "name").to_string(),
        org_number: o("org_number"),
        nif: o("nif"),
        email: o("email"),
        phone: o("phone"),
        language: field(p, "language").to_string(),
        preferred_channel: field(p, "preferred_channel").to_string(),
        street: o("street"),
        postal_code: o("postal_code"),
        city: o("city"),
        country: field(p, "country").to_string(),
        latitude,
        longitude,
    };
    (input, errors)
}

fn form_page(
    state: &AppState,
    s: &SignedIn,
    id: Option<String>,
    version: i64,
    form: CustomerInput,
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    let t = tr(state, s);
    (
        status,
        render(&FormPage {
            chrome: Chrome::new(&t, &s.ctx),
            id,
            version,
            form,
            errors,
            t,
        }),
    )
        .into_response()
}

pub async fn new_form(State(state): State<AppState>, s: SignedIn) -> Response {
    let form = CustomerInput {
        kind: "person".into(),
        language: s.ctx.lang.code().into(),
        preferred_channel: "sms".into(),
        country: default_country(s.ctx.lang).into(),
        ..Default::default()
    };
    form_page(
        &state,
        &s,
        None,
        0,
        form,
        FormErrors::default(),
        StatusCode::OK,
    )
}

pub async fn create(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let (input, mut errs) = customer_input(&p);
    let parsed = NewCustomer::parse(&input);
    let new = match parsed {
        Ok(n) if errs.is_empty() => n,
        Ok(_) => {
            return form_page(
                &state,
                &s,
                None,
                0,
                input,
                FormErrors(errs),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => {
            errs.extend(e.0);
            return form_page(
                &state,
                &s,
                None,
                0,
                input,
                FormErrors(errs),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    match state
        .store
        .crm()
        .create_customer(&s.caller.scope, None, &new, state.now())
        .await
    {
        Ok(c) => see_other(&format!("/customers/{}", c.id)),
        Err(StoreError::Invalid(e)) => form_page(
            &state,
            &s,
            None,
            0,
            input,
            FormErrors(e.0),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let c = match state.store.crm().get_customer(&s.caller.scope, &id).await {
        Ok(c) => c,
        Err(e) => return store_error(&state, &s.ctx, e),
    };
    let form = CustomerInput {
        kind: c.kind.as_str().into(),
        name: c.name,
        org_number: c.org_number,
        nif: c.nif,
        email: c.email,
        phone: c.phone,
        language: c.language.code().into(),
        preferred_channel: c.preferred_channel.as_str().into(),
        street: c.street,
        postal_code: c.postal_code,
        city: c.city,
        country: c.country,
        latitude: c.latitude,
        longitude: c.longitude,
    };
    form_page(
        &state,
        &s,
        Some(c.id),
        c.version,
        form,
        FormErrors::default(),
        StatusCode::OK,
    )
}

pub async fn update(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    // Nothing about the form is answered for a customer the caller cannot see.
    if let Err(e) = state.store.crm().get_customer(&s.caller.scope, &id).await {
        return store_error(&state, &s.ctx, e);
    }
    let p = form_pairs(&body);
    let version = field(&p, "version").parse::<i64>().unwrap_or(0);
    let (input, mut errs) = customer_input(&p);
    let new = match NewCustomer::parse(&input) {
        Ok(n) if errs.is_empty() => n,
        Ok(_) => {
            return form_page(
                &state,
                &s,
                Some(id),
                version,
                input,
                FormErrors(errs),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => {
            errs.extend(e.0);
            return form_page(
                &state,
                &s,
                Some(id),
                version,
                input,
                FormErrors(errs),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    match state
        .store
        .crm()
        .update_customer(&s.caller.scope, &id, &new, version, state.now())
        .await
    {
        Ok(c) => see_other(&format!("/customers/{}?done=saved", c.id)),
        Err(StoreError::Invalid(e)) => form_page(
            &state,
            &s,
            Some(id),
            version,
            input,
            FormErrors(e.0),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

// ------------------------------------------------------------ the customer's page

/// The latest consent state of one purpose × channel.
pub struct ConsentCell {
    pub purpose: &'static str,
    pub channel: &'static str,
    pub state: &'static str,
}

#[derive(Template)]
#[template(path = "customer.html")]
struct DetailPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    cust: Customer,
    vehicles: Vec<Vehicle>,
    consents: Vec<Consent>,
    cells: Vec<ConsentCell>,
    timeline: Vec<TimelineEntry>,
    cases: Vec<aftersales_store::cases::Case>,
    can_write: bool,
    zone: aftersales_domain::calendar::Zone,
    errors: FormErrors,
    /// The form that came back with errors, as it was typed.
    sent: Sent,
    done: Option<String>,
    /// The caller books workshop time somewhere.
    can_book: bool,
    /// The customer's invoices and credit notes (open items first in meaning: what is open shows).
    documents: Vec<aftersales_store::billing::DocSummary>,
    /// The next page of the customer's cases, and the full list of their documents, when more.
    more_cases: Option<String>,
    more_documents: Option<String>,
    /// Where the caller may invoice: (organisation id, name).
    invoice_points: Vec<(String, String)>,
}

impl DetailPage<'_> {
    fn when(&self, at: &time::OffsetDateTime) -> String {
        super::local_time(self.zone, *at)
    }
    fn kind_label(&self, kind: &str) -> String {
        self.t.t(&format!("timeline-{kind}"))
    }
    /// What the entry says, in the reader's language when the system wrote it.
    fn words(&self, e: &TimelineEntry) -> String {
        super::events::timeline_entry(&self.t, &e.kind, &e.summary, &e.params)
    }
    /// Where an entry leads: its repair order or document.
    fn link(&self, e: &TimelineEntry) -> Option<String> {
        let id = e.params.get("id")?;
        match e.kind.as_str() {
            "repair-order" => Some(format!("/workshop/repair-orders/{id}")),
            "invoice" | "credit-note" => Some(format!("/billing/documents/{id}")),
            _ => None,
        }
    }
}

/// The customer's page; `sent` is the form that came back with `errors` (its words kept).
pub(crate) async fn detail_page(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
    (done, cases_from): (Option<&str>, Option<&str>),
) -> Response {
    let t = tr(state, s);
    let scope = &s.caller.scope;
    let c = match state.store.crm().get_customer(scope, id).await {
        Ok(c) => c,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let vehicles = super::or_page!(
        state,
        &s.ctx,
        state.store.crm().vehicles_of(scope, id).await
    );
    let consents = super::or_page!(state, &s.ctx, state.store.crm().consents(scope, id).await);
    let timeline = super::or_page!(
        state,
        &s.ctx,
        state.store.crm().customer_history(scope, id).await
    );
    let cases = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .cases()
            .cases_of_customer(scope, id, (cases_from, super::PAGE_ROWS), state.now())
            .await
    );
    let more_cases = cases
        .next_cursor
        .map(|c| super::next_page(&format!("/customers/{id}"), &[], "cases", &c) + "#cases-h");
    let cases = cases.items;
    let mut cells = Vec::new();
    for p in Purpose::ALL {
        for ch in Channel::ALL {
            let latest = consents
                .iter()
                .find(|x| x.purpose == *p && x.channel == *ch)
                .map(|x| x.granted);
            let state = match (p, latest) {
                (_, Some(true)) => "given",
                (_, Some(false)) => "refused",
                (Purpose::Service, None) => "not-needed",
                (Purpose::Marketing, None) => "none",
            };
            cells.push(ConsentCell {
                purpose: p.as_str(),
                channel: ch.as_str(),
                state,
            });
        }
    }
    let can_write =
        scope.permits_record(&c.organisation_id, Permission::CrmWrite) && c.erased_at.is_none();
    let done = done.map(|d| {
        t.t(&format!(
            "done-crm-{}",
            d.split(|ch: char| !ch.is_ascii_alphabetic())
                .next()
                .unwrap_or("")
        ))
    });
    let zone = super::or_page!(
        state,
        &s.ctx,
        state.store.org().zone_of(&c.organisation_id).await
    );
    let documents = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .billing()
            .documents(
                scope,
                &aftersales_store::billing::DocFilter {
                    customer_id: Some(&c.id),
                    ..Default::default()
                },
                None,
                super::PAGE_ROWS,
                state.now()
            )
            .await
    );
    // More than a page: the billing list shows them all, a page at a time.
    let more_documents = documents
        .next_cursor
        .is_some()
        .then(|| format!("/billing?customer={}", c.id));
    let documents = documents.items;
    let mut invoice_points = Vec::new();
    for id in scope.orgs_with(Permission::BillingWrite) {
        match state.store.org().get_organisation(scope, &id).await {
            Ok(o) => invoice_points.push((id, o.name)),
            Err(aftersales_store::StoreError::NotFound) => {}
            Err(e) => return store_error(state, &s.ctx, e),
        }
    }
    let page = DetailPage {
        documents,
        invoice_points,
        zone,
        chrome: Chrome::new(&t, &s.ctx),
        cust: c,
        vehicles,
        consents,
        cells,
        timeline,
        cases,
        more_cases,
        more_documents,
        can_write,
        errors,
        sent,
        done,
        can_book: !scope.orgs_with(Permission::WorkshopWrite).is_empty(),
        t,
    };
    (status, render(&page)).into_response()
}

pub async fn detail(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let done = query_param(&q, "done");
    let cases_from = query_param(&q, "cases");
    detail_page(
        &state,
        &s,
        &id,
        Default::default(),
        StatusCode::OK,
        (
            done.as_deref().filter(|d| DONE.contains(d)),
            cases_from.as_deref().filter(|c| !c.is_empty()),
        ),
    )
    .await
}

const DONE: &[&str] = &["saved", "logged", "consent", "vehicle", "erased"];

/// After a form on the customer's page: back to it with `done`, or with the errors and the form
/// `form` as it was typed.
async fn after(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    r: Result<(), StoreError>,
    (done, form, typed): (&str, &str, Vec<(String, String)>),
) -> Response {
    let ok = format!("/customers/{id}?done={done}");
    super::after_form(state, s, r, &ok, |errors| {
        detail_page(
            state,
            s,
            id,
            (errors, Sent::new(form, typed)),
            StatusCode::UNPROCESSABLE_ENTITY,
            (None, None),
        )
    })
    .await
}

pub async fn log_entry(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = TimelineInput {
        kind: field(&p, "kind").into(),
        summary: field(&p, "summary").into(),
        body: Some(field(&p, "body").to_string()).filter(|b| !b.trim().is_empty()),
        vehicle_id: Some(field(&p, "vehicle_id").to_string()).filter(|b| !b.is_empty()),
    };
    let r = state
        .store
        .crm()
        .add_timeline_entry(&s.caller.scope, &id, &input, state.now())
        .await
        .map(|_| ());
    after(&state, &s, &id, r, ("logged", "timeline", p)).await
}

pub async fn record_consent(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let input = ConsentInput {
        purpose: field(&p, "purpose").into(),
        channel: field(&p, "channel").into(),
        granted: field(&p, "granted") == "true",
        source: field(&p, "source").into(),
        wording: field(&p, "wording").into(),
    };
    let r = state
        .store
        .crm()
        .record_consent(&s.caller.scope, &id, &input, state.now())
        .await
        .map(|_| ());
    after(&state, &s, &id, r, ("consent", "consent", p)).await
}

pub async fn add_vehicle(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let o = |name: &str| Some(field(&p, name).to_string()).filter(|v| !v.trim().is_empty());
    let input = VehicleInput {
        vin: field(&p, "vin").into(),
        registration: o("registration"),
        delivery_date: o("delivery_date"),
        warranty_version: o("warranty_version"),
        owner_customer_id: Some(id.clone()),
    };
    // The customer must be visible before anything about them is revealed in an error.
    if let Err(e) = state.store.crm().get_customer(&s.caller.scope, &id).await {
        return store_error(&state, &s.ctx, e);
    }
    let r = state
        .store
        .crm()
        .create_vehicle(&s.caller.scope, None, &input, state.now())
        .await
        .map(|_| ());
    after(&state, &s, &id, r, ("vehicle", "vehicle", p)).await
}

pub async fn erase(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    if field(&p, "confirm") != "yes" {
        if let Err(e) = state.store.crm().get_customer(&s.caller.scope, &id).await {
            return store_error(&state, &s.ctx, e);
        }
        let e = aftersales_domain::FieldError::new(
            "confirm",
            aftersales_domain::Rule::Required,
            "tick the box to confirm the erasure",
        );
        return detail_page(
            &state,
            &s,
            &id,
            (FormErrors(vec![e]), Sent::new("erase", p)),
            StatusCode::UNPROCESSABLE_ENTITY,
            (None, None),
        )
        .await;
    }
    let r = state
        .store
        .gdpr()
        .erase_customer(&s.caller.scope, &id, state.now())
        .await
        .map(|_| ());
    after(&state, &s, &id, r, ("erased", "erase", p)).await
}

pub async fn export(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    match state
        .store
        .gdpr()
        .export_customer(&s.caller.scope, &id, state.now())
        .await
    {
        Ok(doc) => (
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"customer-{id}.json\""),
                ),
            ],
            serde_json::to_string_pretty(&doc).unwrap_or_default(),
        )
            .into_response(),
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

// ------------------------------------------------------------ a vehicle's page

#[derive(Template)]
#[template(path = "vehicle.html")]
struct VehiclePage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    v: Vehicle,
    timeline: Vec<TimelineEntry>,
    can_write: bool,
    errors: FormErrors,
    done: bool,
    zone: aftersales_domain::calendar::Zone,
    /// The vehicle's service items and inspections, next due first.
    due: Vec<aftersales_store::reminders::DueItem>,
    sources: &'static [&'static str],
    /// The warranty today at the latest reading, and the battery readings behind it.
    coverage: aftersales_store::warranty::VehicleCoverage,
    /// The vehicle's open recalls and service campaigns.
    campaigns: Vec<aftersales_store::warranty::OpenCampaign>,
    battery: Vec<aftersales_store::warranty::BatteryReading>,
    /// Which form the done message is about (`odometer`, `battery`).
    done_what: String,
}

/// Where an odometer reading comes from, as the form offers it (stored as the code).
const ODOMETER_SOURCES: &[&str] = &["check-in", "service", "inspection", "customer", "delivery"];

impl VehiclePage<'_> {
    fn day(&self, d: &str) -> String {
        super::logistics::day_label(d, self.t.lang)
    }
    fn campaign_title(&self, c: &aftersales_store::warranty::OpenCampaign) -> String {
        c.title
            .get(self.t.lang.code())
            .or_else(|| c.title.get("en"))
            .cloned()
            .unwrap_or_default()
    }
    fn campaign_kind(&self, c: &aftersales_store::warranty::OpenCampaign) -> String {
        self.t.t(&format!("cp-kind-{}", c.kind.as_str()))
    }
    fn coverage_kind(&self, c: &aftersales_store::warranty::Coverage) -> String {
        super::warranty::kind(&self.t, c)
    }
    fn coverage_state(&self, c: &aftersales_store::warranty::Coverage) -> String {
        super::warranty::state(&self.t, c)
    }
    fn capacity(&self, k: &aftersales_store::warranty::Capacity) -> String {
        super::warranty::capacity(&self.t, k)
    }
    fn statutory(&self, st: &aftersales_store::warranty::Statutory) -> String {
        super::warranty::statutory(&self.t, st)
    }
    fn battery_source(&self, code: &str) -> String {
        self.t.t(&format!("wr-source-{code}"))
    }
    fn source(&self, code: &str) -> String {
        self.t.known("odo-source", code)
    }
    fn due_item(&self, d: &aftersales_store::reminders::DueItem) -> String {
        d.name.get(self.t.lang).to_string()
    }
    fn standing(&self, d: &aftersales_store::reminders::DueItem) -> String {
        use aftersales_domain::reminders::Standing;
        self.t.t(match d.standing {
            Standing::Overdue => "rem-overdue",
            Standing::DueSoon => "rem-due-soon",
            Standing::Later => "rem-later",
        })
    }
    fn when(&self, at: &time::OffsetDateTime) -> String {
        super::local_time(self.zone, *at)
    }
    fn kind_label(&self, kind: &str) -> String {
        self.t.t(&format!("timeline-{kind}"))
    }
    /// What the entry says, in the reader's language when the system wrote it.
    fn words(&self, e: &TimelineEntry) -> String {
        super::events::timeline_entry(&self.t, &e.kind, &e.summary, &e.params)
    }
}

async fn vehicle_page(
    state: &AppState,
    s: &SignedIn,
    id: &str,
    errors: FormErrors,
    status: StatusCode,
    done: &str,
) -> Response {
    let t = tr(state, s);
    let v = match state.store.crm().get_vehicle(&s.caller.scope, id).await {
        Ok(v) => v,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let timeline = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .crm()
            .vehicle_timeline(&s.caller.scope, id)
            .await
    );
    let can_write = s
        .caller
        .scope
        .permits_record(&v.organisation_id, Permission::CrmWrite);
    let zone = super::or_page!(
        state,
        &s.ctx,
        state.store.org().zone_of(&v.organisation_id).await
    );
    let due = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .reminders()
            .due_for_vehicle(&s.caller.scope, id, state.now())
            .await
    );
    let today = zone.local(state.now()).date();
    let coverage = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .warranty()
            .coverage(&s.caller.scope, id, today, None)
            .await
    );
    let battery = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .warranty()
            .battery_readings(&s.caller.scope, id)
            .await
    );
    let campaigns = super::or_page!(
        state,
        &s.ctx,
        state
            .store
            .warranty()
            .open_campaigns(&s.caller.scope, id)
            .await
    );
    (
        status,
        render(&VehiclePage {
            zone,
            due,
            coverage,
            battery,
            campaigns,
            done_what: done.to_string(),
            sources: ODOMETER_SOURCES,
            chrome: Chrome::new(&t, &s.ctx),
            v,
            timeline,
            can_write,
            errors,
            done: !done.is_empty(),
            t,
        }),
    )
        .into_response()
}

pub async fn vehicle(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let done = query_param(&q, "done").unwrap_or_default();
    vehicle_page(
        &state,
        &s,
        &id,
        FormErrors::default(),
        StatusCode::OK,
        &done,
    )
    .await
}

pub async fn odometer(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let km = match field(&p, "km")
        .trim()
        .replace([' ', '\u{a0}'], "")
        .parse::<i64>()
    {
        Ok(km) => km,
        Err(_) => {
            if let Err(e) = state.store.crm().get_vehicle(&s.caller.scope, &id).await {
                return store_error(&state, &s.ctx, e);
            }
            let e = aftersales_domain::FieldError::new(
                "km",
                aftersales_domain::Rule::Format,
                "km must be a whole number",
            );
            return vehicle_page(
                &state,
                &s,
                &id,
                FormErrors(vec![e]),
                StatusCode::UNPROCESSABLE_ENTITY,
                "",
            )
            .await;
        }
    };
    let reason = Some(field(&p, "reason")).filter(|r| !r.trim().is_empty());
    let r = state
        .store
        .crm()
        .record_odometer(
            &s.caller.scope,
            &id,
            km,
            field(&p, "source"),
            reason,
            state.now(),
        )
        .await;
    super::answer(
        &state,
        &s,
        r,
        |_| see_other(&format!("/vehicles/{id}?done=odometer")),
        |errors| {
            vehicle_page(
                &state,
                &s,
                &id,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
                "",
            )
        },
    )
    .await
}

/// A battery's state of health read (claim evidence for the battery's coverage).
pub async fn battery(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let number = |name: &str| {
        let v = field(&p, name).trim().replace([' ', '\u{a0}', '%'], "");
        // What does not read as a whole number is passed on out of range, for the store to name.
        v.parse::<i64>().unwrap_or(-1)
    };
    let input = aftersales_store::warranty::BatteryReadingInput {
        read_on: field(&p, "read_on").to_string(),
        odometer_km: number("odometer_km"),
        soh_pct: number("soh_pct"),
        source: field(&p, "source").to_string(),
    };
    let r = state
        .store
        .warranty()
        .record_battery(&s.caller.scope, &id, &input, state.now())
        .await;
    super::answer(
        &state,
        &s,
        r,
        |_| see_other(&format!("/vehicles/{id}?done=battery#coverage")),
        |errors| {
            vehicle_page(
                &state,
                &s,
                &id,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
                "",
            )
        },
    )
    .await
}

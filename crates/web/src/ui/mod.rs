//! The server-rendered UI: askama templates, Fluent strings, no third-party JavaScript or CSS.
//! A middleware resolves the session and the language once per request and checks the CSRF
//! token of every form post, so no handler can forget it.

mod analysis;
mod audit;
mod billing;
mod campaigns;
mod cases;
mod charts;
mod claim_audit;
mod claims;
mod contact;
mod crm;
mod events;
mod goodwill;
mod home;
mod inbox_settings;
mod knowledge;
pub mod kpis;
mod logistics;
mod messages;
mod org;
pub mod pilots;
mod profile;
mod public;
mod reminders;
mod session;
mod standards;
mod training;
mod users;
mod vin_table;
mod warranty;
mod workshop;

use std::net::SocketAddr;

use aftersales_domain::i18n::Language;
use aftersales_domain::org::{Capability, Permission};
use aftersales_domain::validation::FieldError;
use aftersales_store::auth::{AuthVia, Caller};
use aftersales_store::StoreError;
use askama::Template;
use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::auth::{
    client_ip, cookie, is_unsafe, set_cookie, ClientIp, LANG_COOKIE, PRE_SESSION_CSRF_COOKIE,
    SESSION_COOKIE,
};
use crate::i18n::Tr;
use crate::AppState;

/// Every UI route. The isolation test walks this list.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/organisations"),
    ("POST", "/organisations"),
    ("GET", "/organisations/{id}"),
    ("GET", "/organisations/{id}/inbox-settings"),
    ("POST", "/organisations/{id}/inbox-settings/hours"),
    ("POST", "/organisations/{id}/inbox-settings/sla"),
    ("POST", "/organisations/{id}/inbox-settings/addresses"),
    ("POST", "/organisations/{id}/inbox-settings/routing"),
    ("POST", "/organisations/{id}/inbox-settings/routing/remove"),
    ("POST", "/organisations/{id}/inbox-settings/web-intake"),
    ("GET", "/users"),
    ("GET", "/users/new"),
    ("POST", "/users"),
    ("GET", "/users/{id}"),
    ("POST", "/users/{id}/roles"),
    ("POST", "/users/{id}/roles/revoke"),
    ("POST", "/users/{id}/status"),
    ("POST", "/users/{id}/details"),
    ("POST", "/users/{id}/password"),
    ("GET", "/audit"),
    ("GET", "/profile"),
    ("POST", "/profile"),
    ("GET", "/profile/password"),
    ("POST", "/profile/password"),
    ("GET", "/profile/tokens"),
    ("POST", "/profile/tokens"),
    ("POST", "/profile/tokens/{id}/revoke"),
    ("GET", "/customers"),
    ("GET", "/customers/new"),
    ("POST", "/customers"),
    ("GET", "/customers/{id}"),
    ("POST", "/customers/{id}"),
    ("GET", "/customers/{id}/edit"),
    ("POST", "/customers/{id}/timeline"),
    ("POST", "/customers/{id}/consents"),
    ("POST", "/customers/{id}/vehicles"),
    ("POST", "/customers/{id}/erase"),
    ("GET", "/customers/{id}/export"),
    ("GET", "/vehicles/{id}"),
    ("POST", "/vehicles/{id}/odometer"),
    ("POST", "/vehicles/{id}/battery"),
    ("GET", "/contact"),
    ("POST", "/contact"),
    ("GET", "/inbox"),
    ("GET", "/knowledge"),
    ("GET", "/logistics"),
    ("POST", "/logistics/replan"),
    ("GET", "/logistics/run"),
    ("GET", "/logistics/new"),
    ("POST", "/logistics/jobs"),
    ("POST", "/logistics/jobs/{id}/lock"),
    ("POST", "/logistics/jobs/{id}/status"),
    ("POST", "/logistics/jobs/{id}/place"),
    ("POST", "/logistics/jobs/{id}/window"),
    ("GET", "/logistics/photos/{id}"),
    ("GET", "/logistics/agreements/{id}/pdf"),
    ("GET", "/logistics/setup"),
    ("POST", "/logistics/setup"),
    ("GET", "/reminders"),
    ("GET", "/warranty"),
    ("GET", "/warranty/claims/new"),
    ("POST", "/warranty/claims"),
    ("GET", "/warranty/claims/{id}"),
    ("POST", "/warranty/claims/{id}/steps"),
    ("POST", "/warranty/claims/{id}/lines/{line_id}/recovery"),
    ("GET", "/warranty/claims/{id}/export"),
    ("GET", "/warranty/analysis"),
    ("GET", "/warranty/analysis/mis.csv"),
    ("GET", "/warranty/analysis/export.xlsx"),
    ("GET", "/warranty/audit"),
    ("POST", "/warranty/audit/rules/{rule}"),
    ("GET", "/warranty/audit/points/{id}"),
    ("POST", "/warranty/audits"),
    ("GET", "/warranty/audits/{id}"),
    ("POST", "/warranty/audits/{id}/claims/{claim_id}"),
    ("POST", "/warranty/audits/{id}/close"),
    ("GET", "/warranty/goodwill"),
    ("GET", "/warranty/goodwill/new"),
    ("POST", "/warranty/goodwill"),
    ("GET", "/warranty/goodwill/{id}"),
    ("POST", "/warranty/goodwill/{id}/decision"),
    ("POST", "/warranty/goodwill/{id}/job"),
    ("GET", "/network"),
    ("POST", "/network/audits"),
    ("GET", "/network/catalogue"),
    ("POST", "/network/catalogue"),
    ("GET", "/network/catalogue/{id}/file"),
    ("GET", "/network/audits/{id}"),
    ("POST", "/network/audits/{id}/answers/{party}"),
    ("POST", "/network/audits/{id}/actions"),
    ("POST", "/network/audits/{id}/plan"),
    ("GET", "/network/actions/{id}"),
    ("POST", "/network/actions/{id}/submit"),
    ("POST", "/network/actions/{id}/review"),
    ("GET", "/network/evidence/{id}"),
    ("GET", "/kpis"),
    ("GET", "/kpis/{code}"),
    ("GET", "/kpis/{code}/{file}"),
    ("POST", "/kpis/targets"),
    ("POST", "/kpis/targets/{id}/remove"),
    ("POST", "/kpis/costs/{id}"),
    ("POST", "/kpis/digests"),
    ("GET", "/pilots"),
    ("POST", "/pilots"),
    ("GET", "/pilots/{id}"),
    ("POST", "/pilots/{id}/end"),
    ("GET", "/training"),
    ("POST", "/training/records"),
    ("GET", "/training/records/{id}/certificate"),
    ("POST", "/training/sessions"),
    ("POST", "/training/sessions/{id}/attendees"),
    ("POST", "/training/courses"),
    ("POST", "/training/profiles"),
    ("POST", "/training/mappings"),
    ("GET", "/warranty/campaigns"),
    ("POST", "/warranty/campaigns"),
    ("GET", "/warranty/campaigns/{id}"),
    ("POST", "/warranty/campaigns/{id}/done"),
    ("POST", "/warranty/campaigns/{id}/notify"),
    ("POST", "/reminders/done"),
    ("GET", "/reminders/schedules"),
    ("POST", "/reminders/schedules"),
    ("POST", "/reminders/campaigns"),
    ("POST", "/reminders/campaigns/{id}/withdraw"),
    ("GET", "/vin-table"),
    ("POST", "/vin-table"),
    ("POST", "/knowledge"),
    ("GET", "/cases/new"),
    ("POST", "/cases"),
    ("GET", "/cases/{id}"),
    ("POST", "/cases/{id}/messages"),
    ("POST", "/cases/{id}/status"),
    ("POST", "/cases/{id}/escalate"),
    ("POST", "/cases/{id}/take"),
    ("POST", "/cases/{id}/triage"),
    ("POST", "/cases/{id}/handoff"),
    ("POST", "/cases/{id}/tasks"),
    ("GET", "/tasks"),
    ("POST", "/tasks/{id}/done"),
    ("GET", "/workshop"),
    ("GET", "/workshop/book"),
    ("POST", "/workshop/book"),
    ("POST", "/workshop/repair-orders"),
    ("GET", "/workshop/repair-orders/{id}"),
    ("POST", "/workshop/repair-orders/{id}/status"),
    ("POST", "/workshop/repair-orders/{id}/eta"),
    ("POST", "/workshop/repair-orders/{id}/appointment"),
    ("POST", "/workshop/repair-orders/{id}/jobs"),
    ("POST", "/workshop/repair-orders/{id}/jobs/{job_id}"),
    ("POST", "/workshop/repair-orders/{id}/jobs/{job_id}/lines"),
    (
        "POST",
        "/workshop/repair-orders/{id}/lines/{line_id}/remove",
    ),
    ("POST", "/workshop/repair-orders/{id}/jobs/{job_id}/assign"),
    ("POST", "/workshop/repair-orders/{id}/jobs/{job_id}/clock"),
    (
        "POST",
        "/workshop/repair-orders/{id}/jobs/{job_id}/decision",
    ),
    ("GET", "/workshop/setup"),
    ("POST", "/workshop/setup/settings"),
    ("POST", "/workshop/setup/bays"),
    ("POST", "/workshop/setup/technicians/{id}"),
    ("POST", "/workshop/setup/technicians/{id}/certifications"),
    ("POST", "/workshop/setup/technicians/{id}/absences"),
    ("POST", "/workshop/setup/operations"),
    ("POST", "/workshop/setup/parts"),
    ("POST", "/workshop/setup/parts/{id}/stock"),
    ("GET", "/messages"),
    ("POST", "/messages/rules"),
    ("GET", "/messages/template"),
    ("POST", "/messages/template"),
    ("GET", "/messages/outbox"),
    ("POST", "/messages/outbox/{id}/retry"),
    ("POST", "/workshop/repair-orders/{id}/invoice"),
    ("GET", "/billing"),
    ("GET", "/billing/settings"),
    ("POST", "/billing/organisations/{id}/entity"),
    ("POST", "/billing/entities/{id}/series"),
    ("GET", "/billing/entities/{id}/saft-pt"),
    ("POST", "/billing/documents"),
    ("GET", "/billing/documents/{id}"),
    ("POST", "/billing/documents/{id}/issue"),
    ("POST", "/billing/documents/{id}/delete"),
    ("POST", "/billing/documents/{id}/type"),
    ("POST", "/billing/documents/{id}/lines"),
    ("POST", "/billing/documents/{id}/credit"),
    ("POST", "/billing/documents/{id}/payments"),
    ("GET", "/billing/documents/{id}/pdf"),
    ("GET", "/billing/documents/{id}/ehf"),
    ("GET", "/d/{token}"),
    ("GET", "/d/{token}/pdf"),
    ("GET", "/s/{token}"),
    ("POST", "/s/{token}/jobs/{job_id}"),
    ("GET", "/survey/{token}"),
    ("POST", "/survey/{token}"),
    ("GET", "/book"),
    ("POST", "/book"),
    ("GET", "/static/app.css"),
    ("GET", "/static/app.js"),
];

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/organisations", get(org::list).post(org::create))
        .route("/organisations/{id}", get(org::detail))
        .route(
            "/organisations/{id}/inbox-settings",
            get(inbox_settings::show),
        )
        .route(
            "/organisations/{id}/inbox-settings/hours",
            post(inbox_settings::hours),
        )
        .route(
            "/organisations/{id}/inbox-settings/sla",
            post(inbox_settings::sla),
        )
        .route(
            "/organisations/{id}/inbox-settings/addresses",
            post(inbox_settings::address),
        )
        .route(
            "/organisations/{id}/inbox-settings/routing",
            post(inbox_settings::routing),
        )
        .route(
            "/organisations/{id}/inbox-settings/routing/remove",
            post(inbox_settings::remove_routing),
        )
        .route(
            "/organisations/{id}/inbox-settings/web-intake",
            post(inbox_settings::web_intake),
        )
        .route("/users", get(users::list).post(users::create))
        .route("/users/new", get(users::new_form))
        .route("/users/{id}", get(users::detail))
        .route("/users/{id}/roles", post(users::grant))
        .route("/users/{id}/roles/revoke", post(users::revoke))
        .route("/users/{id}/status", post(users::set_status))
        .route("/users/{id}/details", post(users::set_details))
        .route("/users/{id}/password", post(users::set_password))
        .route("/audit", get(audit::list))
        .route("/profile", get(profile::page).post(profile::update))
        .route("/profile/password", get(to_profile).post(profile::password))
        .route(
            "/profile/tokens",
            get(to_profile).post(profile::create_token),
        )
        .route("/profile/tokens/{id}/revoke", post(profile::revoke_token))
        .route("/customers", get(crm::list).post(crm::create))
        .route("/customers/new", get(crm::new_form))
        .route("/customers/{id}", get(crm::detail).post(crm::update))
        .route("/customers/{id}/edit", get(crm::edit_form))
        .route("/customers/{id}/timeline", post(crm::log_entry))
        .route("/customers/{id}/consents", post(crm::record_consent))
        .route("/customers/{id}/vehicles", post(crm::add_vehicle))
        .route("/customers/{id}/erase", post(crm::erase))
        .route("/customers/{id}/export", get(crm::export))
        .route("/vehicles/{id}", get(crm::vehicle))
        .route("/vehicles/{id}/odometer", post(crm::odometer))
        .route("/vehicles/{id}/battery", post(crm::battery))
        .route("/contact", get(contact::form).post(contact::submit))
        .route("/inbox", get(cases::inbox))
        .route("/knowledge", get(knowledge::list).post(knowledge::create))
        .route("/logistics", get(logistics::board))
        .route("/logistics/replan", post(logistics::replan))
        .route("/logistics/run", get(logistics::run))
        .route("/logistics/new", get(logistics::new_job))
        .route("/logistics/jobs", post(logistics::create_job))
        .route("/logistics/jobs/{id}/lock", post(logistics::lock))
        .route(
            "/logistics/jobs/{id}/status",
            post(logistics::set_status).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/logistics/photos/{id}", get(logistics::photo))
        .route("/logistics/agreements/{id}/pdf", get(logistics::agreement))
        .route("/logistics/jobs/{id}/place", post(logistics::place))
        .route("/logistics/jobs/{id}/window", post(logistics::window))
        .route(
            "/logistics/setup",
            get(logistics::setup).post(logistics::setup_post),
        )
        .route("/reminders", get(reminders::list))
        .route("/warranty", get(claims::list))
        .route("/warranty/claims/new", get(claims::new_claim))
        .route("/warranty/claims", post(claims::create))
        .route("/warranty/claims/{id}", get(claims::show))
        .route("/warranty/claims/{id}/steps", post(claims::step))
        .route(
            "/warranty/claims/{id}/lines/{line_id}/recovery",
            post(claims::recovery),
        )
        .route("/warranty/claims/{id}/export", get(claims::export))
        .route(
            "/warranty/goodwill",
            get(goodwill::list).post(goodwill::create),
        )
        .route("/warranty/goodwill/new", get(goodwill::new_request))
        .route("/warranty/analysis", get(analysis::page))
        .route("/warranty/analysis/mis.csv", get(analysis::mis_csv))
        .route("/warranty/analysis/export.xlsx", get(analysis::xlsx))
        .route("/warranty/audit", get(claim_audit::page))
        .route("/warranty/audit/rules/{rule}", post(claim_audit::set_rule))
        .route("/warranty/audit/points/{id}", get(claim_audit::point))
        .route("/warranty/audits", post(claim_audit::propose))
        .route("/warranty/audits/{id}", get(claim_audit::detail))
        .route(
            "/warranty/audits/{id}/claims/{claim_id}",
            post(claim_audit::record),
        )
        .route("/warranty/audits/{id}/close", post(claim_audit::close))
        .route("/warranty/goodwill/{id}", get(goodwill::show))
        .route("/warranty/goodwill/{id}/decision", post(goodwill::decide))
        .route("/warranty/goodwill/{id}/job", post(goodwill::apply))
        .route("/pilots", get(pilots::show).post(pilots::create))
        .route("/pilots/{id}", get(pilots::pilot))
        .route("/pilots/{id}/end", post(pilots::end))
        .route("/kpis", get(kpis::show))
        .route("/kpis/{code}", get(kpis::kpi))
        .route("/kpis/{code}/{file}", get(kpis::export_kpi))
        .route("/kpis/targets", post(kpis::set_target))
        .route("/kpis/targets/{id}/remove", post(kpis::remove_target))
        .route("/kpis/costs/{id}", post(kpis::set_costs))
        .route("/kpis/digests", post(kpis::digests))
        .route("/training", get(training::show))
        .route(
            "/training/records",
            post(training::record).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route(
            "/training/records/{id}/certificate",
            get(training::certificate),
        )
        .route("/training/sessions", post(training::add_session))
        .route(
            "/training/sessions/{id}/attendees",
            post(training::attendance),
        )
        .route("/training/courses", post(training::add_course))
        .route("/training/profiles", post(training::add_profile))
        .route("/training/mappings", post(training::add_mapping))
        .route("/network", get(standards::network))
        .route("/network/audits", post(standards::plan))
        .route(
            "/network/catalogue",
            get(standards::catalogue)
                .post(standards::import)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route(
            "/network/catalogue/{id}/file",
            get(standards::catalogue_file),
        )
        .route("/network/audits/{id}", get(standards::audit))
        .route(
            "/network/audits/{id}/answers/{party}",
            post(standards::answers).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/network/audits/{id}/actions", post(standards::raise))
        .route("/network/audits/{id}/plan", post(standards::replan))
        .route("/network/actions/{id}", get(standards::action))
        .route(
            "/network/actions/{id}/submit",
            post(standards::submit).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/network/actions/{id}/review", post(standards::review))
        .route("/network/evidence/{id}", get(standards::evidence))
        .route(
            "/warranty/campaigns",
            get(campaigns::list).post(campaigns::create),
        )
        .route("/warranty/campaigns/{id}", get(campaigns::show))
        .route(
            "/warranty/campaigns/{id}/done",
            post(campaigns::record_done),
        )
        .route("/warranty/campaigns/{id}/notify", post(campaigns::notify))
        .route("/reminders/done", post(reminders::record_done))
        .route(
            "/reminders/schedules",
            get(reminders::schedules).post(reminders::set_schedule),
        )
        .route("/reminders/campaigns", post(reminders::create_campaign))
        .route(
            "/reminders/campaigns/{id}/withdraw",
            post(reminders::withdraw_campaign),
        )
        .route("/vin-table", get(vin_table::show).post(vin_table::save))
        .route("/cases/new", get(cases::new_form))
        .route("/cases", post(cases::create))
        .route("/cases/{id}", get(cases::detail))
        .route("/cases/{id}/messages", post(cases::message))
        .route("/cases/{id}/status", post(cases::set_status))
        .route("/cases/{id}/escalate", post(cases::escalate))
        .route("/cases/{id}/take", post(cases::take))
        .route("/cases/{id}/triage", post(cases::triage))
        .route("/cases/{id}/handoff", post(cases::hand_off))
        .route("/cases/{id}/tasks", post(cases::add_task))
        .route("/tasks", get(cases::tasks))
        .route("/tasks/{id}/done", post(cases::complete_task))
        .route("/workshop", get(workshop::board))
        .route(
            "/workshop/book",
            get(workshop::book_get).post(workshop::book_post),
        )
        .route("/workshop/repair-orders", post(workshop::create_order))
        .route("/workshop/repair-orders/{id}", get(workshop::order))
        .route(
            "/workshop/repair-orders/{id}/status",
            post(workshop::order_status),
        )
        .route(
            "/workshop/repair-orders/{id}/eta",
            post(workshop::order_eta),
        )
        .route(
            "/workshop/repair-orders/{id}/appointment",
            post(workshop::order_move),
        )
        .route(
            "/workshop/repair-orders/{id}/jobs",
            post(workshop::order_add_job),
        )
        .route(
            "/workshop/repair-orders/{id}/jobs/{job_id}",
            post(workshop::order_update_job),
        )
        .route(
            "/workshop/repair-orders/{id}/jobs/{job_id}/lines",
            post(workshop::order_add_line),
        )
        .route(
            "/workshop/repair-orders/{id}/lines/{line_id}/remove",
            post(workshop::order_remove_line),
        )
        .route(
            "/workshop/repair-orders/{id}/jobs/{job_id}/assign",
            post(workshop::order_assign),
        )
        .route(
            "/workshop/repair-orders/{id}/jobs/{job_id}/clock",
            post(workshop::order_clock),
        )
        .route(
            "/workshop/repair-orders/{id}/jobs/{job_id}/decision",
            post(workshop::order_decide),
        )
        .route("/workshop/setup", get(workshop::setup))
        .route("/workshop/setup/settings", post(workshop::setup_settings))
        .route("/workshop/setup/bays", post(workshop::setup_bay))
        .route(
            "/workshop/setup/technicians/{id}",
            post(workshop::setup_technician),
        )
        .route(
            "/workshop/setup/technicians/{id}/certifications",
            post(workshop::setup_certification),
        )
        .route(
            "/workshop/setup/technicians/{id}/absences",
            post(workshop::setup_absence),
        )
        .route(
            "/workshop/setup/operations",
            post(workshop::setup_operation),
        )
        .route("/workshop/setup/parts", post(workshop::setup_part))
        .route(
            "/workshop/setup/parts/{id}/stock",
            post(workshop::setup_stock),
        )
        .route("/messages", get(messages::rules))
        .route("/messages/rules", post(messages::save_rules))
        .route(
            "/messages/template",
            get(messages::template).post(messages::save_template),
        )
        .route("/messages/outbox", get(messages::outbox))
        .route("/messages/outbox/{id}/retry", post(messages::retry))
        .route(
            "/workshop/repair-orders/{id}/invoice",
            post(billing::invoice_order),
        )
        .route("/billing", get(billing::list))
        .route("/billing/settings", get(billing::settings))
        .route(
            "/billing/organisations/{id}/entity",
            post(billing::save_entity),
        )
        .route("/billing/entities/{id}/series", post(billing::add_series))
        .route("/billing/entities/{id}/saft-pt", get(billing::saft))
        .route("/billing/documents", post(billing::create))
        .route("/billing/documents/{id}", get(billing::document))
        .route("/billing/documents/{id}/issue", post(billing::issue))
        .route("/billing/documents/{id}/delete", post(billing::delete))
        .route("/billing/documents/{id}/type", post(billing::set_type))
        .route("/billing/documents/{id}/lines", post(billing::save_lines))
        .route("/billing/documents/{id}/credit", post(billing::credit))
        .route("/billing/documents/{id}/payments", post(billing::payment))
        .route("/billing/documents/{id}/pdf", get(billing::pdf))
        .route("/billing/documents/{id}/ehf", get(billing::ehf))
        .route("/d/{token}", get(billing::public_page))
        .route("/d/{token}/pdf", get(billing::public_pdf))
        .route("/s/{token}", get(public::status_page))
        .route("/s/{token}/jobs/{job_id}", post(public::decide))
        .route(
            "/survey/{token}",
            get(public::survey).post(public::answer_survey),
        )
        .route("/book", get(public::book_form).post(public::book))
        .route("/static/app.css", get(stylesheet))
        .route("/static/app.js", get(script))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state, ui_context))
}

/// A reload or bookmark of a page that was the answer to a form post lands on the profile.
async fn to_profile(_signed_in: SignedIn) -> Response {
    see_other("/profile")
}

static APP_CSS: &str = include_str!("../../static/app.css");
static APP_JS: &str = include_str!("../../static/app.js");

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_JS,
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
        .into_response()
}

/// What the middleware learned about the request, for handlers and templates.
#[derive(Clone)]
pub struct RequestCtx {
    pub caller: Option<Caller>,
    pub lang: Language,
    /// The token forms must send back: the session's, or the pre-session cookie's.
    pub csrf: String,
    pub path: String,
    pub ip: Option<String>,
}

/// Resolves session and language, enforces CSRF on form posts, remembers `?lang=`.
async fn ui_context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let now = state.now();
    let (mut parts, body) = req.into_parts();
    let ip = client_ip(
        &state,
        &parts.headers,
        parts.extensions.get::<ConnectInfo<SocketAddr>>(),
    );
    let caller = match cookie(&parts.headers, SESSION_COOKIE) {
        Some(sid) => match state
            .store
            .auth()
            .resolve_session(sid, now, &state.config.login)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                return error_page(
                    &state,
                    Language::En,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "error-unavailable",
                );
            }
        },
        None => None,
    };
    let query_lang = parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.into_owned())
    });
    let lang =
        crate::auth::negotiate_language(&parts.headers, query_lang.as_deref(), caller.as_ref());
    let (csrf, new_pre_session) = match caller.as_ref().map(|c| &c.via) {
        Some(AuthVia::Session { csrf_token }) => (csrf_token.clone(), None),
        _ => match cookie(&parts.headers, PRE_SESSION_CSRF_COOKIE) {
            Some(c) => (c.to_string(), None),
            None => {
                let fresh = uuid::Uuid::new_v4().simple().to_string();
                (fresh.clone(), Some(fresh))
            }
        },
    };

    let body = if is_unsafe(&parts.method) {
        // Forms are small; a larger body is refused before it is read whole. A signed-in form with
        // files (the driver's hand-over photos) may be larger.
        let multipart = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::multipart::boundary)
            .filter(|_| caller.is_some());
        let upload = multipart.is_some() && takes_files(parts.uri.path());
        let limit = if upload { MAX_UPLOAD } else { 256 * 1024 };
        let bytes = match to_bytes(body, limit).await {
            Ok(b) => b,
            Err(_) => {
                return error_page(
                    &state,
                    lang,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "error-too-large",
                )
            }
        };
        let sent = match &multipart {
            Some(b) => crate::multipart::parse(b, &bytes).and_then(|parts| {
                parts
                    .into_iter()
                    .find(|p| p.name == "csrf_token" && p.filename.is_none())
                    .and_then(|p| String::from_utf8(p.data).ok())
            }),
            None => form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == "csrf_token")
                .map(|(_, v)| v.into_owned()),
        };
        let expected = if new_pre_session.is_some() {
            None
        } else {
            Some(csrf.as_str())
        };
        if !matches!((sent.as_deref(), expected), (Some(s), Some(e)) if crate::auth::constant_time_eq(s, e))
        {
            return error_page(&state, lang, StatusCode::FORBIDDEN, "error-csrf");
        }
        Body::from(bytes)
    } else {
        body
    };

    parts.extensions.insert(ClientIp(ip.clone()));
    parts.extensions.insert(RequestCtx {
        caller,
        lang,
        csrf,
        path: parts.uri.path().to_string(),
        ip,
    });
    let mut res = next.run(Request::from_parts(parts, body)).await;
    if let Some(q) = query_lang.as_deref().and_then(Language::from_tag) {
        append_cookie(
            &mut res,
            &set_cookie(&state, LANG_COOKIE, q.code(), 365 * 24 * 3600, "Lax"),
        );
    }
    if let Some(fresh) = new_pre_session {
        append_cookie(
            &mut res,
            &set_cookie(&state, PRE_SESSION_CSRF_COOKIE, &fresh, 24 * 3600, "Strict"),
        );
    }
    res
}

pub(crate) fn append_cookie(res: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestCtx {
    type Rejection = StatusCode;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestCtx>()
            .cloned()
            .ok_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// A signed-in UI request; anyone else is sent to the login page and brought back afterwards.
pub struct SignedIn {
    pub caller: Caller,
    pub ctx: RequestCtx,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let ctx = RequestCtx::from_request_parts(parts, s)
            .await
            .map_err(IntoResponse::into_response)?;
        match ctx.caller.clone() {
            Some(caller) => Ok(SignedIn { caller, ctx }),
            None => {
                let next = if parts.method == axum::http::Method::GET {
                    parts.uri.path()
                } else {
                    "/"
                };
                let target = format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                Err(Redirect::to(&target).into_response())
            }
        }
    }
}

/// The capabilities in the caller's navigation (`domain::org::navigation`).
pub fn navigation(c: &Caller) -> Vec<Capability> {
    aftersales_domain::org::navigation(c.scope.all_roles())
}

/// A link in the navigation bar.
pub struct NavItem {
    pub label: String,
    pub href: Option<&'static str>,
    pub current: bool,
}

pub struct LangLink {
    pub code: &'static str,
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

/// The frame every page shares: navigation, user, language switch, CSRF token.
pub struct Chrome {
    pub nav: Vec<NavItem>,
    pub user_name: Option<String>,
    pub csrf: String,
    pub langs: Vec<LangLink>,
    pub version: &'static str,
    pub home_current: bool,
}

impl Chrome {
    pub fn new(t: &Tr<'_>, ctx: &RequestCtx) -> Chrome {
        let nav = match &ctx.caller {
            Some(c) => navigation(c)
                .into_iter()
                .map(|cap| NavItem {
                    label: t.t(&format!("cap-{}", cap.as_str())),
                    href: cap.path(),
                    current: cap.path().is_some_and(|p| ctx.path.starts_with(p)),
                })
                .collect(),
            None => Vec::new(),
        };
        let langs = Language::ALL
            .into_iter()
            .map(|l| LangLink {
                code: l.code(),
                name: l.native_name(),
                href: format!("{}?lang={}", ctx.path, l.code()),
                current: l == ctx.lang,
            })
            .collect();
        Chrome {
            nav,
            user_name: ctx.caller.as_ref().map(|c| c.display_name.clone()),
            csrf: ctx.csrf.clone(),
            langs,
            version: env!("CARGO_PKG_VERSION"),
            home_current: ctx.path == "/",
        }
    }
}

/// What a person typed into one of a page's forms when it came back with errors: the page shows
/// it again in that form (opened, if it folds), so nothing typed is lost (issue 15, item 4).
#[derive(Default)]
pub struct Sent {
    form: String,
    values: Vec<(String, String)>,
}

impl Sent {
    /// `form` names the form on its page (`vehicle`, `line:<job id>`); `values` are its fields.
    pub fn new(form: impl Into<String>, values: Vec<(String, String)>) -> Sent {
        Sent {
            form: form.into(),
            values,
        }
    }
    /// Whether this form is the one that came back.
    pub fn is(&self, form: &str) -> bool {
        !self.form.is_empty() && self.form == form
    }
    /// What was typed into `name` of `form`, or `default` when that form was not sent.
    pub fn or<'a>(&'a self, form: &str, name: &str, default: &'a str) -> &'a str {
        if self.is(form) {
            field(&self.values, name)
        } else {
            default
        }
    }
    /// What was typed into `name` of `form` (empty when it was not sent).
    pub fn get(&self, form: &str, name: &str) -> &str {
        self.or(form, name, "")
    }
    /// Whether `value` was the choice in `name` of `form` (a select or radio shown again).
    pub fn chose(&self, form: &str, name: &str, value: &str) -> bool {
        self.is(form) && field(&self.values, name) == value
    }
}

/// Field errors of a form, shown next to their fields and in a summary.
#[derive(Default)]
pub struct FormErrors(pub Vec<FieldError>);

impl FormErrors {
    /// The translated message for `field`, if it broke a rule.
    pub fn of(&self, t: &Tr<'_>, field: &str) -> Option<String> {
        self.0
            .iter()
            .find(|e| e.field == field || e.field.ends_with(&format!(".{field}")))
            .map(|e| human_error(t, e))
    }
    /// Whether a field under `prefix` (`photos` for `photos.2.data`) has an error.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.0
            .iter()
            .any(|e| e.field.split('.').next() == Some(prefix))
    }

    pub fn has(&self, field: &str) -> bool {
        self.0
            .iter()
            .any(|e| e.field == field || e.field.ends_with(&format!(".{field}")))
    }

    /// Each error as a sentence in the reader's language about what they typed: a message made for
    /// the field and rule (`err-starts-at-required`), else the field's label with the rule's
    /// sentence, else the rule's sentence. The API's developer text never reaches a page.
    pub fn messages(&self, t: &Tr<'_>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for e in &self.0 {
            let m = human_error(t, e);
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The reader's time zone: that of the first organisation they work at (Oslo when none).
pub(crate) async fn reader_zone(
    state: &AppState,
    s: &SignedIn,
) -> Result<aftersales_domain::calendar::Zone, StoreError> {
    match s
        .caller
        .scope
        .orgs_with(aftersales_domain::org::Permission::OrgRead)
        .first()
    {
        Some(org) => state.store.org().zone_of(org).await,
        None => Ok(aftersales_domain::calendar::Zone::OSLO),
    }
}

/// An instant as the reader's clock shows it: `2026-11-23 09:00`.
pub(crate) fn local_time(
    zone: aftersales_domain::calendar::Zone,
    at: time::OffsetDateTime,
) -> String {
    let l = zone.local(at);
    format!("{} {:02}:{:02}", l.date(), l.hour(), l.minute())
}

/// One field error as a person reads it (see [`FormErrors::messages`]).
pub fn human_error(t: &Tr<'_>, e: &FieldError) -> String {
    // `lines.0.unit_price` and `memberships[0].role` are about the unit price and the role.
    let last = e
        .field
        .rsplit(['.', ']'])
        .find(|p| !p.is_empty() && !p.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or(&e.field);
    let name = last.split('[').next().unwrap_or(last).replace('_', "-");
    if let Some(key) = e.hint.filter(|k| t.has(k)) {
        return t.t(key);
    }
    let rule = e.rule.as_str();
    let specific = format!("err-{name}-{rule}");
    if t.has(&specific) {
        return t.t(&specific);
    }
    let sentence = t.t(&format!("rule-{rule}"));
    let label = format!("field-{name}");
    if t.has(&label) {
        format!("{}: {sentence}", t.t(&label))
    } else {
        sentence
    }
}

pub fn render<T: Template>(tpl: &T) -> Response {
    match tpl.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    status: u16,
    message: String,
    /// What exactly was wrong (bad input: each field and its rule, in the reader's language).
    details: Vec<String>,
}

pub fn error_page(state: &AppState, lang: Language, status: StatusCode, key: &str) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang,
    };
    let ctx = RequestCtx {
        caller: None,
        lang,
        csrf: String::new(),
        path: "/".into(),
        ip: None,
    };
    let page = ErrorPage {
        chrome: Chrome::new(&t, &ctx),
        status: status.as_u16(),
        message: t.t(key),
        details: Vec::new(),
        t,
    };
    (status, render(&page)).into_response()
}

/// An error page inside a signed-in request (keeps navigation).
pub fn error_for(state: &AppState, ctx: &RequestCtx, status: StatusCode, key: &str) -> Response {
    error_with(state, ctx, status, key, &[])
}

/// The error page with what exactly was wrong: each field and the rule it broke.
fn error_with(
    state: &AppState,
    ctx: &RequestCtx,
    status: StatusCode,
    key: &str,
    errors: &[FieldError],
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: ctx.lang,
    };
    // The language links lead home: an error page does not echo the path it was asked for.
    let ctx = RequestCtx {
        path: "/".into(),
        ..ctx.clone()
    };
    let page = ErrorPage {
        chrome: Chrome::new(&t, &ctx),
        status: status.as_u16(),
        message: t.t(key),
        details: FormErrors(errors.to_vec()).messages(&t),
        t,
    };
    (status, render(&page)).into_response()
}

/// Unwraps a store result inside a page handler: an error returns the friendly error page (and is
/// logged, with the request's id, by [`store_error`]), never an empty list.
macro_rules! or_page {
    ($state:expr, $ctx:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $crate::ui::store_error(&$state, $ctx, e),
        }
    };
}
pub(crate) use or_page;

/// Maps a store error to a page; validation errors are handled by the forms themselves.
pub fn store_error(state: &AppState, ctx: &RequestCtx, e: StoreError) -> Response {
    match e {
        StoreError::NotFound => error_for(state, ctx, StatusCode::NOT_FOUND, "error-not-found"),
        StoreError::Forbidden(_) => error_for(state, ctx, StatusCode::FORBIDDEN, "error-forbidden"),
        StoreError::Conflict { .. } => {
            error_for(state, ctx, StatusCode::CONFLICT, "error-conflict")
        }
        StoreError::Invalid(e) => error_with(
            state,
            ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            "error-invalid",
            &e.0,
        ),
        other => {
            tracing::error!(request_id = %crate::request_id(), error = %other, "store error in UI");
            error_for(
                state,
                ctx,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-internal",
            )
        }
    }
}

async fn not_found(State(state): State<AppState>, ctx: RequestCtx) -> Response {
    error_for(&state, &ctx, StatusCode::NOT_FOUND, "error-not-found")
}

/// Parses an urlencoded form body into pairs (repeated keys kept in order).
/// The link to the next page of a list: the same query with `key` set to the page's cursor.
pub(crate) fn next_page(path: &str, q: &[(String, String)], key: &str, cursor: &str) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in q.iter().filter(|(k, _)| k != key) {
        out.append_pair(k, v);
    }
    out.append_pair(key, cursor);
    format!("{path}?{}", out.finish())
}

/// What follows a store call behind a form: `ok` with what it answered; on invalid input the page
/// again, rendered by `again` with the errors (it keeps what was typed); any other failure is the
/// error page (logged with the request id).
pub(crate) async fn answer<T, F, Fut>(
    state: &AppState,
    s: &SignedIn,
    r: Result<T, StoreError>,
    ok: impl FnOnce(T) -> Response,
    again: F,
) -> Response
where
    F: FnOnce(FormErrors) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    match r {
        Ok(v) => ok(v),
        Err(StoreError::Invalid(e)) => again(FormErrors(e.0)).await,
        Err(e) => store_error(state, &s.ctx, e),
    }
}

/// After a form: to `done` when it worked, else as [`answer`].
pub(crate) async fn after_form<F, Fut>(
    state: &AppState,
    s: &SignedIn,
    r: Result<(), StoreError>,
    done: &str,
    again: F,
) -> Response
where
    F: FnOnce(FormErrors) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    answer(state, s, r, |()| see_other(done), again).await
}

/// The organisations where the reader holds `p`, with their names: the choice of "on behalf of"
/// in a form (an organisation out of reach is left out).
pub(crate) async fn orgs_named(
    state: &AppState,
    s: &SignedIn,
    p: aftersales_domain::org::Permission,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut out = Vec::new();
    for id in s.caller.scope.orgs_with(p) {
        match state
            .store
            .org()
            .get_organisation(&s.caller.scope, &id)
            .await
        {
            Ok(o) => out.push((o.id, o.name)),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Rows a list page shows.
pub(crate) const PAGE_ROWS: i64 = 50;

/// Largest form with files a signed-in user may send (a driver's hand-over photos of two cars;
/// the run sheet makes large photos smaller before sending).
pub const MAX_UPLOAD: usize = 64 * 1024 * 1024;

/// The routes that take files (a driver's hand-over, dealer-standards evidence): only they read a
/// body up to [`MAX_UPLOAD`].
pub fn takes_files(path: &str) -> bool {
    // Evidence of dealer standards: an audit's sheet, an action's closing, a catalogue file.
    if path == "/network/catalogue"
        || path == "/training/records"
        || path
            .strip_prefix("/network/audits/")
            .is_some_and(|t| t.contains("/answers/"))
        || path
            .strip_prefix("/network/actions/")
            .is_some_and(|t| t.ends_with("/submit"))
    {
        return true;
    }
    let tail = path
        .strip_prefix("/logistics/jobs/")
        .or_else(|| path.strip_prefix("/api/v1/transport-jobs/"));
    tail.and_then(|t| t.strip_suffix("/status"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// A form's files: field name and bytes.
pub type Files = Vec<(String, Vec<u8>)>;

/// A form's text fields and its files (empty file inputs left out), whether the browser sent it
/// urlencoded or as `multipart/form-data`.
pub fn form_with_files(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> (Vec<(String, String)>, Files) {
    let (fields, files) = form_with_named_files(headers, body);
    (
        fields,
        files.into_iter().map(|(f, _, data)| (f, data)).collect(),
    )
}

/// A form's files with the names the browser gave them: field, file name, bytes.
pub type NamedFiles = Vec<(String, String, Vec<u8>)>;

/// Like [`form_with_files`], keeping each file's name (evidence is downloaded under it).
pub fn form_with_named_files(
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> (Vec<(String, String)>, NamedFiles) {
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::multipart::boundary);
    let Some(parts) = boundary.and_then(|b| crate::multipart::parse(&b, body)) else {
        return (form_pairs(body), Vec::new());
    };
    let (mut fields, mut files) = (Vec::new(), Vec::new());
    for p in parts {
        match p.filename {
            Some(_) if p.data.is_empty() => {}
            Some(name) => files.push((p.name, name, p.data)),
            None => fields.push((p.name, String::from_utf8_lossy(&p.data).into_owned())),
        }
    }
    (fields, files)
}

pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Whether the caller administers at least one organisation.
pub fn is_admin(caller: &Caller) -> bool {
    !caller.scope.orgs_with(Permission::UserManage).is_empty()
}

pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

#[cfg(test)]
mod tests {
    /// `ROUTES` (walked by the isolation test) lists exactly the routes the router serves.
    #[test]
    fn routes_list_matches_the_router() {
        let src = include_str!("mod.rs");
        let router = &src[src.find("pub fn router").unwrap()..src.find("static APP_CSS").unwrap()];
        let mut served: Vec<(String, String)> = Vec::new();
        let flat: String = router.split_whitespace().collect::<Vec<_>>().join("");
        for call in flat.split(".route(").skip(1) {
            let path = call
                .trim_start_matches('"')
                .split('"')
                .next()
                .unwrap()
                .to_string();
            let handlers = call.split_once("\",").unwrap().1;
            for (m, needle) in [("GET", "get("), ("POST", "post(")] {
                if handlers.starts_with(needle) || handlers.contains(&format!(".{needle}")) {
                    served.push((m.to_string(), path.clone()));
                }
            }
        }
        let mut listed: Vec<(String, String)> = super::ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        served.sort();
        listed.sort();
        assert_eq!(served, listed);
    }
}

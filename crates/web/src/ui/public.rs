//! The customer's own pages, without an account: the status page of a repair order (approve or
//! decline added work there), the satisfaction survey, and online booking. Tokens in the path
//! are the only key; a wrong token is simply not found. Forms carry the pre-session CSRF token.

use aftersales_domain::i18n::Language;
use aftersales_domain::workshop::{Approval, RoStatus};
use aftersales_store::public::{BookingPoint, SelfBooking, StatusPage, SurveyPage};
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::workshop::local;
use super::{error_page, field, form_pairs, render, see_other, Chrome, FormErrors, RequestCtx};
use crate::i18n::Tr;
use crate::AppState;

fn query(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref()
        .map(|q| form_pairs(q.as_bytes()))
        .unwrap_or_default()
}

/// The page speaks the customer's language unless they chose another with `?lang=`.
fn page_lang(ctx: &RequestCtx, q: &[(String, String)], customer: Language) -> Language {
    if q.iter().any(|(k, _)| k == "lang") {
        ctx.lang
    } else {
        customer
    }
}

#[derive(Template)]
#[template(path = "status_page.html")]
struct StatusView<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    token: String,
    page: StatusPage,
    eta: Option<String>,
    appointment: Option<String>,
    timeline: Vec<(String, RoStatus)>,
    decided: bool,
    errors: FormErrors,
    /// A decision asked for and waiting for its confirmation: (job id, approve).
    confirm: Option<(String, bool)>,
}

impl StatusView<'_> {
    /// Money in the reader's language and number format (`10 380,00 kr`).
    fn money(&self, m: &aftersales_domain::money::Money) -> String {
        let minor = aftersales_domain::money::parse_centi("amount", &m.amount, i64::MIN, i64::MAX)
            .unwrap_or(0);
        aftersales_domain::money::format_money(minor, &m.currency, self.t.lang)
    }
    /// A quantity with its unit: `2,4 t` of labour, `2 stk` of parts.
    fn quantity(&self, l: &aftersales_store::public::PublicLine) -> String {
        let q = aftersales_domain::money::format_centi(l.quantity_centi);
        let q = q.strip_suffix(".00").unwrap_or(&q).to_string();
        let q = q
            .strip_suffix('0')
            .filter(|s| s.contains('.'))
            .unwrap_or(&q)
            .to_string();
        let q = if self.t.lang == aftersales_domain::i18n::Language::En {
            q
        } else {
            q.replace('.', ",")
        };
        let unit = if l.hours { "unit-hours" } else { "unit-pieces" };
        format!("{q}\u{a0}{}", self.t.t(unit))
    }
    /// A pickup or delivery in the customer's words: what, when, and where it stands.
    fn transport(&self, j: &aftersales_store::public::PublicTransport) -> String {
        let zone = self.page.zone;
        let hm = |t: time::OffsetDateTime| {
            let l = zone.local(t);
            format!("{:02}:{:02}", l.hour(), l.minute())
        };
        let day = aftersales_domain::notify::format_day(zone.local(j.window.0).date(), self.t.lang);
        let mut line = format!(
            "{} {day} {}–{}: {}",
            self.t.t(&format!("lg-kind-{}", j.kind.as_str())),
            hm(j.window.0),
            hm(j.window.1),
            self.t.t(&format!("lg-status-{}", j.status.as_str()))
        );
        if let Some((a, b)) = j.arriving {
            line += ", ";
            line.push_str(
                &self
                    .t
                    .with("sp-arriving", &[("from", &hm(a)), ("to", &hm(b))]),
            );
        }
        line
    }
    fn confirming(&self, job: &str) -> Option<bool> {
        self.confirm
            .as_ref()
            .filter(|(j, _)| j == job)
            .map(|(_, a)| *a)
    }
    fn status(&self, s: &RoStatus) -> String {
        self.t.t(&format!("ro-status-{}", s.as_str()))
    }
    fn approval(&self, a: &Approval) -> String {
        self.t.t(&format!("approval-{}", a.as_str()))
    }
    fn pending(&self, a: &Approval) -> bool {
        *a == Approval::Pending
    }
}

async fn status_view(
    state: &AppState,
    ctx: &RequestCtx,
    token: &str,
    q: &[(String, String)],
    errors: FormErrors,
    status: StatusCode,
) -> Response {
    status_view_with(state, ctx, token, q, errors, status, None).await
}

async fn status_view_with(
    state: &AppState,
    ctx: &RequestCtx,
    token: &str,
    q: &[(String, String)],
    errors: FormErrors,
    status: StatusCode,
    confirm: Option<(String, bool)>,
) -> Response {
    let page = match state.store.public().status_page(token).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => {
            return error_page(state, ctx.lang, StatusCode::NOT_FOUND, "error-not-found")
        }
        Err(e) => {
            tracing::error!(error = %e, "status page");
            return error_page(
                state,
                ctx.lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-internal",
            );
        }
    };
    let lang = page_lang(ctx, q, page.language);
    let t = Tr {
        i18n: &state.i18n,
        lang,
    };
    let ctx = RequestCtx {
        lang,
        ..ctx.clone()
    };
    let zone = page.zone;
    (
        status,
        render(&StatusView {
            chrome: Chrome::new(&t, &ctx),
            token: token.to_string(),
            eta: page.eta.map(|e| local(zone, e)),
            appointment: page.appointment.map(|(a, b, _)| {
                format!(
                    "{}–{}",
                    local(zone, a),
                    local(zone, b).split(' ').nth(1).unwrap_or("")
                )
            }),
            timeline: page
                .timeline
                .iter()
                .map(|(at, s)| (local(zone, *at), *s))
                .collect(),
            decided: q.iter().any(|(k, _)| k == "done"),
            page,
            errors,
            confirm,
            t,
        }),
    )
        .into_response()
}

pub async fn status_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(token): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    status_view(
        &state,
        &ctx,
        &token,
        &query(&q),
        FormErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn decide(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path((token, job)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let approve = field(&p, "approve") == "true";
    // One tap does not decide: the customer confirms with the amount in front of them.
    if field(&p, "confirm") != "yes" {
        return status_view_with(
            &state,
            &ctx,
            &token,
            &[],
            FormErrors::default(),
            StatusCode::OK,
            Some((job, approve)),
        )
        .await;
    }
    match state
        .store
        .public()
        .decide_on_status_page(&token, &job, approve, state.now())
        .await
    {
        Ok(()) => see_other(&format!("/s/{token}?done=1")),
        Err(StoreError::Invalid(e)) => {
            status_view(
                &state,
                &ctx,
                &token,
                &[],
                FormErrors(e.0),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(StoreError::NotFound) => {
            error_page(&state, ctx.lang, StatusCode::NOT_FOUND, "error-not-found")
        }
        Err(e) => {
            tracing::error!(error = %e, "status page decision");
            error_page(
                &state,
                ctx.lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-internal",
            )
        }
    }
}

#[derive(Template)]
#[template(path = "survey.html")]
struct SurveyView<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    token: String,
    page: SurveyPage,
    thanks: bool,
    errors: FormErrors,
    csat: String,
    nps: String,
    comment: String,
}

#[allow(clippy::too_many_arguments)]
async fn survey_view(
    state: &AppState,
    ctx: &RequestCtx,
    token: &str,
    q: &[(String, String)],
    form: (String, String, String),
    errors: FormErrors,
    thanks: bool,
    status: StatusCode,
) -> Response {
    let page = match state.store.public().survey(token).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => {
            return error_page(state, ctx.lang, StatusCode::NOT_FOUND, "error-not-found")
        }
        Err(e) => {
            tracing::error!(error = %e, "survey");
            return error_page(
                state,
                ctx.lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-internal",
            );
        }
    };
    let lang = page_lang(ctx, q, page.language);
    let t = Tr {
        i18n: &state.i18n,
        lang,
    };
    let ctx = RequestCtx {
        lang,
        ..ctx.clone()
    };
    (
        status,
        render(&SurveyView {
            chrome: Chrome::new(&t, &ctx),
            token: token.into(),
            page,
            thanks,
            errors,
            csat: form.0,
            nps: form.1,
            comment: form.2,
            t,
        }),
    )
        .into_response()
}

pub async fn survey(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(token): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = query(&q);
    let thanks = q.iter().any(|(k, _)| k == "thanks");
    survey_view(
        &state,
        &ctx,
        &token,
        &q,
        Default::default(),
        FormErrors::default(),
        thanks,
        StatusCode::OK,
    )
    .await
}

pub async fn answer_survey(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let p = form_pairs(&body);
    let form = (
        field(&p, "csat").to_string(),
        field(&p, "nps").to_string(),
        field(&p, "comment").to_string(),
    );
    match state
        .store
        .public()
        .answer_survey(&token, &form.0, &form.1, &form.2, state.now())
        .await
    {
        Ok(()) => see_other(&format!("/survey/{token}?thanks=1")),
        Err(StoreError::Invalid(e)) => {
            survey_view(
                &state,
                &ctx,
                &token,
                &[],
                form,
                FormErrors(e.0),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(StoreError::NotFound) => {
            error_page(&state, ctx.lang, StatusCode::NOT_FOUND, "error-not-found")
        }
        Err(e) => {
            tracing::error!(error = %e, "survey answer");
            error_page(
                &state,
                ctx.lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-internal",
            )
        }
    }
}

#[derive(Template)]
#[template(path = "book.html")]
struct BookView<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    points: Vec<BookingPoint>,
    sp: String,
    op: String,
    date: String,
    slots: Vec<(String, String)>,
    no_slot: Option<String>,
    form: SelfBooking,
    errors: FormErrors,
    /// The confirmation, and the status-page link when the person may see it here.
    done: Option<(String, Option<String>)>,
    refused: Option<String>,
}

impl BookView<'_> {
    fn point(&self) -> Option<&BookingPoint> {
        self.points.iter().find(|p| p.id == self.sp)
    }
}

#[allow(clippy::too_many_arguments)]
async fn book_view(
    state: &AppState,
    ctx: &RequestCtx,
    sp: String,
    op: String,
    date: String,
    form: SelfBooking,
    errors: FormErrors,
    done: Option<(String, Option<String>)>,
    refused: Option<String>,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: ctx.lang,
    };
    let points = super::or_page!(
        state,
        ctx,
        state.store.public().public_booking_points().await
    );
    let sp = if points.iter().any(|p| p.id == sp) {
        sp
    } else {
        points.first().map(|p| p.id.clone()).unwrap_or_default()
    };
    let zone = super::or_page!(state, ctx, state.store.org().zone_of(&sp).await);
    let day = time::Date::parse(
        date.trim(),
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok();
    let (mut slots, mut no_slot) = (Vec::new(), None);
    if let (Some(d), false) = (day, op.is_empty()) {
        match state
            .store
            .public()
            .public_availability(&sp, &op, d, state.now())
            .await
        {
            Ok(a) => {
                slots = a
                    .slots
                    .iter()
                    .map(|s| {
                        (
                            s.starts_at
                                .format(&time::format_description::well_known::Rfc3339)
                                .unwrap_or_default(),
                            local(zone, s.starts_at),
                        )
                    })
                    .collect();
                no_slot = a.reason.map(|r| {
                    t.t(&format!(
                        "ws-no-slot-{}",
                        serde_json::to_value(r)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    ))
                });
            }
            // A day that has passed or lies beyond the booking horizon is said so, not "fully booked".
            Err(StoreError::Invalid(e)) if e.0.iter().any(|f| f.field == "date") => {
                no_slot = Some(t.t("book-date-out-of-range"))
            }
            Err(StoreError::Invalid(_)) => no_slot = Some(t.t("ws-no-slot-fully-booked")),
            Err(e) => return super::store_error(state, ctx, e),
        }
    }
    let date = day
        .map(|d| d.to_string())
        .unwrap_or_else(|| (zone.local(state.now()).date() + time::Duration::days(1)).to_string());
    (
        status,
        render(&BookView {
            chrome: Chrome::new(&t, ctx),
            points,
            sp,
            op,
            date,
            slots,
            no_slot,
            form,
            errors,
            done,
            refused,
            t,
        }),
    )
        .into_response()
}

pub async fn book_form(
    State(state): State<AppState>,
    ctx: RequestCtx,
    RawQuery(q): RawQuery,
) -> Response {
    let q = query(&q);
    book_view(
        &state,
        &ctx,
        field(&q, "sp").into(),
        field(&q, "op").into(),
        field(&q, "date").into(),
        SelfBooking::default(),
        FormErrors::default(),
        None,
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn book(State(state): State<AppState>, ctx: RequestCtx, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let form = SelfBooking {
        service_point: field(&p, "sp").into(),
        operation: field(&p, "op").into(),
        starts_at: field(&p, "starts_at").into(),
        name: field(&p, "name").into(),
        email: field(&p, "email").into(),
        phone: field(&p, "phone").into(),
        registration: field(&p, "registration").into(),
        message: field(&p, "message").into(),
        pickup: field(&p, "pickup") == "on",
        address: field(&p, "address").into(),
        latitude: field(&p, "latitude").into(),
        longitude: field(&p, "longitude").into(),
    };
    let (sp, op, date) = (
        form.service_point.clone(),
        form.operation.clone(),
        field(&p, "date").to_string(),
    );
    let t = Tr {
        i18n: &state.i18n,
        lang: ctx.lang,
    };
    let ip = ctx.ip.clone().unwrap_or_else(|| "unknown".into());
    match state
        .store
        .public()
        .book_self_service(&form, ctx.lang, &ip, state.now())
        .await
    {
        Ok((b, token)) => {
            let zone = super::or_page!(state, &ctx, state.store.org().zone_of(&sp).await);
            let msg = {
                let mut args = fluent_bundle::FluentArgs::new();
                args.set("time", local(zone, b.starts_at));
                args.set("number", b.repair_order_number.clone());
                t.i18n.get(t.lang, "book-done", Some(&args))
            };
            book_view(
                &state,
                &ctx,
                sp,
                op,
                date,
                SelfBooking::default(),
                FormErrors::default(),
                Some((msg, token.map(|t| format!("/s/{t}")))),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(StoreError::Invalid(e)) => {
            book_view(
                &state,
                &ctx,
                sp,
                op,
                date,
                form,
                FormErrors(e.0),
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(StoreError::Taken(_)) => {
            book_view(
                &state,
                &ctx,
                sp,
                op,
                date,
                form,
                FormErrors::default(),
                None,
                Some(t.t("ws-taken")),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(StoreError::Forbidden(_)) => {
            book_view(
                &state,
                &ctx,
                sp,
                op,
                date,
                form,
                FormErrors::default(),
                None,
                Some(t.t("book-limit")),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "self-service booking");
            error_page(
                &state,
                ctx.lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-internal",
            )
        }
    }
}

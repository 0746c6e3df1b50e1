//! The public contact form: customers write to a service point without an account, in their
//! language. Spam resistance: the pre-session CSRF cookie (bots without cookies fail), a hidden
//! field people never fill in, a minimum time to fill the form, and a limit per client address.

use aftersales_store::cases::intake::{PublicServicePoint, WebInquiry};
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{field, form_pairs, render, Chrome, FormErrors, RequestCtx};
use crate::i18n::Tr;
use crate::AppState;

/// A person needs at least this long to fill in the form; a script does not.
const MIN_SECONDS: i64 = 3;

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    points: Vec<PublicServicePoint>,
    form: WebInquiry,
    errors: FormErrors,
    started: i64,
    done: Option<String>,
    refused: Option<String>,
}

async fn page(
    state: &AppState,
    ctx: &RequestCtx,
    form: WebInquiry,
    errors: FormErrors,
    done: Option<String>,
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
        state.store.cases().public_service_points().await
    );
    let started = state.now().unix_timestamp();
    (
        status,
        render(&ContactPage {
            chrome: Chrome::new(&t, ctx),
            points,
            form,
            errors,
            started,
            done,
            refused,
            t,
        }),
    )
        .into_response()
}

pub async fn form(State(state): State<AppState>, ctx: RequestCtx) -> Response {
    page(
        &state,
        &ctx,
        WebInquiry::default(),
        FormErrors::default(),
        None,
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn submit(State(state): State<AppState>, ctx: RequestCtx, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let form = WebInquiry {
        service_point: field(&p, "service_point").into(),
        name: field(&p, "name").into(),
        email: field(&p, "email").into(),
        phone: field(&p, "phone").into(),
        vehicle: field(&p, "vehicle").into(),
        subject: field(&p, "subject").into(),
        message: field(&p, "message").into(),
    };
    let t = Tr {
        i18n: &state.i18n,
        lang: ctx.lang,
    };
    let started = field(&p, "started").parse::<i64>().unwrap_or(i64::MAX);
    let too_fast = state.now().unix_timestamp().saturating_sub(started) < MIN_SECONDS;
    if !field(&p, "website").is_empty() || too_fast {
        // Looks like a robot: answer politely, take nothing in.
        return page(
            &state,
            &ctx,
            form,
            FormErrors::default(),
            None,
            Some(t.t("contact-refused")),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let ip = ctx.ip.clone().unwrap_or_else(|| "unknown".into());
    match state
        .store
        .cases()
        .submit_web_inquiry(&form, &ip, state.now())
        .await
    {
        Ok(number) => {
            page(
                &state,
                &ctx,
                WebInquiry::default(),
                FormErrors::default(),
                Some(t.t1("contact-thanks", "number", &number)),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(StoreError::Invalid(e)) => {
            page(
                &state,
                &ctx,
                form,
                FormErrors(e.0),
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(StoreError::Forbidden(_)) => {
            page(
                &state,
                &ctx,
                form,
                FormErrors::default(),
                None,
                Some(t.t("contact-limit")),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "web inquiry failed");
            page(
                &state,
                &ctx,
                form,
                FormErrors::default(),
                None,
                Some(t.t("error-unavailable")),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await
        }
    }
}

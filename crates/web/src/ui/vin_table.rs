//! The VIN table page: every manufacturer code with its brand, check-digit rule and models; an
//! administrator of a brand's headquarters adds or changes the brand's codes here.

use aftersales_store::crm::{WmiEntry, WmiInput, WmiModel};
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{field, form_pairs, render, store_error, Chrome, FormErrors, Sent, SignedIn};
use crate::i18n::Tr;
use crate::AppState;

#[derive(Template)]
#[template(path = "vin_table.html")]
struct VinTablePage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    entries: Vec<WmiEntry>,
    /// Brands whose codes the reader keeps (codes); empty hides the form.
    brands: Vec<String>,
    errors: FormErrors,
    sent: Sent,
    done: bool,
}

async fn page(
    state: &AppState,
    s: &SignedIn,
    (errors, sent): (FormErrors, Sent),
    status: StatusCode,
    done: bool,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let crm = state.store.crm();
    let entries = match crm.wmi_table(&s.caller.scope).await {
        Ok(e) => e,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let mut brands: Vec<String> = Vec::new();
    for b in entries.iter().map(|e| e.brand_code.clone()) {
        if brands.contains(&b) {
            continue;
        }
        match crm.keeps_wmis_of(&s.caller.scope, &b).await {
            Ok(true) => brands.push(b),
            Ok(false) => {}
            Err(e) => return store_error(state, &s.ctx, e),
        }
    }
    (
        status,
        render(&VinTablePage {
            chrome: Chrome::new(&t, &s.ctx),
            entries,
            brands,
            errors,
            sent,
            done,
            t,
        }),
    )
        .into_response()
}

pub async fn show(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let q = form_pairs(q.unwrap_or_default().as_bytes());
    let done = field(&q, "done") == "wmi";
    page(&state, &s, Default::default(), StatusCode::OK, done).await
}

/// Models are typed one per line as `PREFIX = Model name`.
pub async fn save(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let mut errors = Vec::new();
    let mut models = Vec::new();
    for (i, line) in field(&p, "models").lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match line.split_once('=') {
            Some((prefix, model)) => models.push(WmiModel {
                vds_prefix: prefix.trim().to_string(),
                model: model.trim().to_string(),
            }),
            None => errors.push(aftersales_domain::FieldError::new(
                format!("models.{i}"),
                aftersales_domain::Rule::Format,
                "each line is a descriptor prefix, =, and the model",
            )),
        }
    }
    let input = WmiInput {
        brand_code: field(&p, "brand_code").to_string(),
        manufacturer: field(&p, "manufacturer").to_string(),
        check_digit_required: field(&p, "check_digit_required") == "yes",
        models,
    };
    let r = if errors.is_empty() {
        state
            .store
            .crm()
            .set_wmi(&s.caller.scope, field(&p, "wmi"), &input)
            .await
            .map(|_| ())
    } else {
        Err(StoreError::Invalid(aftersales_domain::ValidationErrors(
            errors,
        )))
    };
    super::after_form(&state, &s, r, "/vin-table?done=wmi", |errors| {
        page(
            &state,
            &s,
            (errors, Sent::new("wmi", p)),
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
        )
    })
    .await
}

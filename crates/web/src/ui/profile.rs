//! The caller's own page: name, e-mail and language, password, API tokens for machine clients.

use aftersales_domain::i18n::Language;
use aftersales_domain::user::NewPassword;
use aftersales_store::auth::ApiToken;
use aftersales_store::user::{User, UserPatch};
use aftersales_store::StoreError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{
    append_cookie, field, form_pairs, render, see_other, store_error, Chrome, FormErrors, SignedIn,
};
use crate::auth::{set_cookie, LANG_COOKIE};
use crate::i18n::Tr;
use crate::AppState;

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage<'a> {
    /// The message says why something was refused (shown as an alert, not a confirmation).
    refused: bool,
    t: Tr<'a>,
    chrome: Chrome,
    me: User,
    tokens: Vec<ApiToken>,
    new_secret: Option<String>,
    errors: FormErrors,
    saved: Option<String>,
    languages: Vec<(&'static str, &'static str)>,
}

impl ProfilePage<'_> {
    fn day(&self, t: &time::OffsetDateTime) -> String {
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
    }
}

async fn page_with(
    state: &AppState,
    s: &SignedIn,
    errors: FormErrors,
    new_secret: Option<String>,
    saved: Option<&str>,
    status: StatusCode,
) -> Response {
    let t = Tr {
        i18n: &state.i18n,
        lang: s.ctx.lang,
    };
    let me = match state.store.users().me(&s.caller.scope).await {
        Ok(m) => m,
        Err(e) => return store_error(state, &s.ctx, e),
    };
    let tokens = super::or_page!(
        state,
        &s.ctx,
        state.store.auth().list_api_tokens(&s.caller).await
    );
    let page = ProfilePage {
        chrome: Chrome::new(&t, &s.ctx),
        me,
        tokens,
        new_secret,
        errors,
        saved: saved.map(|k| t.t(k)),
        refused: status.is_client_error(),
        languages: Language::ALL.map(|l| (l.code(), l.native_name())).to_vec(),
        t,
    };
    (status, render(&page)).into_response()
}

pub async fn page(State(state): State<AppState>, s: SignedIn, RawQuery(q): RawQuery) -> Response {
    let saved = q
        .is_some_and(|q| q.split('&').any(|kv| kv == "saved=1"))
        .then_some("profile-saved");
    page_with(
        &state,
        &s,
        FormErrors::default(),
        None,
        saved,
        StatusCode::OK,
    )
    .await
}

pub async fn update(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let patch: UserPatch = match UserPatch::parse(
        Some(field(&p, "display_name")),
        Some(Some(field(&p, "email"))),
        Some(field(&p, "language")),
        None,
    ) {
        Ok(p) => p,
        Err(e) => {
            return page_with(
                &state,
                &s,
                FormErrors(e.0),
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let Ok(version) = field(&p, "version").parse::<i64>() else {
        return page_with(
            &state,
            &s,
            FormErrors::default(),
            None,
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let lang = patch.language;
    match state
        .store
        .users()
        .update_user(
            &s.caller.scope,
            &s.caller.user_id,
            patch,
            version,
            state.now(),
        )
        .await
    {
        Ok(_) => {
            let mut res = see_other("/profile?saved=1");
            // The saved preference wins over an earlier language switch.
            if let Some(l) = lang {
                append_cookie(
                    &mut res,
                    &set_cookie(&state, LANG_COOKIE, l.code(), 365 * 24 * 3600, "Lax"),
                );
            }
            res
        }
        Err(StoreError::Invalid(e)) => {
            page_with(
                &state,
                &s,
                FormErrors(e.0),
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

pub async fn password(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    let new = match NewPassword::parse("new_password", field(&p, "new_password")) {
        Ok(n) => n,
        Err(e) => {
            return page_with(
                &state,
                &s,
                FormErrors(vec![e]),
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    match state
        .store
        .auth()
        .change_own_password(
            &s.caller,
            field(&p, "current_password"),
            &new,
            field(&p, "revoke_tokens") == "on",
            state.now(),
        )
        .await
    {
        Ok(()) => {
            page_with(
                &state,
                &s,
                FormErrors::default(),
                None,
                Some("profile-password-changed"),
                StatusCode::OK,
            )
            .await
        }
        Err(StoreError::TooManyAttempts { .. }) => {
            page_with(
                &state,
                &s,
                FormErrors::default(),
                None,
                Some("profile-too-many-attempts"),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await
        }
        Err(StoreError::Invalid(e)) => {
            page_with(
                &state,
                &s,
                FormErrors(e.0),
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

pub async fn create_token(State(state): State<AppState>, s: SignedIn, body: Bytes) -> Response {
    let p = form_pairs(&body);
    match state
        .store
        .auth()
        .create_api_token(&s.caller, field(&p, "token_name"), None, state.now())
        .await
    {
        Ok((_, secret)) => {
            page_with(
                &state,
                &s,
                FormErrors::default(),
                Some(secret),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(StoreError::Invalid(mut e)) => {
            for f in &mut e.0 {
                if f.field == "name" {
                    f.field = "token_name".into();
                }
            }
            page_with(
                &state,
                &s,
                FormErrors(e.0),
                None,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<String>,
) -> Response {
    match state
        .store
        .auth()
        .revoke_api_token(&s.caller, &id, state.now())
        .await
    {
        Ok(()) => see_other("/profile"),
        Err(e) => store_error(&state, &s.ctx, e),
    }
}

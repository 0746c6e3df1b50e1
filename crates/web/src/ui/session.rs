//! Sign-in and sign-out pages.

use aftersales_store::auth::LoginError;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{append_cookie, field, form_pairs, render, see_other, Chrome, RequestCtx, SignedIn};
use crate::auth::{cookie, session_cookie, set_cookie, SESSION_COOKIE};
use crate::i18n::Tr;
use crate::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: Tr<'a>,
    chrome: Chrome,
    username: String,
    next: String,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

/// Only same-site paths are followed after sign-in (no open redirect): one leading `/`, then no
/// second `/` or `\\`, no spaces or control characters (browsers drop tabs, turning `/\t/x` into `//x`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n[1..].starts_with(['/', '\\'])
                && !n
                    .chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
                && n.parse::<axum::http::uri::PathAndQuery>().is_ok() =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

pub async fn login_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<NextParam>,
) -> Response {
    if ctx.caller.is_some() {
        return see_other(&safe_next(q.next.as_deref()));
    }
    let t = Tr {
        i18n: &state.i18n,
        lang: ctx.lang,
    };
    render(&LoginPage {
        chrome: Chrome::new(&t, &ctx),
        t,
        username: String::new(),
        next: safe_next(q.next.as_deref()),
        error: None,
    })
}

pub async fn login(State(state): State<AppState>, ctx: RequestCtx, body: Bytes) -> Response {
    let pairs = form_pairs(&body);
    let username = field(&pairs, "username").to_string();
    let next = safe_next(Some(field(&pairs, "next")));
    let t = Tr {
        i18n: &state.i18n,
        lang: ctx.lang,
    };
    let result = state
        .store
        .auth()
        .login(
            &username,
            field(&pairs, "password"),
            ctx.ip.as_deref(),
            state.now(),
            &state.config.login,
        )
        .await;
    match result {
        Ok(session) => {
            let mut res = see_other(&next);
            // No Max-Age: the server's sliding expiry decides how long the session lives.
            append_cookie(&mut res, &session_cookie(&state, &session.raw_id));
            res
        }
        Err(e) => {
            let mut wait = None;
            let (status, message) = match e {
                LoginError::InvalidCredentials => (StatusCode::UNAUTHORIZED, t.t("login-invalid")),
                LoginError::RateLimited { retry_after_secs } => {
                    wait = Some(retry_after_secs);
                    // Whole minutes, rounded up: "wait 2 minutes".
                    let minutes = ((retry_after_secs + 59) / 60).max(1);
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        t.n("login-rate-limited", usize::try_from(minutes).unwrap_or(1)),
                    )
                }
                LoginError::Store(err) => {
                    tracing::error!(error = %err, "login failed");
                    (StatusCode::SERVICE_UNAVAILABLE, t.t("error-unavailable"))
                }
            };
            let page = LoginPage {
                chrome: Chrome::new(&t, &ctx),
                error: Some(message),
                t,
                username,
                next,
            };
            let mut res = (status, render(&page)).into_response();
            if let Some(secs) = wait {
                if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
                    res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
                }
            }
            res
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    signed: SignedIn,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(sid) = cookie(&headers, SESSION_COOKIE) {
        if let Err(e) = state
            .store
            .auth()
            .logout(&signed.caller, sid, signed.ctx.ip.as_deref(), state.now())
            .await
        {
            tracing::error!(error = %e, "logout failed");
        }
    }
    let mut res = see_other("/login");
    append_cookie(&mut res, &set_cookie(&state, SESSION_COOKIE, "", 0, "Lax"));
    res
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/users?x=1")), "/users?x=1");
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil",
            "https://evil.example",
            "/a\r\nSet-Cookie: x",
            "/ /x",
            "x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

//! Who is calling: session cookies (UI and browser API use) and bearer API tokens (machine clients),
//! resolved once per request by a middleware into a `Caller` (with its `Scope`) in the request's
//! extensions. CSRF: cookie-authenticated unsafe requests must carry the session's token.

use std::net::SocketAddr;

use aftersales_domain::i18n::Language;
use aftersales_store::auth::{AuthVia, Caller};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "as_session";
/// Double-submit token for forms shown before sign-in (the login form).
pub const PRE_SESSION_CSRF_COOKIE: &str = "as_csrf";
pub const LANG_COOKIE: &str = "as_lang";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, Path=/, SameSite as given, Secure behind TLS.
pub fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    max_age_secs: i64,
    same_site: &str,
) -> String {
    let secure = if state.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{secure}"
    )
}

/// The session cookie: no Max-Age, so it lasts while the browser runs and the server's sliding
/// expiry alone decides when the session ends.
pub fn session_cookie(state: &AppState, raw_id: &str) -> String {
    let secure = if state.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!("{SESSION_COOKIE}={raw_id}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The client's address: the socket peer, or behind a trusted proxy the last `X-Forwarded-For`
/// entry (the one that proxy appended; earlier entries come from the client and can be forged).
pub fn client_ip(
    state: &AppState,
    req_headers: &HeaderMap,
    peer: Option<&ConnectInfo<SocketAddr>>,
) -> Option<String> {
    if state.config.trust_forwarded_for {
        if let Some(first) = req_headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next_back())
        {
            return Some(first.trim().to_string());
        }
    }
    peer.map(|c| c.0.ip().to_string())
}

/// The client address of this request (set by the auth middlewares).
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// API middleware: resolves a bearer token or a session cookie; enforces CSRF for cookie callers.
pub async fn api_auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let now = state.now();
    let ip = client_ip(
        &state,
        req.headers(),
        req.extensions().get::<ConnectInfo<SocketAddr>>(),
    );
    req.extensions_mut().insert(ClientIp(ip));
    let resolved = if let Some(token) = bearer(req.headers()) {
        match state.store.auth().resolve_api_token(token, now).await {
            Ok(Some(c)) => Some(c),
            Ok(None) => {
                return ApiError::unauthorized()
                    .detail("the API token is unknown, expired or revoked")
                    .into_response()
            }
            Err(e) => return ApiError::from(e).into_response(),
        }
    } else if let Some(sid) = cookie(req.headers(), SESSION_COOKIE) {
        match state
            .store
            .auth()
            .resolve_session(sid, now, &state.config.login)
            .await
        {
            Ok(c) => c,
            Err(e) => return ApiError::from(e).into_response(),
        }
    } else {
        None
    };
    if let Some(caller) = resolved {
        if let AuthVia::Session { csrf_token } = &caller.via {
            if is_unsafe(req.method()) {
                let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                if !sent.is_some_and(|s| constant_time_eq(s, csrf_token)) {
                    return ApiError::csrf().into_response();
                }
            }
        }
        req.extensions_mut().insert(caller);
    }
    next.run(req).await
}

/// The signed-in caller of an API request; 401 problem+json when there is none.
pub struct ApiCaller(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for ApiCaller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(ApiCaller)
            .ok_or_else(ApiError::unauthorized)
    }
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The language of a response: `?lang=` (remembered in a cookie), then the cookie, then the
/// user's preference, then `Accept-Language`, then English.
pub fn negotiate_language(
    headers: &HeaderMap,
    query_lang: Option<&str>,
    caller: Option<&Caller>,
) -> Language {
    query_lang
        .and_then(Language::from_tag)
        .or_else(|| cookie(headers, LANG_COOKIE).and_then(Language::from_tag))
        .or_else(|| caller.map(|c| c.language))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Language::negotiate)
        })
        .unwrap_or(Language::En)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_and_language() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; as_lang=pt; as_session=abc"),
        );
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("nb-NO"));
        assert_eq!(cookie(&h, "as_session"), Some("abc"));
        assert_eq!(cookie(&h, "missing"), None);
        assert_eq!(negotiate_language(&h, None, None), Language::Pt);
        assert_eq!(negotiate_language(&h, Some("en"), None), Language::En);
        h.remove(header::COOKIE);
        assert_eq!(negotiate_language(&h, None, None), Language::Nb);
        assert!(
            constant_time_eq("abc", "abc")
                && !constant_time_eq("abc", "abd")
                && !constant_time_eq("a", "ab")
        );
    }
}

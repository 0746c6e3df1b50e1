//! Errors of the HTTP layer. The API answers RFC 9457 problem+json with a stable `type`, the
//! field and the rule; the UI renders a friendly page (see `ui::error_page`). Which to use where:
//! API handlers return `Result<_, ApiError>`; store errors convert with `?`.

use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::ValidationErrors;
use aftersales_store::auth::LoginError;
use aftersales_store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of problem, `urn:aftersales:problem:<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Each field that broke a rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
    pub retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, slug: &'static str, title: &'static str) -> Self {
        Self {
            status,
            slug,
            title,
            detail: None,
            errors: Vec::new(),
            retry_after: None,
        }
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Sign-in required")
            .detail("send a session cookie or an `Authorization: Bearer` API token")
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found")
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden").detail(detail)
    }
    pub fn csrf() -> Self {
        Self::new(StatusCode::FORBIDDEN, "csrf", "Missing or wrong CSRF token").detail(
            "requests signed in by cookie must send the session's token in the X-CSRF-Token header",
        )
    }
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid input",
            )
            .detail(detail)
        }
    }
    pub fn field(field: impl Into<String>, rule: Rule, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, rule, message)])
    }
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        )
        .detail("the error was logged; try again, and tell the operator if it persists")
    }
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:aftersales:problem:{}", self.slug),
            title: self.title.to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut res = (self.status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::invalid(e.0)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(v) => v.into(),
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Forbidden(d) => ApiError::forbidden(d),
            StoreError::Conflict { current } => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, "stale-version", "The resource changed since you read it")
                    .detail(format!("the current version is {current}; read it again and retry with If-Match: \"{current}\""))
            }
            StoreError::Refused(r) => ApiError::field("technician_id", Rule::NotAllowed, r.message()),
            StoreError::TooManyAttempts { retry_after_secs } => ApiError {
                retry_after: Some(retry_after_secs),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    "Too many wrong attempts",
                )
                .detail(format!("try again in {} minutes", retry_after_secs / 60))
            },
            StoreError::Taken(d) => {
                ApiError::new(StatusCode::CONFLICT, "slot-taken", "This time is no longer free").detail(d)
            }
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::internal()
            }
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "Unknown username or wrong password",
            ),
            LoginError::RateLimited { retry_after_secs } => ApiError {
                retry_after: Some(retry_after_secs),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    "Too many failed sign-in attempts",
                )
                .detail(format!("try again in {} minutes", retry_after_secs / 60))
            },
            LoginError::Store(e) => e.into(),
        }
    }
}

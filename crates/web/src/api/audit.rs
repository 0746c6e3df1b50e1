//! API of the security audit log (read-only: there is no route that changes it).

use aftersales_domain::validation::Rule;
use aftersales_store::audit::{AuditEvent, AuditKind};
use aftersales_store::page_limit;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::ApiQuery;
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only events of this kind, e.g. `login-failed`.
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "super::page_size")]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

/// Security events (sign-ins, failures, role changes, …) of the organisations you administer, newest first.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_audit_events(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let kind = match p.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => Some(AuditKind::parse(k).ok_or_else(|| {
            ApiError::field(
                "kind",
                Rule::OneOf,
                format!(
                    "kind must be one of {}",
                    AuditKind::ALL.map(|k| k.as_str()).join(", ")
                ),
            )
        })?),
        None => None,
    };
    let page = state
        .store
        .audit()
        .list_audit_events(
            &caller.scope,
            kind,
            p.cursor.as_deref(),
            page_limit(p.limit),
        )
        .await?;
    Ok(Json(AuditPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

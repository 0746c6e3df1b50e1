//! API of capability org: staff users and their roles.

use aftersales_domain::org::Role;
use aftersales_store::page_limit;
use aftersales_store::user::{NewUser, User, UserPatch};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{etag, if_match, ApiJson, ApiQuery, PageParams};
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserPage {
    pub items: Vec<User>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipInput {
    pub organisation_id: String,
    /// One of the roles, e.g. `service-advisor`.
    pub role: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    /// `nb`, `en` or `pt`.
    pub language: String,
    /// At least 12 characters.
    pub password: String,
    pub memberships: Vec<MembershipInput>,
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    pub display_name: Option<String>,
    /// An address, or `null` to remove it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    pub language: Option<String>,
    /// Administrators only: disabling ends the user's sessions.
    pub disabled: Option<bool>,
}

/// Parses the fields a user patch may carry (shared with `/me`).
pub fn parse_patch(body: &PatchUser) -> Result<UserPatch, ApiError> {
    Ok(UserPatch::parse(
        body.display_name.as_deref(),
        body.email.as_ref().map(Option::as_deref),
        body.language.as_deref(),
        body.disabled,
    )?)
}

/// People with a role in an organisation you can see.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(PageParams), responses((status = 200, body = UserPage)))]
pub async fn list_users(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<UserPage>, ApiError> {
    let page = state
        .store
        .users()
        .list_users(&caller.scope, p.cursor.as_deref(), page_limit(p.limit))
        .await?;
    Ok(Json(UserPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Creates a user with roles in organisations you administer.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 422, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn create_user(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<Response, ApiError> {
    let ms: Vec<(String, String)> = body
        .memberships
        .into_iter()
        .map(|m| (m.organisation_id, m.role))
        .collect();
    let new = NewUser::parse(
        &body.username,
        &body.display_name,
        body.email.as_deref(),
        &body.language,
        &body.password,
        &ms,
    )?;
    let user = state
        .store
        .users()
        .create_user(&caller.scope, new, state.now())
        .await?;
    Ok((StatusCode::CREATED, etag(user.version), Json(user)).into_response())
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_user(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = state.store.users().get_user(&caller.scope, &id).await?;
    Ok((etag(user.version), Json(user)).into_response())
}

/// Changes a user's name, e-mail, language or (administrators) disabled flag. Needs `If-Match`.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body = PatchUser,
    responses((status = 200, body = User), (status = 412, body = Problem, content_type = "application/problem+json")))]
pub async fn patch_user(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PatchUser>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let patch = parse_patch(&body)?;
    let user = state
        .store
        .users()
        .update_user(&caller.scope, &id, patch, version, state.now())
        .await?;
    Ok((etag(user.version), Json(user)).into_response())
}

/// Grants a role in an organisation you administer (audited).
#[utoipa::path(post, path = "/api/v1/users/{id}/roles", tag = "users", params(("id" = String, Path)), request_body = MembershipInput,
    responses((status = 200, body = User), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn grant_role(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MembershipInput>,
) -> Result<Response, ApiError> {
    let role = Role::parse("role", &body.role).map_err(|e| ApiError::invalid(vec![e]))?;
    let user = state
        .store
        .users()
        .grant_role(&caller.scope, &id, &body.organisation_id, role, state.now())
        .await?;
    Ok((etag(user.version), Json(user)).into_response())
}

/// Revokes a role (audited).
#[utoipa::path(delete, path = "/api/v1/users/{id}/roles/{organisation_id}/{role}", tag = "users",
    params(("id" = String, Path), ("organisation_id" = String, Path), ("role" = String, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_role(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, organisation_id, role)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let role = Role::parse("role", &role).map_err(|e| ApiError::invalid(vec![e]))?;
    let user = state
        .store
        .users()
        .revoke_role(&caller.scope, &id, &organisation_id, role, state.now())
        .await?;
    Ok((etag(user.version), Json(user)).into_response())
}

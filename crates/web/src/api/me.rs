//! API of the caller: profile, password, API tokens.

use aftersales_domain::org::Capability;
use aftersales_domain::user::NewPassword;
use aftersales_store::auth::ApiToken;
use aftersales_store::user::User;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::users::{parse_patch, PatchUser};
use super::{etag, if_match, ApiJson};
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    /// The parts of the product in the caller's navigation (built or still to come).
    pub capabilities: Vec<Capability>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "me", responses((status = 200, body = Me), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn get_me(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Response, ApiError> {
    let user = state.store.users().me(&caller.scope).await?;
    let capabilities = aftersales_domain::org::navigation(caller.scope.all_roles());
    Ok((etag(user.version), Json(Me { user, capabilities })).into_response())
}

/// Changes your name, e-mail or language. Needs `If-Match`.
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", params(("If-Match" = String, Header)), request_body = PatchUser,
    responses((status = 200, body = User), (status = 412, body = Problem, content_type = "application/problem+json")))]
pub async fn patch_me(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PatchUser>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let patch = parse_patch(&body)?;
    let user = state
        .store
        .users()
        .update_user(&caller.scope, &caller.user_id, patch, version, state.now())
        .await?;
    Ok((etag(user.version), Json(user)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    /// At least 12 characters.
    pub new_password: String,
    /// Also revoke all your API tokens (default: they keep working).
    #[serde(default)]
    pub revoke_api_tokens: bool,
}

/// Changes your password; your other sessions end, and your API tokens too if you ask.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", request_body = ChangePassword,
    responses((status = 204), (status = 422, body = Problem, content_type = "application/problem+json"), (status = 429, body = Problem, content_type = "application/problem+json")))]
pub async fn change_password(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    let new = NewPassword::parse("new_password", &body.new_password)
        .map_err(|e| ApiError::invalid(vec![e]))?;
    state
        .store
        .auth()
        .change_own_password(
            &caller,
            &body.current_password,
            &new,
            body.revoke_api_tokens,
            state.now(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What the token is for, e.g. "DMS integration".
    pub name: String,
    /// When the token stops working (RFC 3339); never when left out.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// The secret, shown this once: send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

#[utoipa::path(get, path = "/api/v1/me/api-tokens", tag = "me", responses((status = 200, body = Vec<ApiToken>)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    Ok(Json(state.store.auth().list_api_tokens(&caller).await?))
}

/// Creates an API token acting as you, with your roles.
#[utoipa::path(post, path = "/api/v1/me/api-tokens", tag = "me", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_token(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<Response, ApiError> {
    let (token, secret) = state
        .store
        .auth()
        .create_api_token(&caller, &body.name, body.expires_at, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })).into_response())
}

#[utoipa::path(delete, path = "/api/v1/me/api-tokens/{id}", tag = "me", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_token(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .auth()
        .revoke_api_token(&caller, &id, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! API of capability org: organisations, brands, markets.

use aftersales_store::org::{Brand, Market, NewOrganisation, Organisation};
use aftersales_store::page_limit;
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
pub struct OrganisationPage {
    pub items: Vec<Organisation>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisation {
    /// The organisation to place the new one under; you must administer it.
    pub parent_id: String,
    /// `market-entity`, `importer`, `service-point` or `customer-care-centre`.
    pub kind: String,
    pub name: String,
    /// Market code (`NO`, `PT`); inherited from the parent when left out.
    pub market_code: Option<String>,
    pub city: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchOrganisation {
    pub name: String,
}

/// The organisations you can see: yours and every one below them.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "org", params(PageParams),
    responses((status = 200, body = OrganisationPage), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list_organisations(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<OrganisationPage>, ApiError> {
    let page = state
        .store
        .org()
        .list_organisations(&caller.scope, p.cursor.as_deref(), page_limit(p.limit))
        .await?;
    Ok(Json(OrganisationPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Creates an organisation below one you administer.
#[utoipa::path(post, path = "/api/v1/organisations", tag = "org", request_body = CreateOrganisation,
    responses((status = 201, body = Organisation), (status = 422, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn create_organisation(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<CreateOrganisation>,
) -> Result<Response, ApiError> {
    let new = NewOrganisation::parse(
        &body.parent_id,
        &body.kind,
        &body.name,
        body.market_code.as_deref(),
        body.city.as_deref(),
    )?;
    let org = state
        .store
        .org()
        .create_organisation(&caller.scope, &new, state.now())
        .await?;
    Ok((StatusCode::CREATED, etag(org.version), Json(org)).into_response())
}

#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "org", params(("id" = String, Path)),
    responses((status = 200, body = Organisation), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_organisation(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let org = state
        .store
        .org()
        .get_organisation(&caller.scope, &id)
        .await?;
    Ok((etag(org.version), Json(org)).into_response())
}

/// Renames an organisation you administer. Needs `If-Match`.
#[utoipa::path(patch, path = "/api/v1/organisations/{id}", tag = "org", params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body = PatchOrganisation,
    responses((status = 200, body = Organisation), (status = 412, body = Problem, content_type = "application/problem+json"),
              (status = 428, body = Problem, content_type = "application/problem+json")))]
pub async fn patch_organisation(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PatchOrganisation>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let org = state
        .store
        .org()
        .rename_organisation(&caller.scope, &id, &body.name, version)
        .await?;
    Ok((etag(org.version), Json(org)).into_response())
}

#[utoipa::path(get, path = "/api/v1/brands", tag = "org", responses((status = 200, body = Vec<Brand>)))]
pub async fn list_brands(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<Brand>>, ApiError> {
    Ok(Json(state.store.org().list_brands(&caller.scope).await?))
}

#[utoipa::path(get, path = "/api/v1/markets", tag = "org", responses((status = 200, body = Vec<Market>)))]
pub async fn list_markets(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<Market>>, ApiError> {
    Ok(Json(state.store.org().list_markets(&caller.scope).await?))
}

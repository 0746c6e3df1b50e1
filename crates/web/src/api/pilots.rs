//! API of capability pilots: pilots with their control group, the control proposal by
//! matching, each pilot's evaluation as of today.

use aftersales_store::pilots::{
    ControlCandidate, ControlProposalInput, Pilot, PilotEvaluation, PilotInput,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::ApiJson;
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::AppState;

/// The pilots run from organisations whose KPIs the caller reads.
#[utoipa::path(get, path = "/api/v1/pilots", tag = "pilots",
    responses((status = 200, body = Vec<Pilot>)))]
pub async fn list_pilots(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<Pilot>>, ApiError> {
    Ok(Json(state.store.pilots().list(&caller.scope).await?))
}

/// Sets up a pilot: the programme, its service points from a start date, the KPIs it should
/// move and the control group.
#[utoipa::path(post, path = "/api/v1/pilots", tag = "pilots", request_body = PilotInput,
    responses((status = 201, body = Pilot), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_pilot(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<PilotInput>,
) -> Result<Response, ApiError> {
    let p = state
        .store
        .pilots()
        .create(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

/// A pilot with its evaluation as of today: per KPI the monthly series of every point, the
/// difference-in-differences with its 95 % interval (clustered by service point), the placebo
/// test, a synthetic control for a single pilot point, and the verdict (or why the data is too
/// thin to conclude).
#[utoipa::path(get, path = "/api/v1/pilots/{id}", tag = "pilots", params(("id" = String, Path)),
    responses((status = 200, body = PilotEvaluation), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_pilot(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<PilotEvaluation>, ApiError> {
    Ok(Json(
        state
            .store
            .pilots()
            .evaluate(&caller.scope, &id, state.now())
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PilotEndInput {
    /// The programme's last day.
    pub end_date: String,
}

/// Ends a pilot on a day: its evaluation then reads the months up to that one.
#[utoipa::path(post, path = "/api/v1/pilots/{id}/end", tag = "pilots", params(("id" = String, Path)),
    request_body = PilotEndInput,
    responses((status = 200, body = Pilot), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn end_pilot(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PilotEndInput>,
) -> Result<Json<Pilot>, ApiError> {
    Ok(Json(
        state
            .store
            .pilots()
            .end(&caller.scope, &id, &b.end_date, state.now())
            .await?,
    ))
}

/// Proposes a control group: the organisation's other service points, nearest the pilot
/// points on the KPIs over the months before the start first.
#[utoipa::path(post, path = "/api/v1/pilots/control-proposals", tag = "pilots",
    request_body = ControlProposalInput,
    responses((status = 200, body = Vec<ControlCandidate>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn propose_controls(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<ControlProposalInput>,
) -> Result<Json<Vec<ControlCandidate>>, ApiError> {
    Ok(Json(
        state
            .store
            .pilots()
            .propose_controls(&caller.scope, &b, state.now())
            .await?,
    ))
}

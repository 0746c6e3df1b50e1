//! API of capability reminders: who is due, schedules as data, maintenance done elsewhere,
//! campaigns.

use aftersales_store::reminders::{
    Campaign, CampaignInput, DueItem, MaintenanceInput, ScheduleInput, ScheduleItem,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::{ApiJson, ApiQuery};
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DueParams {
    /// Items due within this many days (overdue ones always); 30 when left out, at most 366.
    pub days: Option<u32>,
}

/// Who is due: every vehicle your service points look after with a service item or inspection
/// due within `days` (or overdue), soonest first.
#[utoipa::path(get, path = "/api/v1/reminders/due", tag = "reminders", params(DueParams),
    responses((status = 200, body = Vec<DueItem>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn due(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<DueParams>,
) -> Result<Json<Vec<DueItem>>, ApiError> {
    Ok(Json(
        state
            .store
            .reminders()
            .due(&caller.scope, p.days.unwrap_or(30), state.now())
            .await?,
    ))
}

/// The schedule items that apply at an organisation: its own and those above it.
#[utoipa::path(get, path = "/api/v1/organisations/{id}/service-schedules", tag = "reminders", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ScheduleItem>)))]
pub async fn schedules(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<ScheduleItem>>, ApiError> {
    Ok(Json(
        state
            .store
            .reminders()
            .schedules(&caller.scope, &id)
            .await?,
    ))
}

/// Writes a schedule item (new or changed under its code) at a brand's headquarters or a market.
#[utoipa::path(put, path = "/api/v1/organisations/{id}/service-schedules/{code}", tag = "reminders",
    params(("id" = String, Path), ("code" = String, Path)), request_body = ScheduleInput,
    responses((status = 200, body = ScheduleItem), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_schedule(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, code)): Path<(String, String)>,
    ApiJson(b): ApiJson<ScheduleInput>,
) -> Result<Json<ScheduleItem>, ApiError> {
    Ok(Json(
        state
            .store
            .reminders()
            .set_schedule(&caller.scope, &id, &code, &b, state.now())
            .await?,
    ))
}

/// Records maintenance done outside our repair orders; answers the vehicle's items as now due.
#[utoipa::path(post, path = "/api/v1/vehicles/{id}/maintenance", tag = "reminders", params(("id" = String, Path)),
    request_body = MaintenanceInput,
    responses((status = 201, body = Vec<DueItem>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn record_maintenance(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MaintenanceInput>,
) -> Result<Response, ApiError> {
    let due = state
        .store
        .reminders()
        .record_maintenance(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(due)).into_response())
}

/// Campaigns of your organisations and their market, newest first.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "reminders", responses((status = 200, body = Vec<Campaign>)))]
pub async fn campaigns(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<Campaign>>, ApiError> {
    Ok(Json(
        state.store.reminders().campaigns(&caller.scope).await?,
    ))
}

/// Plans a campaign (market managers, administrators); the server sends it on its day.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "reminders", request_body = CampaignInput,
    responses((status = 201, body = Campaign), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_campaign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<CampaignInput>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .reminders()
        .create_campaign(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

/// Withdraws a campaign that has not gone out yet.
#[utoipa::path(delete, path = "/api/v1/campaigns/{id}", tag = "reminders", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn withdraw_campaign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .reminders()
        .withdraw_campaign(&caller.scope, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

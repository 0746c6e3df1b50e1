//! API of capability warranty: a vehicle's coverage on a day, battery state-of-health readings.

use aftersales_store::warranty::{BatteryReading, BatteryReadingInput, VehicleCoverage};
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
pub struct CoverageParams {
    /// YYYY-MM-DD; today when left out.
    pub on: Option<String>,
    /// The odometer reading to judge at; the latest recorded when left out.
    pub odometer_km: Option<i64>,
}

/// Which coverages of the vehicle's warranty apply on a day at a km, what is left of each and why
/// one does not; the statutory period beside it.
#[utoipa::path(get, path = "/api/v1/vehicles/{id}/coverage", tag = "warranty", params(("id" = String, Path), CoverageParams),
    responses((status = 200, body = VehicleCoverage), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn coverage(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<CoverageParams>,
) -> Result<Json<VehicleCoverage>, ApiError> {
    let on = match p.on.as_deref() {
        Some(d) => {
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(d, &fmt).map_err(|_| {
                ApiError::from(aftersales_store::StoreError::Invalid(
                    aftersales_domain::ValidationErrors::single(
                        "on",
                        aftersales_domain::Rule::Format,
                        "on must be a date (YYYY-MM-DD)",
                    ),
                ))
            })?
        }
        None => state.now().date(),
    };
    Ok(Json(
        state
            .store
            .warranty()
            .coverage(&caller.scope, &id, on, p.odometer_km)
            .await?,
    ))
}

/// A vehicle's battery state-of-health readings, newest first.
#[utoipa::path(get, path = "/api/v1/vehicles/{id}/battery-readings", tag = "warranty", params(("id" = String, Path)),
    responses((status = 200, body = Vec<BatteryReading>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn battery_readings(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<BatteryReading>>, ApiError> {
    Ok(Json(
        state
            .store
            .warranty()
            .battery_readings(&caller.scope, &id)
            .await?,
    ))
}

/// Records a battery's state of health (claim evidence).
#[utoipa::path(post, path = "/api/v1/vehicles/{id}/battery-readings", tag = "warranty", params(("id" = String, Path)),
    request_body = BatteryReadingInput,
    responses((status = 201, body = BatteryReading), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn record_battery(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<BatteryReadingInput>,
) -> Result<Response, ApiError> {
    let r = state
        .store
        .warranty()
        .record_battery(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

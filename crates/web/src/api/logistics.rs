//! API of capability logistics: a service point's day (the saved plan, re-planning), pickups and
//! deliveries of repair orders with the windows the plan can serve, locks, the driver's steps,
//! and the fleet (loaners).

use aftersales_domain::logistics::JobKind;
use aftersales_store::logistics::{
    Budget, DayPlan, DriverRun, Handovers, JobStatusInput, Loaner, LoanerInput, LoanerTerms,
    LoanerTermsInput, LockInput, PlaceInput, TransportJob, TransportJobInput, WindowInput,
    WindowOffer,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use time::Date;

use super::{ApiJson, ApiQuery};
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::AppState;

fn parse_day(s: &str) -> Result<Date, ApiError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &fmt).map_err(|_| {
        ApiError::from(aftersales_domain::ValidationErrors::single(
            "day",
            aftersales_domain::Rule::Format,
            "day must be a date like 2026-11-23",
        ))
    })
}

/// A service point's day: each driver's run, the jobs left out with the reason, and the jobs added
/// since the plan was saved.
#[utoipa::path(get, path = "/api/v1/organisations/{id}/logistics/days/{day}", tag = "logistics",
    params(("id" = String, Path), ("day" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 200, body = DayPlan), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn day(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, day)): Path<(String, String)>,
) -> Result<Json<DayPlan>, ApiError> {
    let date = parse_day(&day)?;
    Ok(Json(
        state
            .store
            .logistics()
            .day_plan(&caller.scope, &id, date)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReplanParams {
    /// Search time in milliseconds, 100 to 10000; 1000 when left out.
    pub budget_ms: Option<u64>,
    /// Change as little as possible: only place what changed since the saved plan (no search).
    pub minimal: Option<bool>,
}

/// Plans the day again from its saved plan and saves it; a change made meanwhile is never
/// overwritten (the plan is made again from the newer day, or 409 after three tries).
#[utoipa::path(post, path = "/api/v1/organisations/{id}/logistics/days/{day}/replan", tag = "logistics",
    params(("id" = String, Path), ("day" = String, Path), ReplanParams),
    responses((status = 200, body = DayPlan), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn replan(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, day)): Path<(String, String)>,
    ApiQuery(p): ApiQuery<ReplanParams>,
) -> Result<Json<DayPlan>, ApiError> {
    let date = parse_day(&day)?;
    let ms = p.budget_ms.unwrap_or(1000).clamp(100, 10_000);
    Ok(Json(
        state
            .store
            .logistics()
            .replan(
                &caller.scope,
                &id,
                date,
                Budget {
                    time: std::time::Duration::from_millis(ms),
                    seed: 0,
                    minimal: p.minimal.unwrap_or(false),
                },
                state.now(),
            )
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OfferParams {
    /// `pickup` or `delivery`.
    pub kind: String,
    /// YYYY-MM-DD.
    pub day: String,
    /// Whether a loaner goes with it.
    pub loaner: Option<bool>,
}

/// The windows of a day a repair order's pickup or delivery could be given, each tested against the
/// saved plan; a window that cannot be served carries the reason.
#[utoipa::path(get, path = "/api/v1/repair-orders/{id}/transport-windows", tag = "logistics",
    params(("id" = String, Path), OfferParams),
    responses((status = 200, body = Vec<WindowOffer>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn offers(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<OfferParams>,
) -> Result<Json<Vec<WindowOffer>>, ApiError> {
    let kind = JobKind::parse("kind", &p.kind)
        .map_err(|e| ApiError::from(aftersales_domain::ValidationErrors(vec![e])))?;
    let date = parse_day(&p.day)?;
    Ok(Json(
        state
            .store
            .logistics()
            .offers(
                &caller.scope,
                &id,
                kind,
                date,
                p.loaner.unwrap_or(false),
                state.now(),
            )
            .await?,
    ))
}

/// The pickup and delivery of a repair order.
#[utoipa::path(get, path = "/api/v1/repair-orders/{id}/transport-jobs", tag = "logistics",
    params(("id" = String, Path)), responses((status = 200, body = Vec<TransportJob>)))]
pub async fn of_repair_order(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<TransportJob>>, ApiError> {
    Ok(Json(
        state
            .store
            .logistics()
            .jobs_of_repair_order(&caller.scope, &id)
            .await?,
    ))
}

/// Adds a pickup or delivery to a repair order, with the customer's window.
#[utoipa::path(post, path = "/api/v1/transport-jobs", tag = "logistics", request_body = TransportJobInput,
    responses((status = 201, body = TransportJob), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<TransportJobInput>,
) -> Result<Response, ApiError> {
    let job = state
        .store
        .logistics()
        .add_job(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(job)).into_response())
}

/// Locks a job to a driver and/or a time at the customer, holds it off the plan, or unlocks it.
#[utoipa::path(put, path = "/api/v1/transport-jobs/{id}/lock", tag = "logistics", params(("id" = String, Path)),
    request_body = LockInput,
    responses((status = 200, body = TransportJob), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn lock(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<LockInput>,
) -> Result<Json<TransportJob>, ApiError> {
    Ok(Json(
        state
            .store
            .logistics()
            .lock_job(&caller.scope, &id, &b)
            .await?,
    ))
}

/// Another window for a job, as the customer asked; the customer hears the new window.
#[utoipa::path(put, path = "/api/v1/transport-jobs/{id}/window", tag = "logistics", params(("id" = String, Path)),
    request_body = WindowInput,
    responses((status = 200, body = TransportJob), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn window(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<WindowInput>,
) -> Result<Json<TransportJob>, ApiError> {
    Ok(Json(
        state
            .store
            .logistics()
            .move_window(&caller.scope, &id, &b, state.now())
            .await?,
    ))
}

/// Puts a job's address on the map (coordinates, and optionally a corrected address).
#[utoipa::path(put, path = "/api/v1/transport-jobs/{id}/place", tag = "logistics", params(("id" = String, Path)),
    request_body = PlaceInput,
    responses((status = 200, body = TransportJob), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn place(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PlaceInput>,
) -> Result<Json<TransportJob>, ApiError> {
    Ok(Json(
        state
            .store
            .logistics()
            .set_job_place(&caller.scope, &id, &b)
            .await?,
    ))
}

/// The driver's step (on the way, arrived, done with the hand-over: readings of each car that
/// changes hands, photos, and the customer's signature when a loaner goes out), or a cancellation.
#[utoipa::path(post, path = "/api/v1/transport-jobs/{id}/status", tag = "logistics", params(("id" = String, Path)),
    request_body = JobStatusInput,
    responses((status = 200, body = TransportJob), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn status(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<JobStatusInput>,
) -> Result<Json<TransportJob>, ApiError> {
    Ok(Json(
        state
            .store
            .logistics()
            .set_job_status(&caller.scope, &id, &b, state.now())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    /// YYYY-MM-DD; today when left out.
    pub day: Option<String>,
}

/// Your own run sheets on a day, in order.
#[utoipa::path(get, path = "/api/v1/me/run-sheet", tag = "logistics", params(RunParams),
    responses((status = 200, body = Vec<DriverRun>)))]
pub async fn my_run(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<RunParams>,
) -> Result<Json<Vec<DriverRun>>, ApiError> {
    let date = match p.day {
        Some(d) => parse_day(&d)?,
        None => state.now().date(),
    };
    Ok(Json(
        state.store.logistics().my_runs(&caller.scope, date).await?,
    ))
}

/// The loaners of a service point and who has each now.
#[utoipa::path(get, path = "/api/v1/organisations/{id}/loaners", tag = "logistics", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Loaner>)))]
pub async fn loaners(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Loaner>>, ApiError> {
    Ok(Json(
        state.store.logistics().loaners(&caller.scope, &id).await?,
    ))
}

/// Registers a loaner at a service point.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/loaners", tag = "logistics", params(("id" = String, Path)),
    request_body = LoanerInput,
    responses((status = 201, body = Loaner), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_loaner(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<LoanerInput>,
) -> Result<Response, ApiError> {
    let l = state
        .store
        .logistics()
        .add_loaner(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(l)).into_response())
}

/// A repair order's hand-overs at the customer's door and the loaner agreements signed for it.
#[utoipa::path(get, path = "/api/v1/repair-orders/{id}/handovers", tag = "logistics", params(("id" = String, Path)),
    responses((status = 200, body = Handovers), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn handovers(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Handovers>, ApiError> {
    Ok(Json(
        state
            .store
            .logistics()
            .handovers_of_repair_order(&caller.scope, &id)
            .await?,
    ))
}

/// A photo taken at a hand-over.
#[utoipa::path(get, path = "/api/v1/handover-photos/{id}", tag = "logistics", params(("id" = String, Path)),
    responses((status = 200, content_type = "image/*", body = Vec<u8>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn photo(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (kind, bytes) = state
        .store
        .logistics()
        .handover_photo(&caller.scope, &id)
        .await?;
    Ok(crate::download::image_response(&kind, bytes))
}

/// A signed loaner agreement as kept with the repair order (PDF).
#[utoipa::path(get, path = "/api/v1/loaner-agreements/{id}/pdf", tag = "logistics", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn agreement_pdf(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (name, bytes) = state
        .store
        .logistics()
        .agreement_pdf(&caller.scope, &id)
        .await?;
    Ok(crate::download::pdf_response(&name, bytes, false))
}

/// The loaner terms a service point's customers sign, in each language.
#[utoipa::path(get, path = "/api/v1/organisations/{id}/loaner-terms", tag = "logistics", params(("id" = String, Path)),
    responses((status = 200, body = Vec<LoanerTerms>)))]
pub async fn loaner_terms(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<LoanerTerms>>, ApiError> {
    Ok(Json(
        state
            .store
            .logistics()
            .loaner_terms(&caller.scope, &id)
            .await?,
    ))
}

/// Writes a service point's own loaner terms in one language (an empty body restores the
/// market's standard terms).
#[utoipa::path(put, path = "/api/v1/organisations/{id}/loaner-terms", tag = "logistics", params(("id" = String, Path)),
    request_body = LoanerTermsInput,
    responses((status = 200, body = LoanerTerms), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_loaner_terms(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<LoanerTermsInput>,
) -> Result<Json<LoanerTerms>, ApiError> {
    Ok(Json(
        state
            .store
            .logistics()
            .set_loaner_terms(&caller.scope, &id, &b, state.now())
            .await?,
    ))
}

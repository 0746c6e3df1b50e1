//! API of capability warranty: a vehicle's coverage on a day, battery state-of-health readings,
//! claims through the network (make, list, read, take a step, supplier recovery, export), goodwill
//! (requests, decisions, budgets, the policy), recalls and campaigns, warranty terms versions.

use aftersales_domain::warranty::claims::ClaimStatus;
use aftersales_domain::warranty::goodwill::Policy;
use aftersales_store::warranty::{
    BatteryReading, BatteryReadingInput, CampaignDoneInput, CampaignVehicle, Claim, ClaimExport,
    ClaimFilter, ClaimInput, ClaimStepInput, ClaimSummary, GoodwillApply, GoodwillBudget,
    GoodwillDecision, GoodwillInput, GoodwillRequest, OpenCampaign, RecallCampaign,
    RecallCampaignInput, RecoveryInput, VehicleCoverage, WarrantyTerms,
};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::{etag, if_match, ApiJson, ApiQuery};
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

fn claim_response(status: StatusCode, c: Claim) -> Response {
    (status, etag(c.version), Json(c)).into_response()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClaimParams {
    /// `draft`, `importer-review`, `brand-review`, `returned`, `approved`, `partly-approved`, `rejected`.
    pub status: Option<String>,
    /// `true`: only claims whose next step is the caller's.
    pub mine: Option<bool>,
    pub repair_order_id: Option<String>,
}

/// The warranty claims the caller may see (their service point's, or those below them), the
/// nearest step deadline first.
#[utoipa::path(get, path = "/api/v1/warranty-claims", tag = "warranty", params(ClaimParams),
    responses((status = 200, body = Vec<ClaimSummary>), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn claims(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<ClaimParams>,
) -> Result<Json<Vec<ClaimSummary>>, ApiError> {
    let status = p
        .status
        .as_deref()
        .map(|s| ClaimStatus::parse("status", s))
        .transpose()
        .map_err(|e| ApiError::from(aftersales_store::StoreError::Invalid(e.into())))?;
    let filter = ClaimFilter {
        status,
        mine: p.mine.unwrap_or(false),
        repair_order_id: p.repair_order_id,
        ..Default::default()
    };
    Ok(Json(
        state
            .store
            .warranty()
            .claims(&caller.scope, &filter, state.now())
            .await?,
    ))
}

/// Makes a claim (a draft) from one job of a repair order: its warranty lines (goodwill lines for
/// a goodwill claim), the three Cs, VIN, km and the repair order's days.
#[utoipa::path(post, path = "/api/v1/warranty-claims", tag = "warranty", request_body = ClaimInput,
    responses((status = 201, body = Claim), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_claim(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<ClaimInput>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .warranty()
        .create_claim(&caller.scope, &b, state.now())
        .await?;
    Ok(claim_response(StatusCode::CREATED, c))
}

/// One claim with its lines, history, reconciliation and the steps the caller may take.
#[utoipa::path(get, path = "/api/v1/warranty-claims/{id}", tag = "warranty", params(("id" = String, Path)),
    responses((status = 200, body = Claim), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn claim(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .warranty()
        .claim(&caller.scope, &id, state.now())
        .await?;
    Ok(claim_response(StatusCode::OK, c))
}

/// Takes a step on a claim (`If-Match`) as the party whose move it is: submit, approve (line by
/// line), reject, return for information, appeal once.
#[utoipa::path(post, path = "/api/v1/warranty-claims/{id}/steps", tag = "warranty", params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body = ClaimStepInput,
    responses((status = 200, body = Claim), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn step(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<ClaimStepInput>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let c = state
        .store
        .warranty()
        .step(&caller.scope, &id, version, &b, state.now())
        .await?;
    Ok(claim_response(StatusCode::OK, c))
}

/// Records a line's supplier recovery on an approved claim (importer or brand).
#[utoipa::path(put, path = "/api/v1/warranty-claims/{id}/lines/{line_id}/recovery", tag = "warranty",
    params(("id" = String, Path), ("line_id" = String, Path)), request_body = RecoveryInput,
    responses((status = 200, body = Claim), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn record_recovery(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, line_id)): Path<(String, String)>,
    ApiJson(b): ApiJson<RecoveryInput>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .warranty()
        .record_recovery(&caller.scope, &id, &line_id, &b, state.now())
        .await?;
    Ok(claim_response(StatusCode::OK, c))
}

/// The claim in the documented export format (docs/warranty-claim-export.md; STAR 5 field names
/// where one fits).
#[utoipa::path(get, path = "/api/v1/warranty-claims/{id}/export", tag = "warranty", params(("id" = String, Path)),
    responses((status = 200, body = ClaimExport), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn export(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<ClaimExport>, ApiError> {
    let c = state
        .store
        .warranty()
        .claim(&caller.scope, &id, state.now())
        .await?;
    Ok(Json(c.export()))
}

fn goodwill_response(status: StatusCode, g: GoodwillRequest) -> Response {
    (status, etag(g.version), Json(g)).into_response()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GoodwillParams {
    /// `true`: only requests the caller may decide now.
    pub pending: Option<bool>,
    pub repair_order_id: Option<String>,
    pub case_id: Option<String>,
}

/// The goodwill requests the caller sees, pending first.
#[utoipa::path(get, path = "/api/v1/goodwill-requests", tag = "warranty", params(GoodwillParams),
    responses((status = 200, body = Vec<GoodwillRequest>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn goodwill_requests(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<GoodwillParams>,
) -> Result<Json<Vec<GoodwillRequest>>, ApiError> {
    Ok(Json(
        state
            .store
            .warranty()
            .goodwill_requests(
                &caller.scope,
                p.pending.unwrap_or(false),
                p.repair_order_id.as_deref(),
                p.case_id.as_deref(),
            )
            .await?,
    ))
}

/// Asks for goodwill on a repair-order job: the market's policy proposes the shares.
#[utoipa::path(post, path = "/api/v1/goodwill-requests", tag = "warranty", request_body = GoodwillInput,
    responses((status = 201, body = GoodwillRequest), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn request_goodwill(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<GoodwillInput>,
) -> Result<Response, ApiError> {
    let g = state
        .store
        .warranty()
        .request_goodwill(&caller.scope, &b, state.now())
        .await?;
    Ok(goodwill_response(StatusCode::CREATED, g))
}

/// One goodwill request with the policy's proposal, the split and its history.
#[utoipa::path(get, path = "/api/v1/goodwill-requests/{id}", tag = "warranty", params(("id" = String, Path)),
    responses((status = 200, body = GoodwillRequest), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn goodwill_request(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let g = state
        .store
        .warranty()
        .goodwill_request(&caller.scope, &id)
        .await?;
    Ok(goodwill_response(StatusCode::OK, g))
}

/// Decides a goodwill request (`If-Match`): within the caller's authority an approval splits the
/// job's lines between goodwill and the customer; above it the request goes up a level.
#[utoipa::path(post, path = "/api/v1/goodwill-requests/{id}/decision", tag = "warranty", params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body = GoodwillDecision,
    responses((status = 200, body = GoodwillRequest), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn decide_goodwill(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<GoodwillDecision>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let g = state
        .store
        .warranty()
        .decide_goodwill(&caller.scope, &id, version, &b, state.now())
        .await?;
    Ok(goodwill_response(StatusCode::OK, g))
}

/// Applies an approved goodwill request from a case to a job of the case's repair order
/// (`If-Match`): the job's customer lines are split at the approved shares; goodwill above what
/// was approved is refused.
#[utoipa::path(post, path = "/api/v1/goodwill-requests/{id}/job", tag = "warranty", params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body = GoodwillApply,
    responses((status = 200, body = GoodwillRequest), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn apply_goodwill(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<GoodwillApply>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let g = state
        .store
        .warranty()
        .apply_goodwill(&caller.scope, &id, version, &b.job_id, state.now())
        .await?;
    Ok(goodwill_response(StatusCode::OK, g))
}

/// The goodwill budgets of this quarter for the markets the caller sees: budget, committed,
/// spent, left.
#[utoipa::path(get, path = "/api/v1/goodwill-budgets", tag = "warranty",
    responses((status = 200, body = Vec<GoodwillBudget>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn goodwill_budgets(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<GoodwillBudget>>, ApiError> {
    Ok(Json(
        state
            .store
            .warranty()
            .goodwill_budgets(&caller.scope, state.now().date())
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetInput {
    /// In minor units of the market's currency.
    pub amount_minor: i64,
}

/// Sets the goodwill budget of the organisation's market for a quarter (`2026-Q4`).
#[utoipa::path(put, path = "/api/v1/organisations/{id}/goodwill-budgets/{period}", tag = "warranty",
    params(("id" = String, Path), ("period" = String, Path)), request_body = BudgetInput,
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_goodwill_budget(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, period)): Path<(String, String)>,
    ApiJson(b): ApiJson<BudgetInput>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .warranty()
        .set_goodwill_budget(&caller.scope, &id, &period, b.amount_minor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The goodwill policy in force in the organisation's market (its newest version, else the
/// published starting policy).
#[utoipa::path(get, path = "/api/v1/organisations/{id}/goodwill-policy", tag = "warranty", params(("id" = String, Path)),
    responses((status = 200, body = Policy), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn goodwill_policy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Policy>, ApiError> {
    Ok(Json(
        state
            .store
            .warranty()
            .goodwill_policy(&caller.scope, &id)
            .await?,
    ))
}

/// Keeps a new version of the market's goodwill policy (the matrix as bands); versions are
/// never changed, and requests keep the code they were decided under.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/goodwill-policy", tag = "warranty", params(("id" = String, Path)),
    request_body = Policy,
    responses((status = 201, body = Policy), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_goodwill_policy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<Policy>,
) -> Result<Response, ApiError> {
    let p = state
        .store
        .warranty()
        .add_goodwill_policy(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

/// The recall and service campaigns the caller sees, with their completion.
#[utoipa::path(get, path = "/api/v1/recall-campaigns", tag = "warranty",
    responses((status = 200, body = Vec<RecallCampaign>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn recall_campaigns(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<RecallCampaign>>, ApiError> {
    Ok(Json(state.store.warranty().campaigns(&caller.scope).await?))
}

/// Makes a campaign with its VINs (CSV, or a rule over the brand's vehicles in reach).
#[utoipa::path(post, path = "/api/v1/recall-campaigns", tag = "warranty", request_body = RecallCampaignInput,
    responses((status = 201, body = RecallCampaign), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_recall_campaign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<RecallCampaignInput>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .warranty()
        .create_campaign(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

/// One campaign with its completion per service point.
#[utoipa::path(get, path = "/api/v1/recall-campaigns/{id}", tag = "warranty", params(("id" = String, Path)),
    responses((status = 200, body = RecallCampaign), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn recall_campaign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<RecallCampaign>, ApiError> {
    Ok(Json(
        state.store.warranty().campaign(&caller.scope, &id).await?,
    ))
}

/// A campaign's VINs and how each was done.
#[utoipa::path(get, path = "/api/v1/recall-campaigns/{id}/vehicles", tag = "warranty", params(("id" = String, Path)),
    responses((status = 200, body = Vec<CampaignVehicle>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn recall_campaign_vehicles(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<CampaignVehicle>>, ApiError> {
    Ok(Json(
        state
            .store
            .warranty()
            .campaign_vehicles(&caller.scope, &id)
            .await?,
    ))
}

/// Records a VIN of the campaign done, in a workshop or over the air (the software version the
/// car reports).
#[utoipa::path(post, path = "/api/v1/recall-campaigns/{id}/done", tag = "warranty", params(("id" = String, Path)),
    request_body = CampaignDoneInput,
    responses((status = 200, body = RecallCampaign), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn recall_campaign_done(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CampaignDoneInput>,
) -> Result<Json<RecallCampaign>, ApiError> {
    Ok(Json(
        state
            .store
            .warranty()
            .campaign_done(&caller.scope, &id, &b, state.now())
            .await?,
    ))
}

/// A vehicle's open campaigns.
#[utoipa::path(get, path = "/api/v1/vehicles/{id}/open-campaigns", tag = "warranty", params(("id" = String, Path)),
    responses((status = 200, body = Vec<OpenCampaign>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn open_campaigns(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<OpenCampaign>>, ApiError> {
    Ok(Json(
        state
            .store
            .warranty()
            .open_campaigns(&caller.scope, &id)
            .await?,
    ))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Notified {
    /// Customers told this time (each owner and VIN once).
    pub told: usize,
}

/// Tells the owners of the campaign's open VINs through the outbox, in their language.
#[utoipa::path(post, path = "/api/v1/recall-campaigns/{id}/notify", tag = "warranty", params(("id" = String, Path)),
    responses((status = 200, body = Notified), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn notify_recall_campaign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Notified>, ApiError> {
    let told = state
        .store
        .warranty()
        .notify_campaign(&caller.scope, &id, state.now())
        .await?;
    Ok(Json(Notified { told }))
}

/// The warranty terms versions in force for the organisation's brand there.
#[utoipa::path(get, path = "/api/v1/organisations/{id}/warranty-terms", tag = "warranty", params(("id" = String, Path)),
    responses((status = 200, body = Vec<WarrantyTerms>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn warranty_terms(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<WarrantyTerms>>, ApiError> {
    Ok(Json(
        state.store.warranty().terms(&caller.scope, &id).await?,
    ))
}

/// Keeps a new warranty terms version (a brand headquarters' or a market entity's warranty
/// administrator); versions are never changed, vehicles keep the code fixed at delivery.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/warranty-terms", tag = "warranty", params(("id" = String, Path)),
    request_body = WarrantyTerms,
    responses((status = 201, body = WarrantyTerms), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_warranty_terms(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<WarrantyTerms>,
) -> Result<Response, ApiError> {
    let t = state
        .store
        .warranty()
        .add_terms(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

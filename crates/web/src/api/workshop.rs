//! API of capability workshop: settings, bays, technicians, catalogues, availability, booking,
//! and repair orders with their jobs, lines, assignment, clocking, approvals and status.

use aftersales_domain::validation::Rule;
use aftersales_domain::workshop::{AppointmentKind, RoStatus};
use aftersales_store::notify::OutboxItem;
use aftersales_store::workshop::{
    AbsenceInput, Availability, Bay, BayInput, Booked, BookingInput, CertificationInput, JobInput,
    JobUpdate, LabourOperation, LabourOperationInput, LineInput, MoveInput, Part, PartInput,
    RepairOrder, RepairOrderInput, RoSummary, SettingsInput, StockInput, Technician,
    TechnicianInput, WorkshopSettings,
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

fn parse_date(field: &str, s: &str) -> Result<time::Date, ApiError> {
    time::Date::parse(
        s.trim(),
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| {
        ApiError::field(
            field,
            Rule::Format,
            format!("{field} must be a date like 2026-11-23"),
        )
    })
}

#[utoipa::path(get, path = "/api/v1/service-points/{id}/workshop-settings", tag = "workshop", params(("id" = String, Path)), responses((status = 200, body = WorkshopSettings)))]
pub async fn get_settings(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<WorkshopSettings>, ApiError> {
    Ok(Json(
        state
            .store
            .workshop()
            .workshop_settings(&caller.scope, &id)
            .await?,
    ))
}

/// Labour rate, online booking, travel time for mobile service, address.
#[utoipa::path(put, path = "/api/v1/service-points/{id}/workshop-settings", tag = "workshop", params(("id" = String, Path)), request_body = SettingsInput,
    responses((status = 200, body = WorkshopSettings), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_settings(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SettingsInput>,
) -> Result<Json<WorkshopSettings>, ApiError> {
    Ok(Json(
        state
            .store
            .workshop()
            .set_workshop_settings(&caller.scope, &id, &b)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/service-points/{id}/bays", tag = "workshop", params(("id" = String, Path)), responses((status = 200, body = Vec<Bay>)))]
pub async fn list_bays(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Bay>>, ApiError> {
    Ok(Json(state.store.workshop().bays(&caller.scope, &id).await?))
}

#[utoipa::path(post, path = "/api/v1/bays", tag = "workshop", request_body = BayInput,
    responses((status = 201, body = Bay), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_bay(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<BayInput>,
) -> Result<Response, ApiError> {
    let bay = state
        .store
        .workshop()
        .add_bay(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(bay)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActiveInput {
    pub active: bool,
}

/// Takes a bay out of (or back into) the booking plan.
#[utoipa::path(put, path = "/api/v1/bays/{id}/active", tag = "workshop", params(("id" = String, Path)), request_body = ActiveInput, responses((status = 204)))]
pub async fn set_bay_active(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ActiveInput>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .workshop()
        .set_bay_active(&caller.scope, &id, b.active)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Technicians of a service point with shifts, certificates (valid today or not) and absences.
#[utoipa::path(get, path = "/api/v1/service-points/{id}/technicians", tag = "workshop", params(("id" = String, Path)), responses((status = 200, body = Vec<Technician>)))]
pub async fn list_technicians(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Technician>>, ApiError> {
    let today = state
        .store
        .org()
        .zone_of(&id)
        .await?
        .local(state.now())
        .date();
    Ok(Json(
        state
            .store
            .workshop()
            .technicians(&caller.scope, &id, today)
            .await?,
    ))
}

/// Sets a technician's weekly shifts and whether they do mobile service.
#[utoipa::path(put, path = "/api/v1/service-points/{id}/technicians/{user_id}", tag = "workshop", params(("id" = String, Path), ("user_id" = String, Path)), request_body = TechnicianInput,
    responses((status = 204), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_technician(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, user_id)): Path<(String, String)>,
    ApiJson(b): ApiJson<TechnicianInput>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .workshop()
        .set_technician(&caller.scope, &id, &user_id, &b)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/service-points/{id}/technicians/{user_id}/certifications", tag = "workshop", params(("id" = String, Path), ("user_id" = String, Path)), request_body = CertificationInput,
    responses((status = 201), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_certification(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, user_id)): Path<(String, String)>,
    ApiJson(b): ApiJson<CertificationInput>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .workshop()
        .add_certification(&caller.scope, &id, &user_id, &b, state.now())
        .await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(post, path = "/api/v1/service-points/{id}/technicians/{user_id}/absences", tag = "workshop", params(("id" = String, Path), ("user_id" = String, Path)), request_body = AbsenceInput,
    responses((status = 201), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_absence(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, user_id)): Path<(String, String)>,
    ApiJson(b): ApiJson<AbsenceInput>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .workshop()
        .add_absence(&caller.scope, &id, &user_id, &b, state.now())
        .await?;
    Ok(StatusCode::CREATED)
}

/// The labour operations that apply at an organisation (its own and those above it).
#[utoipa::path(get, path = "/api/v1/organisations/{id}/labour-operations", tag = "workshop", params(("id" = String, Path)), responses((status = 200, body = Vec<LabourOperation>)))]
pub async fn list_operations(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<LabourOperation>>, ApiError> {
    Ok(Json(
        state
            .store
            .workshop()
            .labour_operations(&caller.scope, &id)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/labour-operations", tag = "workshop", request_body = LabourOperationInput,
    responses((status = 201, body = LabourOperation), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_operation(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<LabourOperationInput>,
) -> Result<Response, ApiError> {
    let op = state
        .store
        .workshop()
        .add_labour_operation(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(op)).into_response())
}

/// Parts that apply at an organisation, with its stock.
#[utoipa::path(get, path = "/api/v1/organisations/{id}/parts", tag = "workshop", params(("id" = String, Path)), responses((status = 200, body = Vec<Part>)))]
pub async fn list_parts(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Part>>, ApiError> {
    Ok(Json(
        state.store.workshop().parts(&caller.scope, &id).await?,
    ))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: String,
}

#[utoipa::path(post, path = "/api/v1/parts", tag = "workshop", request_body = PartInput,
    responses((status = 201, body = Created), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_part(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<PartInput>,
) -> Result<Response, ApiError> {
    let id = state
        .store
        .workshop()
        .add_part(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

/// Sets the counted stock of a part at a service point.
#[utoipa::path(put, path = "/api/v1/parts/{id}/stock", tag = "workshop", params(("id" = String, Path)), request_body = StockInput, responses((status = 204)))]
pub async fn set_stock(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<StockInput>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .workshop()
        .set_stock(&caller.scope, &id, &b)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityParams {
    /// The local date, `YYYY-MM-DD`; today when left out.
    pub date: Option<String>,
    /// `workshop` (default) or `mobile`.
    pub kind: Option<String>,
    /// Labour operation codes, comma-separated (at least one).
    pub operations: Option<String>,
}

/// Free appointment starts on one day, from bays, shifts, absences, competences and bookings.
#[utoipa::path(get, path = "/api/v1/service-points/{id}/availability", tag = "workshop", params(("id" = String, Path), AvailabilityParams),
    responses((status = 200, body = Availability), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn availability(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<AvailabilityParams>,
) -> Result<Json<Availability>, ApiError> {
    let date = match p.date.as_deref() {
        Some(d) => parse_date("date", d)?,
        None => state
            .store
            .org()
            .zone_of(&id)
            .await?
            .local(state.now())
            .date(),
    };
    let kind = AppointmentKind::parse("kind", p.kind.as_deref().unwrap_or("workshop"))
        .map_err(|e| ApiError::invalid(vec![e]))?;
    let ops: Vec<String> = p
        .operations
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    Ok(Json(
        state
            .store
            .workshop()
            .availability(&caller.scope, &id, date, kind, &ops, state.now())
            .await?,
    ))
}

/// Books an appointment and opens its repair order; 409 when the time was taken meanwhile.
#[utoipa::path(post, path = "/api/v1/appointments", tag = "workshop", request_body = BookingInput,
    responses((status = 201, body = Booked), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn book(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<BookingInput>,
) -> Result<Response, ApiError> {
    let booked = state
        .store
        .workshop()
        .book_appointment(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(booked)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MoveParams {
    /// The local date, `YYYY-MM-DD`; the appointment's own day when left out.
    pub date: Option<String>,
}

/// Free starts of one day for moving a repair order's booked appointment (its own quarter hours
/// count as free); 422 when the car has arrived or the order has no appointment.
#[utoipa::path(get, path = "/api/v1/repair-orders/{id}/appointment/availability", tag = "workshop", params(("id" = String, Path), MoveParams),
    responses((status = 200, body = Availability), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn move_availability(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<MoveParams>,
) -> Result<Json<Availability>, ApiError> {
    let date = p
        .date
        .as_deref()
        .map(|d| parse_date("date", d))
        .transpose()?;
    Ok(Json(
        state
            .store
            .workshop()
            .move_availability(&caller.scope, &id, date, state.now())
            .await?,
    ))
}

/// Moves the booked appointment to another free start; the customer is told with an updated
/// calendar invitation. 409 when the time was taken meanwhile.
#[utoipa::path(post, path = "/api/v1/repair-orders/{id}/appointment/move", tag = "workshop", params(("id" = String, Path)), request_body = MoveInput,
    responses((status = 200, body = RepairOrder), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn move_appointment(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MoveInput>,
) -> Result<Response, ApiError> {
    Ok(ro_response(
        state
            .store
            .workshop()
            .move_appointment(&caller.scope, &id, &b, state.now())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RoParams {
    /// A status; the active orders when empty.
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[serde(default, deserialize_with = "super::page_size")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Repair orders in reach, by appointment (or opening) time, a page at a time.
#[utoipa::path(get, path = "/api/v1/repair-orders", tag = "workshop", params(RoParams), responses((status = 200, body = super::ListPage<RoSummary>)))]
pub async fn list_repair_orders(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<RoParams>,
) -> Result<Json<super::ListPage<RoSummary>>, ApiError> {
    let status = match p.status.as_deref() {
        Some(s) => Some(RoStatus::parse("status", s).map_err(|e| ApiError::invalid(vec![e]))?),
        None => None,
    };
    Ok(Json(
        state
            .store
            .workshop()
            .repair_orders(
                &caller.scope,
                status,
                None,
                p.cursor.as_deref(),
                aftersales_store::page_limit(p.limit),
            )
            .await?
            .into(),
    ))
}

/// Opens a repair order without an appointment (walk-in).
#[utoipa::path(post, path = "/api/v1/repair-orders", tag = "workshop", request_body = RepairOrderInput,
    responses((status = 201, body = RepairOrder), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_repair_order(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<RepairOrderInput>,
) -> Result<Response, ApiError> {
    let ro = state
        .store
        .workshop()
        .create_repair_order(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, etag(ro.version), Json(ro)).into_response())
}

#[utoipa::path(get, path = "/api/v1/repair-orders/{id}", tag = "workshop", params(("id" = String, Path)),
    responses((status = 200, body = RepairOrder), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_repair_order(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let ro = state
        .store
        .workshop()
        .repair_order(&caller.scope, &id)
        .await?;
    Ok((etag(ro.version), Json(ro)).into_response())
}

fn ro_response(ro: RepairOrder) -> Response {
    (etag(ro.version), Json(ro)).into_response()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoStatusInput {
    /// One of the order's `next` statuses.
    pub status: String,
}

/// Moves the order along its status machine (needs `If-Match`); the customer hears of it per the market's rules.
#[utoipa::path(post, path = "/api/v1/repair-orders/{id}/status", tag = "workshop", params(("id" = String, Path), ("If-Match" = String, Header)), request_body = RoStatusInput,
    responses((status = 200, body = RepairOrder), (status = 412, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_repair_order_status(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<RoStatusInput>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let status = RoStatus::parse("status", &b.status).map_err(|e| ApiError::invalid(vec![e]))?;
    Ok(ro_response(
        state
            .store
            .workshop()
            .set_ro_status(&caller.scope, &id, status, version, state.now())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/repair-orders/{id}/jobs", tag = "workshop", params(("id" = String, Path)), request_body = JobInput,
    responses((status = 201, body = RepairOrder), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_job(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<JobInput>,
) -> Result<Response, ApiError> {
    let ro = state
        .store
        .workshop()
        .add_job(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, etag(ro.version), Json(ro)).into_response())
}

/// Writes the three Cs (complaint, cause, correction) and the pay type of a job.
#[utoipa::path(patch, path = "/api/v1/repair-orders/{id}/jobs/{job_id}", tag = "workshop", params(("id" = String, Path), ("job_id" = String, Path)), request_body = JobUpdate,
    responses((status = 200, body = RepairOrder), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update_job(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, job)): Path<(String, String)>,
    ApiJson(b): ApiJson<JobUpdate>,
) -> Result<Response, ApiError> {
    Ok(ro_response(
        state
            .store
            .workshop()
            .update_job(&caller.scope, &id, &job, &b, state.now())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/repair-orders/{id}/jobs/{job_id}/lines", tag = "workshop", params(("id" = String, Path), ("job_id" = String, Path)), request_body = LineInput,
    responses((status = 201, body = RepairOrder), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_line(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, job)): Path<(String, String)>,
    ApiJson(b): ApiJson<LineInput>,
) -> Result<Response, ApiError> {
    let ro = state
        .store
        .workshop()
        .add_line(&caller.scope, &id, &job, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, etag(ro.version), Json(ro)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/repair-orders/{id}/lines/{line_id}", tag = "workshop", params(("id" = String, Path), ("line_id" = String, Path)),
    responses((status = 200, body = RepairOrder)))]
pub async fn remove_line(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, line)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(ro_response(
        state
            .store
            .workshop()
            .remove_line(&caller.scope, &id, &line, state.now())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentInput {
    pub technician_id: String,
}

/// Assigns a technician; refused (422, naming the certificate) when they lack a valid certificate the job needs.
#[utoipa::path(post, path = "/api/v1/repair-orders/{id}/jobs/{job_id}/assignment", tag = "workshop", params(("id" = String, Path), ("job_id" = String, Path)), request_body = AssignmentInput,
    responses((status = 200, body = RepairOrder), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn assign(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, job)): Path<(String, String)>,
    ApiJson(b): ApiJson<AssignmentInput>,
) -> Result<Response, ApiError> {
    Ok(ro_response(
        state
            .store
            .workshop()
            .assign_technician(&caller.scope, &id, &job, &b.technician_id, state.now())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockInput {
    /// `on` or `off`.
    pub action: String,
}

/// The caller (the assigned technician) clocks on or off the job.
#[utoipa::path(post, path = "/api/v1/repair-orders/{id}/jobs/{job_id}/clock", tag = "workshop", params(("id" = String, Path), ("job_id" = String, Path)), request_body = ClockInput,
    responses((status = 200, body = RepairOrder), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn clock(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, job)): Path<(String, String)>,
    ApiJson(b): ApiJson<ClockInput>,
) -> Result<Response, ApiError> {
    let ro = match b.action.as_str() {
        "on" => {
            state
                .store
                .workshop()
                .clock_on(&caller.scope, &id, &job, state.now())
                .await?
        }
        "off" => {
            state
                .store
                .workshop()
                .clock_off(&caller.scope, &id, &job, state.now())
                .await?
        }
        _ => {
            return Err(ApiError::field(
                "action",
                Rule::OneOf,
                "action must be on or off",
            ))
        }
    };
    Ok(ro_response(ro))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = JobDecisionInput)]
pub struct DecisionInput {
    pub approve: bool,
}

/// Records the customer's decision on added work, taken by phone or at the desk.
#[utoipa::path(post, path = "/api/v1/repair-orders/{id}/jobs/{job_id}/decision", tag = "workshop", params(("id" = String, Path), ("job_id" = String, Path)), request_body = DecisionInput,
    responses((status = 200, body = RepairOrder), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn decide(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, job)): Path<(String, String)>,
    ApiJson(b): ApiJson<DecisionInput>,
) -> Result<Response, ApiError> {
    Ok(ro_response(
        state
            .store
            .workshop()
            .decide_job(&caller.scope, &id, &job, b.approve, state.now())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EtaInput {
    /// RFC 3339; `null` clears it.
    pub eta: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/repair-orders/{id}/eta", tag = "workshop", params(("id" = String, Path)), request_body = EtaInput,
    responses((status = 200, body = RepairOrder), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_eta(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<EtaInput>,
) -> Result<Response, ApiError> {
    let eta = match b.eta.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => Some(
            time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
                .map_err(|_| {
                ApiError::field(
                    "eta",
                    Rule::Format,
                    "eta must be a date-time with offset (RFC 3339)",
                )
            })?,
        ),
        None => None,
    };
    Ok(ro_response(
        state
            .store
            .workshop()
            .set_eta(&caller.scope, &id, eta, state.now())
            .await?,
    ))
}

/// The messages written to the customer about this order, with their delivery state.
#[utoipa::path(get, path = "/api/v1/repair-orders/{id}/messages", tag = "workshop", params(("id" = String, Path)), responses((status = 200, body = Vec<OutboxItem>)))]
pub async fn messages(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<OutboxItem>>, ApiError> {
    Ok(Json(
        state
            .store
            .workshop()
            .ro_messages(&caller.scope, &id)
            .await?,
    ))
}

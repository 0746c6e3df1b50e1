//! API of capability training: the course catalogue and competence profiles, training records
//! (and their certificates), the gap analysis with the compliance KPI, sessions and attendance,
//! and xAPI statements from e-learning platforms with the mapping of their activities.

use aftersales_domain::i18n::Language;
use aftersales_store::training::{
    AttendanceInput, CompetenceProfile, CompetenceProfileInput, GapReport, TrainingCourse,
    TrainingCourseInput, TrainingRecord, TrainingRecordInput, TrainingSession,
    TrainingSessionInput, XapiMapping, XapiMappingInput, XapiResult, XapiStatement,
};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::{ApiJson, ApiQuery};
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::AppState;

/// The courses of the caller's brands and markets.
#[utoipa::path(get, path = "/api/v1/training-courses", tag = "training",
    responses((status = 200, body = Vec<TrainingCourse>)))]
pub async fn training_courses(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<TrainingCourse>>, ApiError> {
    Ok(Json(state.store.training().courses(&caller.scope).await?))
}

/// Adds a course to a brand's, market's or importer's catalogue.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/training-courses", tag = "training", params(("id" = String, Path)),
    request_body = TrainingCourseInput,
    responses((status = 201, body = TrainingCourse), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_training_course(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TrainingCourseInput>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .training()
        .add_course(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

/// The competence profiles of the caller's brands and markets.
#[utoipa::path(get, path = "/api/v1/competence-profiles", tag = "training",
    responses((status = 200, body = Vec<CompetenceProfile>)))]
pub async fn competence_profiles(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<CompetenceProfile>>, ApiError> {
    Ok(Json(state.store.training().profiles(&caller.scope).await?))
}

/// Adds a competence profile: the role, the required courses, the competence it grants.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/competence-profiles", tag = "training", params(("id" = String, Path)),
    request_body = CompetenceProfileInput,
    responses((status = 201, body = CompetenceProfile), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_competence_profile(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CompetenceProfileInput>,
) -> Result<Response, ApiError> {
    let p = state
        .store
        .training()
        .add_profile(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GapParams {
    /// The warning window in days: 30, 60 or 90 (30 when left out).
    pub days: Option<i64>,
    /// `nb`, `en` or `pt` for the names (the caller's language when left out).
    pub lang: Option<String>,
}

/// The gap analysis today: every person reached against their profiles, what runs out within
/// the window, training compliance per person, service point and in all (high-voltage apart).
#[utoipa::path(get, path = "/api/v1/training/gaps", tag = "training", params(GapParams),
    responses((status = 200, body = GapReport), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn training_gaps(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<GapParams>,
) -> Result<Json<GapReport>, ApiError> {
    let days = p.days.unwrap_or(30);
    if ![30, 60, 90].contains(&days) {
        return Err(aftersales_domain::ValidationErrors::single(
            "days",
            aftersales_domain::Rule::OneOf,
            "days must be one of 30, 60, 90",
        )
        .into());
    }
    let lang = p
        .lang
        .as_deref()
        .and_then(Language::from_tag)
        .unwrap_or(caller.language);
    let first = caller
        .scope
        .orgs_with(aftersales_domain::org::Permission::OrgRead)
        .first()
        .cloned();
    let today = match first {
        Some(org) => state
            .store
            .org()
            .zone_of(&org)
            .await?
            .local(state.now())
            .date(),
        None => state.now().date(),
    };
    Ok(Json(
        state
            .store
            .training()
            .gaps(&caller.scope, today, days, lang)
            .await?,
    ))
}

/// A person's training records, newest first (one's own, or of people one reads).
#[utoipa::path(get, path = "/api/v1/users/{id}/training-records", tag = "training", params(("id" = String, Path)),
    responses((status = 200, body = Vec<TrainingRecord>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn training_records(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<TrainingRecord>>, ApiError> {
    Ok(Json(
        state
            .store
            .training()
            .records_of(&caller.scope, &id)
            .await?,
    ))
}

/// Records a training a person took, with its certificate file (base64) where there is one;
/// a passed high-voltage training needs it.
#[utoipa::path(post, path = "/api/v1/training-records", tag = "training", request_body = TrainingRecordInput,
    responses((status = 201, body = TrainingRecord), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_training_record(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<TrainingRecordInput>,
) -> Result<Response, ApiError> {
    use base64::Engine as _;
    let file = match b.certificate_base64.as_deref() {
        Some(data) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|_| {
                    aftersales_domain::ValidationErrors::single(
                        "certificate_base64",
                        aftersales_domain::Rule::Format,
                        "certificate_base64 must be base64",
                    )
                })?,
        ),
        None => None,
    };
    let name = b
        .certificate_name
        .clone()
        .unwrap_or_else(|| "certificate".to_string());
    let r = state
        .store
        .training()
        .record(
            &caller.scope,
            &b,
            file.as_deref().map(|f| (name.as_str(), f)),
            state.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

/// A training record's certificate file.
#[utoipa::path(get, path = "/api/v1/training-records/{id}/certificate", tag = "training", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn training_certificate(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (name, kind, bytes) = state
        .store
        .training()
        .certificate(&caller.scope, &id)
        .await?;
    Ok(crate::download::attachment_response(&name, &kind, bytes))
}

/// Training sessions at the organisations reached, from a week ago on.
#[utoipa::path(get, path = "/api/v1/training-sessions", tag = "training",
    responses((status = 200, body = Vec<TrainingSession>)))]
pub async fn training_sessions(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<TrainingSession>>, ApiError> {
    Ok(Json(
        state
            .store
            .training()
            .sessions(&caller.scope, state.now())
            .await?,
    ))
}

/// Plans a session: course, where, when, places.
#[utoipa::path(post, path = "/api/v1/training-sessions", tag = "training", request_body = TrainingSessionInput,
    responses((status = 201, body = TrainingSession), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_training_session(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<TrainingSessionInput>,
) -> Result<Response, ApiError> {
    let s = state
        .store
        .training()
        .add_session(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(s)).into_response())
}

/// Registers a person on a session (within its places) or records their attendance; attended
/// writes their training record.
#[utoipa::path(post, path = "/api/v1/training-sessions/{id}/attendees", tag = "training", params(("id" = String, Path)),
    request_body = AttendanceInput,
    responses((status = 200, body = TrainingSession), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn session_attendance(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AttendanceInput>,
) -> Result<Json<TrainingSession>, ApiError> {
    Ok(Json(
        state
            .store
            .training()
            .attendance(&caller.scope, &id, &b, state.now())
            .await?,
    ))
}

/// The mappings of e-learning activities to courses.
#[utoipa::path(get, path = "/api/v1/xapi-mappings", tag = "training",
    responses((status = 200, body = Vec<XapiMapping>)))]
pub async fn xapi_mappings(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<XapiMapping>>, ApiError> {
    Ok(Json(state.store.training().mappings(&caller.scope).await?))
}

/// Maps an e-learning activity (its xAPI object id) to a course of the organisation.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/xapi-mappings", tag = "training", params(("id" = String, Path)),
    request_body = XapiMappingInput,
    responses((status = 201, body = XapiMapping), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_xapi_mapping(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<XapiMappingInput>,
) -> Result<Response, ApiError> {
    let m = state
        .store
        .training()
        .add_mapping(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(m)).into_response())
}

/// Takes xAPI 1.0.3 statements (one, or a list) from an e-learning platform, with an API token
/// of someone who manages training: each is stored and indexed (actor, verb, object, time); a
/// completion (`completed` or `passed`, not failed) of a mapped activity by a person of theirs
/// grants a training record. A statement id seen before is not taken twice.
#[utoipa::path(post, path = "/api/v1/xapi/statements", tag = "training",
    request_body(content = serde_json::Value, description = "An xAPI statement or a list of them"),
    responses((status = 200, body = Vec<XapiResult>), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn xapi_statements(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    body: Bytes,
) -> Result<Json<Vec<XapiResult>>, ApiError> {
    let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        aftersales_domain::ValidationErrors::single(
            "statements",
            aftersales_domain::Rule::Format,
            format!("not JSON: {e}"),
        )
    })?;
    Ok(Json(
        state
            .store
            .training()
            .take_statements(&caller.scope, &v, state.now())
            .await?,
    ))
}

/// The latest statements taken (at most 200).
#[utoipa::path(get, path = "/api/v1/xapi/statements", tag = "training",
    responses((status = 200, body = Vec<XapiStatement>)))]
pub async fn xapi_statement_list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<XapiStatement>>, ApiError> {
    Ok(Json(
        state
            .store
            .training()
            .statements(&caller.scope, 200)
            .await?,
    ))
}

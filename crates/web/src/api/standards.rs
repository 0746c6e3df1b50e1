//! API of capability standards: catalogue versions (read, export as the file, import the next),
//! audits of service points (plan, read, answer as the service point or the auditor, evidence
//! files), corrective actions (raise, close with evidence, verify) and the network view.

use aftersales_domain::standards::{AuditParty, AuditStatus, CatalogueFile};
use aftersales_store::standards::{
    ActionReview, ActionSubmission, AnswersInput, CorrectiveAction, CorrectiveActionInput,
    EvidenceFile, NetworkPoint, StandardAudit, StandardAuditInput, StandardAuditSummary,
    StandardCatalogue,
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

/// The latest version of every catalogue the caller reads: the brand's, and the market's additions.
#[utoipa::path(get, path = "/api/v1/standard-catalogues", tag = "standards",
    responses((status = 200, body = Vec<StandardCatalogue>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn standard_catalogues(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<StandardCatalogue>>, ApiError> {
    Ok(Json(
        state.store.standards().catalogues(&caller.scope).await?,
    ))
}

/// One catalogue version with its requirements.
#[utoipa::path(get, path = "/api/v1/standard-catalogues/{id}", tag = "standards", params(("id" = String, Path)),
    responses((status = 200, body = StandardCatalogue), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn standard_catalogue(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<StandardCatalogue>, ApiError> {
    Ok(Json(
        state
            .store
            .standards()
            .catalogue(&caller.scope, &id)
            .await?,
    ))
}

/// A catalogue version as its file (JSON), the form `POST …/standard-catalogues` reads back.
#[utoipa::path(get, path = "/api/v1/standard-catalogues/{id}/file", tag = "standards", params(("id" = String, Path)),
    responses((status = 200, body = CatalogueFile), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn standard_catalogue_file(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<CatalogueFile>, ApiError> {
    Ok(Json(
        state
            .store
            .standards()
            .export_catalogue(&caller.scope, &id)
            .await?,
    ))
}

/// Publishes a catalogue file as the organisation's next version (a brand's headquarters: the
/// brand's standards; a market entity: its additions). Every problem is named by its place in
/// the file (`requirements.3.text.pt`).
#[utoipa::path(post, path = "/api/v1/organisations/{id}/standard-catalogues", tag = "standards", params(("id" = String, Path)),
    request_body = CatalogueFile,
    responses((status = 201, body = StandardCatalogue), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn import_standard_catalogue(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(file): ApiJson<CatalogueFile>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .standards()
        .import_catalogue(&caller.scope, &id, &file, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// `planned`, `completed` or `cancelled`; all when left out.
    pub status: Option<String>,
}

/// Audits of the service points the caller reaches, the newest day first.
#[utoipa::path(get, path = "/api/v1/standard-audits", tag = "standards", params(AuditParams),
    responses((status = 200, body = Vec<StandardAuditSummary>), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn standard_audits(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> Result<Json<Vec<StandardAuditSummary>>, ApiError> {
    let status = match p.status.as_deref() {
        Some(s) => Some(
            AuditStatus::parse("status", s).map_err(aftersales_domain::ValidationErrors::from)?,
        ),
        None => None,
    };
    Ok(Json(
        state
            .store
            .standards()
            .audits(&caller.scope, status)
            .await?,
    ))
}

/// Plans an audit of a service point: the auditor and the day.
#[utoipa::path(post, path = "/api/v1/standard-audits", tag = "standards", request_body = StandardAuditInput,
    responses((status = 201, body = StandardAudit), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn plan_standard_audit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<StandardAuditInput>,
) -> Result<Response, ApiError> {
    let a = state
        .store
        .standards()
        .plan_audit(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(a)).into_response())
}

/// An audit: its requirements with the self-assessment and the official answers, evidence, scores.
#[utoipa::path(get, path = "/api/v1/standard-audits/{id}", tag = "standards", params(("id" = String, Path)),
    responses((status = 200, body = StandardAudit), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn standard_audit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<StandardAudit>, ApiError> {
    Ok(Json(
        state.store.standards().audit(&caller.scope, &id).await?,
    ))
}

/// How a planned audit changes: another day and auditor, or cancelled.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AuditReplan {
    pub auditor_id: Option<String>,
    /// YYYY-MM-DD.
    #[schema(format = Date)]
    pub planned_on: Option<String>,
    #[serde(default)]
    pub cancel: bool,
}

/// Moves a planned audit to another day or auditor, or cancels it.
#[utoipa::path(post, path = "/api/v1/standard-audits/{id}/plan", tag = "standards", params(("id" = String, Path)),
    request_body = AuditReplan,
    responses((status = 200, body = StandardAudit), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn replan_standard_audit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AuditReplan>,
) -> Result<Json<StandardAudit>, ApiError> {
    let st = state.store.standards();
    let current = st.audit(&caller.scope, &id).await?;
    let input = StandardAuditInput {
        service_point_id: String::new(),
        auditor_id: b.auditor_id.unwrap_or(current.auditor.id),
        planned_on: b.planned_on.unwrap_or(current.planned_on),
    };
    Ok(Json(
        st.replan_audit(&caller.scope, &id, &input, b.cancel, state.now())
            .await?,
    ))
}

fn party(p: &str) -> Result<AuditParty, ApiError> {
    Ok(AuditParty::parse("party", p).map_err(aftersales_domain::ValidationErrors::from)?)
}

/// Saves one party's answers: `self` (the service point's self-assessment) or `official` (the
/// auditor). With `finish` every requirement needs an answer: the self-assessment is then
/// submitted, or the audit completed and scored.
#[utoipa::path(put, path = "/api/v1/standard-audits/{id}/answers/{party}", tag = "standards",
    params(("id" = String, Path), ("party" = String, Path, description = "`self` or `official`")),
    request_body = AnswersInput,
    responses((status = 200, body = StandardAudit), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn save_standard_answers(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, p)): Path<(String, String)>,
    ApiJson(b): ApiJson<AnswersInput>,
) -> Result<Json<StandardAudit>, ApiError> {
    let p = party(&p)?;
    Ok(Json(
        state
            .store
            .standards()
            .save_answers(&caller.scope, &id, p, &b, state.now())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EvidenceParams {
    pub requirement_id: String,
    /// `self` or `official`.
    pub party: String,
    /// The file's name as the uploader had it.
    pub file_name: String,
}

/// Adds an evidence file (the request body: a photo or a PDF, at most 10 MB) to a requirement.
#[utoipa::path(post, path = "/api/v1/standard-audits/{id}/evidence", tag = "standards", params(("id" = String, Path), EvidenceParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = EvidenceFile), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_standard_evidence(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<EvidenceParams>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let party = party(&p.party)?;
    let e = state
        .store
        .standards()
        .add_evidence(
            &caller.scope,
            &id,
            &p.requirement_id,
            party,
            (&p.file_name, &body),
            state.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(e)).into_response())
}

/// An evidence file as uploaded.
#[utoipa::path(get, path = "/api/v1/standard-evidence/{id}", tag = "standards", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn standard_evidence(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (meta, bytes) = state.store.standards().evidence(&caller.scope, &id).await?;
    Ok(evidence_response(&meta, bytes))
}

/// An evidence file's answer: its stored type, as an attachment with its name.
pub fn evidence_response(meta: &EvidenceFile, bytes: Vec<u8>) -> Response {
    crate::download::attachment_response(&meta.file_name, &meta.content_type, bytes)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActionParams {
    /// Only the actions of this audit.
    pub audit_id: Option<String>,
    /// Only actions not yet verified.
    pub open: Option<bool>,
}

/// Corrective actions of the service points reached, the earliest due first.
#[utoipa::path(get, path = "/api/v1/corrective-actions", tag = "standards", params(ActionParams),
    responses((status = 200, body = Vec<CorrectiveAction>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn corrective_actions(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<ActionParams>,
) -> Result<Json<Vec<CorrectiveAction>>, ApiError> {
    Ok(Json(
        state
            .store
            .standards()
            .actions(
                &caller.scope,
                p.audit_id.as_deref(),
                p.open.unwrap_or(false),
                state.now(),
            )
            .await?,
    ))
}

/// Raises a corrective action from a finding of a completed audit.
#[utoipa::path(post, path = "/api/v1/standard-audits/{id}/actions", tag = "standards", params(("id" = String, Path)),
    request_body = CorrectiveActionInput,
    responses((status = 201, body = CorrectiveAction), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn raise_corrective_action(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CorrectiveActionInput>,
) -> Result<Response, ApiError> {
    let a = state
        .store
        .standards()
        .raise_action(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(a)).into_response())
}

/// One corrective action.
#[utoipa::path(get, path = "/api/v1/corrective-actions/{id}", tag = "standards", params(("id" = String, Path)),
    responses((status = 200, body = CorrectiveAction), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn corrective_action(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<CorrectiveAction>, ApiError> {
    Ok(Json(
        state
            .store
            .standards()
            .action(&caller.scope, &id, state.now())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FileParams {
    /// The file's name as the uploader had it.
    pub file_name: String,
}

/// Adds closing evidence (the request body: a photo or a PDF, at most 10 MB) to an open action.
#[utoipa::path(post, path = "/api/v1/corrective-actions/{id}/evidence", tag = "standards", params(("id" = String, Path), FileParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = EvidenceFile), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_action_evidence(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<FileParams>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let e = state
        .store
        .standards()
        .add_action_evidence(&caller.scope, &id, &p.file_name, &body, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(e)).into_response())
}

/// The service point closes an open action with a note (its evidence added before).
#[utoipa::path(post, path = "/api/v1/corrective-actions/{id}/submission", tag = "standards", params(("id" = String, Path)),
    request_body = ActionSubmission,
    responses((status = 200, body = CorrectiveAction), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn submit_corrective_action(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ActionSubmission>,
) -> Result<Json<CorrectiveAction>, ApiError> {
    Ok(Json(
        state
            .store
            .standards()
            .submit_action(&caller.scope, &id, &b, state.now())
            .await?,
    ))
}

/// The auditor verifies a submitted action, or sends it back with the reason.
#[utoipa::path(post, path = "/api/v1/corrective-actions/{id}/review", tag = "standards", params(("id" = String, Path)),
    request_body = ActionReview,
    responses((status = 200, body = CorrectiveAction), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn review_corrective_action(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ActionReview>,
) -> Result<Json<CorrectiveAction>, ApiError> {
    Ok(Json(
        state
            .store
            .standards()
            .review_action(&caller.scope, &id, &b, state.now())
            .await?,
    ))
}

/// Every service point reached, side by side: the latest scores per category, trend, open and
/// overdue actions, whether it is below the mandatory threshold.
#[utoipa::path(get, path = "/api/v1/standards/network", tag = "standards",
    responses((status = 200, body = Vec<NetworkPoint>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn standards_network(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<NetworkPoint>>, ApiError> {
    Ok(Json(
        state
            .store
            .standards()
            .network(&caller.scope, state.now())
            .await?,
    ))
}

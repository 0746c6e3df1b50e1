//! API of capability kpis: the published definitions, each KPI over a period with its breakdown
//! and the items behind it (filters as in the pages' URLs), targets, costs per hour.

use aftersales_domain::i18n::Language;
use aftersales_domain::kpi::{Dimension, Kpi};
use aftersales_store::kpis::{
    KpiCosts, KpiCostsInput, KpiDefinition, KpiReport, KpiTarget, KpiTargetInput,
};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::ApiJson;
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::i18n::I18n;
use crate::AppState;

/// The published definitions in `lang`.
pub fn definitions(i18n: &I18n, lang: Language) -> Vec<KpiDefinition> {
    Kpi::ALL
        .iter()
        .map(|k| KpiDefinition {
            code: *k,
            unit: k.unit(),
            direction: k.direction(),
            name: i18n.get(lang, &format!("kpi-name-{}", k.as_str()), None),
            definition: i18n.get(lang, &format!("kpi-def-{}", k.as_str()), None),
            dimensions: k.dimensions().to_vec(),
            computed_page: k.computed_at().map(str::to_string),
        })
        .collect()
}

fn pairs(q: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn lang_of(pairs: &[(String, String)], fallback: Language) -> Language {
    pairs
        .iter()
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Language::from_tag(v))
        .unwrap_or(fallback)
}

/// Every published KPI with its definition (`?lang=nb|en|pt`, else the caller's language).
#[utoipa::path(get, path = "/api/v1/kpis", tag = "kpis",
    params(("lang" = Option<String>, Query, description = "nb, en or pt")),
    responses((status = 200, body = Vec<KpiDefinition>)))]
pub async fn kpi_definitions(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    RawQuery(q): RawQuery,
) -> Json<Vec<KpiDefinition>> {
    let p = pairs(q);
    Json(definitions(&state.i18n, lang_of(&p, caller.language)))
}

/// One KPI over a period: its figure against the target and the period before, the breakdown
/// (`by`: market, service-point, advisor, technician, model, pay-type, month) and the newest
/// `limit` items behind it (at most 1,000). `period` is today, this-week, this-month,
/// last-month (the default), last-12-months, year-to-date, a month (2026-11), a quarter
/// (2026-Q4) or a year; or `from` and `to` as dates.
#[utoipa::path(get, path = "/api/v1/kpis/{code}", tag = "kpis",
    params(("code" = String, Path), ("period" = Option<String>, Query), ("from" = Option<String>, Query),
        ("to" = Option<String>, Query), ("organisation_id" = Option<String>, Query), ("model" = Option<String>, Query),
        ("pay_type" = Option<String>, Query), ("by" = Option<String>, Query), ("limit" = Option<usize>, Query)),
    responses((status = 200, body = KpiReport), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn kpi_report(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(code): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<KpiReport>, ApiError> {
    let k = Kpi::parse("code", &code).map_err(|e| ApiError::invalid(vec![e]))?;
    let p = pairs(q);
    let today = super::caller_today(&state, &caller).await?;
    let f = crate::kpi_query::parse(&p, today, "last-month")?;
    let limit = match p.iter().find(|(k, _)| k == "limit") {
        Some((_, v)) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                ApiError::field(
                    "limit",
                    aftersales_domain::Rule::NotAllowed,
                    "limit must be a whole number from 1 to 1000",
                )
            })?,
        None => 100,
    };
    Ok(Json(
        state
            .store
            .kpis()
            .report(
                &caller.scope,
                k,
                &f.query,
                f.by.unwrap_or(Dimension::ServicePoint),
                limit,
                state.now(),
            )
            .await?,
    ))
}

/// The targets that apply within the caller's reach.
#[utoipa::path(get, path = "/api/v1/kpi-targets", tag = "kpis",
    responses((status = 200, body = Vec<KpiTarget>)))]
pub async fn kpi_targets(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<KpiTarget>>, ApiError> {
    Ok(Json(state.store.kpis().targets(&caller.scope).await?))
}

/// Sets the target of a KPI at an organisation from a month on (replacing one set for the same
/// month): green from `green` on, amber from `amber` on, in the KPI's better direction.
#[utoipa::path(post, path = "/api/v1/kpi-targets", tag = "kpis", request_body = KpiTargetInput,
    responses((status = 201, body = KpiTarget), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_kpi_target(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<KpiTargetInput>,
) -> Result<Response, ApiError> {
    let t = state
        .store
        .kpis()
        .set_target(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

/// Removes a target.
#[utoipa::path(delete, path = "/api/v1/kpi-targets/{id}", tag = "kpis", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn remove_kpi_target(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.kpis().remove_target(&caller.scope, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An organisation's costs per hour for the contribution margin (its own or inherited).
#[utoipa::path(get, path = "/api/v1/organisations/{id}/kpi-costs", tag = "kpis", params(("id" = String, Path)),
    responses((status = 200, body = KpiCosts), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn kpi_costs(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<KpiCosts>, ApiError> {
    Ok(Json(state.store.kpis().costs(&caller.scope, &id).await?))
}

/// Sets an organisation's costs per hour.
#[utoipa::path(put, path = "/api/v1/organisations/{id}/kpi-costs", tag = "kpis", params(("id" = String, Path)),
    request_body = KpiCostsInput,
    responses((status = 200, body = KpiCosts), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_kpi_costs(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<KpiCostsInput>,
) -> Result<Json<KpiCosts>, ApiError> {
    Ok(Json(
        state
            .store
            .kpis()
            .set_costs(&caller.scope, &id, &b, state.now())
            .await?,
    ))
}

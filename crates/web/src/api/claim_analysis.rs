//! API of claim analysis and the risk-based audit of service points (issue 18): the same figures
//! the analysis page shows (claims per 1,000 by months in service, cost per unit, Weibull fits
//! by months and by km, the early-warning chart, service points against their peers) as JSON
//! with their definitions' inputs, and the audit: rules, the risk ranking, the claims a rule
//! hits, audits with their samples and findings.

use aftersales_domain::analysis::audit::RedFlag;
use aftersales_domain::validation::{FieldError, Rule};
use aftersales_domain::warranty::goodwill::ComponentGroup;
use aftersales_domain::ValidationErrors;
use aftersales_store::warranty::{
    Audit, AuditProposal, AuditResultInput, AuditRuleInput, AuditRules, AuditSummary, FlaggedClaim,
    MisQuery, PeerMeasure, RiskOverview, AUDIT_MONTHS,
};
use aftersales_store::StoreError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiJson, ApiQuery};
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::AppState;

fn invalid(field: &str, rule: Rule, message: &str) -> ApiError {
    ApiError::from(StoreError::Invalid(ValidationErrors(vec![
        FieldError::new(field, rule, message),
    ])))
}

fn component(field: &str, v: Option<&str>) -> Result<Option<ComponentGroup>, ApiError> {
    v.map(|c| ComponentGroup::parse(field, c))
        .transpose()
        .map_err(|e| ApiError::from(StoreError::Invalid(ValidationErrors(vec![e]))))
}

fn months(v: Option<u32>, default: u32) -> Result<u32, ApiError> {
    let m = v.unwrap_or(default);
    if (1..=60).contains(&m) {
        Ok(m)
    } else {
        Err(invalid(
            "months",
            Rule::Format,
            "months must lie between 1 and 60",
        ))
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MisParams {
    /// A component group; all when left out.
    pub component: Option<String>,
    /// Months in service to show, 1–120 (default 48).
    pub max_months: Option<u32>,
    /// Only vehicles of this model (as the vehicle names it).
    pub model: Option<String>,
    /// Only vehicles of this market (its code, `PT`).
    pub market: Option<String>,
    /// Only the claims this service point made (over all the vehicles reached).
    pub service_point_id: Option<String>,
    /// `claims` (default) or `repairs` (repair orders with a claim).
    pub count: Option<String>,
}

/// Claims per 1,000 vehicles by months in service: a row per delivery quarter, each cell the
/// claims in that month of service over the vehicles that reached it (vehicles not yet there
/// are censored, not zero), and the pooled total.
#[utoipa::path(get, path = "/api/v1/warranty/analysis/claims-per-1000", tag = "warranty", params(MisParams),
    responses((status = 200, description = "The matrix", body = serde_json::Value),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn claims_per_1000(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<MisParams>,
) -> Result<Json<Value>, ApiError> {
    let c = component("component", p.component.as_deref())?;
    let max = p.max_months.unwrap_or(48);
    if !(1..=120).contains(&max) {
        return Err(invalid(
            "max_months",
            Rule::Format,
            "max_months must lie between 1 and 120",
        ));
    }
    let repairs = match p.count.as_deref() {
        None | Some("claims") => false,
        Some("repairs") => true,
        Some(_) => {
            return Err(invalid(
                "count",
                Rule::OneOf,
                "count must be one of claims, repairs",
            ))
        }
    };
    let q = MisQuery {
        component: c,
        model: p.model.clone(),
        market: p.market.clone(),
        service_point: p.service_point_id.clone(),
        repairs,
    };
    let m = state
        .store
        .warranty()
        .mis_matrix(&caller.scope, state.now().date(), &q, max)
        .await?;
    Ok(Json(json!({
        "on": state.now().date().to_string(),
        "component": c,
        "model": p.model,
        "market": p.market,
        "service_point_id": p.service_point_id,
        "count": if repairs { "repairs" } else { "claims" },
        "rows": m.rows,
        "total": m.total,
    })))
}

/// Warranty cost per vehicle in service: parts, labour, sublet, charged back after audits,
/// supplier recovery, and approved goodwill by who bears it (minor units); warranty cost ÷
/// service revenue (invoiced net of VAT other than warranty to the brand, plus claimed from it).
#[utoipa::path(get, path = "/api/v1/warranty/analysis/cost-per-unit", tag = "warranty",
    responses((status = 200, description = "Cost per unit", body = serde_json::Value),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn cost_per_unit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Value>, ApiError> {
    let c = state
        .store
        .warranty()
        .cost_per_unit(&caller.scope, state.now().date())
        .await?;
    Ok(Json(json!({
        "vehicles": c.vehicles,
        "claims": c.claims,
        "currency": c.currency,
        "parts_minor": c.cost.parts,
        "labour_minor": c.cost.labour,
        "sublet_minor": c.cost.sublet,
        "charged_back_minor": c.cost.charged_back,
        "recovered_minor": c.cost.recovered,
        "per_unit_minor": c.per_unit(),
        "recovery_share": c.recovery_share(),
        "invoiced_minor": c.invoiced,
        "warranty_claimed_minor": c.claimed,
        "revenue_share": c.revenue_share(),
        "goodwill_minor": {
            "brand": c.goodwill[0],
            "importer": c.goodwill[1],
            "service_point": c.goodwill[2],
            "customer": c.goodwill[3],
        },
    })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WeibullParams {
    /// The component group.
    pub component: String,
    /// `months` (default) or `km`.
    pub by: Option<String>,
    /// Two-sided confidence of the bounds, % (default 95, 50–99).
    pub confidence_pct: Option<u32>,
}

/// A Weibull fit of a component's first failure (right-censored: vehicles still running
/// without it) by months in service or by km, with bounds, failures and suspensions; an answer
/// with `error` where too few failures allow no fit.
#[utoipa::path(get, path = "/api/v1/warranty/analysis/weibull", tag = "warranty", params(WeibullParams),
    responses((status = 200, description = "The fit", body = serde_json::Value),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn weibull(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<WeibullParams>,
) -> Result<Json<Value>, ApiError> {
    let Some(c) = component("component", Some(&p.component))? else {
        return Err(invalid(
            "component",
            Rule::Required,
            "component is required",
        ));
    };
    let confidence = p.confidence_pct.unwrap_or(95);
    if !(50..=99).contains(&confidence) {
        return Err(invalid(
            "confidence_pct",
            Rule::Format,
            "confidence_pct must lie between 50 and 99",
        ));
    }
    let w = state.store.warranty();
    let on = state.now().date();
    let conf = f64::from(confidence) / 100.0;
    let by = p.by.as_deref().unwrap_or("months");
    let fit = match by {
        "months" => w.weibull_by_months(&caller.scope, on, c, conf).await?,
        "km" => w.weibull_by_km(&caller.scope, on, c, conf).await?,
        _ => return Err(invalid("by", Rule::OneOf, "by must be one of months, km")),
    };
    Ok(Json(match fit {
        Ok(f) => json!({ "component": c, "by": by, "fit": f }),
        Err(e) => json!({ "component": c, "by": by, "error": e.to_string() }),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WarningParams {
    pub component: String,
    /// Calendar months charted before this one (default 24, 1–60).
    pub months: Option<u32>,
}

/// A component's claims per 1,000 vehicles in service per calendar month as a Laney u′ chart
/// (EWMA and CUSUM beside it), the months that signal marked.
#[utoipa::path(get, path = "/api/v1/warranty/analysis/early-warning", tag = "warranty", params(WarningParams),
    responses((status = 200, description = "The chart", body = serde_json::Value),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn early_warning(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<WarningParams>,
) -> Result<Json<Value>, ApiError> {
    let Some(c) = component("component", Some(&p.component))? else {
        return Err(invalid(
            "component",
            Rule::Required,
            "component is required",
        ));
    };
    let m = months(p.months, 24)?;
    let r = state
        .store
        .warranty()
        .early_warning(&caller.scope, state.now().date(), c, m)
        .await?;
    Ok(Json(match r {
        Ok(w) => json!({
            "component": c,
            "months": w.months.iter().map(|d| d.to_string()[..7].to_string()).collect::<Vec<_>>(),
            "signalled": w.chart.signalled(),
            "chart": w.chart,
        }),
        Err(e) => json!({ "component": c, "error": e }),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeerParams {
    /// `labour-per-claim` (hundredths of an hour), `cost-per-claim` (minor units) or
    /// `claims-per-vehicle` (claims per vehicle serviced, Poisson limits).
    pub measure: String,
    /// Months of claims compared (default 12).
    pub months: Option<u32>,
}

/// Service points against their peers on a measure per claim: a funnel with limits at 95 % and
/// 99.8 %, each point's position against them.
#[utoipa::path(get, path = "/api/v1/warranty/analysis/peers", tag = "warranty", params(PeerParams),
    responses((status = 200, description = "The funnel", body = serde_json::Value),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn peers(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<PeerParams>,
) -> Result<Json<Value>, ApiError> {
    let measure = match p.measure.as_str() {
        "labour-per-claim" => PeerMeasure::LabourPerClaim,
        "cost-per-claim" => PeerMeasure::CostPerClaim,
        "claims-per-vehicle" => PeerMeasure::ClaimsPerVehicle,
        _ => {
            return Err(invalid(
                "measure",
                Rule::OneOf,
                "measure must be one of labour-per-claim, cost-per-claim, claims-per-vehicle",
            ))
        }
    };
    let m = months(p.months, 12)?;
    let r = state
        .store
        .warranty()
        .peer_funnel(&caller.scope, state.now().date(), measure, m)
        .await?;
    Ok(Json(match r {
        Ok(f) => json!({
            "measure": p.measure,
            "service_points": f.points.iter().zip(&f.funnel.points).map(|((id, name), point)| json!({
                "id": id, "name": name, "point": point,
            })).collect::<Vec<_>>(),
            "target": f.funnel.target,
            "phi": f.funnel.phi,
            "overdispersed": f.funnel.overdispersed,
            "sd": f.sd,
        }),
        Err(e) => json!({ "measure": p.measure, "error": e }),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RiskParams {
    /// Months looked at (default 12, 1–60).
    pub months: Option<u32>,
}

/// The service points the caller audits, ranked by risk score, with each rule's hits.
#[utoipa::path(get, path = "/api/v1/warranty/risk", tag = "warranty", params(RiskParams),
    responses((status = 200, body = RiskOverview), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn risk(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<RiskParams>,
) -> Result<Json<RiskOverview>, ApiError> {
    let m = months(p.months, AUDIT_MONTHS)?;
    Ok(Json(
        state
            .store
            .warranty()
            .risk(&caller.scope, state.now().date(), m)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FlaggedParams {
    /// A rule; every flagged claim when left out.
    pub flag: Option<String>,
    pub months: Option<u32>,
    /// At most this many, newest first (1–100000; all when left out).
    pub limit: Option<i64>,
}

/// The claims of a service point the red-flag rules hit, newest first.
#[utoipa::path(get, path = "/api/v1/warranty/risk/{service_point_id}/claims", tag = "warranty",
    params(("service_point_id" = String, Path), FlaggedParams),
    responses((status = 200, body = Vec<FlaggedClaim>), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn flagged(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(point): Path<String>,
    ApiQuery(p): ApiQuery<FlaggedParams>,
) -> Result<Json<Vec<FlaggedClaim>>, ApiError> {
    let flag = p
        .flag
        .as_deref()
        .map(|f| RedFlag::parse("flag", f))
        .transpose()
        .map_err(|e| ApiError::from(StoreError::Invalid(ValidationErrors(vec![e]))))?;
    let m = months(p.months, AUDIT_MONTHS)?;
    if p.limit.is_some_and(|l| !(1..=100_000).contains(&l)) {
        return Err(ApiError::from(StoreError::Invalid(
            ValidationErrors::single("limit", Rule::Format, "limit must lie between 1 and 100000"),
        )));
    }
    let (_, claims) = state
        .store
        .warranty()
        .flagged_claims(&caller.scope, state.now().date(), m, &point, flag, p.limit)
        .await?;
    Ok(Json(claims))
}

/// The red-flag rules the caller audits by.
#[utoipa::path(get, path = "/api/v1/warranty/audit-rules", tag = "warranty",
    responses((status = 200, body = AuditRules), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn audit_rules(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<AuditRules>, ApiError> {
    Ok(Json(
        state.store.warranty().audit_rules(&caller.scope).await?,
    ))
}

/// Changes a rule's threshold, weight or whether it counts.
#[utoipa::path(patch, path = "/api/v1/warranty/audit-rules/{rule}", tag = "warranty", params(("rule" = String, Path)),
    request_body = AuditRuleInput,
    responses((status = 200, body = AuditRules), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_audit_rule(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(rule): Path<String>,
    ApiJson(b): ApiJson<AuditRuleInput>,
) -> Result<Json<AuditRules>, ApiError> {
    Ok(Json(
        state
            .store
            .warranty()
            .set_audit_rule(&caller.scope, &rule, &b, state.now())
            .await?,
    ))
}

/// The audits of the service points the caller audits, newest first.
#[utoipa::path(get, path = "/api/v1/warranty/audits", tag = "warranty",
    responses((status = 200, body = Vec<AuditSummary>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn audits(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<AuditSummary>>, ApiError> {
    Ok(Json(state.store.warranty().audits(&caller.scope).await?))
}

/// Proposes an audit of a service point: a sample of its paid claims, sized by discovery
/// sampling and drawn weighted by risk.
#[utoipa::path(post, path = "/api/v1/warranty/audits", tag = "warranty", request_body = AuditProposal,
    responses((status = 201, body = Audit), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn propose_audit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<AuditProposal>,
) -> Result<Response, ApiError> {
    let a = state
        .store
        .warranty()
        .propose_audit(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(a)).into_response())
}

/// One audit with its sample and what was found.
#[utoipa::path(get, path = "/api/v1/warranty/audits/{id}", tag = "warranty", params(("id" = String, Path)),
    responses((status = 200, body = Audit), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn audit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Audit>, ApiError> {
    Ok(Json(
        state.store.warranty().audit(&caller.scope, &id).await?,
    ))
}

/// Records what the audit found on one of its claims: accepted, or charged back with an amount
/// and a reason (the claim then pays that much less).
#[utoipa::path(post, path = "/api/v1/warranty/audits/{id}/claims/{claim_id}", tag = "warranty",
    params(("id" = String, Path), ("claim_id" = String, Path)), request_body = AuditResultInput,
    responses((status = 200, body = Audit), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn record_audit_result(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, claim)): Path<(String, String)>,
    ApiJson(b): ApiJson<AuditResultInput>,
) -> Result<Json<Audit>, ApiError> {
    Ok(Json(
        state
            .store
            .warranty()
            .record_audit_result(&caller.scope, &id, &claim, &b, state.now())
            .await?,
    ))
}

/// Closes an audit whose claims all have a finding; its findings then stand.
#[utoipa::path(post, path = "/api/v1/warranty/audits/{id}/close", tag = "warranty", params(("id" = String, Path)),
    responses((status = 200, body = Audit), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn close_audit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Audit>, ApiError> {
    Ok(Json(
        state
            .store
            .warranty()
            .close_audit(&caller.scope, &id, state.now())
            .await?,
    ))
}

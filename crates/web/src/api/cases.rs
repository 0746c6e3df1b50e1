//! API of capability cases: the inbox, intake, messages and notes, status, escalation, tasks,
//! and the SLA settings of an organisation (policies, opening hours).

use aftersales_domain::cases::{Category, Priority, Status};
use aftersales_domain::validation::Rule;
use aftersales_store::cases::{Case, CaseEvent, CaseInput, InboxFilter, Task};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use time::OffsetDateTime;

use super::{etag, if_match, ApiJson, ApiQuery};
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InboxParams {
    /// `all` (default), `mine` or `escalated` (the service manager's queue).
    pub view: Option<String>,
    /// Page size, 1–200 (default 50).
    #[serde(default, deserialize_with = "super::page_size")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn inbox_filter(view: Option<&str>) -> Result<InboxFilter, ApiError> {
    match view.unwrap_or("all") {
        "all" => Ok(InboxFilter::All),
        "mine" => Ok(InboxFilter::Mine),
        "escalated" => Ok(InboxFilter::Escalated),
        _ => Err(ApiError::field(
            "view",
            Rule::OneOf,
            "view must be one of all, mine, escalated",
        )),
    }
}

/// Active cases, the most urgent first, with their SLA timers, a page at a time (the order is
/// worked out at each reading, so the cursor is a position in it).
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(InboxParams), responses((status = 200, body = super::ListPage<Case>)))]
pub async fn inbox(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<InboxParams>,
) -> Result<Json<super::ListPage<Case>>, ApiError> {
    let filter = inbox_filter(p.view.as_deref())?;
    Ok(Json(
        state
            .store
            .cases()
            .inbox_page(
                &caller.scope,
                filter,
                (p.cursor.as_deref(), aftersales_store::page_limit(p.limit)),
                state.now(),
            )
            .await?
            .into(),
    ))
}

/// Takes in a case (a phone call, an e-mail, a form).
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = CaseInput,
    responses((status = 201, body = Case), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_case(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<CaseInput>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .cases()
        .create_case(&caller.scope, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, etag(c.version), Json(c)).into_response())
}

#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = Case), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_case(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .cases()
        .get_case(&caller.scope, &id, state.now())
        .await?;
    Ok((etag(c.version), Json(c)).into_response())
}

/// What happened on the case, oldest first: intake, messages, notes, status changes, escalations, breaches.
#[utoipa::path(get, path = "/api/v1/cases/{id}/events", tag = "cases", params(("id" = String, Path)), responses((status = 200, body = Vec<CaseEvent>)))]
pub async fn events(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<CaseEvent>>, ApiError> {
    Ok(Json(
        state.store.cases().case_events(&caller.scope, &id).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageInput {
    pub body: String,
    /// `true`: a message to the customer (counts as a response); `false`: an internal note.
    pub to_customer: bool,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/messages", tag = "cases", params(("id" = String, Path)), request_body = MessageInput,
    responses((status = 200, body = Case), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_message(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MessageInput>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .cases()
        .add_case_message(&caller.scope, &id, &b.body, b.to_customer, state.now())
        .await?;
    Ok((etag(c.version), Json(c)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    /// `open`, `waiting-for-customer`, `resolved` or `closed`.
    pub status: String,
}

/// Moves the case along its status machine. Needs `If-Match`.
#[utoipa::path(post, path = "/api/v1/cases/{id}/status", tag = "cases", params(("id" = String, Path), ("If-Match" = String, Header)), request_body = StatusInput,
    responses((status = 200, body = Case), (status = 412, body = Problem, content_type = "application/problem+json")))]
pub async fn set_status(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<StatusInput>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let status = Status::parse("status", &b.status).map_err(|e| ApiError::invalid(vec![e]))?;
    let c = state
        .store
        .cases()
        .set_case_status(&caller.scope, &id, status, version, state.now())
        .await?;
    Ok((etag(c.version), Json(c)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EscalationInput {
    pub note: Option<String>,
}

/// Escalates the case to the service manager.
#[utoipa::path(post, path = "/api/v1/cases/{id}/escalation", tag = "cases", params(("id" = String, Path)), request_body = EscalationInput,
    responses((status = 200, body = Case), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn escalate(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<EscalationInput>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .cases()
        .escalate_case(&caller.scope, &id, b.note.as_deref(), state.now())
        .await?;
    Ok((etag(c.version), Json(c)).into_response())
}

/// Makes you the case's owner.
#[utoipa::path(post, path = "/api/v1/cases/{id}/owner", tag = "cases", params(("id" = String, Path)), responses((status = 200, body = Case)))]
pub async fn take(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .cases()
        .take_case(&caller.scope, &id, state.now())
        .await?;
    Ok((etag(c.version), Json(c)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    pub title: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub due_at: OffsetDateTime,
    /// A colleague; you when left out.
    pub assignee_user_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/cases/{id}/tasks", tag = "cases", params(("id" = String, Path)), responses((status = 200, body = Vec<Task>)))]
pub async fn list_tasks(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Task>>, ApiError> {
    Ok(Json(
        state.store.cases().case_tasks(&caller.scope, &id).await?,
    ))
}

/// Adds a follow-up task with a due date.
#[utoipa::path(post, path = "/api/v1/cases/{id}/tasks", tag = "cases", params(("id" = String, Path)), request_body = TaskInput,
    responses((status = 201, body = Task), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_task(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TaskInput>,
) -> Result<Response, ApiError> {
    let t = state
        .store
        .cases()
        .add_task(
            &caller.scope,
            &id,
            &b.title,
            b.due_at,
            b.assignee_user_id.as_deref(),
            state.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

/// Your open follow-ups, soonest first.
#[utoipa::path(get, path = "/api/v1/me/tasks", tag = "cases", responses((status = 200, body = Vec<Task>)))]
pub async fn my_tasks(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<Task>>, ApiError> {
    Ok(Json(state.store.cases().my_tasks(&caller.scope).await?))
}

#[utoipa::path(post, path = "/api/v1/tasks/{id}/completion", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = Task), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn complete_task(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    Ok(Json(
        state
            .store
            .cases()
            .complete_task(&caller.scope, &id, state.now())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicyInput {
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
}

/// Sets an SLA policy (business minutes) of an organisation you administer.
#[utoipa::path(put, path = "/api/v1/organisations/{id}/sla-policies/{category}/{priority}", tag = "cases",
    params(("id" = String, Path), ("category" = String, Path), ("priority" = String, Path)), request_body = SlaPolicyInput,
    responses((status = 204), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_sla_policy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, category, priority)): Path<(String, String, String)>,
    ApiJson(b): ApiJson<SlaPolicyInput>,
) -> Result<StatusCode, ApiError> {
    let mut errs = Vec::new();
    let c = Category::parse("category", &category)
        .map_err(|e| errs.push(e))
        .ok();
    let p = Priority::parse("priority", &priority)
        .map_err(|e| errs.push(e))
        .ok();
    let (Some(c), Some(p)) = (c, p) else {
        return Err(ApiError::invalid(errs));
    };
    state
        .store
        .cases()
        .set_sla_policy(
            &caller.scope,
            &id,
            c,
            p,
            b.first_response_minutes,
            b.resolution_minutes,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningSlot {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    /// `HH:MM`, local time.
    pub opens: String,
    pub closes: String,
}

/// Replaces the opening hours of an organisation you administer (SLA time runs only then).
/// How the organisation's inbox works: opening hours, SLA targets (own or inherited), inbound
/// mail addresses and the web form (administrators).
#[utoipa::path(get, path = "/api/v1/organisations/{id}/inbox-settings", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = aftersales_store::cases::InboxSettings), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn inbox_settings(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<aftersales_store::cases::InboxSettings>, ApiError> {
    Ok(Json(
        state
            .store
            .cases()
            .inbox_settings(&caller.scope, &id)
            .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/organisations/{id}/opening-hours", tag = "cases", params(("id" = String, Path)), request_body = Vec<OpeningSlot>,
    responses((status = 204), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_opening_hours(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(slots): ApiJson<Vec<OpeningSlot>>,
) -> Result<StatusCode, ApiError> {
    let fmt = time::macros::format_description!("[hour]:[minute]");
    let mut hours = Vec::new();
    for (i, s) in slots.iter().enumerate() {
        let o = time::Time::parse(&s.opens, &fmt).map_err(|_| {
            ApiError::field(format!("{i}.opens"), Rule::Format, "opens must be HH:MM")
        })?;
        let c = time::Time::parse(&s.closes, &fmt).map_err(|_| {
            ApiError::field(format!("{i}.closes"), Rule::Format, "closes must be HH:MM")
        })?;
        hours.push((s.weekday, o, c));
    }
    state
        .store
        .cases()
        .set_opening_hours(&caller.scope, &id, &hours)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes in a mail from the mail gateway (authenticate with an API token of an account that
/// may write cases at the inbox's organisation). Replies join their case; a retried mail is
/// taken once.
#[utoipa::path(post, path = "/api/v1/inbound-email", tag = "cases", request_body = aftersales_store::cases::intake::InboundEmail,
    responses((status = 201, body = aftersales_store::cases::intake::IntakeResult), (status = 200, body = aftersales_store::cases::intake::IntakeResult),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn inbound_email(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(mail): ApiJson<aftersales_store::cases::intake::InboundEmail>,
) -> Result<Response, ApiError> {
    let r = state
        .store
        .cases()
        .receive_email(&caller.scope, &mail, state.now())
        .await?;
    let status = if r.outcome == "created" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(r)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundAddressInput {
    pub address: String,
}

/// Registers a mail address whose mail lands in this organisation's inbox.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/inbound-addresses", tag = "cases", params(("id" = String, Path)), request_body = InboundAddressInput,
    responses((status = 204), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_inbound_address(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<InboundAddressInput>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .cases()
        .add_inbound_address(&caller.scope, &id, &b.address)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebIntakeInput {
    pub enabled: bool,
}

/// Lets the organisation take inquiries from the public web form, or stops it.
#[utoipa::path(put, path = "/api/v1/organisations/{id}/web-intake", tag = "cases", params(("id" = String, Path)), request_body = WebIntakeInput,
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn set_web_intake(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<WebIntakeInput>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .cases()
        .set_web_intake(&caller.scope, &id, b.enabled)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ranked triage suggestions for the case: remote fixes with their observed success rates,
/// then mobile service and the workshop. In your language.
#[utoipa::path(get, path = "/api/v1/cases/{id}/triage-suggestions", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = Vec<aftersales_store::cases::triage::Suggestion>)))]
pub async fn triage_suggestions(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<aftersales_store::cases::triage::Suggestion>>, ApiError> {
    Ok(Json(
        state
            .store
            .cases()
            .triage_suggestions(&caller.scope, &id, caller.language, state.now())
            .await?,
    ))
}

/// Records the triage decision: `remote-fix` (with the article applied), `mobile-service` or `workshop`.
#[utoipa::path(post, path = "/api/v1/cases/{id}/triage", tag = "cases", params(("id" = String, Path)), request_body = aftersales_store::cases::triage::DecisionInput,
    responses((status = 204), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn record_triage(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<aftersales_store::cases::triage::DecisionInput>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .cases()
        .record_triage(&caller.scope, &id, &b, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The knowledge base you can use, in your language.
#[utoipa::path(get, path = "/api/v1/knowledge-articles", tag = "cases", responses((status = 200, body = Vec<aftersales_store::cases::triage::Article>)))]
pub async fn list_articles(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<aftersales_store::cases::triage::Article>>, ApiError> {
    Ok(Json(
        state
            .store
            .cases()
            .list_articles(&caller.scope, caller.language)
            .await?,
    ))
}

/// Publishes a remote fix to everyone at or below the organisation (service managers, market managers, administrators).
#[utoipa::path(post, path = "/api/v1/organisations/{id}/knowledge-articles", tag = "cases", params(("id" = String, Path)),
    request_body = aftersales_store::cases::triage::ArticleInput,
    responses((status = 201, body = aftersales_store::cases::triage::Article), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_article(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<aftersales_store::cases::triage::ArticleInput>,
) -> Result<Response, ApiError> {
    let a = state
        .store
        .cases()
        .create_article(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(a)).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodParams {
    /// Start (inclusive), RFC 3339.
    pub from: String,
    /// End (exclusive), RFC 3339.
    pub to: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Rate {
    pub numerator: i64,
    pub denominator: i64,
    /// numerator ÷ denominator in percent, one decimal; `null` without cases.
    pub percent: Option<f64>,
    /// The published definition.
    pub definition: &'static str,
}

/// Remote-resolution rate over cases created in the period (kpi-definitions.md).
#[utoipa::path(get, path = "/api/v1/kpis/remote-resolution-rate", tag = "cases", params(PeriodParams),
    responses((status = 200, body = Rate), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn remote_resolution_rate(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<PeriodParams>,
) -> Result<Json<Rate>, ApiError> {
    let rfc = time::format_description::well_known::Rfc3339;
    let from = OffsetDateTime::parse(&p.from, &rfc).map_err(|_| {
        ApiError::field(
            "from",
            Rule::Format,
            "from must be an RFC 3339 time like 2026-11-01T00:00:00Z",
        )
    })?;
    let to = OffsetDateTime::parse(&p.to, &rfc).map_err(|_| {
        ApiError::field(
            "to",
            Rule::Format,
            "to must be an RFC 3339 time like 2026-12-01T00:00:00Z",
        )
    })?;
    if to <= from {
        return Err(ApiError::field(
            "to",
            Rule::NotAllowed,
            "to must be after from",
        ));
    }
    let (n, d) = state
        .store
        .cases()
        .remote_resolution_rate(&caller.scope, from, to, state.now())
        .await?;
    Ok(Json(Rate {
        numerator: n,
        denominator: d,
        percent: (d > 0).then(|| (n as f64 * 1000.0 / d as f64).round() / 10.0),
        definition: "cases closed by a remote fix (phone guidance, OTA, settings) with no visit within 30 days ÷ technical cases",
    }))
}

/// The working procedures that apply within your reach.
#[utoipa::path(get, path = "/api/v1/routing-rules", tag = "cases", responses((status = 200, body = Vec<aftersales_store::cases::RoutingRule>)))]
pub async fn routing_rules(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<aftersales_store::cases::RoutingRule>>, ApiError> {
    Ok(Json(
        state.store.cases().routing_rules(&caller.scope).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingRuleInput {
    pub target_organisation_id: String,
    pub first_response_minutes: Option<i64>,
    pub resolution_minutes: Option<i64>,
}

/// Ends the working procedure for a category at an organisation you administer.
#[utoipa::path(delete, path = "/api/v1/organisations/{id}/routing-rules/{category}", tag = "cases",
    params(("id" = String, Path), ("category" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn remove_routing_rule(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, category)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let category =
        Category::parse("category", &category).map_err(|e| ApiError::invalid(vec![e]))?;
    state
        .store
        .cases()
        .remove_routing_rule(&caller.scope, &id, category)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the working procedure for a category at an organisation you administer.
#[utoipa::path(put, path = "/api/v1/organisations/{id}/routing-rules/{category}", tag = "cases",
    params(("id" = String, Path), ("category" = String, Path)), request_body = RoutingRuleInput,
    responses((status = 200, body = aftersales_store::cases::RoutingRule), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_routing_rule(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, category)): Path<(String, String)>,
    ApiJson(b): ApiJson<RoutingRuleInput>,
) -> Result<Json<aftersales_store::cases::RoutingRule>, ApiError> {
    let category =
        Category::parse("category", &category).map_err(|e| ApiError::invalid(vec![e]))?;
    let targets = match (b.first_response_minutes, b.resolution_minutes) {
        (Some(f), Some(r)) => Some((f, r)),
        (None, None) => None,
        _ => {
            return Err(ApiError::field(
                "resolution_minutes",
                Rule::Required,
                "give both targets, or neither",
            ))
        }
    };
    Ok(Json(
        state
            .store
            .cases()
            .set_routing_rule(
                &caller.scope,
                &id,
                category,
                &b.target_organisation_id,
                targets,
                state.now(),
            )
            .await?,
    ))
}

/// The hand-offs of the case between parties.
#[utoipa::path(get, path = "/api/v1/cases/{id}/handoffs", tag = "cases", params(("id" = String, Path)), responses((status = 200, body = Vec<aftersales_store::cases::Handoff>)))]
pub async fn handoffs(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<aftersales_store::cases::Handoff>>, ApiError> {
    Ok(Json(
        state
            .store
            .cases()
            .case_handoffs(&caller.scope, &id)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffInput {
    pub to_organisation_id: String,
    pub note: Option<String>,
}

/// Hands the case to a party a working procedure names.
#[utoipa::path(post, path = "/api/v1/cases/{id}/handoff", tag = "cases", params(("id" = String, Path)), request_body = HandoffInput,
    responses((status = 200, body = Case), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn hand_off(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<HandoffInput>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .cases()
        .hand_off_case(
            &caller.scope,
            &id,
            &b.to_organisation_id,
            b.note.as_deref(),
            state.now(),
        )
        .await?;
    Ok((etag(c.version), Json(c)).into_response())
}

//! API of capability notify: notification rules and templates per organisation and language,
//! template previews, and the outbox with its dead letters.

use aftersales_domain::i18n::Language;
use aftersales_domain::notify::{Event, MessageChannel, Template};
use aftersales_store::notify::{OutboxItem, RuleView, TemplateView};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::{ApiJson, ApiQuery};
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::AppState;

fn parse_key(
    event: &str,
    channel: &str,
    language: Option<&str>,
) -> Result<(Event, MessageChannel, Language), ApiError> {
    let mut errs = Vec::new();
    let e = Event::parse("event", event).map_err(|e| errs.push(e)).ok();
    let c = MessageChannel::parse("channel", channel)
        .map_err(|e| errs.push(e))
        .ok();
    let l = match language {
        Some(l) => Language::parse("language", l)
            .map_err(|e| errs.push(e))
            .ok(),
        None => Some(Language::En),
    };
    match (e, c, l) {
        (Some(e), Some(c), Some(l)) => Ok((e, c, l)),
        _ => Err(ApiError::invalid(errs)),
    }
}

/// Which events notify through which channel at this organisation (own, inherited or built-in).
#[utoipa::path(get, path = "/api/v1/organisations/{id}/notification-rules", tag = "notify", params(("id" = String, Path)), responses((status = 200, body = Vec<RuleView>)))]
pub async fn list_rules(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<RuleView>>, ApiError> {
    Ok(Json(
        state
            .store
            .notify()
            .notification_rules(&caller.scope, &id)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    pub event: String,
    /// `email` or `sms`.
    pub channel: String,
    pub enabled: bool,
}

#[utoipa::path(put, path = "/api/v1/organisations/{id}/notification-rules", tag = "notify", params(("id" = String, Path)), request_body = RuleInput,
    responses((status = 200, body = Vec<RuleView>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_rule(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RuleInput>,
) -> Result<Json<Vec<RuleView>>, ApiError> {
    let (e, c, _) = parse_key(&b.event, &b.channel, None)?;
    state
        .store
        .notify()
        .set_notification_rule(&caller.scope, &id, e, c, b.enabled, state.now())
        .await?;
    Ok(Json(
        state
            .store
            .notify()
            .notification_rules(&caller.scope, &id)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/organisations/{id}/notification-templates/{event}/{channel}/{language}", tag = "notify",
    params(("id" = String, Path), ("event" = String, Path), ("channel" = String, Path), ("language" = String, Path)), responses((status = 200, body = TemplateView)))]
pub async fn get_template(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, event, channel, language)): Path<(String, String, String, String)>,
) -> Result<Json<TemplateView>, ApiError> {
    let (e, c, l) = parse_key(&event, &channel, Some(&language))?;
    Ok(Json(
        state
            .store
            .notify()
            .notification_template(&caller.scope, &id, e, c, l)
            .await?,
    ))
}

/// Saves the organisation's wording; only known placeholders (`{name}`, `{link}`, …) are allowed.
#[utoipa::path(put, path = "/api/v1/organisations/{id}/notification-templates/{event}/{channel}/{language}", tag = "notify",
    params(("id" = String, Path), ("event" = String, Path), ("channel" = String, Path), ("language" = String, Path)), request_body = Template,
    responses((status = 200, body = TemplateView), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_template(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, event, channel, language)): Path<(String, String, String, String)>,
    ApiJson(b): ApiJson<Template>,
) -> Result<Json<TemplateView>, ApiError> {
    let (e, c, l) = parse_key(&event, &channel, Some(&language))?;
    Ok(Json(
        state
            .store
            .notify()
            .set_notification_template(
                &caller.scope,
                &id,
                e,
                c,
                l,
                &b.subject,
                &b.body,
                state.now(),
            )
            .await?,
    ))
}

/// Back to the inherited or built-in wording.
#[utoipa::path(delete, path = "/api/v1/organisations/{id}/notification-templates/{event}/{channel}/{language}", tag = "notify",
    params(("id" = String, Path), ("event" = String, Path), ("channel" = String, Path), ("language" = String, Path)), responses((status = 200, body = TemplateView)))]
pub async fn reset_template(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, event, channel, language)): Path<(String, String, String, String)>,
) -> Result<Json<TemplateView>, ApiError> {
    let (e, c, l) = parse_key(&event, &channel, Some(&language))?;
    Ok(Json(
        state
            .store
            .notify()
            .reset_notification_template(&caller.scope, &id, e, c, l)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    pub channel: String,
    pub language: String,
    pub subject: String,
    pub body: String,
}

/// Renders a template with sample values, without saving it.
#[utoipa::path(post, path = "/api/v1/notification-templates/preview", tag = "notify", request_body = PreviewInput,
    responses((status = 200, body = Template), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn preview(
    ApiCaller(_caller): ApiCaller,
    ApiJson(b): ApiJson<PreviewInput>,
) -> Result<Json<Template>, ApiError> {
    let (_, c, l) = parse_key("survey", &b.channel, Some(&b.language))?;
    Ok(Json(aftersales_store::notify::preview(
        c, l, &b.subject, &b.body,
    )?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutboxParams {
    /// `pending`, `sent`, `dead` or `skipped`; all when empty.
    pub status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[serde(default, deserialize_with = "super::page_size")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Messages of the organisations whose customer messages the caller manages, newest first,
/// a page at a time.
#[utoipa::path(get, path = "/api/v1/outbox", tag = "notify", params(OutboxParams), responses((status = 200, body = super::ListPage<OutboxItem>)))]
pub async fn outbox(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<OutboxParams>,
) -> Result<Json<super::ListPage<OutboxItem>>, ApiError> {
    if let Some(s) = p.status.as_deref() {
        if !["pending", "sent", "dead", "skipped"].contains(&s) {
            return Err(ApiError::field(
                "status",
                aftersales_domain::validation::Rule::OneOf,
                "status must be one of pending, sent, dead, skipped",
            ));
        }
    }
    Ok(Json(
        state
            .store
            .notify()
            .outbox(
                &caller.scope,
                p.status.as_deref(),
                p.cursor.as_deref(),
                aftersales_store::page_limit(p.limit),
            )
            .await?
            .into(),
    ))
}

/// Puts a dead letter back in line.
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "notify", params(("id" = String, Path)),
    responses((status = 204), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn retry(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .notify()
        .retry_outbox(&caller.scope, &id, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

//! The HTTP layer: the JSON API under `/api/v1` (with its OpenAPI document and explorer), the
//! server-rendered UI, authentication, problem+json errors, health and metrics.
//! Handlers are thin: extract, parse, call one store function, render.

pub mod api;
pub mod auth;
pub mod config;
pub mod download;
pub mod error;
pub mod i18n;
pub mod kpi_digest;
pub mod kpi_query;
pub mod metrics;
pub mod multipart;
pub mod ui;
pub mod xlsx;

use std::sync::Arc;

use aftersales_domain::clock::Clock;
use aftersales_store::Store;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;

pub use config::WebConfig;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<WebConfig>,
    pub metrics: Arc<metrics::Metrics>,
    pub i18n: Arc<i18n::I18n>,
}

impl AppState {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: WebConfig,
    ) -> Result<AppState, i18n::I18nError> {
        Ok(AppState {
            store,
            clock,
            config: Arc::new(config),
            metrics: Arc::new(metrics::Metrics::default()),
            i18n: Arc::new(i18n::I18n::load()?),
        })
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }
}

/// The whole application: API, UI, health, metrics, with request ids, tracing and security headers.
pub fn app(state: AppState) -> Router {
    let (api_router, _) = api::router(state.clone());
    Router::new()
        .merge(api_router)
        .merge(ui::router(state.clone()))
        .route("/health", get(health))
        .route("/metrics", get(metrics::render))
        .layer(middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(middleware::from_fn_with_state(state.clone(), security_headers))
        .layer(middleware::from_fn(request_id_in_scope))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or("-")
                .to_string();
            tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
        })
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO).latency_unit(LatencyUnit::Millis)))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request this task serves (`-` outside a request), for log lines that must name it
/// whatever the subscriber does with spans.
pub fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_string())
}

async fn request_id_in_scope(req: Request, next: Next) -> Response {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-")
        .to_string();
    REQUEST_ID.scope(id, next.run(req)).await
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` when the process runs and the database answers, else `degraded`.
    pub status: &'static str,
    pub database: &'static str,
    pub engine: &'static str,
    pub version: &'static str,
}

/// Liveness and database readiness: 200 when the database answers, 503 when it does not.
async fn health(State(state): State<AppState>) -> Response {
    let db_ok = state.store.ping().await.is_ok();
    let body = Health {
        status: if db_ok { "ok" } else { "degraded" },
        database: if db_ok { "ok" } else { "unavailable" },
        engine: state.store.engine().name(),
        version: env!("CARGO_PKG_VERSION"),
    };
    let status = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_explorer = req.uri().path().starts_with("/api/docs");
    let mut res = next.run(req).await;
    let too_large = res.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE;
    let h = res.headers_mut();
    if too_large {
        // The rest of an oversized body was not read: the connection cannot carry another request,
        // so keep-alive clients are told to open a new one.
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if state.config.secure_cookies() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages and API answers hold personal data and one-time secrets: no caching, unless the
    // handler said otherwise (static assets).
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if !is_explorer {
        // Map tiles, when configured, are the one outside source of images. Style attributes carry
        // the boards' positions (a timeline's bars, a grid's placement); style sheets and scripts
        // come only from here.
        let policy = match state.config.tile_origin() {
            Some(origin) => HeaderValue::from_str(&format!(
                "default-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data: {origin}; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
            ))
            .ok(),
            None => None,
        };
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            policy.unwrap_or(HeaderValue::from_static("default-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")),
        );
    }
    res
}

//! The JSON API under `/api/v1`: one module per capability, the OpenAPI 3.1 document generated from
//! the handlers' annotations, and the API explorer (Swagger UI, served from the binary).

pub mod audit;
pub mod billing;
pub mod cases;
pub mod claim_analysis;
pub mod crm;
pub mod kpis;
pub mod logistics;
pub mod me;
pub mod notify;
pub mod org;
pub mod pilots;
pub mod reminders;
pub mod standards;
pub mod training;
pub mod users;
pub mod warranty;
pub mod workshop;

use aftersales_domain::validation::{FieldError, Rule};
use aftersales_store::auth::Caller;
use aftersales_store::idempotency::Claim;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{ApiError, Problem};
use crate::AppState;

/// The caller's day: in the time zone of their first organisation.
pub(crate) async fn caller_today(
    state: &AppState,
    caller: &Caller,
) -> Result<time::Date, ApiError> {
    let first = caller
        .scope
        .orgs_with(aftersales_domain::org::Permission::OrgRead)
        .first()
        .cloned();
    Ok(match first {
        Some(org) => state
            .store
            .org()
            .zone_of(&org)
            .await?
            .local(state.now())
            .date(),
        None => state.now().date(),
    })
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Aftersales API",
        description = "Aftersales service operations for electric-vehicle brands. Authenticate with an API token \
            (`Authorization: Bearer ast_…`, created on your profile page) or, from the browser, with the session \
            cookie plus the `X-CSRF-Token` header on changes. Errors are RFC 9457 problem+json documents naming \
            the field and the rule. Mutable resources carry a version: responses send an `ETag`, updates need \
            `If-Match`. A POST may carry an `Idempotency-Key` header (1–255 visible ASCII characters): \
            a retry with the same key within 24 hours returns the first answer instead of acting twice.",
    ),
    modifiers(&Security),
    components(schemas(Problem, FieldError, Rule)),
    tags(
        (name = "org", description = "Organisations, brands and markets"),
        (name = "users", description = "Staff users and their roles"),
        (name = "me", description = "The caller: profile, password, API tokens"),
        (name = "audit", description = "The security audit log"),
        (name = "crm", description = "Customers, consents, vehicles, timeline, search, GDPR"),
        (name = "cases", description = "The inbox: cases, SLA timers, escalation, follow-up tasks"),
        (name = "workshop", description = "Capacity, catalogues, availability, appointments and repair orders"),
        (name = "notify", description = "Customer messages: rules, templates, the outbox"),
        (name = "billing", description = "Invoices, credit notes, payments; PDF, EHF and SAF-T (PT)"),
        (name = "logistics", description = "Pickups and deliveries around repair orders: the day's plan, windows, locks, the driver's steps, loaners"),
        (name = "reminders", description = "Service reminders: schedules, who is due, maintenance done elsewhere, campaigns"),
        (name = "warranty", description = "Warranty: a vehicle's coverage on a day, battery state-of-health readings, claims through the network (service point, importer, brand)"),
        (name = "training", description = "Competence and training: courses, competence profiles per role, training records, the gap analysis and compliance KPI, sessions, xAPI statements"),
        (name = "pilots", description = "Pilots: a programme at chosen service points against a control group (by hand or matched), evaluated by difference-in-differences with clustered intervals, a placebo test and, for one site, a synthetic control"),
        (name = "kpis", description = "KPIs: the published definitions, each KPI by period with its breakdown and the repair orders, cases, claims and invoices behind it; targets with red/amber/green; costs per hour"),
        (name = "standards", description = "Dealer standards: catalogues, audits of service points with the self-assessment beside them, evidence files, corrective actions, the network view"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token: ast_…"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
        openapi.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::new("session", Vec::<String>::new()),
        ]);
    }
}

/// Every API route with its OpenAPI annotation: the one list both the router and the document come from.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .routes(routes!(org::list_organisations, org::create_organisation))
        .routes(routes!(org::get_organisation, org::patch_organisation))
        .routes(routes!(org::list_brands))
        .routes(routes!(org::list_markets))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::get_user, users::patch_user))
        .routes(routes!(users::grant_role))
        .routes(routes!(users::revoke_role))
        .routes(routes!(me::get_me, me::patch_me))
        .routes(routes!(me::change_password))
        .routes(routes!(me::list_tokens, me::create_token))
        .routes(routes!(me::revoke_token))
        .routes(routes!(audit::list_audit_events))
        .routes(routes!(crm::list_customers, crm::create_customer))
        .routes(routes!(crm::get_customer, crm::put_customer))
        .routes(routes!(crm::add_contact))
        .routes(routes!(crm::list_consents, crm::record_consent))
        .routes(routes!(crm::customer_timeline, crm::add_timeline_entry))
        .routes(routes!(crm::customer_vehicles))
        .routes(routes!(crm::export_customer))
        .routes(routes!(crm::erase_customer))
        .routes(routes!(crm::create_vehicle))
        .routes(routes!(crm::get_vehicle))
        .routes(routes!(crm::record_odometer))
        .routes(routes!(crm::transfer_vehicle))
        .routes(routes!(crm::vehicle_timeline))
        .routes(routes!(crm::decode_vin))
        .routes(routes!(crm::wmi_table))
        .routes(routes!(crm::set_wmi))
        .routes(routes!(crm::search))
        .routes(routes!(cases::inbox, cases::create_case))
        .routes(routes!(cases::get_case))
        .routes(routes!(cases::events))
        .routes(routes!(cases::add_message))
        .routes(routes!(cases::set_status))
        .routes(routes!(cases::escalate))
        .routes(routes!(cases::take))
        .routes(routes!(cases::list_tasks, cases::add_task))
        .routes(routes!(cases::my_tasks))
        .routes(routes!(cases::complete_task))
        .routes(routes!(cases::set_sla_policy))
        .routes(routes!(cases::set_opening_hours))
        .routes(routes!(cases::inbox_settings))
        .routes(routes!(cases::inbound_email))
        .routes(routes!(cases::add_inbound_address))
        .routes(routes!(cases::set_web_intake))
        .routes(routes!(cases::triage_suggestions))
        .routes(routes!(cases::record_triage))
        .routes(routes!(cases::list_articles))
        .routes(routes!(logistics::day))
        .routes(routes!(logistics::replan))
        .routes(routes!(logistics::offers))
        .routes(routes!(logistics::of_repair_order))
        .routes(routes!(logistics::create))
        .routes(routes!(logistics::lock))
        .routes(routes!(logistics::place))
        .routes(routes!(logistics::window))
        .merge(
            // The hand-over may carry photos of both cars.
            OpenApiRouter::new()
                .routes(routes!(logistics::status))
                .layer(axum::extract::DefaultBodyLimit::max(crate::ui::MAX_UPLOAD)),
        )
        .routes(routes!(logistics::handovers))
        .routes(routes!(logistics::photo))
        .routes(routes!(logistics::agreement_pdf))
        .routes(routes!(
            logistics::loaner_terms,
            logistics::set_loaner_terms
        ))
        .routes(routes!(logistics::my_run))
        .routes(routes!(logistics::loaners, logistics::add_loaner))
        .routes(routes!(warranty::coverage))
        .routes(routes!(
            warranty::battery_readings,
            warranty::record_battery
        ))
        .routes(routes!(warranty::claims, warranty::create_claim))
        .routes(routes!(warranty::claim))
        .routes(routes!(warranty::step))
        .routes(routes!(warranty::record_recovery))
        .routes(routes!(warranty::export))
        .routes(routes!(
            warranty::goodwill_requests,
            warranty::request_goodwill
        ))
        .routes(routes!(warranty::goodwill_request))
        .routes(routes!(warranty::decide_goodwill))
        .routes(routes!(warranty::apply_goodwill))
        .routes(routes!(warranty::goodwill_budgets))
        .routes(routes!(warranty::set_goodwill_budget))
        .routes(routes!(
            warranty::goodwill_policy,
            warranty::add_goodwill_policy
        ))
        .routes(routes!(
            warranty::recall_campaigns,
            warranty::create_recall_campaign
        ))
        .routes(routes!(warranty::recall_campaign))
        .routes(routes!(warranty::recall_campaign_vehicles))
        .routes(routes!(warranty::recall_campaign_done))
        .routes(routes!(warranty::open_campaigns))
        .routes(routes!(warranty::notify_recall_campaign))
        .routes(routes!(
            warranty::warranty_terms,
            warranty::add_warranty_terms
        ))
        .routes(routes!(claim_analysis::claims_per_1000))
        .routes(routes!(claim_analysis::cost_per_unit))
        .routes(routes!(claim_analysis::weibull))
        .routes(routes!(claim_analysis::early_warning))
        .routes(routes!(claim_analysis::peers))
        .routes(routes!(claim_analysis::risk))
        .routes(routes!(claim_analysis::flagged))
        .routes(routes!(claim_analysis::audit_rules))
        .routes(routes!(claim_analysis::set_audit_rule))
        .routes(routes!(
            claim_analysis::audits,
            claim_analysis::propose_audit
        ))
        .routes(routes!(claim_analysis::audit))
        .routes(routes!(claim_analysis::record_audit_result))
        .routes(routes!(claim_analysis::close_audit))
        .routes(routes!(standards::standard_catalogues))
        .routes(routes!(standards::standard_catalogue))
        .routes(routes!(standards::standard_catalogue_file))
        .routes(routes!(standards::import_standard_catalogue))
        .routes(routes!(
            standards::standard_audits,
            standards::plan_standard_audit
        ))
        .routes(routes!(standards::standard_audit))
        .routes(routes!(standards::save_standard_answers))
        .routes(routes!(standards::replan_standard_audit))
        .merge(
            // Evidence files: photos or PDFs up to 10 MB.
            OpenApiRouter::new()
                .routes(routes!(standards::add_standard_evidence))
                .routes(routes!(standards::add_action_evidence))
                .layer(axum::extract::DefaultBodyLimit::max(
                    aftersales_domain::standards::MAX_EVIDENCE_BYTES + 64 * 1024,
                )),
        )
        .routes(routes!(standards::standard_evidence))
        .routes(routes!(standards::corrective_actions))
        .routes(routes!(standards::raise_corrective_action))
        .routes(routes!(standards::corrective_action))
        .routes(routes!(standards::submit_corrective_action))
        .routes(routes!(standards::review_corrective_action))
        .routes(routes!(standards::standards_network))
        .routes(routes!(kpis::kpi_definitions))
        .routes(routes!(kpis::kpi_report))
        .routes(routes!(kpis::kpi_targets, kpis::set_kpi_target))
        .routes(routes!(kpis::remove_kpi_target))
        .routes(routes!(kpis::kpi_costs, kpis::set_kpi_costs))
        .routes(routes!(pilots::list_pilots, pilots::create_pilot))
        .routes(routes!(pilots::get_pilot))
        .routes(routes!(pilots::end_pilot))
        .routes(routes!(pilots::propose_controls))
        .routes(routes!(training::training_courses))
        .routes(routes!(training::add_training_course))
        .routes(routes!(training::competence_profiles))
        .routes(routes!(training::add_competence_profile))
        .routes(routes!(training::training_gaps))
        .routes(routes!(training::training_records))
        .routes(routes!(training::add_training_record))
        .routes(routes!(training::training_certificate))
        .routes(routes!(
            training::training_sessions,
            training::add_training_session
        ))
        .routes(routes!(training::session_attendance))
        .routes(routes!(training::xapi_mappings))
        .routes(routes!(training::add_xapi_mapping))
        .routes(routes!(
            training::xapi_statements,
            training::xapi_statement_list
        ))
        .routes(routes!(reminders::due))
        .routes(routes!(reminders::schedules))
        .routes(routes!(reminders::set_schedule))
        .routes(routes!(reminders::record_maintenance))
        .routes(routes!(reminders::campaigns, reminders::create_campaign))
        .routes(routes!(reminders::withdraw_campaign))
        .routes(routes!(cases::create_article))
        .routes(routes!(cases::remote_resolution_rate))
        .routes(routes!(cases::routing_rules))
        .routes(routes!(cases::set_routing_rule, cases::remove_routing_rule))
        .routes(routes!(cases::handoffs))
        .routes(routes!(cases::hand_off))
        .routes(routes!(workshop::get_settings, workshop::put_settings))
        .routes(routes!(workshop::list_bays))
        .routes(routes!(workshop::add_bay))
        .routes(routes!(workshop::set_bay_active))
        .routes(routes!(workshop::list_technicians))
        .routes(routes!(workshop::put_technician))
        .routes(routes!(workshop::add_certification))
        .routes(routes!(workshop::add_absence))
        .routes(routes!(workshop::list_operations))
        .routes(routes!(workshop::add_operation))
        .routes(routes!(workshop::list_parts))
        .routes(routes!(workshop::add_part))
        .routes(routes!(workshop::set_stock))
        .routes(routes!(workshop::availability))
        .routes(routes!(workshop::book))
        .routes(routes!(
            workshop::list_repair_orders,
            workshop::create_repair_order
        ))
        .routes(routes!(workshop::get_repair_order))
        .routes(routes!(workshop::set_repair_order_status))
        .routes(routes!(workshop::add_job))
        .routes(routes!(workshop::update_job))
        .routes(routes!(workshop::add_line))
        .routes(routes!(workshop::remove_line))
        .routes(routes!(workshop::assign))
        .routes(routes!(workshop::clock))
        .routes(routes!(workshop::decide))
        .routes(routes!(workshop::set_eta))
        .routes(routes!(workshop::move_availability))
        .routes(routes!(workshop::move_appointment))
        .routes(routes!(workshop::messages))
        .routes(routes!(notify::list_rules, notify::put_rule))
        .routes(routes!(
            notify::get_template,
            notify::put_template,
            notify::reset_template
        ))
        .routes(routes!(notify::preview))
        .routes(routes!(notify::outbox))
        .routes(routes!(notify::retry))
        .routes(routes!(
            billing::get_legal_entity,
            billing::put_legal_entity
        ))
        .routes(routes!(billing::list_series, billing::add_series))
        .routes(routes!(billing::saft_pt))
        .routes(routes!(billing::invoice_repair_order))
        .routes(routes!(billing::list_documents, billing::create_document))
        .routes(routes!(
            billing::get_document,
            billing::put_document,
            billing::delete_document
        ))
        .routes(routes!(billing::issue))
        .routes(routes!(billing::credit))
        .routes(routes!(billing::add_payment))
        .routes(routes!(billing::pdf))
        .routes(routes!(billing::ehf))
}

/// The API routes and the OpenAPI document generated from them.
pub fn router(state: AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, doc) = routes().split_for_parts();
    let known = std::sync::Arc::new(query_parameters(&doc));
    let api = routes
        .route("/api/v1", any(not_found))
        .route("/api/v1/{*rest}", any(not_found))
        .layer(middleware::from_fn_with_state(state.clone(), idempotency))
        .layer(middleware::from_fn_with_state(known, documented_query_only))
        .layer(middleware::from_fn_with_state(state, crate::auth::api_auth))
        .layer(middleware::from_fn(bare_errors_as_problems));
    let explorer: Router<AppState> = SwaggerUi::new("/api/docs")
        .url("/api/openapi.json", doc.clone())
        .into();
    (api.merge(explorer), doc)
}

/// The query parameters each operation documents, by (method, path template).
type QueryParameters = std::collections::HashMap<(String, String), Vec<String>>;

fn query_parameters(doc: &utoipa::openapi::OpenApi) -> QueryParameters {
    use utoipa::openapi::path::ParameterIn;
    let mut out = QueryParameters::new();
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let names = op
                .parameters
                .iter()
                .flatten()
                .chain(item.parameters.iter().flatten())
                .filter(|p| matches!(p.parameter_in, ParameterIn::Query))
                .map(|p| p.name.clone())
                .collect();
            out.insert((method.to_string(), path.clone()), names);
        }
    }
    out
}

/// A query parameter the operation does not document is refused with its name, not ignored (a
/// typo such as `?limt=5` would otherwise silently give the default answer).
async fn documented_query_only(
    State(known): State<std::sync::Arc<QueryParameters>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string());
    if let (Some(path), Some(q)) = (path, req.uri().query()) {
        if let Some(allowed) = known.get(&(req.method().as_str().to_string(), path)) {
            let unknown: Vec<FieldError> = form_urlencoded_parse(q)
                .map(|(k, _)| k.into_owned())
                .filter(|k| !allowed.contains(k))
                .map(|k| {
                    FieldError::new(
                        k.clone(),
                        Rule::Unknown,
                        format!("{k} is not a query parameter of this operation"),
                    )
                })
                .collect();
            if !unknown.is_empty() {
                return ApiError::invalid(unknown).into_response();
            }
        }
    }
    next.run(req).await
}

/// The OpenAPI document as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

async fn not_found() -> ApiError {
    ApiError::not_found().detail("no such API resource; see /api/openapi.json")
}

/// Errors produced by the framework itself (405, 413, …) get a problem+json body too.
async fn bare_errors_as_problems(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if (status.is_client_error() || status.is_server_error()) && !is_problem {
        let err = match status {
            StatusCode::METHOD_NOT_ALLOWED => {
                ApiError::new(status, "method-not-allowed", "Method not allowed")
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(status, "too-large", "Request body too large")
            }
            StatusCode::NOT_FOUND => ApiError::not_found(),
            s if s.is_server_error() => ApiError::internal(),
            _ => ApiError::new(status, "bad-request", "Bad request"),
        };
        let mut out = err.into_response();
        if let Some(allow) = res.headers().get(header::ALLOW) {
            out.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return out;
    }
    res
}

/// POST routes whose answers hold a secret and are therefore never stored for replay.
const NOT_REPLAYABLE: &[&str] = &["/api/v1/me/api-tokens"];

/// `Idempotency-Key` on POSTs: the first request claims the key and its successful answer is
/// stored; a retry gets the stored answer (`Idempotent-Replayed: true`) instead of acting twice.
async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != axum::http::Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get("idempotency-key") else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_string()
        }
        _ => {
            return ApiError::field(
                "Idempotency-Key",
                Rule::Format,
                "Idempotency-Key must be 1-255 visible ASCII characters",
            )
            .into_response()
        }
    };
    // Unauthenticated requests are refused by the handler; there is nobody to key them to.
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_string();
    // A created API token's secret must never be stored, so its creation is not replayable.
    if NOT_REPLAYABLE.contains(&path.as_str()) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let limit = if crate::ui::takes_files(&path) {
        crate::ui::MAX_UPLOAD
    } else {
        1024 * 1024
    };
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Request body too large",
            )
            .into_response()
        }
    };
    let req = Request::from_parts(parts, axum::body::Body::from(body.clone()));
    match state
        .store
        .idempotency()
        .claim_idempotency_key(&caller, &key, "POST", &path, &body, state.now())
        .await
    {
        Err(e) => ApiError::from(e).into_response(),
        Ok(Claim::InProgress) => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency-in-progress",
            "A request with this Idempotency-Key is still running",
        )
        .into_response(),
        Ok(Claim::AnswerLost) => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency-answer-lost",
            "The request with this Idempotency-Key was carried out, but its answer was lost; \
             look the result up instead of sending it again",
        )
        .into_response(),
        Ok(Claim::Mismatch) => ApiError::field(
            "Idempotency-Key",
            Rule::NotAllowed,
            "this Idempotency-Key was used for a different request",
        )
        .into_response(),
        Ok(Claim::Replay {
            status,
            headers,
            body,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let has_body = !body.is_empty();
            let mut res = (status, body).into_response();
            if has_body {
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            for (name, value) in headers {
                if let (Ok(n), Ok(v)) = (
                    header::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    res.headers_mut().insert(n, v);
                }
            }
            res.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            res
        }
        Ok(Claim::Claimed) => {
            let res = aftersales_store::idempotency::with_key(&caller, &key, next.run(req)).await;
            let (parts, body) = res.into_parts();
            let bytes = match axum::body::to_bytes(body, 4 * 1024 * 1024).await {
                Ok(b) => b,
                Err(_) => {
                    let _ = state
                        .store
                        .idempotency()
                        .release_idempotency_key(&caller, &key)
                        .await;
                    return ApiError::internal().into_response();
                }
            };
            // A failure that wrote nothing frees the key for a retry; one that had written keeps
            // its answer like a success, so the retry does not act twice.
            let released = if parts.status.is_success() {
                Ok(false)
            } else {
                state
                    .store
                    .idempotency()
                    .release_idempotency_key(&caller, &key)
                    .await
            };
            let stored = if let Ok(false) = released {
                let text = String::from_utf8_lossy(&bytes);
                // The headers that describe the answer come back with a replay.
                let replayed: Vec<(String, String)> =
                    [header::ETAG, header::LOCATION, header::CONTENT_TYPE]
                        .iter()
                        .filter_map(|h| {
                            let v = parts.headers.get(h)?.to_str().ok()?;
                            Some((h.as_str().to_string(), v.to_string()))
                        })
                        .collect();
                state
                    .store
                    .idempotency()
                    .complete_idempotency_key(
                        &caller,
                        &key,
                        parts.status.as_u16(),
                        &replayed,
                        &text,
                    )
                    .await
            } else {
                released.map(|_| ())
            };
            if let Err(e) = stored {
                tracing::error!(error = %e, "idempotency key bookkeeping failed");
            }
            Response::from_parts(parts, axum::body::Body::from(bytes))
        }
    }
}

/// Turns a serde error at `path` into a field error naming the field and the rule.
fn field_error(path: &str, message: &str) -> FieldError {
    // The path may already end at the field (unknown fields) or stop at its parent (missing ones).
    let join = |name: &str| {
        if path.is_empty() || path == "." {
            name.to_string()
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        let field = join(name);
        return FieldError::new(
            field.clone(),
            Rule::Required,
            format!("{field} is required"),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or(rest);
        let field = join(name);
        return FieldError::new(
            field.clone(),
            Rule::Unknown,
            format!("{field} is not a field of this resource"),
        );
    }
    if path.is_empty() || path == "." {
        return FieldError::new(
            "body",
            Rule::Type,
            "the body must be a JSON object with the documented fields",
        );
    }
    let field = path.to_string();
    let message = message.split(" at line ").next().unwrap_or(message);
    if message.starts_with(&format!("{field} must")) {
        // A rule of ours (a page size out of range), already a sentence about the field.
        return FieldError::new(field, Rule::NotAllowed, message);
    }
    FieldError::new(field.clone(), Rule::Type, format!("{field}: {message}"))
}

/// A JSON body, parsed with errors that name the field (`memberships[0].role`) and the rule.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Send JSON",
            )
            .detail("the request body must be application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(e.status(), "bad-body", "The request body could not be read")
                .detail(e.body_text())
        })?;
        let syntax = |e: &serde_json::Error| {
            ApiError::field(
                "body",
                Rule::Format,
                format!("the body is not valid JSON: {e}"),
            )
        };
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let json: serde_json::Value =
            serde::Deserialize::deserialize(&mut *de).map_err(|e| syntax(&e))?;
        // One JSON value and nothing after it: `{} {}` is refused.
        de.end().map_err(|e| syntax(&e))?;
        let value: T = serde_path_to_error::deserialize(json.clone()).map_err(|e| {
            let path = e.path().to_string();
            ApiError::invalid(vec![field_error(&path, &e.into_inner().to_string())])
        })?;
        // An empty string is not an absent value: where the field may be left out, "" is refused
        // (a required field keeps "" and the domain names its own rule).
        let mut empty = Vec::new();
        empty_strings(&json, String::new(), &mut empty);
        let errors: Vec<FieldError> = empty
            .into_iter()
            .filter(|(_, pointer)| {
                let mut without = json.clone();
                if let Some(v) = without.pointer_mut(pointer) {
                    *v = serde_json::Value::Null;
                }
                serde_json::from_value::<T>(without).is_ok()
            })
            .map(|(path, _)| {
                FieldError::new(
                    path.clone(),
                    Rule::TooShort,
                    format!("{path} must not be empty: leave it out or send null"),
                )
            })
            .collect();
        if !errors.is_empty() {
            return Err(ApiError::invalid(errors));
        }
        Ok(ApiJson(value))
    }
}

/// Every string in `v` that is empty or blank: (field path as serde names it, JSON pointer).
fn empty_strings(v: &serde_json::Value, pointer: String, out: &mut Vec<(String, String)>) {
    fn path_of(pointer: &str) -> String {
        let mut path = String::new();
        for part in pointer.split('/').skip(1) {
            let part = part.replace("~1", "/").replace("~0", "~");
            if part.bytes().all(|b| b.is_ascii_digit()) && !part.is_empty() {
                path.push_str(&format!("[{part}]"));
            } else {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&part);
            }
        }
        path
    }
    match v {
        serde_json::Value::String(s) if s.trim().is_empty() => {
            out.push((path_of(&pointer), pointer));
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                empty_strings(item, format!("{pointer}/{i}"), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                let k = k.replace('~', "~0").replace('/', "~1");
                empty_strings(item, format!("{pointer}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// Query parameters, with errors that name the parameter and the rule.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(q));
        let value = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            ApiError::invalid(vec![field_error(&path, &e.into_inner().to_string())])
        })?;
        // `?cursor=` is not an absent cursor: an empty parameter that may be left out is refused.
        let pairs: Vec<(String, String)> = form_urlencoded_parse(q).into_owned().collect();
        let errors: Vec<FieldError> = pairs
            .iter()
            .enumerate()
            .filter(|(_, (_, v))| v.trim().is_empty())
            .filter(|(i, _)| {
                let rest = pairs
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| j != i)
                    .map(|(_, p)| p.clone());
                let q = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(rest)
                    .finish();
                serde_urlencoded::from_str::<T>(&q).is_ok()
            })
            .map(|(_, (name, _))| {
                FieldError::new(
                    name.clone(),
                    Rule::TooShort,
                    format!("{name} must not be empty: leave it out"),
                )
            })
            .collect();
        if !errors.is_empty() {
            return Err(ApiError::invalid(errors));
        }
        Ok(ApiQuery(value))
    }
}

fn form_urlencoded_parse(q: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(q.as_bytes())
}

/// `ETag: "<version>"`.
pub fn etag(version: i64) -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::ETAG,
        HeaderValue::from_str(&format!("\"{version}\""))
            .unwrap_or(HeaderValue::from_static("\"0\"")),
    )]
}

/// The version an update expects, from `If-Match`; required on every update.
pub fn if_match(headers: &HeaderMap) -> Result<i64, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "if-match-required",
            "If-Match required",
        )
        .detail("send If-Match with the ETag of the version you read"));
    };
    v.to_str()
        .ok()
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| {
            ApiError::field(
                "If-Match",
                Rule::Format,
                "If-Match must be an ETag like \"3\"",
            )
        })
}

/// One page of a list in the list's order; `next_cursor` (absent on the last page) asks for the next.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ListPage<T: utoipa::ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: utoipa::ToSchema> From<aftersales_store::Page<T>> for ListPage<T> {
    fn from(p: aftersales_store::Page<T>) -> Self {
        ListPage {
            items: p.items,
            next_cursor: p.next_cursor,
        }
    }
}

/// Paging parameters shared by list endpoints.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Page size, 1–200 (default 50).
    #[serde(default, deserialize_with = "page_size")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page size from 1 to 200: anything else is refused, not quietly clamped.
pub fn page_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = <Option<u32> as serde::Deserialize>::deserialize(d)?;
    match v {
        Some(n) if !(1..=200).contains(&n) => {
            Err(serde::de::Error::custom("limit must lie between 1 and 200"))
        }
        v => Ok(v),
    }
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

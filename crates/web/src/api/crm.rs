//! API of capability crm: customers, consents, timeline, vehicles, VIN decoding, search, GDPR.

use aftersales_store::crm::{
    Consent, ConsentInput, Customer, CustomerInput, NewCustomer, SearchHit, TimelineEntry,
    TimelineInput, Vehicle, VehicleInput, VinDecode,
};
use aftersales_store::page_limit;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{etag, if_match, ApiJson, ApiQuery, PageParams};
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CustomerPage {
    pub items: Vec<Customer>,
    pub next_cursor: Option<String>,
}

/// Customers you can see (those of your market and organisations), by name.
#[utoipa::path(get, path = "/api/v1/customers", tag = "crm", params(PageParams), responses((status = 200, body = CustomerPage)))]
pub async fn list_customers(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<CustomerPage>, ApiError> {
    let page = state
        .store
        .crm()
        .list_customers(&caller.scope, p.cursor.as_deref(), page_limit(p.limit))
        .await?;
    Ok(Json(CustomerPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// Registers a customer in your market's CRM.
#[utoipa::path(post, path = "/api/v1/customers", tag = "crm", request_body = CustomerInput,
    responses((status = 201, body = Customer), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_customer(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<CustomerInput>,
) -> Result<Response, ApiError> {
    let new = NewCustomer::parse(&body)?;
    let c = state
        .store
        .crm()
        .create_customer(&caller.scope, None, &new, state.now())
        .await?;
    Ok((StatusCode::CREATED, etag(c.version), Json(c)).into_response())
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "crm", params(("id" = String, Path)),
    responses((status = 200, body = Customer), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_customer(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = state.store.crm().get_customer(&caller.scope, &id).await?;
    Ok((etag(c.version), Json(c)).into_response())
}

/// Replaces a customer's details. Needs `If-Match`.
#[utoipa::path(put, path = "/api/v1/customers/{id}", tag = "crm", params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body = CustomerInput,
    responses((status = 200, body = Customer), (status = 412, body = Problem, content_type = "application/problem+json")))]
pub async fn put_customer(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CustomerInput>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let new = NewCustomer::parse(&body)?;
    let c = state
        .store
        .crm()
        .update_customer(&caller.scope, &id, &new, version, state.now())
        .await?;
    Ok((etag(c.version), Json(c)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub name: String,
    pub role: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Adds a contact person to a (company) customer.
#[utoipa::path(post, path = "/api/v1/customers/{id}/contacts", tag = "crm", params(("id" = String, Path)), request_body = ContactInput,
    responses((status = 200, body = Customer), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_contact(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ContactInput>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .crm()
        .add_contact(
            &caller.scope,
            &id,
            &b.name,
            b.role.as_deref(),
            b.email.as_deref(),
            b.phone.as_deref(),
        )
        .await?;
    Ok((etag(c.version), Json(c)).into_response())
}

/// The consent history, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/consents", tag = "crm", params(("id" = String, Path)), responses((status = 200, body = Vec<Consent>)))]
pub async fn list_consents(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Consent>>, ApiError> {
    Ok(Json(state.store.crm().consents(&caller.scope, &id).await?))
}

/// Records a consent given or withdrawn, with its source and the wording shown.
#[utoipa::path(post, path = "/api/v1/customers/{id}/consents", tag = "crm", params(("id" = String, Path)), request_body = ConsentInput,
    responses((status = 201, body = Consent), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn record_consent(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ConsentInput>,
) -> Result<Response, ApiError> {
    let c = state
        .store
        .crm()
        .record_consent(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

/// Everything that happened with the customer, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "crm", params(("id" = String, Path)), responses((status = 200, body = Vec<TimelineEntry>)))]
pub async fn customer_timeline(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<TimelineEntry>>, ApiError> {
    Ok(Json(
        state
            .store
            .crm()
            .customer_timeline(&caller.scope, &id)
            .await?,
    ))
}

/// Logs a call, e-mail, message or note.
#[utoipa::path(post, path = "/api/v1/customers/{id}/timeline", tag = "crm", params(("id" = String, Path)), request_body = TimelineInput,
    responses((status = 201, body = TimelineEntry), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_timeline_entry(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TimelineInput>,
) -> Result<Response, ApiError> {
    let e = state
        .store
        .crm()
        .add_timeline_entry(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(e)).into_response())
}

/// Vehicles the customer owns or owned.
#[utoipa::path(get, path = "/api/v1/customers/{id}/vehicles", tag = "crm", params(("id" = String, Path)), responses((status = 200, body = Vec<Vehicle>)))]
pub async fn customer_vehicles(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Vehicle>>, ApiError> {
    Ok(Json(
        state.store.crm().vehicles_of(&caller.scope, &id).await?,
    ))
}

/// Everything stored about the customer, machine-readable (GDPR art. 15 and 20).
#[utoipa::path(get, path = "/api/v1/customers/{id}/export", tag = "crm", params(("id" = String, Path)), responses((status = 200, body = Object)))]
pub async fn export_customer(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let doc = state
        .store
        .gdpr()
        .export_customer(&caller.scope, &id, state.now())
        .await?;
    let disposition = format!("attachment; filename=\"customer-{id}.json\"");
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(doc)).into_response())
}

/// Erases the person on request (GDPR art. 17): pseudonymised; legally required records and the
/// vehicles' history are kept.
#[utoipa::path(post, path = "/api/v1/customers/{id}/erasure", tag = "crm", params(("id" = String, Path)),
    responses((status = 200, body = Customer), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn erase_customer(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Customer>, ApiError> {
    Ok(Json(
        state
            .store
            .gdpr()
            .erase_customer(&caller.scope, &id, state.now())
            .await?,
    ))
}

/// Registers a vehicle by VIN (validated, decoded from the WMI table).
#[utoipa::path(post, path = "/api/v1/vehicles", tag = "crm", request_body = VehicleInput,
    responses((status = 201, body = Vehicle), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_vehicle(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<VehicleInput>,
) -> Result<Response, ApiError> {
    let v = state
        .store
        .crm()
        .create_vehicle(&caller.scope, None, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, etag(v.version), Json(v)).into_response())
}

#[utoipa::path(get, path = "/api/v1/vehicles/{id}", tag = "crm", params(("id" = String, Path)),
    responses((status = 200, body = Vehicle), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_vehicle(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let v = state.store.crm().get_vehicle(&caller.scope, &id).await?;
    Ok((etag(v.version), Json(v)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OdometerInput {
    pub km: i64,
    /// Where the reading comes from: `check-in`, `customer`, `telemetry`, …
    pub source: String,
    /// Required when the reading is below the last one.
    pub reason: Option<String>,
}

/// Records an odometer reading (never backwards without a reason).
#[utoipa::path(post, path = "/api/v1/vehicles/{id}/odometer-readings", tag = "crm", params(("id" = String, Path)), request_body = OdometerInput,
    responses((status = 201, body = Vehicle), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn record_odometer(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<OdometerInput>,
) -> Result<Response, ApiError> {
    let v = state
        .store
        .crm()
        .record_odometer(
            &caller.scope,
            &id,
            b.km,
            &b.source,
            b.reason.as_deref(),
            state.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, etag(v.version), Json(v)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    pub customer_id: String,
    /// `YYYY-MM-DD`: the first day of the new ownership.
    pub from_date: String,
}

/// Records a change of owner.
#[utoipa::path(post, path = "/api/v1/vehicles/{id}/ownership", tag = "crm", params(("id" = String, Path)), request_body = TransferInput,
    responses((status = 200, body = Vehicle), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn transfer_vehicle(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TransferInput>,
) -> Result<Response, ApiError> {
    let v = state
        .store
        .crm()
        .transfer_vehicle(
            &caller.scope,
            &id,
            &b.customer_id,
            &b.from_date,
            state.now(),
        )
        .await?;
    Ok((etag(v.version), Json(v)).into_response())
}

#[utoipa::path(get, path = "/api/v1/vehicles/{id}/timeline", tag = "crm", params(("id" = String, Path)), responses((status = 200, body = Vec<TimelineEntry>)))]
pub async fn vehicle_timeline(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<TimelineEntry>>, ApiError> {
    Ok(Json(
        state
            .store
            .crm()
            .vehicle_timeline(&caller.scope, &id)
            .await?,
    ))
}

/// Checks a VIN (structure, check digit) and decodes it from the WMI table.
#[utoipa::path(get, path = "/api/v1/vin-decoder/{vin}", tag = "crm", params(("vin" = String, Path)),
    responses((status = 200, body = VinDecode), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn decode_vin(
    State(state): State<AppState>,
    ApiCaller(_caller): ApiCaller,
    Path(vin): Path<String>,
) -> Result<Json<VinDecode>, ApiError> {
    Ok(Json(
        state
            .store
            .crm()
            .decode_vin(&vin, state.now().year() + 1)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Name, phone, e-mail, VIN (whole or last six), plate, organisation number or NIF; every word as a prefix.
    pub q: String,
    /// How many hits, 1–50 (default 20).
    #[serde(default, deserialize_with = "search_size")]
    pub limit: Option<u32>,
}

/// A number of search hits from 1 to 50: anything else is refused, not quietly clamped.
fn search_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = <Option<u32> as serde::Deserialize>::deserialize(d)?;
    match v {
        Some(n) if !(1..=50).contains(&n) => {
            Err(serde::de::Error::custom("limit must lie between 1 and 50"))
        }
        v => Ok(v),
    }
}

/// Search as you type across customers and vehicles you can see.
#[utoipa::path(get, path = "/api/v1/search", tag = "crm", params(SearchParams), responses((status = 200, body = Vec<SearchHit>)))]
pub async fn search(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<Json<Vec<SearchHit>>, ApiError> {
    let limit = i64::from(p.limit.unwrap_or(20));
    Ok(Json(
        state
            .store
            .crm()
            .search_crm(&caller.scope, &p.q, limit)
            .await?,
    ))
}

/// The VIN table: manufacturer codes, their brand, the check-digit rule and the models.
#[utoipa::path(get, path = "/api/v1/vin-wmis", tag = "crm", responses((status = 200, body = Vec<aftersales_store::crm::WmiEntry>)))]
pub async fn wmi_table(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<aftersales_store::crm::WmiEntry>>, ApiError> {
    Ok(Json(state.store.crm().wmi_table(&caller.scope).await?))
}

/// Sets a manufacturer code and its models (administrators of the brand's headquarters).
#[utoipa::path(put, path = "/api/v1/vin-wmis/{wmi}", tag = "crm", params(("wmi" = String, Path)), request_body = aftersales_store::crm::WmiInput,
    responses((status = 200, body = aftersales_store::crm::WmiEntry), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn set_wmi(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(wmi): Path<String>,
    ApiJson(b): ApiJson<aftersales_store::crm::WmiInput>,
) -> Result<Json<aftersales_store::crm::WmiEntry>, ApiError> {
    Ok(Json(
        state.store.crm().set_wmi(&caller.scope, &wmi, &b).await?,
    ))
}

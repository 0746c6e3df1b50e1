//! API of capability billing: the legal entity and its number series, invoices and credit notes (drafts from
//! repair orders or free-standing, issue, credit), payments and open items, and the documents' legal forms:
//! PDF, EHF (Peppol BIS 3.0 UBL) and SAF-T (PT).

use aftersales_store::billing::{
    parse_date, BillingDocument, DocSummary, DraftInput, DraftUpdate, LegalEntity,
    LegalEntityInput, PaymentInput, SaftRequest, Series, SeriesInput,
};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::{etag, if_match, ApiJson, ApiQuery};
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use crate::AppState;

fn doc_response(status: StatusCode, d: BillingDocument) -> Response {
    (status, etag(d.version), Json(d)).into_response()
}

#[utoipa::path(get, path = "/api/v1/organisations/{id}/legal-entity", tag = "billing", params(("id" = String, Path)),
    responses((status = 200, body = LegalEntity), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_legal_entity(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match state
        .store
        .billing()
        .legal_entity(&caller.scope, &id)
        .await?
    {
        Some(e) => Ok((etag(e.version), Json(e)).into_response()),
        None => Err(ApiError::not_found().detail("no legal entity invoices for this organisation")),
    }
}

/// Creates or changes the legal entity that invoices for this organisation and those below it
/// (`If-Match` when changing one).
#[utoipa::path(put, path = "/api/v1/organisations/{id}/legal-entity", tag = "billing", params(("id" = String, Path)), request_body = LegalEntityInput,
    responses((status = 200, body = LegalEntity), (status = 412, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_legal_entity(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<LegalEntityInput>,
) -> Result<Response, ApiError> {
    let version = if headers.contains_key(header::IF_MATCH) {
        Some(if_match(&headers)?)
    } else {
        None
    };
    let e = state
        .store
        .billing()
        .set_legal_entity(&caller.scope, &id, &b, version, state.now())
        .await?;
    Ok((etag(e.version), Json(e)).into_response())
}

#[utoipa::path(get, path = "/api/v1/legal-entities/{id}/series", tag = "billing", params(("id" = String, Path)), responses((status = 200, body = Vec<Series>)))]
pub async fn list_series(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Series>>, ApiError> {
    Ok(Json(
        state.store.billing().series(&caller.scope, &id).await?,
    ))
}

/// Registers a number series (Portugal: with the validation code AT gave it); it becomes the active one of its type.
#[utoipa::path(post, path = "/api/v1/legal-entities/{id}/series", tag = "billing", params(("id" = String, Path)), request_body = SeriesInput,
    responses((status = 201, body = Series), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_series(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SeriesInput>,
) -> Result<Response, ApiError> {
    let s = state
        .store
        .billing()
        .add_series(&caller.scope, &id, &b, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(s)).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// First day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (same fiscal year).
    pub to: Option<String>,
}

/// SAF-T (PT) 1.04_01 of the documents the legal entity issued in the period (Windows-1252 XML).
#[utoipa::path(get, path = "/api/v1/legal-entities/{id}/saft-pt", tag = "billing", params(("id" = String, Path), PeriodQuery),
    responses((status = 200, content_type = "application/xml", body = String), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn saft_pt(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> Result<Response, ApiError> {
    state
        .store
        .billing()
        .legal_entity_by_id(&caller.scope, &id)
        .await?;
    let mut errs = Vec::new();
    let from = parse_date("from", q.from.as_deref().unwrap_or(""))
        .map_err(|e| errs.push(e))
        .ok();
    let to = parse_date("to", q.to.as_deref().unwrap_or(""))
        .map_err(|e| errs.push(e))
        .ok();
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::invalid(errs));
    };
    let bytes = state
        .store
        .billing()
        .saft_pt(
            &caller.scope,
            &id,
            &SaftRequest {
                from,
                to,
                created: state.now().date(),
                producer_nif: state.config.producer_nif.clone(),
                product_version: env!("CARGO_PKG_VERSION").into(),
            },
        )
        .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/xml; charset=windows-1252".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"saft-pt-{from}-{to}.xml\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Drafts for a repair order: one per payer (customer, warranty, goodwill) with the lines not invoiced yet.
#[utoipa::path(post, path = "/api/v1/repair-orders/{id}/invoice", tag = "billing", params(("id" = String, Path)),
    responses((status = 201, body = Vec<DocSummary>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn invoice_repair_order(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let drafts = state
        .store
        .billing()
        .invoice_repair_order(&caller.scope, &id, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(drafts)).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DocumentQuery {
    pub customer_id: Option<String>,
    pub repair_order_id: Option<String>,
    /// Only issued invoices with something left to pay (open items).
    pub open: Option<bool>,
    /// Page size, 1–200 (default 50).
    #[serde(default, deserialize_with = "super::page_size")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Invoices and credit notes in reach, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/billing-documents", tag = "billing", params(DocumentQuery), responses((status = 200, body = super::ListPage<DocSummary>)))]
pub async fn list_documents(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(q): ApiQuery<DocumentQuery>,
) -> Result<Json<super::ListPage<DocSummary>>, ApiError> {
    let filter = aftersales_store::billing::DocFilter {
        customer_id: q.customer_id.as_deref(),
        repair_order_id: q.repair_order_id.as_deref(),
        only_open: q.open.unwrap_or(false),
    };
    Ok(Json(
        state
            .store
            .billing()
            .documents(
                &caller.scope,
                &filter,
                q.cursor.as_deref(),
                aftersales_store::page_limit(q.limit),
                state.now(),
            )
            .await?
            .into(),
    ))
}

/// A free-standing draft invoice.
#[utoipa::path(post, path = "/api/v1/billing-documents", tag = "billing", request_body = DraftInput,
    responses((status = 201, body = BillingDocument), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_document(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(b): ApiJson<DraftInput>,
) -> Result<Response, ApiError> {
    let d = state
        .store
        .billing()
        .create_draft(&caller.scope, &b, state.now())
        .await?;
    Ok(doc_response(StatusCode::CREATED, d))
}

#[utoipa::path(get, path = "/api/v1/billing-documents/{id}", tag = "billing", params(("id" = String, Path)), responses((status = 200, body = BillingDocument)))]
pub async fn get_document(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let d = state
        .store
        .billing()
        .document(&caller.scope, &id, state.now())
        .await?;
    Ok(doc_response(StatusCode::OK, d))
}

/// Replaces a draft's lines, type and note (`If-Match`). Issued documents cannot change.
#[utoipa::path(put, path = "/api/v1/billing-documents/{id}", tag = "billing", params(("id" = String, Path), ("If-Match" = String, Header)), request_body = DraftUpdate,
    responses((status = 200, body = BillingDocument), (status = 412, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn put_document(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<DraftUpdate>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let d = state
        .store
        .billing()
        .update_draft(&caller.scope, &id, &b, version, state.now())
        .await?;
    Ok(doc_response(StatusCode::OK, d))
}

/// Deletes a draft.
#[utoipa::path(delete, path = "/api/v1/billing-documents/{id}", tag = "billing", params(("id" = String, Path)),
    responses((status = 204), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_document(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .billing()
        .delete_draft(&caller.scope, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueInput {
    /// For an invoice-receipt (FR): bank-transfer, card, cash, mb, other.
    pub payment_method: Option<String>,
}

/// Issues a draft (`If-Match`): number, dates, totals, KID or signature and the customer's message, atomically.
#[utoipa::path(post, path = "/api/v1/billing-documents/{id}/issue", tag = "billing", params(("id" = String, Path), ("If-Match" = String, Header)), request_body = IssueInput,
    responses((status = 200, body = BillingDocument), (status = 412, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn issue(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<IssueInput>,
) -> Result<Response, ApiError> {
    let version = if_match(&headers)?;
    let d = state
        .store
        .billing()
        .issue(
            &caller.scope,
            &id,
            version,
            b.payment_method.as_deref(),
            state.now(),
        )
        .await?;
    Ok(doc_response(StatusCode::OK, d))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditInput {
    pub reason: String,
    /// Issue the credit note at once (default); false leaves a draft to edit for a partial credit.
    pub issue: Option<bool>,
}

/// Credits an issued invoice with a reason: a credit note with all its lines, issued at once unless `issue` is false.
#[utoipa::path(post, path = "/api/v1/billing-documents/{id}/credit-note", tag = "billing", params(("id" = String, Path)), request_body = CreditInput,
    responses((status = 201, body = BillingDocument), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn credit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CreditInput>,
) -> Result<Response, ApiError> {
    let d = state
        .store
        .billing()
        .credit(
            &caller.scope,
            &id,
            &b.reason,
            b.issue.unwrap_or(true),
            state.now(),
        )
        .await?;
    Ok(doc_response(StatusCode::CREATED, d))
}

/// Records a payment against an issued invoice.
#[utoipa::path(post, path = "/api/v1/billing-documents/{id}/payments", tag = "billing", params(("id" = String, Path)), request_body = PaymentInput,
    responses((status = 201, body = BillingDocument), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn add_payment(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PaymentInput>,
) -> Result<Response, ApiError> {
    let d = state
        .store
        .billing()
        .record_payment(&caller.scope, &id, &b, state.now())
        .await?;
    Ok(doc_response(StatusCode::CREATED, d))
}

/// The document as PDF, in the customer's language.
#[utoipa::path(get, path = "/api/v1/billing-documents/{id}/pdf", tag = "billing", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn pdf(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (name, bytes) = state
        .store
        .billing()
        .document_pdf(&caller.scope, &id)
        .await?;
    Ok(crate::download::pdf_response(&name, bytes, false))
}

/// The EHF (Peppol BIS Billing 3.0) XML of an issued Norwegian document to a business.
#[utoipa::path(get, path = "/api/v1/billing-documents/{id}/ehf", tag = "billing", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/xml", body = String), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn ehf(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let xml = state.store.billing().ehf(&caller.scope, &id).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/xml; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"ehf-{id}.xml\""),
            ),
        ],
        xml,
    )
        .into_response())
}
